"""HopperStandEnv (``mollirl/HopperStand-v0``) and its batched twin HopperStandVecEnv."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

import mollirl  # noqa: F401  (registers the envs)

HOPPER_STAND_ID = "mollirl/HopperStand-v0"
from mollirl.envs.hopper_stand import HopperStandEnv
from mollirl.envs.hopper_vec import HopperStandVecEnv

# reset to a velocity MuJoCo rejects (|qvel| > mjMAXVAL = 1e10): the next mj_step is unstable
DIVERGING_QVEL = np.full(6, 1e11)


@pytest.fixture
def in_tmp_dir(tmp_path, monkeypatch):
    """Run in tmp_path: MuJoCo's instability warning appends to ./MUJOCO_LOG.TXT."""
    monkeypatch.chdir(tmp_path)


def _make(**kwargs) -> gym.Env:
    return gym.make(HOPPER_STAND_ID, **kwargs)


def _rollout(env: gym.Env, seed: int, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations, rewards = [obs], []
    for _ in range(n_steps):
        obs, reward, _, _, _ = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
    return np.array(observations), np.array(rewards)


# --- registration -------------------------------------------------------------------
def test_registered_with_time_limit():
    spec = gym.spec(HOPPER_STAND_ID)
    assert spec.max_episode_steps == 1000
    assert spec.entry_point == "mollirl.envs.hopper_stand:HopperStandEnv"


def test_registration_does_not_import_mujoco():
    code = (
        "import sys, gymnasium; import mollirl; assert 'mollirl/HopperStand-v0' in gymnasium.registry; "
        "assert 'mujoco' not in sys.modules, 'mujoco imported'; assert 'optuna' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the single env -------------------------------------------------------------------
def test_spaces_and_timing():
    env = HopperStandEnv()
    assert env.observation_space.shape == (11,) and env.observation_space.dtype == np.float64
    assert env.action_space.shape == (3,)
    np.testing.assert_array_equal(env.action_space.low, -1.0)
    np.testing.assert_array_equal(env.action_space.high, 1.0)
    assert env.frame_skip == 4 and env.dt == pytest.approx(0.008)


def test_zero_action_full_episode_never_terminates_and_reward_nonpositive():
    env = _make()
    env.reset(seed=0)
    rewards = []
    for k in range(1000):
        _, reward, terminated, truncated, info = env.step(np.zeros(3, dtype=np.float32))
        assert not terminated and not info["diverged"]
        assert truncated == (k == 999)
        rewards.append(reward)
    assert np.all(np.isfinite(rewards)) and max(rewards) <= 0.0


def test_reward_is_paper_formula_on_pre_step_observation():
    env = HopperStandEnv(angle_weight=2.0, velocity_weight=0.3, ctrl_weight=0.05)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        action = rng.uniform(-2.0, 2.0, size=3)  # out of range on purpose: the reward sees it clipped
        clipped = np.clip(action, -1.0, 1.0)
        expected = -(2.0 * np.sum(obs[1:5] ** 2) + 0.3 * np.sum(obs[5:11] ** 2)) - 0.05 * np.linalg.norm(clipped)
        next_obs, reward, _, _, info = env.step(action)
        assert reward == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert reward == info["reward_angles"] + info["reward_velocities"] + info["reward_ctrl"]
        assert max(info["reward_angles"], info["reward_velocities"], info["reward_ctrl"]) <= 0.0
        obs = next_obs


def test_reset_options_start_exactly_there():
    env = HopperStandEnv()
    qpos = np.array([0.3, 1.1, 0.05, -0.2, 0.1, 0.02])
    qvel = np.array([0.5, -0.1, 0.3, 20.0, -0.4, 0.05])  # 20 rad/s: observed clipped to 10
    obs, info = env.reset(seed=0, options={"qpos": qpos, "qvel": qvel})
    np.testing.assert_array_equal(env.data.qpos, qpos)
    np.testing.assert_array_equal(env.data.qvel, qvel)
    np.testing.assert_array_equal(obs, np.concatenate([qpos[1:], np.clip(qvel, -10, 10)]))
    assert info["x_position"] == qpos[0]
    # only qpos: qvel keeps its noisy default, and the random stream ignores the options
    _, _ = env.reset(seed=5, options={"qpos": qpos})
    np.testing.assert_array_equal(env.data.qpos, qpos)
    qvel_partial = env.data.qvel.copy()
    env.reset(seed=5)
    np.testing.assert_array_equal(env.data.qvel, qvel_partial)
    assert not np.array_equal(env.data.qpos, qpos)


@pytest.mark.parametrize(
    "options",
    [{"qpos": np.zeros(5)}, {"qvel": [0.0, 0.0, np.nan, 0.0, 0.0, 0.0]}, {"qpos": np.zeros((2, 6))}, {"state": 1}],
)
def test_reset_rejects_bad_options(options):
    env = HopperStandEnv()
    with pytest.raises(ValueError, match="qpos|qvel|state"):
        env.reset(options=options)


def test_non_finite_action_raises():
    env = HopperStandEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([0.0, np.nan, 0.0]))


def test_divergence_terminates_with_finite_output(in_tmp_dir):
    env = _make()
    obs_before, _ = env.reset(seed=0, options={"qvel": DIVERGING_QVEL})
    obs, reward, terminated, truncated, info = env.step(np.zeros(3))
    assert terminated and not truncated and info["diverged"]
    assert np.all(np.isfinite(obs)) and np.isfinite(reward) and reward <= 0.0
    np.testing.assert_array_equal(obs, obs_before)


# --- the vectorized env ------------------------------------------------------------------
def _assert_infos_equal(infos_a: list[dict], infos_b: list[dict]) -> None:
    for a, b in zip(infos_a, infos_b, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            if key == "terminal_observation":
                np.testing.assert_array_equal(a[key], b[key])
            else:
                assert a[key] == b[key], (key, a[key], b[key])


def _compare_with_dummy(n_envs: int, horizon: int, n_steps: int, seed: int, diverge: tuple[int, ...] = ()) -> int:
    """Step both vec envs with the same random actions; return how many episodes ended."""
    dummy = DummyVecEnv([lambda: _make(max_episode_steps=horizon) for _ in range(n_envs)])
    vec = HopperStandVecEnv(n_envs, max_episode_steps=horizon)
    options = [{"qvel": DIVERGING_QVEL} if i in diverge else {} for i in range(n_envs)]
    for venv in (dummy, vec):
        venv.seed(seed)
        venv.set_options(options)
    np.testing.assert_array_equal(dummy.reset(), vec.reset())
    assert dummy.reset_infos == vec.reset_infos
    rng = np.random.default_rng(seed)
    n_done = 0
    for _ in range(n_steps):
        actions = rng.uniform(-1.2, 1.2, size=(n_envs, 3)).astype(np.float32)
        obs_d, rew_d, done_d, infos_d = dummy.step(actions)
        obs_v, rew_v, done_v, infos_v = vec.step(actions)
        np.testing.assert_array_equal(obs_d, obs_v)
        np.testing.assert_array_equal(rew_d, rew_v.astype(np.float32))  # DummyVecEnv stores float32
        assert rew_v.dtype == np.float64
        np.testing.assert_array_equal(
            rew_v, [i["reward_angles"] + i["reward_velocities"] + i["reward_ctrl"] for i in infos_d]
        )
        np.testing.assert_array_equal(done_d, done_v)
        _assert_infos_equal(infos_d, infos_v)
        assert dummy.reset_infos == vec.reset_infos
        n_done += int(done_v.sum())
    dummy.close()
    vec.close()
    return n_done


def test_vec_env_equals_dummy_vec_env_over_auto_resets():
    n_done = _compare_with_dummy(n_envs=5, horizon=50, n_steps=130, seed=11)
    assert n_done == 5 * 2  # every env truncated twice: episodes of 50 steps


def test_vec_env_equals_dummy_vec_env_on_divergence(in_tmp_dir):
    n_done = _compare_with_dummy(n_envs=3, horizon=20, n_steps=25, seed=2, diverge=(1,))
    assert n_done == 1 + 3  # env 1 diverges on its first step, then all are truncated at 20 steps


@pytest.mark.slow
def test_vec_env_equals_dummy_vec_env_full_horizon():
    _compare_with_dummy(n_envs=16, horizon=1000, n_steps=2100, seed=0)


def test_vec_seed_matches_single_env_seeds():
    vec = HopperStandVecEnv(3)
    vec.seed(40)
    obs = vec.reset()
    for i in range(3):
        single, _ = HopperStandEnv().reset(seed=40 + i)
        np.testing.assert_array_equal(obs[i], single)


def test_vec_env_attributes_and_methods():
    vec = HopperStandVecEnv(4, n_threads=2)
    assert vec.get_attr("frame_skip") == [4] * 4
    assert vec.get_attr("ctrl_weight", indices=[1, 2]) == [1e-3, 1e-3]
    assert vec.env_is_wrapped(gym.wrappers.TimeLimit) == [False] * 4
    vec.set_attr("ctrl_weight", 0.0)
    assert vec.get_attr("ctrl_weight") == [0.0] * 4
    with pytest.raises(ValueError, match="all envs"):
        vec.set_attr("ctrl_weight", 1.0, indices=[0])
    vec.seed(0)
    obs = vec.reset()
    states = vec.env_method("state_vector")
    np.testing.assert_array_equal(np.array(states)[:, 1:6], obs[:, :5])
    _, _, _, infos = vec.step(np.ones((4, 3)))
    assert all(info["reward_ctrl"] == 0.0 for info in infos)


def test_vec_env_rejects_bad_input():
    with pytest.raises(ValueError, match="n_envs"):
        HopperStandVecEnv(0)
    vec = HopperStandVecEnv(2)
    with pytest.raises(gym.error.ResetNeeded):
        vec.step(np.zeros((2, 3)))
    vec.reset()
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="finite"):
        vec.step(np.full((2, 3), np.inf))
