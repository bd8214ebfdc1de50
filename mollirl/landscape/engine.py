"""Batched evaluation engine: every grid point x every episode in one batched rollout.

A *row* is one rollout: grid point ``p`` x episode ``m`` (row ``r = p * M + m``).
All rows advance together, one array operation per time step:

- analytic envs (:class:`AnalyticBackend`): the ``(rows, state_dim)`` states
  are stepped by the env's pure :func:`~mollirl.envs._analytic.batch_step`
  directly (no VecEnv, no per-row Python); rows whose rollout diverged are
  dropped from the working set, so dead rows cost nothing;
- any other env (:class:`VecEnvBackend`): one VecEnv of ``rows`` copies from
  :func:`mollirl.envs.make_vec_env` (for hopper-stand, MuJoCo's threaded
  ``mujoco.batch`` over one ``MjData`` per row), in chunks of at most
  ``max_envs`` copies.

The policy mean of all rows is one :class:`BatchedMean` call per step.
Per row the return is ``sum_{k < K} gamma^k R(s_k, u_k)`` over the steps up to
the episode's end: ``horizon`` steps, or the step on which the env reports
divergence (analytic: a state beyond ``divergence_threshold`` or non-finite;
hopper: a MuJoCo instability reset; any env: ``terminated``). That step's
reward counts, later ones do not: exactly what
:func:`mollirl.evaluation.evaluate_deterministic` computes. Diverged rows keep
that (finite) truncated return and are flagged in ``diverged``; they are never
removed from the results or set to NaN.

The modes (``det``, ``sigma`` with common random numbers) are set up by
:func:`mollirl.landscape.evaluate.evaluate_points`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from gymnasium.utils import seeding

from mollirl.envs._analytic import AnalyticControlEnv, batch_step
from mollirl.landscape.batched_policy import BatchedMean

Progress = Callable[[int, int], None]


@dataclasses.dataclass
class RolloutPlan:
    """What to roll out: ``n_points`` x ``episodes`` rows.

    :param mean: per-point parameters (``n_points`` rows) or one row broadcast to all points.
    :param n_points: number of grid points P.
    :param episodes: episodes per point M.
    :param horizon: steps per episode T.
    :param gamma: discount in (0, 1].
    :param start_seeds: ``(M,)`` the start seed of each episode index.
    :param noise: ``(T, M, action_dim)`` additive action noise (already times sigma), or None.
    :param first_actions: ``(P, action_dim)`` raw actions taken at t = 0 instead of the
        policy's (Q-landscapes; no noise is added at t = 0 then), or None.
    """

    mean: BatchedMean
    n_points: int
    episodes: int
    horizon: int
    gamma: float
    start_seeds: np.ndarray
    noise: np.ndarray | None = None
    first_actions: np.ndarray | None = None

    def actions(self, t: int, obs: np.ndarray, mean: BatchedMean, point: np.ndarray, episode: np.ndarray) -> np.ndarray:
        """Raw actions of the rows ``(point, episode)`` at step ``t``."""
        if t == 0 and self.first_actions is not None:
            return self.first_actions[point]
        u = mean(obs)
        if self.noise is not None:
            u = u + self.noise[t][episode]
        return u


@dataclasses.dataclass
class RolloutOutcome:
    """Per-row results, shaped ``(n_points, episodes)``."""

    returns: np.ndarray
    diverged: np.ndarray
    seconds: float


class Backend(Protocol):
    obs_dim: int
    action_dim: int

    def initial_observation(self, seed: int) -> np.ndarray: ...

    def run(self, plan: RolloutPlan, progress: Progress | None = None) -> RolloutOutcome: ...

    def close(self) -> None: ...


class AnalyticBackend:
    """Rolls out an analytic env's pure dynamics on ``(rows, state_dim)`` arrays.

    :param env: a template :class:`~mollirl.envs._analytic.AnalyticControlEnv`
        (its ``system``, ``params`` and ``initial_state`` are used).
    """

    def __init__(self, env: AnalyticControlEnv) -> None:
        self.env = env
        self.obs_dim = int(env.start_state.shape[0])
        self.action_dim = int(env.action_low.shape[0])

    def initial_observation(self, seed: int) -> np.ndarray:
        """The start state of a copy seeded with ``seed`` (as ``AnalyticVecEnv`` resets it)."""
        rng, _ = seeding.np_random(int(seed))
        return self.env.initial_state(rng, None)

    def run(self, plan: RolloutPlan, progress: Progress | None = None) -> RolloutOutcome:
        t0 = time.perf_counter()
        P, M, T = plan.n_points, plan.episodes, plan.horizon
        system, params = self.env.system, self.env.params
        starts = np.stack([self.initial_observation(s) for s in plan.start_seeds])
        state = np.tile(starts, (P, 1))
        rows = np.arange(P * M)
        point, episode = rows // M, rows % M
        mean = plan.mean if (plan.mean.n_rows == 1 or M == 1) else plan.mean.take(point)
        returns = np.zeros(P * M)
        diverged = np.zeros(P * M, dtype=bool)
        acc = np.zeros(P * M)
        discount = 1.0
        for t in range(T):
            action = plan.actions(t, state, mean, point, episode)
            state, reward, div, _ = batch_step(system, params, state, action)
            acc += discount * reward
            discount *= plan.gamma
            if div.any():
                dead = rows[div]
                returns[dead] = acc[div]
                diverged[dead] = True
                keep = ~div
                rows, point, episode, state, acc = rows[keep], point[keep], episode[keep], state[keep], acc[keep]
                mean = mean.take(np.flatnonzero(keep))
            if progress is not None:
                progress(t + 1, T)
            if rows.size == 0:
                break
        returns[rows] = acc
        return RolloutOutcome(returns.reshape(P, M), diverged.reshape(P, M), time.perf_counter() - t0)

    def close(self) -> None:
        pass


class VecEnvBackend:
    """Rolls out on VecEnvs of ``rows`` copies (e.g. :class:`~mollirl.envs.hopper_vec.HopperStandVecEnv`).

    Each chunk of points (at most ``max_envs`` rows; the last chunk is padded
    with copies of its last point so that one VecEnv size serves every chunk)
    is reset with per-copy seeds and stepped for ``horizon`` steps. VecEnvs are
    cached by size and reused across calls (the snapshot callbacks call
    repeatedly); :meth:`close` frees them.

    :param make_venv: ``n_envs -> VecEnv`` with time limit >= the horizon.
    :param max_envs: largest VecEnv built (>= 1).
    :param probe: an already built VecEnv of ``make_venv`` (cached by its size), or None.
    """

    def __init__(self, make_venv: Callable[[int], Any], max_envs: int = 2048, probe: Any = None) -> None:
        if not (isinstance(max_envs, int) and max_envs >= 1):
            raise ValueError(f"max_envs must be an integer >= 1, got {max_envs!r}")
        self.make_venv = make_venv
        self.max_envs = max_envs
        self._venvs: dict[int, Any] = {} if probe is None else {probe.num_envs: probe}
        probe = self._venv(1) if probe is None else probe
        self.obs_dim = int(np.prod(probe.observation_space.shape))
        self.action_dim = int(np.prod(probe.action_space.shape))

    def _venv(self, n: int):
        if n not in self._venvs:
            self._venvs[n] = self.make_venv(n)
        return self._venvs[n]

    @staticmethod
    def _reset(venv, seeds: list[int]) -> np.ndarray:
        # SB3's VecEnv.seed(s) can only give copy i the seed s + i; rows need the seed
        # of their episode index. VecEnv.reset() (SB3's DummyVecEnv, mollirl's VecEnvs)
        # reads the per-copy list ``_seeds`` that seed() fills, once.
        venv._seeds = list(seeds)
        return np.asarray(venv.reset(), dtype=np.float64).reshape(venv.num_envs, -1)

    def initial_observation(self, seed: int) -> np.ndarray:
        return self._reset(self._venv(1), [int(seed)])[0]

    def run(self, plan: RolloutPlan, progress: Progress | None = None) -> RolloutOutcome:
        t0 = time.perf_counter()
        P, M, T = plan.n_points, plan.episodes, plan.horizon
        per_chunk = max(1, self.max_envs // M)
        n_chunks = math.ceil(P / per_chunk)
        per_chunk = math.ceil(P / n_chunks)
        venv = self._venv(per_chunk * M)
        returns = np.zeros((P, M))
        diverged = np.zeros((P, M), dtype=bool)
        episode = np.tile(np.arange(M), per_chunk)
        seeds = [int(plan.start_seeds[m]) for m in episode]
        for c in range(n_chunks):
            real = np.arange(c * per_chunk, min(P, (c + 1) * per_chunk))
            pts = np.concatenate([real, np.full(per_chunk - real.size, real[-1])])
            point = np.repeat(pts, M)
            mean = plan.mean if plan.mean.n_rows == 1 else plan.mean.take(point)
            obs = self._reset(venv, seeds)
            acc = np.zeros(point.size)
            div = np.zeros(point.size, dtype=bool)
            alive = np.ones(point.size, dtype=bool)
            discount = 1.0
            for t in range(T):
                obs, reward, dones, infos = venv.step(plan.actions(t, obs, mean, point, episode))
                obs = np.asarray(obs, dtype=np.float64).reshape(point.size, -1)
                acc += np.where(alive, discount * np.asarray(reward, dtype=np.float64), 0.0)
                discount *= plan.gamma
                for i in np.flatnonzero(dones & alive):
                    info = infos[i]
                    div[i] = bool(info.get("diverged", not info.get("TimeLimit.truncated", False)))
                alive &= ~dones
                if progress is not None:
                    progress(c * T + t + 1, n_chunks * T)
                if not alive.any():
                    break
            n_real = real.size * M
            returns[real] = acc[:n_real].reshape(real.size, M)
            diverged[real] = div[:n_real].reshape(real.size, M)
        return RolloutOutcome(returns, diverged, time.perf_counter() - t0)

    def close(self) -> None:
        for venv in self._venvs.values():
            venv.close()
        self._venvs.clear()


def make_backend(env: str, env_kwargs: dict[str, Any] | None = None, *, horizon: int = 1000,
                 max_envs: int = 2048) -> AnalyticBackend | VecEnvBackend:
    """The fastest backend for env ``env`` (short name or Gymnasium id) with ``env_kwargs``.

    :raises ValueError: on env kwargs the env does not accept.
    """
    from mollirl.envs import make_vec_env
    from mollirl.envs.vec import AnalyticVecEnv

    kwargs = dict(env_kwargs or {})

    def make(n: int):
        try:
            return make_vec_env(env, n, max_episode_steps=horizon, **kwargs)
        except TypeError as exc:
            raise ValueError(f"bad env kwargs for {env!r}: {exc}") from None

    probe = make(1)
    if isinstance(probe, AnalyticVecEnv):
        return AnalyticBackend(probe.template)
    return VecEnvBackend(make, max_envs=max_envs, probe=probe)
