"""The env contract, for every registered env (the built-ins and the test plugin's ``test-point``).

Each passes Gymnasium's ``check_env`` with its default arguments (the render check
included: hopper-stand on this headless machine too) and SB3's; repeats exactly under a
seed; and its batched VecEnv (``mollirl.envs.make_vec_env``) equals a ``DummyVecEnv`` of
``gym.make`` copies step by step, across auto-resets.
"""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv
from suite import CONTRACT_ENVS

from mollirl.common.env_util import get_env_plugin, make_vec_env


def _gym_id(name: str) -> str:
    return get_env_plugin(name).gym_id


def _actions(env_space, rng, n=None):
    low, high = env_space.low, env_space.high
    shape = env_space.shape if n is None else (n, *env_space.shape)
    centre, half = (low + high) / 2, (high - low) / 2
    return centre + 1.2 * half * rng.uniform(-1, 1, size=shape)  # some outside the box: the env saturates


@pytest.mark.parametrize("name", CONTRACT_ENVS)
def test_gymnasium_and_sb3_check_env_with_default_arguments(name):
    with warnings.catch_warnings():
        # SB3 and Gymnasium advise [-1, 1] float32 Boxes; the paper's envs keep their physical float64 units
        warnings.simplefilter("ignore", UserWarning)
        gym_check_env(gym.make(_gym_id(name)).unwrapped)
        sb3_check_env(gym.make(_gym_id(name)), warn=True)


@pytest.mark.parametrize("name", CONTRACT_ENVS)
def test_same_seed_same_trajectory(name):
    def rollout(seed):
        env = gym.make(_gym_id(name))
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        out = [obs]
        for _ in range(40):
            obs, reward, terminated, truncated, _ = env.step(_actions(env.action_space, rng))
            out.append(np.append(obs, reward))
            if terminated or truncated:
                obs, _ = env.reset()
        env.close()
        return np.concatenate(out)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))


@pytest.mark.parametrize("name", CONTRACT_ENVS)
def test_batched_equals_unbatched(name):
    n, horizon = 3, 15
    ours = make_vec_env(name, n, max_episode_steps=horizon)
    ref = DummyVecEnv([lambda: gym.make(_gym_id(name), max_episode_steps=horizon) for _ in range(n)])
    ours.seed(7)
    ref.seed(7)
    np.testing.assert_array_equal(ours.reset(), ref.reset())
    rng = np.random.default_rng(0)
    for _ in range(2 * horizon + 3):  # crosses two auto-resets
        actions = _actions(ref.action_space, rng, n)
        o1, r1, d1, i1 = ours.step(actions)
        o2, r2, d2, i2 = ref.step(actions)
        np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(np.asarray(r1).astype(np.float32), r2)  # DummyVecEnv stores float32
        np.testing.assert_array_equal(d1, d2)
        for a, b in zip(i1, i2):
            assert a.get("TimeLimit.truncated", False) == b.get("TimeLimit.truncated", False)
            if "terminal_observation" in b:
                np.testing.assert_array_equal(a["terminal_observation"], b["terminal_observation"])
    ours.close()
    ref.close()
