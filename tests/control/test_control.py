import gymnasium as gym
import numpy as np
import pytest

import mollirl  # noqa: F401
from mollirl.control import continuous_lqr, discrete_lqr, linearize, reference_policy
from mollirl.control.lqr import euler_discretize

# The paper's printed theta* (Appendix F.3). Used only to CHECK the computed gain.
PAPER_K0 = np.array([
    [-2.2361, -3.3404, 2.2361, 2.69, 13.5092, 2.7752],
    [2.2361, 3.3404, 2.2361, 2.69, -13.5092, -2.7752],
])


def test_quadrotor_lqr_gain_matches_paper():
    ref = reference_policy(gym.make("mollirl/PlanarQuadrotor-v0"))
    np.testing.assert_allclose(ref["K"], PAPER_K0, atol=1e-3)
    np.testing.assert_array_equal(ref["b"], [4.905, 4.905])


def test_quadrotor_lqr_is_unstable_under_paper_euler():
    env = gym.make("mollirl/PlanarQuadrotor-v0")
    base = env.unwrapped
    ref = reference_policy(env)
    A, B = linearize(base.dynamics, np.zeros(6), ref["b"])
    assert np.all(np.linalg.eigvals(A - B @ ref["K"]).real < 0)  # stable in continuous time
    Ad, Bd = euler_discretize(A, B, base.params.dt)
    rho = max(abs(np.linalg.eigvals(Ad - Bd @ ref["K"])))
    assert 1.2 < rho < 1.26  # PAPER_NOTES: about 1.23


def test_double_pendulum_initial_policy_has_one_unstable_eigenvalue():
    env = gym.make("mollirl/DoublePendulum-v0")
    ref = reference_policy(env)
    A, B = linearize(env.unwrapped.dynamics, np.zeros(4), np.zeros(2))
    eig = np.linalg.eigvals(A - B @ ref["K"])
    unstable = eig[eig.real > 0]
    assert len(unstable) == 1
    assert unstable[0].real == pytest.approx(0.025, abs=0.002)


def test_linearize_exact_on_linear_system():
    A0 = np.array([[0.0, 1.0], [-2.0, -0.5]])
    B0 = np.array([[0.0], [1.0]])
    A, B = linearize(lambda s, u: A0 @ s + B0 @ u, np.array([0.3, -0.1]), np.array([0.2]))
    np.testing.assert_allclose(A, A0, atol=1e-9)
    np.testing.assert_allclose(B, B0, atol=1e-9)


def test_double_integrator_lqr_known_gain():
    A = np.array([[0.0, 1.0], [0.0, 0.0]])
    B = np.array([[0.0], [1.0]])
    K, _ = continuous_lqr(A, B, np.eye(2), np.eye(1))
    np.testing.assert_allclose(K, [[1.0, np.sqrt(3.0)]], atol=1e-9)
    Kd, _ = discrete_lqr(*euler_discretize(A, B, 0.01), np.eye(2) * 0.01, np.eye(1) * 0.01)
    np.testing.assert_allclose(Kd, K, atol=0.02)  # discrete gain -> continuous as dt -> 0
