"""The base of callbacks that act at epoch boundaries only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int if it is an integer >= ``minimum`` (not a bool), else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class EpisodeSnapshotCallback(EpochCallback):
    """An epoch callback that rolls the run's policy itself every ``every`` epochs (landscape
    snapshots, video clips): the run folder, the env and how one of its episodes is rolled.

    :param run_dir: the run folder (its files go in a subfolder).
    :param env: the env's registered name; ``env_kwargs`` its keyword arguments.
    :param steps_per_epoch: env steps per epoch (the TensorBoard x of epoch k is ``k x steps_per_epoch``).
    :param horizon: steps per episode; ``gamma`` the discount; ``eval_options`` the evaluation start.
    :param every: epochs between snapshots (>= 1).
    """

    def __init__(self, run_dir: str | Path, env: str, *, steps_per_epoch: int, horizon: int, gamma: float,
                 env_kwargs: dict[str, Any] | None = None, eval_options: dict[str, Any] | None = None,
                 every: int = 10, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.run_dir = Path(run_dir)
        self.env = env
        self.steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
        self.horizon = check_int("horizon", horizon, 1)
        self.gamma = float(gamma)
        self.env_kwargs = dict(env_kwargs or {})
        self.eval_options = None if eval_options is None else dict(eval_options)
        self.every = check_int("every", every, 1)
