"""Linearization, LQR and the analytic envs' reference policies.

``reference_policy(env)`` looks up the reference controller an env's plugin
registers (:func:`mollirl.common.env_util.reference_policy`). Names are imported
on first use (PEP 562): the double pendulum's reference needs no SciPy.
"""

import importlib
from typing import Any

_WHERE = {"reference_policy": "mollirl.common.env_util", "linearize": "mollirl.control.linearize",
          "continuous_lqr": "mollirl.control.lqr", "discrete_lqr": "mollirl.control.lqr",
          "double_pendulum_reference": "mollirl.control.reference", "quadrotor_reference": "mollirl.control.reference"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mollirl.control' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = sorted(_WHERE)
