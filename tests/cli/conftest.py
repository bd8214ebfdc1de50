import textwrap

import pytest

TINY = ["--horizon", "20", "--batch-episodes", "4", "--epochs", "3", "--no-progress", "--checkpoint-every", "1"]


@pytest.fixture
def tiny():
    return list(TINY)


@pytest.fixture
def plugin_file(tmp_path):
    """A local plugin: a NaN-reward env, a callback that signals SIGINT at a given epoch."""
    path = tmp_path / "myplugin.py"
    path.write_text(textwrap.dedent('''
        import os, signal
        import gymnasium as gym
        import numpy as np
        from stable_baselines3.common.callbacks import BaseCallback
        from mollirl.registry import register
        from mollirl.envs import EnvPlugin

        class NanEnv(gym.Env):
            observation_space = gym.spaces.Box(-1, 1, (2,), np.float64)
            action_space = gym.spaces.Box(-1, 1, (2,), np.float64)
            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return np.zeros(2), {}
            def step(self, action):
                return np.zeros(2), float("nan"), False, False, {}

        if "test/NanEnv-v0" not in gym.registry:
            gym.register("test/NanEnv-v0", entry_point=NanEnv, max_episode_steps=1000)
        register("envs", "nan-env", EnvPlugin(gym_id="test/NanEnv-v0", preset={"policy_init": "zero"}),
                 help="test env with NaN rewards", overwrite=True)

        class SignalAt(BaseCallback):
            def __init__(self, epoch, steps):
                super().__init__()
                self.epoch, self.steps = epoch, steps
            def _on_step(self):
                first_run = self.model._num_timesteps_at_start == 0  # a resumed run is not signalled again
                if first_run and self.model.num_timesteps == self.epoch * self.steps + 2 * self.training_env.num_envs:
                    os.kill(os.getpid(), signal.SIGINT)
                return True

        register("callbacks", "signal-at",
                 lambda ctx, epoch=2: SignalAt(epoch, ctx.config.steps_per_epoch), overwrite=True)
    '''))
    return path
