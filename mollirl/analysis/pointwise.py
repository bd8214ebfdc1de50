"""Point-wise Hölder exponent at one centre from increments over log-spaced step sizes.

A function f is alpha-Hölder at c when |f(c + h d) - f(c)| <= C h^alpha for all
unit directions d and all small h > 0 (the paper's definition in Sec. 3). This
module measures that alpha at a single point: it evaluates the increments
|f(c + s h d_j) - f(c)| for step sizes h_k spread over several decades, for
directions d_j and both signs s = +-1, takes an *upper envelope* E(h_k) over
the directions and signs at each step size, finds the **scaling ranges** of
E(h) (:mod:`mollirl.analysis.scaling`: stretches of at least ``min_decades``
decades over which log E(h) = alpha log h + log C holds) and reports the
exponent of the **roughest** range, with a bootstrap interval over directions,
its range of h, its fit quality, and every other range with its own exponent.
Where no range of ``min_decades`` decades exists, ``status`` is
``"no scaling range"``, ``alpha`` is NaN and ``reason`` says why: never one
line fitted across a crossover.

Why an upper envelope, and why the maximum by default: the Hölder bound is a
supremum over directions, so its empirical counterpart is the largest
increment at each h. A direction in which f happens to be flatter (or exactly
flat), or a step size at which an oscillating f happens to return close to
f(c), must not pull the estimate; the maximum ignores both, where a mean or
median of log-increments would dip at every accidental near-zero. The price is
sensitivity to one outlying sample; ``envelope="quantile"`` (an upper quantile,
e.g. 0.9) trades a little of the bound's meaning for robustness when f is
noisy (a stochastic J_sigma, say).

The interval: the directions are a sample of the sphere of directions, so the
95% interval of alpha is a bootstrap over directions (each with both its signs):
resample the directions, rebuild the envelope, refit over the same range
(:func:`mollirl.analysis.stats.interval`, BCa, 10,000 resamples, fixed seed). It
says how much the exponent depends on which directions were probed, given the
range; with one direction (a 1-D function) there is nothing to resample and the
interval is undefined ("n < 2").

Conventions and traps:

- ``alpha`` is the range's slope clipped to [0, 1]; ``slope`` keeps the raw fit.
  First differences cannot see exponents above 1: a C^1 function with a
  non-zero gradient at c gives slope 1, one with a zero gradient (a smooth
  extremum, f ~ h^2) gives slope ~2, reported as ``alpha = 1`` (Lipschitz), the
  cap :func:`mollirl.analysis.predicted_holder_exponent` also uses.
- Exactly zero increments (f flat in that direction at that scale, or the
  change below float resolution) and non-finite ones (a diverged rollout
  reported as NaN) cannot enter a log-log fit. They are excluded from the
  envelope and counted in ``n_zero`` and ``n_nonfinite``; a step size with no
  usable sample is left out (``valid`` is False there, with a warning). A
  function that is exactly constant around c gives ``alpha = 1`` and status
  ``"constant"`` with a warning, never NaN.
- Increments near ``eps * |f(c)|`` are float rounding: they form a flat floor at
  the smallest h (a warning says so), which the range finder reports as a
  ``"flat"`` range, never as the exponent.
- Span several decades of h (a range needs ``min_decades``, default 2, and a
  self-affine fractal's envelope wiggles log-periodically in h with period
  log10 b decades), keep the smallest h well above float resolution and the
  largest below the scale at which increments saturate at the function's range.

Compare :func:`mollirl.analysis.holder_exponent`, which fits the increments over
*all* pairs of points of a sampled window; see docs/landscapes.md, "Two Hölder
estimators".
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from mollirl.analysis import stats
from mollirl.analysis.scaling import (
    TOLERANCE,
    RangeReading,
    Scaling,
    ScalingRange,
    check_fit_options,
    scaling_ranges,
    slopes_along_last_axis,
)

ENVELOPES = ("max", "quantile")
MIN_DECADES = 2.0
"""Default shortest scaling range of the point-wise estimator, decades of h."""


@dataclasses.dataclass(frozen=True)
class PointwiseHolderFit(RangeReading):
    """Result of :func:`pointwise_holder_exponent` and :func:`pointwise_holder_from_increments`.

    :param alpha: the point-wise Hölder exponent: ``range.alpha``, the exponent of the
        roughest scaling range (its slope clipped to [0, 1]; 1 = Lipschitz at c or
        smoother); NaN when ``status`` is ``"no scaling range"``; 1.0 for a constant f.
    :param slope: raw least-squares slope of log E(h) against log h over that range (NaN
        without a range or for a constant f).
    :param intercept: natural log of the Hölder constant C of the range's fit
        E(h) ~ C h^slope (value units, h in parameter units); NaN as ``slope``.
    :param constant: C = exp(intercept).
    :param r_squared: coefficient of determination of the range's fit; NaN as ``slope``.
    :param h: ``(n_h,)`` step sizes, ascending (parameter units: distance along
        a unit direction).
    :param increments: ``(n_h, n_samples)`` the absolute increments
        |f(c + s h d) - f(c)|, one column per (direction, sign), columns ordered
        direction-major (``d_0 +h, d_0 -h, d_1 +h, ...``); NaN where non-finite.
    :param envelope: ``(n_h,)`` the upper envelope E(h) over the usable (finite,
        non-zero) samples of each row; NaN where a row has none.
    :param used: ``(n_h,)`` True for the step sizes of the reported range (the fit).
    :param n_zero: number of exactly zero increments excluded.
    :param n_nonfinite: number of non-finite increments excluded.
    :param value_at_centre: f(c) when f was evaluated here, else None.
    :param status: ``"ok"``, ``"no scaling range"`` or ``"constant"``.
    :param reason: why, when the status is not ``"ok"``.
    :param range: the reported :class:`~mollirl.analysis.scaling.ScalingRange` (with its
        interval over directions), or None.
    :param ranges: every range of at least ``min_decades`` decades, ascending in h, each
        with its exponent, kind (``"power law"`` / ``"flat"``) and interval.
    :param segments: every segment of the partition of h (ranges and crossovers).
    :param min_decades: the shortest span that counts as a range.
    :param n_directions: the resampling units of the interval (directions, each with its signs).
    :param caveat: where h scales more roughly than the reported range without being a
        range (see :class:`~mollirl.analysis.scaling.Scaling`); else ``""``.
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
    status: str = "ok"
    reason: str = ""
    range: ScalingRange | None = None
    ranges: tuple[ScalingRange, ...] = ()
    segments: tuple[ScalingRange, ...] = ()
    min_decades: float = MIN_DECADES
    n_directions: int = 0
    caveat: str = ""

    @property
    def valid(self) -> np.ndarray:
        """``(n_h,)`` True for the step sizes with a usable envelope."""
        return np.isfinite(self.envelope)

    def _units(self) -> dict:
        return {"n_directions": self.n_directions}


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


def _check_options(envelope: str, quantile: float, min_decades: float, tolerance: float, n_resamples: int) -> None:
    if envelope not in ENVELOPES:
        raise ValueError(f"envelope must be one of {ENVELOPES}, got {envelope!r}")
    check_fit_options(quantile, min_decades, tolerance, n_resamples)


def pointwise_holder_from_increments(
    h: ArrayLike,
    increments: ArrayLike,
    *,
    envelope: str = "max",
    quantile: float = 0.9,
    min_decades: float = MIN_DECADES,
    tolerance: float = TOLERANCE,
    columns_per_direction: int = 1,
    n_resamples: int = stats.N_RESAMPLES,
) -> PointwiseHolderFit:
    """Find the scaling ranges of precomputed increments |f(c + h d) - f(c)| and their exponents.

    Use this when the increments come from elsewhere (a landscape already
    evaluated on a log-spaced ray, say); :func:`pointwise_holder_exponent` builds
    them from a batched function. See the module docstring for the rule.

    :param h: ``(n_h,)`` distinct step sizes > 0, at least 3 (any order; the
        result is sorted ascending).
    :param increments: ``(n_h,)`` or ``(n_h, n_samples)`` increments, row k at
        step size ``h[k]``, one column per direction and sign. Signs are
        discarded (absolute values are taken); zero and non-finite entries are
        excluded and counted.
    :param envelope: ``"max"`` (default: the sup over samples, the Hölder bound's
        own statistic) or ``"quantile"`` (the ``quantile`` of each row's usable samples).
    :param quantile: the upper quantile in (0, 1) used when ``envelope="quantile"``.
    :param min_decades: the shortest scaling range, decades of h (default 2).
    :param tolerance: residual scatter (decades) below which a stretch is an exact
        power law (see :mod:`mollirl.analysis.scaling`).
    :param columns_per_direction: consecutive columns that belong to one direction (2
        for both signs): the bootstrap resamples directions, not single columns.
    :param n_resamples: bootstrap resamples of each range's interval.
    :return: a :class:`PointwiseHolderFit` (``value_at_centre`` is None).
    :raises ValueError: on bad arguments.
    """
    hs = _check_h(h)
    inc = np.asarray(increments, dtype=np.float64)
    if inc.ndim == 1:
        inc = inc[:, None]
    if inc.ndim != 2 or inc.shape[0] != hs.size or inc.shape[1] == 0:
        raise ValueError(
            f"increments must have shape (n_h,) or (n_h, n_samples) with n_h = {hs.size}, got {inc.shape}"
        )
    _check_options(envelope, quantile, min_decades, tolerance, n_resamples)
    if not (isinstance(columns_per_direction, (int, np.integer)) and columns_per_direction >= 1
            and inc.shape[1] % columns_per_direction == 0):
        raise ValueError(f"columns_per_direction must be an integer >= 1 dividing the {inc.shape[1]} columns, "
                         f"got {columns_per_direction!r}")
    return _fit(hs, inc, envelope, quantile, float(min_decades), float(tolerance), int(columns_per_direction),
                int(n_resamples))


def _envelope_of(samples: np.ndarray, envelope: str, quantile: float) -> np.ndarray:
    """Envelope over axis -2 of ``samples (..., n_samples, n_h)`` (NaN = unusable) -> ``(..., n_h)``.

    The quantile is numpy's default (linear) one over the non-NaN samples, vectorized (``np.nanquantile``
    loops over the slices, too slow for 10,000 bootstrap resamples)."""
    if envelope == "max":
        return np.fmax.reduce(samples, axis=-2)  # NaN only where every sample is NaN
    ordered = np.sort(samples, axis=-2)  # NaN last
    count = np.sum(np.isfinite(samples), axis=-2, keepdims=True)
    pos = (count - 1) * quantile
    lo = np.clip(np.floor(pos).astype(np.intp), 0, samples.shape[-2] - 1)
    hi = np.clip(lo + 1, 0, np.maximum(count - 1, 0))
    frac = pos - np.floor(pos)
    a = np.take_along_axis(ordered, lo, axis=-2)
    b = np.take_along_axis(ordered, hi, axis=-2)
    out = (a + frac * (b - a))[..., 0, :]
    return np.where(count[..., 0, :] > 0, out, np.nan)


def _fit(hs: np.ndarray, inc: np.ndarray, envelope: str, quantile: float, min_decades: float,
         tolerance: float, per_direction: int, n_resamples: int) -> PointwiseHolderFit:
    """Fit validated increments ``(n_h, n_samples)``; warnings point at the public function's caller."""
    order = np.argsort(hs)
    hs, inc = hs[order], np.abs(inc[order])
    finite = np.isfinite(inc)
    n_nonfinite = int(np.count_nonzero(~finite))
    n_zero = int(np.count_nonzero(finite & (inc == 0.0)))
    usable = finite & (inc > 0.0)
    inc = np.where(finite, inc, np.nan)
    n_dirs = inc.shape[1] // per_direction
    # samples[d, s, k]: direction d's usable increments (NaN = unusable), for the envelope and the bootstrap
    samples = np.where(usable, inc, np.nan).T.reshape(n_dirs, per_direction, hs.size)
    env = _envelope_of(samples.reshape(-1, hs.size), envelope, quantile)
    valid = np.isfinite(env)

    def result(scaling: Scaling | None, status: str, reason: str, alpha: float) -> PointwiseHolderFit:
        rng = scaling.range if scaling is not None else None
        used = np.zeros(hs.size, dtype=bool)
        if rng is not None:
            used = valid & (hs >= rng.h_min) & (hs <= rng.h_max)
        nan = math.nan
        return PointwiseHolderFit(
            alpha=alpha, slope=rng.slope if rng else nan, intercept=rng.intercept if rng else nan,
            constant=rng.constant if rng else nan, r_squared=rng.r_squared if rng else nan,
            h=hs, increments=inc, envelope=env, used=used, n_zero=n_zero, n_nonfinite=n_nonfinite,
            status=status, reason=reason, range=rng, ranges=scaling.ranges if scaling else (),
            segments=scaling.segments if scaling else (), min_decades=min_decades, n_directions=n_dirs,
            caveat=scaling.caveat if scaling else "",
        )

    if not usable.any() and n_zero > 0:
        warnings.warn(
            f"every finite increment is exactly zero ({n_zero} zero, {n_nonfinite} non-finite): "
            "f is constant around the centre at these step sizes; reporting alpha=1.0",
            stacklevel=3,
        )
        return result(None, "constant", "every finite increment is exactly zero: f is constant here", 1.0)
    if not valid.all():
        dropped = hs[~valid].tolist()
        warnings.warn(
            f"{int(np.count_nonzero(~valid))} of {hs.size} step sizes have no non-zero finite increment "
            f"(h = {dropped}) and are left out of the fit; if they are zero, f is flat at those scales "
            "or its change is below float resolution: use larger step sizes",
            stacklevel=3,
        )
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        reason = (f"no step size has a usable increment ({n_zero} zero and {n_nonfinite} non-finite "
                  f"of {inc.size} increments)")
        return result(None, "no scaling range", reason, math.nan)
    log_h = np.log(hs[idx])

    def slope_interval(first: int, last: int) -> stats.Interval:
        rows = idx[first:last + 1]
        sub = samples[:, :, rows]  # (n_dirs, per_direction, m)
        x = log_h[first:last + 1]

        def exponent_over_directions(units, axis=-1):
            picked = sub[np.asarray(units).astype(np.intp)]  # (..., n_resampled, per, m)
            flat = picked.reshape(*picked.shape[:-3], -1, picked.shape[-1])
            with np.errstate(divide="ignore"):
                return slopes_along_last_axis(x, np.log(_envelope_of(flat, envelope, quantile)))

        return stats.interval(np.arange(n_dirs), exponent_over_directions, name="slope over directions",
                              n_resamples=n_resamples)

    scaling = scaling_ranges(hs[idx], env[idx], min_decades=min_decades, tolerance=tolerance,
                             slope_interval=slope_interval)
    if scaling.status != "ok":
        return result(scaling, scaling.status, scaling.reason, math.nan)
    return result(scaling, "ok", "", scaling.range.alpha)


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
    min_decades: float = MIN_DECADES,
    tolerance: float = TOLERANCE,
    n_resamples: int = stats.N_RESAMPLES,
) -> PointwiseHolderFit:
    """Point-wise Hölder exponent of ``f`` at ``centre`` from |f(c + s h d) - f(c)| over step sizes h.

    ``f`` is called **once**, on all points at once: row 0 is the centre, then
    for each direction d_j, each step size h_k (ascending) and each sign s
    (+ then -, if ``two_sided``) the point ``c + s h_k d_j``. So a landscape
    engine evaluates the whole probe as one batch, e.g.
    ``f = lambda p: evaluate_points(backend, policy.mean, p, mode="det", horizon=T, gamma=g).values``
    (see docs/landscapes.md). Increments are then analysed by
    :func:`pointwise_holder_from_increments` (each direction with its signs is one
    resampling unit of the interval).

    :param f: batched function, points ``(n_points, dim)`` float64 -> values
        ``(n_points,)``; must be deterministic (or use common random numbers),
        or sampling noise floors the increments (a ``"flat"`` range at small h).
    :param centre: the point c, shape ``(dim,)`` (a scalar means dim = 1).
        f(c) must be finite.
    :param h: ``(n_h,)`` distinct step sizes > 0, at least 3, log-spaced over
        several decades (``np.geomspace(1e-8, 1e-1, 15)``: 2 points per decade is
        the least the range finder works with); parameter units (a distance, when
        ``normalize``).
    :param directions: ``(n_directions, dim)`` directions d_j, each non-zero;
        default: the ``dim`` coordinate axes. Several random directions give the
        interval something to resample (8 is a good start).
    :param two_sided: probe both c + h d and c - h d (default), or only the + side.
    :param normalize: rescale each direction to unit Euclidean norm (default), so
        h is the distance |x - c| of the Hölder definition; False keeps the
        directions as given (h in direction units; the exponent is unchanged,
        only ``constant`` depends on it).
    :param envelope: ``"max"`` or ``"quantile"``, see :func:`pointwise_holder_from_increments`.
    :param quantile: upper quantile in (0, 1) for ``envelope="quantile"``.
    :param min_decades: the shortest scaling range, decades of h (default 2).
    :param tolerance: residual scatter (decades) below which a stretch is an exact power law.
    :param n_resamples: bootstrap resamples of each range's interval over directions.
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
    _check_options(envelope, quantile, min_decades, tolerance, n_resamples)  # fail before calling f

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

    fit = _fit(hs, increments, envelope, quantile, float(min_decades), float(tolerance), signs.size,
               int(n_resamples))
    scale = float(np.max(np.abs(values[np.isfinite(values)])))  # includes f0, which is finite
    floor = 1e3 * np.finfo(np.float64).eps * scale
    low = fit.valid & (fit.envelope < floor)
    if np.any(low):
        warnings.warn(
            f"at h = {fit.h[low].tolist()} the largest increment is below 1e3 * eps * |f| = {floor:.3g}: "
            "those increments are float rounding (a flat floor, never the exponent); use larger step sizes",
            stacklevel=2,
        )
    return dataclasses.replace(fit, value_at_centre=f0)
