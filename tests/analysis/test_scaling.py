"""The scaling-range finder on increment curves E(h) of known shape (mollirl.analysis.scaling)."""

import math

import numpy as np
import pytest

from mollirl.analysis import scaling_ranges, stats
from mollirl.analysis.scaling import TOLERANCE, drift, partition

H = np.geomspace(1e-10, 1e-1, 28)  # 9 decades, 3 step sizes per decade


def broken(h, h0, low, high):
    """An exact broken power law: slope ``low`` below h0, ``high`` above, continuous at h0."""
    return np.where(h < h0, (h / h0) ** low, (h / h0) ** high)


@pytest.mark.parametrize("h0", [1e-7, 1e-5, 1e-3])
def test_exact_broken_power_law_gives_two_exact_ranges(h0):
    h = np.concatenate([H, [h0]])
    h = np.unique(h)  # h0 on the grid: both sides are exact power laws through it
    result = scaling_ranges(h, broken(h, h0, 1.0, 0.3), min_decades=2.0)
    assert result.status == "ok" and result.reason == "" and result.caveat == ""
    assert [r.kind for r in result.ranges] == ["power law", "power law"]
    low, high = result.ranges
    assert low.slope == pytest.approx(1.0, abs=1e-9) and high.slope == pytest.approx(0.3, abs=1e-9)
    # the breakpoint: h0 belongs to either line; no step size strays across it
    assert low.h_max <= h0 * (1 + 1e-12) and high.h_min >= h0 * (1 - 1e-12)
    assert low.h_max >= h0 / 10 ** (1 / 3 + 1e-9) and high.h_min <= h0 * 10 ** (1 / 3 + 1e-9)
    # the roughest range is reported, the Lipschitz one listed
    assert result.range is high and high.alpha == pytest.approx(0.3, abs=1e-9)
    assert high.r_squared == pytest.approx(1.0) and high.rms_residual < 1e-9


def test_noisy_power_law_is_one_range_not_split_by_its_noise():
    """Log-normal scatter of 0.1 decades about h^0.5 (a rough envelope): one range over all 9 decades,
    its slope within 3 OLS standard errors of 0.5 (the partition must not chase the noise)."""
    rng = np.random.default_rng(0)
    e = H**0.5 * 10 ** (0.1 * rng.standard_normal(H.size))
    result = scaling_ranges(H, e, min_decades=2.0)
    assert len(result.segments) == 1 and result.status == "ok"
    assert abs(result.range.slope - 0.5) < 3 * result.range.slope_stderr
    assert result.range.rms_residual == pytest.approx(0.1, abs=0.04)


def test_pure_noise_is_a_flat_range_and_no_exponent():
    rng = np.random.default_rng(1)
    e = 10 ** (0.15 * rng.standard_normal(H.size))
    result = scaling_ranges(H, e, min_decades=2.0)
    assert result.status == "no scaling range" and result.range is None
    assert [r.kind for r in result.ranges] == ["flat"]
    assert "do not grow with h" in result.reason and "noise or rounding floor" in result.reason


def test_a_jump_is_flat():
    """A jump at the centre: the same increment at every h (slope 0, no scatter): exponent 0 is not a
    Hölder exponent the data can tell from a noise floor; it is reported flat."""
    result = scaling_ranges(H, np.full(H.size, 2.5), min_decades=2.0)
    assert result.status == "no scaling range" and result.ranges[0].kind == "flat"


def test_crossover_between_two_power_laws_is_not_a_range():
    """E = h^0.3 + 1e3 h: the local exponent climbs from 0.3 to 1 over ~3 decades around h ~ 5e-5. The
    partition cuts a middle segment whose exponent drifts by ~0.5 across it: a crossover, never a range."""
    e = H**0.3 + 1e3 * H
    result = scaling_ranges(H, e, min_decades=2.0)
    kinds = [s.kind for s in result.segments]
    assert "crossover" in kinds
    power = [r for r in result.ranges if r.kind == "power law"]
    assert [round(r.slope, 1) for r in power] == [0.3, 1.0]
    assert result.range.slope == pytest.approx(0.3, abs=0.01)
    cross = result.segments[kinds.index("crossover")]
    change, se = drift(np.log10(H[(H >= cross.h_min) & (H <= cross.h_max)]),
                       np.log10(e[(H >= cross.h_min) & (H <= cross.h_max)]))
    assert change > 0.25 + 3 * se


def test_a_rougher_stretch_too_short_to_be_a_range_is_named():
    """Rough (0.3) only over the top 1.5 decades, Lipschitz below: with min_decades 2 the reported range is
    the Lipschitz one, and the caveat says where the increments scale more roughly."""
    h0 = 10 ** -2.5
    result = scaling_ranges(H, broken(H, h0, 1.0, 0.3), min_decades=2.0)
    assert result.range.slope == pytest.approx(1.0, abs=1e-9)
    assert "more roughly (slope 0.30)" in result.caveat and "only 1.3 decades" in result.caveat  # grid points 4.6e-3 .. 0.1
    # with min_decades 1 the rough stretch is a range and is reported
    assert scaling_ranges(H, broken(H, h0, 1.0, 0.3), min_decades=1.0).range.slope == pytest.approx(0.3)


def test_too_few_or_too_short_step_sizes_say_so():
    short = scaling_ranges(np.geomspace(1e-3, 1e-2, 10), np.geomspace(1e-3, 1e-2, 10), min_decades=2.0)
    assert short.status == "no scaling range" and "span 1.00 decades" in short.reason
    few = scaling_ranges(np.array([1e-6, 1e-3, 1.0]), np.array([1e-6, 1e-3, 1.0]), min_decades=2.0)
    assert few.status == "no scaling range" and "at least 4" in few.reason


def test_intervals_come_from_the_callback_clipped_to_the_exponent_range():
    calls = []

    def slope_interval(first, last):
        calls.append((first, last))
        return stats.Interval(1.7, 1.4, 2.1, 0.95, 8, "slope", "BCa bootstrap")

    h0 = 1e-5
    result = scaling_ranges(H, broken(H, h0, 2.0, 0.3), min_decades=2.0, slope_interval=slope_interval)
    assert len(calls) == len(result.ranges) == 2  # once per range, never for crossovers
    iv = result.ranges[0].interval
    assert (iv.estimate, iv.low, iv.high) == (1.0, 1.0, 1.0)  # slope 1.4 .. 2.1 is Lipschitz: alpha 1
    assert iv.statistic.startswith("Hölder exponent") and result.segments[0].interval is None


def test_tolerance_is_the_deviation_that_counts_as_none():
    """A gentle curve: the local exponent drifts from 0.95 to 0.99 across 9 decades (residuals ~0.01
    decades). With the default 0.005-decade tolerance it is cut into ranges; with 0.05 it is one range."""
    e = H * np.log10(1e2 / H) ** -0.3
    fine = scaling_ranges(H, e, min_decades=2.0)
    coarse = scaling_ranges(H, e, min_decades=2.0, tolerance=0.05)
    assert len(coarse.segments) == 1 and len(fine.segments) > 1
    assert fine.status == coarse.status == "ok"


def test_partition_covers_every_point_in_order():
    rng = np.random.default_rng(2)
    x = np.sort(rng.uniform(0, 9, 40))
    y = np.where(x < 4, x, 4 + 0.3 * (x - 4)) + 0.001 * rng.standard_normal(40)
    segs = partition(x, y)
    assert segs[0][0] == 0 and segs[-1][1] == 39
    assert all(a[1] + 1 == b[0] for a, b in zip(segs, segs[1:]))
    assert all(last - first + 1 >= 4 for first, last in segs)
    assert partition(x, y) == segs  # deterministic
    assert partition(x[:6], y[:6]) == [(0, 5)]  # fewer than two segments' worth: one
    assert TOLERANCE == 0.005


def test_scaling_ranges_rejects_bad_input():
    with pytest.raises(ValueError, match="ascending"):
        scaling_ranges(H[::-1], H, min_decades=2.0)
    with pytest.raises(ValueError, match="> 0"):
        scaling_ranges(H, -H, min_decades=2.0)
    with pytest.raises(ValueError, match="min_decades"):
        scaling_ranges(H, H, min_decades=0.0)
    with pytest.raises(ValueError, match="tolerance"):
        scaling_ranges(H, H, min_decades=2.0, tolerance=math.nan)
    with pytest.raises(ValueError, match="one shape"):
        scaling_ranges(H, H[:-1], min_decades=2.0)


@pytest.mark.slow
def test_penalty_calibration_on_the_known_answer_functions(monkeypatch):
    """The numbers behind ``PENALTY`` (module docstring, docs/landscapes.md): Weierstrass probes cut into
    more than one range, and clean crossovers misread, for penalties of 4 (BIC), 6, 8, 10 and 12 log(n).
    Run: ``python -m pytest -m slow tests/analysis/test_scaling.py -k calibration -s``."""
    from mollirl.analysis import pointwise_holder_exponent
    from mollirl.analysis import scaling as module

    def w(x, a=0.5, b=3.0, n=30):
        return sum(a**k * np.cos(b**k * np.pi * x) for k in range(n))

    probes = [np.geomspace(1e-8, 1e-1, 15), np.geomspace(1e-7, 1e-1, 19), np.geomspace(1e-8, 1e-1, 22),
              np.geomspace(1e-10, 1e-1, 28)]
    fractal = [((lambda p, a=a, b=b: w(p[:, 0], a, b)), x0, None)
               for a, b in ((0.5, 3.0), (0.6, 3.0), (0.7, 2.0)) for x0 in (0.0, 0.123, 0.37, 0.777, 0.5432, 0.9)]
    directions = np.random.default_rng(0).standard_normal((8, 2))
    fractal += [((lambda p: w(p[:, 0]) + w(p[:, 1])), np.array(c), directions)
                for c in ((0.37, 0.123), (0.777, 0.5), (0.1, 0.9))]
    clean = []
    for h0 in (1e-6, 1e-5, 1e-4):
        clean.append(((lambda p, h0=h0: np.where(np.abs(p[:, 0]) >= h0, np.abs(p[:, 0]) ** 0.3,
                                                 h0**0.3 * np.abs(p[:, 0]) / h0)), 0.3))
        clean.append(((lambda p, h0=h0: np.abs(p[:, 0]) * (np.abs(p[:, 0]) + h0) ** -0.7), 0.3))
    clean.append(((lambda p: np.abs(p[:, 0]) ** 0.3 + 1e3 * np.abs(p[:, 0])), 0.3))
    clean += [((lambda p, n=n: w(p[:, 0], n=n)), 0.631) for n in (10, 12, 14)]
    table = {}
    for penalty in (4.0, 6.0, 8.0, 10.0, 12.0):
        monkeypatch.setitem(module.partition.__kwdefaults__, "penalty", penalty)
        split = sum(len([r for r in pointwise_holder_exponent(f, c, h, directions=d).ranges if r.kind == "power law"]) != 1
                    for h in probes for f, c, d in fractal)
        misread = []
        for h in probes:
            for f, true in clean:
                alpha = pointwise_holder_exponent(f, 0.0, h).alpha
                misread.append(not abs(alpha - true) <= 0.1)
        table[penalty] = (split, sum(misread))
        print(f"penalty {penalty:g} log(n): {split}/{len(probes) * len(fractal)} fractal probes split, "
              f"{sum(misread)}/{len(misread)} clean probes misread")
    # the sum of two power laws on the 19-step probe reads its Lipschitz range at every penalty (its rough
    # range spans 1.7 < 2 decades: min_decades, not the penalty): one misread is the floor
    assert table[4.0][0] > table[6.0][0] > table[8.0][0] and table[8.0][0] <= 2 and table[10.0] == (1, 1) and table[12.0] == (0, 2)
    assert module.PENALTY == 10.0
