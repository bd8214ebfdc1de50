"""Run a reproduction's training configs as populations, reusing finished runs.

A run folder with ``model.zip`` is finished and reused as is; one with a checkpoint
is resumed; otherwise the run starts. So an interrupted reproduction picks up where
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


def _train_group(jobs: list[RunJob]) -> dict[str, str]:
    """Train ``jobs`` (one shareable group) as a population; ``{run_dir: status}``."""
    import torch as th

    from mollirl.population import Member, Population

    th.set_num_threads(1)
    members = [Member(j.config, Path(j.run_dir), resume=(Path(j.run_dir) / "checkpoints" / "latest.json").is_file(),
                      argv=[], label=str(j.run_dir)) for j in jobs]
    population = Population(members)
    try:
        outcomes = population.train()
    finally:
        population.close()
    out = {}
    for o in outcomes:
        status = "resumed" if o.member.resume else "trained"
        out[str(o.member.run_dir)] = f"failed: {o.reason}" if o.status == "stopped" else status
    return out


def _pure_dynamics(config: RunConfig) -> bool:
    from mollirl.common.env_util import make_vec_env

    venv = make_vec_env(config.env, 1, max_episode_steps=config.horizon, **config.env_kwargs)
    try:
        return getattr(venv, "batched_dynamics", None) is not None
    finally:
        venv.close()


def progress_note(done: int, total: int, elapsed: float) -> str:
    """``(3/20 runs, 1 min 2 s, ETA 5 min 51 s)``: the runs trained so far of this command's and the time
    the rest would take at the mean time per run so far."""
    from mollirl.studies.runner import format_seconds  # noqa: F401 (one formatter for every ETA)

    eta = elapsed / max(done, 1) * (total - done)
    return f"({done}/{total} runs, {format_seconds(elapsed)}, ETA {format_seconds(eta)})"


def run_jobs(jobs: list[RunJob], n_jobs: int = 1, log=print) -> dict[Path, str]:
    """Run ``jobs``; returns ``{run_dir: status}`` with status ``reused``, ``resumed``, ``trained`` or
    ``failed: <reason>`` (a member that hit a non-finite value; the others go on)."""
    results: dict[Path, str] = {}
    todo: dict[str, list[RunJob]] = {}
    for job in jobs:
        if (Path(job.run_dir) / "model.zip").is_file():
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
        log(f"  {status:<8} {run_dir}  {progress_note(finished, total, time.monotonic() - started)}")

    if len(parts) > 1 and n_jobs > 1:
        with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_train_group, part) for part in parts]
            for future in cf.as_completed(futures):
                for run_dir, status in future.result().items():
                    done(run_dir, status)
    else:
        for part in parts:
            for run_dir, status in _train_group(part).items():
                done(run_dir, status)
    return results


#: config keys that may differ between a reused run and the job asking for it (where it runs and what it
#: keeps, not what it computes: ``save_freq`` keeps checkpoints that the training writes anyway)
PLACE_KEYS = ("log_folder", "progress", "n_threads", "device", "save_freq")


def same_config(run_dir: Path, job: RunJob) -> bool:
    """Whether ``run_dir/config.yml`` is ``job``'s config up to :data:`PLACE_KEYS`."""
    from mollirl.config import load_yaml

    try:
        saved = load_yaml(Path(run_dir) / "config.yml")
    except (OSError, ValueError):
        return False
    wanted = job.config.to_dict()
    keys = (set(saved) | set(wanted)) - set(PLACE_KEYS)
    return all(saved.get(k) == wanted.get(k) for k in keys)


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
