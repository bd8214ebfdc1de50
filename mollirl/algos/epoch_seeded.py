"""A mixin for SB3 on-policy algorithms: one rollout = one epoch of whole episodes,
counter-based randomness per epoch, sigma schedules, and a NaN guard."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from mollirl.algos.reinforce import NonFiniteError, derive_seed
from mollirl.sigma import SigmaSchedule


class EpochSeededMixin:
    """Put before an SB3 ``OnPolicyAlgorithm`` subclass (``class X(EpochSeededMixin, PPO)``).

    * a ``scheduled`` sigma is set at the start of every rollout;
    * every rollout starts fresh episodes (``n_steps`` is the episode horizon), and
      epoch k's randomness (env resets, action noise, minibatch order) is seeded
      from ``(seed, k)``; SB3 draws these from the global torch/numpy generators,
      which are therefore reseeded at each epoch start. A resumed run thus repeats
      an uninterrupted one exactly;
    * a non-finite loss or parameter after an update raises
      :class:`~mollirl.algos.reinforce.NonFiniteError`.

    :param sigma_schedule: schedule for a ``scheduled`` sigma, or ``None``.
    :param n_updates_planned: number of rollouts the schedule spans.
    """

    def __init__(self, *args: Any, sigma_schedule: SigmaSchedule | None = None, n_updates_planned: int = 1,
                 **kwargs: Any) -> None:
        self.sigma_schedule = sigma_schedule
        self.n_updates_planned = int(n_updates_planned)
        super().__init__(*args, **kwargs)
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)

    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer,
                         n_rollout_steps: int) -> bool:
        epoch = self.num_timesteps // (n_rollout_steps * env.num_envs)
        if self.sigma_schedule is not None:
            self.policy.set_sigma(self.sigma_schedule(epoch, self.n_updates_planned))
        th.manual_seed(derive_seed(self.seed, epoch, 2))
        np.random.seed(derive_seed(self.seed, epoch, 3))
        env.seed(derive_seed(self.seed, epoch, 0))
        self._last_obs = env.reset()
        self._last_episode_starts = np.ones((env.num_envs,), dtype=bool)
        return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)

    def train(self) -> None:
        super().train()
        values = [self.logger.name_to_value.get(k) for k in ("train/loss", "train/policy_objective", "train/value_loss")]
        finite_params = all(bool(th.isfinite(p).all()) for p in self.policy.parameters())
        if not finite_params or any(v is not None and not np.isfinite(v) for v in values):
            raise NonFiniteError(f"non-finite loss ({values}) or parameters after update {self._n_updates}")
