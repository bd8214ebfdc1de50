"""Training-stability logging: how much the deterministic return J(theta_k) moves between epochs."""

from __future__ import annotations

import numpy as np
from mollirl.common.callbacks import EpochCallback


class StabilityCallback(EpochCallback):
    """Logs ``stability/J_det_std`` (std of J_det over the last ``window`` epochs) and
    ``stability/J_det_max_drop`` (largest epoch-to-epoch decrease in the window).

    Reads ``train/J_det`` from the run's :class:`EpochMetricsCallback` (which must
    come earlier in the callback list, as the training driver arranges).

    :param window: number of recent epochs (>= 2).
    """

    def __init__(self, window: int = 10) -> None:
        super().__init__()
        if window < 2:
            raise ValueError(f"window must be >= 2, got {window!r}")
        self.window = window
        self.values: list[float] = []

    def _on_rollout_end(self) -> None:
        value = self.logger.name_to_value.get("train/J_det")
        if value is None or not np.isfinite(value):
            return
        self.values.append(float(value))
        recent = np.asarray(self.values[-self.window:])
        if len(recent) >= 2:
            self.logger.record("stability/J_det_std", float(recent.std()))
            self.logger.record("stability/J_det_max_drop", float(max(0.0, -np.diff(recent).min())))
