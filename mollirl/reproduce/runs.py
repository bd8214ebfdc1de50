"""Run a reproduction's training configs as populations, reusing finished runs.

A run folder with ``model.zip`` is finished and reused as is, and one with a checkpoint is
resumed, both only when the run is the job's (the same config, a config.yml not edited since
training: :func:`check_reusable`; another run is refused in one line); otherwise the run starts.
A reused folder stays locked until the command ends, and a run another process writes is refused. So an interrupted reproduction picks up where
it stopped when the same command runs again. Configs that can share a rollout (the
same env, algorithm, architecture, horizon: :data:`mollirl.population.SHARED_KEYS`)
train as one population (each member's folder equals its separate run byte for byte).
A population of an env with pure batched dynamics steps on one core (numpy), so with
``n_jobs > 1`` its members are split over that many processes; a MuJoCo population
runs in one process, whose ``mujoco.batch`` steps on every core.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
from dataclasses import dataclass
import time
from pathlib import Path

from mollirl.config import RunConfig
from mollirl.training.metrics import read_metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunJob:
    """One training run of a reproduction: its config and folder."""

    config: RunConfig
    run_dir: Path


def _group_key(config: RunConfig) -> str:
    from mollirl.population import SHARED_KEYS

    import json

    data = config.to_dict()
    return json.dumps({k: data[k] for k in SHARED_KEYS}, sort_keys=True, default=str)


def _train_group(jobs: list[RunJob], progress: bool | str = False, position: int | None = None) -> dict[str, str]:
    """Train ``jobs`` (one shareable group) as a population; ``{run_dir: status}``. ``progress``: a bar
    of the member-epochs done with its ETA (its label, if a string), on line ``position``."""
    import torch as th

    from mollirl.population import Member, Population

    th.set_num_threads(1)
    members = [Member(j.config, Path(j.run_dir), resume=(Path(j.run_dir) / "checkpoints" / "latest.json").is_file(),
                      argv=[], label=str(j.run_dir)) for j in jobs]
    population = Population(members)
    try:
        outcomes = population.train(progress=progress, position=position)
    finally:
        population.close()
    out = {}
    for o in outcomes:
        status = "interrupted" if o.status == "interrupted" else "resumed" if o.member.resume else "trained"
        out[str(o.member.run_dir)] = f"failed: {o.reason}" if o.status == "stopped" else status
    return out


def _pure_dynamics(config: RunConfig) -> bool:
    from mollirl.common.env_util import make_vec_env
    from mollirl.rollout import pure_dynamics

    venv = make_vec_env(config.env, 1, max_episode_steps=config.horizon, **config.env_kwargs)
    try:
        return pure_dynamics(venv) is not None
    finally:
        venv.close()


def _bar_label(i: int, part: list[RunJob]) -> str:
    return f"population {i + 1}: {len(part)} run{'s' if len(part) != 1 else ''}"


def progress_note(done: int, total: int, elapsed: float) -> str:
    """``(3/20 runs, 1 min 2 s, ETA 5 min 51 s)``: the runs trained so far of this command's and the time
    the rest would take at the mean time per run so far."""
    from mollirl.studies.runner import format_seconds  # noqa: F401 (one formatter for every ETA)

    eta = elapsed / max(done, 1) * (total - done)
    rest = f"ETA {format_seconds(eta)}" if done < total else "done"
    return f"({done}/{total} runs, {format_seconds(elapsed)}, {rest})"


class ProgressLog:
    """The ``log`` that ``python -m mollirl.reproduce`` passes to a reproduction's ``run(out, ..., log=log)``,
    which hands it on to :func:`run_jobs`: it prints each line, and its ``progress`` says whether
    :func:`run_jobs` shows its signs of life (``--no-progress``: off).

    :param progress: True: a bar per training population (member-epochs done, ETA) and the runs done
        of the total with an ETA after each run; False: neither (plain status lines).
    :param write: where a line goes (default ``print``).
    """

    def __init__(self, progress: bool = True, write=print) -> None:
        self.progress = bool(progress)
        self.write = write

    def __call__(self, line: str) -> None:
        self.write(line)


def run_jobs(jobs: list[RunJob], n_jobs: int = 1, log=print) -> dict[Path, str]:
    """Run ``jobs``; returns ``{run_dir: status}`` with status ``reused``, ``resumed``, ``trained`` or
    ``failed: <reason>`` (a member that hit a non-finite value; the others go on).

    Progress follows ``log.progress`` (:class:`ProgressLog`): True, a bar per population and each run's
    line with the runs done of the total and an ETA; False, the plain lines; a ``log`` without the
    attribute (a library caller's ``print``), the ETAs on the lines but no bars."""
    from mollirl.common.budget import check_workers

    check_workers(n_jobs, "--jobs")  # before any process starts
    progress = getattr(log, "progress", None)
    results: dict[Path, str] = {}
    todo: dict[str, list[RunJob]] = {}
    for job in jobs:
        if check_reusable(job):
            results[Path(job.run_dir)] = "reused"
            log(f"  reused   {job.run_dir}")
        else:
            todo.setdefault(_group_key(job.config), []).append(job)
    parts: list[list[RunJob]] = []
    for group in todo.values():
        k = n_jobs if (n_jobs > 1 and len(group) > 1 and _pure_dynamics(group[0].config)) else 1
        parts.extend([group[i::k] for i in range(k) if group[i::k]])
    total = sum(len(p) for p in parts)
    log(f"  {total} runs to train as {len(parts)} population(s) "
        f"({', '.join(str(len(p)) for p in parts) or '-'} members)")
    started, finished = time.monotonic(), 0

    def done(run_dir, status: str) -> None:
        nonlocal finished
        finished += 1
        results[Path(run_dir)] = status
        note = "" if progress is False else f"  {progress_note(finished, total, time.monotonic() - started)}"
        log(f"  {status:<8} {run_dir}{note}")

    if len(parts) > 1 and n_jobs > 1:
        from mollirl.common.lifeline import worker_initializer

        with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn"),
                                    initializer=worker_initializer) as pool:  # they die with this process
            futures = [pool.submit(_train_group, part, _bar_label(i, part) if progress else False, i)
                       for i, part in enumerate(parts)]
            for future in cf.as_completed(futures):
                for run_dir, status in future.result().items():
                    done(run_dir, status)
    else:
        for i, part in enumerate(parts):
            for run_dir, status in _train_group(part, _bar_label(i, part) if progress else False).items():
                done(run_dir, status)
    if any(status == "interrupted" for status in results.values()):
        raise KeyboardInterrupt  # the command exits 130; the same command resumes from the checkpoints
    return results


def check_reusable(job: RunJob) -> bool:
    """Whether ``job``'s folder holds its finished run (``model.zip``) to reuse as is. Such a folder is locked
    until the command ends (nobody writes it while it is read), and its run must be ``job``'s: the same
    config up to :data:`PLACE_KEYS` (epochs, batch, horizon, quick or full ...), and a ``config.yml`` that
    is the one its checkpoint was trained with.

    A folder holding a checkpoint of another config (a resume would continue another run) is refused too.

    :raises ValueError: one line naming the folder and the keys that differ.
    """
    from mollirl.common.locking import hold
    from mollirl.training.checkpoint import read_pointer
    from mollirl.training.history import check_config_unedited

    run_dir = Path(job.run_dir)
    finished = (run_dir / "model.zip").is_file()
    if not finished and not (run_dir / "checkpoints" / "latest.json").is_file():
        return False  # nothing to reuse or resume: trained (a folder that holds a run is refused then)
    hold(run_dir, "run folder")
    changes = config_differences(run_dir, job)
    if changes:
        shown = "; ".join(changes[:3]) + ("; ..." if len(changes) > 3 else "")
        raise ValueError(f"run folder {str(run_dir)!r} holds a {'finished run' if finished else 'run'} of another "
                         f"config ({shown}, as saved -> as asked): it is not reused; give another -o, or remove "
                         "the folder to train it anew")
    check_config_unedited(run_dir, read_pointer(run_dir) or {}, () if finished else PLACE_KEYS)
    return finished


#: config keys that may differ between a reused run and the job asking for it (where it runs and what it
#: keeps, not what it computes: ``save_freq`` keeps checkpoints that the training writes anyway)
PLACE_KEYS = ("log_folder", "progress", "n_threads", "device", "save_freq")


def config_differences(run_dir: Path, job: RunJob) -> list[str]:
    """``["epochs 3 -> 50", ...]``: how ``run_dir/config.yml`` differs from ``job``'s config, up to
    :data:`PLACE_KEYS` (keys an older config.yml lacks count as their defaults)."""
    from mollirl.config import RunConfig, load_yaml
    from mollirl.training.history import config_changes

    try:
        saved = RunConfig(**load_yaml(Path(run_dir) / "config.yml")).to_dict()
    except (OSError, ValueError, TypeError) as exc:
        return [f"config.yml unreadable ({type(exc).__name__})"]
    return config_changes(saved, job.config.to_dict(), PLACE_KEYS)


def same_config(run_dir: Path, job: RunJob) -> bool:
    """Whether ``run_dir/config.yml`` is ``job``'s config up to :data:`PLACE_KEYS`."""
    return not config_differences(run_dir, job)


def finished_elsewhere(job: RunJob, out: Path, siblings: tuple[str, ...]) -> RunJob:
    """``job`` pointed at ``OUT/../<sibling>/<its path under OUT>`` for the first sibling reproduction
    that finished it with the same config (``model.zip``), else ``job`` itself."""
    relative = Path(job.run_dir).relative_to(out)
    for sibling in siblings:
        there = Path(out).parent / sibling / relative
        if (there / "model.zip").is_file() and same_config(there, job):
            return RunJob(job.config, there)
    return job


def load_history(run_dir: Path) -> list[dict[str, float]]:
    """The ``metrics.csv`` rows of a run."""
    return read_metrics(Path(run_dir) / "metrics.csv")
