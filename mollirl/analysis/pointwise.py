"""Point-wise Hölder exponent at one centre from increments over log-spaced step sizes.

A function f is alpha-Hölder at c when |f(c + h d) - f(c)| <= C h^alpha for all
unit directions d and all small h > 0 (the paper's definition in Sec. 3). This
module measures that alpha at a single point: it evaluates the increments
|f(c + s h d_j) - f(c)| for step sizes h_k spread over several decades, for
directions d_j and both signs s = +-1, takes an *upper envelope* E(h_k) over
the directions and signs at each step size, and fits
log E(h) = alpha log h + log C by least squares.

Why an upper envelope, and why the maximum by default: the Hölder bound is a
supremum over directions, so its empirical counterpart is the largest
increment at each h. A direction in which f happens to be flatter (or exactly
flat), or a step size at which an oscillating f happens to return close to
f(c), must not pull the estimate; the maximum ignores both, where a mean or
median of log-increments would dip at every accidental near-zero. The price is
sensitivity to one outlying sample; ``envelope="quantile"`` (an upper quantile,
e.g. 0.9) trades a little of the bound's meaning for robustness when f is
noisy (a stochastic J_sigma, say).

Conventions and traps:

- ``alpha`` is the fitted slope clipped to [0, 1]; ``slope`` keeps the raw fit.
  First differences cannot see exponents above 1: a C^1 function with a
  non-zero gradient at c gives slope 1, one with a zero gradient (a smooth
  extremum, f ~ h^2) gives slope ~2, reported as ``alpha = 1`` (Lipschitz), the
  cap :func:`mollirl.analysis.predicted_holder_exponent` also uses.
- Exactly zero increments (f flat in that direction at that scale, or the
  change below float resolution) and non-finite ones (a diverged rollout
  reported as NaN) cannot enter a log-log fit. They are excluded from the
  envelope and counted in ``n_zero`` and ``n_nonfinite``; a step size with no
  usable sample is left out of the fit (``used`` is False there, with a
  warning). A function that is exactly constant around c gives ``alpha = 1``
  with a warning, never NaN.
- The step sizes must lie in the scaling range: above the resolution of the
  roughness (a Weierstrass sum truncated at N terms is smooth below ~b^-N; an
  increment near ``eps * |f(c)|`` is rounding noise, which biases towards 0)
  and below the scale at which increments saturate at the function's range
  (bias towards 0). For self-affine fractals the envelope wiggles
  log-periodically in h; span several decades.

Compare :func:`mollirl.analysis.holder_exponent`, which fits one exponent to
the increments over *all* pairs of points of a sampled window; see
docs/landscapes.md, "Two Hölder estimators".
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

ENVELOPES = ("max", "quantile")


@dataclasses.dataclass(frozen=True)
class PointwiseHolderFit:
    """Result of :func:`pointwise_holder_exponent` and :func:`pointwise_holder_from_increments`.

    :param alpha: the point-wise Hölder exponent estimate, ``slope`` clipped to
        [0, 1] (1 = Lipschitz at c or smoother).
    :param slope: raw least-squares slope of log E(h) against log h (NaN only for
        an exactly constant function, where ``alpha`` is 1.0 and a warning says so).
    :param intercept: natural log of the Hölder constant C of the fit
        E(h) ~ C h^slope (value units, h in parameter units); NaN as ``slope``.
    :param constant: C = exp(intercept).
    :param r_squared: coefficient of determination of the log-log fit over the
        used step sizes, in [0, 1]; NaN if undefined (constant or all-equal envelope).
    :param h: ``(n_h,)`` step sizes, ascending (parameter units: distance along
        a unit direction).
    :param increments: ``(n_h, n_samples)`` the absolute increments
        |f(c + s h d) - f(c)|, one column per (direction, sign), columns ordered
        direction-major (``d_0 +h, d_0 -h, d_1 +h, ...``); NaN where non-finite.
    :param envelope: ``(n_h,)`` the upper envelope E(h) over the usable (finite,
        non-zero) samples of each row; NaN where a row has none.
    :param used: ``(n_h,)`` True for the step sizes that entered the fit.
    :param n_zero: number of exactly zero increments excluded.
    :param n_nonfinite: number of non-finite increments excluded.
    :param value_at_centre: f(c) when f was evaluated here, else None.
    """

    alpha: float
    slope: float
    intercept: float
    constant: float
    r_squared: float
    h: np.ndarray
    increments: np.ndarray
    envelope: np.ndarray
    used: np.ndarray
    n_zero: int
    n_nonfinite: int
    value_at_centre: float | None = None


def _check_h(h: ArrayLike) -> np.ndarray:
    arr = np.asarray(h, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"h must be a 1-D array of step sizes, got shape {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"h must hold finite step sizes > 0, got {arr.tolist()!r}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"h must hold distinct step sizes, got {arr.tolist()!r}")
    if arr.size < 3:
        raise ValueError(f"h needs at least 3 distinct step sizes for a fit, got {arr.tolist()!r}")
    if arr.max() / arr.min() < 10.0:
        warnings.warn(
            f"h spans a factor {arr.max() / arr.min():.3g} < 10 (less than one decade): the slope is "
            "poorly determined; spread the step sizes over several decades",
            stacklevel=3,
        )
    return arr


def pointwise_holder_from_increments(
    h: ArrayLike,
    increments: ArrayLike,
    *,
    envelope: str = "max",
    quantile: float = 0.9,
) -> PointwiseHolderFit:
    """Fit the point-wise Hölder exponent to precomputed increments |f(c + h d) - f(c)|.

    Use this when the increments come from elsewhere (a landscape already
    evaluated on a log-spaced ray, say); :func:`pointwise_holder_exponent` builds
    them from a batched function. See the module docstring for the fitting rule.

    :param h: ``(n_h,)`` distinct step sizes > 0, at least 3 (any order; the
        result is sorted ascending).
    :param increments: ``(n_h,)`` or ``(n_h, n_samples)`` increments, row k at
        step size ``h[k]``, one column per direction and sign. Signs are
        discarded (absolute values are taken); zero and non-finite entries are
        excluded and counted.
    :param envelope: ``"max"`` (default: the sup over samples, the Hölder bound's
        own statistic) or ``"quantile"`` (the ``quantile`` of each row's usable samples).
    :param quantile: the upper quantile in (0, 1) used when ``envelope="quantile"``.
    :return: a :class:`PointwiseHolderFit` (``value_at_centre`` is None).
    :raises ValueError: on bad arguments, or if fewer than 3 step sizes keep a
        usable increment while some are non-zero (too many non-finite values).
    """
    hs = _check_h(h)
    inc = np.asarray(increments, dtype=np.float64)
    if inc.ndim == 1:
        inc = inc[:, None]
    if inc.ndim != 2 or inc.shape[0] != hs.size or inc.shape[1] == 0:
        raise ValueError(
            f"increments must have shape (n_h,) or (n_h, n_samples) with n_h = {hs.size}, got {inc.shape}"
        )
    if envelope not in ENVELOPES:
        raise ValueError(f"envelope must be one of {ENVELOPES}, got {envelope!r}")
    if not (0.0 < quantile < 1.0):
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    return _fit(hs, inc, envelope, quantile)


def _fit(hs: np.ndarray, inc: np.ndarray, envelope: str, quantile: float) -> PointwiseHolderFit:
    """Fit validated increments ``(n_h, n_samples)``; warnings point at the public function's caller."""
    order = np.argsort(hs)
    hs, inc = hs[order], np.abs(inc[order])
    finite = np.isfinite(inc)
    n_nonfinite = int(np.count_nonzero(~finite))
    n_zero = int(np.count_nonzero(finite & (inc == 0.0)))
    usable = finite & (inc > 0.0)
    inc = np.where(finite, inc, np.nan)

    env = np.full(hs.size, np.nan)
    for k in range(hs.size):
        row = inc[k, usable[k]]
        if row.size:
            env[k] = row.max() if envelope == "max" else np.quantile(row, quantile)
    used = np.isfinite(env)

    def result(alpha: float, slope: float, intercept: float, r_squared: float) -> PointwiseHolderFit:
        return PointwiseHolderFit(
            alpha=alpha, slope=slope, intercept=intercept, constant=float(np.exp(intercept)),
            r_squared=r_squared, h=hs, increments=inc, envelope=env, used=used,
            n_zero=n_zero, n_nonfinite=n_nonfinite,
        )

    if not usable.any() and n_zero > 0:
        warnings.warn(
            f"every finite increment is exactly zero ({n_zero} zero, {n_nonfinite} non-finite): "
            "f is constant around the centre at these step sizes; reporting alpha=1.0",
            stacklevel=3,
        )
        return result(1.0, np.nan, np.nan, np.nan)
    if np.count_nonzero(used) < 3:
        raise ValueError(
            f"fewer than 3 step sizes keep a usable increment ({int(np.count_nonzero(used))} of {hs.size}; "
            f"{n_zero} zero and {n_nonfinite} non-finite of {inc.size} increments excluded); "
            "pass more step sizes or fix the non-finite evaluations"
        )
    if not used.all():
        dropped = hs[~used].tolist()
        warnings.warn(
            f"{int(np.count_nonzero(~used))} of {hs.size} step sizes have no non-zero finite increment "
            f"(h = {dropped}) and are left out of the fit; if they are zero, f is flat at those scales "
            "or its change is below float resolution: use larger step sizes",
            stacklevel=3,
        )

    x, y = np.log(hs[used]), np.log(env[used])
    xc, yc = x - x.mean(), y - y.mean()
    slope = float(np.dot(xc, yc) / np.dot(xc, xc))
    intercept = float(y.mean() - slope * x.mean())
    ss_tot = float(np.dot(yc, yc))
    ss_res = float(np.sum((yc - slope * xc) ** 2))
    r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0 else np.nan
    return result(float(np.clip(slope, 0.0, 1.0)), slope, intercept, r_squared)


def pointwise_holder_exponent(
    f: Callable[[np.ndarray], ArrayLike],
    centre: ArrayLike,
    h: ArrayLike,
    *,
    directions: ArrayLike | None = None,
    two_sided: bool = True,
    normalize: bool = True,
    envelope: str = "max",
    quantile: float = 0.9,
) -> PointwiseHolderFit:
    """Point-wise Hölder exponent of ``f`` at ``centre`` from |f(c + s h d) - f(c)| over step sizes h.

    ``f`` is called **once**, on all points at once: row 0 is the centre, then
    for each direction d_j, each step size h_k (ascending) and each sign s
    (+ then -, if ``two_sided``) the point ``c + s h_k d_j``. So a landscape
    engine evaluates the whole probe as one batch, e.g.
    ``f = lambda p: evaluate_points(backend, policy.mean, p, mode="det", horizon=T, gamma=g).values``
    (see docs/landscapes.md). Increments are then fitted by
    :func:`pointwise_holder_from_increments`.

    :param f: batched function, points ``(n_points, dim)`` float64 -> values
        ``(n_points,)``; must be deterministic (or use common random numbers),
        or sampling noise floors the increments and biases alpha towards 0.
    :param centre: the point c, shape ``(dim,)`` (a scalar means dim = 1).
        f(c) must be finite.
    :param h: ``(n_h,)`` distinct step sizes > 0, at least 3, ideally log-spaced
        over several decades (``np.geomspace(1e-6, 1e-1, 11)``); parameter units
        (a distance, when ``normalize``).
    :param directions: ``(n_directions, dim)`` directions d_j, each non-zero;
        default: the ``dim`` coordinate axes.
    :param two_sided: probe both c + h d and c - h d (default), or only the + side.
    :param normalize: rescale each direction to unit Euclidean norm (default), so
        h is the distance |x - c| of the Hölder definition; False keeps the
        directions as given (h in direction units; the exponent is unchanged,
        only ``constant`` depends on it).
    :param envelope: ``"max"`` or ``"quantile"``, see :func:`pointwise_holder_from_increments`.
    :param quantile: upper quantile in (0, 1) for ``envelope="quantile"``.
    :return: a :class:`PointwiseHolderFit` with ``value_at_centre = f(c)``;
        ``increments`` has ``n_directions * (2 if two_sided else 1)`` columns.
    :raises ValueError: on bad arguments, a non-finite f(c), or if ``f`` returns
        another shape than ``(n_points,)``.
    """
    c = np.atleast_1d(np.asarray(centre, dtype=np.float64))
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"centre must be a scalar or a 1-D array (dim,), got shape {np.shape(centre)}")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"centre must be finite, got {c.tolist()!r}")
    hs = _check_h(h)
    dim = c.size
    if directions is None:
        dirs = np.eye(dim)
    else:
        dirs = np.asarray(directions, dtype=np.float64)
        if dirs.ndim == 1 and dim == dirs.size:
            dirs = dirs[None, :]
        if dirs.ndim != 2 or dirs.shape[1] != dim or dirs.shape[0] == 0:
            raise ValueError(f"directions must have shape (n_directions, {dim}), got {np.shape(directions)}")
        norms = np.linalg.norm(dirs, axis=1)
        if not np.all(np.isfinite(norms) & (norms > 0)):
            bad = np.flatnonzero(~(np.isfinite(norms) & (norms > 0))).tolist()
            raise ValueError(f"directions must be finite and non-zero, got zero or non-finite rows {bad}")
        if normalize:
            dirs = dirs / norms[:, None]
    if envelope not in ENVELOPES:  # fail before calling f
        raise ValueError(f"envelope must be one of {ENVELOPES}, got {envelope!r}")
    if not (0.0 < quantile < 1.0):
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")

    hs = np.sort(hs)
    signs = np.array([1.0, -1.0]) if two_sided else np.array([1.0])
    # offsets[j, k, s] = signs[s] * hs[k] * dirs[j]; flattened direction-major
    offsets = dirs[:, None, None, :] * hs[None, :, None, None] * signs[None, None, :, None]
    points = np.concatenate([c[None, :], c + offsets.reshape(-1, dim)], axis=0)
    values = np.asarray(f(points), dtype=np.float64)
    if values.shape != (points.shape[0],):
        raise ValueError(
            f"f must map points {points.shape} to values ({points.shape[0]},), got shape {values.shape}"
        )
    f0 = float(values[0])
    if not np.isfinite(f0):
        raise ValueError(f"f(centre) must be finite to form increments, got {f0!r}")
    diffs = np.abs(values[1:].reshape(dirs.shape[0], hs.size, signs.size) - f0)
    increments = diffs.transpose(1, 0, 2).reshape(hs.size, -1)  # (n_h, direction-major samples)

    fit = _fit(hs, increments, envelope, quantile)
    scale = float(np.max(np.abs(values[np.isfinite(values)])))  # includes f0, which is finite
    floor = 1e3 * np.finfo(np.float64).eps * scale
    low = fit.used & (fit.envelope < floor)
    if np.any(low):
        warnings.warn(
            f"at h = {fit.h[low].tolist()} the largest increment is below 1e3 * eps * |f| = {floor:.3g}: "
            "those increments are float rounding, which biases alpha towards 0; use larger step sizes",
            stacklevel=2,
        )
    return dataclasses.replace(fit, value_at_centre=f0)
