"""Known answers for mollirl.analysis.holder: Weierstrass, Brownian motion, smooth functions."""

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
    x = np.linspace(0.0, 1.0, 2001)
    fit = holder_exponent(weierstrass(x, a, b), x[1] - x[0], statistic=statistic)
    assert isinstance(fit, HolderFit)
    assert fit.alpha == pytest.approx(-np.log(a) / np.log(b), abs=0.1)
    assert fit.r_squared > 0.95


def test_weierstrass_on_a_short_grid_is_still_within_tolerance():
    x = np.linspace(0.0, 1.0, 201)
    fit = holder_exponent(weierstrass(x, 0.5, 3.0), x[1] - x[0])
    assert fit.alpha == pytest.approx(np.log(2) / np.log(3), abs=0.1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brownian_motion_has_exponent_one_half(seed):
    rng = np.random.default_rng(seed)
    n = 4000
    path = np.cumsum(rng.standard_normal(n)) * np.sqrt(1.0 / n)
    fit = holder_exponent(path, 1.0 / n)
    assert fit.alpha == pytest.approx(0.5, abs=0.1)


def test_smooth_function_is_lipschitz():
    x = np.linspace(0.0, 3.0, 301)
    fit = holder_exponent(np.sin(3 * x) + x**2, x[1] - x[0])
    assert fit.alpha == pytest.approx(1.0, abs=0.05)
    assert fit.slope == pytest.approx(1.0, abs=0.05)
    assert fit.r_squared > 0.99


def test_alpha_is_clipped_but_slope_is_raw():
    x = np.linspace(0.0, 1.0, 401)
    fit = holder_exponent(np.cos(40.0 * x), x[1] - x[0], max_lag=40)  # increments saturate: slope < 1
    assert 0.0 <= fit.alpha <= 1.0
    noise = np.random.default_rng(3).standard_normal(400)  # no correlation: slope ~ 0, maybe < 0
    fit = holder_exponent(noise, 0.01)
    assert fit.alpha == max(fit.slope, 0.0)
    assert fit.alpha < 0.1


def test_lags_are_in_parameter_units_and_log_spaced():
    x = np.linspace(0.0, 1.0, 1001)
    fit = holder_exponent(np.sin(x), 0.5, max_lag=100, n_lags=5)
    assert fit.lags.shape == fit.increments.shape == (1, 5)
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


def test_masked_points_are_skipped():
    x = np.linspace(0.0, 1.0, 2001)
    clean = weierstrass(x, 0.5, 3.0)
    rng = np.random.default_rng(4)
    mask = rng.random(x.size) < 0.05
    corrupted = np.where(mask, 1e3, clean)
    reference = holder_exponent(clean, x[1] - x[0]).alpha
    assert holder_exponent(corrupted, x[1] - x[0], mask=mask).alpha == pytest.approx(reference, abs=0.03)
    assert holder_exponent(np.where(mask, np.nan, clean), x[1] - x[0]).alpha == pytest.approx(reference, abs=0.03)
    assert holder_exponent(corrupted, x[1] - x[0]).alpha < 0.2  # unmasked outliers ruin the estimate


def test_constant_landscape_is_reported_lipschitz_with_a_warning():
    with pytest.warns(UserWarning, match="constant"):
        fit = holder_exponent(np.ones(50), 0.1)
    assert fit.alpha == 1.0 and np.isnan(fit.slope)


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
    with pytest.raises(ValueError, match="usable lags"):
        holder_exponent(v, 0.1, mask=np.arange(50) % 2 == 0, max_lag=3, n_lags=2)
