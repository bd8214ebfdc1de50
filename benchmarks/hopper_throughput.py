"""Env-steps per second of ``HopperStandVecEnv`` vs SB3's ``DummyVecEnv`` of ``gym.make`` envs.

Usage::

    python benchmarks/hopper_throughput.py [--n-envs 8 32 128] [--steps 200] [--n-threads N]

Each row times ``--steps`` vector steps of uniform random actions (drawn up front
from a seeded generator, so not timed) after a short warm-up, in one process.
The ``raw`` rows time the physics alone (``frame_skip`` ``mj_step`` calls per env
step, no reward/observation/infos) for the three ways of stepping MuJoCo in
parallel that were tried, to show why ``HopperStandVecEnv`` uses ``mujoco.batch``.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import gymnasium as gym
import mujoco
import numpy as np
from mujoco import rollout
from mujoco.batch import Batch
from stable_baselines3.common.vec_env import DummyVecEnv

import mollirl  # noqa: F401  (registers the envs)

HOPPER_STAND_ID = "mollirl/HopperStand-v0"
from mollirl.envs.hopper_stand import HopperStandEnv
from mollirl.envs.hopper_vec import HopperStandVecEnv

WARMUP_STEPS = 10


def _time_vec_env(venv, actions: np.ndarray) -> float:
    venv.seed(0)
    venv.reset()
    for a in actions[:WARMUP_STEPS]:
        venv.step(a)
    start = time.perf_counter()
    for a in actions[WARMUP_STEPS:]:
        venv.step(a)
    return (len(actions) - WARMUP_STEPS) * actions.shape[1] / (time.perf_counter() - start)


def _time_raw(step, actions: np.ndarray) -> float:
    for a in actions[:WARMUP_STEPS]:
        step(a)
    start = time.perf_counter()
    for a in actions[WARMUP_STEPS:]:
        step(a)
    return (len(actions) - WARMUP_STEPS) * actions.shape[1] / (time.perf_counter() - start)


def _raw_steppers(model: mujoco.MjModel, n_envs: int, n_threads: int, frame_skip: int) -> dict:
    """Physics-only steppers: MjData + Python thread pool, mujoco.rollout, mujoco.batch."""
    datas = [mujoco.MjData(model) for _ in range(n_envs)]
    pool = ThreadPoolExecutor(n_threads)
    chunks = np.array_split(np.arange(n_envs), n_threads)

    def step_chunk(ids: np.ndarray, actions: np.ndarray) -> None:
        for i in ids.tolist():
            datas[i].ctrl[:] = actions[i]
            mujoco.mj_step(model, datas[i], frame_skip)  # releases the GIL

    def threads(actions: np.ndarray) -> None:
        list(pool.map(step_chunk, chunks, [actions] * len(chunks)))

    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS.value
    state = np.zeros((n_envs, mujoco.mj_stateSize(model, spec)))
    for i, d in enumerate(datas):
        mujoco.mj_getState(model, d, state[i], spec)
    roller = rollout.Rollout(nthread=n_threads)
    thread_datas = [mujoco.MjData(model) for _ in range(n_threads)]
    out = np.zeros((n_envs, frame_skip, state.shape[1]))
    sensordata = np.zeros((n_envs, frame_skip, model.nsensordata))
    models = [model] * n_envs

    def rollout_step(actions: np.ndarray) -> None:
        control = np.ascontiguousarray(np.repeat(actions[:, None, :], frame_skip, axis=1))
        roller.rollout(models, thread_datas, state, control, nstep=frame_skip, state=out, sensordata=sensordata,
                       skip_checks=True)
        state[:] = out[:, -1]

    batch = Batch(model, n_envs, nthread=n_threads)
    batch.reset()
    ctrl = batch.bind("ctrl")

    def batch_step(actions: np.ndarray) -> None:
        ctrl[:] = actions
        batch.step(nstep=frame_skip)

    return {"raw: MjData + ThreadPoolExecutor": threads, "raw: mujoco.rollout": rollout_step,
            "raw: mujoco.batch.Batch": batch_step}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-envs", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--steps", type=int, default=200, help="timed vector steps per row")
    parser.add_argument("--n-threads", type=int, default=None, help="default: CPUs available")
    parser.add_argument("--no-raw", action="store_true", help="skip the physics-only rows")
    args = parser.parse_args(argv)
    n_threads = args.n_threads or len(os.sched_getaffinity(0))
    model = HopperStandEnv().model
    rng = np.random.default_rng(0)
    print(f"mujoco {mujoco.__version__}, {n_threads} threads, {args.steps} timed steps per row")
    print(f"{'n_envs':>6}  {'stepper':<34} {'env-steps/s':>12} {'vs Dummy':>9}")
    for n_envs in args.n_envs:
        actions = rng.uniform(-1.0, 1.0, size=(args.steps + WARMUP_STEPS, n_envs, 3)).astype(np.float32)
        dummy = DummyVecEnv([lambda: gym.make(HOPPER_STAND_ID) for _ in range(n_envs)])
        base = _time_vec_env(dummy, actions)
        dummy.close()
        vec = HopperStandVecEnv(n_envs, n_threads=n_threads)
        rows = {"DummyVecEnv(gym.make)": base, "HopperStandVecEnv": _time_vec_env(vec, actions)}
        vec.close()
        if not args.no_raw:
            for name, step in _raw_steppers(model, n_envs, min(n_threads, n_envs), 4).items():
                rows[name] = _time_raw(step, actions.astype(np.float64))
        for name, rate in rows.items():
            print(f"{n_envs:>6}  {name:<34} {rate:>12,.0f} {rate / base:>8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
