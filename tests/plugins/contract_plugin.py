"""A third-party plugin as a test suite sees one: registered by file, through ``mollirl.registry.load_plugin``.

* ``test-point``: a 1-D point mass (obs [x, v], one force), a plain Gymnasium env with no
  batched form (so it runs on SB3's ``DummyVecEnv`` and the rollout core's VecEnv backend),
  start noise from the reset seed, no evaluation start, and a natural termination
  (``|x| > 3``) that is not a divergence. Every contract suite runs over it.
* ``test-nan``: the same env whose reward turns NaN at step 5 (``nan_at``), or inf (``inf:true``);
  ``test-nan-above``: NaN on a saturated action ``|a| >= 1`` (``nan_above``), which a large sigma reaches
  at once and a small one never. Neither is an env of the contract suites (their own tests use them).
* callbacks ``signal-at:epoch=N`` (SIGINT to this process two steps into epoch N of a fresh run)
  and ``kill-at:epoch=N`` (SIGKILL, the same moment: no handler, no clean-up).
"""

import os
import signal

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from mollirl.envs import EnvPlugin
from mollirl.registry import register

DT = 0.05  # s


class PointMassEnv(gym.Env):
    """``x_dot = v``, ``v_dot = clip(a, -1, 1)``; reward ``-(x^2 + 0.1 v^2 + 0.01 a^2)``; ends when ``|x| > 3``."""

    metadata = {"render_modes": []}
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)

    def __init__(self, nan_at: int | None = None, inf: bool = False, start_noise: float = 0.5,
                 nan_above: float | None = None):
        self.nan_at, self.inf, self.start_noise, self.nan_above = nan_at, inf, start_noise, nan_above
        self.state = np.zeros(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = np.array([1.0, 0.0]) + self.np_random.uniform(-self.start_noise, self.start_noise, 2)
        self.t = 0
        return self.state.copy(), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        x, v = self.state
        reward = -(x * x + 0.1 * v * v + 0.01 * a * a)
        self.state = np.array([x + DT * v, v + DT * a])
        self.t += 1
        if self.nan_at is not None and self.t >= self.nan_at:
            reward = float("inf") if self.inf else float("nan")
        if self.nan_above is not None and abs(a) >= self.nan_above:
            reward = float("nan")
        return self.state.copy(), float(reward), bool(abs(self.state[0]) > 3.0), False, {}


for env_id in ("test/PointMass-v0",):
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=PointMassEnv, max_episode_steps=1000)
if "test/PointMassNan-v0" not in gym.registry:
    gym.register("test/PointMassNan-v0", entry_point=PointMassEnv, max_episode_steps=1000, kwargs={"nan_at": 5})

register("envs", "test-point", EnvPlugin(gym_id="test/PointMass-v0",
                                         preset={"policy": "linear", "policy_init": "zero", "sigma": 0.3,
                                                 "step_size": 0.1}),
         help="test plugin: 1-D point mass on a DummyVecEnv", overwrite=True, contract=True)
register("envs", "test-nan", EnvPlugin(gym_id="test/PointMassNan-v0", preset={"policy_init": "zero"}),
         help="test plugin: a reward that turns NaN at step 5", overwrite=True, contract=False)
if "test/PointMassNanAbove-v0" not in gym.registry:
    gym.register("test/PointMassNanAbove-v0", entry_point=PointMassEnv, max_episode_steps=1000,
                 kwargs={"nan_above": 1.0})
register("envs", "test-nan-above", EnvPlugin(gym_id="test/PointMassNanAbove-v0",
                                             preset={"policy_init": "zero", "step_size": 0.1}),
         help="test plugin: the reward turns NaN on a saturated action |a| = 1 (a large sigma gets there)", overwrite=True,
         contract=False)


class _At(BaseCallback):
    """Send ``sig`` to this process two steps into epoch ``epoch`` of a fresh (not resumed) run."""

    def __init__(self, epoch: int, sig: int) -> None:
        super().__init__()
        self.epoch, self.sig, self.steps = epoch, sig, 0

    def _on_rollout_start(self) -> None:
        self.steps = 0

    def _on_step(self) -> bool:
        self.steps += 1
        if self.model._num_timesteps_at_start == 0 and self.model.epoch == self.epoch and self.steps == 2:
            os.kill(os.getpid(), self.sig)
        return True


register("callbacks", "signal-at", lambda ctx, epoch=2: _At(int(epoch), signal.SIGINT), overwrite=True)
register("callbacks", "kill-at", lambda ctx, epoch=2: _At(int(epoch), signal.SIGKILL), overwrite=True)
