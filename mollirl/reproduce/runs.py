"""Run many training configs, in parallel processes, reusing finished runs.

A run folder with ``model.zip`` is finished and reused as is; one with only a
checkpoint is resumed; otherwise the run starts. So an interrupted
reproduction picks up where it stopped when the same command runs again.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

from mollirl.training.metrics import read_metrics
from mollirl.config import RunConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunJob:
    """One training run of a reproduction: its config and folder."""

    config: RunConfig
    run_dir: Path


def run_one(job: RunJob) -> tuple[Path, str]:
    """Train (or resume, or reuse) one job; returns ``(run_dir, status)``.

    Status is ``"reused"``, ``"resumed"``, ``"trained"`` or ``"failed: <reason>"``
    (a diverging run is reported, not raised, so the others go on).
    """
    import torch as th

    from mollirl.common.errors import NonFiniteError
    from mollirl.training import train

    th.set_num_threads(1)
    run_dir = Path(job.run_dir)
    if (run_dir / "model.zip").is_file():
        return run_dir, "reused"
    resume = run_dir if (run_dir / "checkpoints" / "latest.json").is_file() else None
    try:
        train(job.config, argv=[], resume_dir=resume, progress_bar=False, run_dir=None if resume else run_dir)
    except NonFiniteError as exc:
        return run_dir, f"failed: {exc}"
    return run_dir, "resumed" if resume else "trained"


def run_jobs(jobs: list[RunJob], n_jobs: int = 1, log=print) -> dict[Path, str]:
    """Run ``jobs`` in ``n_jobs`` spawned processes (1: in this process)."""
    results: dict[Path, str] = {}
    if n_jobs <= 1:
        for job in jobs:
            run_dir, status = run_one(job)
            results[run_dir] = status
            log(f"  {status:<8} {run_dir}")
        return results
    with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(run_one, job): job for job in jobs}
        for future in cf.as_completed(futures):
            run_dir, status = future.result()
            results[run_dir] = status
            log(f"  {status:<8} {run_dir}")
    return results


def load_history(run_dir: Path) -> list[dict[str, float]]:
    """The ``metrics.csv`` rows of a run."""
    return read_metrics(Path(run_dir) / "metrics.csv")
