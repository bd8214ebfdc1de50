"""Known answers for mollirl.analysis.holder (the window estimator): Weierstrass, Brownian motion, smooth
functions, a rough part under a smooth one; scaling ranges, intervals over sub-windows, grids too short."""

import numpy as np
import pytest

from mollirl.analysis import HolderFit, holder_exponent


def weierstrass(x: np.ndarray, a: float, b: float, n_terms: int = 30) -> np.ndarray:
    """W(x) = sum_n a^n cos(b^n pi x); Hölder exponent -log(a) / log(b) when a b > 1.

    Terms beyond the grid's Nyquist frequency are kept on purpose: sampled, they
    alias to grid-scale roughness, so the fractal scaling reaches the grid scale.
    """
    return sum(a**n * np.cos(b**n * np.pi * x) for n in range(n_terms))


@pytest.mark.parametrize(("a", "b"), [(0.5, 3.0), (0.6, 3.0), (0.7, 2.0)])
@pytest.mark.parametrize("statistic", ["mean", "quantile"])
def test_weierstrass_exponent(a, b, statistic):
    """One range over the 2.7 decades of lags of a 2001-point grid (1 .. 500 steps), within 0.1 of
    -log a / log b (measured: 0.621, 0.461, 0.508 with the mean)."""
    x = np.linspace(0.0, 1.0, 2001)
    fit = holder_exponent(weierstrass(x, a, b), x[1] - x[0], statistic=statistic)
    assert isinstance(fit, HolderFit) and fit.status == "ok" and len(fit.ranges) == 1
    assert fit.alpha == pytest.approx(-np.log(a) / np.log(b), abs=0.1)
    assert fit.r_squared > 0.95 and fit.decades == pytest.approx(np.log10(500), abs=0.01)
    if statistic == "mean":  # sums pool over sub-windows: an interval; a quantile does not pool
        assert fit.alpha_low <= fit.alpha <= fit.alpha_high and fit.interval.n == 8
    else:
        assert not fit.interval.defined and "does not pool" in fit.interval.method


def test_weierstrass_on_a_short_grid_is_still_within_tolerance():
    x = np.linspace(0.0, 1.0, 201)
    fit = holder_exponent(weierstrass(x, 0.5, 3.0), x[1] - x[0])
    assert fit.alpha == pytest.approx(np.log(2) / np.log(3), abs=0.1)
    assert fit.h_min == pytest.approx(x[1]) and fit.h_max == pytest.approx(50 * x[1])  # lags 1 .. 201 // 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brownian_motion_has_exponent_one_half(seed):
    """Measured 0.523, 0.510, 0.494 (seed 2 over 1.9 decades: above, the finite path's increments bend
    up, listed as a second range); tolerance 0.1."""
    rng = np.random.default_rng(seed)
    n = 4000
    path = np.cumsum(rng.standard_normal(n)) * np.sqrt(1.0 / n)
    fit = holder_exponent(path, 1.0 / n)
    assert fit.alpha == pytest.approx(0.5, abs=0.1)
    assert fit.alpha_low <= fit.alpha <= fit.alpha_high


def test_smooth_function_is_lipschitz():
    x = np.linspace(0.0, 3.0, 301)
    fit = holder_exponent(np.sin(3 * x) + x**2, x[1] - x[0])
    assert fit.alpha == pytest.approx(1.0, abs=0.05)
    assert fit.slope == pytest.approx(1.0, abs=0.05)
    assert fit.r_squared > 0.99


def test_a_rough_part_under_a_smooth_one_gives_two_ranges():
    """Brownian motion plus a smooth swell 10 sin(3x): the Brownian part dominates the increments at
    lags below ~1e-3, the smooth part above. Two ranges, the rough one reported (0.56: its top bends
    towards the crossover; tolerance 0.1), the smooth one listed (0.92)."""
    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 1.0, 20001)
    path = np.cumsum(rng.standard_normal(x.size)) * np.sqrt(x[1])
    fit = holder_exponent(path + 10.0 * np.sin(3.0 * x), x[1] - x[0])
    assert len([r for r in fit.ranges if r.kind == "power law"]) == 2
    assert fit.alpha == pytest.approx(0.5, abs=0.1) and fit.range is fit.ranges[0]
    assert fit.ranges[1].alpha == pytest.approx(1.0, abs=0.1) and fit.ranges[1].h_min > fit.h_max


def test_noise_has_no_scaling_range():
    """Uncorrelated values: the mean increment does not grow with the lag (slope ~0). Not an exponent."""
    noise = np.random.default_rng(3).standard_normal(400)
    fit = holder_exponent(noise, 0.01)
    assert fit.status == "no scaling range" and np.isnan(fit.alpha) and np.isnan(fit.slope)
    assert fit.ranges[0].kind == "flat" and "do not grow with h" in fit.reason


@pytest.mark.parametrize(("n", "span"), [(11, "0.30"), (21, "0.70"), (39, "0.95")])
def test_a_grid_too_short_for_a_decade_of_lags_says_so(n, span):
    """Lags run to n // 4 steps; a range needs a decade: fewer than 40 points cannot hold one."""
    x = np.linspace(0.0, 1.0, n)
    fit = holder_exponent(np.sin(3 * x), x[1] - x[0])
    assert fit.status == "no scaling range" and np.isnan(fit.alpha) and fit.range is None
    assert f"span {span} decades" in fit.reason and "at least 40 points per axis" in fit.reason
    assert holder_exponent(np.sin(3 * np.linspace(0, 1, 41)), 0.025).status == "ok"


def test_alpha_is_clipped_but_slope_is_raw():
    x = np.linspace(0.0, 1.0, 401)
    fit = holder_exponent(np.cos(40.0 * x), x[1] - x[0], max_lag=40)
    assert 0.0 <= fit.alpha <= 1.0 or np.isnan(fit.alpha)
    bowl = -np.linspace(-1, 1, 401) ** 2  # zero gradient at the centre only: slope ~1 over the window
    fit = holder_exponent(bowl, 0.005)
    assert fit.alpha == min(fit.slope, 1.0)


def test_lags_are_in_parameter_units_and_log_spaced():
    x = np.linspace(0.0, 1.0, 1001)
    fit = holder_exponent(np.sin(x), 0.5, max_lag=100, n_lags=5)
    assert fit.lags.shape == fit.increments.shape == (1, 5) and fit.pooled.shape == (5,)
    assert np.allclose(fit.lags[0], 0.5 * np.array([1, 3, 10, 32, 100]))


def test_2d_pools_both_axes_with_anisotropic_spacing():
    g1 = np.linspace(0.0, 1.0, 301)
    g2 = np.linspace(0.0, 2.0, 301)
    X, Y = np.meshgrid(g1, g2, indexing="ij")
    values = weierstrass(X, 0.5, 3.0) + 3.0 * weierstrass(Y / 2.0 + 0.3, 0.5, 3.0)
    fit = holder_exponent(values, (g1[1] - g1[0], g2[1] - g2[0]))
    assert fit.lags.shape == (2, fit.lags.shape[1])
    assert np.allclose(fit.lags[1], 2.0 * fit.lags[0])
    assert fit.alpha == pytest.approx(np.log(2) / np.log(3), abs=0.1)
    assert fit.h_min == pytest.approx(g1[1])  # h along axis 0
    assert fit.n_units == 602  # every row and every column is a sub-window


def test_2d_interval_over_rows_and_columns():
    """A landscape whose rows differ (not separable): resampling rows and columns moves the pooled mean
    increment, and the interval has width; the same data give the same interval."""
    g = np.linspace(-1.0, 1.0, 101)
    X, Y = np.meshgrid(g, g, indexing="ij")
    values = weierstrass(X + 0.3 * Y, 0.5, 3.0) + weierstrass(Y - 0.2 * X, 0.5, 3.0)
    fit = holder_exponent(values, g[1] - g[0])
    iv = fit.interval
    assert iv.method == "BCa bootstrap" and iv.n == 202 and iv.low < fit.alpha < iv.high
    assert 0.005 < iv.high - iv.low < 0.1
    assert holder_exponent(values, g[1] - g[0]).interval == iv
    assert fit.to_dict()["alpha_low"] == iv.low and fit.to_dict()["n_units"] == 202


def test_masked_points_are_skipped():
    x = np.linspace(0.0, 1.0, 2001)
    clean = weierstrass(x, 0.5, 3.0)
    rng = np.random.default_rng(4)
    mask = rng.random(x.size) < 0.05
    corrupted = np.where(mask, 1e3, clean)
    reference = holder_exponent(clean, x[1] - x[0]).alpha
    assert holder_exponent(corrupted, x[1] - x[0], mask=mask).alpha == pytest.approx(reference, abs=0.03)
    assert holder_exponent(np.where(mask, np.nan, clean), x[1] - x[0]).alpha == pytest.approx(reference, abs=0.03)
    ruined = holder_exponent(corrupted, x[1] - x[0])  # unmasked outliers: a flat noise of jumps
    assert ruined.status == "no scaling range" or ruined.alpha < 0.2


def test_constant_landscape_is_reported_lipschitz_with_a_warning():
    with pytest.warns(UserWarning, match="constant"):
        fit = holder_exponent(np.ones(50), 0.1)
    assert fit.alpha == 1.0 and np.isnan(fit.slope) and fit.status == "constant"


def test_holder_exponent_rejects_bad_arguments():
    v = np.arange(50.0)
    with pytest.raises(ValueError, match="max_lag.*60"):
        holder_exponent(v, 0.1, max_lag=60)
    with pytest.raises(ValueError, match="max_lag.*1"):
        holder_exponent(v, 0.1, max_lag=1)
    with pytest.raises(ValueError, match="'max'"):
        holder_exponent(v, 0.1, statistic="max")
    with pytest.raises(ValueError, match="quantile.*1.5"):
        holder_exponent(v, 0.1, statistic="quantile", quantile=1.5)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        holder_exponent(np.arange(2.0), 0.1)
    with pytest.raises(ValueError, match="min_decades"):
        holder_exponent(v, 0.1, min_decades=0)
    fit = holder_exponent(v, 0.1, mask=np.arange(50) % 2 == 0, max_lag=3, n_lags=2)  # only odd lags survive
    assert fit.status == "no scaling range" and "fewer than 2 lags" in fit.reason
