"""Populations: many runs in one batched rollout, against the same work done run by run, and against the floors.

    python benchmarks/population_speed.py [--part all|study|pendulum|hopper] [--repeat 2]

Everything in one run, printed as ratios (the CPU speed of this machine drifts by 10-20%
within minutes, so each comparison runs its sides back to back, per repeat, and medians
over repeats are printed):

1. **study** (double pendulum, ``--trials`` 32 trials x 4 seeds x 20 epochs x 16 episodes x 1000
   steps, random sampler, no pruning), each the whole command in a subprocess, one process each:
   ``--batch-trials 32`` (all 128 runs in one population), ``--batch-trials 1`` (one trial at a
   time: its 4 seeds side by side), ``--batch-trials 1 --n-jobs 2`` (two such workers), and
   *one run at a time*: what a trial did before populations, each seed a separate
   :func:`mollirl.training.train` one after the other; timed on ``--sample`` of the 128 runs
   and scaled to 128 (the runs take the same time: the same rows and steps), with no Optuna
   at all, so it is a lower bound of that study's time. Targets: batch 32 at least 15x
   batch 1 and at least 8x ``--n-jobs 2``.
2. **pendulum**: a REINFORCE population of 64 members x 16 episodes (sigma 0.5, seeds 0..63,
   run folders written as by the command) in env-steps/s of its training rows, against the
   bare numpy collection of 1,024 rows (per step one matrix product for the policy mean,
   Gaussian noise, the analytic ``batch_step`` and the obs/action/reward buffers; nothing
   else), each in a fresh subprocess, back to back. Target: at least 60%. The population's
   peak RSS (``ru_maxrss``) is printed beside the RSS after its imports and the buffers the
   trainer sized (:func:`mollirl.population.estimate_bytes`).
3. **hopper**: a hopper-stand population of 8 members x 32 episodes x 1000 steps (the
   preset's tanh MLP, one ``mujoco.batch`` over all rows on every core) against eight
   separate runs of the same configs in two processes (four after one another in each, each
   run's ``mujoco.batch`` on every core, as ``python -m mollirl.train`` runs), and against the
   floor ``cores x raw mj_step rate / frame_skip`` (a bare loop of ``mujoco.mj_step`` on one
   thread, measured before and after). Targets: at least 1.3x and at least 80%.
"""

from __future__ import annotations

import argparse
import csv
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


def child_sequential(sigmas_json: str) -> None:
    """Train each (sigma, seed) of the list as its own run, one after the other; print the seconds."""
    from mollirl import registry
    from mollirl.common.env_util import get_env_plugin
    from mollirl.config import resolve_config
    from mollirl.training import train

    registry.load_all_plugins()
    preset = dict(get_env_plugin("double-pendulum").preset)
    jobs = json.loads(sigmas_json)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for sigma, seed in jobs:
            config = resolve_config("double-pendulum", "reinforce", {}, {
                "sigma": sigma, "seed": seed, "epochs": 20, "log_folder": tmp, "progress": False}, preset)
            train(config, argv=[])
        print(json.dumps({"seconds": time.perf_counter() - t0, "runs": len(jobs)}))


def bench_study(args) -> list[str]:
    rows = []
    for r in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            t32 = timed(study_cmd(args, tmp / "b", "b32", args.trials, 1))
            with (tmp / "b" / "studies" / "b32" / "trials.csv").open() as fh:
                sigmas = [float(row["param_sigma"]) for row in csv.DictReader(fh)]
            t1 = timed(study_cmd(args, tmp / "c", "b1", 1, 1))
            t1j2 = timed(study_cmd(args, tmp / "d", "b1j2", 1, 2))
            jobs = [(s, k) for s in sigmas for k in range(4)][:: max(1, (4 * len(sigmas)) // args.sample)]
            seq = run_json("child_sequential", json.dumps(jobs))
            t_seq = seq["seconds"] / seq["runs"] * 4 * args.trials
        rows.append((t32, t1, t1j2, t_seq))
        print(f"  repeat {r}: batch {args.trials} {t32:.1f} s, batch 1 {t1:.1f} s, batch 1 --n-jobs 2 {t1j2:.1f} s, "
              f"one run at a time {t_seq:.1f} s ({seq['runs']} runs timed, {seq['seconds'] / seq['runs']:.2f} s each)",
              flush=True)
    t32, t1, t1j2, t_seq = (statistics.median(r[k] for r in rows) for k in range(4))
    per_min = lambda t: args.trials / t * 60  # noqa: E731
    return [
        f"study, double pendulum, {args.trials} trials x 4 seeds x 20 epochs x 16 episodes x 1000 steps "
        f"(medians of {args.repeat}; trials/min of the whole command):",
        f"  --batch-trials {args.trials}: {per_min(t32):.1f} trials/min ({t32:.1f} s)",
        f"  --batch-trials 1: {per_min(t1):.1f} trials/min ({t1:.1f} s) -> batched {t1 / t32:.2f}x (target >= 15x)",
        f"  --batch-trials 1 --n-jobs 2: {per_min(t1j2):.1f} trials/min ({t1j2:.1f} s) -> batched {t1j2 / t32:.2f}x "
        f"(target >= 8x)",
        f"  one run at a time (the seeds of a trial one after another, no Optuna; scaled from {args.sample} runs): "
        f"{per_min(t_seq):.1f} trials/min ({t_seq:.1f} s) -> batched {t_seq / t32:.2f}x",
    ]


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
    t0 = time.perf_counter()
    for epoch in range(E):
        noise = 0.5 * np.random.default_rng([0, epoch]).standard_normal((T, N, 2))
        s = np.tile(start, (N, 1))
        for t in range(T):
            u = -s @ K.T + b + noise[t]
            obs_buf[t] = s
            act_buf[t] = u
            s, r, _, _ = batch_step(DOUBLE_PENDULUM, params, s, u)
            rew_buf[t] = r
    seconds = time.perf_counter() - t0
    print(json.dumps({"rate": N * T * E / seconds}))


def population_members(env: str, n_members: int, batch_episodes: int, epochs: int, folder: str, **extra):
    from mollirl import registry
    from mollirl.common.env_util import get_env_plugin
    from mollirl.config import resolve_config
    from mollirl.population import Member

    registry.load_all_plugins()
    preset = dict(get_env_plugin(env).preset)
    members = []
    for k in range(n_members):
        config = resolve_config(env, "reinforce", {}, {"seed": k, "epochs": epochs, "batch_episodes": batch_episodes,
                                                       "log_folder": folder, "progress": False, **extra}, preset)
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
        marks = {}

        def on_epoch(k, j_det):
            marks[k] = time.perf_counter()
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
    print(json.dumps({"rate": steps / (marks[E] - marks[0]), "whole_seconds": t_end - t_start,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "rss_imports": rss_imports, "buffers": buffers}))


def bench_pendulum(args) -> list[str]:
    rows = []
    for r in range(args.repeat):
        bare = run_json("child_bare", "1024", str(args.epochs))["rate"]
        pop = run_json("child_population", "double-pendulum", "64", "16", str(args.epochs))
        rows.append((pop["rate"], bare, pop["rate"] / bare, pop["peak_rss"], pop["rss_imports"], pop["buffers"]))
        print(f"  repeat {r}: population {pop['rate']:,.0f} env-steps/s, bare {bare:,.0f}, "
              f"{pop['rate'] / bare:.0%}", flush=True)
    rate, bare, ratio, peak, base, buffers = (statistics.median(r[k] for r in rows) for k in range(6))
    mib = 2**20
    return [
        f"population REINFORCE, double pendulum, 64 members x 16 episodes x 1000 steps ({args.epochs} timed epochs, "
        f"medians of {args.repeat}):",
        f"  {rate:,.0f} env-steps/s of training rows; bare numpy collection of 1,024 rows {bare:,.0f}; "
        f"{ratio:.0%} (target >= 60%)",
        f"  peak RSS {peak / mib:,.0f} MiB (after imports {base / mib:,.0f} MiB); buffers sized by the trainer "
        f"{buffers / mib:,.0f} MiB",
    ]


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
    parser.add_argument("--part", default="all", choices=["all", "study", "pendulum", "hopper"])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--trials", type=int, default=32, help="study trials (and the batch size)")
    parser.add_argument("--sample", type=int, default=8, help="runs timed one at a time (scaled to the study)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs of the pendulum population")
    parser.add_argument("--hopper-epochs", type=int, default=2, help="timed epochs of the hopper population")
    args = parser.parse_args(argv)
    report = []
    for part, fn in (("study", bench_study), ("pendulum", bench_pendulum), ("hopper", bench_hopper)):
        if args.part in ("all", part):
            print(f"[{part}]", flush=True)
            report += fn(args)
    print()
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
