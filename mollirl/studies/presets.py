"""Study presets: a named, registered set of study options and training config keys.

A preset is plain data (no Optuna import). ``python -m mollirl.study --preset
NAME`` starts from it; every command-line flag overrides the preset's value.
Plugins add their own with the same call the built-ins use::

    from mollirl.registry import register
    from mollirl.studies import StudyPreset

    register("studies", "my-search", StudyPreset(env="my-env", options={"sigma_range": (0.01, 1.0)}),
             help="sigma* on my env")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mollirl.studies.pruning import DEFAULT_KIND

#: study options a preset may set (the command line's names, with underscores)
PRESET_OPTIONS = ("n_trials", "sigma_range", "sigma_values", "search", "seeds", "objective", "sampler", "pruner",
                  "grid_points", "sigma_schedule", "learn_sigma", "sampler_seed")


@dataclass(frozen=True)
class StudyPreset:
    """One registered study.

    :param env: env short name (or Gymnasium id) the study trains on.
    :param algo: algorithm name (``reinforce``, ``ppo``, ...).
    :param options: study options (keys of :data:`PRESET_OPTIONS`), e.g.
        ``{"sigma_values": [0.05, 0.5], "sampler": "grid", "seeds": 5}``.
    :param config: training config keys (:class:`~mollirl.config.RunConfig` fields)
        layered over the env's own preset, e.g. ``{"epochs": 100}``.
    :param description: what the study reproduces or searches (for ``--list`` and docs).
    """

    env: str
    algo: str = "reinforce"
    options: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.options) - set(PRESET_OPTIONS))
        if unknown:
            raise ValueError(f"unknown study preset option(s) {unknown}; expected some of {list(PRESET_OPTIONS)}")


#: The paper's Fig. 6: REINFORCE on hopper-stand, sigma in {0.005, 0.05, 0.5, 5}, 5 seeds each,
#: batch 32, 100 epochs, horizon 1000, normalized step delta = 1. Both objectives are kept
#: (final return and the spread of J(theta_k)), as the figure compares both.
FIGURE6 = StudyPreset(
    env="hopper-stand",
    options=dict(sigma_values=[0.005, 0.05, 0.5, 5.0], sampler="grid", seeds=5, objective="both", pruner="none",
                 n_trials=4),
    config=dict(batch_episodes=32, epochs=100, horizon=1000, step_size=1.0, gamma=0.99),
    description="the paper's Fig. 6 grid: sigma in {0.005, 0.05, 0.5, 5} x 5 seeds on hopper-stand",
)

#: sigma* searches on each env with the env's preset (the paper's training setup, App. F,
#: for REINFORCE; the algorithm's own defaults otherwise); TPE over a log range,
#: 3 seeds per trial, the default pruning inside the batch (measured on the double pendulum).
SIGMA_SEARCHES: dict[str, StudyPreset] = {
    "sigma-quadrotor": StudyPreset(
        env="quadrotor",
        options=dict(sigma_range=(1e-3, 1.0), seeds=3, n_trials=30, objective="return", sampler="tpe",
                     pruner=DEFAULT_KIND),
        description="sigma* for the planar quadrotor from LQR theta* (Fig. 8 setup), sigma in [1e-3, 1]",
    ),
    "sigma-double-pendulum": StudyPreset(
        env="double-pendulum",
        options=dict(sigma_range=(1e-2, 5.0), seeds=3, n_trials=30, objective="return", sampler="tpe",
                     pruner=DEFAULT_KIND),
        description="sigma* for the double pendulum from the paper's K0 (Fig. 7 setup), sigma in [0.01, 5]",
    ),
    "sigma-hopper-stand": StudyPreset(
        env="hopper-stand",
        options=dict(sigma_range=(1e-3, 5.0), seeds=3, n_trials=30, objective="return", sampler="tpe",
                     pruner=DEFAULT_KIND),
        description="sigma* for hopper-stand (Fig. 6 setup), sigma in [1e-3, 5]",
    ),
}
