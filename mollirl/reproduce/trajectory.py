"""Deterministic closed-loop trajectories of a policy (states over time), for figures."""

from __future__ import annotations

import numpy as np


def rollout_states(problem, *, state: np.ndarray | None = None) -> np.ndarray:
    """Observations ``(L + 1, obs_dim)`` of the mean policy's episode from the evaluation start
    (or from ``state`` for an analytic env), through the rollout core: the J_det row's trajectory.

    :param problem: a :class:`~mollirl.landscape.problem.LandscapeProblem` (env, policy, horizon).
    """
    from mollirl.landscape.engine import make_backend
    from mollirl.rollout import BatchedMean, Rows

    options = {"state": np.asarray(state, dtype=np.float64)} if state is not None else problem.eval_options
    rows = Rows(mean=BatchedMean.of_policy(problem.policy), seeds=np.array([0]), options=[options])
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon, max_envs=1)
    try:
        result = backend.run(rows, horizon=problem.horizon, gamma=problem.gamma, buffer_rows=1)
    finally:
        backend.close()
    length = int(result.lengths[0])
    return np.concatenate([result.buffers.obs[:length, 0], result.final_obs[:1]])
