"""A tanh-squashed hopper-stand, ``hopper-stand-tanh`` (``mollirl/HopperStandTanh-v0``), for
Figure 6's sensitivity run: the env receives a = tanh(u) instead of clip(u, -1, 1).

A plugin module of the reproduction, not a built-in env: a run loads it through its
config (``plugins: [mollirl.reproduce.squashed]``, ``--plugin mollirl.reproduce.squashed``),
and importing it registers the env (the only side effect).

Why: with clipping, a mean action beyond the bounds is *saturated*: the policy's noise
sigma z moves the applied action only when mu + sigma z comes back inside [-1, 1], so
a large sigma and a growing mean can leave little effective noise (the "saturation"
of Figure 6's sigma = 5). With a = tanh(mu + sigma z) the applied action never
sticks at a bound and the likelihood-ratio gradient sees every perturbation smoothly.

What changes, exactly: the action space is the box [-``BOUND``, ``BOUND``]^3 (so the rollout
core's clip to the action space, which precedes every env, does not act for any
sensible action), and the env applies ``np.tanh`` to the raw action before Hopper's
own clip to [-1, 1] (a no-op on tanh's range); the reward's control cost is on the
squashed action. Everything else (dynamics, reward, start, time limit, divergence)
is hopper-stand's. The Gaussian policy's sigma acts *before* the tanh.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from mollirl.common.env_util import get_env_plugin
from mollirl.envs import EnvPlugin
from mollirl.registry import register

GYM_ID = "mollirl/HopperStandTanh-v0"
NAME = "hopper-stand-tanh"
BOUND = 1e6  # raw-action box; finite (Gymnasium's checker wants finite bounds), never reached


def _finite(action: Any) -> np.ndarray:
    arr = np.asarray(action, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"action must be finite, got {action!r}")
    return arr


def _squashed_box(space: gym.spaces.Box) -> gym.spaces.Box:
    return gym.spaces.Box(-BOUND, BOUND, shape=space.shape, dtype=space.dtype)


def _env_class():
    from mollirl.envs.hopper_stand import HopperStandEnv

    class TanhHopperStandEnv(HopperStandEnv):
        """:class:`~mollirl.envs.hopper_stand.HopperStandEnv` applying ``a = tanh(u)`` to the raw action u."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.action_space = _squashed_box(self.action_space)

        def step(self, action):
            return super().step(np.tanh(_finite(action)))

    return TanhHopperStandEnv


def make_env(**kwargs: Any):
    """Gymnasium entry point of ``mollirl/HopperStandTanh-v0``."""
    return _env_class()(**kwargs)


def make_vec(n_envs: int, max_episode_steps: int = 1000, n_threads: int | None = None, **env_kwargs: Any):
    """``n_envs`` copies on MuJoCo's thread pool, squashing each action with tanh."""
    from mollirl.envs.hopper_vec import HopperStandVecEnv

    class TanhHopperStandVecEnv(HopperStandVecEnv):
        def step_async(self, actions: np.ndarray) -> None:
            super().step_async(np.tanh(_finite(actions)))

    venv = TanhHopperStandVecEnv(n_envs, max_episode_steps=max_episode_steps, n_threads=n_threads, **env_kwargs)
    venv.action_space = _squashed_box(venv.action_space)
    return venv


if GYM_ID not in gym.registry:
    gym.register(id=GYM_ID, entry_point=make_env, max_episode_steps=1000)
_base = get_env_plugin("hopper-stand")
register("envs", NAME, EnvPlugin(gym_id=GYM_ID, make_vec=make_vec, preset=dict(_base.preset),
                                 eval_start=_base.eval_start),
         help="hopper-stand with a = tanh(u) instead of clip(u) (Figure 6's sensitivity run)", overwrite=True)
