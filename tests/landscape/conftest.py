"""Shared helpers of the landscape tests: problems around the analytic envs' reference policies, and
an independent reference (a plain per-point loop over a one-copy VecEnv with the policy's torch mean)."""

import numpy as np
import pytest
import torch as th

from mollirl.landscape.problem import problem_from_env


@pytest.fixture
def pendulum():
    return problem_from_env("double-pendulum", "reference", horizon=200)


@pytest.fixture
def quadrotor():
    return problem_from_env("quadrotor", "reference", horizon=200)


def deterministic_episode(policy, venv, horizon: int, gamma: float, options: dict | None = None, seed: int = 0):
    """``(discounted return, diverged)`` of one mean-policy episode on a one-copy VecEnv: no rollout core."""
    venv.seed(seed)
    if options is not None:
        venv.set_options(options)
    obs = venv.reset()
    total, discount = 0.0, 1.0
    for _ in range(horizon):
        with th.no_grad():
            action = policy.mean(th.as_tensor(obs, dtype=th.float64)).numpy()
        obs, rewards, dones, infos = venv.step(action)
        total += discount * float(rewards[0])
        discount *= gamma
        if dones[0]:
            return total, bool(infos[0].get("diverged", False))
    return total, False


def plain_returns(problem, points: np.ndarray, horizon: int | None = None):
    """Reference: one :func:`deterministic_episode` per point on a fresh 1-copy VecEnv (the eval start)."""
    from mollirl.envs import make_vec_env

    horizon = horizon or problem.horizon
    policy = problem.policy
    centre = policy.get_mean_vector()
    values, diverged = [], []
    try:
        for theta in points:
            policy.set_mean_vector(theta)
            venv = make_vec_env(problem.env, 1, max_episode_steps=horizon, **problem.rollout_kwargs())
            value, div = deterministic_episode(policy, venv, horizon, problem.gamma, problem.eval_options)
            venv.close()
            values.append(value)
            diverged.append(div)
    finally:
        policy.set_mean_vector(centre)
    return np.array(values), np.array(diverged)


@pytest.fixture
def plain():
    """The per-point reference rollout :func:`plain_returns`."""
    return plain_returns
