"""Trials per minute of ``python -m mollirl.study`` with 1 and 2 worker processes, and the study overhead.

    python benchmarks/study_scaling.py [--trials 16] [--epochs 20] [--horizon 1000] [--batch 16] [--repeats 2]

On the double pendulum (by default 16 trials of one seed x 20 epochs x 16
episodes x 1000 steps, about 6 s each: a seventh of a trial of the
``sigma-double-pendulum`` preset, 3 seeds x 50 epochs; random sampler, no
pruning, per-epoch reports on), each repeat runs, one after the other:

1. the study command with ``--n-jobs 1``, timed end to end (interpreter start,
   imports, checks, storage, trials, report), as a user runs it;
2. *bare*: one process that trains the same trials (the sigmas the study
   drew, the same configs) with :func:`mollirl.training.train` in a loop and no
   Optuna at all, timed end to end the same way;
3. the study command with ``--n-jobs 2`` (this process + one spawned worker);
4. *bare x 2*: two bare processes at once, each training half of the trials:
   the speed-up this machine offers two processes right now, the ceiling for
   the study's ratio.

Printed: trials/min for 1 and 2 jobs and their ratio (target >= 1.7x on 2
cores) beside the bare ratio, and the study machinery's overhead over the bare
training time of the same trials (target < 5%).

The overhead is measured inside each run, not as the difference of two runs:
this machine's CPU speed drifts by 10-20% from one minute to the next (the same
bare loop took 20.5 s and 27.0 s of CPU time a minute apart), which swamps a
difference of a few percent between two runs. The study records the seconds
its trials spend in ``train()`` and in reporting (trial attributes
``train_seconds``, ``report_seconds``); everything else the study process does
(imports, the dry-run check, the store, sampling, storage writes, heartbeats,
reports, the report and its plot, exit) is the machinery, less what the bare
process spends outside ``train()`` (interpreter start, imports, exit: a bare
script pays them too). The bare process warms the lazy import
``torch.optim`` makes on first use (1.7 s) before its timed loop, as the
study's dry-run check does. The end-to-end difference of the two runs is
printed too, with that caveat. Medians over the repeats.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
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

    import torch

    torch.optim.SGD([torch.zeros(1, requires_grad=True)])  # first use imports torch._dynamo (the study's check does)

    seconds = 0.0
    for i, sigma in enumerate(payload["sigmas"]):
        t0 = time.perf_counter()
        train(spec.trial_config({"sigma": sigma}, 0), progress_bar=False, run_dir=Path(payload["folder"]) / f"t{i}")
        seconds += time.perf_counter() - t0
    print(json.dumps({"train_seconds": seconds}))
    return 0


def run_study(args, folder: Path, jobs: int) -> dict:
    """One study command, timed; its trials' sigmas, train() seconds and loop span from the store."""
    import optuna

    start, t0 = datetime.datetime.now(), time.perf_counter()  # Optuna's trial timestamps are local datetimes
    subprocess.run([sys.executable, "-m", "mollirl.study", *study_args(args, folder, jobs)], check=True,
                   stdout=subprocess.DEVNULL)
    wall, end = time.perf_counter() - t0, datetime.datetime.now()
    study = optuna.load_study(study_name="bench", storage=f"sqlite:///{folder}/studies/studies.db")
    trials = sorted(study.get_trials(), key=lambda t: t.number)
    assert len(trials) == args.trials and all(t.state.name == "COMPLETE" for t in trials)
    first = min(t.datetime_start for t in trials)
    last = max(t.datetime_complete for t in trials)
    return {"wall": wall, "sigmas": [t.params["sigma"] for t in trials],
            "train": sum(t.user_attrs["train_seconds"] for t in trials),
            "report": sum(t.user_attrs["report_seconds"] for t in trials),
            "loop": (last - first).total_seconds(), "before": (first - start).total_seconds(),
            "after": (end - last).total_seconds(), "workers": len({t.user_attrs["worker"] for t in trials})}


def run_bare(args, folder: Path, parts: list[list[float]]) -> dict:
    """Wall time of len(parts) concurrent bare processes, and their summed train() seconds."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "--bare", json.dumps(
        {"study_args": study_args(args, folder / "unused", 1), "sigmas": part, "folder": str(folder / f"bare{i}"),
         "one_thread": len(parts) > 1})], stdout=subprocess.PIPE, text=True) for i, part in enumerate(parts)]
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode != 0 for p in procs):
        raise SystemExit("a bare training process failed")
    return {"wall": time.perf_counter() - t0,
            "train": sum(json.loads(o.strip().splitlines()[-1])["train_seconds"] for o in outs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16, help="trials per study")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=16, help="episodes per epoch")
    parser.add_argument("--repeats", type=int, default=2, help="repeats of the four runs; medians are printed")
    parser.add_argument("--bare", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare is not None:
        return bare(args.bare)

    n = args.trials
    print(f"double pendulum, {n} trials x (1 seed, {args.epochs} epochs x {args.batch} episodes x {args.horizon} "
          f"steps), {args.repeats} repeat(s); load average before: {os.getloadavg()[0]:.2f} (1 min), "
          f"cores: {os.cpu_count()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="mollirl-bench-") as tmp:
        for r in range(args.repeats):
            folder = Path(tmp) / f"repeat{r}"
            s1 = run_study(args, folder / "jobs1", 1)
            b1 = run_bare(args, folder, [s1["sigmas"]])
            s2 = run_study(args, folder / "jobs2", 2)
            b2 = run_bare(args, folder, [s1["sigmas"][0::2], s1["sigmas"][1::2]])
            bare_outside = b1["wall"] - b1["train"]
            extra = (s1["wall"] - s1["train"]) - bare_outside  # incl. the reports, which ran inside train()
            row = {"jobs1": s1["wall"], "jobs2": s2["wall"], "ratio": s1["wall"] / s2["wall"],
                   "bare": b1["wall"], "bare2": b2["wall"], "ceiling": b1["wall"] / b2["wall"],
                   "overhead": extra / s1["train"], "end_to_end": s1["wall"] / b1["wall"] - 1,
                   "fixed": s1["before"] + s1["after"] - bare_outside, "before": s1["before"], "after": s1["after"],
                   "bare_outside": bare_outside, "per_trial_ms": 1000 * (s1["loop"] - s1["train"]) / n,
                   "report_ms": 1000 * s1["report"] / n, "train": s1["train"], "train_bare": b1["train"]}
            rows.append(row)
            print(f"repeat {r + 1}: --n-jobs 1 {s1['wall']:.1f} s, --n-jobs 2 {s2['wall']:.1f} s "
                  f"({row['ratio']:.2f}x, {s2['workers']} workers ran trials); bare {b1['wall']:.1f} s, "
                  f"bare x 2 {b2['wall']:.1f} s ({row['ceiling']:.2f}x); overhead {100 * row['overhead']:+.1f}% "
                  f"({extra:.1f} s over {s1['train']:.1f} s of training); end-to-end difference "
                  f"{100 * row['end_to_end']:+.1f}% (train() {s1['train']:.1f} s in the study, {b1['train']:.1f} s "
                  "bare)", flush=True)

    def med(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    per_trial = med("per_trial_ms") / 1000
    print(f"median of {len(rows)}:")
    print(f"  --n-jobs 1: {60 * n / med('jobs1'):.1f} trials/min, --n-jobs 2: {60 * n / med('jobs2'):.1f} "
          f"trials/min; ratio {med('ratio'):.2f}x (target >= 1.7x); two bare processes {med('ceiling'):.2f}x "
          "(this machine's ceiling now)")
    print(f"  study overhead over the training time of the same trials: {100 * med('overhead'):+.1f}% "
          f"(target < 5%); end-to-end difference of the two runs {100 * med('end_to_end'):+.1f}% (CPU drift "
          "included)")
    print(f"  parts: {med('fixed'):.1f} s fixed (the study spends {med('before'):.1f} s before its first trial and "
          f"{med('after'):.1f} s after its last, the bare process {med('bare_outside'):.1f} s outside train()); "
          f"{1000 * per_trial:.0f} ms per trial outside train(), {med('report_ms'):.0f} ms of it in "
          f"{args.epochs + 1} reports")
    for trials, seconds in ((40, 1.0), (30, 3 * 50 * med("train") / n / args.epochs)):
        print(f"  so for {trials} trials of {seconds:.0f} s: "
              f"{100 * (med('fixed') + trials * per_trial) / (trials * seconds):+.1f}%")
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
