"""Landscapes: J(theta) and the mollified J_sigma(theta) on the same directions, fast, measured.

- :mod:`~mollirl.landscape.directions`: random, filter-normalized (Li et al.
  2018), axis-aligned (``K[0,4]``) and gradient directions; seeded, saved, reusable.
- :mod:`~mollirl.landscape.grid`: 1-D/2-D grids of offsets and their parameter points.
- :mod:`~mollirl.landscape.engine`: every grid point x every episode in one
  batched rollout (analytic envs: the pure ``batch_step``; others, e.g.
  hopper-stand: one VecEnv over many ``MjData``).
- :mod:`~mollirl.landscape.evaluate`: what is measured: ``det`` (J) and
  ``sigma`` (J_sigma, common random numbers across points).
- :mod:`~mollirl.landscape.problem`: centres from a run folder or an env's preset policy.
- :mod:`~mollirl.landscape.compute`: :func:`compute_landscape`, :func:`compute_q_landscape`.
- :mod:`~mollirl.landscape.summary`: Hölder exponent, high-frequency energy,
  range (from :mod:`mollirl.analysis`).
- :mod:`~mollirl.landscape.plot`: contour + slices, det and sigma side by side.

Command line: ``python -m mollirl.landscape``; during training:
``python -m mollirl.train --callback landscape:every=10``.
Importing this package does not import MuJoCo.
"""

import importlib
from typing import Any

# Public names and the private module that defines each; imported on first use
# (PEP 562), so ``python -m mollirl.landscape`` rejects bad input before torch loads.
_EXPORTS = {
    "compute": ("compute_landscape", "compute_q_landscape", "parse_modes"),
    "directions": ("Directions", "filter_normalize", "make_directions", "parse_direction_spec"),
    "engine": ("AnalyticBackend", "VecEnvBackend", "make_backend"),
    "evaluate": ("PointValues", "evaluate_points"),
    "grid": ("Grid", "grid_points", "make_grid"),
    "problem": ("LandscapeProblem", "available_epochs", "problem_from_env", "problem_from_run"),
    "result": ("Landscape", "load_landscape"),
    "summary": ("analyze", "format_summary", "summarize"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"mollirl.landscape.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mollirl.landscape' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "AnalyticBackend",
    "Directions",
    "Grid",
    "Landscape",
    "LandscapeProblem",
    "PointValues",
    "VecEnvBackend",
    "analyze",
    "available_epochs",
    "compute_landscape",
    "compute_q_landscape",
    "evaluate_points",
    "filter_normalize",
    "format_summary",
    "grid_points",
    "load_landscape",
    "make_backend",
    "make_directions",
    "make_grid",
    "parse_direction_spec",
    "parse_modes",
    "problem_from_env",
    "problem_from_run",
    "summarize",
]
