"""SB3's PPO driven by mollirl's Gaussian policies, with an optional sigma schedule."""

from __future__ import annotations

from typing import Any, ClassVar

from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from mollirl.policies import GaussianPolicy
from mollirl.sigma import SigmaSchedule


class MollifiedPPO(PPO):
    """SB3 ``PPO`` unchanged except: ``GaussianPolicy`` is the default policy alias and a
    ``scheduled`` sigma is set at the start of every rollout (one rollout = one "epoch").

    :param sigma_schedule: schedule for a ``scheduled`` sigma, or ``None``.
    :param n_updates_planned: number of rollouts the schedule spans.
    :param kwargs: everything else is SB3 ``PPO``'s.
    """

    policy_aliases: ClassVar[dict[str, type]] = {**PPO.policy_aliases, "GaussianPolicy": GaussianPolicy}

    def __init__(self, policy: Any, env: Any, *, sigma_schedule: SigmaSchedule | None = None,
                 n_updates_planned: int = 1, **kwargs: Any) -> None:
        self.sigma_schedule = sigma_schedule
        self.n_updates_planned = int(n_updates_planned)
        super().__init__(policy, env, **kwargs)

    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer,
                         n_rollout_steps: int) -> bool:
        if self.sigma_schedule is not None:
            epoch = self.num_timesteps // (n_rollout_steps * env.num_envs)
            self.policy.set_sigma(self.sigma_schedule(epoch, self.n_updates_planned))
        return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)
