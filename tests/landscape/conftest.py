"""Shared helpers of the landscape tests: problems around the analytic envs' reference policies."""

import numpy as np
import pytest

from mollirl.landscape.problem import problem_from_env


@pytest.fixture
def pendulum():
    return problem_from_env("double-pendulum", "reference", horizon=200)


@pytest.fixture
def quadrotor():
    return problem_from_env("quadrotor", "reference", horizon=200)


def plain_returns(problem, points: np.ndarray, horizon: int | None = None):
    """Reference: one evaluate_deterministic rollout per point on a fresh 1-copy VecEnv (the eval start)."""
    from mollirl.envs import make_vec_env
    from mollirl.evaluation import evaluate_deterministic

    horizon = horizon or problem.horizon
    policy = problem.policy
    centre = policy.get_mean_vector()
    values, diverged = [], []
    try:
        for theta in points:
            policy.set_mean_vector(theta)
            venv = make_vec_env(problem.env, 1, max_episode_steps=horizon, **problem.rollout_kwargs())
            ev = evaluate_deterministic(policy, venv, horizon, problem.gamma)
            venv.close()
            values.append(ev.discounted[0])
            diverged.append(ev.diverged[0])
    finally:
        policy.set_mean_vector(centre)
    return np.array(values), np.array(diverged)


@pytest.fixture
def plain():
    """The per-point reference rollout :func:`plain_returns`."""
    return plain_returns
