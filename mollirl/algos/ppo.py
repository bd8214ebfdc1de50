"""SB3's PPO and sb3-contrib's TRPO driven by mollirl's Gaussian policies."""

from __future__ import annotations

from typing import ClassVar

from sb3_contrib import TRPO
from stable_baselines3 import PPO

from mollirl.algos.epoch_seeded import EpochSeededMixin
from mollirl.policies import GaussianPolicy


class MollifiedPPO(EpochSeededMixin, PPO):
    """SB3 ``PPO`` with :class:`~mollirl.algos.epoch_seeded.EpochSeededMixin`'s conventions
    (epochs of whole episodes, per-epoch seeding, sigma schedule, NaN guard).

    :param sigma_schedule: schedule for a ``scheduled`` sigma, or ``None``.
    :param n_updates_planned: number of rollouts the schedule spans.
    :param kwargs: everything else is SB3 ``PPO``'s.
    """

    policy_aliases: ClassVar[dict[str, type]] = {**PPO.policy_aliases, "GaussianPolicy": GaussianPolicy}


class MollifiedTRPO(EpochSeededMixin, TRPO):
    """sb3-contrib ``TRPO`` with the same conventions as :class:`MollifiedPPO`.

    TRPO's natural-gradient step acts on every policy parameter whose name does not
    contain ``value``: the mean network and a learnable ``log_std``; a fixed or
    scheduled sigma is a buffer and stays out of it.
    """

    policy_aliases: ClassVar[dict[str, type]] = {**TRPO.policy_aliases, "GaussianPolicy": GaussianPolicy}
