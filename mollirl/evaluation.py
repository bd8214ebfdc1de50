"""Deterministic evaluation: J(theta), the paper's objective, from the env's evaluation start."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch as th
from stable_baselines3.common.vec_env import VecEnv


@dataclass(frozen=True)
class DeterministicEvaluation:
    """Result of one deterministic rollout per env copy.

    :param discounted: ``sum_k gamma^k R_k`` per copy, shape ``(n_envs,)``.
    :param undiscounted: ``sum_k R_k`` per copy.
    :param final_state: last observation of each episode ``(n_envs, obs_dim)``.
    :param diverged: whether each episode ended by divergence.
    """

    discounted: np.ndarray
    undiscounted: np.ndarray
    final_state: np.ndarray
    diverged: np.ndarray


def policy_mean(policy, obs: np.ndarray) -> np.ndarray:
    """Deterministic action (the Gaussian's mean) for a batch of observations."""
    if hasattr(policy, "mean"):
        with th.no_grad():
            return policy.mean(th.as_tensor(obs, dtype=th.float64)).cpu().numpy()
    actions, _ = policy.predict(obs, deterministic=True)
    return actions


def evaluate_deterministic(policy, venv: VecEnv, horizon: int, gamma: float, seed: int = 0) -> DeterministicEvaluation:
    """Roll the mean policy for one episode of at most ``horizon`` steps in every copy of ``venv``.

    The venv is reseeded with ``seed`` first, so the same policy gives the same
    numbers; with the env's noise-free evaluation kwargs the start is exact.
    A copy's episode ends at its first ``done``; later steps are ignored.
    """
    venv.seed(seed)
    obs = venv.reset()
    n = venv.num_envs
    disc = np.zeros(n)
    und = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    final = np.array(obs, dtype=np.float64, copy=True)
    diverged = np.zeros(n, dtype=bool)
    discount = 1.0
    for _ in range(horizon):
        obs, rewards, dones, infos = venv.step(policy_mean(policy, obs))
        rewards = np.asarray(rewards, dtype=np.float64)
        disc += np.where(alive, discount * rewards, 0.0)
        und += np.where(alive, rewards, 0.0)
        discount *= gamma
        final[alive] = obs[alive]
        for i in np.flatnonzero(dones & alive):
            final[i] = infos[i].get("terminal_observation", obs[i])
            diverged[i] = bool(infos[i].get("diverged", False))
        alive &= ~dones
        if not alive.any():
            break
    return DeterministicEvaluation(disc, und, final, diverged)
