"""What the sigma mode measures under gSDE (docs/landscapes.md, *Mollification under gSDE*): with one noise
matrix per episode, a linear policy's stochastic episode m is the deterministic policy with gain K - theta_eps[m]^T,
so J under gSDE is J itself averaged over Gaussian shifts of the gain (parameter-space mollification)."""

from __future__ import annotations

import numpy as np
import pytest

from mollirl.common.seeding import SIGMA_NOISE, stream_rng
from mollirl.landscape import evaluate_points, make_backend, problem_from_env


@pytest.mark.parametrize("env", ["double-pendulum", "quadrotor"])
def test_gsde_episode_is_the_deterministic_policy_with_a_shifted_gain(env):
    problem = problem_from_env(env, "reference", horizon=60)
    policy = problem.policy
    A, F = policy.action_space.shape[0], policy.observation_space.shape[0]
    std = np.full((F, A), 0.05)
    M, seed = 5, 7
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        centre = problem.centre[None]
        sde = evaluate_points(backend, policy.mean, centre, mode="sigma", horizon=problem.horizon,
                              gamma=problem.gamma, episodes=M, seed=seed, eval_options=problem.eval_options,
                              sde_std=std, sde_sample_freq=-1)
        noise = stream_rng(seed, SIGMA_NOISE).standard_normal((1, M, A, F)) * std.T  # (S, M, A, F), as evaluate_points
        labels = policy.mean_parameter_labels()
        k_idx = [i for i, name in enumerate(labels) if name.startswith("K[")]
        shifted = np.repeat(centre, M, axis=0)
        shifted[:, k_idx] -= noise[0].reshape(M, A * F)  # K - theta_eps^T (K is (A, F), row-major)
        det = evaluate_points(backend, policy.mean, shifted, mode="det", horizon=problem.horizon,
                              gamma=problem.gamma, eval_options=problem.eval_options)
    finally:
        backend.close()
    assert np.allclose(sde.returns[0], det.values, rtol=1e-9, atol=1e-9), (sde.returns[0], det.values)
    if env == "quadrotor":  # from the hover start s0 = 0 the features are 0: gSDE explores nothing, J_gSDE = J
        assert np.ptp(det.values) == 0 and np.all(sde.returns[0] == sde.returns[0][0])
    else:
        assert np.ptp(det.values) > 0  # the episodes did differ
