"""sb3-contrib's ARS (Augmented Random Search): mollification in *parameter* space.

Policy gradient smooths J by a Gaussian on each action; ARS estimates the
gradient of ``J_sigma(theta) = E_{eps ~ N(0, I)}[J(theta + sigma eps)]`` from
antithetic parameter perturbations: a Gaussian on theta itself. In mollirl,
``--sigma`` sets ARS's ``delta_std`` (the parameter-space sigma) and
``--step-size`` its ``learning_rate``; ``--batch-episodes`` is the number of
candidate episodes per update, ``2 n_delta`` (one episode per candidate).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import ARS
from stable_baselines3.common.callbacks import BaseCallback

from mollirl.algos.reinforce import NonFiniteError, derive_seed
from mollirl.policies import GaussianPolicy
from mollirl.sigma import SigmaSchedule


class ARSGaussianPolicy(GaussianPolicy):
    """:class:`~mollirl.policies.GaussianPolicy` as ARS needs it: no critic, no learning-rate
    schedule, ``parameters()`` = the mean network only (ARS perturbs exactly these).

    ARS acts with the mean (no action noise). The policy's stored ``sigma`` is set to
    ARS's parameter-space sigma so that tools reading ``policy.sigma`` (metrics,
    ``python -m mollirl.landscape --mode param-sigma``) see the exploration scale.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Box, **kwargs: Any) -> None:
        kwargs.pop("lr_schedule", None)
        kwargs["critic"] = False
        kwargs["sigma_mode"] = "fixed"
        super().__init__(observation_space, action_space, lambda _: 0.0, **kwargs)

    def load_from_vector(self, vector: np.ndarray | th.Tensor) -> None:
        """Set the mean parameters from ARS's flat weights, keeping float64 (SB3's casts to float32)."""
        self.set_mean_vector(np.asarray(th.as_tensor(vector).detach().cpu(), dtype=np.float64))


class MollifiedARS(ARS):
    """ARS with a batched candidate evaluation and mollirl's epoch conventions.

    * All ``2 n_delta`` candidates are evaluated in one batched rollout: the
      VecEnv has one copy per candidate (``n_envs = 2 n_delta``, one episode each,
      of ``horizon`` steps), and every candidate's mean action comes from one
      batched matmul. Callbacks see ``rewards`` and ``dones`` at every step, as in
      SB3's on-policy loop, so ``J_sigma`` is the mean discounted return of the
      perturbed candidates: the parameter-space mollified objective.
    * Epoch k draws its perturbations and env resets from ``(seed, k)``.
    * ``sigma_schedule`` (optional) sets ``delta_std`` per epoch.

    :param horizon: steps per candidate episode.
    :param sigma_schedule: per-epoch schedule of ``delta_std``, or None (constant ``delta_std``).
    :param n_updates_planned: epochs the schedule spans.
    :param kwargs: sb3-contrib ``ARS`` arguments (``n_delta`` must equal ``n_envs / 2``).
    """

    policy_aliases: ClassVar[dict[str, type]] = {**ARS.policy_aliases, "GaussianPolicy": ARSGaussianPolicy}

    def __init__(self, policy: Any, env: Any, *, horizon: int = 1000, sigma_schedule: SigmaSchedule | None = None,
                 n_updates_planned: int = 1, **kwargs: Any) -> None:
        self.horizon = int(horizon)
        self.sigma_schedule = sigma_schedule
        self.n_updates_planned = int(n_updates_planned)
        kwargs.setdefault("zero_policy", False)
        super().__init__(policy, env, **kwargs)
        if self.env is not None and self.env.num_envs != self.pop_size:
            raise ValueError(f"ARS evaluates one candidate per env copy: n_envs must be 2 n_delta = {self.pop_size}, "
                             f"got {self.env.num_envs}")
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        self.exploration_sigma = float(self.delta_std_schedule(1.0))

    def set_parameters(self, *args: Any, **kwargs: Any) -> None:
        super().set_parameters(*args, **kwargs)
        # ARS keeps its own copy of the weights: resync it with the loaded policy
        self.weights = th.nn.utils.parameters_to_vector(self.policy.parameters()).detach()

    @property
    def epoch(self) -> int:
        return self.num_timesteps // (self.pop_size * self.horizon)

    def _do_one_update(self, callback: BaseCallback, async_eval: Any) -> None:
        epoch = self.epoch
        if self.sigma_schedule is not None:
            value = self.sigma_schedule(epoch, self.n_updates_planned)
            self.delta_std_schedule = lambda _progress: value
        self.exploration_sigma = float(self.delta_std_schedule(self._current_progress_remaining))
        self.policy.set_sigma(self.exploration_sigma)
        th.manual_seed(derive_seed(self.seed, epoch, 2))  # ARS samples its deltas from torch's global generator
        super()._do_one_update(callback, async_eval)
        if not bool(th.isfinite(self.weights).all()):
            raise NonFiniteError(f"non-finite ARS weights after update {self._n_updates}")

    def evaluate_candidates(self, candidate_weights: th.Tensor, callback: BaseCallback, async_eval: Any) -> th.Tensor:
        """Undiscounted episode return of every candidate, all candidates in one batched rollout."""
        from mollirl.landscape.batched_policy import BatchedMean

        if async_eval is not None:
            return super().evaluate_candidates(candidate_weights, callback, async_eval)
        env = self.env
        n = env.num_envs
        points = candidate_weights.detach().cpu().numpy().astype(np.float64)
        mean = BatchedMean(self.policy.mean, points)
        env.seed(derive_seed(self.seed, self.epoch, 0))
        obs = env.reset()
        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        alive = np.ones(n, dtype=bool)
        self.ep_info_buffer = []
        callback.on_rollout_start()
        for _ in range(self.horizon):
            actions = mean(np.asarray(obs, dtype=np.float64))
            obs, rewards, dones, infos = env.step(actions)
            self.num_timesteps += n
            returns += np.where(alive, rewards, 0.0)
            lengths += alive
            callback.update_locals({"rewards": rewards, "dones": dones, "infos": infos})
            if not callback.on_step():
                self._stopped = True
                break
            alive &= ~dones
            if not alive.any():
                break
        self._mimic_monitor_wrapper(returns, lengths)
        callback.on_rollout_end()
        # float32 like sb3-contrib's own returns (its update multiplies them with float32 deltas)
        return th.as_tensor(returns + self.alive_bonus_offset * lengths, dtype=th.float32)

    def learn(self, total_timesteps: int, callback: Any = None, log_interval: int = 1, tb_log_name: str = "ARS",
              reset_num_timesteps: bool = True, async_eval: Any = None, progress_bar: bool = False) -> MollifiedARS:
        """sb3-contrib's ARS loop, which also stops when a callback returns False
        (mollirl's SIGINT/SIGTERM checkpointing relies on that)."""
        total_steps, callback = self._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name,
                                                  progress_bar)
        callback.on_training_start(locals(), globals())
        self._stopped = False
        while self.num_timesteps < total_steps and not self._stopped:
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            self._do_one_update(callback, async_eval)
            if log_interval is not None and self._n_updates % log_interval == 0 and not self._stopped:
                self.dump_logs()
        callback.on_training_end()
        return self
