"""The base of callbacks that act at epoch boundaries only."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback


class EpochCallback(BaseCallback):
    """An SB3 callback that acts only at epoch boundaries (``_on_rollout_start``, ``_on_rollout_end``,
    ``_on_training_start``/``_end``), never on a step.

    The algorithm contract (:mod:`mollirl.common.algorithm`) calls no callback's ``on_step``
    when every callback of a run is one of these, so a rollout step costs no callback call;
    a callback that must see steps subclasses SB3's ``BaseCallback`` as usual.
    """

    def _on_step(self) -> bool:
        return True
