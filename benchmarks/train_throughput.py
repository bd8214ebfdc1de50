"""Training speed: the default command and REINFORCE's learn against the bare numpy floor, and against SB3's A2C.

    python benchmarks/train_throughput.py [--repeat 3] [--epochs 50]

Measured in one run, on the double pendulum (16 episodes x 1000 steps per epoch):

1. ``python -m mollirl.train --algo reinforce`` (the default: 50 epochs), wall time of the
   whole command in a subprocess (median of ``--repeat``), against the floor
   ``import + bare``: the time to import the stack it runs on (a subprocess importing
   torch, SB3, Gymnasium and mollirl's training modules) plus the bare numpy collection
   of the same 800k steps: per step the policy mean (one matrix product), Gaussian noise,
   the analytic env's pure ``batch_step`` and the obs/action/reward buffers, nothing
   else (no returns, no update, no J_det, no logging). Target: at most 1.6x.
2. REINFORCE's ``learn`` on 16 envs (collection through the rollout core, the J_det row,
   the update, logging to a null logger) in env-steps/s, against the bare collection rate
   measured in the same process, one epoch of each after the other (the CPU speed of this
   machine drifts by 10-20% within minutes). Target: at least 70%.
3. The reference of plain SB3 doing the same work: SB3's A2C (MlpPolicy) with
   ``n_steps=1000`` on a ``DummyVecEnv`` of 16 ``gym.make`` copies.
4. The run folder's bookkeeping (issue 24): one model's ``learn`` epochs with the run folder's logger
   (TensorBoard, ``metrics.csv``, ``train.monitor.csv``, ``progress.csv``) alternating with the same logger
   without the two SB3 files (what a run folder had before), wall and CPU seconds per epoch; the difference
   is what the Monitor rows and SB3's CSV log cost.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np
from stable_baselines3 import A2C
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv

import mollirl  # noqa: F401
from mollirl import registry
from mollirl.hyperparams import resolve_with_sources
from mollirl.control.reference import double_pendulum_reference
from mollirl.envs.double_pendulum import DOUBLE_PENDULUM, DoublePendulumParams
from mollirl.envs._analytic import batch_step
from mollirl.training import prepare

N_ENVS, HORIZON = 16, 1000
IMPORTS = ("import torch, stable_baselines3, gymnasium, mollirl.train, mollirl.training.run, "
           "mollirl.algos.reinforce, mollirl.rollout, stable_baselines3.common.logger")


def bare_collection(epochs: int, seed: int = 0) -> float:
    """Seconds for ``epochs`` x 16 x 1000 steps of the bare numpy floor (module docstring)."""
    ref = double_pendulum_reference(None)
    K, b = np.asarray(ref["K"]), np.asarray(ref["b"])
    params = DoublePendulumParams()
    start = np.array([-0.2, 0.2, 0.0, 0.0])
    obs_buf = np.empty((HORIZON, N_ENVS, 4))
    act_buf = np.empty((HORIZON, N_ENVS, 2))
    rew_buf = np.empty((HORIZON, N_ENVS))
    t0 = time.perf_counter()
    for epoch in range(epochs):
        noise = 0.5 * np.random.default_rng([seed, epoch]).standard_normal((HORIZON, N_ENVS, 2))
        s = np.tile(start, (N_ENVS, 1))
        for t in range(HORIZON):
            u = -s @ K.T + b + noise[t]
            obs_buf[t] = s
            act_buf[t] = u
            s, r, _, _ = batch_step(DOUBLE_PENDULUM, params, s, u)
            rew_buf[t] = r
    return time.perf_counter() - t0


def time_command(repeat: int, epochs: int) -> tuple[float, float]:
    """Median wall seconds of the train command and of importing its stack (subprocesses)."""
    cmd, imp = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mollirl.train", "--algo", "reinforce", "--epochs", str(epochs),
                            "--no-progress", "-f", folder], check=True, capture_output=True)
            cmd.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORTS], check=True)
        imp.append(time.perf_counter() - t0)
    return statistics.median(cmd), statistics.median(imp)


def learn_vs_bare(epochs: int) -> tuple[float, float, float]:
    """Median env-steps/s of REINFORCE's learn and of the bare collection, and the median of their
    per-epoch ratio, timed one epoch of each after the other, ``epochs`` times (this machine's CPU
    speed drifts by 10-20% within minutes: only back-to-back pairs compare like with like).

    The learn epochs continue one model (``reset_num_timesteps=False``): each is a whole epoch of
    ``learn`` (the batched rollout with its J_det row, the update, the epoch's logging to a null logger).
    """
    registry.load_all_plugins()

    config = resolve_with_sources("double-pendulum", "reinforce", None, {"epochs": epochs + 1})[0]
    prepared = prepare(config)
    model = prepared.model
    model.set_logger(configure(None, []))
    spe = config.steps_per_epoch
    model.learn(total_timesteps=spe)  # warm-up: the first update's lazy initialisation
    bare_collection(1)
    ours, bare = [], []
    for i in range(epochs):
        bare.append(bare_collection(1, seed=i))
        t0 = time.perf_counter()
        model.learn(total_timesteps=spe, reset_num_timesteps=False)
        ours.append(time.perf_counter() - t0)
    prepared.close()
    ratio = statistics.median(b / o for b, o in zip(bare, ours))
    return spe / statistics.median(ours), spe / statistics.median(bare), ratio


def bookkeeping(epochs: int) -> tuple[float, float, float, float]:
    """Median wall and CPU seconds of a learn epoch with the run folder's whole logger and with it less
    ``train.monitor.csv`` and ``progress.csv`` (alternating, one model): ``(wall_all, wall_before, cpu_all,
    cpu_before)``."""
    from mollirl.training.run import _configure_logger

    registry.load_all_plugins()
    config = resolve_with_sources("double-pendulum", "reinforce", None, {"epochs": 2 * epochs + 1})[0]
    prepared = prepare(config)
    model = prepared.model
    spe = config.steps_per_epoch
    with tempfile.TemporaryDirectory() as folder:
        from pathlib import Path

        loggers = {}
        for name in ("all", "before"):
            run = Path(folder) / name
            run.mkdir()
            logger = _configure_logger(run, None, None, "mollirl/DoublePendulum-v0", N_ENVS)
            if name == "before":
                for fmt in logger.output_formats[2:]:
                    fmt.close()
                logger.output_formats = logger.output_formats[:2]  # TensorBoard and metrics.csv
            loggers[name] = logger
        model.set_logger(loggers["all"])
        model.learn(total_timesteps=spe)  # warm-up
        times: dict[str, list[tuple[float, float]]] = {"all": [], "before": []}
        for i in range(2 * epochs):
            name = "all" if i % 2 == 0 else "before"
            model.set_logger(loggers[name])
            t0, c0 = time.perf_counter(), time.process_time()
            model.learn(total_timesteps=spe, reset_num_timesteps=False)
            times[name].append((time.perf_counter() - t0, time.process_time() - c0))
        for logger in loggers.values():
            logger.close()
    prepared.close()
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
    return med["all"][0], med["before"][0], med["all"][1], med["before"][1]


def a2c_rate(epochs: int) -> float:
    env = DummyVecEnv([lambda: gym.make("mollirl/DoublePendulum-v0") for _ in range(N_ENVS)])
    model = A2C("MlpPolicy", env, n_steps=HORIZON, seed=0, device="cpu")
    model.set_logger(configure(None, []))
    steps = epochs * N_ENVS * HORIZON
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the command (median)")
    parser.add_argument("--epochs", type=int, default=50, help="epochs of the command (default: its default, 50)")
    parser.add_argument("--learn-epochs", type=int, default=30, help="alternating epochs of the learn timing")
    parser.add_argument("--a2c-epochs", type=int, default=3, help="updates of the SB3 A2C reference")
    parser.add_argument("--bookkeeping-epochs", type=int, default=20,
                        help="alternating epochs of each logger in the bookkeeping timing (0: skip)")
    parser.add_argument("--only-bookkeeping", action="store_true", help="run measure 4 alone")
    args = parser.parse_args(argv)
    if args.only_bookkeeping:
        return report_bookkeeping(args.bookkeeping_epochs)
    steps = args.epochs * N_ENVS * HORIZON
    command, imports = time_command(args.repeat, args.epochs)
    bare = bare_collection(args.epochs)
    print(f"double pendulum, {N_ENVS} episodes x {HORIZON} steps per epoch")
    print(f"1. python -m mollirl.train --algo reinforce ({args.epochs} epochs, {steps:,} env steps), medians of "
          f"{args.repeat}:")
    print(f"   command {command:.2f} s;  import {imports:.2f} s + bare numpy collection {bare:.2f} s "
          f"= {imports + bare:.2f} s;  ratio {command / (imports + bare):.2f}x (target <= 1.3x)")
    ours, bare_rate, ratio = learn_vs_bare(args.learn_epochs)
    print(f"2. REINFORCE learn {ours:,.0f} env-steps/s; bare collection {bare_rate:,.0f} env-steps/s "
          f"(medians over {args.learn_epochs} alternating epochs of each): {ratio:.0%} (median of the per-epoch "
          "ratios; target >= 80%)")
    base = a2c_rate(args.a2c_epochs)
    print(f"3. SB3 A2C + DummyVecEnv {base:,.0f} env-steps/s: mollirl REINFORCE learn is {ours / base:.1f}x")
    if args.bookkeeping_epochs:
        report_bookkeeping(args.bookkeeping_epochs)
    return 0


def report_bookkeeping(epochs: int) -> int:
    wall_all, wall_before, cpu_all, cpu_before = bookkeeping(epochs)
    print(f"4. a learn epoch with the run folder's logger: wall {wall_all * 1e3:.1f} ms, CPU {cpu_all * 1e3:.1f} ms; "
          f"without train.monitor.csv and progress.csv: wall {wall_before * 1e3:.1f} ms, CPU {cpu_before * 1e3:.1f} "
          f"ms (medians of {epochs} alternating epochs each): the SB3 files cost {(wall_all - wall_before) * 1e3:+.2f} "
          f"ms wall, {(cpu_all - cpu_before) * 1e3:+.2f} ms CPU per epoch ({(cpu_all / cpu_before - 1):+.1%} CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
