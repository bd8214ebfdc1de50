"""Where rows are stepped: an env's pure batched dynamics, or VecEnvs.

- :class:`AnalyticBackend`: any env whose VecEnv exposes ``batched_dynamics`` (a
  :class:`BatchedDynamics`: the analytic envs' pure ``batch_step``): the
  ``(rows, state_dim)`` states are stepped directly, no VecEnv, no per-row Python;
  rows that ended are dropped from the working set, so they cost nothing.
- :class:`VecEnvBackend`: any other env, through VecEnvs whose copies are the rows
  (hopper-stand: MuJoCo's threaded ``mujoco.batch`` over one ``MjData`` per row;
  a Gymnasium id: SB3's ``DummyVecEnv``). Either VecEnvs of the needed size made by
  a factory (large rollouts run in chunks of at most ``max_envs`` rows), or fixed
  *segments* stepped in lockstep (a training run: its VecEnv of ``batch_episodes``
  copies plus a one-copy VecEnv for the J_det row). Raw actions are clipped to the
  action space's bounds before the env (SB3's convention; every built-in env
  saturates exactly there); buffers keep the raw ones.

Both implement ``run(rows, horizon=, gamma=, ...) -> RolloutResult`` with the
rules of :mod:`mollirl.rollout.core`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from mollirl.rollout.core import (
    Accumulator, ActionMaker, Buffers, Progress, RolloutResult, Rows, StepHook, check_gamma, check_horizon,
)


def reset_rng(seed: int) -> np.random.Generator:
    """The generator a Gymnasium env's ``reset(seed=seed)`` draws from (``gymnasium.utils.seeding.np_random``:
    PCG64 over ``SeedSequence(seed)``), built without importing Gymnasium."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed))))


class _ResetGenerator:
    """:func:`reset_rng` ``(seed)`` built on its first use: an env whose start state draws nothing (the
    analytic envs' exact default starts) costs no ``SeedSequence`` per row (~10 us, a population's
    thousand rows an epoch)."""

    __slots__ = ("_seed", "_rng")

    def __init__(self, seed: int) -> None:
        self._seed = int(seed)
        self._rng: np.random.Generator | None = None

    def __getattr__(self, name: str):
        rng = self._rng
        if rng is None:
            rng = self._rng = reset_rng(self._seed)
        return getattr(rng, name)


class BatchedDynamics(Protocol):
    """An env's dynamics as pure functions of ``(rows, dim)`` arrays (what :class:`AnalyticBackend` steps).

    ``step`` receives raw actions and saturates them itself; it returns finite next
    states and rewards and flags the rows that diverged (including any non-finite
    value it replaced). The observation is the state.
    """

    obs_dim: int
    action_dim: int

    def initial_state(self, rng: np.random.Generator, options: dict | None) -> np.ndarray:
        """Start state of one row (``reset(seed=..., options=...)`` of the single env). ``rng`` behaves as
        Gymnasium's ``np_random`` of the seed (its methods draw the same numbers); it is built when first used."""
        ...

    def step(self, state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(state (N, n), raw action (N, m)) -> (next state, reward (N,), diverged (N,) bool)``."""
        ...


def _buffers_for(buffers: Buffers | None, buffer_rows: int, horizon: int, obs_dim: int, action_dim: int,
                 n_rows: int) -> Buffers | None:
    if buffer_rows <= 0:
        return None
    if buffer_rows > n_rows:
        raise ValueError(f"buffer_rows {buffer_rows} > rows {n_rows}")
    if buffers is None or not buffers.fits(horizon, buffer_rows, obs_dim, action_dim):
        return Buffers.allocate(horizon, buffer_rows, obs_dim, action_dim)
    buffers.clear()
    return buffers


class AnalyticBackend:
    """Steps :class:`BatchedDynamics` on arrays of rows.

    :param dynamics: e.g. ``AnalyticVecEnv.batched_dynamics``.
    """

    def __init__(self, dynamics: BatchedDynamics) -> None:
        self.dynamics = dynamics
        self.obs_dim = int(dynamics.obs_dim)
        self.action_dim = int(dynamics.action_dim)

    def initial_observation(self, seed: int, options: dict | None = None) -> np.ndarray:
        """The start state of a row reset with ``seed`` and ``options``."""
        return np.asarray(self.dynamics.initial_state(_ResetGenerator(seed), options), dtype=np.float64)

    def _initial_states(self, rows: Rows) -> np.ndarray:
        """``(R, obs_dim)`` start states, each distinct (seed, options) reset computed once (a landscape's
        thousands of det rows share one)."""
        starts: dict[tuple[int, int], np.ndarray] = {}
        out = np.empty((rows.n_rows, self.obs_dim))
        for r, seed in enumerate(rows.seeds.tolist()):
            options = rows.option(r)
            key = (seed, id(options))
            if key not in starts:
                starts[key] = self.initial_observation(seed, options)
            out[r] = starts[key]
        return out

    def run(self, rows: Rows, *, horizon: int, gamma: float | np.ndarray, buffer_rows: int = 0,
            buffers: Buffers | None = None, on_step: StepHook | None = None,
            progress: Progress | None = None) -> RolloutResult:
        t0 = time.perf_counter()
        T = check_horizon(horizon)
        check_gamma(gamma)
        R = rows.n_rows
        dyn = self.dynamics
        state = self._initial_states(rows)
        acts = ActionMaker(rows)
        acc = Accumulator(R, self.obs_dim, gamma)
        buf = _buffers_for(buffers, buffer_rows, T, self.obs_dim, self.action_dim, R)
        B = buffer_rows if buf is not None else 0
        live: np.ndarray | None = None  # None: every row is live (the fast path: slices, no gathers)
        blive: np.ndarray | None = None  # positions, within the live set, of live rows < B
        stopped, steps = False, 0
        # the fast path's pieces as locals (a step is ~20 array operations: Python overhead counts)
        mean_all, noise, K = acts.mean, acts.noise, acts.K
        noise_slice = acts.noise_slice
        disc, und, g = acc.discounted, acc.undiscounted, acc.gamma
        step = dyn.step
        # while every row is live under one gamma, every row's discount is the same number: a Python float
        # (the same products as the per-row array, which takes over once a row ends or gammas differ)
        scalar_discount = np.ndim(g) == 0
        d = 1.0
        for t in range(T):
            if live is None and (t > 0 or acts.first is None):
                u = mean_all(state)
                if noise is not None:
                    if noise_slice:
                        u[:K] += noise[t]
                    else:
                        u = acts(t, state, None)
            else:
                u = acts(t, state, live)
            if buf is not None:
                if live is None:
                    buf.obs[t] = state[:B]
                    buf.actions[t] = u[:B]
                elif blive.size:
                    brows = live[blive]
                    buf.obs[t, brows] = state[blive]
                    buf.actions[t, brows] = u[blive]
            state, reward, div = step(state, u)
            if live is None and scalar_discount:
                disc += d * reward
                und += reward
                d *= g
            elif live is None:
                acc.add(reward, None)
            else:
                acc.add(reward, live)
            if buf is not None:
                if live is None:
                    buf.rewards[t] = reward[:B]
                elif blive.size:
                    buf.rewards[t, live[blive]] = reward[blive]
            steps = t + 1
            if div.any():
                if live is None and scalar_discount:
                    acc.discount.fill(d)  # hand the running discount over to the per-row array
                ended = np.flatnonzero(div) if live is None else live[div]
                acc.end(ended, t + 1, state[div], diverged=True)
                if buf is not None:
                    buf.end_row(ended[ended < B], t)
                keep = ~div
                live = np.flatnonzero(keep) if live is None else live[keep]
                state = state[keep]
                blive = np.flatnonzero(live < B)
            if on_step is not None and on_step(t) is False:
                stopped = True
                break
            if progress is not None:
                progress(t + 1, T)
            if live is not None and live.size == 0:
                break
        remaining = np.arange(R) if live is None else live
        if remaining.size and not stopped:
            acc.end(remaining, steps, state, truncated=steps == T)
            if buf is not None:
                buf.end_row(remaining[remaining < B], steps - 1)
        # the protocol promises finite values; a dynamics that breaks it is caught here, not downstream
        bad = ~(np.isfinite(acc.discounted) & np.isfinite(acc.undiscounted) & np.isfinite(acc.final_obs).all(axis=1))
        if bad.any():
            acc.diverged[bad] = True
            acc.nonfinite[bad] = True
        return acc.result(stopped=stopped, steps=steps, buffers=buf, seconds=time.perf_counter() - t0)

    def close(self) -> None:
        pass


def _set_resets(venv, seeds: Sequence[int], options: Sequence[dict | None]) -> np.ndarray:
    """Reset every copy of ``venv`` with its own seed and options; return the observations.

    SB3's ``VecEnv.seed(s)`` can only give copy i the seed ``s + i``; its ``reset()``
    (``DummyVecEnv``, mollirl's VecEnvs) reads the per-copy lists ``_seeds`` and
    ``_options`` once, which is what this sets.
    """
    venv._seeds = [int(s) for s in seeds]
    venv._options = [dict(o) if o else {} for o in options]
    return np.asarray(venv.reset(), dtype=np.float64).reshape(venv.num_envs, -1)


class VecEnvBackend:
    """Steps rows on VecEnvs: one copy per row.

    :param make_venv: ``n_envs -> VecEnv`` with a time limit >= the horizon (VecEnvs are
        cached by size and reused across calls; :meth:`close` frees them), or None with ``segments``.
    :param max_envs: the largest VecEnv made; a larger rollout runs in chunks of rows (the
        last chunk padded with copies of its last row so that one size serves every chunk).
    :param probe: an already made VecEnv of ``make_venv`` (cached by its size), or None.
    :param segments: fixed VecEnvs stepped in lockstep, their copies concatenated as the rows
        (a rollout has at most as many rows as they have copies; fewer are padded with copies of
        its last row, whose results are dropped).
    """

    def __init__(self, make_venv: Callable[[int], Any] | None = None, max_envs: int = 2048, probe: Any = None,
                 segments: Sequence[Any] | None = None) -> None:
        if not (isinstance(max_envs, int) and max_envs >= 1):
            raise ValueError(f"max_envs must be an integer >= 1, got {max_envs!r}")
        if (make_venv is None) == (segments is None):
            raise ValueError("give make_venv or segments")
        self.make_venv = make_venv
        self.max_envs = max_envs
        self.segments = list(segments) if segments is not None else None
        self._venvs: dict[int, Any] = {} if probe is None else {probe.num_envs: probe}
        first = self.segments[0] if self.segments is not None else (probe if probe is not None else self._venv(1))
        self.obs_dim = int(np.prod(first.observation_space.shape))
        self.action_dim = int(np.prod(first.action_space.shape))
        self.low = np.asarray(first.action_space.low, dtype=np.float64).reshape(-1)
        self.high = np.asarray(first.action_space.high, dtype=np.float64).reshape(-1)

    def _venv(self, n: int):
        if n not in self._venvs:
            self._venvs[n] = self.make_venv(n)
        return self._venvs[n]

    def _chunk_segments(self, n: int) -> list:
        if self.segments is None:
            return [self._venv(n)]
        total = sum(v.num_envs for v in self.segments)
        if n != total:
            raise ValueError(f"this backend steps at most {total} rows (its segments' copies), got {n}")
        return self.segments

    @property
    def chunk_rows(self) -> int:
        """Rows per chunk (fixed segments: all of their copies)."""
        return sum(v.num_envs for v in self.segments) if self.segments is not None else self.max_envs

    def initial_observation(self, seed: int, options: dict | None = None) -> np.ndarray:
        venv = self._venv(1) if self.segments is None else self.segments[0]
        n = venv.num_envs
        return _set_resets(venv, [int(seed)] * n, [options] * n)[0]

    def run(self, rows: Rows, *, horizon: int, gamma: float | np.ndarray, buffer_rows: int = 0,
            buffers: Buffers | None = None, on_step: StepHook | None = None,
            progress: Progress | None = None) -> RolloutResult:
        t0 = time.perf_counter()
        T = check_horizon(horizon)
        check_gamma(gamma)
        R = rows.n_rows
        if self.segments is not None and R > self.chunk_rows:
            raise ValueError(f"this backend steps at most {self.chunk_rows} rows (its segments' copies), got {R}")
        per_chunk = min(R, self.chunk_rows)
        n_chunks = math.ceil(R / per_chunk)
        if n_chunks > 1 and (buffer_rows > 0 or on_step is not None or self.segments is not None):
            raise ValueError(f"{R} rows do not fit one batch of {per_chunk} envs (buffers, step hooks and fixed "
                             "segments need every row in one batch): raise max_envs")
        # fixed segments step all their copies: fewer rows are padded with copies of the last one
        per_chunk = self.chunk_rows if self.segments is not None else math.ceil(R / n_chunks)
        gammas = np.broadcast_to(np.asarray(gamma, dtype=np.float64), (R,))
        acc = Accumulator(R, self.obs_dim, gamma)
        buf = _buffers_for(buffers, buffer_rows, T, self.obs_dim, self.action_dim, R)
        stopped, steps = False, 0
        for c in range(n_chunks):
            real = np.arange(c * per_chunk, min(R, (c + 1) * per_chunk))
            idx = np.concatenate([real, np.full(per_chunk - real.size, real[-1])])
            part = rows if (n_chunks == 1 and idx.size == R) else rows.select(idx)
            hook = on_step
            if progress is not None:
                base = c * T
                hook = _with_progress(on_step, lambda t, base=base: progress(base + t + 1, n_chunks * T))
            sub = Accumulator(idx.size, self.obs_dim, gammas[idx])
            stopped, steps = self._run_chunk(part, sub, T, buf, hook)
            n_real = real.size
            for name in ("discounted", "undiscounted", "lengths", "final_obs", "diverged", "nonfinite", "truncated"):
                getattr(acc, name)[real] = getattr(sub, name)[:n_real]
            if stopped:
                break
        return acc.result(stopped=stopped, steps=steps, buffers=buf, seconds=time.perf_counter() - t0)

    def _run_chunk(self, rows: Rows, acc: Accumulator, T: int, buf: Buffers | None,
                   on_step: StepHook | None) -> tuple[bool, int]:
        segments = self._chunk_segments(rows.n_rows)
        R = rows.n_rows
        sizes = [v.num_envs for v in segments]
        cuts = np.cumsum([0, *sizes])
        opts = [rows.option(r) for r in range(R)]
        obs = np.concatenate([_set_resets(v, rows.seeds[a:b], opts[a:b])
                              for v, a, b in zip(segments, cuts[:-1], cuts[1:])])
        acts = ActionMaker(rows)
        B = buf.shape[1] if buf is not None else 0
        alive = np.ones(R, dtype=bool)
        any_dead = False
        stopped, steps = False, 0
        for t in range(T):
            u = acts(t, obs, None)
            if buf is not None:
                if any_dead:
                    live_b = alive[:B]
                    buf.obs[t, live_b] = obs[:B][live_b]
                    buf.actions[t, live_b] = u[:B][live_b]
                else:
                    buf.obs[t] = obs[:B]
                    buf.actions[t] = u[:B]
            if any_dead:
                u[~alive] = 0.0  # an ended row's copy runs on (auto-reset); give it a harmless action
            clipped = np.clip(u, self.low, self.high)
            new_obs, reward, dones, flags = _step_segments(segments, cuts, clipped)
            finite_r = np.isfinite(reward)
            finite_o = np.isfinite(new_obs).all(axis=1)
            counted = np.where(finite_r, reward, 0.0)
            if any_dead:
                counted = np.where(alive, counted, 0.0)
            acc.add(counted, None)
            if buf is not None:
                buf.rewards[t] = np.where(alive[:B], counted[:B], 0.0)
            steps = t + 1
            ending = alive & (dones | ~finite_r | ~finite_o)
            if ending.any():
                for i in np.flatnonzero(ending):
                    terminal, env_diverged, env_truncated = flags(i)
                    final = terminal if dones[i] else new_obs[i]
                    bad = not (finite_r[i] and np.isfinite(final).all())
                    diverged = bad or env_diverged
                    # the env's own time limit (SB3: "TimeLimit.truncated", set only when not terminated)
                    truncated = not diverged and bool(dones[i]) and env_truncated
                    acc.end(np.array([i]), t + 1, np.nan_to_num(final, nan=0.0, posinf=0.0, neginf=0.0),
                            diverged=diverged, nonfinite=bad, truncated=truncated)
                    if i < B:
                        buf.end_row(np.array([i]), t)
                alive &= ~ending
                any_dead = True
            if on_step is not None and on_step(t) is False:
                stopped = True
                break
            if not alive.any():
                break
            obs = new_obs
            if any_dead and not np.isfinite(obs).all():
                obs = np.nan_to_num(obs, nan=0.0, posinf=0.0, neginf=0.0)  # ended rows only
        if not stopped and alive.any():
            rest = np.flatnonzero(alive)
            acc.end(rest, steps, new_obs[rest], truncated=steps == T)
            if buf is not None:
                buf.end_row(rest[rest < B], steps - 1)
        return stopped, steps

    def close(self) -> None:
        for venv in self._venvs.values():
            venv.close()
        self._venvs.clear()


def _step_segments(segments: Sequence[Any], cuts: np.ndarray, actions: np.ndarray):
    """Step every segment with its slice of ``actions``: ``(obs, rewards, dones, flags)``, where
    ``flags(i) -> (terminal observation, diverged, truncated)`` reads what the env says of row i's end.

    A VecEnv with ``step_arrays`` (``HopperStandVecEnv``) is stepped without its per-env info
    dicts; any other through SB3's ``step_async``/``step_wait`` and its infos.
    """
    if len(segments) == 1 and hasattr(segments[0], "step_arrays"):
        obs, rewards, dones, diverged, truncated, terminal = segments[0].step_arrays(actions)

        def from_arrays(i: int):
            return np.asarray(terminal[i], dtype=np.float64).reshape(-1), bool(diverged[i]), bool(truncated[i])

        return (np.asarray(obs, dtype=np.float64).reshape(obs.shape[0], -1),
                np.asarray(rewards, dtype=np.float64).reshape(-1), np.asarray(dones, dtype=bool), from_arrays)
    for v, a, b in zip(segments, cuts[:-1], cuts[1:]):
        v.step_async(actions[a:b])
    results = [v.step_wait() for v in segments]
    obs = np.concatenate([np.asarray(r[0], dtype=np.float64).reshape(r[0].shape[0], -1) for r in results])
    rewards = np.concatenate([np.asarray(r[1], dtype=np.float64).reshape(-1) for r in results])
    dones = np.concatenate([np.asarray(r[2], dtype=bool).reshape(-1) for r in results])
    infos = [info for r in results for info in r[3]]

    def from_infos(i: int):
        info = infos[i]
        terminal = np.asarray(info.get("terminal_observation", obs[i]), dtype=np.float64).reshape(-1)
        return terminal, bool(info.get("diverged", False)), bool(info.get("TimeLimit.truncated", False))

    return obs, rewards, dones, from_infos


def _with_progress(on_step: StepHook | None, tick: Callable[[int], None]) -> StepHook:
    def hook(t: int):
        tick(t)
        return None if on_step is None else on_step(t)

    return hook


def pure_dynamics(venv) -> BatchedDynamics | None:
    """The env's pure batched dynamics when its VecEnv exposes them (``batched_dynamics``: the analytic
    envs), else None (the env is stepped through VecEnvs). The one place that asks."""
    return getattr(venv, "batched_dynamics", None)


def backend_for(venv=None, *, extra: Sequence[Any] = (), make_venv: Callable[[int], Any] | None = None,
                max_envs: int = 2048) -> AnalyticBackend | VecEnvBackend:
    """The one backend chooser: the fastest backend for rows on ``venv``'s env.

    :param venv: a VecEnv of the env; if it exposes pure dynamics (:func:`pure_dynamics`), they are
        stepped (no VecEnv is used at all). None with ``make_venv``: a one-copy probe is made (and closed
        again when the env has pure dynamics).
    :param extra: further VecEnvs stepped in lockstep after ``venv``'s copies (fixed segments;
        ignored for pure dynamics).
    :param make_venv: instead of fixed segments, a factory of VecEnvs of any size (``venv`` is
        then a probe cached by its size); rollouts of more than ``max_envs`` rows run in chunks.
    """
    own_probe = venv is None
    if own_probe:
        if make_venv is None:
            raise ValueError("backend_for needs a VecEnv or a make_venv factory")
        venv = make_venv(1)
    dynamics = pure_dynamics(venv)
    if dynamics is not None:
        if own_probe:
            venv.close()
        return AnalyticBackend(dynamics)
    if make_venv is not None:
        return VecEnvBackend(make_venv, max_envs=max_envs, probe=venv)
    return VecEnvBackend(segments=[venv, *extra])
