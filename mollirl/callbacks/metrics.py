"""The per-epoch metrics every mollirl run records (J_det, J_sigma, sigma, ...)."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

from mollirl.evaluation import evaluate_deterministic

METRIC_COLUMNS = ("epoch", "timesteps", "J_det", "J_sigma", "ep_return_mean", "sigma", "grad_norm",
                  "J_det_undiscounted", "final_state_norm")


class EpochMetricsCallback(BaseCallback):
    """Records the paper's quantities once per epoch (one rollout + update) under ``train/``.

    * ``J_det``: discounted return of the deterministic (mean) policy theta_k from
      the env's evaluation start (evaluated at the start of epoch k);
    * ``J_sigma``: mean discounted return of the stochastic batch at theta_k;
    * ``ep_return_mean``: mean undiscounted return of that batch;
    * ``sigma``: mean exploration standard deviation used;
    * ``epoch``, ``timesteps``.

    At the end of training one more row holds ``J_det`` of the final policy.

    :param eval_env: a VecEnv (usually 1 copy) built with the env's noise-free evaluation kwargs.
    :param horizon: evaluation episode length.
    :param gamma: discount.
    :param steps_per_epoch: env steps per epoch (batch episodes x horizon).
    :param stop_flag: when raised (an interrupted run), no final row is written:
        the resumed run writes it.
    """

    def __init__(self, eval_env, horizon: int, gamma: float, steps_per_epoch: int, stop_flag=None,
                 verbose: int = 0) -> None:
        super().__init__(verbose)
        self.stop_flag = stop_flag
        self.eval_env = eval_env
        self.horizon = horizon
        self.gamma = gamma
        self.steps_per_epoch = steps_per_epoch
        #: set at the end of training: ``{"final": <evaluation of the final policy>, "sigma": ...}``
        self.final: dict[str, Any] = {}

    def _evaluate(self) -> dict[str, Any]:
        ev = evaluate_deterministic(self.model.policy, self.eval_env, self.horizon, self.gamma)
        return {"J_det": float(ev.discounted.mean()), "J_det_undiscounted": float(ev.undiscounted.mean()),
                "final_state": ev.final_state[0], "final_state_norm": float(np.linalg.norm(ev.final_state[0])),
                "diverged": bool(ev.diverged.any())}

    def _sigma(self) -> float:
        # an algorithm exploring in parameter space (ARS) reports its own sigma
        sigma = getattr(self.model, "exploration_sigma", None)
        if sigma is None:
            sigma = getattr(self.model.policy, "sigma", None)
        return float(np.mean(sigma)) if sigma is not None else math.nan

    def _record(self, epoch: int, timesteps: int, ev: dict[str, Any], sigma: float, **batch: float) -> None:
        """Record one metrics row under ``train/``: the deterministic evaluation ``ev`` plus batch statistics."""
        row = {"epoch": epoch, "timesteps": timesteps, "J_det": ev["J_det"],
               "J_det_undiscounted": ev["J_det_undiscounted"], "final_state_norm": ev["final_state_norm"],
               "sigma": sigma, **batch}
        for key, value in row.items():
            self.logger.record(f"train/{key}", value)

    def _on_rollout_start(self) -> None:
        self._epoch = self.model.num_timesteps // self.steps_per_epoch
        self._eval = self._evaluate()
        n = self.training_env.num_envs
        self._disc = np.zeros(n)
        self._und = np.zeros(n)
        self._pow = np.ones(n)
        self._returns: list[float] = []
        self._undiscounted: list[float] = []
        self._sigma_used = self._sigma()

    def _on_step(self) -> bool:
        rewards = np.asarray(self.locals["rewards"], dtype=np.float64)
        dones = np.asarray(self.locals["dones"], dtype=bool)
        self._disc += self._pow * rewards
        self._und += rewards
        self._pow *= self.gamma
        if dones.any():
            self._returns.extend(self._disc[dones].tolist())
            self._undiscounted.extend(self._und[dones].tolist())
            self._disc[dones] = 0.0
            self._und[dones] = 0.0
            self._pow[dones] = 1.0
        return True

    def _on_rollout_end(self) -> None:
        self._record(
            self._epoch, self._epoch * self.steps_per_epoch, self._eval, self._sigma_used,
            J_sigma=float(np.mean(self._returns)) if self._returns else math.nan,
            ep_return_mean=float(np.mean(self._undiscounted)) if self._undiscounted else math.nan,
        )

    def _on_training_end(self) -> None:
        ev = self._evaluate()
        self.final.update(final=ev, sigma=self._sigma())
        if self.stop_flag is not None and self.stop_flag.raised is not None:
            return  # interrupted: the resumed run writes the remaining rows
        epoch = self.model.num_timesteps // self.steps_per_epoch
        self._record(epoch, self.model.num_timesteps, ev, self.final["sigma"])
        self.logger.dump(step=self.model.num_timesteps)


class MetricsCSVWriter(KVWriter):
    """SB3 logger output writing ``metrics.csv``: one row per dump that carries ``train/epoch``.

    Columns are fixed (:data:`METRIC_COLUMNS`); a value not recorded in a dump is
    left empty. On resume the file is cut to the rows before the resumed epoch
    and appended to, so an interrupted-and-resumed run ends with the same file
    as an uninterrupted one.

    :param path: the CSV file.
    :param resume_epoch: keep only rows with ``epoch < resume_epoch`` (None: start a new file).
    """

    def __init__(self, path: str | Path, resume_epoch: int | None = None) -> None:
        self.path = Path(path)
        rows: list[list[str]] = []
        if resume_epoch is not None and self.path.exists():
            with self.path.open(newline="") as fh:
                reader = csv.reader(fh)
                next(reader, None)
                rows = [r for r in reader if r and int(r[0]) < resume_epoch]
        self._fh = self.path.open("w", newline="")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(METRIC_COLUMNS)
        self._writer.writerows(rows)
        self._fh.flush()

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        if "train/epoch" not in key_values:
            return
        row = []
        for col in METRIC_COLUMNS:
            value = key_values.get(f"train/{col}")
            if value is None or (isinstance(value, float) and math.isnan(value)):
                row.append("")
            elif col in ("epoch", "timesteps"):
                row.append(str(int(value)))
            else:
                row.append(repr(float(value)))
        self._writer.writerow(row)
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """Read a ``metrics.csv`` back as a list of dicts (empty cells become NaN)."""
    with Path(path).open(newline="") as fh:
        return [{k: (float(v) if v != "" else math.nan) for k, v in row.items()} for row in csv.DictReader(fh)]
