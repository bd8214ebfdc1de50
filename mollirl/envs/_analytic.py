"""Shared machinery of the analytic (numpy) control envs.

An analytic system is four pure, batched functions over a frozen parameter
dataclass: ``deriv(state, u, params)`` (continuous dynamics), ``reward(state,
u, params)``, ``saturate(action, params)`` and the integrator chosen in the
parameters. :func:`batch_step` composes them; the single Gymnasium env and the
batched :class:`~mollirl.envs.vec.AnalyticVecEnv` both call it, so they cannot
drift apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mollirl.envs.integrators import check_integrator, integrate
from mollirl.envs.render import Canvas


@dataclasses.dataclass(frozen=True)
class AnalyticParams:
    """Parameters every analytic env shares (subclasses add physical constants).

    :param dt: integration step (s).
    :param integrator: ``"euler"`` (the paper's), ``"semi-implicit"`` or ``"rk4"``.
    :param start_noise: half-width of the uniform noise added to the start state
        at reset (state units); 0 starts exactly at ``start_state``.
    :param divergence_threshold: a state component beyond this magnitude (or a
        non-finite one) ends the episode with ``terminated=True``.
    """

    dt: float
    integrator: str = "euler"
    start_noise: float = 0.0
    divergence_threshold: float = 1e8

    def __post_init__(self) -> None:
        check_integrator(self.integrator)
        for name in ("dt", "divergence_threshold"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not (np.isfinite(self.start_noise) and self.start_noise >= 0):
            raise ValueError(f"start_noise must be a finite number >= 0, got {self.start_noise!r}")


@dataclasses.dataclass(frozen=True)
class AnalyticSystem:
    """The pure functions that define one analytic env.

    :param deriv: ``(state (N, n), u (N, m), params) -> state_dot (N, n)``.
    :param reward: ``(state (N, n), u (N, m), params) -> (N,)``, on the
        pre-step state and the saturated action (``R(s_k, u_k)``).
    :param saturate: ``(action (N, m), params) -> u (N, m)``.
    """

    deriv: Callable[[np.ndarray, np.ndarray, Any], np.ndarray]
    reward: Callable[[np.ndarray, np.ndarray, Any], np.ndarray]
    saturate: Callable[[np.ndarray, Any], np.ndarray]
    position_idx: tuple[int, ...]
    velocity_idx: tuple[int, ...]


def batch_step(
    system: AnalyticSystem, params: AnalyticParams, state: np.ndarray, action: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Advance every row of ``state`` by one step under raw ``action``.

    :param state: ``(n_envs, state_dim)`` float64.
    :param action: ``(n_envs, action_dim)`` raw control; saturated here.
    :return: ``(next_state, reward, diverged, u)``: next states (diverged rows
        clipped to +-``divergence_threshold`` with NaN replaced by 0 so that they
        stay finite), rewards ``(n_envs,)`` of ``R(s_k, u_k)``, a boolean
        ``(n_envs,)`` divergence mask, and the saturated controls.
    """
    u = system.saturate(action, params)
    reward = system.reward(state, u, params)
    f = lambda s, a: system.deriv(s, a, params)  # noqa: E731
    with np.errstate(all="ignore"):
        nxt = integrate(f, state, u, params.dt, params.integrator, system.position_idx, system.velocity_idx)
        thr = params.divergence_threshold
        bad = ~np.isfinite(nxt) | (np.abs(nxt) > thr)
        diverged = bad.any(axis=1)
        if diverged.any():
            nxt[diverged] = np.clip(np.nan_to_num(nxt[diverged], nan=0.0, posinf=thr, neginf=-thr), -thr, thr)
        bad_reward = ~np.isfinite(reward)
        if bad_reward.any():
            floor = -np.finfo(np.float64).max / 4
            reward = np.nan_to_num(reward, nan=floor, neginf=floor, posinf=floor)
            diverged = diverged | bad_reward
    return nxt, reward, diverged, u


class AnalyticDynamics:
    """An analytic env's dynamics for the rollout core (:class:`mollirl.rollout.BatchedDynamics`):
    :func:`batch_step` on ``(rows, state_dim)`` arrays, starts as the env's ``reset``.

    :param env: the template env (its ``system``, ``params`` and ``initial_state``).
    """

    def __init__(self, env: AnalyticControlEnv) -> None:
        self.env = env
        self.system = env.system
        self.params = env.params
        self.obs_dim = int(env.start_state.shape[0])
        self.action_dim = int(env.action_low.shape[0])

    def initial_state(self, rng: np.random.Generator, options: dict | None) -> np.ndarray:
        return self.env.initial_state(rng, options)

    def step(self, state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        nxt, reward, diverged, _ = batch_step(self.system, self.params, state, action)
        return nxt, reward, diverged


class AnalyticControlEnv(gym.Env):
    """Base class of the analytic envs: Gymnasium API over :func:`batch_step` with N = 1.

    Subclasses set ``system``, ``state_labels``, build ``self.params`` and the
    action bounds, and implement :meth:`_draw`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 10}
    system: ClassVar[AnalyticSystem]
    state_labels: ClassVar[tuple[str, ...]]

    def __init__(self, params: AnalyticParams, start_state: np.ndarray, action_low: np.ndarray,
                 action_high: np.ndarray, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.params = params
        self.render_mode = render_mode
        self.metadata = dict(self.metadata, render_fps=int(round(1.0 / params.dt)))
        self.start_state = np.asarray(start_state, dtype=np.float64).copy()
        n = self.start_state.shape[0]
        thr = params.divergence_threshold
        self.observation_space = spaces.Box(-thr, thr, shape=(n,), dtype=np.float64)
        # The Box is the saturation range. The env accepts any real action (the raw
        # control u, e.g. an unclipped Gaussian sample) and saturates it itself.
        self.action_low = np.asarray(action_low, dtype=np.float64)
        self.action_high = np.asarray(action_high, dtype=np.float64)
        m = self.action_low.shape[0]
        self.action_space = spaces.Box(self.action_low, self.action_high, dtype=np.float64)
        self.state = self.start_state.copy()
        self._last_u = np.zeros(m)

    # --- Gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state = self.initial_state(self.np_random, options)
        self._last_u = np.zeros_like(self.action_low)
        return self.state.copy(), {}

    def initial_state(self, rng: np.random.Generator, options: dict | None = None) -> np.ndarray:
        """Start state: ``options["state"]`` exactly if given, else ``start_state`` plus
        uniform noise of half-width ``start_noise`` drawn from ``rng`` (no draw when 0)."""
        if options and options.get("state") is not None:
            state = np.asarray(options["state"], dtype=np.float64)
            if state.shape != self.start_state.shape or not np.isfinite(state).all():
                raise ValueError(
                    f"options['state'] must be a finite array of shape {self.start_state.shape}, got {options['state']!r}"
                )
            return state.copy()
        state = self.start_state.copy()
        if self.params.start_noise > 0:
            state += rng.uniform(-self.params.start_noise, self.params.start_noise, size=state.shape)
        return state

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float64).reshape(1, -1)
        nxt, reward, diverged, u = batch_step(self.system, self.params, self.state[None], action)
        self.state = nxt[0]
        self._last_u = u[0]
        info = {"u": u[0].copy(), "diverged": bool(diverged[0])}
        return self.state.copy(), float(reward[0]), bool(diverged[0]), False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        canvas = Canvas(400, 400)
        self._draw(canvas, self.state, self._last_u)
        return canvas.image

    def _draw(self, canvas: Canvas, state: np.ndarray, u: np.ndarray) -> None:
        raise NotImplementedError

    # --- helpers used by control and batched code ----------------------------------
    def dynamics(self, state: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Continuous dynamics ``s_dot = f(s, u)`` for one state (no saturation)."""
        return self.system.deriv(np.asarray(state, float)[None], np.asarray(u, float)[None], self.params)[0]

    def saturate(self, action: np.ndarray) -> np.ndarray:
        """The env's saturation applied to a raw action (any leading shape)."""
        a = np.asarray(action, dtype=np.float64)
        return self.system.saturate(a.reshape(-1, a.shape[-1]), self.params).reshape(a.shape)
