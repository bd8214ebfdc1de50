"""Known answers for mollirl.analysis.pointwise: cusps, Lipschitz and smooth functions, Weierstrass, R^3."""

import warnings

import numpy as np
import pytest

from mollirl.analysis import (
    PointwiseHolderFit,
    holder_exponent,
    pointwise_holder_exponent,
    pointwise_holder_from_increments,
)

H = np.geomspace(1e-7, 1e-1, 19)  # six decades


def on_first_axis(g):
    """Wrap a scalar function g(x) as a batched f(points (n, 1)) -> (n,)."""
    return lambda points: g(points[:, 0])


def weierstrass(x: np.ndarray, a: float, b: float, n_terms: int = 30) -> np.ndarray:
    """W(x) = sum_n a^n cos(b^n pi x); point-wise Hölder exponent -log(a) / log(b) at every x when a b > 1."""
    return sum(a**n * np.cos(b**n * np.pi * x) for n in range(n_terms))


# --- cusps of known exponent --------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_cusp_exponent_is_recovered_exactly(p):
    fit = pointwise_holder_exponent(on_first_axis(lambda x: np.abs(x) ** p), 0.0, H)
    assert isinstance(fit, PointwiseHolderFit)
    # |x|^p is an exact power law: slope p, constant 1, a perfect fit
    assert fit.alpha == pytest.approx(p, abs=1e-9)
    assert fit.slope == pytest.approx(p, abs=1e-9)
    assert fit.constant == pytest.approx(1.0, rel=1e-6)
    assert fit.r_squared == pytest.approx(1.0, abs=1e-12)
    assert fit.value_at_centre == 0.0
    assert fit.increments.shape == (H.size, 2) and fit.used.all()
    assert fit.n_zero == 0 and fit.n_nonfinite == 0


def test_cusp_away_from_the_origin_on_a_smooth_background():
    # at c = 0.2 the smooth part adds ~cos(0.2) h, small against h^0.3 below h = 0.1
    g = lambda x: 2.0 * np.abs(x - 0.2) ** 0.3 + np.sin(x)  # noqa: E731
    fit = pointwise_holder_exponent(on_first_axis(g), 0.2, H)
    assert fit.alpha == pytest.approx(0.3, abs=0.02)
    assert fit.constant == pytest.approx(2.0, rel=0.1)
    # one grid step away from the cusp the same function is Lipschitz
    fit_away = pointwise_holder_exponent(on_first_axis(g), 0.7, np.geomspace(1e-7, 1e-2, 11))
    assert fit_away.alpha == pytest.approx(1.0, abs=0.02)


def test_one_sided_cusp_counts_the_flat_side_and_the_max_envelope_ignores_it():
    g = lambda x: np.where(x > 0, np.abs(x) ** 0.3, 0.0)  # noqa: E731  flat for x <= 0
    fit = pointwise_holder_exponent(on_first_axis(g), 0.0, H)
    assert fit.n_zero == H.size  # every -h increment is exactly 0
    assert fit.alpha == pytest.approx(0.3, abs=1e-9)
    assert np.all(fit.increments[:, 1] == 0.0)


# --- Lipschitz and smooth functions -----------------------------------------------------------------


def test_c1_function_with_nonzero_gradient_has_exponent_one():
    g = lambda x: np.sin(3 * x) + x**2  # noqa: E731
    fit = pointwise_holder_exponent(on_first_axis(g), 0.4, H)
    assert fit.slope == pytest.approx(1.0, abs=0.02)
    assert fit.alpha == pytest.approx(1.0, abs=0.02)
    assert fit.r_squared > 0.999
    # well inside the linear range the constant is |f'(0.4)|
    fine = pointwise_holder_exponent(on_first_axis(g), 0.4, np.geomspace(1e-7, 1e-4, 7))
    assert fine.constant == pytest.approx(abs(3 * np.cos(1.2) + 0.8), rel=1e-3)


def test_lipschitz_kink_has_exponent_one():
    fit = pointwise_holder_exponent(on_first_axis(lambda x: np.abs(x) + 0.5 * x), 0.0, H)
    assert fit.slope == pytest.approx(1.0, abs=1e-9)
    assert fit.constant == pytest.approx(1.5, rel=1e-6)  # the steeper side wins the envelope


def test_zero_gradient_gives_raw_slope_two_and_alpha_capped_at_one():
    fit = pointwise_holder_exponent(on_first_axis(np.cos), 0.0, np.geomspace(1e-4, 1e-1, 10))
    assert fit.slope == pytest.approx(2.0, abs=0.01)
    assert fit.alpha == 1.0


# --- Weierstrass -------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(0.5, 3.0), (0.6, 3.0), (0.7, 2.0)])
@pytest.mark.parametrize("x0", [0.0, 0.123, 0.37, 0.777])
def test_weierstrass_pointwise_exponent_everywhere(a, b, x0):
    # 30 terms resolve the fractal down to b^-30 <= 1e-9, two decades below min(H) = 1e-7
    fit = pointwise_holder_exponent(on_first_axis(lambda x: weierstrass(x, a, b)), x0, H)
    assert fit.alpha == pytest.approx(-np.log(a) / np.log(b), abs=0.1)
    assert fit.r_squared > 0.9


def test_truncated_weierstrass_looks_smooth_below_its_finest_scale():
    # 8 terms of b = 3: no detail below 3^-8 ~ 1.5e-4, so steps 1e-9..1e-6 see a C^1 function
    fit = pointwise_holder_exponent(
        on_first_axis(lambda x: weierstrass(x, 0.5, 3.0, n_terms=8)), 0.123, np.geomspace(1e-9, 1e-6, 7)
    )
    assert fit.alpha == pytest.approx(1.0, abs=0.02)


# --- several dimensions --------------------------------------------------------------------------


def f3(points: np.ndarray) -> np.ndarray:
    """On R^3: a 0.3-cusp along x0, Lipschitz along x1, quadratic along x2."""
    return np.abs(points[:, 0]) ** 0.3 + np.sin(points[:, 1]) + points[:, 2] ** 2


@pytest.mark.parametrize(
    ("direction", "slope"),
    [([0, 1, 0], 1.0), ([0, 0, 1], 2.0), ([1, 1, 0], 0.3), ([0.2, -1.0, 0.5], 0.3)],
)
def test_3d_exponent_depends_on_the_direction(direction, slope):
    fit = pointwise_holder_exponent(f3, np.zeros(3), H, directions=[direction])
    assert fit.slope == pytest.approx(slope, abs=0.02)
    assert fit.alpha == pytest.approx(min(slope, 1.0), abs=0.02)


def test_3d_default_directions_take_the_roughest_axis():
    fit = pointwise_holder_exponent(f3, np.zeros(3), H)
    assert fit.increments.shape == (H.size, 6)  # 3 axes x 2 signs
    assert fit.alpha == pytest.approx(0.3, abs=1e-6)


def test_f_is_called_once_on_the_documented_batch_layout():
    calls = []

    def f(points):
        calls.append(points.copy())
        return f3(points)

    c = np.array([0.1, -0.2, 0.3])
    d = np.array([[3.0, 0.0, 4.0], [0.0, 1.0, 0.0]])
    h = np.array([1e-1, 1e-3, 1e-2])  # unsorted on purpose
    fit = pointwise_holder_exponent(f, c, h, directions=d)
    assert len(calls) == 1
    pts = calls[0]
    assert pts.shape == (1 + 2 * 3 * 2, 3)
    unit0 = np.array([0.6, 0.0, 0.8])
    assert np.array_equal(pts[0], c)
    assert np.allclose(pts[1], c + 1e-3 * unit0) and np.allclose(pts[2], c - 1e-3 * unit0)
    assert np.allclose(pts[3], c + 1e-2 * unit0)
    assert np.allclose(pts[7], c + 1e-3 * d[1])
    assert np.array_equal(fit.h, [1e-3, 1e-2, 1e-1])
    assert fit.increments[0, 0] == pytest.approx(abs(f3(pts[1:2])[0] - f3(pts[:1])[0]))


def test_normalize_changes_only_the_constant():
    f = lambda p: np.abs(p[:, 0]) ** 0.3  # noqa: E731
    unit = pointwise_holder_exponent(f, [0.0, 0.0], H, directions=[[2.0, 0.0]])
    raw = pointwise_holder_exponent(f, [0.0, 0.0], H, directions=[[2.0, 0.0]], normalize=False)
    assert unit.alpha == pytest.approx(0.3) and raw.alpha == pytest.approx(0.3)
    assert raw.constant == pytest.approx(2.0**0.3 * unit.constant, rel=1e-9)


def test_direction_in_which_f_is_flat_is_counted_not_fatal():
    f = lambda p: np.abs(p[:, 0]) ** 0.3 + p[:, 1]  # noqa: E731  independent of x2
    fit = pointwise_holder_exponent(f, np.zeros(3), H)
    assert fit.n_zero == 2 * H.size
    assert np.all(fit.increments[:, 4:] == 0.0)
    assert fit.alpha == pytest.approx(0.3, abs=1e-6)


# --- excluded values, warnings -----------------------------------------------------------------


def test_nonfinite_values_are_excluded_and_counted():
    def f(p):  # "diverges" on the + side beyond 1e-3
        v = np.abs(p[:, 0]) ** 0.3
        return np.where(p[:, 0] > 1e-3, np.nan, v)

    fit = pointwise_holder_exponent(f, 0.0, H)
    n_big = int(np.count_nonzero(H > 1e-3))
    assert fit.n_nonfinite == n_big
    assert np.isnan(fit.increments[H > 1e-3, 0]).all()
    assert fit.used.all() and fit.alpha == pytest.approx(0.3, abs=1e-9)


def test_a_step_size_with_no_usable_increment_is_dropped_with_a_warning():
    def f(p):
        v = np.abs(p[:, 0]) ** 0.3
        return np.where(np.abs(np.abs(p[:, 0]) - 1e-4) < 1e-12, np.inf, v)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no other warning than the one expected
        with pytest.warns(UserWarning, match=r"1 of 19 step sizes.*0\.0001"):
            fit = pointwise_holder_exponent(f, 0.0, H)
    assert fit.n_nonfinite == 2 and np.count_nonzero(~fit.used) == 1
    assert np.isnan(fit.envelope[~fit.used]).all()
    assert fit.alpha == pytest.approx(0.3, abs=1e-9)


def test_constant_function_reports_alpha_one_with_a_warning_not_nan():
    with pytest.warns(UserWarning, match="constant"):
        fit = pointwise_holder_exponent(lambda p: np.full(len(p), 5.0), [1.0, 2.0], H)
    assert fit.alpha == 1.0 and np.isnan(fit.slope)
    assert fit.n_zero == 4 * H.size


def test_increments_at_float_resolution_are_flagged():
    with pytest.warns(UserWarning, match="float rounding"):
        pointwise_holder_exponent(on_first_axis(lambda x: 1e8 + x), 0.0, np.geomspace(1e-7, 1e-3, 5))


def test_less_than_a_decade_of_step_sizes_warns():
    with pytest.warns(UserWarning, match="less than one decade"):
        pointwise_holder_exponent(on_first_axis(np.abs), 0.0, [1e-3, 2e-3, 4e-3])


def test_all_nonfinite_increments_are_an_error_naming_the_counts():
    with pytest.raises(ValueError, match=r"0 of 19.*38 non-finite"):
        pointwise_holder_from_increments(H, np.full((H.size, 2), np.nan))


# --- precomputed increments ---------------------------------------------------------------------


def test_from_increments_known_power_law_with_flatter_columns():
    rng = np.random.default_rng(0)
    top = 3.0 * H**0.4
    # other columns lie below the top one by random factors; signs are discarded
    others = -top[:, None] * rng.uniform(0.01, 1.0, (H.size, 5))
    fit = pointwise_holder_from_increments(H[::-1], np.column_stack([top, others])[::-1])
    assert np.array_equal(fit.h, H)
    assert fit.alpha == pytest.approx(0.4, abs=1e-9)
    assert fit.constant == pytest.approx(3.0, rel=1e-9)
    assert fit.value_at_centre is None
    q = pointwise_holder_from_increments(H, np.column_stack([top, others]), envelope="quantile", quantile=0.9)
    assert np.all(q.envelope <= fit.envelope) and q.alpha == pytest.approx(0.4, abs=0.1)


def test_from_increments_accepts_one_column():
    fit = pointwise_holder_from_increments(H, H**0.25)
    assert fit.increments.shape == (H.size, 1) and fit.alpha == pytest.approx(0.25)


# --- the two estimators side by side ------------------------------------------------------------


def test_window_and_pointwise_estimators_on_the_same_sampled_cusp():
    """The window estimator does not measure the cusp's exponent; the point-wise one does."""
    x = np.linspace(-1.0, 1.0, 2001)
    values = np.abs(x) ** 0.3
    i0 = x.size // 2  # x[i0] = 0, the cusp
    ks = 2 ** np.arange(10)  # lags 1..512 grid steps
    inc = np.column_stack([np.abs(values[i0 + ks] - values[i0]), np.abs(values[i0 - ks] - values[i0])])
    point = pointwise_holder_from_increments(ks * (x[1] - x[0]), inc)
    window = holder_exponent(values, x[1] - x[0])
    assert point.alpha == pytest.approx(0.3, abs=1e-6)
    # averaged over all pairs, the cusp is one point among 2001: the window looks Lipschitz
    assert window.alpha > 0.9
    # a window that contains the cusp and little else: still not 0.3, and independent of the radius,
    # because |x|^0.3 looks the same on every scale; only the number of grid points matters
    by_radius = []
    for radius in (1.0, 1e-3, 1e-6):
        g = np.linspace(-radius, radius, 21)
        by_radius.append(holder_exponent(np.abs(g) ** 0.3, g[1] - g[0]).alpha)
    assert by_radius == pytest.approx([by_radius[0]] * 3, abs=1e-9)
    assert by_radius[0] - point.alpha > 0.25
    grids = [np.linspace(-1.0, 1.0, n) for n in (21, 41, 101)]
    by_points = [holder_exponent(np.abs(g) ** 0.3, g[1] - g[0]).alpha for g in grids]
    assert by_points[0] < by_points[1] < by_points[2]  # tends to 1 as the grid refines


def test_window_and_pointwise_estimators_agree_on_a_fractal():
    """The Weierstrass function has the same exponent at every point, so both estimators find it."""
    x = np.linspace(0.0, 1.0, 2001)
    alpha = np.log(2) / np.log(3)
    window = holder_exponent(weierstrass(x, 0.5, 3.0), x[1] - x[0])
    point = pointwise_holder_exponent(on_first_axis(lambda t: weierstrass(t, 0.5, 3.0)), 0.37, H)
    assert window.alpha == pytest.approx(alpha, abs=0.1)
    assert point.alpha == pytest.approx(alpha, abs=0.1)
    assert abs(window.alpha - point.alpha) < 0.1


# --- bad input ------------------------------------------------------------------------------------


def test_pointwise_holder_exponent_rejects_bad_arguments():
    f = on_first_axis(np.abs)
    with pytest.raises(ValueError, match=r"h must hold finite step sizes > 0.*-0\.1"):
        pointwise_holder_exponent(f, 0.0, [1e-3, 1e-2, -0.1])
    with pytest.raises(ValueError, match=r"at least 3.*\[0\.001, 0\.01\]"):
        pointwise_holder_exponent(f, 0.0, [1e-3, 1e-2])
    with pytest.raises(ValueError, match="distinct.*0.01, 0.01"):
        pointwise_holder_exponent(f, 0.0, [1e-3, 1e-2, 1e-2, 1e-1])
    with pytest.raises(ValueError, match=r"1-D.*\(2, 2\)"):
        pointwise_holder_exponent(f, 0.0, [[1e-3, 1e-2], [1e-1, 1.0]])
    with pytest.raises(ValueError, match="centre must be finite.*nan"):
        pointwise_holder_exponent(f, np.nan, H)
    with pytest.raises(ValueError, match=r"f\(centre\) must be finite.*nan"):
        pointwise_holder_exponent(lambda p: np.where(p[:, 0] == 0, np.nan, 1.0), 0.0, H)
    with pytest.raises(ValueError, match=r"values \(39,\), got shape \(39, 1\)"):
        pointwise_holder_exponent(lambda p: p, 0.0, H)
    with pytest.raises(ValueError, match=r"directions must have shape \(n_directions, 3\), got \(2, 2\)"):
        pointwise_holder_exponent(f3, np.zeros(3), H, directions=np.eye(2))
    with pytest.raises(ValueError, match=r"non-zero.*\[1\]"):
        pointwise_holder_exponent(f3, np.zeros(3), H, directions=[[1, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="'sup'"):
        pointwise_holder_exponent(f, 0.0, H, envelope="sup")
    with pytest.raises(ValueError, match="quantile.*1.5"):
        pointwise_holder_exponent(f, 0.0, H, envelope="quantile", quantile=1.5)


def test_pointwise_holder_from_increments_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"n_h = 19, got \(18, 2\)"):
        pointwise_holder_from_increments(H, np.ones((18, 2)))
    with pytest.raises(ValueError, match=r"got \(19, 0\)"):
        pointwise_holder_from_increments(H, np.ones((19, 0)))
