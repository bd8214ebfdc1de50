"""Training throughput: mollirl REINFORCE vs SB3 A2C collecting the same steps.

    python benchmarks/train_throughput.py [--epochs 3]

Both train on the double pendulum with 16 envs x 1000 steps per update, in this
process. mollirl: REINFORCE on the batched AnalyticVecEnv, bare ``learn`` (the
per-epoch J_det evaluation that ``python -m mollirl.train`` adds is not
included; it costs one 1000-step rollout per epoch). Baseline: SB3's A2C (MlpPolicy) with
``n_steps=1000`` on a ``DummyVecEnv`` of 16 ``gym.make`` copies. Prints env-steps/s
and the ratio.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
from stable_baselines3 import A2C
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import DummyVecEnv

import mollirl  # noqa: F401
from mollirl.algos.reinforce import REINFORCE
from mollirl.control.reference import double_pendulum_reference
from mollirl.envs import make_vec_env

N_ENVS, HORIZON = 16, 1000


def timed_learn(model, steps: int) -> float:
    model.set_logger(configure(None, []))
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    return steps / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="updates per measurement")
    args = parser.parse_args(argv)
    steps = args.epochs * N_ENVS * HORIZON
    ref = {k: v.tolist() for k, v in double_pendulum_reference(None).items()}
    ours = REINFORCE("GaussianPolicy", make_vec_env("double-pendulum", N_ENVS), horizon=HORIZON, step_size=1.0,
                     baseline="mean", policy_kwargs={"mean_init": ref, "sigma": 0.5}, seed=0)
    ours_rate = timed_learn(ours, steps)
    base_env = DummyVecEnv([lambda: gym.make("mollirl/DoublePendulum-v0") for _ in range(N_ENVS)])
    base = A2C("MlpPolicy", base_env, n_steps=HORIZON, seed=0, device="cpu")
    base_rate = timed_learn(base, steps)
    print(f"double pendulum, {N_ENVS} envs x {HORIZON} steps per update, {args.epochs} updates")
    print(f"{'mollirl REINFORCE':<28} {ours_rate:>12,.0f} env-steps/s")
    print(f"{'SB3 A2C + DummyVecEnv':<28} {base_rate:>12,.0f} env-steps/s")
    print(f"ratio {ours_rate / base_rate:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
