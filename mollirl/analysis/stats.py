"""Statistics over seeds (or directions, or trials): summaries, intervals, comparisons, verdicts.

One module serves every reading that rests on a distribution: the reproductions'
verdicts, a sigma* study's interval and its set of indistinguishable sigmas, the
estimators' intervals over directions. Each function returns its value *with* its
interval, and every verdict is one of three outcomes:

- ``"holds"``: the interval of the quantity the claim is about lies wholly on the
  claimed side, and an exact randomization test agrees (p < alpha);
- ``"fails"``: the same, on the other side (the opposite of the claim is shown);
- ``"not distinguishable"``: anything else, printed ``not distinguishable at n = N``.

Why these methods (the choice is the field's, rliable's habits, with scipy's code):

- **Intervals**: :func:`scipy.stats.bootstrap`, bias-corrected and accelerated
  (BCa), 95%, 10,000 resamples, a fixed seed (the same data give the same
  interval). BCa corrects the percentile bootstrap's bias and skew; where it is
  undefined (all resampled statistics equal, a jackknife of zero spread) the
  percentile interval is used and ``method`` says so. No new dependency: rliable
  wraps the same bootstrap (through ``arch``) and adds stratification over tasks,
  which one task at a time does not need.
- **The guard**: a bootstrap interval of 3 values is far too narrow (3 values have
  10 distinct resamples; the interval of a mean of [1, 2, 3.5] against
  [0.5, 1, 1.2] excludes 0). So a verdict also needs an exact randomization test
  (:func:`scipy.stats.permutation_test`; sign flips of the paired differences, or
  relabelling for unpaired samples; exact when the permutations are fewer than the
  resamples, as at n <= 13 paired) to reject at ``alpha`` (0.05). At n = 3 paired
  the smallest possible p is 0.25, so no claim about a difference "holds" or
  "fails" at n = 3: it is "not distinguishable at n = 3", which is the truth.
- **Central tendency**: mean (what a return's expectation is), median, and the
  interquartile mean (IQM: the mean of the middle 50%, robust to one diverged seed
  yet more efficient than the median; rliable's recommendation).
- **Probability of improvement**: P(X > Y) + P(X = Y) / 2 over all pairs (the
  Mann-Whitney statistic; rliable's definition) for unpaired samples, over the shared
  seeds for paired ones, with a bootstrap interval.
- **Proportions** ("k of n seeds stand"): the Clopper-Pearson exact interval.
- **A statistic of a whole Monte Carlo sample** (the high-frequency energy of a
  J_sigma curve over its episodes): :func:`resampled_interval` resamples the
  rows (episodes, common random numbers kept common) and :func:`judge_interval`
  reads the verdict from that interval alone, from 10 rows up.
- **Exact numbers** (a landscape at a fixed theta, a spectral radius): no
  distribution, no interval; :func:`judge_exact` compares the number with its
  threshold up to the computation's stated numerical tolerance.

Paired comparisons are for values that share their seeds (member p of sigma a and
member p of sigma b trained from the same seed and the same starts): the test and
interval use the per-seed differences, which removes the seeds' common variation.
Different machines' runs of the same seeds are *not* independent replicates: give
them as one sample, never as two.

Everything here is numpy/scipy only (no torch, gymnasium, mujoco or optuna).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

LEVEL = 0.95
ALPHA = 0.05
N_RESAMPLES = 10_000
SEED = 0

OUTCOMES = ("holds", "fails", "not distinguishable")
#: the fewest rows (episodes, say) a verdict from a resampled interval alone rests on
MIN_RESAMPLED_ROWS = 10


def iqm(values: ArrayLike, axis: int = -1) -> np.ndarray | float:
    """Interquartile mean: the mean of the middle 50% (``scipy.stats.trim_mean(x, 0.25)``)."""
    return _st.trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def _mean(values, axis=-1):
    return np.mean(values, axis=axis)


def _median(values, axis=-1):
    return np.median(values, axis=axis)


def _std(values, axis=-1):
    return np.std(values, axis=axis, ddof=1)


def _var(values, axis=-1):
    return np.var(values, axis=axis, ddof=1)


STATISTICS: dict[str, Callable] = {"mean": _mean, "median": _median, "iqm": iqm, "std": _std, "var": _var}


def _statistic(name: str | Callable) -> Callable:
    if callable(name):
        return name
    try:
        return STATISTICS[name]
    except KeyError:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, got {name!r}") from None


def _finite_1d(values: ArrayLike, what: str) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} must be finite, got {x[~np.isfinite(x)][:3].tolist()} among {x.size} values")
    return x


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


@dataclasses.dataclass(frozen=True)
class Interval:
    """A statistic of a sample with its confidence interval.

    :param estimate: the statistic of the whole sample.
    :param low: lower end of the interval (NaN when the sample cannot give one, n < 2).
    :param high: upper end (NaN as ``low``).
    :param level: confidence level, e.g. 0.95.
    :param n: sample size (for a two-sample statistic, the smaller of the two).
    :param statistic: what was computed (``"mean"``, ``"median"``, ``"iqm"``,
        ``"mean difference"``, ``"P(a > b)"``, ``"proportion"``, ...).
    :param method: how the interval was made (``"BCa bootstrap"``, ``"percentile
        bootstrap"``, ``"all values equal"``, ``"Clopper-Pearson"``, ``"n < 2"``).
    """

    estimate: float
    low: float
    high: float
    level: float
    n: int
    statistic: str
    method: str

    @property
    def defined(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def above(self, threshold: float) -> bool:
        """The whole interval lies strictly above ``threshold``."""
        return self.defined and self.low > threshold

    def below(self, threshold: float) -> bool:
        """The whole interval lies strictly below ``threshold``."""
        return self.defined and self.high < threshold

    def overlaps(self, other: Interval) -> bool:
        return not (self.defined and other.defined) or (self.low <= other.high and other.low <= self.high)

    def to_dict(self) -> dict:
        return {
            "estimate": float(self.estimate),
            "low": None if not math.isfinite(self.low) else float(self.low),
            "high": None if not math.isfinite(self.high) else float(self.high),
            "level": self.level,
            "n": self.n,
            "statistic": self.statistic,
            "method": self.method,
        }

    def __str__(self) -> str:
        if not self.defined:
            return f"{_fmt(self.estimate)} (no interval at n = {self.n})"
        return f"{_fmt(self.estimate)} [{_fmt(self.low)}, {_fmt(self.high)}]"


def _bootstrap(data: tuple[np.ndarray, ...], fn: Callable, *, paired: bool, level: float,
               n_resamples: int, seed: int) -> tuple[float, float, str]:
    """BCa bootstrap interval of ``fn(*data)``; percentile where BCa is undefined."""
    def vectorized(*samples, axis=-1):
        return fn(*samples, axis=axis)

    for method, name in (("BCa", "BCa bootstrap"), ("percentile", "percentile bootstrap")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = _st.bootstrap(data, vectorized, paired=paired, vectorized=True, confidence_level=level,
                                n_resamples=n_resamples, method=method, rng=np.random.default_rng(seed))
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(lo) and math.isfinite(hi):
            return lo, hi, name
    return math.nan, math.nan, "bootstrap undefined"


def interval(values: ArrayLike, statistic: str | Callable = "mean", *, level: float = LEVEL,
             n_resamples: int = N_RESAMPLES, seed: int = SEED, name: str | None = None) -> Interval:
    """The ``statistic`` of ``values`` (one per seed, say) with its bootstrap interval.

    ``statistic`` is a name of :data:`STATISTICS` or a vectorized function
    ``fn(sample, axis=-1)`` that reduces the last axis (it is called on the whole sample,
    on resamples of shape ``(..., n)`` and on the jackknife's leave-one-out samples). A
    function of resampling *units* is bootstrapped by passing the units' indices as
    ``values`` (``np.arange(n_units)``) and looking the units up inside ``fn``: that is how
    the Hölder estimators resample directions or sub-windows. ``name`` labels a function
    in the :class:`Interval` (default its ``__name__``).

    >>> str(interval([1.0, 2.0, 3.0, 4.0]))  # doctest: +SKIP
    '2.5 [1.5, 3.5]'
    """
    x = _finite_1d(values, "values")
    fn = _statistic(statistic)
    label = statistic if isinstance(statistic, str) else (name or getattr(statistic, "__name__", "statistic"))
    if x.size == 0:
        raise ValueError("values must hold at least one number")
    est = float(fn(x))
    if x.size < 2:
        return Interval(est, math.nan, math.nan, level, int(x.size), label, "n < 2")
    if np.all(x == x[0]):
        return Interval(est, est, est, level, int(x.size), label, "all values equal")
    lo, hi, method = _bootstrap((x,), fn, paired=False, level=level, n_resamples=n_resamples, seed=seed)
    return Interval(est, lo, hi, level, int(x.size), label, method)


def weighted_bootstrap(n: int, statistic: Callable[[np.ndarray], np.ndarray], *, name: str,
                       level: float = LEVEL, n_resamples: int = N_RESAMPLES, seed: int = SEED,
                       chunk: int = 2000, method: str = "BCa") -> Interval:
    """A statistic of ``n`` i.i.d. units (episodes, say) with its BCa bootstrap interval, for statistics
    of multivariate units that :func:`interval` cannot take (a trace of covariance, a norm, an angle).

    The statistic is given as a function of resampling *weights*: ``statistic(w)`` with ``w`` of shape
    ``(R, n)`` (each row non-negative, summing to 1) returns ``(R,)`` values; uniform weights
    ``1 / n`` give the estimate, the counts of n draws with replacement ``/ n`` the bootstrap resamples, leave-one-out
    weights the jackknife that sets BCa's acceleration. A weighted mean of unit vectors
    ``w @ G`` then costs one matrix product per chunk of resamples, never a copy of the resampled
    data. BCa as in :func:`scipy.stats.bootstrap` (bias from the fraction of resamples below the
    estimate, acceleration from the jackknife); the percentile interval where BCa is undefined,
    ``method`` says which. Fixed seed: the same data give the same interval.

    ``method="normal"``: the estimate plus or minus the normal quantile times the bootstrap standard
    error. For an *unbiased* estimator of a nonlinear functional (``|mean|^2 - tr Cov / n`` of
    noisy units, say) the resamples centre on the plug-in functional, not on the estimate; where
    noise dominates, that offset is most of the distribution, and BCa's correction can move its
    interval off the estimate altogether. The standard error does not depend on the centre.

    :param n: number of units (>= 1).
    :param statistic: ``(R, n) weights -> (R,)`` values; must be finite for the estimate.
    :param name: what the statistic is (the :class:`Interval`'s ``statistic``).
    :param method: ``"BCa"`` or ``"normal"``.
    :raises ValueError: on ``n < 1``, a non-finite estimate or an unknown method.
    """
    if method not in ("BCa", "normal"):
        raise ValueError(f"method must be BCa or normal, got {method!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    n = int(n)
    est = float(np.asarray(statistic(np.full((1, n), 1.0 / n)), dtype=float).reshape(-1)[0])
    if not math.isfinite(est):
        raise ValueError(f"the statistic {name!r} is not finite on the sample: {est!r}")
    if n < 2:
        return Interval(est, math.nan, math.nan, level, n, name, "n < 2")
    rng = np.random.default_rng(seed)
    boot = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        # each row: n draws with replacement, as counts per unit (a bincount over the rows at once)
        flat = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(flat.ravel(), minlength=size * n).reshape(size, n)
        boot.append(np.asarray(statistic(counts / n), dtype=float).reshape(-1))
    theta = np.concatenate(boot)
    theta = theta[np.isfinite(theta)]
    if theta.size == 0:
        return Interval(est, math.nan, math.nan, level, n, name, "bootstrap undefined")
    if np.all(theta == theta[0]):
        return Interval(est, float(theta[0]), float(theta[0]), level, n, name, "all resamples equal")
    alpha = (1.0 - level) / 2
    if method == "normal":
        half = float(_st.norm.ppf(1.0 - alpha) * np.std(theta, ddof=1))
        return Interval(est, est - half, est + half, level, n, name, "bootstrap standard error, normal")
    method = "BCa bootstrap"
    loo = np.full((n, n), 1.0 / (n - 1))
    np.fill_diagonal(loo, 0.0)
    jack = np.concatenate([np.asarray(statistic(loo[i:i + chunk]), dtype=float).reshape(-1)
                           for i in range(0, n, chunk)])
    with np.errstate(all="ignore"):
        z0 = _st.norm.ppf(np.mean(theta < est) + 0.5 * np.mean(theta == est))
        d = jack.mean() - jack
        a = np.sum(d**3) / (6.0 * np.sum(d**2) ** 1.5)
        z = _st.norm.ppf([alpha, 1.0 - alpha])
        q = _st.norm.cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
    if not np.all(np.isfinite(q)):
        q = np.array([alpha, 1.0 - alpha])
        method = "percentile bootstrap"
    lo, hi = (float(v) for v in np.quantile(theta, q))
    return Interval(est, lo, hi, level, n, name, method)


def summary(values: ArrayLike, *, level: float = LEVEL, seed: int = SEED) -> dict:
    """n, mean, median, IQM, std, min, max, and the mean's and IQM's intervals, as a JSON-able dict."""
    x = _finite_1d(values, "values")
    mean = interval(x, "mean", level=level, seed=seed)
    mid = interval(x, "iqm", level=level, seed=seed)
    return {
        "n": int(x.size),
        "mean": float(np.mean(x)),
        "median": float(np.median(x)),
        "iqm": float(iqm(x)),
        "std": float(np.std(x, ddof=1)) if x.size > 1 else None,
        "min": float(np.min(x)),
        "max": float(np.max(x)),
        "mean_ci": mean.to_dict(),
        "iqm_ci": mid.to_dict(),
    }


def _pair(a: ArrayLike, b: ArrayLike, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    x = _finite_1d(a, "a")
    y = _finite_1d(b, "b")
    if x.size == 0 or y.size == 0:
        raise ValueError("both samples must hold at least one number")
    if paired and x.size != y.size:
        raise ValueError(f"paired samples must have one value per shared seed: got {x.size} and {y.size}")
    return x, y


def difference(a: ArrayLike, b: ArrayLike, *, paired: bool, statistic: str = "mean",
               level: float = LEVEL, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Interval:
    """``statistic(a) - statistic(b)`` (unpaired) or ``statistic(a - b)`` (paired), with its interval.

    For the mean both are the same number; for the median and IQM the paired form is
    the statistic of the per-seed differences.
    """
    x, y = _pair(a, b, paired)
    fn = _statistic(statistic)
    if paired:
        d = x - y
        iv = interval(d, statistic, level=level, n_resamples=n_resamples, seed=seed)
        return dataclasses.replace(iv, statistic=f"paired {statistic} difference")
    est = float(fn(x) - fn(y))
    n = int(min(x.size, y.size))
    name = f"{statistic} difference"
    if n < 2:
        return Interval(est, math.nan, math.nan, level, n, name, "n < 2")
    if np.all(x == x[0]) and np.all(y == y[0]):
        return Interval(est, est, est, level, n, name, "all values equal")
    lo, hi, method = _bootstrap((x, y), lambda p, q, axis=-1: fn(p, axis=axis) - fn(q, axis=axis),
                                paired=False, level=level, n_resamples=n_resamples, seed=seed)
    return Interval(est, lo, hi, level, n, name, method)


def permutation_p(a: ArrayLike, b: ArrayLike | None = None, *, paired: bool = False, statistic: str = "mean",
                  n_resamples: int = N_RESAMPLES, seed: int = SEED) -> float:
    """Two-sided p-value of "no difference" by an exact (or Monte Carlo) randomization test.

    One sample (``b`` None): sign flips of ``a`` (H0: symmetric about 0). Paired: sign
    flips of the per-seed differences. Unpaired: relabelling of the pooled values. Exact
    when there are at most ``n_resamples`` arrangements. A sample of one value (one seed) gives p = 1:
    it cannot tell anything from chance.
    """
    fn = _statistic(statistic)
    if b is None:
        x = _finite_1d(a, "a")
        if x.size < 2 or np.all(x == 0):  # one value cannot tell a sign from chance (and scipy needs two)
            return 1.0
        res = _st.permutation_test((x,), lambda s, axis=-1: fn(s, axis=axis), permutation_type="samples",
                                   vectorized=True, n_resamples=n_resamples, rng=np.random.default_rng(seed))
        return float(res.pvalue)
    x, y = _pair(a, b, paired)
    if paired:
        return permutation_p(x - y, None, statistic=statistic, n_resamples=n_resamples, seed=seed)
    if np.all(np.concatenate([x, y]) == x[0]) or min(x.size, y.size) < 2:
        return 1.0
    res = _st.permutation_test((x, y), lambda p, q, axis=-1: fn(p, axis=axis) - fn(q, axis=axis),
                               permutation_type="independent", vectorized=True, n_resamples=n_resamples,
                               rng=np.random.default_rng(seed))
    return float(res.pvalue)


def _poi(x: np.ndarray, y: np.ndarray, paired: bool, axis: int = -1) -> np.ndarray:
    if paired:
        return np.mean((x > y) + 0.5 * (x == y), axis=axis)
    gt = (x[..., :, None] > y[..., None, :]) + 0.5 * (x[..., :, None] == y[..., None, :])
    return gt.mean(axis=(-2, -1))


def probability_of_improvement(a: ArrayLike, b: ArrayLike, *, paired: bool = False, level: float = LEVEL,
                               n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Interval:
    """P(a > b) + P(a = b) / 2 with a bootstrap interval (``a`` better when higher is better).

    Unpaired: over all pairs of one value of ``a`` and one of ``b`` (the Mann-Whitney
    U statistic over n_a n_b, rliable's definition). Paired: over the shared seeds.
    """
    x, y = _pair(a, b, paired)
    est = float(_poi(x, y, paired))
    n = int(min(x.size, y.size))
    name = "P(a > b)"
    if n < 2:
        return Interval(est, math.nan, math.nan, level, n, name, "n < 2")
    lo, hi, method = _bootstrap((x, y), lambda p, q, axis=-1: _poi(np.moveaxis(p, axis, -1),
                                                                   np.moveaxis(q, axis, -1), paired),
                                paired=paired, level=level, n_resamples=min(n_resamples, 4000), seed=seed)
    if not math.isfinite(lo):
        lo = hi = est
        method = "all resamples equal"
    return Interval(est, lo, hi, level, n, name, method)


def proportion(successes: int, n: int, *, level: float = LEVEL) -> Interval:
    """``successes / n`` with the Clopper-Pearson exact interval ("k of n seeds stand")."""
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not (0 <= successes <= n):
        raise ValueError(f"successes must be in [0, n = {n}], got {successes!r}")
    ci = _st.binomtest(int(successes), int(n)).proportion_ci(confidence_level=level, method="exact")
    return Interval(successes / n, float(ci.low), float(ci.high), level, int(n), "proportion", "Clopper-Pearson")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A claim judged from an interval and a randomization test.

    :param claim: the claim in words, e.g. ``"sigma 0.5 beats sigma 5 (final J_det)"``.
    :param outcome: ``"holds"``, ``"fails"`` or ``"not distinguishable"``.
    :param interval: the interval the outcome was read from (a difference, a value
        against a threshold, a proportion).
    :param p_value: the randomization test's two-sided p (None where no test applies,
        e.g. a proportion against a fraction uses its exact interval alone).
    :param n: the sample size behind it (the smaller sample for two).
    :param detail: the numbers in one line, for the printed summary.
    """

    claim: str
    outcome: str
    interval: Interval
    p_value: float | None
    n: int
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")

    @property
    def text(self) -> str:
        return f"not distinguishable at n = {self.n}" if self.outcome == "not distinguishable" else self.outcome

    @property
    def holds(self) -> bool:
        return self.outcome == "holds"

    def to_dict(self) -> dict:
        return {
            "claim": self.claim,
            "verdict": self.text,
            "outcome": self.outcome,
            "interval": self.interval.to_dict(),
            "p_value": self.p_value,
            "n": self.n,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        return f"{self.claim}: {self.text}" + (f" ({self.detail})" if self.detail else "")


def _negated(iv: Interval) -> Interval:
    return dataclasses.replace(iv, estimate=-iv.estimate, low=-iv.high, high=-iv.low)


def _decide(iv: Interval, p: float | None, threshold: float, alpha: float) -> str:
    significant = p is None or p < alpha
    if significant and iv.above(threshold):
        return "holds"
    if significant and iv.below(threshold):
        return "fails"
    return "not distinguishable"


def compare(a: ArrayLike, b: ArrayLike, claim: str, *, paired: bool, higher_is_better: bool = True,
            statistic: str = "mean", level: float = LEVEL, alpha: float = ALPHA,
            n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Verdict:
    """Judge "``a`` is better than ``b``" from the interval of the difference and a randomization test.

    ``holds`` when the difference's interval lies wholly on the better side of 0 and
    p < alpha; ``fails`` when it lies wholly on the other side (``b`` is shown
    better) and p < alpha; else ``not distinguishable at n = N``.
    """
    x, y = _pair(a, b, paired)
    iv = difference(x, y, paired=paired, statistic=statistic, level=level, n_resamples=n_resamples, seed=seed)
    p = permutation_p(x, y, paired=paired, statistic=statistic, n_resamples=n_resamples, seed=seed)
    outcome = _decide(iv if higher_is_better else _negated(iv), p, 0.0, alpha)
    detail = (f"{iv.statistic} a - b {iv} ({int(level * 100)}% CI; {'higher' if higher_is_better else 'lower'} "
              f"is better), p = {p:.3g}, "
              f"{'paired over ' + str(x.size) + ' seeds' if paired else f'n = {x.size} vs {y.size}'}")
    return Verdict(claim, outcome, iv, p, int(min(x.size, y.size)), detail)


def judge_threshold(values: ArrayLike, threshold: float, claim: str, *, above: bool = True,
                    statistic: str = "mean", level: float = LEVEL, alpha: float = ALPHA,
                    n_resamples: int = N_RESAMPLES, seed: int = SEED) -> Verdict:
    """Judge "the ``statistic`` of ``values`` is above (or below) ``threshold``".

    For the mean, the randomization test is the sign flip of ``values - threshold``;
    for other statistics the interval alone decides (no exact test applies).
    """
    x = _finite_1d(values, "values")
    iv = interval(x, statistic, level=level, n_resamples=n_resamples, seed=seed)
    p = permutation_p(x - threshold, None, statistic=statistic, n_resamples=n_resamples,
                      seed=seed) if statistic in ("mean", "median", "iqm") else None
    if x.size < 2:
        p = 1.0
    shifted = dataclasses.replace(iv, estimate=iv.estimate - threshold, low=iv.low - threshold,
                                  high=iv.high - threshold)
    outcome = _decide(shifted if above else _negated(shifted), p, 0.0, alpha)
    side = ">" if above else "<"
    detail = (f"{statistic} {iv} ({int(level * 100)}% CI) {side} {_fmt(threshold)}?"
              + (f", p = {p:.3g}" if p is not None else "") + f", n = {x.size}")
    return Verdict(claim, outcome, iv, p, int(x.size), detail)


def judge_proportion(successes: int, n: int, claim: str, *, at_least: float, level: float = LEVEL) -> Verdict:
    """Judge "the fraction of successes is at least ``at_least``" from the Clopper-Pearson interval.

    ``holds`` when the interval's lower end reaches ``at_least``; ``fails`` when its upper
    end is below it; else not distinguishable (e.g. 1 of 5 seeds against a majority).
    """
    iv = proportion(successes, n, level=level)
    if iv.low >= at_least:
        outcome = "holds"
    elif iv.high < at_least:
        outcome = "fails"
    else:
        outcome = "not distinguishable"
    detail = f"{successes}/{n}, {iv} ({int(level * 100)}% Clopper-Pearson) against {_fmt(at_least)}"
    return Verdict(claim, outcome, iv, None, int(n), detail)


def judge_exact(value: float, threshold: float, claim: str, *, above: bool = True, tolerance: float = 0.0,
                what: str = "value") -> Verdict:
    """Judge "``value`` is above (or below) ``threshold``" for a number without sampling noise.

    For a deterministic computation at a fixed point (a landscape at a fixed theta with
    fixed seeds, a spectral radius, a Lyapunov exponent of a fixed closed loop): the
    number repeats bit for bit, so there is no distribution to draw an interval from.
    The "interval" is the point itself (``method`` says so), ``n`` is 1 and no test
    applies. ``tolerance`` is the numerical resolution of the computation: within it of
    the threshold the claim is not distinguishable (printed ``not distinguishable at
    n = 1``); beyond it on the claimed side it holds, on the other side it fails.

    :raises ValueError: on a non-finite ``value``, ``threshold`` or a negative ``tolerance``.
    """
    for name, x in (("value", value), ("threshold", threshold), ("tolerance", tolerance)):
        if not math.isfinite(float(x)):
            raise ValueError(f"{name} must be finite, got {x!r}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance!r}")
    v, t = float(value), float(threshold)
    iv = Interval(v, v, v, 1.0, 1, f"exact {what}", "deterministic computation (no sampling)")
    gap = (v - t) if above else (t - v)
    if gap > tolerance:
        outcome = "holds"
    elif gap < -tolerance:
        outcome = "fails"
    else:
        outcome = "not distinguishable"
    side = ">" if above else "<"
    detail = f"{what} {_fmt(v)} {side} {_fmt(t)}?" + (f" (tolerance {_fmt(tolerance)})" if tolerance else "") \
        + ", exact"
    return Verdict(claim, outcome, iv, None, 1, detail)


def resampled_interval(samples: ArrayLike, fn: Callable[[np.ndarray], float], *, statistic: str,
                       level: float = LEVEL, n_resamples: int = 2000, seed: int = SEED) -> Interval:
    """The percentile bootstrap interval of ``fn(samples)`` over resamples of the rows of ``samples``.

    For a statistic of a whole sample that no closed form covers: the high-frequency energy of a
    Monte Carlo curve ``(episodes, points)``, resampling its episodes (rows) with replacement, the same
    row indices for every column (common random numbers stay common). ``fn`` maps an array of the
    shape of ``samples`` to one number. Percentile, not BCa: BCa's jackknife would call ``fn`` once
    per row more and adds little at these sizes; ``method`` says so.

    :param samples: ``(n, ...)`` with n >= 2 rows (episodes, seeds, directions), all finite.
    :param fn: the statistic; it must return a finite number for every resample.
    :param statistic: its name, for the interval.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim < 1 or x.shape[0] < 2:
        raise ValueError(f"samples must have at least 2 rows to resample, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite")
    estimate = float(fn(x))
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    values = np.array([fn(x[rng.integers(0, n, n)]) for _ in range(int(n_resamples))], dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{statistic} is not finite for some resamples")
    tail = (1.0 - level) / 2
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return Interval(estimate, float(low), float(high), level, int(n), statistic,
                    f"percentile bootstrap over {n} rows ({int(n_resamples)} resamples)")


def judge_interval(iv: Interval, threshold: float, claim: str, *, above: bool = True,
                   min_rows: int = MIN_RESAMPLED_ROWS) -> Verdict:
    """Judge "the quantity is above (or below) ``threshold``" from its interval alone.

    For intervals no exact test comes with (:func:`resampled_interval`): holds when the interval
    lies wholly on the claimed side, fails when wholly on the other, else not distinguishable at n.
    Below ``min_rows`` rows (default :data:`MIN_RESAMPLED_ROWS`) no verdict is drawn (not
    distinguishable at n): with no exact test to guard it, a bootstrap of 2 or 3 rows would "hold" on
    chance. An estimator that states its own interval over its resampling units (the Hölder fits'
    directions or sub-windows) passes its own minimum. An interval that is not defined (NaN: no
    measurement, e.g. no scaling range) is never distinguishable.
    """
    shifted = dataclasses.replace(iv, estimate=iv.estimate - threshold, low=iv.low - threshold,
                                  high=iv.high - threshold)
    outcome = _decide(shifted if above else _negated(shifted), None, 0.0, ALPHA)
    if iv.n < min_rows:  # a bootstrap of a few rows is far too narrow to rest a verdict on
        outcome = "not distinguishable"
    side = ">" if above else "<"
    detail = f"{iv.statistic} {iv} ({int(iv.level * 100)}% CI, {iv.method}) {side} {_fmt(threshold)}?"
    return Verdict(claim, outcome, iv, None, iv.n, detail)


@dataclasses.dataclass(frozen=True)
class BestSet:
    """The best group and the groups that cannot be told apart from it.

    :param best: key of the group with the best ``statistic``.
    :param ties: keys whose comparison with ``best`` is not distinguishable (``best`` included).
    :param intervals: each group's interval of ``statistic``.
    :param against_best: each other group's :class:`Verdict` of "best beats it".
    """

    best: Hashable
    ties: tuple
    intervals: dict
    against_best: dict

    def to_dict(self, key: Callable[[Hashable], object] = lambda k: k) -> dict:
        return {
            "best": key(self.best),
            "indistinguishable_from_best": [key(k) for k in self.ties],
            "intervals": {str(key(k)): iv.to_dict() for k, iv in self.intervals.items()},
            "against_best": {str(key(k)): v.to_dict() for k, v in self.against_best.items()},
        }


def best_and_ties(groups: Mapping[Hashable, ArrayLike], *, paired: bool, higher_is_better: bool = True,
                  statistic: str = "mean", level: float = LEVEL, alpha: float = ALPHA,
                  n_resamples: int = N_RESAMPLES, seed: int = SEED) -> BestSet:
    """The best of several groups (sigmas, say) and the set not distinguishable from it.

    Each other group is compared with the best by :func:`compare` (paired when the groups
    share their seeds); it is a tie unless "best beats it" holds. No correction for the
    number of comparisons is made: a tie set errs on the side of inclusion.
    """
    if not groups:
        raise ValueError("groups must hold at least one group")
    arrays = {k: _finite_1d(v, f"group {k!r}") for k, v in groups.items()}
    fn = _statistic(statistic)
    scores = {k: float(fn(v)) for k, v in arrays.items()}
    pick = max if higher_is_better else min
    best = pick(scores, key=lambda k: scores[k])
    intervals = {k: interval(v, statistic, level=level, n_resamples=n_resamples, seed=seed)
                 for k, v in arrays.items()}
    against: dict = {}
    ties = [best]
    for k, v in arrays.items():
        if k == best:
            continue
        if paired and v.size != arrays[best].size:
            raise ValueError(f"paired groups must share their seeds: {best!r} has {arrays[best].size} values, "
                             f"{k!r} has {v.size}")
        verdict = compare(arrays[best], v, f"{best} beats {k}", paired=paired, higher_is_better=higher_is_better,
                          statistic=statistic, level=level, alpha=alpha, n_resamples=n_resamples, seed=seed)
        against[k] = verdict
        if not verdict.holds:
            ties.append(k)
    return BestSet(best, tuple(ties), intervals, against)


def best_location_interval(groups: Mapping[Hashable, ArrayLike], locations: Mapping[Hashable, float], *,
                           paired: bool, higher_is_better: bool = True, statistic: str = "mean",
                           log: bool = False, level: float = LEVEL, n_resamples: int = N_RESAMPLES,
                           seed: int = SEED) -> Interval:
    """Where the best group lies (a sigma*, say), with a bootstrap interval over seeds.

    Each group has a location (its sigma) and a sample (one value per seed). The estimate is
    the location of the group with the best ``statistic``; the interval is the percentile
    interval of that location over bootstrap resamples of the seeds: paired (groups that
    share their seeds: one resample of seed indices for every group, so the seeds' common
    variation moves every group together) or each group resampled on its own. The ends are
    locations of groups (the ``lower`` and ``higher`` empirical quantiles), so the interval
    never claims a precision between the groups measured. ``log``: the quantiles are taken
    of log(location) (a log-spaced search), which for these empirical quantiles gives the
    same ends.

    Read it as "over resamples of these seeds, the best group lay in [low, high] 95% of the
    time". With few seeds the resamples are few (n = 3 gives 10 distinct multisets), so a
    narrow interval at small n says little; :func:`best_and_ties` says which groups the data
    cannot tell from the best.

    :param groups: key -> values (paired: the same number of values, in the same seed order).
    :param locations: key -> location (finite; > 0 with ``log``) of every key of ``groups``.
    :return: an :class:`Interval` with ``statistic`` ``"location of the best (mean)"``.
    :raises ValueError: on no groups, a missing or bad location, non-finite values, or paired
        groups of different sizes.
    """
    if not groups:
        raise ValueError("groups must hold at least one group")
    keys = list(groups)
    arrays = [_finite_1d(groups[k], f"group {k!r}") for k in keys]
    try:
        loc = np.array([float(locations[k]) for k in keys])
    except KeyError as exc:
        raise ValueError(f"no location for group {exc.args[0]!r}") from None
    if not np.all(np.isfinite(loc)) or (log and np.any(loc <= 0)):
        raise ValueError(f"locations must be finite{' and > 0 (log)' if log else ''}, got {loc.tolist()}")
    if any(a.size == 0 for a in arrays):
        raise ValueError("every group must hold at least one value")
    fn = _statistic(statistic)
    sign = 1.0 if higher_is_better else -1.0
    scores = np.array([sign * float(fn(a)) for a in arrays])
    best = int(np.argmax(scores))
    name = f"location of the best ({statistic})"
    n = int(min(a.size for a in arrays))
    if paired and len({a.size for a in arrays}) > 1:
        raise ValueError(f"paired groups must share their seeds: sizes {[a.size for a in arrays]}")
    if n < 2:
        return Interval(float(loc[best]), math.nan, math.nan, level, n, name, "n < 2")
    rng = np.random.default_rng(seed)
    if paired:
        data = np.stack(arrays)  # (groups, seeds)
        idx = rng.integers(0, n, size=(n_resamples, n))
        stats_ = np.stack([fn(data[g][idx], axis=-1) for g in range(len(keys))], axis=-1)  # (resamples, groups)
    else:
        stats_ = np.stack([fn(a[rng.integers(0, a.size, size=(n_resamples, a.size))], axis=-1) for a in arrays],
                          axis=-1)
    winners = loc[np.argmax(sign * stats_, axis=-1)]
    values = np.log(winners) if log else winners
    alpha = 1.0 - level
    lo = float(np.quantile(values, alpha / 2, method="lower"))
    hi = float(np.quantile(values, 1.0 - alpha / 2, method="higher"))
    if log:
        lo, hi = float(np.exp(lo)), float(np.exp(hi))
        # exp(log(x)) may differ from x in the last bit: report the group locations themselves
        lo, hi = float(loc[np.argmin(np.abs(loc - lo))]), float(loc[np.argmin(np.abs(loc - hi))])
    method = f"{'paired' if paired else 'unpaired'} percentile bootstrap of the argmax"
    return Interval(float(loc[best]), lo, hi, level, n, name, method)


def distinguishable_pairs(groups: Mapping[Hashable, ArrayLike], *, paired: bool, higher_is_better: bool = True,
                          statistic: str = "mean", **kwargs) -> dict[tuple, Verdict]:
    """Every pair (i < j in the mapping's order) judged by :func:`compare` ("i beats j")."""
    keys = list(groups)
    out = {}
    for i, ka in enumerate(keys):
        for kb in keys[i + 1:]:
            out[(ka, kb)] = compare(groups[ka], groups[kb], f"{ka} beats {kb}", paired=paired,
                                    higher_is_better=higher_is_better, statistic=statistic, **kwargs)
    return out


def as_sequence(values: Sequence[float] | np.ndarray) -> list[float]:
    """Plain floats for JSON."""
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]
