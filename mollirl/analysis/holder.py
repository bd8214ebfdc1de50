"""Hölder exponent of a sampled landscape from the scaling of its increments over a window.

A function is alpha-Hölder at scale h when |f(x + h) - f(x)| ~ K h^alpha; the
paper's Prop. 3.1 predicts alpha = -log(gamma) / lambda for a chaotic closed
loop (see :func:`mollirl.analysis.predicted_holder_exponent`). This module
measures alpha on a grid: for lags h_k = k * spacing (k grid steps) it takes a
statistic S(h) of the absolute increments over all valid pairs of grid points
(both axes pooled in 2-D), finds the **scaling ranges** of S(h)
(:mod:`mollirl.analysis.scaling`: stretches of at least ``min_decades`` decades
of lags over which log S(h) = alpha log h + c holds) and reports the exponent
of the **roughest** range, with its range of lags, fit quality and a bootstrap
interval, and every other range with its own exponent. Where no range of
``min_decades`` decades exists (a grid too short to hold one: the lags run from
1 to n // 4 grid steps, log10(n // 4) decades: 0.3 for 11 points, 0.7 for 21,
1.0 for 41, 1.4 for 101, 1.7 for 201), ``status`` is ``"no scaling range"``,
``alpha`` is NaN and ``reason`` says why.

Two choices differ from the point-wise estimator's, for reasons of the window:

- Lags stop at a quarter of the grid. Beyond, a smooth landscape's mean increment
  bends away from its Lipschitz slope as the lag approaches the window's size
  (a bowl -x^2 on 41 points over [-1, 1], lags up to half the grid: 0.92 over lags
  0.05 .. 0.35, 0.47 over 0.45 .. 1), which is saturation, not roughness, yet would
  read as a rougher range.
- The tolerance is 0.01 decades (``WINDOW_TOLERANCE``), not 0.005: the statistic
  is a mean over many pairs, so its residuals are smooth, and what bends a
  decade of lags is that same curvature; 0.01 lets the bowl's local slope drift
  from 0.96 to 0.72 across its one decade on 41 points (read: 0.894) before the
  decade is cut in two.

The interval: the pairs of a grid are not independent, but the grid splits into
sub-windows that nearly are: in 2-D each row and each column (the pairs along
it), in 1-D eight blocks of consecutive starting points. The 95% interval is a
bootstrap over those sub-windows (resample them, pool their increments into
S(h), refit over the same range; :func:`mollirl.analysis.stats.interval`, BCa,
10,000 resamples, fixed seed). Statistics that do not pool as sums (median,
quantile) get no interval.

What the estimate means and where it is biased:

- It is a *window* exponent: one number for the whole grid passed in. For a
  local exponent, use :func:`mollirl.analysis.pointwise_holder_exponent`.
- First differences cannot see exponents above 1: every C^1 landscape gives
  slope ~1. The reported ``alpha`` is therefore clipped to [0, 1];
  ``HolderFit.slope`` keeps the raw fit.
- Lags must lie in the scaling range: below the grid's resolution of the
  roughness (a fractal sampled too coarsely, or one whose detail stops above
  the grid scale, looks smooth) and below the landscape's overall size
  (increments saturate at the landscape's range): the range finder separates
  such stretches instead of averaging them, but a grid of n points offers only
  log10((n - 1) / 2) decades of lags to find them in.
- For self-affine fractals such as the Weierstrass function, log S(h) wiggles
  log-periodically with period log(b); a range should span a factor >~ b in h.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from mollirl.analysis import stats
from mollirl.analysis._grid import as_landscape, as_spacing, invalid_mask
from mollirl.analysis.scaling import RangeReading, check_fit_options, ScalingRange, scaling_ranges, slopes_along_last_axis

STATISTICS = ("mean", "median", "rms", "quantile")
MIN_DECADES = 1.0
"""Default shortest scaling range of the window estimator, decades of lag."""
WINDOW_TOLERANCE = 0.01
"""Default residual scatter (decades) below which a stretch of lags is an exact power law."""
BLOCKS_1D = 8
"""Sub-windows (blocks of consecutive starting points) of a 1-D grid for the interval."""


@dataclasses.dataclass(frozen=True)
class HolderFit(RangeReading):
    """Result of :func:`holder_exponent`.

    :param alpha: the Hölder exponent estimate: the exponent of the roughest scaling
        range (its slope clipped to [0, 1]; 1 = Lipschitz or smoother); NaN when
        ``status`` is ``"no scaling range"``; 1.0 for a constant landscape.
    :param slope: the raw least-squares slope of log S(h) against log h over that
        range (NaN without a range or for a constant landscape).
    :param r_squared: coefficient of determination of that range's fit (NaN as ``slope``).
    :param lags: ``(n_axes, n_lags)`` lags in parameter units (row i: along grid axis i).
    :param increments: ``(n_axes, n_lags)`` the statistic S(h) of |f(x + h) - f(x)|
        per axis (value units); NaN where no valid pair exists.
    :param status: ``"ok"``, ``"no scaling range"`` or ``"constant"``.
    :param reason: why, when the status is not ``"ok"``.
    :param range: the reported :class:`~mollirl.analysis.scaling.ScalingRange` (h along
        grid axis 0), with its interval over sub-windows; None without one.
    :param ranges: every range of at least ``min_decades`` decades, ascending in h.
    :param segments: every segment of the partition of the lags (ranges and crossovers).
    :param pooled: ``(n_lags,)`` the statistic over the pairs of every axis at each lag
        (what the ranges are fitted to).
    :param min_decades: the shortest span that counts as a range.
    :param n_units: the sub-windows the interval resamples.
    :param caveat: where the lags scale more roughly than the reported range without being
        a range (see :class:`~mollirl.analysis.scaling.Scaling`); else ``""``.
    """

    alpha: float
    slope: float
    r_squared: float
    lags: np.ndarray
    increments: np.ndarray
    status: str = "ok"
    reason: str = ""
    range: ScalingRange | None = None
    ranges: tuple[ScalingRange, ...] = ()
    segments: tuple[ScalingRange, ...] = ()
    pooled: np.ndarray | None = None
    min_decades: float = MIN_DECADES
    n_units: int = 0
    caveat: str = ""

    def _units(self) -> dict:
        return {"n_units": self.n_units}


def _statistic(diffs: np.ndarray, statistic: str, quantile: float) -> float:
    if diffs.size == 0:
        return np.nan
    if statistic == "mean":
        return float(np.mean(diffs))
    if statistic == "median":
        return float(np.median(diffs))
    if statistic == "rms":
        return float(np.sqrt(np.mean(diffs**2)))
    return float(np.quantile(diffs, quantile))


def _unit_of_pairs(arr_shape: tuple[int, ...], axis: int, k: int) -> np.ndarray:
    """Sub-window index of each pair (x, x + k e_axis), shape of the pairs' starting points."""
    if len(arr_shape) == 1:
        n = arr_shape[0]
        starts = np.arange(n - k)
        return np.minimum(starts * BLOCKS_1D // max(n - 1, 1), BLOCKS_1D - 1)
    n1, n2 = arr_shape
    if axis == 0:  # pairs along axis 0 lie in column j: units 0 .. n2-1
        return np.broadcast_to(np.arange(n2)[None, :], (n1 - k, n2))
    return np.broadcast_to(n2 + np.arange(n1)[:, None], (n1, n2 - k))  # rows: units n2 .. n2+n1-1


def holder_exponent(
    values: ArrayLike,
    spacing: float | Sequence[float],
    *,
    max_lag: int | None = None,
    n_lags: int = 12,
    statistic: str = "mean",
    quantile: float = 0.9,
    mask: ArrayLike | None = None,
    min_decades: float = MIN_DECADES,
    tolerance: float = WINDOW_TOLERANCE,
    n_resamples: int = stats.N_RESAMPLES,
) -> HolderFit:
    """Estimate the Hölder exponent of a landscape from the scaling ranges of its increments.

    Lags are k = 1..``max_lag`` grid steps, thinned to at most ``n_lags``
    integers spaced evenly in log k (so the fit is not dominated by the large
    lags). In 2-D the increments along both axes are pooled at each lag (in grid
    steps; the exponent does not depend on the spacing, and ``range`` reports h
    along axis 0). Pairs with an excluded endpoint are skipped. See the module
    docstring for the ranges, the interval and the estimator's biases.

    :param values: landscape, shape ``(n,)`` or ``(n1, n2)``; non-finite and
        masked-array-masked entries are excluded.
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param max_lag: largest lag in grid steps, >= 2 and < the shortest axis;
        default ``max(2, n // 4)`` with n the shortest axis length (see the module docstring).
    :param n_lags: at most this many distinct lags are used, >= 2.
    :param statistic: statistic of |f(x + h) - f(x)| over x: ``"mean"``
        (default), ``"median"``, ``"rms"`` or ``"quantile"`` (see ``quantile``).
    :param quantile: the quantile in (0, 1) used when ``statistic="quantile"``.
    :param mask: optional boolean array of ``values.shape``, ``True`` = exclude.
    :param min_decades: the shortest scaling range, decades of lag (default 1).
    :param tolerance: residual scatter (decades) below which a stretch is an exact power law
        (default 0.01, see the module docstring).
    :param n_resamples: bootstrap resamples of each range's interval (fewer is faster and
        coarser; the landscape summary uses 2,000).
    :return: a :class:`HolderFit`. A constant landscape gives ``alpha=1.0`` and status
        ``"constant"`` (with a warning).
    :raises ValueError: on bad arguments.
    """
    arr = as_landscape(values)
    invalid = invalid_mask(arr, mask)
    steps = as_spacing(spacing, arr.ndim)
    n_min = min(arr.shape)
    if n_min < 3:
        raise ValueError(f"values needs at least 3 points per axis, got shape {arr.shape}")
    if max_lag is None:
        max_lag = max(2, n_min // 4)
    if not (isinstance(max_lag, (int, np.integer)) and 2 <= max_lag < n_min):
        raise ValueError(f"max_lag must be an integer in [2, {n_min - 1}] for shape {arr.shape}, got {max_lag!r}")
    if not (isinstance(n_lags, (int, np.integer)) and n_lags >= 2):
        raise ValueError(f"n_lags must be an integer >= 2, got {n_lags!r}")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    check_fit_options(quantile, min_decades, tolerance, n_resamples)

    ks = np.unique(np.rint(np.geomspace(1, max_lag, num=min(n_lags, max_lag))).astype(np.int64))
    n_units = BLOCKS_1D if arr.ndim == 1 else arr.shape[0] + arr.shape[1]
    lags = np.empty((arr.ndim, ks.size))
    per_axis = np.empty((arr.ndim, ks.size))
    pooled = np.empty(ks.size)
    sums = np.zeros((n_units, ks.size))  # per sub-window: sum of |diff| (mean) or diff^2 (rms)
    counts = np.zeros((n_units, ks.size))
    for j, k in enumerate(ks):
        all_diffs = []
        for axis in range(arr.ndim):
            n = arr.shape[axis]
            head = np.take(arr, np.arange(k, n), axis=axis)
            tail = np.take(arr, np.arange(0, n - k), axis=axis)
            ok = ~(np.take(invalid, np.arange(k, n), axis=axis) | np.take(invalid, np.arange(0, n - k), axis=axis))
            diffs = np.abs(head - tail)
            lags[axis, j] = k * steps[axis]
            per_axis[axis, j] = _statistic(diffs[ok], statistic, quantile)
            all_diffs.append(diffs[ok])
            units = _unit_of_pairs(arr.shape, axis, int(k))[ok]
            contribution = diffs[ok] ** 2 if statistic == "rms" else diffs[ok]
            sums[:, j] += np.bincount(units, weights=contribution, minlength=n_units)
            counts[:, j] += np.bincount(units, minlength=n_units)
        pooled[j] = _statistic(np.concatenate(all_diffs), statistic, quantile)

    def result(status: str, reason: str, alpha: float, scaling=None) -> HolderFit:
        rng = scaling.range if scaling is not None else None
        return HolderFit(
            alpha=alpha, slope=rng.slope if rng else math.nan, r_squared=rng.r_squared if rng else math.nan,
            lags=lags, increments=per_axis, status=status, reason=reason, range=rng,
            ranges=scaling.ranges if scaling else (), segments=scaling.segments if scaling else (),
            pooled=pooled, min_decades=float(min_decades), n_units=n_units,
            caveat=scaling.caveat if scaling else "",
        )

    finite = np.isfinite(pooled)
    if finite.any() and np.all(pooled[finite] == 0.0):
        warnings.warn("the landscape is constant on the valid grid points; reporting alpha=1.0", stacklevel=2)
        return result("constant", "the landscape is constant on the valid grid points", 1.0)
    use = np.flatnonzero(finite & (pooled > 0))
    if use.size < 2:
        return result("no scaling range", (
            f"fewer than 2 lags keep a valid pair with a non-zero increment (lags {ks.tolist()} grid steps, "
            f"{int(invalid.sum())} of {arr.size} points excluded); pass more valid points or a larger grid"),
            math.nan)
    span = float(np.log10(ks[-1] / ks[0]))
    if span < min_decades - 1e-9:
        steps_needed = math.ceil(10**min_decades - 1e-9)
        return result("no scaling range", (
            f"the lags span {span:.2f} decades (1 to {int(ks[-1])} grid steps); a scaling range of "
            f"{min_decades:g} decade{'s' if min_decades != 1 else ''} needs lags up to {steps_needed} steps: "
            f"a grid of at least {4 * steps_needed} points per axis (lags stop at a quarter of the grid)"), math.nan)
    h = ks[use] * steps[0]
    log_h = np.log(h)

    def slope_interval(first: int, last: int) -> stats.Interval:
        cols = use[first:last + 1]
        if statistic not in ("mean", "rms"):
            fit_slope = float(slopes_along_last_axis(log_h[first:last + 1], np.log(pooled[cols])))
            return stats.Interval(fit_slope, math.nan, math.nan, stats.LEVEL, n_units, "slope over sub-windows",
                                  f"no bootstrap for statistic={statistic!r} (it does not pool as a sum)")
        s, c = sums[:, cols], counts[:, cols]
        x = log_h[first:last + 1]

        def exponent_over_sub_windows(units, axis=-1):
            units = np.asarray(units).astype(np.intp)
            lead, n = units.shape[:-1], units.shape[-1]
            flat = units.reshape(-1, n)
            rows = np.repeat(np.arange(flat.shape[0]), n)
            weight = np.bincount(rows * n_units + flat.ravel(), minlength=flat.shape[0] * n_units)
            weight = weight.reshape(flat.shape[0], n_units).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                stat = (weight @ s) / (weight @ c)
                if statistic == "rms":
                    stat = np.sqrt(stat)
                out = slopes_along_last_axis(x, np.log(np.where(stat > 0, stat, np.nan)))
            return out.reshape(lead)

        return stats.interval(np.arange(n_units), exponent_over_sub_windows, name="slope over sub-windows",
                              n_resamples=n_resamples)

    scaling = scaling_ranges(h, pooled[use], min_decades=float(min_decades), tolerance=float(tolerance),
                             slope_interval=slope_interval)
    if scaling.status != "ok":
        return result(scaling.status, scaling.reason, math.nan, scaling)
    return result("ok", "", scaling.range.alpha, scaling)
