"""Prop. 4.1 numerically: Gaussian smoothing tables solve the heat equation u_t = 1/2 Laplacian u."""

import numpy as np
import pytest
from scipy import stats

from mollirl.analysis import HeatResidual, gaussian_smoothing_table, heat_residual, hf_energy_fraction

MU = np.linspace(-2.0, 2.0, 801)  # spacing 0.005
SIGMAS = np.sqrt(np.linspace(0.04, 0.16, 25))  # t = sigma^2 evenly spaced, sigma in [0.2, 0.4]


def weierstrass(x, a=0.5, b=3.0, n_terms=25):
    return sum(a**n * np.cos(b**n * np.pi * x) for n in range(n_terms))


def smoothed_abs(mu, sigma):
    """E|mu + sigma z| for z ~ N(0, 1) (folded normal mean)."""
    return sigma * np.sqrt(2 / np.pi) * np.exp(-(mu**2) / (2 * sigma**2)) + mu * (1 - 2 * stats.norm.cdf(-mu / sigma))


# --------------------------------------------------------------------------- the table
def test_table_of_quadratic_adds_t():
    table = gaussian_smoothing_table(MU**2, MU, SIGMAS)
    ok = np.isfinite(table)
    expected = MU[None, :] ** 2 + SIGMAS[:, None] ** 2
    assert np.allclose(table[ok], expected[ok], rtol=0, atol=1e-7)


def test_table_of_abs_matches_the_folded_normal_mean():
    table = gaussian_smoothing_table(np.abs(MU), MU, SIGMAS)
    ok = np.isfinite(table)
    # sampling the kink of |a| on the grid costs O(h^2) = O(2.5e-5)
    assert np.allclose(table[ok], smoothed_abs(MU[None, :], SIGMAS[:, None])[ok], rtol=0, atol=1e-5)


def test_table_of_cosine_decays_by_exp_minus_k2_t_over_2():
    k = 7.0
    table = gaussian_smoothing_table(np.cos(k * MU), MU, SIGMAS)
    expected = np.exp(-(k**2) * SIGMAS[:, None] ** 2 / 2) * np.cos(k * MU[None, :])
    ok = np.isfinite(table)
    assert np.allclose(table[ok], expected[ok], rtol=0, atol=1e-6)


def test_table_boundaries_sigma_zero_and_mask():
    q = np.abs(MU)
    table = gaussian_smoothing_table(q, MU, [0.0, 0.1, 0.2])
    assert np.array_equal(table[0], q)  # sigma = 0 is Q itself
    for row, sigma in zip(table[1:], (0.1, 0.2)):
        radius = int(np.ceil(6 * sigma / 0.005 - 1e-9))  # "valid": NaN within 6 sigma of an edge
        assert np.isnan(row[:radius]).all() and np.isfinite(row[radius:-radius]).all()
    mask = np.zeros(MU.size, bool)
    mask[400] = True
    masked = gaussian_smoothing_table(np.where(mask, 1e9, q), MU, [0.0, 0.2], mask=mask)
    assert np.isnan(masked[0, 400])
    # excluding the sample at the minimum shifts L(0) by ~ its weight h phi(0) / sigma = 1 %
    assert np.nanmax(np.abs(masked[1] - table[2])) < 5e-3


def test_table_in_2d_matches_the_product_formula():
    g = np.linspace(-1.5, 1.5, 121)
    A1, A2 = np.meshgrid(g, g, indexing="ij")
    sigmas = np.array([0.1, 0.2])
    table = gaussian_smoothing_table(np.abs(A1) + np.cos(5 * A2), (g, g), sigmas)
    assert table.shape == (2, 121, 121)
    expected = smoothed_abs(A1, sigmas[:, None, None]) + np.exp(-25 * sigmas[:, None, None] ** 2 / 2) * np.cos(5 * A2)
    ok = np.isfinite(table)
    assert ok.sum() > 5000
    # sampling the kink of |a1| at spacing 0.025 (only 4 steps per sigma = 0.1) costs ~4e-4
    assert np.allclose(table[ok], expected[ok], rtol=0, atol=1e-3)


# --------------------------------------------------------------------------- the residual
def test_exact_solution_has_small_residual():
    t = SIGMAS**2
    k = 5.0
    u = np.exp(-(k**2) * t[:, None] / 2) * np.cos(k * MU[None, :]) + MU[None, :] ** 2 + t[:, None]
    result = heat_residual(u, MU, t)
    assert isinstance(result, HeatResidual)
    assert result.relative < 1e-3
    assert np.isnan(result.residual[0]).all() and np.isnan(result.residual[:, 0]).all()
    assert np.isfinite(result.residual[1:-1, 1:-1]).all()


@pytest.mark.parametrize(
    "q",
    [np.abs(MU), weierstrass(MU), (3.0 * MU) % 1.0],
    ids=["abs", "weierstrass", "sawtooth"],
)
def test_smoothing_tables_solve_the_heat_equation(q):
    table = gaussian_smoothing_table(q, MU, SIGMAS)
    result = heat_residual(table, MU, SIGMAS**2)
    assert result.relative < 0.05
    assert np.nanmax(result.relative_per_t) < 0.05


@pytest.mark.parametrize("q", [MU**2, np.abs(MU), weierstrass(MU)], ids=["quadratic", "abs", "weierstrass"])
def test_a_table_constant_in_t_does_not_solve_the_heat_equation(q):
    static = np.repeat(q[None, :], SIGMAS.size, axis=0)  # L(mu, t) = Q(mu): u_t = 0, Laplacian != 0
    assert heat_residual(static, MU, SIGMAS**2).relative > 0.9


def test_wrong_time_scale_is_detected():
    # using t = sigma (not sigma^2) as the time axis breaks the equation
    table = gaussian_smoothing_table(np.abs(MU), MU, SIGMAS)
    assert heat_residual(table, MU, SIGMAS).relative > 0.3


def test_2d_table_solves_the_heat_equation():
    g = np.linspace(-1.5, 1.5, 121)
    A1, A2 = np.meshgrid(g, g, indexing="ij")
    q = np.sqrt(A1**2 + A2**2) + np.abs(A1 - 0.3) + weierstrass(A2)
    sigmas = np.sqrt(np.linspace(0.04, 0.09, 8))
    table = gaussian_smoothing_table(q, (g, g), sigmas)
    result = heat_residual(table, (g, g), sigmas**2)
    assert result.residual.shape == table.shape
    assert result.relative < 0.05
    static = np.repeat(q[None], sigmas.size, axis=0)
    assert heat_residual(static, (g, g), sigmas**2).relative > 0.9


def test_high_frequencies_decay_as_sigma_grows():
    sigmas = np.array([0.0, 0.01, 0.02, 0.05, 0.1])
    table = gaussian_smoothing_table(weierstrass(MU), MU, sigmas)
    interior = slice(120, -120)  # the valid region of the largest sigma (6 sigma = 120 steps)
    assert np.all(np.isfinite(table[:, interior]))
    # above 5 cycles / unit; the heat kernel damps power at f by exp(-4 pi^2 f^2 sigma^2)
    fractions = [hf_energy_fraction(row[interior], 0.005, cutoff=5.0) for row in table]
    assert np.all(np.diff(fractions) < 0)
    assert fractions[-1] < 1e-2 * fractions[0]


# --------------------------------------------------------------------------- errors
def test_heat_residual_rejects_bad_axes():
    table = np.zeros((5, 10))
    with pytest.raises(ValueError, match="t_axis.*5"):
        heat_residual(table, np.arange(10.0), np.arange(4.0))
    with pytest.raises(ValueError, match="strictly increasing"):
        heat_residual(table, np.arange(10.0), np.array([0.0, 0.2, 0.1, 0.3, 0.4]))
    with pytest.raises(ValueError, match=">= 0"):
        heat_residual(table, np.arange(10.0), np.arange(5.0) - 1.0)
    with pytest.raises(ValueError, match="pair"):
        heat_residual(np.zeros((5, 4, 4)), np.arange(4.0), np.arange(5.0))
    with pytest.raises(ValueError, match=r"\(5,\)"):
        heat_residual(np.zeros(5), np.arange(5.0), np.arange(5.0))


def test_smoothing_table_rejects_bad_input():
    with pytest.raises(ValueError, match="evenly spaced"):
        gaussian_smoothing_table(np.zeros(5), np.array([0.0, 1.0, 2.0, 4.0, 5.0]), [0.5])
    with pytest.raises(ValueError, match="sigmas.*-0.1"):
        gaussian_smoothing_table(np.zeros(5), np.arange(5.0), [0.5, -0.1])
    with pytest.raises(ValueError, match="mu_axis.*6"):
        gaussian_smoothing_table(np.zeros(5), np.arange(6.0), [0.5])
