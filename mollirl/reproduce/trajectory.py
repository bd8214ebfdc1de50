"""Deterministic closed-loop trajectories of a policy (states over time), for figures."""

from __future__ import annotations

import numpy as np
import torch as th


def rollout_states(env, policy, horizon: int, state: np.ndarray | None = None) -> np.ndarray:
    """States ``(horizon + 1, state_dim)`` of the mean policy from ``state`` (or the env's start).

    :param env: an analytic Gymnasium env (``mollirl/...``); its ``reset(options={"state": s})`` is used.
    :param policy: a :class:`~mollirl.policies.GaussianPolicy`.
    """
    obs, _ = env.reset(seed=0, options={"state": state} if state is not None else None)
    states = [obs]
    for _ in range(horizon):
        with th.no_grad():
            action = policy.mean(th.as_tensor(obs[None], dtype=th.float64)).numpy()[0]
        obs, _, terminated, truncated, _ = env.step(action)
        states.append(obs)
        if terminated:
            break
    return np.asarray(states)
