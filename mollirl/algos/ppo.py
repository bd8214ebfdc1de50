"""SB3's PPO and sb3-contrib's TRPO driven by mollirl's Gaussian policies and the rollout core.

An epoch is the contract's (:class:`~mollirl.common.algorithm.EpochAlgorithm`):
``n_envs`` whole episodes of at most ``horizon`` steps (the J_det row beside them)
in one batched rollout; then the values and log-probabilities of the whole batch
are computed in one pass, SB3's ``RolloutBuffer`` is filled and its GAE computed
exactly as SB3's ``collect_rollouts`` would (an episode that reaches the horizon
is bootstrapped with ``gamma * V(final observation)``, SB3's timeout handling; one
that terminated, e.g. diverged, is not), and SB3's own ``train()`` runs. Steps
after an episode's early end are not samples: :class:`MaskedRolloutBuffer` leaves
them out of every minibatch.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import Any, ClassVar

import numpy as np
import torch as th
from sb3_contrib import TRPO
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.type_aliases import RolloutBufferSamples

from mollirl.common.algorithm import EpochAlgorithm, EpochBatch
from mollirl.policies import GaussianPolicy


class MaskedRolloutBuffer(RolloutBuffer):
    """SB3's ``RolloutBuffer`` whose ``get`` yields only the steps marked valid.

    ``valid`` is ``(buffer_size, n_envs)`` (all True by default: then ``get`` is SB3's,
    the same random permutation included).
    """

    def reset(self) -> None:
        super().reset()
        self.valid = np.ones((self.buffer_size, self.n_envs), dtype=bool)

    def get(self, batch_size: int | None = None) -> Generator[RolloutBufferSamples, None, None]:
        assert self.full, ""
        flat_valid = np.flatnonzero(self.valid.swapaxes(0, 1).reshape(-1))  # swap_and_flatten's order
        indices = flat_valid[np.random.permutation(flat_valid.size)]
        if not self.generator_ready:
            for tensor in ("observations", "actions", "values", "log_probs", "advantages", "returns"):
                self.__dict__[tensor] = self.swap_and_flatten(self.__dict__[tensor])
            self.generator_ready = True
        if batch_size is None:
            batch_size = indices.size
        start = 0
        while start < indices.size:
            yield self._get_samples(indices[start: start + batch_size])
            start += batch_size


class ActorCriticEpochs(EpochAlgorithm):
    """The contract's epoch for SB3 actor-critic algorithms (PPO, TRPO): fill the buffer, then SB3's ``train``."""

    #: each member holds SB3's ``RolloutBuffer`` (values, log-probabilities, advantages) beside the core's buffers
    critic_buffer = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rollout_buffer_class", MaskedRolloutBuffer)
        with warnings.catch_warnings():
            # SB3's multi-line mini-batch UserWarning: the resolver says it in one line with what to change
            # (mollirl.algos._minibatch_notes); at load the arguments are SB3's defaults, replaced right after
            warnings.filterwarnings("ignore", message="You have specified a mini-batch size")
            super().__init__(*args, **kwargs)

    def update(self, batch: EpochBatch) -> None:
        """SB3's own ``train()`` (PPO's, TRPO's) on the epoch's ``RolloutBuffer``: per member, as SB3 wrote it
        (minibatch order from the global generators, which the contract sets from the member's ``(seed, k)``;
        Adam's or the conjugate-gradient step's state is the member's own), so not stacked with other members."""
        self.fill_rollout_buffer(batch)
        self.policy.set_training_mode(True)
        super(EpochAlgorithm, self).train()  # the SB3 algorithm's (the contract's train() calls this update)

    def fill_rollout_buffer(self, batch: EpochBatch) -> None:
        """SB3's ``RolloutBuffer`` from the epoch's buffers: values and log-probs in one pass, timeout
        bootstrap, GAE."""
        buf, result, n = batch.result.buffers, batch.result, batch.n_train
        rb = self.rollout_buffer
        rb.reset()
        T = buf.rewards.shape[0]
        rb.observations[:] = buf.obs.reshape(rb.observations.shape)
        rb.actions[:] = buf.actions.reshape(rb.actions.shape)
        rewards = buf.rewards.copy()
        self.policy.set_training_mode(False)
        with th.no_grad():
            obs = th.as_tensor(rb.observations.reshape(T * n, -1))
            # the actions as SB3's train() will see them (its samples are cast to float32)
            actions = th.as_tensor(rb.actions.reshape(T * n, -1).astype(np.float32))
            values, log_prob, _ = self.policy.evaluate_actions(obs, actions)
            truncated = np.flatnonzero(result.truncated[:n])
            if truncated.size:  # SB3's timeout handling: bootstrap the last reward of a truncated episode
                final = th.as_tensor(result.final_obs[truncated])
                terminal_values = self.policy.predict_values(final).reshape(-1).cpu().numpy()
                last = result.lengths[truncated] - 1
                rewards[last, truncated] += self.gamma * terminal_values
        rb.rewards[:] = rewards
        rb.values[:] = values.reshape(T, n).cpu().numpy()
        rb.log_probs[:] = log_prob.reshape(T, n).cpu().numpy()
        starts = ~buf.alive  # steps after an episode's end start 'episodes' of their own: no value leaks back
        starts[0] = True
        rb.episode_starts[:] = starts
        rb.valid[:] = buf.alive
        rb.pos, rb.full = rb.buffer_size, True
        rb.compute_returns_and_advantage(last_values=th.zeros(n), dones=np.ones(n, dtype=bool))


class MollifiedPPO(ActorCriticEpochs, PPO):
    """SB3 ``PPO`` on the contract (epochs of whole episodes, J_det row, per-epoch seeding,
    sigma schedule, NaN guard; see :mod:`mollirl.common.algorithm`).

    :param horizon: steps per episode (SB3's ``n_steps`` is set to it).
    :param kwargs: the contract's (``planned_epochs``, ``sigma_schedule``, ``eval_options``,
        ``rollout_env``) and SB3 ``PPO``'s.
    """

    policy_aliases: ClassVar[dict[str, type]] = {**PPO.policy_aliases, "GaussianPolicy": GaussianPolicy}

    def __init__(self, policy: Any, env: Any, horizon: int = 1000, **kwargs: Any) -> None:
        kwargs.pop("n_steps", None)
        super().__init__(policy, env, horizon=horizon, n_steps=horizon, **kwargs)


class MollifiedTRPO(ActorCriticEpochs, TRPO):
    """sb3-contrib ``TRPO`` with the same conventions as :class:`MollifiedPPO`.

    TRPO's natural-gradient step acts on every policy parameter whose name does not
    contain ``value``: the mean network and a learnable ``log_std``; a fixed or
    scheduled sigma is a buffer and stays out of it.
    """

    policy_aliases: ClassVar[dict[str, type]] = {**TRPO.policy_aliases, "GaussianPolicy": GaussianPolicy}

    def __init__(self, policy: Any, env: Any, horizon: int = 1000, **kwargs: Any) -> None:
        kwargs.pop("n_steps", None)
        super().__init__(policy, env, horizon=horizon, n_steps=horizon, **kwargs)
