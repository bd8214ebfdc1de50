"""Trials per minute of ``python -m mollirl.study`` with 1 and 2 worker processes, and the study overhead.

    python benchmarks/study_scaling.py [--trials 30] [--epochs 3] [--horizon 1000] [--batch 16]

On the double pendulum (small but real trials: by default 3 epochs x 16
episodes x 1000 steps, one seed, random sampler, no pruning), one run each:

1. the study command with ``--n-jobs 1``, timed end to end (interpreter start,
   imports, storage, trials, report), as a user runs it;
2. the same with ``--n-jobs 2`` (this process + one spawned worker);
3. *bare*: one process that trains the same trials (the sigmas the first study
   drew, the same configs) with :func:`mollirl.training.train` in a loop and no
   Optuna at all, timed end to end the same way;
4. *bare x 2*: two such processes at once, each training half of the trials:
   the speed-up this machine offers two processes right now, the ceiling for
   the study's ratio (another load on the machine lowers it).

Prints trials/min for 1 and 2 jobs and their ratio (target >= 1.7x on 2
cores) next to the bare ratio, and the study machinery's overhead over the
bare time of the same trials (target < 5%), both end to end and inside the
trial loop only (storage writes, heartbeats, sampling, per-epoch reports
between the training calls). The load average before and after is printed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def study_args(args, folder: Path, n_jobs: int) -> list[str]:
    return ["--env", "double-pendulum", "--n-trials", str(args.trials), "--sigma-range", "0.05", "2",
            "--sampler", "random", "--sampler-seed", "0", "--pruner", "none", "--seeds", "1",
            "--epochs", str(args.epochs), "--horizon", str(args.horizon), "--batch-episodes", str(args.batch),
            "--study-name", "bench", "-f", str(folder), "--n-jobs", str(n_jobs)]


def timed(cmd: list[str]) -> tuple[float, datetime.datetime, datetime.datetime]:
    """Wall seconds of ``cmd``, and its start and end as datetimes (Optuna's trial timestamps are local)."""
    start, t0 = datetime.datetime.now(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, start, datetime.datetime.now()


def bare(args_json: str) -> int:
    """The bare loop (run in its own process): train the given sigmas with train(), no Optuna."""
    from mollirl.study import build_parser, spec_from_args

    payload = json.loads(args_json)
    if payload["one_thread"]:  # as the study's workers with --n-jobs > 1
        import torch

        torch.set_num_threads(1)
    spec = spec_from_args(build_parser().parse_args(payload["study_args"]))
    import mollirl.policies  # noqa: F401
    from mollirl.training import train

    seconds = 0.0
    for i, sigma in enumerate(payload["sigmas"]):
        t0 = time.perf_counter()
        train(spec.trial_config({"sigma": sigma}, 0), progress_bar=False, run_dir=Path(payload["folder"]) / f"t{i}")
        seconds += time.perf_counter() - t0
    print(json.dumps({"train_seconds": seconds}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="trials per study")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16, help="episodes per epoch")
    parser.add_argument("--bare", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare is not None:
        return bare(args.bare)

    import optuna

    study_cmd = [sys.executable, "-m", "mollirl.study"]
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="mollirl-bench-") as tmp:
        tmp = Path(tmp)
        wall, span = {}, {}
        for jobs in (1, 2):
            wall[jobs], *span[jobs] = timed([*study_cmd, *study_args(args, tmp / f"jobs{jobs}", jobs)])
            print(f"--n-jobs {jobs}: {args.trials} trials in {wall[jobs]:.1f} s = "
                  f"{60 * args.trials / wall[jobs]:.1f} trials/min", flush=True)
        study = optuna.load_study(study_name="bench", storage=f"sqlite:///{tmp}/jobs1/studies/studies.db")
        trials = sorted(study.get_trials(), key=lambda t: t.number)
        n2 = optuna.load_study(study_name="bench", storage=f"sqlite:///{tmp}/jobs2/studies/studies.db")
        workers = {t.user_attrs["worker"] for t in n2.get_trials()}
        sigmas = [t.params["sigma"] for t in trials]

        def bare_procs(parts: list[list[float]]) -> tuple[float, float]:
            """Wall time of len(parts) concurrent bare processes, and their summed train() seconds."""
            t0 = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, __file__, "--bare", json.dumps(
                {"study_args": study_args(args, tmp / "jobs1", 1), "sigmas": part, "folder": str(tmp / f"bare{i}"),
                 "one_thread": len(parts) > 1})],
                stdout=subprocess.PIPE, text=True) for i, part in enumerate(parts)]
            outs = [p.communicate()[0] for p in procs]
            assert all(p.returncode == 0 for p in procs)
            return time.perf_counter() - t0, sum(json.loads(o.strip().splitlines()[-1])["train_seconds"] for o in outs)

        wall_bare, bare_train = bare_procs([sigmas])
        wall_bare2, _ = bare_procs([sigmas[0::2], sigmas[1::2]])

    study_train = sum(t.user_attrs["train_seconds"] for t in trials)
    loop = (trials[-1].datetime_complete - trials[0].datetime_start).total_seconds()
    print(f"ratio 2 jobs / 1 job: {wall[1] / wall[2]:.2f}x (target >= 1.7x; {len(workers)} workers ran trials)")
    print(f"bare train() loop, same {len(trials)} trials: {wall_bare:.1f} s end to end ({bare_train:.1f} s in "
          f"train()); two bare processes, half each: {wall_bare2:.1f} s = {wall_bare / wall_bare2:.2f}x "
          "(this machine's ceiling now)")
    print(f"study overhead end to end (--n-jobs 1 vs bare): {100 * (wall[1] / wall_bare - 1):+.1f}% (target < 5%)")
    print(f"study overhead inside the trial loop: {100 * (loop / study_train - 1):+.1f}% "
          f"({loop:.1f} s from the first trial's start to the last's end, {study_train:.1f} s in train())")
    before = (trials[0].datetime_start - span[1][0]).total_seconds()
    after = (span[1][1] - trials[-1].datetime_complete).total_seconds()
    print(f"--n-jobs 1 outside the loop: {before:.1f} s before the first trial (imports, checks, store), "
          f"{after:.1f} s after the last (report, exit)")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
