"""Creating, resuming and running a study: samplers, pruners, the budget, worker processes.

A *worker* is a loop: under the :func:`~mollirl.studies.storage.budget_lock`,
fail the trials whose worker died (heartbeat), count the trials, and either
ask for a batch of trials (``study.ask``, never more than the budget leaves),
train them as one population with their heartbeats running and ``tell`` their
results, wait for other workers' running trials (any of them may die and need a
retry), or stop. ``--n-jobs K`` runs K
workers on this machine: this process and K - 1 spawned processes; other
machines run the same command against the same ``--storage``.

The budget ``n_trials`` counts COMPLETE and PRUNED trials and trials FAILED by
the objective (diverged training). A trial failed by a heartbeat is not
counted: its retry (a WAITING copy with the same parameters) is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import multiprocessing
import sys
import time
import warnings
from dataclasses import dataclass, field

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import FrozenTrial, TrialState

from mollirl.common.files import write_atomic
from mollirl.studies.objective import STARTUP_TRIALS, TrialBatch, batch_size, env_kind
from mollirl.studies.spec import StudySpec
from mollirl.studies.storage import budget_lock, mask, open_storage, sqlite_path, storage_exists

logger = logging.getLogger("mollirl.studies")

#: study user attribute holding the search space, objective and setup
ATTR = "mollirl"
#: seconds between checks while waiting for other workers' running trials (one check: ~10 ms)
POLL_SECONDS = 0.25


def make_sampler(spec: StudySpec, worker_index: int = 0) -> optuna.samplers.BaseSampler:
    """The sampler named by ``spec.sampler``; a given seed is offset by the worker index. TPE uses the
    constant liar (running trials count as bad ones) whenever trials run side by side: in batches
    or in several workers."""
    seed = None if spec.sampler_seed is None else spec.sampler_seed + worker_index
    if spec.sampler == "tpe":
        liar = spec.n_jobs > 1 or spec.batch_trials != 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=len(spec.dims) > 1, constant_liar=liar,
                                              n_startup_trials=STARTUP_TRIALS["tpe"])
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if spec.sampler == "grid":
        return optuna.samplers.GridSampler(spec.grid_space(), seed=seed)
    if spec.sampler == "gp":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return optuna.samplers.GPSampler(seed=seed, n_startup_trials=STARTUP_TRIALS["gp"])
    raise AssertionError(spec.sampler)


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner:
    """Optuna's pruner for ``spec.pruner`` when Optuna decides (hyperband, wilcoxon: trials asked one at a
    time); its steps are epochs 0 .. E (every seed of a trial at once). The batch pruners (halving,
    median) decide in :class:`~mollirl.studies.objective.TrialBatch` (:mod:`mollirl.studies.pruning`):
    Optuna gets a :class:`~optuna.pruners.NopPruner`."""
    steps = spec.epochs + 1
    kind = spec.pruning.kind
    if kind == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(steps, 1), reduction_factor=3)
    if kind == "wilcoxon":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=2)
    return optuna.pruners.NopPruner()


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """COMPLETE, PRUNED, or FAILED by the objective (a ``fail_reason``); not a heartbeat failure."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and "fail_reason" in trial.user_attrs


def budget_free(trials: list[FrozenTrial], n_trials: int) -> tuple[int, int]:
    """``(trials that may still start, trials running)``: the budget less what counts and what runs."""
    counted = sum(counts_toward_budget(t) for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    return max(n_trials - counted - running, 0), running


def started_trials(spec: StudySpec) -> int:
    """Trials of ``spec``'s study already counted toward its budget or running (0 for a new study)."""
    if spec.embedded and not storage_exists(spec.storage_url):
        return 0
    storage = open_storage(spec.storage_url)
    try:
        try:
            study_id = storage.get_study_id_from_name(spec.study_name)
        except KeyError:
            return 0
        free, _ = budget_free(storage.get_all_trials(study_id, deepcopy=False), spec.n_trials)
        return spec.n_trials - free
    finally:
        storage.remove_session()
        storage.engine.dispose()


def budget_decision(trials: list[FrozenTrial], n_trials: int) -> str:
    """``"run"`` (start or resume a trial), ``"wait"`` (others' trials still run) or ``"done"``."""
    free, running = budget_free(trials, n_trials)
    if free:
        return "run"
    return "wait" if running else "done"


# ----------------------------------------------------------------------------- the study itself

def _compare(stored: dict, spec: StudySpec) -> None:
    """Raise ``ValueError`` if the stored study differs from ``spec`` in objective, space or setup."""
    name = spec.study_name
    mine = {"search": spec.search_record(), "setup": spec.setup_record()}
    theirs = {"search": stored.get("search", {}), "setup": stored.get("setup", {})}
    if theirs["search"].get("objective") != mine["search"]["objective"]:
        raise ValueError(f"study {name!r} exists with --objective {theirs['search'].get('objective')}, "
                         f"not {mine['search']['objective']}; use another --study-name")
    if theirs["search"] != mine["search"]:
        key = next(k for k in sorted(set(theirs["search"]) | set(mine["search"]))
                   if theirs["search"].get(k) != mine["search"].get(k))
        raise ValueError(f"study {name!r} exists with a different search space ({key}: stored "
                         f"{json.dumps(theirs['search'].get(key))}, now {json.dumps(mine['search'].get(key))}); "
                         "use another --study-name")
    if theirs["setup"] != mine["setup"]:
        key = next(k for k in sorted(set(theirs["setup"]) | set(mine["setup"]))
                   if theirs["setup"].get(k) != mine["setup"].get(k))
        raise ValueError(f"study {name!r} exists with a different training setup ({key}: stored "
                         f"{theirs['setup'].get(key)!r}, now {mine['setup'].get(key)!r}); use another --study-name")


def check_existing(spec: StudySpec, storage) -> dict | None:
    """The stored record of ``spec.study_name`` after checking it matches ``spec``; None if no such study."""
    try:
        study_id = storage.get_study_id_from_name(spec.study_name)
    except KeyError:
        return None
    stored = storage.get_study_user_attrs(study_id).get(ATTR)
    if stored is None:
        raise ValueError(f"study {spec.study_name!r} in {mask(spec.storage_url)!r} was not created by "
                         "python -m mollirl.study; use another --study-name")
    _compare(stored, spec)
    return stored


def validate_storage(spec: StudySpec) -> None:
    """Everything about the storage that can be checked without writing: reachable, study compatible.

    The embedded store is only read if its file exists (it is created by :func:`run_study`).
    """
    if spec.embedded and not storage_exists(spec.storage_url):
        return
    storage = open_storage(spec.storage_url)
    lock = budget_lock(spec.storage_url, spec.study_name)
    try:
        lock.acquire()  # not while another worker is half-way through creating the study
        check_existing(spec, storage)
    finally:
        lock.close()
        storage.remove_session()
        storage.engine.dispose()


def create_study(spec: StudySpec, storage) -> optuna.Study:
    """Create the study (or load it) and store/check its record; safe if workers race to create it."""
    study = optuna.create_study(storage=storage, study_name=spec.study_name, directions=spec.directions,
                                load_if_exists=True)
    record = {"search": spec.search_record(), "setup": spec.setup_record(), "preset": spec.preset, "version": 1}
    if ATTR not in study.user_attrs:
        study.set_user_attr(ATTR, record)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            study.set_metric_names(spec.metric_names)
    check_existing(spec, storage)  # a worker that raced us with another space loses here
    return study


# ----------------------------------------------------------------------------- workers

@dataclass
class WorkerResult:
    """What one worker did."""

    index: int
    trials_run: list[int] = field(default_factory=list)


def trial_line(trial: FrozenTrial, spec: StudySpec, worker_index: int) -> str:
    """One line per finished trial (logged by the worker)."""
    params = "  ".join(f"{k}={v:.4g}" for k, v in trial.params.items())
    attrs = trial.user_attrs
    parts = [f"[worker {worker_index}] trial {trial.number:>3}  {params}  {trial.state.name}"]
    if attrs.get("return_mean") is not None:
        parts.append(f"final J_det {attrs['return_mean']:.4g} ± {attrs.get('return_std') or 0:.2g}")
    if attrs.get("spread_mean") is not None:
        parts.append(f"spread {attrs['spread_mean']:.4g} ± {attrs.get('spread_std') or 0:.2g}")
    if "fail_reason" in attrs:
        parts.append(attrs["fail_reason"])
    if "train_seconds" in attrs:
        parts.append(f"({len(attrs.get('seed_results', []))}/{spec.seeds} seeds, {attrs['train_seconds']:.1f} s)")
    return "  ".join(parts)


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 07 min``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def batch_label(numbers: list[int]) -> str:
    """``trial 4``, ``trials 4-7`` (consecutive numbers) or ``trials 4, 9`` / ``12 trials`` (more than three)."""
    numbers = sorted(numbers)
    if len(numbers) == 1:
        return f"trial {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"trials {numbers[0]}-{numbers[-1]}"
    return f"trials {', '.join(map(str, numbers))}" if len(numbers) <= 3 else f"{len(numbers)} trials"


def progress_text(trials: list[FrozenTrial], spec: StudySpec, worker_index: int, done_here: int,
                  elapsed: float, finished_untold: int = 0) -> str:
    """``| worker 0: 3 trials, ETA 9 s | study: 7/20, ETA 14 s`` after a worker's trial (``done`` in place of an
    ETA once nothing is left to run).

    ETAs assume the remaining trials take this worker's mean time per trial so far and that
    ``spec.n_jobs`` workers share them (workers on other machines make the study's ETA an upper bound).
    ``finished_untold`` trials of the same batch finished too and are told next: nothing left to run.
    """
    counted = sum(counts_toward_budget(t) for t in trials)
    remaining = max(spec.n_trials - counted - finished_untold, 0)
    per_trial = elapsed / max(done_here, 1)
    workers = max(spec.n_jobs, 1)
    mine = math.ceil(remaining / workers)
    worker_eta = f"ETA {format_seconds(mine * per_trial)}" if mine else "done"
    study_eta = f"ETA {format_seconds(remaining * per_trial / workers)}" if remaining else "done"
    return (f"| worker {worker_index}: {done_here} trial{'s' if done_here != 1 else ''}, {worker_eta} | "
            f"study: {min(counted, spec.n_trials)}/{spec.n_trials}, {study_eta}")


def _tell(study: optuna.Study, r) -> None:
    """``study.tell`` a trial's result. Optuna's GridSampler calls ``study.stop()`` once its grid is
    used up, which outside ``study.optimize`` raises after the trial is stored; the budget, not the
    sampler, decides when a worker stops, so that is ignored."""
    try:
        if r.state == TrialState.COMPLETE:
            study.tell(r.number, r.values)
        else:
            study.tell(r.number, state=r.state)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise


def _heartbeats(study: optuna.Study, trials: list) -> contextlib.ExitStack:
    """One heartbeat thread per running trial (what ``study.optimize`` starts for its one trial)."""
    try:
        from optuna.storages._heartbeat import get_heartbeat_thread
    except ImportError:  # pragma: no cover - an Optuna without it: no heartbeats (no retries of lost trials)
        return contextlib.ExitStack()
    stack = contextlib.ExitStack()
    for trial in trials:
        stack.enter_context(get_heartbeat_thread(trial._trial_id, study._storage))
    return stack


def run_worker(spec: StudySpec, index: int = 0, storage=None) -> WorkerResult:
    """Run batches of trials of the (existing) study until its budget is complete.

    Under the budget lock: fail the trials whose worker died (heartbeat), count, and ask for
    ``batch_size`` trials (never more than the budget leaves; WAITING retries first); then train
    them as one population (:class:`~mollirl.studies.objective.TrialBatch`) with their heartbeats
    running, and tell the study each trial's result.

    :param index: this worker's index on this machine (offsets the sampler seed).
    :param storage: an open storage with heartbeats (default: open ``spec.storage_url``).
    """
    own_storage = storage is None
    if own_storage:
        storage = open_storage(spec.storage_url, heartbeat=spec.heartbeat)
    study = optuna.load_study(study_name=spec.study_name, storage=storage, sampler=make_sampler(spec, index),
                              pruner=make_pruner(spec))
    lock = budget_lock(spec.storage_url, spec.study_name)
    result = WorkerResult(index)
    waiting = False
    started = time.monotonic()
    sizes: dict[int, int] = {}  # free budget -> batch size
    kind = env_kind(spec) if spec.batch_trials is None else "pure"  # the automatic rule looks at the env once
    try:
        while True:
            batch: list = []
            lock.acquire()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)
                free, running = budget_free(study.get_trials(deepcopy=False), spec.n_trials)
                if free not in sizes:  # trials counted or running: n_trials - free
                    sizes[free] = batch_size(spec, free, spec.n_jobs, spec.n_trials - free, kind)
                with warnings.catch_warnings():  # ask/tell with heartbeats: we run the heartbeat threads
                    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
                    batch = [study.ask() for _ in range(sizes[free])]
            finally:
                lock.release()
            if batch:
                waiting = False
                trials = TrialBatch(spec, batch)
                label = f"worker {index}: {batch_label([t.number for t in batch])}" if spec.progress else None
                with _heartbeats(study, batch):
                    outcome = trials.run(progress=label, position=index if spec.n_jobs > 1 else None)
                for j, r in enumerate(outcome):
                    _tell(study, r)
                    result.trials_run.append(r.number)
                    stored = study.get_trials(deepcopy=False)
                    line = trial_line(stored[r.number], spec, index)
                    if getattr(spec, "progress", True):
                        line += "  " + progress_text(stored, spec, index, len(result.trials_run),
                                                     time.monotonic() - started, len(outcome) - j - 1)
                    logger.info(line)
                if trials.interrupted:
                    raise KeyboardInterrupt
            elif running:
                if not waiting:
                    waiting = True
                    logger.info(f"[worker {index}] budget reached; waiting for other workers' running trials "
                                f"(a trial silent for {2 * spec.heartbeat} s is failed and retried)")
                time.sleep(min(POLL_SECONDS, spec.heartbeat))
            else:
                return result
    finally:
        lock.close()
        if own_storage:
            storage.remove_session()
            storage.engine.dispose()


def check_training(spec: StudySpec) -> None:
    """Build one trial's env and model: bad env kwargs or ``-params`` fail here, before anything is written."""
    from mollirl.training import prepare

    params = {d.name: d.values[0] if d.values else d.low for d in spec.dims}
    prepare(spec.trial_config(params, 0)).close()


class _PipeHandler(logging.StreamHandler):
    """The trial lines' handler: a closed stdout (``... | head -1``) ends the worker (BrokenPipeError reaches
    the command, which exits 141 quietly) instead of a logging traceback per line while training goes on."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if isinstance(sys.exc_info()[1], BrokenPipeError):
            raise sys.exc_info()[1]
        super().handleError(record)


def setup_output(level: int = logging.INFO) -> None:
    """A study's console: Optuna quiet (errors only) and its experimental warnings off; at ``level``
    INFO or below, the worker's one line per trial on stdout (``mollirl.studies`` logger).

    Called by the command and by each spawned worker (with the command's level); safe to call again
    in one process (a previous call's handler, which may hold another ``sys.stdout``, is replaced).
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    for old in [h for h in logger.handlers if getattr(h, "_mollirl_study", False)]:
        logger.removeHandler(old)
    if level <= logging.INFO:
        handler = _PipeHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._mollirl_study = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def _worker_process(spec_json: str, index: int, log_level: int, go) -> None:
    """Entry point of a spawned worker process: set up, wait for the study to exist, run trials.
    It dies with its parent (:mod:`mollirl.common.lifeline`); a closed stdout ends it quietly (141) and
    a plugin's error in one line (1), as they end the command."""
    from mollirl.common.lifeline import worker_initializer

    worker_initializer()
    try:
        _worker_body(spec_json, index, log_level, go)
    except BrokenPipeError:
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as exc:  # noqa: BLE001 - a plugin's error in one line, like the command's
        from mollirl.guard import report

        if report(f"python -m mollirl.study (worker {index})", exc) is None:
            raise
        sys.exit(1)


def _worker_body(spec_json: str, index: int, log_level: int, go) -> None:
    import torch

    torch.set_num_threads(1)  # K workers on K cores; intra-op threads would oversubscribe them
    setup_output(log_level)  # as in the parent
    # while the parent validates and creates the study: the heavy imports, and one trial's env and model
    # built once, which also runs the lazy imports of a first training (torch.optim loads torch._dynamo,
    # about 2 s), so the first trial here starts as warm as the parent's (whose check did the same)
    spec = StudySpec.from_json(spec_json)
    try:
        check_training(spec)
    except Exception:  # noqa: BLE001 - a bad spec is the parent's to report; this worker then never starts
        pass
    parent = multiprocessing.parent_process()
    while not go.wait(timeout=1.0):
        if parent is not None and not parent.is_alive():
            return  # the parent died before the study was ready: nothing to do
    try:
        run_worker(spec, index)
    except KeyboardInterrupt:
        sys.exit(130)


class WorkerPool:
    """The K - 1 spawned workers of ``--n-jobs K`` (worker 0 is the calling process).

    Started *before* the study is validated and created, so that their imports
    (PyTorch, SB3: seconds) overlap the parent's set-up; they wait until
    :meth:`release` and touch nothing before it. ``spawn``, not ``fork``:
    PyTorch's thread pools and open storage connections do not survive a fork.
    A context manager: leaving it with an exception stops the workers
    (:meth:`cancel`); leaving it normally waits for them.
    """

    def __init__(self, spec: StudySpec) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.go = ctx.Event()
        level = logger.getEffectiveLevel()
        self.procs = [ctx.Process(target=_worker_process, args=(spec.to_json(), i, level, self.go),
                                  name=f"mollirl-study-worker-{i}") for i in range(1, spec.n_jobs)]
        for proc in self.procs:
            proc.start()
        self.failed = 0

    def release(self) -> None:
        """The study exists: start running trials."""
        self.go.set()

    def join(self, timeout: float | None = None) -> int:
        """Wait for the workers; return how many exited with an error."""
        for proc in self.procs:
            proc.join(timeout)
        self.failed = sum(proc.exitcode not in (0, None) for proc in self.procs)
        return self.failed

    def cancel(self) -> None:
        """Stop the workers: released ones get a minute to record their trial (SIGINT reached them
        too), the others are terminated at once."""
        for proc in self.procs:
            proc.join(timeout=60 if self.go.is_set() else 0)
            if proc.is_alive():
                proc.terminate()
                proc.join()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.cancel()
        else:
            self.join()


@dataclass
class StudyRun:
    """Outcome of :func:`run_study`."""

    study: optuna.Study
    workers_failed: int = 0
    trials_run: list[int] = field(default_factory=list)


def run_study(spec: StudySpec, pool: WorkerPool | None = None) -> StudyRun:
    """Create or resume ``spec``'s study and run ``spec.n_jobs`` workers here until its budget is complete.

    Call :func:`check_training` and :func:`validate_storage` first to reject bad input
    before anything is written. Worker 0 is this process; with ``n_jobs > 1`` the other
    workers come from ``pool`` (started early by the caller, who joins it: when this
    returns, the budget is complete and the workers are exiting) or a new
    :class:`WorkerPool` (joined here; ``workers_failed`` counts its failures).

    :raises KeyboardInterrupt: on SIGINT (running trials are recorded FAIL, not counted; a
        new command resumes).
    """
    if spec.embedded:
        spec.study_dir.parent.mkdir(parents=True, exist_ok=True)
    elif (path := sqlite_path(spec.storage_url)) is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    spec.study_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(spec.storage_url, heartbeat=spec.heartbeat)  # its tables: under the schema lock
    lock = budget_lock(spec.storage_url, spec.study_name)
    lock.acquire()  # two commands starting at once would race to create the study and store its record
    try:
        study = create_study(spec, storage)
    finally:
        lock.close()
    record = {**json.loads(spec.to_json()), "storage_url": mask(spec.storage_url)}  # no password on disk
    write_atomic(spec.study_dir / "study.json", json.dumps(record, indent=1))

    own_pool = pool is None and spec.n_jobs > 1
    if own_pool:
        pool = WorkerPool(spec)
    threads = None
    if pool is not None:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # K workers on K cores; intra-op threads would oversubscribe them
        pool.release()
    outcome = StudyRun(study)
    try:
        outcome.trials_run = run_worker(spec, 0, storage).trials_run
        if own_pool:  # a caller's pool is the caller's to join (it may report while the workers exit)
            outcome.workers_failed = pool.join()
    except BaseException:
        if own_pool:
            pool.cancel()
        raise
    finally:
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        storage.remove_session()
    return outcome
