"""Known answers for mollirl.analysis.mollifier."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from mollirl.analysis import bump_kernel, gaussian_kernel, mollify


# --------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("form", ["scaled", "eq14"])
@pytest.mark.parametrize("sigma", [0.05, 0.3, 1.0, 2.5])
def test_bump_kernel_integrates_to_one_in_1d(form, sigma):
    total, _ = integrate.quad(lambda x: float(bump_kernel(x, sigma, form=form)), -sigma, sigma, points=[0.0], limit=200)
    assert total == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("form", ["scaled", "eq14"])
def test_bump_kernel_integrates_to_one_in_2d(form):
    sigma = 0.8
    x = np.linspace(-1.0, 1.0, 801)
    grid = np.stack(np.meshgrid(x, x, indexing="ij"), axis=-1)
    density = bump_kernel(grid, sigma, dim=2, form=form)
    total = integrate.trapezoid(integrate.trapezoid(density, x), x)
    assert total == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("form", ["scaled", "eq14"])
def test_bump_kernel_has_compact_support(form):
    sigma = 0.7
    x = np.linspace(-2.0, 2.0, 4001)
    density = bump_kernel(x, sigma, form=form)
    assert np.all(density[np.abs(x) >= sigma] == 0.0)
    assert np.all(density[np.abs(x) < sigma - 1e-3] > 0.0)
    assert bump_kernel(np.array([sigma]), sigma, form=form)[0] == 0.0  # exactly on the sphere


def test_bump_kernel_scaled_form_is_scale_covariant():
    # eta_sigma(x) = sigma^-1 eta_1(x / sigma) in 1-D
    x = np.linspace(-0.3, 0.3, 13)
    assert np.allclose(bump_kernel(x, 0.4), bump_kernel(x / 0.4, 1.0) / 0.4)


def test_bump_kernel_eq14_is_narrow_for_small_sigma():
    # the literal eq. (14) is ~ a Gaussian of std sigma^2 / sqrt(2) for sigma << 1
    sigma = 0.1
    var, _ = integrate.quad(lambda x: x * x * float(bump_kernel(x, sigma, form="eq14")), -sigma, sigma, points=[0.0])
    assert math.sqrt(var) == pytest.approx(sigma**2 / math.sqrt(2.0), rel=0.05)
    var_scaled, _ = integrate.quad(lambda x: x * x * float(bump_kernel(x, sigma)), -sigma, sigma)
    assert math.sqrt(var_scaled) > 5 * math.sqrt(var)


def test_gaussian_kernel_matches_normal_density():
    x = np.linspace(-3, 3, 31)
    assert np.allclose(gaussian_kernel(x, 0.7), stats.norm.pdf(x, scale=0.7))
    pts = np.array([[0.0, 0.0], [0.3, -0.4]])
    expected = stats.multivariate_normal(mean=[0, 0], cov=0.25 * np.eye(2)).pdf(pts)
    assert np.allclose(gaussian_kernel(pts, 0.5, dim=2), expected)


@pytest.mark.parametrize("func", [gaussian_kernel, bump_kernel])
def test_kernels_reject_bad_arguments(func):
    with pytest.raises(ValueError, match="-1"):
        func(0.0, -1.0)
    with pytest.raises(ValueError, match=r"\(..., 2\)"):
        func(np.zeros((4, 3)), 1.0, dim=2)
    with pytest.raises(ValueError, match="dim"):
        func(0.0, 1.0, dim=0)


def test_bump_kernel_rejects_unknown_form():
    with pytest.raises(ValueError, match="'paper'"):
        bump_kernel(0.0, 1.0, form="paper")


# --------------------------------------------------------------------------- mollify
def test_gaussian_mollification_of_quadratic_adds_a_sigma_squared():
    x = np.linspace(-4.0, 4.0, 801)
    a, sigma = 1.7, 0.4
    out = mollify(a * x**2, x[1] - x[0], sigma, mode="valid", truncate=6.0)
    interior = np.isfinite(out)
    assert interior.sum() == 801 - 2 * 240
    assert np.allclose(out[interior], a * x[interior] ** 2 + a * sigma**2, rtol=0, atol=1e-6)
    # the default cut at 4 sigma loses ~1e-3 of the variance
    default = mollify(a * x**2, x[1] - x[0], sigma, mode="valid")
    ok = np.isfinite(default)
    assert np.allclose(default[ok], a * x[ok] ** 2 + a * sigma**2, rtol=0, atol=2e-3 * a * sigma**2)


def test_gaussian_mollification_of_2d_quadratic_on_anisotropic_grid():
    x = np.linspace(-2.0, 2.0, 201)
    y = np.linspace(-1.5, 1.5, 121)
    X, Y = np.meshgrid(x, y, indexing="ij")
    sigma = 0.15
    out = mollify(2.0 * X**2 - 0.5 * Y**2, (x[1] - x[0], y[1] - y[0]), sigma, mode="valid", truncate=6.0)
    ok = np.isfinite(out)
    assert ok.sum() == (201 - 2 * 45) * (121 - 2 * 36)
    assert np.allclose(out[ok], (2.0 * X**2 - 0.5 * Y**2 + (2.0 - 0.5) * sigma**2)[ok], rtol=0, atol=1e-6)


def test_bump_mollification_of_quadratic_adds_the_kernel_second_moment():
    x = np.linspace(-3.0, 3.0, 1201)
    a, sigma = 0.9, 0.5
    second_moment, _ = integrate.quad(lambda s: s * s * float(bump_kernel(s, sigma)), -sigma, sigma)
    out = mollify(a * x**2, x[1] - x[0], sigma, "bump", mode="valid")
    ok = np.isfinite(out)
    assert np.allclose(out[ok], a * x[ok] ** 2 + a * second_moment, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kernel", ["gaussian", "bump", "bump-eq14"])
def test_linear_function_is_preserved_in_the_interior(kernel):
    x = np.linspace(0.0, 1.0, 101)
    out = mollify(3.0 * x - 1.0, 0.01, 0.1, kernel, mode="valid")
    ok = np.isfinite(out)
    assert ok.any()
    assert np.allclose(out[ok], 3.0 * x[ok] - 1.0)


@pytest.mark.parametrize("mode", ["renormalize", "reflect", "nearest", "valid"])
def test_constant_stays_constant_in_every_mode(mode):
    values = np.full((30, 40), 2.5)
    out = mollify(values, (0.1, 0.2), 0.3, mode=mode)
    assert np.allclose(out[np.isfinite(out)], 2.5)


def test_valid_mode_blanks_exactly_the_kernel_radius():
    h, sigma = 0.1, 0.25
    out = mollify(np.arange(50.0), h, sigma, mode="valid")  # gaussian radius ceil(4 * 2.5) = 10 steps
    assert np.isnan(out[:10]).all() and np.isnan(out[-10:]).all()
    assert np.isfinite(out[10:-10]).all()
    bump = mollify(np.arange(50.0), h, sigma, "bump", mode="valid")  # offsets < 0.25: radius 2
    assert np.isnan(bump[:2]).all() and np.isfinite(bump[2:-2]).all()


def test_boundary_modes_differ_as_documented():
    x = np.linspace(0.0, 1.0, 101)
    h, sigma = 0.01, 0.05
    linear = 2.0 * x
    reflect = mollify(linear, h, sigma, mode="reflect")
    nearest = mollify(linear, h, sigma, mode="nearest")
    renorm = mollify(linear, h, sigma, mode="renormalize")
    # even reflection of a rising line raises the left edge; constant extension raises it less
    assert reflect[0] > nearest[0] > linear[0]
    # renormalize averages only the right half at x = 0: mean of 2 x over the half-kernel
    half = np.exp(-((np.arange(0, 21) * h) ** 2) / (2 * sigma**2))
    assert renorm[0] == pytest.approx(np.sum(half * 2.0 * np.arange(0, 21) * h) / half.sum())


def test_masked_points_are_excluded_with_renormalized_weights():
    rng = np.random.default_rng(0)
    values = np.full((40, 40), 1.0)
    mask = rng.random(values.shape) < 0.3
    values_bad = np.where(mask, 1e6, values)
    out = mollify(values_bad, 0.05, 0.1, mask=mask)
    assert np.allclose(out, 1.0)  # defined at the masked points too

    masked = np.ma.masked_array(values_bad, mask=mask)
    assert np.allclose(mollify(masked, 0.05, 0.1), out)

    with_nan = np.where(mask, np.nan, values)
    assert np.allclose(mollify(with_nan, 0.05, 0.1), out)
    with_inf = np.where(mask, -np.inf, values)
    assert np.allclose(mollify(with_inf, 0.05, 0.1), out)


def test_masked_mollification_of_a_line_is_the_weighted_average():
    x = np.linspace(0.0, 1.0, 11)
    mask = np.zeros(11, bool)
    mask[5] = True
    out = mollify(np.where(mask, 99.0, x), 0.1, 0.1, mask=mask, mode="renormalize")
    k = np.arange(-4, 5) * 0.1
    w = np.exp(-(k**2) / (2 * 0.01))
    w_valid = w.copy()
    w_valid[4] = 0.0  # the centre x = 0.5 is masked
    assert out[5] == pytest.approx(np.sum(w_valid * (0.5 + k)) / w_valid.sum())


def test_min_weight_blanks_points_without_enough_valid_neighbours():
    values = np.ones(101)
    mask = np.zeros(101, bool)
    mask[30:71] = True
    out = mollify(values, 0.01, 0.02, mask=mask)  # gaussian reaches 8 steps
    assert np.isnan(out[50])  # no valid point within reach
    assert np.isfinite(out[31])
    out = mollify(values, 0.01, 0.02, mask=mask, min_weight=0.5)
    assert np.isnan(out[35]) and np.isfinite(out[25])


def test_mollify_warns_when_the_kernel_is_under_resolved():
    with pytest.warns(UserWarning, match="under-resolved"):
        out = mollify(np.arange(10.0), 1.0, 0.2)
    assert np.allclose(out, np.arange(10.0), rtol=0, atol=1e-4)


def test_mollify_rejects_bad_arguments():
    v = np.zeros(20)
    with pytest.raises(ValueError, match="sigma.*-0.5"):
        mollify(v, 0.1, -0.5)
    with pytest.raises(ValueError, match="'box'"):
        mollify(v, 0.1, 0.5, "box")
    with pytest.raises(ValueError, match="'wrap'"):
        mollify(v, 0.1, 0.5, mode="wrap")
    with pytest.raises(ValueError, match="spacing"):
        mollify(np.zeros((5, 5)), (0.1, 0.1, 0.1), 0.5)
    with pytest.raises(ValueError, match="spacing.*0"):
        mollify(v, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"\(2, 2, 2\)"):
        mollify(np.zeros((2, 2, 2)), 0.1, 0.5)
    with pytest.raises(ValueError, match="mask"):
        mollify(v, 0.1, 0.5, mask=np.zeros(3, bool))
    with pytest.raises(ValueError, match="min_weight.*1.5"):
        mollify(v, 0.1, 0.5, min_weight=1.5)
