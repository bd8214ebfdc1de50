"""Fixed-step integrators for batched continuous dynamics ``s_dot = f(s, u)``.

All functions work on arrays of shape ``(n_envs, state_dim)`` and
``(n_envs, action_dim)`` and are pure: the same inputs give the same outputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Deriv = Callable[[np.ndarray, np.ndarray], np.ndarray]

INTEGRATORS = ("euler", "semi-implicit", "rk4")


def check_integrator(name: str) -> str:
    """Validate an integrator name; return it."""
    if name not in INTEGRATORS:
        raise ValueError(f"unknown integrator {name!r}; expected one of {list(INTEGRATORS)}")
    return name


def integrate(
    f: Deriv,
    state: np.ndarray,
    action: np.ndarray,
    dt: float,
    method: str,
    position_idx: Sequence[int],
    velocity_idx: Sequence[int],
) -> np.ndarray:
    """One step of length ``dt`` (seconds) with zero-order-hold action.

    :param f: continuous dynamics, ``f(state (N, n), action (N, m)) -> (N, n)``.
    :param method: ``"euler"`` (forward Euler, the paper's), ``"semi-implicit"``
        (symplectic Euler: velocities first, then positions with the new
        velocities) or ``"rk4"`` (classic 4th-order Runge-Kutta).
    :param position_idx: indices of generalized positions in the state, paired
        element-wise with ``velocity_idx`` (used by ``semi-implicit`` only).
    """
    if method == "euler":
        return state + dt * f(state, action)
    if method == "semi-implicit":
        deriv = f(state, action)
        nxt = state.copy()
        nxt[:, velocity_idx] = state[:, velocity_idx] + dt * deriv[:, velocity_idx]
        nxt[:, position_idx] = state[:, position_idx] + dt * nxt[:, velocity_idx]
        return nxt
    if method == "rk4":
        k1 = f(state, action)
        k2 = f(state + 0.5 * dt * k1, action)
        k3 = f(state + 0.5 * dt * k2, action)
        k4 = f(state + dt * k3, action)
        return state + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    raise ValueError(f"unknown integrator {method!r}; expected one of {list(INTEGRATORS)}")
