"""A third-party plugin that breaks its contracts, as the reliability suite needs one (loaded by file).

* ``broken-step``: a plain 2-D env whose ``step`` raises ``RuntimeError`` at its third step
  (``raise_at``), or ``reset`` when ``raise_in_reset``;
* ``broken-obs``: its observation has 3 numbers where its space says 2;
* ``broken-reward``: its reward is an array of 2 numbers;
* callback ``raise-at:epoch=N``: raises ``RuntimeError`` at the start of epoch N.
"""

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from mollirl.envs import EnvPlugin
from mollirl.registry import register


class BrokenEnv(gym.Env):
    """``x' = x + 0.05 a`` on two coordinates, reward ``-|x|^2``; broken on purpose (see the module docstring)."""

    metadata = {"render_modes": []}
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float64)

    def __init__(self, fault: str = "step", raise_at: int = 3, raise_in_reset: bool = False):
        self.fault, self.raise_at, self.raise_in_reset = fault, raise_at, raise_in_reset
        self.x = np.zeros(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self.raise_in_reset:
            raise RuntimeError("the plugin's reset failed")
        self.x = np.array([0.5, -0.5])
        self.t = 0
        return self.x.copy(), {}

    def step(self, action):
        self.t += 1
        if self.fault == "step" and self.t >= self.raise_at:
            raise RuntimeError("the plugin's solver failed")
        self.x = self.x + 0.05 * np.clip(np.asarray(action, dtype=np.float64), -1, 1)
        reward = -float(self.x @ self.x)
        obs = self.x.copy()
        if self.fault == "obs":
            obs = np.append(obs, 0.0)
        if self.fault == "reward":
            return obs, np.array([reward, reward]), False, False, {}
        return obs, reward, False, False, {}


for fault in ("step", "obs", "reward"):
    gym_id = f"broken/{fault}-v0"
    if gym_id not in gym.registry:
        gym.register(gym_id, entry_point=BrokenEnv, kwargs={"fault": fault}, max_episode_steps=50)
    register("envs", f"broken-{fault}", EnvPlugin(gym_id=gym_id), help="an env that breaks its contract",
             contract=False)


class RaiseAtCallback(BaseCallback):
    """Raises ``RuntimeError`` at the start of epoch ``epoch`` (after that epoch's checkpoint, if any)."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = int(epoch)

    def _on_rollout_start(self) -> None:
        if int(self.model.epoch) == self.epoch:
            raise RuntimeError(f"the plugin's callback failed at epoch {self.epoch}")

    def _on_step(self) -> bool:
        return True


register("callbacks", "raise-at", lambda context, epoch=1: RaiseAtCallback(epoch),
         help="raise RuntimeError at the start of epoch N (tests)")
