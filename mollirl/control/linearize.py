"""Linearization of continuous dynamics ``s_dot = f(s, u)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def linearize(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray], state: np.ndarray, action: np.ndarray, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Jacobians ``A = df/ds`` and ``B = df/du`` at ``(state, action)`` by central differences.

    :param f: continuous dynamics of one state, ``f(s (n,), u (m,)) -> (n,)``
        (e.g. ``env.unwrapped.dynamics``; no saturation).
    :param eps: finite-difference step; central differences are exact for terms
        linear in the perturbed variable and O(eps^2) accurate otherwise.
    :return: ``A (n, n)``, ``B (n, m)``.
    """
    s = np.asarray(state, dtype=np.float64)
    u = np.asarray(action, dtype=np.float64)
    n, m = s.shape[0], u.shape[0]
    A = np.empty((n, n))
    B = np.empty((n, m))
    for j in range(n):
        d = np.zeros(n)
        d[j] = eps
        A[:, j] = (f(s + d, u) - f(s - d, u)) / (2 * eps)
    for j in range(m):
        d = np.zeros(m)
        d[j] = eps
        B[:, j] = (f(s, u + d) - f(s, u - d)) / (2 * eps)
    return A, B
