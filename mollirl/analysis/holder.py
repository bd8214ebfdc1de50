"""Hölder exponent of a sampled landscape from the scaling of its increments.

A function is alpha-Hölder at scale h when |f(x + h) - f(x)| ~ K h^alpha; the
paper's Prop. 3.1 predicts alpha = -log(gamma) / lambda for a chaotic closed
loop (see :func:`mollirl.analysis.predicted_holder_exponent`). This module
measures alpha on a grid: for lags h_k = k * spacing it takes a statistic S(h)
of the absolute increments over all valid pairs of grid points, and fits
log S(h) = alpha log h + c by least squares.

What the estimate means and where it is biased:

- It is a *window* exponent: one number for the whole grid passed in. For a
  local exponent, pass a small window around the point of interest.
- First differences cannot see exponents above 1: every C^1 landscape gives
  slope ~1. The reported ``alpha`` is therefore clipped to [0, 1];
  ``HolderFit.slope`` keeps the raw fit.
- Lags must lie in the scaling range: below the grid's resolution of the
  roughness (a fractal sampled too coarsely, or one whose detail stops above
  the grid scale, looks smooth: bias towards 1) and well below the landscape's
  overall size (increments saturate at the landscape's range: bias towards 0).
  The default lags (1 to ~n/10 grid steps) suit grids of a few hundred points
  or more; on short grids (n ~ 50) expect errors of +-0.1 to 0.2.
- For self-affine fractals such as the Weierstrass function, log S(h) wiggles
  log-periodically with period log(b); the fit should span a factor >~ b in h.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from mollirl.analysis._grid import as_landscape, as_spacing, invalid_mask

STATISTICS = ("mean", "median", "rms", "quantile")


@dataclasses.dataclass(frozen=True)
class HolderFit:
    """Result of :func:`holder_exponent`.

    :param alpha: the Hölder exponent estimate, ``slope`` clipped to [0, 1]
        (1 = Lipschitz or smoother).
    :param slope: the raw least-squares slope of log S(h) against log h (NaN if
        the landscape is constant).
    :param r_squared: coefficient of determination of the log-log fit, in [0, 1]
        (NaN if undefined); a low value means no clean power law over these lags.
    :param lags: ``(n_axes, n_lags)`` lags in parameter units (row i: along grid axis i).
    :param increments: ``(n_axes, n_lags)`` the statistic S(h) of |f(x + h) - f(x)|
        (value units); NaN where no valid pair exists.
    """

    alpha: float
    slope: float
    r_squared: float
    lags: np.ndarray
    increments: np.ndarray


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


def holder_exponent(
    values: ArrayLike,
    spacing: float | Sequence[float],
    *,
    max_lag: int | None = None,
    n_lags: int = 12,
    statistic: str = "mean",
    quantile: float = 0.9,
    mask: ArrayLike | None = None,
) -> HolderFit:
    """Estimate the Hölder exponent of a landscape from the power-law scaling of its increments.

    Lags are k = 1..``max_lag`` grid steps, thinned to at most ``n_lags``
    integers spaced evenly in log k (so the fit is not dominated by the large
    lags). In 2-D the increments are taken along both axes; the fit has one
    common slope and one intercept per axis (so anisotropic spacing or amplitude
    does not bias the slope). Pairs with an excluded endpoint are skipped. See
    the module docstring for the estimator's biases.

    :param values: landscape, shape ``(n,)`` or ``(n1, n2)``; non-finite and
        masked-array-masked entries are excluded.
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param max_lag: largest lag in grid steps, >= 2 and < the shortest axis;
        default ``min(32, max(2, n // 10))`` with n the shortest axis length.
    :param n_lags: at most this many distinct lags are used, >= 2.
    :param statistic: statistic of |f(x + h) - f(x)| over x: ``"mean"``
        (default), ``"median"``, ``"rms"`` or ``"quantile"`` (see ``quantile``).
    :param quantile: the quantile in (0, 1) used when ``statistic="quantile"``.
    :param mask: optional boolean array of ``values.shape``, ``True`` = exclude.
    :return: a :class:`HolderFit`. A constant landscape gives ``alpha=1.0`` (with a warning).
    :raises ValueError: on bad arguments, or fewer than 2 usable lags (too many excluded points).
    """
    arr = as_landscape(values)
    invalid = invalid_mask(arr, mask)
    steps = as_spacing(spacing, arr.ndim)
    n_min = min(arr.shape)
    if n_min < 3:
        raise ValueError(f"values needs at least 3 points per axis, got shape {arr.shape}")
    if max_lag is None:
        max_lag = min(32, max(2, n_min // 10))
    if not (isinstance(max_lag, (int, np.integer)) and 2 <= max_lag < n_min):
        raise ValueError(f"max_lag must be an integer in [2, {n_min - 1}] for shape {arr.shape}, got {max_lag!r}")
    if not (isinstance(n_lags, (int, np.integer)) and n_lags >= 2):
        raise ValueError(f"n_lags must be an integer >= 2, got {n_lags!r}")
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if not (0.0 < quantile < 1.0):
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")

    ks = np.unique(np.rint(np.geomspace(1, max_lag, num=min(n_lags, max_lag))).astype(np.int64))
    lags = np.empty((arr.ndim, ks.size))
    stats = np.empty((arr.ndim, ks.size))
    for axis in range(arr.ndim):
        n = arr.shape[axis]
        for j, k in enumerate(ks):
            head = np.take(arr, np.arange(k, n), axis=axis)
            tail = np.take(arr, np.arange(0, n - k), axis=axis)
            ok = ~(np.take(invalid, np.arange(k, n), axis=axis) | np.take(invalid, np.arange(0, n - k), axis=axis))
            lags[axis, j] = k * steps[axis]
            stats[axis, j] = _statistic(np.abs(head - tail)[ok], statistic, quantile)

    finite = np.isfinite(stats)
    if finite.any() and np.all(stats[finite] == 0.0):
        warnings.warn("the landscape is constant on the valid grid points; reporting alpha=1.0", stacklevel=2)
        return HolderFit(alpha=1.0, slope=np.nan, r_squared=np.nan, lags=lags, increments=stats)

    xs, ys = [], []
    for axis in range(arr.ndim):
        use = finite[axis] & (stats[axis] > 0)
        if np.count_nonzero(use) < 2:
            continue
        lx, ly = np.log(lags[axis, use]), np.log(stats[axis, use])
        xs.append(lx - lx.mean())  # one intercept per axis
        ys.append(ly - ly.mean())
    if not xs:
        raise ValueError(
            f"fewer than 2 usable lags on every axis (lags {ks.tolist()} grid steps, "
            f"{int(invalid.sum())} of {arr.size} points excluded); pass more valid points or a larger grid"
        )
    x, y = np.concatenate(xs), np.concatenate(ys)
    slope = float(np.dot(x, y) / np.dot(x, x))
    ss_tot = float(np.dot(y, y))
    ss_res = float(np.sum((y - slope * x) ** 2))
    r_squared = 1.0 - ss_res / ss_tot if ss_tot > 0 else np.nan
    alpha = float(np.clip(slope, 0.0, 1.0))
    return HolderFit(alpha=alpha, slope=slope, r_squared=r_squared, lags=lags, increments=stats)
