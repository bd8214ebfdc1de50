"""Env-steps/s of mollirl's batched VecEnv vs SB3's DummyVecEnv over the same Gymnasium env.

    python benchmarks/env_throughput.py [--seconds 2] [--n 16 1024] [--hopper-n 32]

Both run in this process, on the same env ids and kwargs, with random actions
drawn once per vector step (not timed). Prints one table row per (env, N):
the analytic envs at ``--n`` and hopper-stand (MuJoCo) at ``--hopper-n``.
``benchmarks/hopper_throughput.py`` compares the hopper's stepping back-ends.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

import mollirl  # noqa: F401
from mollirl.envs import make_vec_env

ENVS = {"quadrotor": "mollirl/PlanarQuadrotor-v0", "double-pendulum": "mollirl/DoublePendulum-v0",
        "hopper-stand": "mollirl/HopperStand-v0"}
CENTER = {"quadrotor": 4.9, "double-pendulum": 0.0, "hopper-stand": 0.0}
SCALE = {"quadrotor": 1.0, "double-pendulum": 1.0, "hopper-stand": 0.3}


def steps_per_second(venv, seconds: float, center: float, scale: float) -> float:
    rng = np.random.default_rng(0)
    n = venv.num_envs
    dim = venv.action_space.shape[0]
    actions = [scale * rng.normal(size=(n, dim)) + center for _ in range(64)]
    venv.seed(0)
    venv.reset()
    venv.step(actions[0])  # warm-up
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for a in actions:
            venv.step(a)
        steps += len(actions) * n
    return steps / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--n", type=int, nargs="+", default=[16, 1024], help="numbers of analytic envs")
    parser.add_argument("--hopper-n", type=int, nargs="*", default=[32], help="numbers of hopper envs")
    args = parser.parse_args(argv)
    print(f"{'env':<16} {'N':>5} {'mollirl steps/s':>16} {'DummyVecEnv steps/s':>20} {'ratio':>7}")
    for name, env_id in ENVS.items():
        for n in args.hopper_n if name == "hopper-stand" else args.n:
            ours = steps_per_second(make_vec_env(name, n), args.seconds, CENTER[name], SCALE[name])
            ref_env = DummyVecEnv([lambda: gym.make(env_id) for _ in range(n)])
            ref = steps_per_second(ref_env, args.seconds, CENTER[name], SCALE[name])
            print(f"{name:<16} {n:>5} {ours:>16,.0f} {ref:>20,.0f} {ours / ref:>6.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
