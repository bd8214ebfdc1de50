"""mollirl: policy-gradient training with a controlled exploration sigma, and the
instruments to see and measure what sigma does to the optimization landscape.

Importing ``mollirl`` (or its core packages :mod:`mollirl.rollout` and
:mod:`mollirl.analysis`) imports none of torch, Stable-Baselines3, Gymnasium,
MuJoCo or Optuna. The built-in plugins register on the first registry lookup
(:mod:`mollirl.registry`). The built-in envs' Gymnasium ids
(``gym.make("mollirl/DoublePendulum-v0")``) are registered by ``import mollirl.envs``,
and by ``import mollirl`` in a program that has imported Gymnasium already (then
registering them costs no import).
"""

import sys as _sys

if "gymnasium" in _sys.modules:
    from mollirl import envs as _envs  # noqa: F401  (registration is the only side effect)

__version__ = "0.1.0"
__all__ = ["__version__"]
