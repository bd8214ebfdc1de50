"""The trial objective: S seeds of ordinary mollirl runs at the trial's sigma, aggregated.

Per seed s, :func:`mollirl.training.train` runs into
``<log-folder>/studies/<study>/trial_<n>/seed_<s>/`` (a normal run folder:
TensorBoard, ``metrics.csv``, ``config.yml``, ``model.zip``). From its J_det
sequence J(theta_0), ..., J(theta_E) (E = epochs; the last is the final policy):

* **return**: J(theta_E), the final deterministic return (maximized);
* **stability**: the standard deviation of J(theta_0..E) over epochs, the spread
  of the return sequence that the paper's Fig. 6 shows (minimized).

The trial's value is the mean over seeds; the standard deviation over seeds is
kept as the error bar. Intermediate values are reported once per epoch at step
``s * (E + 1) + k`` (the seeds run one after the other, so every trial reports
the same steps and pruners compare like with like).
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from mollirl.common.callbacks import EpochCallback

from mollirl.studies.spec import StudySpec


class TrialDiverged(Exception):
    """Training of a seed turned non-finite; the trial is recorded FAIL with the reason in its user attrs."""


def final_return(j_det: Sequence[float]) -> float:
    """J(theta_E): the last value of the J_det sequence (the final policy); NaN if empty."""
    return float(j_det[-1]) if len(j_det) else math.nan


def return_spread(j_det: Sequence[float]) -> float:
    """Standard deviation (ddof 0) of J(theta_0..E) over epochs; NaN if empty or non-finite."""
    values = np.asarray(j_det, dtype=np.float64)
    if values.size == 0 or not np.all(np.isfinite(values)):
        return math.nan
    return float(values.std())


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard deviation (ddof 0) over seeds; ``(nan, nan)`` for no values."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return math.nan, math.nan
    return float(arr.mean()), float(arr.std())


class TrialReporter(EpochCallback):
    """Reports one intermediate value per epoch to an Optuna trial and prunes.

    Must come after the run's ``EpochMetricsCallback`` (``train()`` puts extra
    callbacks last): it reads ``train/J_det`` and ``train/epoch`` from the logger
    at ``_on_rollout_end``.

    :param trial: the running trial.
    :param objective: ``return`` (reports J(theta_k)) or ``stability`` (reports the spread of
        J(theta_0..k) so far).
    :param step_offset: step of epoch 0 of this seed (``seed_index * (epochs + 1)``).
    :param prune: ask the pruner after each report and raise :class:`optuna.TrialPruned`.
    """

    def __init__(self, trial: optuna.Trial, objective: str, step_offset: int, prune: bool) -> None:
        super().__init__()
        self.trial = trial
        self.objective = objective
        self.step_offset = step_offset
        self.prune = prune
        self.values: list[float] = []
        self.pruned_at: int | None = None
        #: wall seconds spent in :meth:`report` (storage writes and pruner queries)
        self.seconds = 0.0

    def _on_rollout_end(self) -> None:
        value = self.logger.name_to_value.get("train/J_det")
        epoch = self.logger.name_to_value.get("train/epoch")
        if value is None or epoch is None:
            return
        self.values.append(float(value))
        self.report(int(epoch))

    def report(self, epoch: int, prune: bool = True) -> None:
        """Report the value for ``epoch`` (``self.values`` ends with J(theta_epoch)); maybe prune
        (``prune=False``: report only, e.g. the last step of the last seed: the trial is done)."""
        reported = self.values[-1] if self.objective == "return" else return_spread(self.values)
        if not math.isfinite(reported):
            return
        t0 = time.perf_counter()
        try:
            self.trial.report(reported, self.step_offset + epoch)
            pruned = prune and self.prune and self.trial.should_prune()
        finally:
            self.seconds += time.perf_counter() - t0
        if pruned:
            self.pruned_at = epoch
            raise optuna.TrialPruned(f"pruned at step {self.step_offset + epoch} (epoch {epoch}): "
                                     f"intermediate value {reported:.6g}")


class TrialObjective:
    """``objective(trial) -> value or (return, spread)`` for ``study.optimize``.

    :param spec: the study.
    :param on_start: called once the trial exists, before any training (the worker
        releases its budget lock here).
    """

    def __init__(self, spec: StudySpec, on_start: Callable[[], None] | None = None) -> None:
        self.spec = spec
        self.on_start = on_start
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.last_number: int | None = None

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        params = {}
        for dim in self.spec.dims:
            if dim.integer:
                params[dim.name] = trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
            else:
                params[dim.name] = trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)
        return params

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, float]:
        from mollirl.common.errors import NonFiniteError
        from mollirl.training import train

        if self.on_start is not None:
            self.on_start()
        self.last_number = trial.number
        spec = self.spec
        params = self.sample(trial)
        trial_dir = spec.study_dir / f"trial_{trial.number}"
        seed_dirs = [trial_dir / f"seed_{s}" for s in range(spec.seeds)]
        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("run_dirs", [str(d) for d in seed_dirs])
        reporting = spec.objective != "both"
        per_seed: list[dict[str, Any]] = []
        reporters: list[TrialReporter] = []  # each times its own reports (storage writes, pruner)
        train_seconds = 0.0  # wall seconds in train(), less the reports made inside it
        for s, run_dir in enumerate(seed_dirs):
            config = spec.trial_config(params, s)
            reporter = TrialReporter(trial, spec.objective, s * (spec.epochs + 1), spec.pruner != "none")
            reporters.append(reporter)
            where = f"seed {s} (seed={config.seed})"
            try:
                t0 = time.perf_counter()
                try:
                    result = train(config, argv=["-conf", str(Path(run_dir) / "config.yml")], progress_bar=False,
                                   extra_callbacks=[reporter] if reporting else [], run_dir=run_dir)
                finally:
                    train_seconds += time.perf_counter() - t0 - reporter.seconds
                if result.interrupted:  # SIGINT/SIGTERM: not counted; the next command samples anew
                    trial.set_user_attr("interrupted", True)
                    self._record(trial, per_seed, train_seconds, reporters)
                    raise KeyboardInterrupt
                j_det = [row["J_det"] for row in result.history if not math.isnan(row["J_det"])]
                seed_result = {"seed": config.seed, "final_J_det": final_return(j_det),
                               "spread": return_spread(j_det), "final_sigma": result.final_sigma,
                               "epochs": result.epochs_done, "run_dir": str(run_dir)}
                per_seed.append(seed_result)
                bad = [k for k in ("final_J_det", "spread") if not math.isfinite(seed_result[k])]
                if bad:
                    raise TrialDiverged(f"{where}: non-finite {bad[0]} ({seed_result[bad[0]]})")
                if reporting:  # the final policy's value closes the seed's steps; the last seed's is not pruned
                    reporter.values.append(seed_result["final_J_det"])
                    reporter.report(spec.epochs, prune=s < spec.seeds - 1)
            except optuna.TrialPruned:
                self._record(trial, per_seed, train_seconds, reporters,
                             pruned_at={"seed": s, "epoch": reporter.pruned_at})
                raise
            except (NonFiniteError, TrialDiverged) as exc:
                reason = str(exc) if isinstance(exc, TrialDiverged) else f"{where}: training diverged: {exc}"
                trial.set_user_attr("fail_reason", reason)
                self._record(trial, per_seed, train_seconds, reporters)
                raise TrialDiverged(reason) from None
        ret, spread = self._record(trial, per_seed, train_seconds, reporters)
        if spec.objective == "return":
            return ret
        if spec.objective == "stability":
            return spread
        return ret, spread

    @staticmethod
    def _record(trial: optuna.Trial, per_seed: list[dict[str, Any]], train_seconds: float,
                reporters: list[TrialReporter], pruned_at: dict | None = None) -> tuple[float, float]:
        ret_mean, ret_std = mean_std([r["final_J_det"] for r in per_seed])
        spread_mean, spread_std = mean_std([r["spread"] for r in per_seed])
        attrs = {"seed_results": per_seed, "return_mean": ret_mean, "return_std": ret_std,
                 "spread_mean": spread_mean, "spread_std": spread_std, "train_seconds": train_seconds,
                 "report_seconds": sum(r.seconds for r in reporters)}
        if pruned_at is not None:
            attrs["pruned_at"] = pruned_at
        for key, value in attrs.items():
            trial.set_user_attr(key, _jsonable(value))
        return ret_mean, spread_mean


def _jsonable(value: Any) -> Any:
    """NaN/inf are not JSON: store them as None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
