"""Statistics over seeds: intervals, randomization tests, verdicts, best sets (known answers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from mollirl.analysis import stats as S


def test_interval_of_constant_and_single_values():
    iv = S.interval([2.0, 2.0, 2.0])
    assert (iv.estimate, iv.low, iv.high, iv.method) == (2.0, 2.0, 2.0, "all values equal")
    one = S.interval([5.0])
    assert one.estimate == 5.0 and not one.defined and "no interval at n = 1" in str(one)


def test_interval_is_deterministic_and_contains_the_estimate():
    x = np.random.default_rng(3).normal(size=12)
    a, b = S.interval(x, "median"), S.interval(x, "median")
    assert a == b
    assert a.low <= a.estimate <= a.high


def test_interval_of_the_mean_covers_the_true_mean():
    """Coverage over 200 normal samples of 10: a 95% interval misses the truth rarely."""
    rng = np.random.default_rng(0)
    covered = 0
    for i in range(200):
        iv = S.interval(rng.normal(1.0, 2.0, 10), n_resamples=2000, seed=i)
        covered += iv.low <= 1.0 <= iv.high
    # BCa at n = 10 undercovers a little (about 91-93%); far from 95% would be a bug.
    assert 0.86 <= covered / 200 <= 0.99


def test_interval_of_a_function_of_resampled_units():
    """A callable statistic over unit indices: the interval of a ratio of sums over units
    (how the Hölder estimators resample directions and sub-windows) equals the interval of the
    same statistic written directly, and is labelled with the function's name."""
    rng = np.random.default_rng(5)
    num, den = rng.normal(3.0, 1.0, 15), rng.uniform(1.0, 2.0, 15)

    def ratio(idx, axis=-1):
        idx = np.asarray(idx).astype(np.intp)
        return np.sum(num[idx], axis=axis) / np.sum(den[idx], axis=axis)

    iv = S.interval(np.arange(15), ratio)
    assert iv.estimate == pytest.approx(num.sum() / den.sum())
    assert iv.low < iv.estimate < iv.high and iv.statistic == "ratio" and iv.method == "BCa bootstrap"
    assert S.interval(np.arange(15), ratio, name="sum ratio").statistic == "sum ratio"
    # the mean as a function equals the named statistic, resample for resample
    direct = S.interval(num, "mean")
    as_fn = S.interval(num, lambda x, axis=-1: np.mean(x, axis=axis))
    assert (as_fn.low, as_fn.high) == (direct.low, direct.high)


def test_iqm_is_the_mean_of_the_middle_half():
    x = np.arange(1.0, 9.0)  # 1..8: the middle half is 3, 4, 5, 6
    assert S.iqm(x) == pytest.approx(4.5)
    assert S.iqm([0, 0, 0, 100]) == pytest.approx(0.0)


def test_permutation_p_is_exact_at_small_n():
    # 3 positive paired differences: 2^3 sign patterns, the observed one and its mirror are the extremes.
    assert S.permutation_p([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], paired=True) == pytest.approx(0.25)
    # 3 vs 3 unpaired, fully separated: 2 of C(6, 3) = 20 labellings are as extreme.
    assert S.permutation_p([4.0, 5.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx(0.1)


def test_no_difference_claim_can_hold_at_n_3():
    """The bootstrap interval excludes 0, the exact test cannot reject: not distinguishable."""
    v = S.compare([1.0, 2.0, 3.5], [0.5, 1.0, 1.2], "a beats b", paired=False)
    assert v.interval.low > 0  # the narrow small-n bootstrap interval alone would say "holds"
    assert v.outcome == "not distinguishable" and v.text == "not distinguishable at n = 3"


def test_compare_holds_fails_and_respects_the_direction():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 20), rng.normal(-1.0, 1.0, 20)
    assert S.compare(a, b, "a>b", paired=False).outcome == "holds"
    assert S.compare(b, a, "b>a", paired=False).outcome == "fails"
    assert S.compare(a, b, "a<b", paired=True, higher_is_better=False).outcome == "fails"
    assert S.compare(b, a, "b<a", paired=True, higher_is_better=False).outcome == "holds"
    same = S.compare(rng.normal(size=20), rng.normal(size=20), "x>y", paired=False)
    assert same.outcome == "not distinguishable"


def test_pairing_removes_the_seeds_common_variation():
    rng = np.random.default_rng(2)
    seed_effect = rng.normal(0.0, 10.0, 10)
    a, b = seed_effect + 0.5 + rng.normal(0, 0.1, 10), seed_effect + rng.normal(0, 0.1, 10)
    assert S.compare(a, b, "a>b", paired=False).outcome == "not distinguishable"
    assert S.compare(a, b, "a>b", paired=True).outcome == "holds"


def test_probability_of_improvement_is_mann_whitney():
    rng = np.random.default_rng(4)
    a, b = rng.normal(0.3, 1, 15), rng.normal(0, 1, 12)
    u = st.mannwhitneyu(a, b).statistic
    poi = S.probability_of_improvement(a, b)
    assert poi.estimate == pytest.approx(u / (15 * 12))
    assert 0 <= poi.low <= poi.estimate <= poi.high <= 1
    paired = S.probability_of_improvement([1, 2, 3, 4], [0, 2, 5, 1], paired=True)
    assert paired.estimate == pytest.approx((1 + 0.5 + 0 + 1) / 4)


def test_proportion_is_clopper_pearson():
    iv = S.proportion(1, 5)
    assert iv.low == pytest.approx(st.beta.ppf(0.025, 1, 5))
    assert iv.high == pytest.approx(st.beta.ppf(0.975, 2, 4))
    assert S.judge_proportion(1, 5, "most stand", at_least=0.5).outcome == "not distinguishable"
    assert S.judge_proportion(10, 10, "most stand", at_least=0.5).outcome == "holds"
    assert S.judge_proportion(0, 10, "most stand", at_least=0.5).outcome == "fails"


def test_judge_threshold_both_sides():
    x = np.random.default_rng(5).normal(3.0, 1.0, 12)
    assert S.judge_threshold(x, 0.0, "above 0").outcome == "holds"
    assert S.judge_threshold(x, 10.0, "above 10").outcome == "fails"
    assert S.judge_threshold(x, 10.0, "below 10", above=False).outcome == "holds"
    assert S.judge_threshold(x[:2], 0.0, "above 0").outcome == "not distinguishable"


def test_best_and_ties():
    rng = np.random.default_rng(6)
    base = rng.normal(0, 5, 12)  # shared seeds
    groups = {0.01: base - 10 + rng.normal(0, 0.3, 12), 0.1: base + rng.normal(0, 0.3, 12),
              1.0: base + 0.05 + rng.normal(0, 0.3, 12), 10.0: base - 3 + rng.normal(0, 0.3, 12)}
    best = S.best_and_ties(groups, paired=True)
    assert best.best in (0.1, 1.0)
    assert set(best.ties) == {0.1, 1.0}
    assert best.against_best[10.0].holds and best.against_best[0.01].holds
    d = best.to_dict(key=str)
    assert set(d["indistinguishable_from_best"]) == {"0.1", "1.0"}
    low = S.best_and_ties({k: -v for k, v in groups.items()}, paired=True, higher_is_better=False)
    assert set(low.ties) == {0.1, 1.0}


def test_verdict_serializes_and_rejects_unknown_outcomes():
    v = S.compare([1, 2, 3, 4, 5, 6], [0, 1, 2, 3, 4, 5], "a>b", paired=True)
    d = v.to_dict()
    assert d["verdict"] == v.text and d["interval"]["n"] == 6 and math.isfinite(d["p_value"])
    with pytest.raises(ValueError, match="outcome"):
        S.Verdict("c", "maybe", v.interval, None, 1)


@pytest.mark.parametrize("bad", [[1.0, float("nan")], [float("inf")]])
def test_non_finite_values_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        S.interval(bad)


def test_paired_samples_must_match():
    with pytest.raises(ValueError, match="shared seed"):
        S.compare([1, 2, 3], [1, 2], "x", paired=True)
    with pytest.raises(ValueError, match="statistic"):
        S.interval([1, 2], "mode")


def test_judge_exact_compares_a_number_without_sampling():
    assert S.judge_exact(1.234, 1.0, "unstable").outcome == "holds"
    assert S.judge_exact(0.905, 1.0, "unstable").outcome == "fails"
    below = S.judge_exact(0.905, 1.0, "stable", above=False)
    assert below.outcome == "holds" and below.n == 1 and below.p_value is None
    assert below.interval.low == below.interval.high == 0.905 and "no sampling" in below.interval.method
    tie = S.judge_exact(1.0 + 1e-13, 1.0, "above one", tolerance=1e-9)
    assert tie.outcome == "not distinguishable" and tie.text == "not distinguishable at n = 1"
    with pytest.raises(ValueError, match="value must be finite"):
        S.judge_exact(float("nan"), 1.0, "x")
    with pytest.raises(ValueError, match="tolerance"):
        S.judge_exact(1.0, 1.0, "x", tolerance=-1)


def test_one_seed_is_never_evidence():
    assert S.permutation_p([3.0]) == 1.0
    assert S.permutation_p([3.0], [1.0], paired=True) == 1.0
    assert S.permutation_p([3.0], [1.0, 2.0]) == 1.0
    v = S.compare([3.0], [1.0], "a beats b", paired=True)
    assert v.outcome == "not distinguishable" and v.text == "not distinguishable at n = 1"
    ties = S.best_and_ties({"a": [3.0], "b": [1.0]}, paired=True)
    assert set(ties.ties) == {"a", "b"}


def test_resampled_interval_of_a_curve_statistic_and_its_verdict():
    rng = np.random.default_rng(0)
    episodes = rng.normal(0.0, 1.0, (16, 50)) + np.linspace(0, 5, 50)  # a ramp under noise
    slope = lambda x: float(np.polyfit(np.arange(50), x.mean(axis=0), 1)[0])  # noqa: E731
    iv = S.resampled_interval(episodes, slope, statistic="slope", n_resamples=500)
    assert iv.low < iv.estimate < iv.high and iv.n == 16 and "percentile bootstrap over 16 rows" in iv.method
    assert iv.low < 5 / 49 < iv.high  # covers the true slope
    assert iv == S.resampled_interval(episodes, slope, statistic="slope", n_resamples=500)  # seeded
    assert S.judge_interval(iv, 0.0, "rising").outcome == "holds"
    assert S.judge_interval(iv, 0.0, "falling", above=False).outcome == "fails"
    assert S.judge_interval(iv, 5 / 49, "steeper than the truth").outcome == "not distinguishable"
    few = S.resampled_interval(episodes[:3], slope, statistic="slope", n_resamples=200)
    assert S.judge_interval(few, 0.0, "rising").text == "not distinguishable at n = 3"
    assert S.judge_interval(few, 0.0, "rising", min_rows=3).outcome == "holds"  # the caller's own minimum
    missing = S.Interval(math.nan, math.nan, math.nan, 0.95, 8, "exponent", "no scaling range")
    assert S.judge_interval(missing, 0.5, "rough", min_rows=2).text == "not distinguishable at n = 8"
    with pytest.raises(ValueError, match="at least 2 rows"):
        S.resampled_interval(episodes[:1], slope, statistic="slope")


def test_best_location_interval_of_a_clear_winner_is_its_location():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=10)
    groups = {s: -((np.log10(s) - 0.0) ** 2) * 100 + noise for s in (0.01, 0.1, 1.0, 10.0)}
    iv = S.best_location_interval(groups, {s: s for s in groups}, paired=True, log=True)
    assert (iv.estimate, iv.low, iv.high) == (1.0, 1.0, 1.0)
    assert iv.n == 10 and "paired" in iv.method
    # lower is better: the worst group by the mean becomes the best
    low = S.best_location_interval(groups, {s: s for s in groups}, paired=True, higher_is_better=False)
    assert low.estimate in (0.01, 10.0)


def test_best_location_interval_is_the_bootstrap_distribution_of_the_argmax():
    """Paired seeds [0, 10] against [4, 4]: of the 4 equally likely resamples of 2 seed indices,
    (0, 0) makes b best and the other three a, so b wins with probability 1/4: a 95% interval
    holds both locations, a 40% one (quantiles 0.3 and 0.7) only a's."""
    groups = {"a": [0.0, 10.0], "b": [4.0, 4.0]}
    where = {"a": 2.0, "b": 1.0}
    wide = S.best_location_interval(groups, where, paired=True)
    assert (wide.estimate, wide.low, wide.high) == (2.0, 1.0, 2.0)
    narrow = S.best_location_interval(groups, where, paired=True, level=0.4)
    assert (narrow.low, narrow.high) == (2.0, 2.0)
    # the fraction of resamples b wins is close to the exact 1/4
    rng = np.random.default_rng(S.SEED)
    idx = rng.integers(0, 2, size=(S.N_RESAMPLES, 2))
    b_wins = np.mean(np.array([0.0, 10.0])[idx].mean(axis=1) < 4.0)
    assert b_wins == pytest.approx(0.25, abs=0.02)


def test_best_location_interval_pairs_the_seeds():
    """Two groups that differ by a constant on every seed, with huge seed-to-seed variation:
    paired, the better one wins every resample; unpaired, the seeds' variation blurs it."""
    seeds = np.array([-100.0, 0.0, 100.0, 50.0, -50.0])
    groups = {"a": seeds + 1.0, "b": seeds}
    where = {"a": 1.0, "b": 2.0}
    paired = S.best_location_interval(groups, where, paired=True)
    unpaired = S.best_location_interval(groups, where, paired=False)
    assert (paired.low, paired.high) == (1.0, 1.0)
    assert (unpaired.low, unpaired.high) == (1.0, 2.0)


def test_best_location_interval_refuses_bad_input():
    with pytest.raises(ValueError, match="no location"):
        S.best_location_interval({"a": [1.0, 2.0]}, {}, paired=True)
    with pytest.raises(ValueError, match="> 0"):
        S.best_location_interval({"a": [1.0, 2.0]}, {"a": 0.0}, paired=True, log=True)
    with pytest.raises(ValueError, match="share their seeds"):
        S.best_location_interval({"a": [1.0, 2.0], "b": [1.0]}, {"a": 1.0, "b": 2.0}, paired=True)
    one = S.best_location_interval({"a": [1.0], "b": [2.0]}, {"a": 1.0, "b": 2.0}, paired=True)
    assert one.estimate == 2.0 and not one.defined


def test_weighted_bootstrap_of_a_mean_agrees_with_scipys_bca():
    """The mean of one sample, as a function of weights, against :func:`interval` (scipy's BCa): the
    same estimate, ends within a few percent of the interval's width (different resamples)."""
    x = np.random.default_rng(4).gamma(2.0, 1.0, size=40)
    ours = S.weighted_bootstrap(x.size, lambda w: w @ x, name="mean")
    ref = S.interval(x)
    assert ours.estimate == pytest.approx(ref.estimate)
    width = ref.high - ref.low
    assert abs(ours.low - ref.low) < 0.06 * width and abs(ours.high - ref.high) < 0.06 * width
    assert ours.method == "BCa bootstrap" and ours == S.weighted_bootstrap(x.size, lambda w: w @ x, name="mean")


def test_weighted_bootstrap_of_a_trace_of_covariance():
    """tr Cov of 3-D unit vectors: the weighted estimate equals numpy's at uniform weights, and the 95%
    interval covers the true trace in most of 60 samples of 200 units."""
    rng = np.random.default_rng(5)
    scale = np.array([1.0, 2.0, 3.0])
    true = float(np.sum(scale**2))

    def trace(G):
        sq = np.sum(G**2, axis=1)
        n = G.shape[0]
        return lambda w: (w @ sq - np.sum((w @ G) ** 2, axis=1)) * n / (n - 1)

    G = rng.normal(size=(200, 3)) * scale
    est = S.weighted_bootstrap(200, trace(G), name="tr Cov")
    assert est.estimate == pytest.approx(np.trace(np.cov(G.T)))
    covered = 0
    for i in range(60):
        G = rng.normal(size=(200, 3)) * scale
        iv = S.weighted_bootstrap(200, trace(G), name="tr Cov", n_resamples=2000, seed=i)
        covered += iv.low <= true <= iv.high
    assert covered >= 51  # 95% nominal; 85% would already be a bug


def test_weighted_bootstrap_edge_cases():
    one = S.weighted_bootstrap(1, lambda w: w @ np.array([3.0]), name="mean")
    assert one.estimate == 3.0 and not one.defined
    flat = S.weighted_bootstrap(4, lambda w: w @ np.full(4, 2.0), name="mean")
    assert (flat.low, flat.high, flat.method) == (2.0, 2.0, "all resamples equal")
    with pytest.raises(ValueError, match="not finite"):
        S.weighted_bootstrap(3, lambda w: w @ np.array([1.0, np.nan, 2.0]), name="mean")
    with pytest.raises(ValueError, match="n must be"):
        S.weighted_bootstrap(0, lambda w: w.sum(axis=1), name="x")


def test_weighted_bootstrap_normal_interval_is_centred_on_the_estimate():
    """The unbiased |E g|^2 = |mean|^2 - tr Cov / n of noisy 20-D units with a small signal: its resamples
    centre on the plug-in |mean|^2, above the estimate by tr Cov / n; the normal interval (bootstrap
    standard error) stays centred on the estimate and matches the mean's standard error for a mean."""
    rng = np.random.default_rng(0)
    n = 64
    G = rng.normal(size=(n, 20))
    G[:, 0] += 0.05
    sq = np.einsum("ij,ij->i", G, G)

    def signal(w):
        m = w @ G
        return np.sum(m**2, axis=1) - (w @ sq - np.sum(m**2, axis=1)) / (n - 1)

    iv = S.weighted_bootstrap(n, signal, name="|E g|^2", method="normal")
    assert iv.low < iv.estimate < iv.high and iv.estimate - iv.low == pytest.approx(iv.high - iv.estimate)
    assert iv.method == "bootstrap standard error, normal"
    x = rng.normal(2.0, 3.0, size=200)
    mean = S.weighted_bootstrap(200, lambda w: w @ x, name="mean", method="normal")
    se = np.std(x, ddof=1) / np.sqrt(200)
    assert (mean.high - mean.low) / 2 == pytest.approx(1.96 * se, rel=0.05)
    with pytest.raises(ValueError, match="BCa or normal"):
        S.weighted_bootstrap(3, lambda w: w @ np.ones(3), name="x", method="student")
