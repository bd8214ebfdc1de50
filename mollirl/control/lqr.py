"""Linear-quadratic regulators (scipy's Riccati solvers)."""

from __future__ import annotations

import numpy as np
import scipy.linalg


def continuous_lqr(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gain ``K`` minimizing ``int s'Qs + u'Ru dt`` for ``s_dot = A s + B u`` with ``u = -K s``.

    :return: ``(K (m, n), P (n, n))`` with ``P`` the Riccati solution.
    """
    P = scipy.linalg.solve_continuous_are(A, B, Q, R)
    K = np.linalg.solve(R, B.T @ P)
    return K, P


def discrete_lqr(Ad: np.ndarray, Bd: np.ndarray, Q: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gain ``K`` minimizing ``sum s'Qs + u'Ru`` for ``s+ = Ad s + Bd u`` with ``u = -K s``.

    :return: ``(K (m, n), P (n, n))``.
    """
    P = scipy.linalg.solve_discrete_are(Ad, Bd, Q, R)
    K = np.linalg.solve(R + Bd.T @ P @ Bd, Bd.T @ P @ Ad)
    return K, P


def euler_discretize(A: np.ndarray, B: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward-Euler discretization ``(I + dt A, dt B)``, the map the paper's envs integrate."""
    return np.eye(A.shape[0]) + dt * A, dt * B
