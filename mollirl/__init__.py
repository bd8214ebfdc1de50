"""mollirl: policy-gradient training with a controlled exploration sigma, and the
instruments to see and measure what sigma does to the optimization landscape.

Importing ``mollirl`` (or its core packages :mod:`mollirl.rollout` and
:mod:`mollirl.analysis`) imports no plugin and none of torch, Stable-Baselines3,
Gymnasium, MuJoCo or Optuna. The built-in plugins register on the first registry
lookup (:mod:`mollirl.registry`); ``import mollirl.envs`` registers the built-in
envs' Gymnasium ids (``gym.make("mollirl/DoublePendulum-v0")``) directly.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
