"""Hopper-stand training speed against MuJoCo's floor: env-steps/s vs (cores x raw mj_step rate / frame_skip).

    python benchmarks/hopper_training.py [--epochs 3] [--batch-episodes 32] [--repeat 3]

Measured in one run:

* the raw ``mj_step`` rate of one ``MjData`` of hopper-stand's model on one thread (a loop of
  ``mujoco.mj_step`` with random controls held for ``frame_skip`` steps; nothing else), so the
  floor of env steps per second on this machine is ``cores x raw / frame_skip``;
* ``python -m mollirl.train --env hopper-stand`` 's learning, in this process: REINFORCE on the
  preset (tanh MLP, ``--batch-episodes`` episodes of 1000 steps per epoch, its J_det row
  beside them, ``mujoco.batch`` on every core), env-steps/s of whole epochs (rollout, update,
  logging to a null logger). Target: at least 75% of the floor.

Each repeat times the raw rate, then the training, then the raw rate again (the CPU speed
drifts by 10-20% within minutes); the ratio uses the mean of the two raw rates. Medians over
repeats are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import mujoco
import numpy as np
from stable_baselines3.common.logger import configure

import mollirl  # noqa: F401
from mollirl import registry
from mollirl.hyperparams import resolve_with_sources
from mollirl.envs.hopper_stand import HopperStandEnv
from mollirl.training import prepare


def raw_rate(seconds: float = 1.5, seed: int = 0) -> tuple[float, int]:
    """Raw ``mj_step`` calls per second on one thread, and the env's frame_skip."""
    env = HopperStandEnv()
    model, data = env.model, mujoco.MjData(env.model)
    rng = np.random.default_rng(seed)
    mujoco.mj_resetData(model, data)
    data.qpos[:] = env.init_qpos
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        data.ctrl[:] = rng.uniform(-1.0, 1.0, size=model.nu) * 0.1
        for _ in range(env.frame_skip):
            mujoco.mj_step(model, data)
        steps += env.frame_skip
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate, env.frame_skip


def training_rate(epochs: int, batch_episodes: int) -> float:
    registry.load_all_plugins()
    config = resolve_with_sources("hopper-stand", "reinforce", None,
                                  {"epochs": epochs + 1, "batch_episodes": batch_episodes})[0]
    prepared = prepare(config)
    model = prepared.model
    model.set_logger(configure(None, []))
    model.learn(total_timesteps=config.steps_per_epoch)  # warm-up epoch
    t0 = time.perf_counter()
    model.learn(total_timesteps=epochs * config.steps_per_epoch, reset_num_timesteps=False)
    rate = epochs * config.steps_per_epoch / (time.perf_counter() - t0)
    prepared.close()
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per repeat")
    parser.add_argument("--batch-episodes", type=int, default=32, help="episodes per epoch (the preset's 32)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    rows = []
    for i in range(args.repeat):
        before, frame_skip = raw_rate(seed=i)
        train = training_rate(args.epochs, args.batch_episodes)
        after, _ = raw_rate(seed=i + 100)
        floor = cores * (before + after) / 2 / frame_skip
        rows.append((train, floor, train / floor))
    train, floor, ratio = (statistics.median(r[k] for r in rows) for k in range(3))
    print(f"hopper-stand REINFORCE, {args.batch_episodes} episodes x 1000 steps per epoch, {cores} cores, "
          f"medians of {args.repeat}:")
    print(f"  training {train:,.0f} env-steps/s; floor {cores} x raw mj_step / frame_skip = {floor:,.0f} env-steps/s; "
          f"{ratio:.0%} (target >= 80%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
