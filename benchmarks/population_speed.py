"""Populations: many runs in one batched rollout, against the floors (the bare numpy collection of the same rows).

    python benchmarks/population_speed.py [--part all|study|pendulum|large|hopper|bookkeeping|refusal] [--repeat 2]

Everything in one run, printed as ratios (the CPU speed of this machine drifts by 10-20%
within minutes, so each comparison runs its sides back to back, per repeat, and medians
over repeats are printed):

1. **study** (double pendulum, ``--trials`` 32 trials x 4 seeds x 20 epochs x 16 episodes x 1000
   steps, random sampler, no pruning): the whole ``--batch-trials 32`` command in a subprocess
   (all 128 runs in one population), against its floor: the interpreter importing what the
   study imports, plus the bare numpy collection of the same env steps at 1,024 rows per step.
   Target: at most 1.5x. With ``--compare``, also ``--batch-trials 1`` and ``--batch-trials 1
   --n-jobs 2`` (one trial at a time) and the runs one at a time (scaled from ``--sample`` runs).
2. **pendulum**: a REINFORCE population of 64 members x 16 episodes (sigma 0.5, seeds 0..63,
   run folders written as by the command) in env-steps/s of its training rows, against the
   bare numpy collection of 1,024 rows (per step one matrix product for the policy mean,
   Gaussian noise, the analytic ``batch_step`` and the obs/action/reward buffers; nothing
   else), each in a fresh subprocess, back to back, over ``--epochs`` (8) timed epochs after a
   warm-up one: a window long enough to hold the costs that come every few epochs (Python's full
   garbage collections, the writers' flushes every 2 s), not the checkpoints (every 10th epoch:
   their cost is printed by ``--part bookkeeping``). Target: at least 80%. The population's
   peak RSS (``ru_maxrss``) is printed beside the RSS after its imports and the buffers the
   trainer sized (:func:`mollirl.population.estimate_bytes`).
   **ceilings** (a diagnostic, no target): the same population with the members' epoch
   record and dump, their update, or both switched off, against the same floor: what each part costs.
3. **large**: 1,024 members (32 sigmas x 32 seeds) x 16 episodes in one process against the bare
   collection of 16,384 rows. Target: at least 70%; peak RSS beside the trainer's estimate.
4. **hopper**: a hopper-stand population of 8 members x 32 episodes x 1000 steps (the
   preset's tanh MLP, one ``mujoco.batch`` over all rows on every core) against eight
   separate runs of the same configs in two processes (four after one another in each, each
   run's ``mujoco.batch`` on every core, as ``python -m mollirl.train`` runs), and against the
   floor ``cores x raw mj_step rate / frame_skip`` (a bare loop of ``mujoco.mj_step`` on one
   thread, measured before and after). Targets: at least 1.3x and at least 80%.
5. **bookkeeping**: what one member-epoch's record and dump (TensorBoard event, ``metrics.csv``
   row) costs with rows and events held back and written in batches, against the same logger
   flushing every dump (what each of P separate writers did), 64 writers x 50 dumps each.
6. **refusal**: the wall time of ``python -m mollirl.train --seeds 30000 --horizon 100000``
   (refused: its buffers would not fit), interpreter start included. Target: well under 1 s.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_json(code: str, *args: str) -> dict:
    """Run ``code`` (a function of this module, by name) in a fresh interpreter; its last stdout line is JSON."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", code, *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (every thread): unlike wall time, not stretched by other
    processes' load (the machine this runs on is shared)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- 1. study --------------------------------------------------------------------------------
def study_cmd(args, folder: Path, name: str, batch: int, n_jobs: int) -> list[str]:
    return [sys.executable, "-m", "mollirl.study", "--env", "double-pendulum", "--n-trials", str(args.trials),
            "--seeds", "4", "--epochs", "20", "--sigma-range", "0.05", "2", "--sampler", "random",
            "--sampler-seed", "0", "--pruner", "none", "--batch-trials", str(batch), "--n-jobs", str(n_jobs),
            "-f", str(folder), "--study-name", name]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def child_sequential(sigmas_json: str) -> None:
    """Train each (sigma, seed) of the list as its own run, one after the other; print the seconds."""
    from mollirl import registry
    from mollirl.hyperparams import resolve_with_sources
    from mollirl.training import train

    registry.load_all_plugins()
    jobs = json.loads(sigmas_json)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for sigma, seed in jobs:
            config = resolve_with_sources("double-pendulum", "reinforce", None, {
                "sigma": sigma, "seed": seed, "epochs": 20, "log_folder": tmp, "progress": False})[0]
            train(config, argv=[])
        print(json.dumps({"seconds": time.perf_counter() - t0, "runs": len(jobs)}))


IMPORTS = ("import mollirl.study, mollirl.studies.runner, mollirl.studies.objective, mollirl.training, "
           "mollirl.population, mollirl.algos.reinforce, mollirl.envs.vec, optuna")


def bench_study(args) -> list[str]:
    rows = []
    steps = args.trials * 4 * 20 * 16 * 1000  # the study's training rows (its J_det rows not counted)
    for r in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            c0 = children_cpu()
            t32 = timed(study_cmd(args, tmp / "b", "b32", args.trials, 1))
            c1 = children_cpu()
            t_import = timed([sys.executable, "-c", IMPORTS])
            c2 = children_cpu()
            bare_run = run_json("child_bare", "1024", "3")
            bare = bare_run["rate"]
            floor = t_import + steps / bare
            cpu_ratio = (c1 - c0) / ((c2 - c1) + steps / bare_run["cpu_rate"])
            row = [t32, floor, t_import, steps / bare, cpu_ratio]
            if args.compare:
                with (tmp / "b" / "studies" / "b32" / "trials.csv").open() as fh:
                    sigmas = [float(row_["param_sigma"]) for row_ in csv.DictReader(fh)]
                t1 = timed(study_cmd(args, tmp / "c", "b1", 1, 1))
                t1j2 = timed(study_cmd(args, tmp / "d", "b1j2", 1, 2))
                jobs = [(s, k) for s in sigmas for k in range(4)][:: max(1, (4 * len(sigmas)) // args.sample)]
                seq = run_json("child_sequential", json.dumps(jobs))
                row += [t1, t1j2, seq["seconds"] / seq["runs"] * 4 * args.trials]
        rows.append(row)
        print(f"  repeat {r}: batch {args.trials} {t32:.1f} s; floor {floor:.1f} s (imports {t_import:.1f} s + bare "
              f"collection {steps / bare:.1f} s); {t32 / floor:.2f}x; in CPU seconds {cpu_ratio:.2f}x"
              + (f"; batch 1 {row[5]:.1f} s, batch 1 --n-jobs 2 {row[6]:.1f} s, one run at a time {row[7]:.1f} s"
                 if args.compare else ""), flush=True)
    med = [statistics.median(r[k] for r in rows) for k in range(len(rows[0]))]
    t32, floor, t_import, t_bare, cpu_ratio = med[:5]
    per_min = lambda t: args.trials / t * 60  # noqa: E731
    out = [
        f"study, double pendulum, {args.trials} trials x 4 seeds x 20 epochs x 16 episodes x 1000 steps, pruning off "
        f"(medians of {args.repeat}):",
        f"  --batch-trials {args.trials}: {t32:.1f} s ({per_min(t32):.1f} trials/min); floor: imports {t_import:.1f} s "
        f"+ bare collection of the same {steps:,} env steps at 1,024 rows {t_bare:.1f} s = {floor:.1f} s; "
        f"{t32 / floor:.2f}x the floor (target <= 1.5x); in CPU seconds (user + system) {cpu_ratio:.2f}x",
    ]
    if args.compare:
        t1, t1j2, t_seq = med[5:]
        out += [f"  --batch-trials 1: {t1:.1f} s -> batched {t1 / t32:.2f}x; --batch-trials 1 --n-jobs 2: {t1j2:.1f} s "
                f"-> {t1j2 / t32:.2f}x; one run at a time (scaled from {args.sample} runs): {t_seq:.1f} s -> "
                f"{t_seq / t32:.2f}x"]
    return out


# --- 2. pendulum population vs the bare collection ---------------------------------------------
def child_bare(n_rows: str, epochs: str) -> None:
    import numpy as np

    from mollirl.control.reference import double_pendulum_reference
    from mollirl.envs._analytic import batch_step
    from mollirl.envs.double_pendulum import DOUBLE_PENDULUM, DoublePendulumParams

    N, E, T = int(n_rows), int(epochs), 1000
    ref = double_pendulum_reference(None)
    K, b = np.asarray(ref["K"]), np.asarray(ref["b"])
    params = DoublePendulumParams()
    start = np.array([-0.2, 0.2, 0.0, 0.0])
    obs_buf, act_buf, rew_buf = np.empty((T, N, 4)), np.empty((T, N, 2)), np.empty((T, N))
    for buf in (obs_buf, act_buf, rew_buf):  # touched before the clock starts, as the trainer's are after its
        buf.fill(0.0)                         # warm-up epoch (first-touch page faults are not the floor's work)
    t0, c0 = time.perf_counter(), cpu_seconds()
    for epoch in range(E):
        noise = 0.5 * np.random.default_rng([0, epoch]).standard_normal((T, N, 2))
        s = np.tile(start, (N, 1))
        for t in range(T):
            u = -s @ K.T + b + noise[t]
            obs_buf[t] = s
            act_buf[t] = u
            s, r, _, _ = batch_step(DOUBLE_PENDULUM, params, s, u)
            rew_buf[t] = r
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    print(json.dumps({"rate": N * T * E / seconds, "cpu_rate": N * T * E / cpu}))


def population_members(env: str, n_members: int, batch_episodes: int, epochs: int, folder: str, **extra):
    from mollirl import registry
    from mollirl.hyperparams import resolve_with_sources
    from mollirl.population import Member

    registry.load_all_plugins()
    members = []
    for k in range(n_members):
        config = resolve_with_sources(env, "reinforce", None, {
            "seed": k, "epochs": epochs, "batch_episodes": batch_episodes, "log_folder": folder, "progress": False,
            **extra})[0]
        members.append(Member(config, Path(folder) / f"member_{k}", argv=[], label=f"seed {k}"))
    return members


def child_population(env: str, n_members: str, batch_episodes: str, epochs: str) -> None:
    """Train a population (one warm-up epoch, then ``epochs`` timed by an on_epoch hook); print rate and RSS."""
    import numpy as np

    from mollirl.population import Population, estimate_bytes

    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    P, B, E = int(n_members), int(batch_episodes), int(epochs)
    with tempfile.TemporaryDirectory() as tmp:
        members = population_members(env, P, B, E + 1, tmp)
        pop = Population(members, command="benchmark")
        marks, cpu = {}, {}

        def on_epoch(k, j_det):
            marks[k], cpu[k] = time.perf_counter(), cpu_seconds()
            return {}

        t_start = time.perf_counter()
        outcomes = pop.train(on_epoch=on_epoch)
        t_end = time.perf_counter()
        pop.close()
        assert all(o.status == "finished" for o in outcomes), [o.status for o in outcomes]
        template = pop.envs[B].template
        buffers = estimate_bytes(members, int(np.prod(template.observation_space.shape)),
                                 int(np.prod(template.action_space.shape)))
    steps = P * B * 1000 * E  # training rows of the timed epochs (the J_det rows not counted)
    print(json.dumps({"rate": steps / (marks[E] - marks[0]), "cpu_rate": steps / (cpu[E] - cpu[0]),
                      "whole_seconds": t_end - t_start,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "rss_imports": rss_imports, "buffers": buffers}))


def bench_pendulum(args) -> list[str]:
    rows = []
    for r in range(args.repeat):
        bare_run = run_json("child_bare", "1024", str(args.epochs))
        bare, bare_cpu = bare_run["rate"], bare_run["cpu_rate"]
        pop = run_json("child_population", "double-pendulum", "64", "16", str(args.epochs))
        rows.append((pop["rate"], bare, pop["rate"] / bare, pop["peak_rss"], pop["rss_imports"], pop["buffers"],
                     pop["cpu_rate"] / bare_cpu))
        print(f"  repeat {r}: population {pop['rate']:,.0f} env-steps/s, bare {bare:,.0f}, "
              f"{pop['rate'] / bare:.0%}; per CPU second {pop['cpu_rate'] / bare_cpu:.0%}", flush=True)
    rate, bare, ratio, peak, base, buffers, cpu_ratio = (statistics.median(r[k] for r in rows) for k in range(7))
    mib = 2**20
    return [
        f"population REINFORCE, double pendulum, 64 members x 16 episodes x 1000 steps ({args.epochs} timed epochs, "
        f"medians of {args.repeat}):",
        f"  {rate:,.0f} env-steps/s of training rows; bare numpy collection of 1,024 rows {bare:,.0f}; "
        f"{ratio:.0%} (target >= 80%); per CPU second (user + system, all threads) {cpu_ratio:.0%}",
        f"  peak RSS {peak / mib:,.0f} MiB (after imports {base / mib:,.0f} MiB); buffers sized by the trainer "
        f"{buffers / mib:,.0f} MiB",
    ]


# --- 2b. what the pendulum population would reach without parts of its epoch ------------------------
CEILINGS = ("full", "no record or dump", "no update", "neither")


def child_ceiling(mode: str, epochs: str) -> None:
    """The pendulum population with the members' epoch record and dump (``_record_epoch``, ``dump_logs``) and/or
    their update (``train_members``) switched off: a diagnostic of what each costs, not a product."""
    import mollirl.algos.reinforce as reinforce
    import mollirl.common.algorithm as algorithm

    if mode in ("no record or dump", "neither"):
        algorithm.EpochAlgorithm.dump_logs = lambda self, iteration=0: None
        algorithm.EpochAlgorithm._record_epoch = lambda self, batch: None
    if mode in ("no update", "neither"):
        reinforce.REINFORCE.train_members = classmethod(lambda cls, models: [None] * len(models))
    child_population("double-pendulum", "64", "16", epochs)


def bench_ceilings(args) -> list[str]:
    rows = []
    for r in range(args.repeat):
        bare = run_json("child_bare", "1024", str(args.epochs))["rate"]  # each mode against the floor of its repeat
        ratios = [run_json("child_ceiling", mode, str(args.epochs))["rate"] / bare for mode in CEILINGS]
        rows.append(ratios)
        print(f"  repeat {r}: " + ", ".join(f"{m} {x:.0%}" for m, x in zip(CEILINGS, ratios)), flush=True)
    med = [statistics.median(r[k] for r in rows) for k in range(len(CEILINGS))]
    return [f"pendulum population (64 members x 16 episodes, {args.epochs} timed epochs, medians of {args.repeat}) "
            "against the bare 1,024-row collection, with parts of its epoch switched off (a diagnostic): "
            + ", ".join(f"{m} {x:.0%}" for m, x in zip(CEILINGS, med))]


# --- 3. a large population -------------------------------------------------------------------------
def child_large(n_sigmas: str, n_seeds: str, epochs: str) -> None:
    """A sigma x seed population (one warm-up epoch, then ``epochs`` timed); print rate, RSS and the estimate."""
    import numpy as np

    from mollirl.population import Member, Population, estimate_bytes

    sigmas = np.geomspace(0.05, 2.0, int(n_sigmas))
    E = int(epochs)
    rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with tempfile.TemporaryDirectory() as tmp:
        base = population_members("double-pendulum", 1, 16, E + 1, tmp)[0].config
        members = []
        for s in sigmas:
            for k in range(int(n_seeds)):
                config = dataclasses.replace(base, sigma=float(s), seed=k, checkpoint_every=0)
                members.append(Member(config, Path(tmp) / f"s{s:.4g}_k{k}", argv=[], label=f"{s:.4g}/{k}"))
        t0 = time.perf_counter()
        pop = Population(members, command="benchmark")
        t_build = time.perf_counter() - t0
        marks, cpu = {}, {}

        def on_epoch(k, j_det):
            marks[k], cpu[k] = time.perf_counter(), cpu_seconds()
            return {}

        t1 = time.perf_counter()
        outcomes = pop.train(on_epoch=on_epoch)
        t_end = time.perf_counter()
        pop.close()
        template = pop.envs[16].template
        estimate = estimate_bytes(members, int(np.prod(template.observation_space.shape)),
                                  int(np.prod(template.action_space.shape)))
    assert all(o.status == "finished" for o in outcomes)
    P = len(members)
    steps = P * 16 * 1000 * E
    print(json.dumps({"rate": steps / (marks[E] - marks[0]), "cpu_rate": steps / (cpu[E] - cpu[0]),
                      "members": P, "build_seconds": t_build,
                      "open_and_first_epoch_seconds": marks[0] - t1, "finish_seconds": t_end - marks[E],
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "rss_imports": rss_imports, "estimate": estimate}))


def bench_large(args) -> list[str]:
    rows = []
    rows_total = args.large_sigmas * args.large_seeds * 16
    for r in range(args.repeat):
        bare_run = run_json("child_bare", str(rows_total), str(args.large_epochs))
        bare = bare_run["rate"]
        pop = run_json("child_large", str(args.large_sigmas), str(args.large_seeds), str(args.large_epochs))
        rows.append((pop["rate"], bare, pop["rate"] / bare, pop["peak_rss"], pop["rss_imports"], pop["estimate"],
                     pop["build_seconds"], pop["open_and_first_epoch_seconds"], pop["finish_seconds"],
                     pop["cpu_rate"] / bare_run["cpu_rate"]))
        print(f"  repeat {r}: population {pop['rate']:,.0f} env-steps/s, bare {bare:,.0f}, {pop['rate'] / bare:.0%}; "
              f"per CPU second {rows[-1][-1]:.0%}", flush=True)
    rate, bare, ratio, peak, base, estimate, build, first, finish, cpu_ratio = (
        statistics.median(r[k] for r in rows) for k in range(10))
    mib = 2**20
    return [
        f"population REINFORCE, double pendulum, {args.large_sigmas} sigmas x {args.large_seeds} seeds = "
        f"{args.large_sigmas * args.large_seeds} members x 16 episodes x 1000 steps in one process "
        f"({args.large_epochs} timed epochs, medians of {args.repeat}):",
        f"  {rate:,.0f} env-steps/s of training rows; bare numpy collection of {rows_total:,} rows {bare:,.0f}; "
        f"{ratio:.0%} (target >= 70%); per CPU second (user + system, all threads) {cpu_ratio:.0%}",
        f"  peak RSS {peak / mib:,.0f} MiB (after imports {base / mib:,.0f} MiB); the trainer's estimate of its "
        f"per-epoch arrays {estimate / mib:,.0f} MiB",
        f"  outside the timed epochs: building the members {build:.1f} s, opening their folders and the first "
        f"epoch {first:.1f} s, final J_det rows and checkpoints {finish:.1f} s",
    ]


# --- 5. bookkeeping -------------------------------------------------------------------------------
def child_bookkeeping(writers: str, dumps: str, flush_seconds: str) -> None:
    """``writers`` loggers as a population's members have, each dumping ``dumps`` epochs of 16 scalars (and, where
    the run folder has a Monitor file, the epoch's 16 episode rows)."""
    import numpy as np

    import mollirl.training.metrics as metrics
    from mollirl.training.run import _configure_logger

    metrics.FLUSH_SECONDS = float(flush_seconds)
    keys = ["train/epoch", "train/timesteps", "train/J_det", "train/J_sigma", "train/ep_return_mean", "train/sigma",
            "train/grad_norm", "train/J_det_undiscounted", "train/final_state_norm", "train/J_det_diverged",
            "train/diverged_fraction", "train/loss", "train/n_updates", "rollout/ep_rew_mean", "rollout/ep_len_mean",
            "time/fps"]
    with tempfile.TemporaryDirectory() as tmp:
        loggers = []
        for i in range(int(writers)):
            (Path(tmp) / str(i)).mkdir()
            loggers.append(_configure_logger(Path(tmp) / str(i), None))
        returns, lengths = np.linspace(-40.0, -10.0, 16), np.full(16, 1000)
        adders = [[f.add_episodes for f in lg.output_formats if hasattr(f, "add_episodes")] for lg in loggers]
        t0, c0 = time.perf_counter(), cpu_seconds()
        for e in range(int(dumps)):
            for lg, adds in zip(loggers, adders):
                for add in adds:  # the epoch's 16 Monitor rows (train.monitor.csv; since issue 24)
                    add(returns, lengths)
                for k in keys:
                    lg.record(k, float(e))
                lg.record("time/iterations", e, exclude="tensorboard")
                lg.dump(step=e)
        seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        for lg in loggers:
            lg.close()
    n = int(writers) * int(dumps)
    print(json.dumps({"ms_per_dump": 1000 * seconds / n, "cpu_ms_per_dump": 1000 * cpu / n}))


def bench_bookkeeping(args) -> list[str]:
    rows = []
    for r in range(args.repeat):
        lazy = run_json("child_bookkeeping", "64", "50", "2.0")
        eager = run_json("child_bookkeeping", "64", "50", "0")
        rows.append((lazy["ms_per_dump"], eager["ms_per_dump"], lazy["cpu_ms_per_dump"], eager["cpu_ms_per_dump"]))
        print(f"  repeat {r}: held back {rows[-1][0]:.3f} ms ({rows[-1][2]:.3f} ms CPU), flushed every dump "
              f"{rows[-1][1]:.3f} ms ({rows[-1][3]:.3f} ms CPU)", flush=True)
    lazy, eager, lazy_cpu, eager_cpu = (statistics.median(r[k] for r in rows) for k in range(4))
    return [f"bookkeeping of one member-epoch (16 scalars to TensorBoard, metrics.csv and, since issue 24, "
            f"progress.csv, with 16 train.monitor.csv rows; 64 writers x 50 dumps, "
            f"medians of {args.repeat}): {lazy:.3f} ms ({lazy_cpu:.3f} ms CPU) written in batches vs {eager:.3f} ms "
            f"({eager_cpu:.3f} ms CPU) flushed at every dump; {eager / lazy:.1f}x less wall, "
            f"{eager_cpu / lazy_cpu:.1f}x less CPU"]


# --- 6. refusal -----------------------------------------------------------------------------------
def bench_refusal(args) -> list[str]:
    times, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(3, args.repeat)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "mollirl.train", "--seeds", "30000", "--horizon", "100000",
                                  "--no-progress", "-f", tmp], capture_output=True, text=True)
            times.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            assert out.returncode == 2 and "GiB of buffers" in out.stderr, out.stderr
        t_python = timed([sys.executable, "-c", "pass"])
    return [f"refusing --seeds 30000 --horizon 100000: {statistics.median(times):.2f} s wall, "
            f"{statistics.median(cpus):.2f} s CPU for the whole command (medians of {len(times)}; the interpreter "
            f"alone starts in {t_python:.2f} s)"]


# --- 3. hopper population vs separate runs vs the floor ----------------------------------------
def child_raw_rate() -> None:
    import mujoco
    import numpy as np

    from mollirl.envs.hopper_stand import HopperStandEnv

    env = HopperStandEnv()
    model, data = env.model, mujoco.MjData(env.model)
    rng = np.random.default_rng(0)
    mujoco.mj_resetData(model, data)
    data.qpos[:] = env.init_qpos
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.5:
        data.ctrl[:] = rng.uniform(-1.0, 1.0, size=model.nu) * 0.1
        for _ in range(env.frame_skip):
            mujoco.mj_step(model, data)
        steps += env.frame_skip
    print(json.dumps({"rate": steps / (time.perf_counter() - t0), "frame_skip": env.frame_skip}))


def child_separate(first: str, count: str, epochs: str) -> None:
    """Train members first..first+count-1 of the hopper configs as separate runs; print the seconds of training."""
    from mollirl.training import train

    with tempfile.TemporaryDirectory() as tmp:
        members = population_members("hopper-stand", int(first) + int(count), 32, int(epochs), tmp)[int(first):]
        t0 = time.perf_counter()
        for m in members:
            train(m.config, argv=[], run_dir=m.run_dir)
        print(json.dumps({"seconds": time.perf_counter() - t0}))


def bench_hopper(args) -> list[str]:
    rows = []
    E = args.hopper_epochs
    for r in range(args.repeat):
        before = run_json("child_raw_rate")
        pop = run_json("child_population", "hopper-stand", "8", "32", str(E))
        procs = [subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", "child_separate",
                                   str(4 * i), "4", str(E + 1)], stdout=subprocess.PIPE, text=True)
                 for i in range(2)]
        t0 = time.perf_counter()
        outs = [p.communicate()[0] for p in procs]
        wall_sep = time.perf_counter() - t0
        train_sep = max(json.loads(o.strip().splitlines()[-1])["seconds"] for o in outs)
        after = run_json("child_raw_rate")
        floor = cores() * (before["rate"] + after["rate"]) / 2 / before["frame_skip"]
        sep_rate = 8 * 32 * 1000 * (E + 1) / train_sep  # their whole trainings (E + 1 epochs, final J_det included)
        pop_rate = pop["rate"]
        pop_whole = 8 * 32 * 1000 * (E + 1) / pop["whole_seconds"]
        rows.append((pop_rate, pop_whole, sep_rate, floor))
        print(f"  repeat {r}: population {pop_rate:,.0f} env-steps/s (whole {pop_whole:,.0f}), separate runs "
              f"{sep_rate:,.0f} (wall {wall_sep:.1f} s), floor {floor:,.0f}", flush=True)
    pop_rate, pop_whole, sep_rate, floor = (statistics.median(r[k] for r in rows) for k in range(4))
    return [
        f"hopper-stand, 8 members x 32 episodes x 1000 steps ({E} timed epochs, {cores()} cores, medians of "
        f"{args.repeat}):",
        f"  population {pop_rate:,.0f} env-steps/s per epoch ({pop_whole:,.0f} over its whole training); eight "
        f"separate runs in two processes {sep_rate:,.0f} (their whole trainings) -> {pop_whole / sep_rate:.2f}x whole "
        f"to whole (target >= 1.3x)",
        f"  floor {cores()} x raw mj_step / frame_skip = {floor:,.0f} env-steps/s; population {pop_rate / floor:.0%} "
        f"(target >= 80%)",
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        globals()[argv[1]](*argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="all",
                        choices=["all", "study", "pendulum", "ceilings", "large", "hopper", "bookkeeping", "refusal"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--trials", type=int, default=32, help="study trials (and the batch size)")
    parser.add_argument("--sample", type=int, default=8, help="runs timed one at a time (scaled to the study)")
    parser.add_argument("--epochs", type=int, default=8,
                        help="timed epochs of the pendulum population (3 saw neither a full garbage collection "
                             "nor the writers' periodic flushes: on one code, 3 read 68%% where 8 read 61%%)")
    parser.add_argument("--hopper-epochs", type=int, default=2, help="timed epochs of the hopper population")
    parser.add_argument("--compare", action="store_true", help="study: also one trial at a time (slow)")
    parser.add_argument("--large-sigmas", type=int, default=32)
    parser.add_argument("--large-seeds", type=int, default=32)
    parser.add_argument("--large-epochs", type=int, default=1, help="timed epochs of the large population")
    args = parser.parse_args(argv)
    report = []
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cores: {cores()}", flush=True)
    for part, fn in (("study", bench_study), ("pendulum", bench_pendulum), ("ceilings", bench_ceilings),
                     ("large", bench_large),
                     ("hopper", bench_hopper), ("bookkeeping", bench_bookkeeping), ("refusal", bench_refusal)):
        if args.part in ("all", part):
            print(f"[{part}]", flush=True)
            report += fn(args)
    print()
    print("\n".join(report))
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
