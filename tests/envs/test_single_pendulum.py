"""The single pendulum (``mollirl/SinglePendulum-v0``): contract, physics with known answers,
the correspondence with the double pendulum's first link, and that it is not chaotic."""

import warnings

import gymnasium as gym
import numpy as np
import pytest

import mollirl  # noqa: F401
from mollirl import registry
from mollirl.analysis import lyapunov_exponent
from mollirl.envs import get_env_plugin
from mollirl.envs._analytic import AnalyticSystem, batch_step
from mollirl.envs.double_pendulum import DOUBLE_PENDULUM, DoublePendulumParams, double_pendulum_deriv
from mollirl.envs.single_pendulum import (
    SINGLE_PENDULUM,
    SinglePendulumEnv,
    SinglePendulumParams,
    single_pendulum_deriv,
    single_pendulum_energy,
    single_pendulum_reward,
)

ENV_ID = "mollirl/SinglePendulum-v0"
INTEGRATORS = ("euler", "semi-implicit", "rk4")


def rollout_states(system: AnalyticSystem, params, state: np.ndarray, n_steps: int, policy=None) -> np.ndarray:
    """``(n_steps + 1, N, n)`` states of ``batch_step`` from ``state (N, n)``; ``policy`` None is zero torque."""
    out = [state]
    for _ in range(n_steps):
        action = np.zeros((state.shape[0], 1 if system is SINGLE_PENDULUM else 2)) if policy is None else policy(state)
        state = batch_step(system, params, state, action)[0]
        out.append(state)
    return np.stack(out)


def random_tanh_mlp(seed: int, obs_dim: int, action_dim: int, scale: float):
    """A deterministic ``u = scale * W2 tanh(W1 s)``, W ~ N(0, 1/fan_in) as ``MLPMean`` initializes them."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((16, obs_dim)) / np.sqrt(obs_dim)
    w2 = scale * rng.standard_normal((action_dim, 16)) / 4.0
    return lambda s: np.tanh(s @ w1.T) @ w2.T


# --- contract ---------------------------------------------------------------------------


def test_registered_with_gymnasium_and_mollirl():
    assert ENV_ID in gym.registry and gym.spec(ENV_ID).max_episode_steps == 1000
    assert "single-pendulum" in registry.names("envs")
    plugin = get_env_plugin("single-pendulum")
    assert plugin is get_env_plugin(ENV_ID) and plugin.gym_id == ENV_ID
    assert plugin.reference is None  # no reference controller: Figure 2 uses random MLPs
    assert plugin.preset["policy"] == "mlp" and plugin.preset["policy_init"] == "random"
    assert plugin.preset["policy_kwargs"] == {"hidden": 16, "bias": False}


def test_spaces_and_start_state():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs, [-0.2, 0.0])  # the double pendulum's first link at s0
    assert env.observation_space.shape == (2,) and env.action_space.shape == (1,)
    np.testing.assert_array_equal(env.action_space.low, [-10.0])
    np.testing.assert_array_equal(env.action_space.high, [10.0])
    p = env.unwrapped.params
    assert (p.dt, p.integrator, p.inertia1, p.mass1, p.length1, p.com1, p.gravity) == (
        0.01, "euler", 0.1, 0.15, 0.5, 0.25, 9.81)


def test_reset_options_state_is_exact():
    env = gym.make(ENV_ID, start_noise=0.5)
    obs, _ = env.reset(seed=1, options={"state": np.array([0.3, -1.0])})
    np.testing.assert_array_equal(obs, [0.3, -1.0])
    with pytest.raises(ValueError, match="shape"):
        env.reset(options={"state": np.zeros(4)})


def test_render_rgb_array():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(np.array([3.0]))
    frame = env.render()
    assert frame.shape == (400, 400, 3) and frame.dtype == np.uint8
    assert (frame < 255).any()


def test_divergence_terminates_with_finite_values():
    env = gym.make(ENV_ID, divergence_threshold=50.0)
    env.reset(seed=0, options={"state": np.array([0.0, 49.9])})
    _, r, term, _, info = env.step(np.array([10.0]))
    assert term and info["diverged"]
    assert np.all(np.isfinite(env.unwrapped.state)) and np.isfinite(r)
    assert np.all(np.abs(env.unwrapped.state) <= 50.0)


@pytest.mark.parametrize("field", ["inertia1", "mass1", "length1", "torque_max"])
def test_bad_params_rejected(field):
    with pytest.raises(ValueError, match=field):
        SinglePendulumParams(**{field: 0.0})


# --- physics with known answers ---------------------------------------------------------


@pytest.mark.parametrize("integrator", INTEGRATORS)
def test_upright_is_an_exact_equilibrium(integrator):
    env = gym.make(ENV_ID, integrator=integrator)
    env.reset(seed=0, options={"state": np.zeros(2)})
    for _ in range(1000):
        obs, reward, term, trunc, _ = env.step(np.zeros(1))
        assert not term and reward == 0.0
    assert np.all(obs == 0.0)
    assert trunc


@pytest.mark.parametrize("constants", [{}, dict(inertia1=0.3, mass1=0.4, com1=0.6, gravity=3.7)])
def test_linearization_at_upright_matches_analytic_eigenvalues(constants):
    p = SinglePendulumParams(**constants)
    h = 1e-6
    jac = np.empty((2, 2))
    for j in range(2):
        e = np.zeros((1, 2))
        e[0, j] = h
        zero = np.zeros((1, 1))
        jac[:, j] = (single_pendulum_deriv(e, zero, p) - single_pendulum_deriv(-e, zero, p))[0] / (2 * h)
    # J = I1: the double pendulum's I1 is the moment of inertia about the joint (see single_pendulum_deriv)
    rate = np.sqrt(p.mass1 * p.gravity * p.com1 / p.inertia1)  # 1/s; 1.9180067779 with the defaults
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(jac).real), [-rate, rate], rtol=0, atol=1e-6)
    if not constants:
        assert rate == pytest.approx(1.9180067779, abs=1e-9)
    # the torque enters as u / I1
    du = single_pendulum_deriv(np.zeros((1, 2)), np.ones((1, 1)), p)[0, 1]
    assert du == pytest.approx(1.0 / p.inertia1, rel=1e-15)


def test_energy_conserved_without_torque():
    """Max |E(t) - E(0)| over 2 s from s0 (J), measured: rk4 6.0e-10 at dt 0.01 and 3.7e-11 at dt 0.005
    (ratio 16: 4th order); Euler 1.13e-2 and 5.7e-3 (ratio 1.97: 1st order; the energy grows, forward
    Euler is expansive on oscillations, and over 10 s it carries the pendulum over the top)."""

    def drift(integrator, dt):
        p = SinglePendulumParams(integrator=integrator, dt=dt)
        states = rollout_states(SINGLE_PENDULUM, p, np.array([[-0.2, 0.0]]), int(round(2.0 / dt)))
        energy = single_pendulum_energy(states[:, 0], p)
        return np.max(np.abs(energy - energy[0])), energy[-1] - energy[0]

    rk4_coarse, _ = drift("rk4", 0.01)
    rk4_fine, _ = drift("rk4", 0.005)
    euler_coarse, euler_gain = drift("euler", 0.01)
    euler_fine, _ = drift("euler", 0.005)
    scale = 2 * SinglePendulumParams().gravity_torque  # J, the potential energy range
    assert rk4_coarse < 1e-8 * scale
    assert 8 < rk4_coarse / rk4_fine < 32  # 2^4 = 16
    assert 1.6 < euler_coarse / euler_fine < 2.5  # 2^1
    assert euler_gain > 0


def test_saturation_and_reward_formula():
    env = SinglePendulumEnv()
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.array([50.0]))
    np.testing.assert_array_equal(info["u"], [10.0])
    # on the pre-step state s0 = [-0.2, 0] and the saturated torque
    assert r == -(5.0 * 0.2**2 + 0.5 * 0.0 + 5e-5 * 10.0**2)
    _, r, _, _, info = env.step(np.array([-50.0]))
    np.testing.assert_array_equal(info["u"], [-10.0])
    assert r < 0
    np.testing.assert_array_equal(env.saturate(np.array([[-11.0], [3.0], [10.5]])), [[-10.0], [3.0], [10.0]])
    rng = np.random.default_rng(0)
    s, u = rng.normal(size=(6, 2)), rng.uniform(-10, 10, size=(6, 1))
    expected = -(5.0 * s[:, 0] ** 2 + 0.5 * s[:, 1] ** 2 + 5e-5 * u[:, 0] ** 2)
    np.testing.assert_allclose(single_pendulum_reward(s, u, SinglePendulumParams()), expected, rtol=1e-15)


def test_is_the_double_pendulums_first_link_alone():
    """DoublePendulumParams rejects mass2 = 0, so take the limit: with u2 = 0 the double pendulum's
    theta1_ddot minus ours is O(m2) at any state and any I2 (measured max over 8 states with
    accelerations up to 90 rad/s^2: 0.20, 2.0e-4, 2.0e-7 rad/s^2 at m2 = 1e-3, 1e-6, 1e-9 kg, for
    I2 = 0.1 and 0.02), which holds only because M11 carries no m1 lc1^2: I1 is about the joint.
    500 Euler steps from s0 with m2 = 1e-12 agree to 1.3e-10."""
    with pytest.raises(ValueError, match="mass2"):
        DoublePendulumParams(mass2=0.0)
    rng = np.random.default_rng(0)
    dp_state = np.column_stack([rng.uniform(-3, 3, (8, 2)), rng.normal(0, 3, (8, 2))])
    u1 = rng.uniform(-10, 10, (8, 1))
    ours = single_pendulum_deriv(dp_state[:, [0, 2]], u1, SinglePendulumParams())
    for inertia2 in (0.1, 0.02):
        errors = []
        for mass2 in (1e-3, 1e-6, 1e-9):
            dp = DoublePendulumParams(mass2=mass2, inertia2=inertia2)
            theirs = double_pendulum_deriv(dp_state, np.hstack([u1, np.zeros((8, 1))]), dp)
            np.testing.assert_array_equal(theirs[:, 0], ours[:, 0])
            errors.append(np.max(np.abs(theirs[:, 2] - ours[:, 1])))
        assert errors[-1] < 1e-6
        assert 300 < errors[0] / errors[1] < 3000 and 300 < errors[1] / errors[2] < 3000  # linear in m2
    # and whole Euler trajectories agree as m2 -> 0
    dp = DoublePendulumParams(mass2=1e-12)
    theirs = rollout_states(DOUBLE_PENDULUM, dp, np.array([[-0.2, 0.2, 0.0, 0.0]]), 500)
    mine = rollout_states(SINGLE_PENDULUM, SinglePendulumParams(), np.array([[-0.2, 0.0]]), 500)
    np.testing.assert_allclose(theirs[:, 0, [0, 2]], mine[:, 0], rtol=0, atol=1e-8)


# --- not chaotic ------------------------------------------------------------------------


def _mle(system, params, x0, policy, n_steps=2000):
    def step_fn(s):
        return batch_step(system, params, s, policy(s))[0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a saturated policy may collapse a perturbation: that copy is -inf
        return lyapunov_exponent(step_fn, x0, n_steps, rng=0).lambda_per_step


def test_lyapunov_exponent_without_torque_far_below_the_double_pendulums():
    """Measured (1/step, 2000 Euler steps from s0, rng 0): single 3.0e-4 (Euler's energy gain,
    -> 4e-6 with another rng), double 7.6e-3 (0.76 1/s); seeds and 5000 steps move them < 2.5e-4."""
    single = _mle(SINGLE_PENDULUM, SinglePendulumParams(), [-0.2, 0.0], lambda s: np.zeros((len(s), 1)))
    double = _mle(DOUBLE_PENDULUM, DoublePendulumParams(), [-0.2, 0.2, 0.0, 0.0], lambda s: np.zeros((len(s), 2)))
    assert single < 1e-3 < 5e-3 < double


def test_lyapunov_exponent_under_mild_random_mlps_below_the_double_pendulums():
    """Ten random tanh-MLPs at a tenth of MLPMean's scale (mean |u| 0.04-0.09 N m against gravity's
    0.37 N m, so gravity still drives the motion):
    medians (1/step) single 2.3e-4, double 2.8e-3; double above single for 10 of 10 (seeds 0-9).
    Seed sets 10-19, 20-29, 30-39 gave medians 3.0e-4 / 1.5e-3, -2.9e-4 / 2.0e-3, -4.7e-5 / 3.4e-3
    and 8, 9, 9 of 10: the bounds below hold for all four sets."""
    single, double = [], []
    for seed in range(10):
        single.append(_mle(SINGLE_PENDULUM, SinglePendulumParams(), [-0.2, 0.0], random_tanh_mlp(seed, 2, 1, 0.1)))
        double.append(_mle(DOUBLE_PENDULUM, DoublePendulumParams(), [-0.2, 0.2, 0.0, 0.0],
                           random_tanh_mlp(seed, 4, 2, 0.1)))
    single, double = np.array(single), np.array(double)
    assert np.median(single) < 5e-4 and np.median(double) > 1e-3
    assert np.sum(double > single) >= 7
