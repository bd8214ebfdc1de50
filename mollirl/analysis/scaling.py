"""Scaling ranges: the stretches of scales over which increments follow one power law.

Both Hölder estimators end in the same question: given an increment statistic E(h) at
step sizes h (an envelope over directions, or a mean over the pairs of a grid), over
which h does log E = alpha log h + log C hold, and with which alpha? One straight line
through every h answers a different question whenever the scaling changes with h (a
rough range above a Lipschitz floor, a noise floor below a smooth range, saturation at
the landscape's size): it returns a number that belongs to no range. This module finds
the ranges first and fits each on its own.

**How the ranges are found.** log10 E against log10 h is cut into straight segments
by an exact optimal partition (dynamic programming over every possible set of
breakpoints, Jackson et al. 2005's "optimal partitioning"): each segment of m >= 4
points costs m log(s^2), with s^2 = max(SSE / (m - 2), ``tolerance``^2) its residual
variance (decades^2) under its own least-squares line, and every segment adds a
penalty of ``PENALTY`` * log(n). This is the Gaussian likelihood of a segmentation in
which every segment has its own line *and its own scatter*, so

- on clean data (every residual below ``tolerance``, 0.005 decades by default) every
  admissible segmentation costs the same up to the penalty, and the fewest segments
  whose lines stay within the tolerance win: ``tolerance`` is the largest deviation
  from a power law that still counts as none;
- on rough data (a fractal's envelope, which wiggles log-periodically and dips where
  the function comes back close to its value at the centre) a segment is split only
  where one line cannot explain both parts as well as two lines with their own
  scatter, by more than the penalty; noise is not split, a change of slope is;
- a clean stretch next to a rough one (a truncated Weierstrass sum: Lipschitz below
  its truncation scale, fractal above) is split where the scatter changes.

The penalty is ``PENALTY`` = 10 times log(n), 2.5 times BIC's 4 log(n) for the four
numbers a segment adds (slope, intercept, scatter, breakpoint): BIC assumes independent
residuals, and a fractal's are not (they wiggle with a period of log10 b decades and
dip together). The factor was measured on the known-answer functions of
tests/analysis, probed with 15, 19, 22 and 28 step sizes: of 84 probes of Weierstrass
sums (three (a, b), six points, 1-D, and a 2-D sum with 8 directions at three points)
the partition cut a fractal into two "ranges" in 22 with 4 log(n), 15 with 6 log(n),
2 with 8 log(n), 1 with 10 log(n) and none with 12 log(n). Of 40 probes of clean
crossovers (cusps with sharp and smooth Lipschitz floors at three h0, a sum of two power
laws, Weierstrass sums truncated at three N) one is misread at every penalty (the sum of
two power laws on the 19-step probe, whose rough range spans 1.7 decades: below
``min_decades``, not the penalty's doing); BIC's penalty misreads one more, and so does
12 log(n) (it absorbs the smooth cusp's crossover at h0 = 1e-4 on the 15-step probe:
0.403 instead of 0.313). ``python -m pytest -m slow tests/analysis/test_scaling.py -k
calibration -s`` prints the table. A plain numpy implementation (n is at most a few
dozen step sizes, so the O(n^2) table costs microseconds) rather than ``ruptures``
(a dependency, and its penalized costs assume one noise level for the whole
series), ``pwlf`` (a continuous fit with a given number of segments, found by a
stochastic optimizer) or ``piecewise-regression`` (iterative, needs starting
breakpoints): the exact optimum is deterministic and cheap enough for a training
callback.

**What counts as a range.** A segment spanning at least ``min_decades`` decades of h is
a *range*. Its ``kind`` is

- ``"crossover"`` when its local exponent visibly drifts across it: the quadratic fit
  of log10 E against log10 h changes slope by more than ``MAX_DRIFT`` (0.25) plus three
  standard errors between its ends (a sum of two power laws between its two ranges; a
  fractal's wiggles make the quadratic drift by up to +-0.8 at one point, with standard
  errors of 0.1 to 0.3, so they stay ranges);
- ``"flat"`` when the increments do not grow with h by more than three times their
  scatter around the line (slope * decades < 3 * max(rms residual, tolerance), or
  slope <= 0): a noise or float-rounding floor, a jump, or saturation at large h, none
  of which is a Hölder exponent;
- ``"power law"`` otherwise.

Segments shorter than ``min_decades`` are not ranges (they are listed in ``segments``).
The *reported* range is the **roughest** power-law range (the smallest exponent): the
scales at which mollification acts; every range is listed with its own exponent. A
stretch that scales more roughly than the reported range without being a power-law
range (too short, or a crossover) is named in ``caveat``. Where no power-law range
exists the status is ``"no scaling range"``, alpha is NaN, and ``reason`` says what was
found instead.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from mollirl.analysis.stats import Interval

TOLERANCE = 0.005
"""Residual scatter (decades of E) below which a stretch counts as an exact power law."""

PENALTY = 10.0
"""Cost of one more segment, in units of log(n) (2.5 times BIC's 4 log n; see the module docstring)."""

MIN_POINTS = 4
"""Fewest step sizes in a segment (a line and its scatter need two residual degrees of freedom)."""

FLAT_RISE = 3.0
"""A range is flat when slope * decades < FLAT_RISE * max(rms residual, tolerance)."""

MAX_DRIFT = 0.25
"""A segment is a crossover when its local exponent drifts by more than this across it (see ``drift``)."""

DRIFT_SIGMAS = 3.0
"""... by more than MAX_DRIFT plus this many standard errors of the drift."""

CAVEAT_MARGIN = 0.1
"""A stretch rougher than the reported range by more than this (in slope) is named in ``caveat``."""

STATUSES = ("ok", "no scaling range", "constant")
KINDS = ("power law", "flat", "crossover")

_LN10 = math.log(10.0)


@dataclasses.dataclass(frozen=True)
class ScalingRange:
    """One stretch of step sizes over which E(h) follows one power law C h^slope.

    :param h_min: smallest step size of the range (parameter units).
    :param h_max: largest step size of the range.
    :param decades: log10(h_max / h_min).
    :param n_points: step sizes in the range.
    :param slope: least-squares slope of log E against log h over the range.
    :param alpha: the Hölder exponent of the range, ``slope`` clipped to [0, 1]
        (first differences cannot see beyond Lipschitz).
    :param intercept: natural log of C in E ~ C h^slope.
    :param r_squared: coefficient of determination of the range's fit (NaN if E is
        constant over it).
    :param rms_residual: root mean square of the residuals, decades of E.
    :param slope_stderr: ordinary least-squares standard error of the slope (treats the
        residuals as independent, which a fractal's are not: a fit-quality number, not
        the interval).
    :param kind: ``"power law"``, ``"flat"`` or ``"crossover"`` (see the module docstring).
    :param interval: 95% bootstrap interval of ``alpha`` (over directions for the
        point-wise estimator, over sub-windows for the window estimator), conditional
        on the range; ``None`` where the estimator has no resampling units.
    """

    h_min: float
    h_max: float
    decades: float
    n_points: int
    slope: float
    alpha: float
    intercept: float
    r_squared: float
    rms_residual: float
    slope_stderr: float
    kind: str
    interval: Interval | None = None

    @property
    def constant(self) -> float:
        """C = exp(intercept)."""
        return float(math.exp(self.intercept)) if math.isfinite(self.intercept) else math.nan

    @property
    def alpha_low(self) -> float:
        return self.interval.low if self.interval is not None else math.nan

    @property
    def alpha_high(self) -> float:
        return self.interval.high if self.interval is not None else math.nan

    def to_dict(self) -> dict:
        """JSON-able fields (NaN as None)."""
        out = {k: _jsonable(getattr(self, k)) for k in
               ("h_min", "h_max", "decades", "n_points", "slope", "alpha", "r_squared", "rms_residual",
                "slope_stderr", "kind")}
        out["constant"] = _jsonable(self.constant)
        out["interval"] = None if self.interval is None else self.interval.to_dict()
        return out

    def __str__(self) -> str:
        iv = "" if self.interval is None or not self.interval.defined else \
            f" [{self.interval.low:.3f}, {self.interval.high:.3f}]"
        return (f"{self.alpha:.3f}{iv} over h {self.h_min:.3g} .. {self.h_max:.3g} "
                f"({self.decades:.1f} decades, {self.kind})")


@dataclasses.dataclass(frozen=True)
class Scaling:
    """Result of :func:`scaling_ranges`.

    :param status: ``"ok"`` (a power-law range of at least ``min_decades`` exists) or
        ``"no scaling range"``.
    :param reason: one sentence on why, when the status is not ``"ok"`` (else ``""``).
    :param range: the reported range: the roughest power-law range, or None.
    :param ranges: every segment of at least ``min_decades`` decades, ascending in h
        (power-law and flat ones), each with its exponent and interval.
    :param segments: every segment of the partition, ascending in h (ranges and the
        shorter crossovers between them; no intervals).
    :param min_decades: the shortest span that counts as a range.
    :param caveat: when the status is ``"ok"`` but some stretch of h scales more roughly
        than the reported range without being a range (shorter than ``min_decades``, or
        a crossover): where, and how rough; else ``""``.
    """

    status: str
    reason: str
    range: ScalingRange | None
    ranges: tuple[ScalingRange, ...]
    segments: tuple[ScalingRange, ...]
    min_decades: float
    caveat: str = ""


class RangeReading:
    """What the two Hölder fits share: the reported range's interval and span, the finest range, JSON.

    A subclass (a frozen dataclass) has ``alpha``, ``slope``, ``r_squared``, ``status``, ``reason``,
    ``caveat``, ``range``, ``ranges`` and ``min_decades``, and names its resampling units in
    ``_units()``.
    """

    range: ScalingRange | None
    ranges: tuple[ScalingRange, ...]

    @property
    def interval(self) -> Interval | None:
        """95% bootstrap interval of ``alpha`` (None without a range)."""
        return None if self.range is None else self.range.interval

    @property
    def alpha_low(self) -> float:
        return self.range.alpha_low if self.range is not None else math.nan

    @property
    def alpha_high(self) -> float:
        return self.range.alpha_high if self.range is not None else math.nan

    @property
    def h_min(self) -> float:
        return self.range.h_min if self.range is not None else math.nan

    @property
    def h_max(self) -> float:
        return self.range.h_max if self.range is not None else math.nan

    @property
    def decades(self) -> float:
        return self.range.decades if self.range is not None else math.nan

    @property
    def finest(self) -> ScalingRange | None:
        """The power-law range at the smallest h (None without one): the small-step limit a statement
        like Prop. 3.1's is about; ``range`` (the roughest) is the one reported first."""
        return next((r for r in self.ranges if r.kind == "power law"), None)

    def _units(self) -> dict:
        return {}

    def to_dict(self) -> dict:
        """The reading as JSON-able values (NaN as None): exponent, interval, range, status, every range."""
        out = {key: _jsonable(float(getattr(self, key))) for key in
               ("alpha", "alpha_low", "alpha_high", "h_min", "h_max", "decades", "slope", "r_squared")}
        out.update(status=self.status, reason=self.reason, caveat=self.caveat, min_decades=self.min_decades,
                   **self._units())
        out["finest"] = None if self.finest is None else self.finest.to_dict()
        out["ranges"] = [r.to_dict() for r in self.ranges]
        return out


def check_fit_options(quantile: float, min_decades: float, tolerance: float, n_resamples: int) -> None:
    """The options both Hölder estimators share, checked once (``ValueError`` quoting the bad value)."""
    if not (0.0 < quantile < 1.0):
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    if not (isinstance(min_decades, (int, float)) and math.isfinite(min_decades) and min_decades > 0):
        raise ValueError(f"min_decades must be a finite number > 0, got {min_decades!r}")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")
    if not (isinstance(n_resamples, (int, np.integer)) and n_resamples >= 100):
        raise ValueError(f"n_resamples must be an integer >= 100, got {n_resamples!r}")


def _jsonable(x):
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _sse_table(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``sse[i, j]``: residual sum of squares of the least-squares line through points i..j (inclusive)."""
    n = x.size
    xc, yc = x - x.mean(), y - y.mean()  # centring keeps the cumulative sums well conditioned

    def cum(v):
        return np.concatenate([[0.0], np.cumsum(v)])

    cx, cy, cxx, cyy, cxy = cum(xc), cum(yc), cum(xc * xc), cum(yc * yc), cum(xc * yc)
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    m = (j - i + 1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        sx, sy = cx[j + 1] - cx[i], cy[j + 1] - cy[i]
        sxx = cxx[j + 1] - cxx[i] - sx * sx / m
        syy = cyy[j + 1] - cyy[i] - sy * sy / m
        sxy = cxy[j + 1] - cxy[i] - sx * sy / m
        sse = np.where(sxx > 0, syy - sxy * sxy / sxx, syy)
    return np.maximum(sse, 0.0)


def partition(x: np.ndarray, y: np.ndarray, *, tolerance: float = TOLERANCE,
              penalty: float = PENALTY, min_points: int = MIN_POINTS) -> list[tuple[int, int]]:
    """Optimal partition of the points ``(x, y)`` (x ascending) into straight segments.

    :return: ``[(first, last), ...]`` inclusive index pairs covering 0..n-1 in order;
        one segment when n < 2 * ``min_points``.
    """
    n = x.size
    if n < 2 * min_points:
        return [(0, n - 1)]
    sse = _sse_table(x, y)
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    m = (j - i + 1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(sse / np.maximum(m - 2.0, 1.0), tolerance**2)
        cost = m * np.log(var)
    cost[(j - i + 1) < min_points] = np.inf
    beta = penalty * math.log(n)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    start = np.zeros(n + 1, dtype=np.int64)
    for end in range(min_points, n + 1):  # best[end]: optimal cost of points 0..end-1
        candidates = best[:end] + cost[np.arange(end), end - 1] + beta
        k = int(np.argmin(candidates))
        best[end], start[end] = candidates[k], k
    segments = []
    end = n
    while end > 0:
        segments.append((int(start[end]), end - 1))
        end = int(start[end])
    return segments[::-1]


def fit_line(log_h: np.ndarray, log_e: np.ndarray) -> tuple[float, float, float, float, float]:
    """``(slope, intercept, r_squared, rms_residual_decades, slope_stderr)`` of natural-log data."""
    xc, yc = log_h - log_h.mean(), log_e - log_e.mean()
    sxx = float(np.dot(xc, xc))
    slope = float(np.dot(xc, yc) / sxx)
    intercept = float(log_e.mean() - slope * log_h.mean())
    res = yc - slope * xc
    ss_res, ss_tot = float(np.dot(res, res)), float(np.dot(yc, yc))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    rms = math.sqrt(ss_res / res.size) / _LN10
    se = math.sqrt(ss_res / (res.size - 2) / sxx) if res.size > 2 else math.nan
    return slope, intercept, r2, rms, se


def slopes_along_last_axis(log_h: np.ndarray, log_e: np.ndarray) -> np.ndarray:
    """Least-squares slopes of ``log_e (..., m)`` against ``log_h (m,)``, skipping NaN entries
    (NaN where fewer than 2 finite points remain). Vectorized for the bootstrap."""
    w = np.isfinite(log_e)
    y = np.where(w, log_e, 0.0)
    x = np.where(w, log_h, 0.0)
    n = w.sum(axis=-1)
    sx, sy = x.sum(axis=-1), y.sum(axis=-1)
    sxx, sxy = (x * x).sum(axis=-1), (x * y).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = n * sxx - sx * sx
        slope = np.where((n >= 2) & (den > 0), (n * sxy - sx * sy) / den, np.nan)
    return slope


def drift(log10_h: np.ndarray, log10_e: np.ndarray) -> tuple[float, float]:
    """``(drift, stderr)``: how much the local exponent changes across the points, from the quadratic
    least-squares fit log10 e = c0 + c1 x + c2 x^2 (x = log10 h, centred): 2 c2 * span, with its ordinary
    least-squares standard error. NaN for fewer than 5 points (a quadratic and two residual degrees of freedom)."""
    if log10_h.size < 5:
        return math.nan, math.nan
    x = log10_h - log10_h.mean()
    design = np.stack([np.ones_like(x), x, x * x], axis=1)
    coef, *_ = np.linalg.lstsq(design, log10_e, rcond=None)
    res = log10_e - design @ coef
    var = float(res @ res) / (x.size - 3)
    cov = var * np.linalg.inv(design.T @ design)
    span = float(x.max() - x.min())
    return 2.0 * float(coef[2]) * span, 2.0 * math.sqrt(max(float(cov[2, 2]), 0.0)) * span


def _kind(slope: float, decades: float, rms: float, tolerance: float, drift_: tuple[float, float]) -> str:
    change, se = drift_
    if math.isfinite(change) and abs(change) > MAX_DRIFT + DRIFT_SIGMAS * se:
        return "crossover"
    if not slope > 0 or slope * decades < FLAT_RISE * max(rms, tolerance):
        return "flat"
    return "power law"


def alpha_interval(slope_iv: Interval) -> Interval:
    """The interval of a slope, clipped to the Hölder exponent's [0, 1]."""
    def clip(v: float) -> float:
        return float(np.clip(v, 0.0, 1.0)) if math.isfinite(v) else v

    return dataclasses.replace(slope_iv, estimate=clip(slope_iv.estimate), low=clip(slope_iv.low),
                               high=clip(slope_iv.high), statistic="Hölder exponent (slope clipped to [0, 1])")


def scaling_ranges(h: np.ndarray, e: np.ndarray, *, min_decades: float, tolerance: float = TOLERANCE,
                   slope_interval: Callable[[int, int], Interval] | None = None) -> Scaling:
    """Find the scaling ranges of an increment statistic ``e`` at step sizes ``h``.

    :param h: ``(n,)`` step sizes, strictly ascending, finite and > 0.
    :param e: ``(n,)`` increment statistic at each h, finite and > 0.
    :param min_decades: the shortest span (decades of h) that counts as a range, > 0.
    :param tolerance: residual scatter (decades of e) below which a stretch counts as an
        exact power law, > 0 (see the module docstring).
    :param slope_interval: optional ``fn(first, last) -> Interval`` giving the bootstrap
        interval of the slope over points first..last (inclusive); called once per range.
    :return: a :class:`Scaling`.
    """
    h = np.asarray(h, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    if h.ndim != 1 or h.shape != e.shape:
        raise ValueError(f"h and e must be 1-D arrays of one shape, got {h.shape} and {e.shape}")
    if not (np.all(np.isfinite(h) & (h > 0)) and np.all(np.isfinite(e) & (e > 0))):
        raise ValueError("h and e must be finite and > 0")
    if h.size > 1 and not np.all(np.diff(h) > 0):
        raise ValueError("h must be strictly ascending")
    if not (math.isfinite(min_decades) and min_decades > 0):
        raise ValueError(f"min_decades must be a finite number > 0, got {min_decades!r}")
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")

    n = h.size
    span = float(np.log10(h[-1] / h[0])) if n else 0.0
    if n < MIN_POINTS or span < min_decades - 1e-9:
        reason = (f"the {n} usable step sizes span {span:.2f} decades (h {h[0]:.3g} .. {h[-1]:.3g})"
                  if n else "no usable step size")
        reason += (f"; a scaling range needs at least {MIN_POINTS} of them over {min_decades:g} "
                   f"decade{'s' if min_decades != 1 else ''}")
        return Scaling("no scaling range", reason, None, (), (), float(min_decades))

    lx, ly = np.log(h), np.log(e)
    segments: list[ScalingRange] = []
    ranges: list[ScalingRange] = []
    for first, last in partition(lx / _LN10, ly / _LN10, tolerance=tolerance):
        slope, intercept, r2, rms, se = fit_line(lx[first:last + 1], ly[first:last + 1])
        decades = float(np.log10(h[last] / h[first]))
        seg = ScalingRange(h_min=float(h[first]), h_max=float(h[last]), decades=decades,
                           n_points=last - first + 1, slope=slope, alpha=float(np.clip(slope, 0.0, 1.0)),
                           intercept=intercept, r_squared=r2, rms_residual=rms, slope_stderr=se,
                           kind=_kind(slope, decades, rms, tolerance,
                                      drift(lx[first:last + 1] / _LN10, ly[first:last + 1] / _LN10)))
        segments.append(seg)
        if decades >= min_decades - 1e-9:
            if slope_interval is not None:
                seg = dataclasses.replace(seg, interval=alpha_interval(slope_interval(first, last)))
            ranges.append(seg)
    power = [r for r in ranges if r.kind == "power law"]
    if power:
        reported = min(power, key=lambda r: r.slope)
        rougher = [seg for seg in segments if seg.kind != "flat" and 0 < seg.slope < reported.slope - CAVEAT_MARGIN
                   and not (seg.h_min == reported.h_min and seg.h_max == reported.h_max)]
        caveat = "; ".join(
            f"at h {seg.h_min:.3g} .. {seg.h_max:.3g} the increments scale more roughly (slope {seg.slope:.2f}) "
            + ("but change their scaling across it (a crossover)" if seg.kind == "crossover"
               else f"over only {seg.decades:.1f} decades (< {min_decades:g})")
            for seg in rougher)
        return Scaling("ok", "", reported, tuple(ranges), tuple(segments), float(min_decades), caveat)
    if ranges:
        flat = "; ".join(f"h {r.h_min:.3g} .. {r.h_max:.3g} (slope {r.slope:.3f})" for r in ranges)
        reason = (f"the increments do not grow with h over {flat}: a noise or rounding floor, a jump, "
                  "or saturation, not a Hölder exponent")
    else:
        pieces = ", ".join(f"{s.h_min:.3g} .. {s.h_max:.3g} ({s.decades:.1f}, slope {s.slope:.2f})"
                           for s in segments)
        reason = (f"no stretch of {min_decades:g} decade{'s' if min_decades != 1 else ''} follows one power law; "
                  "the increments change "
                  f"their scaling along h (segments, decades: {pieces})")
    return Scaling("no scaling range", reason, None, tuple(ranges), tuple(segments), float(min_decades))
