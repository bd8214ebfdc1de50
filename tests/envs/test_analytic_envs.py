import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv

import mollirl  # noqa: F401
from mollirl.envs import make_vec_env
from mollirl.envs.double_pendulum import DoublePendulumEnv
from mollirl.envs.quadrotor import PlanarQuadrotorEnv, QuadrotorParams

ANALYTIC = ["mollirl/PlanarQuadrotor-v0", "mollirl/DoublePendulum-v0"]


@pytest.mark.parametrize("env_id", ANALYTIC)
def test_gymnasium_and_sb3_check_env(env_id):
    gym_check_env(gym.make(env_id).unwrapped, skip_render_check=False)
    # SB3 only warns that the saturation Box is not [-1, 1] and float64: deliberate (see env docstrings)
    with pytest.warns(UserWarning, match="symmetric and normalized"):
        sb3_check_env(gym.make(env_id), warn=True)


@pytest.mark.parametrize("env_id", ANALYTIC)
def test_same_seed_same_trajectory(env_id):
    def rollout(seed):
        env = gym.make(env_id, start_noise=0.05)
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        out = [obs]
        for _ in range(50):
            obs, r, *_ = env.step(rng.normal(size=2) * 3 + (4.9 if "Quad" in env_id else 0))
            out.append(np.append(obs, r))
        return np.concatenate(out)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))


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


@pytest.mark.parametrize("env_id", ANALYTIC)
@pytest.mark.parametrize("integrator", ["euler", "rk4"])
def test_batched_equals_unbatched(env_id, integrator):
    n, horizon = 5, 20
    kwargs = dict(start_noise=0.1, integrator=integrator)
    ours = make_vec_env(env_id, n, max_episode_steps=horizon, **kwargs)
    ref = DummyVecEnv([lambda: gym.make(env_id, max_episode_steps=horizon, **kwargs) for _ in range(n)])
    ours.seed(7)
    ref.seed(7)
    np.testing.assert_array_equal(ours.reset(), ref.reset())
    rng = np.random.default_rng(0)
    for _ in range(2 * horizon + 3):  # crosses two auto-resets
        actions = rng.normal(size=(n, 2)) * 2 + (4.9 if "Quad" in env_id else 0)
        o1, r1, d1, i1 = ours.step(actions)
        o2, r2, d2, i2 = ref.step(actions)
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(r1.astype(np.float32), r2)
        np.testing.assert_array_equal(d1, d2)
        for a, b in zip(i1, i2):
            assert a.get("TimeLimit.truncated", False) == b["TimeLimit.truncated"]
            if "terminal_observation" in b:
                np.testing.assert_array_equal(a["terminal_observation"], b["terminal_observation"])


def test_vec_env_reports_episode_stats():
    venv = make_vec_env("double-pendulum", 3, max_episode_steps=10, seed=0)
    venv.reset()
    for _ in range(10):
        _, _, dones, infos = venv.step(np.zeros((3, 2)))
    assert dones.all()
    assert all(info["episode"]["l"] == 10 and info["episode"]["r"] < 0 for info in infos)
