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
    log(f"  {sum(len(p) for p in parts)} runs to train as {len(parts)} population(s) "
        f"({', '.join(str(len(p)) for p in parts) or '-'} members)")
    if len(parts) > 1 and n_jobs > 1:
        with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(_train_group, part) for part in parts]
            for future in cf.as_completed(futures):
                for run_dir, status in future.result().items():
                    results[Path(run_dir)] = status
                    log(f"  {status:<8} {run_dir}")
    else:
        for part in parts:
            for run_dir, status in _train_group(part).items():
                results[Path(run_dir)] = status
                log(f"  {status:<8} {run_dir}")
    return results


def load_history(run_dir: Path) -> list[dict[str, float]]:
    """The ``metrics.csv`` rows of a run."""
    return read_metrics(Path(run_dir) / "metrics.csv")
