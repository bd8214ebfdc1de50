import gymnasium as gym
import numpy as np
import pytest

import mollirl  # noqa: F401
from mollirl.envs import make_vec_env
from mollirl.envs.double_pendulum import DoublePendulumEnv
from mollirl.envs.quadrotor import PlanarQuadrotorEnv, QuadrotorParams

ANALYTIC = ["mollirl/PlanarQuadrotor-v0", "mollirl/DoublePendulum-v0"]


def test_hover_is_exact_equilibrium():
    env = gym.make("mollirl/PlanarQuadrotor-v0")
    env.reset(seed=0)
    hover = np.full(2, env.unwrapped.params.hover_thrust)
    for integrator in ("euler", "semi-implicit", "rk4"):
        env = gym.make("mollirl/PlanarQuadrotor-v0", integrator=integrator)
        env.reset(seed=0)
        for _ in range(1000):
            obs, reward, term, trunc, _ = env.step(hover)
            assert not term
        assert np.all(obs == 0.0), integrator
        assert trunc
        assert reward == pytest.approx(-1e-4 * hover @ hover)


def test_quadrotor_dynamics_signs():
    env = PlanarQuadrotorEnv()
    f = env.dynamics(np.array([0, 0, 0, 0, 0.1, 0]), np.array([6.0, 4.0]))
    assert f[1] < 0  # tilted counter-clockwise, thrust pushes toward -x
    assert f[5] == pytest.approx(0.5 / 0.1 * 2.0)  # r/I (u1 - u2)


def test_saturation_and_reward_never_positive():
    env = PlanarQuadrotorEnv()
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.array([-5.0, 50.0]))
    np.testing.assert_array_equal(info["u"], [0.0, 10.0])
    assert r < 0
    dp = DoublePendulumEnv()
    dp.reset(seed=0)
    _, r, _, _, info = dp.step(np.array([-50.0, 50.0]))
    np.testing.assert_array_equal(info["u"], [-10.0, 10.0])
    assert r < 0


@pytest.mark.parametrize("env_id", ANALYTIC)
def test_reset_options_state_is_exact(env_id):
    env = gym.make(env_id, start_noise=0.5)
    n = env.observation_space.shape[0]
    s = np.linspace(-0.3, 0.3, n)
    obs, _ = env.reset(seed=1, options={"state": s})
    np.testing.assert_array_equal(obs, s)
    with pytest.raises(ValueError, match="shape"):
        env.reset(options={"state": np.zeros(n + 1)})


def test_divergence_terminates_with_finite_values():
    env = gym.make("mollirl/DoublePendulum-v0", divergence_threshold=50.0)
    env.reset(seed=0, options={"state": np.array([0.0, 0.0, 49.9, -49.9])})
    _, r, term, _, info = env.step(np.array([10.0, -10.0]))
    assert term and info["diverged"]
    obs = env.unwrapped.state
    assert np.all(np.isfinite(obs)) and np.isfinite(r)
    assert np.all(np.abs(obs) <= 50.0)


def test_nan_action_is_caught():
    env = PlanarQuadrotorEnv()
    env.reset(seed=0)
    obs, r, term, _, info = env.step(np.array([np.nan, 1.0]))
    # np.clip keeps NaN, so the state would turn NaN: it must be reported, not propagated
    assert term and info["diverged"]
    assert np.all(np.isfinite(obs)) and np.isfinite(r)


def test_bad_params_rejected():
    with pytest.raises(ValueError, match="integrator"):
        QuadrotorParams(integrator="leapfrog")
    with pytest.raises(ValueError, match="dt"):
        QuadrotorParams(dt=-0.1)


@pytest.mark.parametrize("env_id", ANALYTIC)
def test_render_rgb_array(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (400, 400, 3) and frame.dtype == np.uint8
    assert (frame < 255).any()


def test_vec_env_reports_episode_stats():
    venv = make_vec_env("double-pendulum", 3, max_episode_steps=10, seed=0)
    venv.reset()
    for _ in range(10):
        _, _, dones, infos = venv.step(np.zeros((3, 2)))
    assert dones.all()
    assert all(info["episode"]["l"] == 10 and info["episode"]["r"] < 0 for info in infos)
