"""Maximal Lyapunov exponent of a closed loop, and the Hölder exponent it predicts.

Prop. 3.1 of the paper (Wang et al., 2023): if the closed loop
x_{k+1} = f(x_k, pi_theta(x_k)) has maximal Lyapunov exponent (MLE)
lambda > -log(gamma) per step, J(theta) is only -log(gamma)/lambda-Hölder
continuous. :func:`lyapunov_exponent` estimates lambda with Benettin's method;
:func:`predicted_holder_exponent` turns it into the predicted exponent, to be
compared with :func:`mollirl.analysis.holder_exponent` on a landscape.

Benettin et al. (1980): follow a reference trajectory and ``n_perturbations``
copies started a distance delta away in random directions. Every
``renorm_every`` steps, measure each copy's distance d to the reference, add
log(d / delta) to its running sum, and pull it back to distance delta along the
same direction. Each copy's direction converges to the most expanding one, so
sum / (number of steps) -> lambda for every copy; averaging the copies reduces
the transient error. All 1 + n_perturbations states go through ``step_fn`` in
one batched call per step.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from mollirl.analysis._grid import check_positive


@dataclasses.dataclass(frozen=True)
class LyapunovResult:
    """Result of :func:`lyapunov_exponent`.

    :param lambda_per_step: MLE estimate in 1/step (natural log), the mean over
        perturbations; -inf if a perturbation collapsed to distance 0.
    :param lambda_per_second: ``lambda_per_step / dt`` in 1/s, or None if no ``dt`` was given.
    :param running: ``(n_renorms,)`` the running estimate (1/step) after each
        renormalization past the discarded transient; it should flatten out.
    :param lambda_per_perturbation: ``(n_perturbations,)`` each copy's estimate
        (1/step); their spread indicates the estimate's convergence.
    :param n_steps_used: steps in the average (after ``discard``; fewer than
        requested if the reference trajectory stopped being finite).
    :param predicted_holder: ``predicted_holder_exponent(lambda_per_step, gamma)``,
        or None if no ``gamma`` was given.
    """

    lambda_per_step: float
    lambda_per_second: float | None
    running: np.ndarray
    lambda_per_perturbation: np.ndarray
    n_steps_used: int
    predicted_holder: float | None


def _row_norms(a: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row, without overflow for entries up to the float64 maximum."""
    scale = np.max(np.abs(a), axis=-1)
    safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
    with np.errstate(invalid="ignore"):
        norms = safe * np.sqrt(np.sum((a / safe[..., None]) ** 2, axis=-1))
    return np.where(np.isfinite(scale), norms, np.inf)


def predicted_holder_exponent(lmbda: float, gamma: float) -> float:
    """Hölder exponent of J(theta) predicted by Prop. 3.1: -log(gamma) / lambda, or 1.0.

    :param lmbda: maximal Lyapunov exponent in 1/step (the same step that
        ``gamma`` discounts), natural log.
    :param gamma: discount factor in (0, 1).
    :return: ``-log(gamma) / lmbda`` if ``lmbda > -log(gamma)`` (chaotic enough to
        break Lipschitz continuity; the result is in (0, 1)), else 1.0 (Lipschitz).
    :raises ValueError: if ``gamma`` is not in (0, 1) or ``lmbda`` is NaN.
    """
    if not (0.0 < gamma < 1.0):
        raise ValueError(f"gamma must be in (0, 1), got {gamma!r}")
    if math.isnan(lmbda):
        raise ValueError(f"lmbda must not be NaN, got {lmbda!r}")
    threshold = -math.log(gamma)
    return threshold / lmbda if lmbda > threshold else 1.0


def lyapunov_exponent(
    step_fn: Callable[[np.ndarray], np.ndarray],
    x0: ArrayLike,
    n_steps: int,
    *,
    eps: float = 1e-8,
    renorm_every: int = 1,
    discard: int | None = None,
    n_perturbations: int = 4,
    dt: float | None = None,
    gamma: float | None = None,
    rng: np.random.Generator | int | None = None,
) -> LyapunovResult:
    """Maximal Lyapunov exponent of the map x_{k+1} = step_fn(x_k) by Benettin's renormalization.

    For a closed loop, ``step_fn`` is one env step under the *deterministic*
    policy (the mean action), batched: it must map states ``(N, n)`` to next
    states ``(N, n)`` row by row, with no randomness (common random numbers at
    most), or the copies separate for reasons other than the dynamics.

    The perturbation size is ``delta = eps * max(1, |x_ref|)`` (re-evaluated at
    each renormalization), so a reference trajectory that grows does not lose
    the perturbation to floating-point rounding. ``eps`` must stay small enough
    for the map to act linearly on it over ``renorm_every`` steps.

    :param step_fn: batched map ``(N, n) -> (N, n)``, float64; called ``n_steps``
        times with N = 1 + ``n_perturbations`` (row 0 is the reference).
    :param x0: initial state, shape ``(n,)``.
    :param n_steps: number of map steps, > ``discard``.
    :param eps: relative perturbation size (see above), > 0.
    :param renorm_every: steps between renormalizations, >= 1.
    :param discard: steps of transient (direction alignment, settling on the
        attractor) excluded from the average; default ``n_steps // 10``. The copies
        are still renormalized during the transient.
    :param n_perturbations: number of perturbed copies averaged, >= 1.
    :param dt: seconds per step; if given, ``lambda_per_second = lambda / dt``.
    :param gamma: discount factor in (0, 1); if given, the result carries
        :func:`predicted_holder_exponent`.
    :param rng: a ``numpy.random.Generator`` or a seed for the initial directions;
        None draws fresh entropy (not reproducible).
    :return: a :class:`LyapunovResult`. If the reference trajectory stops being
        finite, the estimate uses the steps before that and a warning is issued.
    :raises ValueError: on bad arguments, or if ``step_fn`` returns another shape.
    """
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x0 must be a non-empty 1-D state (n,), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, got {x0!r}")
    eps = check_positive(eps, "eps")
    for name, value in (("n_steps", n_steps), ("renorm_every", renorm_every), ("n_perturbations", n_perturbations)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if discard is None:
        discard = n_steps // 10
    if not (isinstance(discard, (int, np.integer)) and 0 <= discard < n_steps):
        raise ValueError(f"discard must be an integer in [0, n_steps={n_steps}), got {discard!r}")
    if n_steps - discard < renorm_every:
        raise ValueError(
            f"n_steps - discard = {n_steps - discard} must be >= renorm_every={renorm_every} to measure anything"
        )
    if dt is not None:
        dt = check_positive(dt, "dt")
    if gamma is not None and not (0.0 < gamma < 1.0):
        raise ValueError(f"gamma must be in (0, 1), got {gamma!r}")
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def random_directions(count: int) -> np.ndarray:
        u = generator.standard_normal((count, x.size))
        return u / np.linalg.norm(u, axis=1, keepdims=True)

    def perturb_size(ref: np.ndarray) -> float:
        return eps * max(1.0, float(_row_norms(ref)))

    delta = perturb_size(x)
    states = np.vstack([x, x + delta * random_directions(n_perturbations)])
    log_sums = np.zeros(n_perturbations)
    running: list[float] = []
    steps_used = 0
    collapsed = exploded = False
    for k in range(1, n_steps + 1):
        nxt = np.asarray(step_fn(states), dtype=np.float64)
        if nxt.shape != states.shape:
            raise ValueError(f"step_fn must map shape {states.shape} to the same shape, got {nxt.shape}")
        if not np.all(np.isfinite(nxt[0])):
            warnings.warn(
                f"the reference trajectory became non-finite at step {k}; "
                f"the estimate uses the {steps_used} steps before it",
                stacklevel=2,
            )
            break
        states = nxt
        if k % renorm_every:
            continue
        diff = states[1:] - states[0]
        dist = _row_norms(diff)
        dist[~np.isfinite(dist)] = np.inf  # a copy that blew up counts as infinite growth
        bad = ~np.isfinite(dist) | (dist == 0.0)
        if k > discard:
            with np.errstate(divide="ignore"):
                log_sums += np.log(dist / delta)
            steps_used += renorm_every
            running.append(float(np.mean(log_sums)) / steps_used)
            collapsed |= bool(np.any(dist == 0.0))
            exploded |= bool(np.any(np.isinf(dist)))
        new_delta = perturb_size(states[0])
        directions = np.where(bad[:, None], 0.0, diff) / np.where(bad, 1.0, dist)[:, None]
        if np.any(bad):
            directions[bad] = random_directions(int(bad.sum()))
        states[1:] = states[0] + new_delta * directions
        delta = new_delta

    if steps_used == 0:
        nan = np.full(n_perturbations, np.nan)
        return LyapunovResult(np.nan, None if dt is None else np.nan, np.array([]), nan, 0, None)
    if collapsed:
        warnings.warn(
            "a perturbation collapsed onto the reference (distance exactly 0): the map is locally "
            "degenerate (e.g. saturated), so that copy's estimate is -inf",
            stacklevel=2,
        )
    if exploded:
        warnings.warn(
            "a perturbed copy became non-finite while the reference stayed finite, so that copy's "
            "estimate is +inf; decrease eps or renorm_every",
            stacklevel=2,
        )
    per_copy = log_sums / steps_used
    lam = float(np.mean(per_copy))
    return LyapunovResult(
        lambda_per_step=lam,
        lambda_per_second=None if dt is None else lam / dt,
        running=np.asarray(running),
        lambda_per_perturbation=per_copy,
        n_steps_used=steps_used,
        predicted_holder=None if gamma is None else predicted_holder_exponent(lam, gamma),
    )
