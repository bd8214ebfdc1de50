"""Gymnasium registration of ``mollirl/HopperStand-v0`` (no MuJoCo import: the entry point is a string)."""

from __future__ import annotations

import gymnasium

HOPPER_STAND_ID = "mollirl/HopperStand-v0"
HOPPER_STAND_MAX_EPISODE_STEPS = 1000


def register_hopper() -> None:
    """Register ``mollirl/HopperStand-v0`` (TimeLimit 1000) unless it is already registered."""
    if HOPPER_STAND_ID in gymnasium.registry:
        return
    gymnasium.register(
        id=HOPPER_STAND_ID,
        entry_point="mollirl.envs.hopper_stand:HopperStandEnv",
        max_episode_steps=HOPPER_STAND_MAX_EPISODE_STEPS,
    )
