"""The landscape's backends: the rollout core's (:mod:`mollirl.rollout`), made for an env by name.

A landscape is one batched rollout of grid points x episodes (row ``r = p * M + m``):
analytic envs step their pure dynamics on ``(rows, state_dim)`` arrays (dead rows
cost nothing), any other env runs on VecEnvs of at most ``max_envs`` copies (for
hopper-stand, MuJoCo's threaded ``mujoco.batch`` over one ``MjData`` per row), in
chunks. The rows, their returns and the one divergence rule are the core's: a row
that diverges (a non-finite value, ``info["diverged"]``, an analytic state beyond
its threshold) keeps its finite return up to that step and is flagged, never
dropped; landscapes mask and hatch it.
"""

from __future__ import annotations

from typing import Any

from mollirl.common.env_util import make_vec_env
from mollirl.rollout import AnalyticBackend, VecEnvBackend, backend_for

__all__ = ["AnalyticBackend", "VecEnvBackend", "make_backend"]


def make_backend(env: str, env_kwargs: dict[str, Any] | None = None, *, horizon: int = 1000,
                 max_envs: int = 2048) -> AnalyticBackend | VecEnvBackend:
    """The fastest backend for env ``env`` (short name or Gymnasium id) with ``env_kwargs``.

    :raises ValueError: on env kwargs the env does not accept.
    """
    kwargs = dict(env_kwargs or {})

    def make(n: int):
        return make_vec_env(env, n, max_episode_steps=horizon, **kwargs)

    return backend_for(make_venv=make, max_envs=max_envs)
