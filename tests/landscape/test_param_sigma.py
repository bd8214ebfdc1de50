"""param-sigma mode: J mollified by a Gaussian on theta, against a known convolution."""

import numpy as np
import pytest

from mollirl.landscape import compute_landscape, problem_from_env


def test_param_sigma_of_a_quadratic_adds_the_known_constant():
    # horizon 1 and reward -|u|^2 with u = -K s0 (the preset has no bias; no saturation reached):
    # J(theta) = -|u(theta)|^2, and each u_i perturbed by -dK_i s0 ~ N(0, sigma^2 |s0|^2),
    # so E[J(theta + sigma eps)] = J(theta) - sigma^2 m |s0|^2, m = 2 actions.
    env_kwargs = {"angle_weight": 0.0, "velocity_weight": 0.0, "ctrl_weight": 1.0}
    problem = problem_from_env("double-pendulum", "reference", horizon=1, env_kwargs=env_kwargs)
    sigma, m = 0.5, 2
    s0 = np.array([-0.2, 0.2, 0.0, 0.0])
    land = compute_landscape(problem, grid=3, dims=1, radius=0.1, directions="K[0,0]", mode=["det", "param-sigma"],
                             episodes=20000, seed=0, param_sigma=sigma)
    det, ps = land.value("det"), land.value("param-sigma")
    stderr = land.stderr[land.index("param-sigma")]
    expected = det - sigma**2 * m * (s0 @ s0)
    assert np.all(np.abs(ps - expected) < 4 * stderr)
    assert np.all(stderr < 0.02)
    assert land.metadata["param_sigma"] == sigma


def test_param_sigma_uses_common_random_numbers():
    problem = problem_from_env("quadrotor", "reference", horizon=50)
    land = compute_landscape(problem, grid=3, dims=1, radius=0.0 + 1e-9, directions="b[0]", mode="param-sigma",
                             episodes=8, seed=3, param_sigma=0.05)
    v = land.value("param-sigma")
    assert v[0] == pytest.approx(v[1], abs=1e-3) and v[1] == pytest.approx(v[2], abs=1e-3)


def test_param_sigma_rejects_bad_sigma():
    problem = problem_from_env("quadrotor", "reference", horizon=5)
    with pytest.raises(ValueError, match="param_sigma"):
        compute_landscape(problem, grid=3, dims=1, directions="b[0]", mode="param-sigma", param_sigma=-1.0)
