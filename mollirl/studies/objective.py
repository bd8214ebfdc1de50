"""A batch of trials: B trials x S seeds trained side by side as one population, reported per epoch.

Each trial's seed s is an ordinary mollirl run into
``<log-folder>/studies/<study>/trial_<n>/seed_<s>/`` (metrics.csv, TensorBoard,
config.yml, model.zip), trained as a member of one :class:`~mollirl.population.Population`
with every other seed of every trial of the batch (each member's numbers are its separate
run's, byte for byte). From a seed's J_det sequence J(theta_0), ..., J(theta_E) (E =
epochs; the last is the final policy):

* **return**: J(theta_E), the final deterministic return (maximized);
* **stability**: the standard deviation of J(theta_0..E) over epochs, the spread
  of the return sequence that the paper's Fig. 6 shows (minimized).

The trial's value is the mean over seeds; the standard deviation over seeds is kept
as the error bar. **Pruning compares like with like**: after every epoch k the trial
reports, at step k, the mean over its seeds of J(theta_k) (return) or of the spread of
J(theta_0..k) (stability), all seeds being at the same epoch; a pruned trial's seeds
are dropped from the running population together. A seed that turns non-finite fails its
trial (recorded FAIL with the reason; its other seeds are dropped).
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from mollirl.studies.pruning import SEQUENTIAL_KINDS
from mollirl.studies.spec import StudySpec

#: rows an automatic batch aims at: enough for an env with pure batched dynamics to amortize numpy's
#: per-step overhead (README: batched studies); MuJoCo envs step row by row, where batching pays less
AUTO_ROWS = {"pure": 1024, "vecenv": 256}
#: a model-based sampler's startup trials (drawn at random; the sampler is built with this number)
STARTUP_TRIALS = {"tpe": 10, "gp": 10}
#: after its startup trials, a model-based sampler gets the rest of the budget in at least this many rounds,
#: each proposed from every earlier round's results
ROUNDS = 4


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


def intermediate_value(objective: str, seeds_j: Sequence[Sequence[float]]) -> float:
    """What a trial reports after epoch k: the mean over seeds of J(theta_k) (``return``) or of the
    spread of J(theta_0..k) (``stability``); each seed's list ends with J(theta_k)."""
    if objective == "return":
        return float(np.mean([j[-1] for j in seeds_j]))
    return float(np.mean([return_spread(j) for j in seeds_j]))


def env_kind(spec: StudySpec) -> str:
    """``"pure"`` for an env with pure batched dynamics (the analytic envs), else ``"vecenv"``."""
    from mollirl.common.env_util import make_vec_env
    from mollirl.rollout import pure_dynamics

    config = spec.config
    venv = make_vec_env(config["env"], 1, max_episode_steps=config["horizon"], **config["env_kwargs"])
    try:
        return "pure" if pure_dynamics(venv) is not None else "vecenv"
    finally:
        venv.close()


def rows_limit(spec: StudySpec, kind: str) -> int:
    """Trials whose rollout rows fill ``AUTO_ROWS[kind]``: ``max(1, AUTO_ROWS // (seeds x (batch_episodes + 1)))``."""
    per_trial = spec.seeds * (int(spec.config["batch_episodes"]) + 1)
    return max(1, AUTO_ROWS[kind] // per_trial)


def batch_size(spec: StudySpec, free: int, workers: int = 1, started: int = 0, kind: str | None = None) -> int:
    """The trials a worker asks for at once: ``spec.batch_trials``, or the automatic rule.

    The automatic rule, never more than ``free`` (the budget not yet started) nor the rows limit
    (:func:`rows_limit`: 1024 rows on an env with pure batched dynamics, 256 on one stepped
    through VecEnvs), with W = ``workers``:

    * a model-based sampler (TPE, GP) first gets its startup trials (drawn at random), shared by
      the workers: ``ceil((startup - started) / W)``; then ``ceil((n_trials - startup) / (ROUNDS x W))``,
      so the rest of the budget comes in at least :data:`ROUNDS` rounds, each proposed from
      every earlier round's results;
    * random and grid samplers need no results: ``ceil(free / W)`` (the whole budget at once);
    * Optuna's sequential pruners (hyperband, wilcoxon) compare with finished trials only: 1.

    :param free: trials that may still start.
    :param started: trials already counted toward the budget or running.
    :param kind: :func:`env_kind` (looked up when needed and not given).
    """
    if free <= 0:
        return 0
    if spec.batch_trials is not None:
        return max(1, min(spec.batch_trials, free))
    if not spec.pruning.batched:
        return 1
    w = max(workers, 1)
    if spec.sampler in STARTUP_TRIALS:
        startup = STARTUP_TRIALS[spec.sampler]
        if started < startup:
            size = math.ceil((startup - started) / w)
        else:
            size = math.ceil(max(spec.n_trials - startup, 1) / (ROUNDS * w))
    else:
        size = math.ceil(free / w)
    return max(1, min(size, rows_limit(spec, kind or env_kind(spec)), free))


def batch_plan(spec: StudySpec, started: int = 0, kind: str | None = None) -> list[int]:
    """The batch sizes this worker would ask for, from ``started`` trials to the budget, if it worked
    alone (``spec.n_jobs`` workers here share each round)."""
    kind = kind or env_kind(spec)
    plan = []
    while started < spec.n_trials:
        size = batch_size(spec, spec.n_trials - started, spec.n_jobs, started, kind)
        for _ in range(max(spec.n_jobs, 1)):
            if started >= spec.n_trials:
                break
            take = min(size, spec.n_trials - started)
            plan.append(take)
            started += take
    return plan


def describe_batches(spec: StudySpec, started: int = 0, kind: str | None = None) -> str:
    """What the batch size does to the sampler, for the study header."""
    plan = batch_plan(spec, started, kind)
    if not plan:
        return "budget reached: no new batch"
    sizes = ", ".join(map(str, plan[:12])) + (", ..." if len(plan) > 12 else "")
    head = f"batches of {sizes} trials"
    if spec.sampler not in STARTUP_TRIALS:
        return f"{head} ({spec.sampler} sampling needs no results: a batch loses nothing)"
    startup = STARTUP_TRIALS[spec.sampler]
    seen, informed, rounds = started, 0, 0
    for size in plan:
        if seen >= startup:  # proposed from `seen` finished trials (one worker's view)
            informed += size
            rounds += 1
        seen += size
    name = spec.sampler.upper()
    if informed == 0:
        return (f"{head}: {name} draws its first {startup} trials at random and no batch comes after a result, "
                "so this study is random search")
    return (f"{head}: {name}'s first {startup} trials are random, then {informed} trials in {rounds} round"
            f"{'s' if rounds != 1 else ''}, each proposed from every earlier result"
            + (" (a batch is proposed without the results of its own trials; --batch-trials 1 for one "
               "proposal per result)" if max(plan) > 1 else ""))


@dataclass
class _Trial:
    trial: optuna.Trial
    params: dict[str, Any]
    members: list[int]
    seeds: list[int]
    run_dirs: list[Path]
    j_det: dict[int, list[float]] = field(default_factory=dict)
    report_seconds: float = 0.0
    pruned_at: int | None = None
    fail_reason: str | None = None
    #: epoch -> the value reported (the mean over seeds)
    reported: dict[int, float] = field(default_factory=dict)
    #: the pruning decision that stopped it (epoch, value, cutoff, competitors, kept, pruner)
    decision: dict[str, Any] | None = None


@dataclass
class TrialResult:
    """How one trial of a batch ended: its state and, for COMPLETE, its value(s)."""

    number: int
    state: TrialState
    values: list[float] | None = None


class TrialBatch:
    """Train the trials ``trials`` (already asked, RUNNING) of ``spec``'s study as one population.

    :param spec: the study.
    :param trials: Optuna trials from ``study.ask()`` (WAITING retries keep their parameters).
    """

    def __init__(self, spec: StudySpec, trials: list[optuna.Trial]) -> None:
        self.spec = spec
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.trials: list[_Trial] = []
        self.interrupted = False
        for trial in trials:
            params = self.sample(trial)
            trial_dir = spec.study_dir / f"trial_{trial.number}"
            dirs = [trial_dir / f"seed_{s}" for s in range(spec.seeds)]
            trial.set_user_attr("worker", self.worker)
            trial.set_user_attr("run_dirs", [str(d) for d in dirs])
            trial.set_user_attr("batch", [t.number for t in trials])
            self.trials.append(_Trial(trial, params, [], [], dirs))

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        params = {}
        for dim in self.spec.dims:
            if dim.integer:
                params[dim.name] = trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
            else:
                params[dim.name] = trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)
        return params

    def run(self, *, progress: str | None = None, position: int | None = None) -> list[TrialResult]:
        """Train, report per epoch, prune; return each trial's result (the caller tells the study).

        On SIGINT/SIGTERM the running trials come back FAIL with ``interrupted`` set (not counted:
        the next command samples anew) and :attr:`interrupted` is True.

        :param progress: the label of a progress bar on stderr while the batch trains (its seeds'
            epochs done and an ETA; a pruned trial's epochs leave the total); None: no bar.
        :param position: the bar's line (one per worker process).
        """
        from mollirl.population import Member, Population

        spec = self.spec
        members: list[Member] = []
        owner: dict[int, _Trial] = {}
        for t in self.trials:
            for s, run_dir in enumerate(t.run_dirs):
                config = spec.trial_config(t.params, s)
                t.members.append(len(members))
                t.seeds.append(config.seed)
                owner[len(members)] = t
                members.append(Member(config, run_dir, argv=["-conf", str(run_dir / "config.yml")],
                                      label=f"trial {t.trial.number} seed {s}"))
        pruning = spec.pruning if spec.objective != "both" else None
        rule = pruning.rule(spec.epochs) if pruning is not None else None
        sequential = pruning is not None and pruning.kind in SEQUENTIAL_KINDS

        def on_epoch(k: int, j_det: dict[int, float | None]) -> dict[int, str]:
            drop: dict[int, str] = {}
            reported: list[_Trial] = []
            for t in self.trials:  # every live trial reports epoch k first ...
                if t.pruned_at is not None or t.fail_reason is not None:
                    continue
                closed = [i for i in t.members if i in j_det]
                if not closed:
                    continue
                stopped = [i for i in closed if j_det[i] is None]
                if stopped:
                    s = t.members.index(stopped[0])
                    t.fail_reason = f"seed {s} (seed={t.seeds[s]}): training diverged: the seed's run stopped on " \
                                    f"a non-finite value at epoch {k} (see {t.run_dirs[s] / 'stopped.txt'})"
                    drop.update({i: "its trial failed" for i in t.members if i not in stopped})
                    continue
                for i in closed:
                    t.j_det.setdefault(i, []).append(float(j_det[i]))
                if len(closed) < len(t.members) or spec.objective == "both":
                    continue
                value = intermediate_value(spec.objective, [t.j_det[i] for i in t.members])
                if not math.isfinite(value):
                    continue
                t0 = time.perf_counter()
                try:
                    t.trial.report(value, k)
                    t.reported[k] = value
                    if sequential and t.trial.should_prune():  # Optuna's own pruner (batches of one)
                        t.pruned_at = k
                        t.decision = {"epoch": k, "value": value, "pruner": spec.pruner}
                finally:
                    t.report_seconds += time.perf_counter() - t0
                reported.append(t)
            if rule is not None and k in rule.rungs:  # ... then one decision for the whole batch
                t0 = time.perf_counter()
                live = {t.trial.number: rule.smoothed(t.reported, k) for t in self.trials
                        if t.pruned_at is None and t.fail_reason is None}
                decisions = rule.decide(k, live, self._peer_values(rule, k), higher_is_better=spec.higher_is_better)
                seconds = (time.perf_counter() - t0) / max(len(live), 1)
                for t in self.trials:
                    d = decisions.get(t.trial.number)
                    if d is None:
                        continue
                    t.report_seconds += seconds
                    if d.prune:
                        t.pruned_at = k
                        t.decision = {**d.record(), "pruner": spec.pruner}
            for t in self.trials:
                if t.pruned_at == k:
                    value = t.decision.get("value") if t.decision else None
                    text = f"{value:.6g}" if isinstance(value, float) else "none"
                    drop.update({i: f"pruned at epoch {k} (value {text})" for i in t.members})
            return drop

        t0 = time.perf_counter()
        population = Population(members, command="python -m mollirl.train")
        try:
            outcomes = population.train(on_epoch=on_epoch, progress=progress or False, position=position)
        finally:
            population.close()
        share = (time.perf_counter() - t0) / max(len(self.trials), 1)
        results = []
        interrupted = any(o.status == "interrupted" for o in outcomes)
        for t in self.trials:
            mine = [outcomes[i] for i in t.members]
            per_seed = []
            for s, o in enumerate(mine):
                if o.result is None:
                    continue
                j = [row["J_det"] for row in o.result.history if not math.isnan(row["J_det"])]
                per_seed.append({"seed": t.seeds[s], "final_J_det": final_return(j), "spread": return_spread(j),
                                 "final_sigma": o.result.final_sigma, "epochs": o.result.epochs_done,
                                 "run_dir": str(t.run_dirs[s])})
            ret, spread = self._record(t, per_seed, share)
            if interrupted and t.pruned_at is None and t.fail_reason is None:
                t.trial.set_user_attr("interrupted", True)
                results.append(TrialResult(t.trial.number, TrialState.FAIL))
            elif t.fail_reason is not None:
                t.trial.set_user_attr("fail_reason", t.fail_reason)
                results.append(TrialResult(t.trial.number, TrialState.FAIL))
            elif t.pruned_at is not None:
                t.trial.set_user_attr("pruned_at", _jsonable(t.decision or {"epoch": t.pruned_at}))
                results.append(TrialResult(t.trial.number, TrialState.PRUNED))
            else:
                bad = [k for k in ("final_J_det", "spread") for r in per_seed if not math.isfinite(r[k])]
                if bad or len(per_seed) < len(t.members):
                    t.trial.set_user_attr("fail_reason", f"non-finite {bad[0] if bad else 'result'}")
                    results.append(TrialResult(t.trial.number, TrialState.FAIL))
                    continue
                if spec.objective != "both":  # the final policy closes the epochs: step E
                    final = intermediate_value(spec.objective, [t.j_det[i] + [r["final_J_det"]]
                                                                for i, r in zip(t.members, per_seed)])
                    t.trial.report(final, spec.epochs)
                values = {"return": [ret], "stability": [spread], "both": [ret, spread]}[spec.objective]
                results.append(TrialResult(t.trial.number, TrialState.COMPLETE, values))
        self.interrupted = interrupted
        return results

    def _peer_values(self, rule, step: int) -> list[float]:
        """The smoothed values at rung ``step`` of the study's other trials that reached it (COMPLETE,
        PRUNED, or RUNNING in another worker)."""
        mine = {t.trial.number for t in self.trials}
        study = self.trials[0].trial.study
        others = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                          TrialState.RUNNING))
        values = (rule.smoothed(t.intermediate_values, step) for t in others if t.number not in mine)
        return [v for v in values if math.isfinite(v)]

    @staticmethod
    def _record(t: _Trial, per_seed: list[dict[str, Any]], train_seconds: float) -> tuple[float, float]:
        ret_mean, ret_std = mean_std([r["final_J_det"] for r in per_seed])
        spread_mean, spread_std = mean_std([r["spread"] for r in per_seed])
        attrs = {"seed_results": per_seed, "return_mean": ret_mean, "return_std": ret_std,
                 "spread_mean": spread_mean, "spread_std": spread_std, "train_seconds": train_seconds,
                 "report_seconds": t.report_seconds}
        for key, value in attrs.items():
            t.trial.set_user_attr(key, _jsonable(value))
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
