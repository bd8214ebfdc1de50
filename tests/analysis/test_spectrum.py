"""Known answers for mollirl.analysis.spectrum: a band fixed in the window's units, the same number on
every grid that resolves it, and no number from a grid that does not."""

import dataclasses

import numpy as np
import pytest

from mollirl.analysis import Spectrum, hf_energy_fraction, mollify, spectrum
from mollirl.analysis.spectrum import DEFAULT_BAND_CYCLES, DEFAULT_CUTOFF_CYCLES

GRIDS = (11, 21, 41, 81, 161)


def on_window(f, n, radius=1.0):
    """``(values, spacing)`` of f sampled on n points over [-radius, radius] (a window 2 radius wide)."""
    x = np.linspace(-radius, radius, n)
    return f(x), x[1] - x[0]


def smooth(x):
    """A smooth landscape: a tilted bowl, a bump and a slow sine (energy at 1-2 cycles per window)."""
    return -((x - 0.3) ** 2) + 0.5 * np.exp(-(((x + 0.2) / 0.6) ** 2)) + 0.3 * np.sin(2.2 * x)


def rough(x, n_terms=30):
    """A Weierstrass sum, a = 0.6, b = 2 (Hölder 0.74): energy at every frequency, falling as f^-2.5."""
    return sum(0.6**k * np.cos(2.0**k * np.pi * x + k) for k in range(n_terms))


def test_pure_sine_peaks_at_its_frequency():
    h = 0.01
    x = np.arange(1000) * h  # 10 units long: bins of 0.1 cycles / unit
    result = spectrum(np.sin(2 * np.pi * 3.7 * x), h)
    assert isinstance(result, Spectrum)
    assert result.frequencies[np.argmax(result.power)] == pytest.approx(3.7, abs=0.1)
    assert result.nyquist == pytest.approx(50.0)
    # the default cutoff is 2 cycles per window width (999 * 0.01 units): 0.2 cycles per unit
    assert result.cutoff_cycles == DEFAULT_CUTOFF_CYCLES == 2.0 and result.band_cycles == DEFAULT_BAND_CYCLES == 5.0
    assert result.window == pytest.approx((9.99,)) and result.cutoff == pytest.approx(2.0 / 9.99)
    assert result.resolved and result.reason == ""
    # one-sided power sums to the mean square A^2 / 2 (window-compensated)
    assert result.power.sum() == pytest.approx(0.5, rel=0.02)


def test_linear_trend_and_offset_are_removed():
    h = 0.01
    x = np.arange(1000) * h
    plain = spectrum(np.sin(2 * np.pi * 3.7 * x), h)
    trended = spectrum(np.sin(2 * np.pi * 3.7 * x) + 40.0 * x - 7.0, h)
    assert np.allclose(trended.power, plain.power, atol=1e-6)


def test_linear_landscape_has_no_high_frequency_energy():
    x = np.linspace(0, 1, 64)
    assert hf_energy_fraction(5.0 * x + 1.0, x[1] - x[0]) == 0.0
    X, Y = np.meshgrid(x, x, indexing="ij")
    assert hf_energy_fraction(2.0 * X - Y, x[1] - x[0]) == 0.0


def test_plane_wave_peaks_at_its_radial_frequency():
    h = 0.02
    x = np.arange(128) * h
    X, Y = np.meshgrid(x, x, indexing="ij")
    f1, f2 = 3.0, 4.0  # |f| = 5 cycles / unit
    result = spectrum(np.cos(2 * np.pi * (f1 * X + f2 * Y)), h)
    bin_width = 1.0 / (128 * h)
    assert result.frequencies[np.argmax(result.power)] == pytest.approx(5.0, abs=bin_width)


@pytest.mark.parametrize("n", GRIDS)
def test_tones_inside_and_below_the_band(n):
    """Two cosines in cycles per window: 1 (below the cutoff) and 3.5 (in the band, a quarter of the
    amplitude): 1/16 / (1 + 1/16) = 0.059 of the band's energy is above 2 cycles, on every grid that
    resolves the band (0.061 to 0.068 measured). Tolerance 0.01: the Hann window spreads each tone over
    +-2 bins of 1 cycle (a tone at 1.3 cycles leaks 0.02 more across the cutoff)."""
    values, h = on_window(lambda x: np.cos(np.pi * (x + 1)) + 0.25 * np.cos(3.5 * np.pi * (x + 1)), n)
    assert hf_energy_fraction(values, h) == pytest.approx(1 / 17, abs=0.01)


def test_same_smooth_function_same_number_on_every_grid():
    """The issue's complaint, fixed: with the cutoff at a quarter of Nyquist the same smooth landscape read
    1.0 on 5 and 7 points, 0.39 on 9, 0.38 on 11, 0.0011 on 21 and 0.0 on 41. In cycles per window it
    reads 0.0005 to 0.0011 on 11 to 161 points (tolerance 0.002: what differs is where the grid's bins
    fall, m (n - 1) / n cycles per window, and how the Hann window of n points leaks), and coarser grids
    are not answered."""
    values = {n: hf_energy_fraction(*on_window(smooth, n)) for n in GRIDS}
    assert max(values.values()) - min(values.values()) < 0.002
    assert all(v < 0.002 for v in values.values())
    for n in (5, 7, 9):
        result = spectrum(*on_window(smooth, n))
        assert not result.resolved and np.isnan(result.hf_energy_fraction)
        assert f"a grid of {n} points resolves up to {(n - 1) / 2:g} cycles per window" in result.reason
        assert "at least 11 points" in result.reason
    # a 2-D bowl: 0.033 on 11x11, 0.019 on 161x161 (tolerance 0.02: the 2-D modes near the cutoff)
    bowl = {}
    for n in GRIDS:
        x = np.linspace(-1, 1, n)
        bowl[n] = hf_energy_fraction(-np.add.outer(x**2, x**2), x[1] - x[0])
    assert max(bowl.values()) - min(bowl.values()) < 0.02 and max(bowl.values()) < 0.05


def test_rough_function_agrees_across_grids_up_to_aliasing():
    """A fractal has energy above every grid's Nyquist frequency; sampled, it folds back into the band.
    On 11 points (Nyquist 5 cycles per window, the band's edge) that adds 0.05 (0.171 against 0.121 on
    161 points); from 41 points on the grids agree within 0.01. Tolerances: 0.07 and 0.01."""
    values = {n: hf_energy_fraction(*on_window(rough, n)) for n in GRIDS}
    assert abs(values[11] - values[161]) < 0.07
    assert max(values[41], values[81], values[161]) - min(values[41], values[81], values[161]) < 0.01
    assert all(0.05 < v < 0.3 for v in values.values())  # rough: a share of the band's energy above 2 cycles


def test_white_noise_fills_the_band_evenly():
    """A flat spectrum puts the same expected energy in every Fourier mode. The disc of radius 5 cycles
    per window holds 80 non-zero modes (m, k) with m^2 + k^2 <= 25, 12 of them within radius 2: the
    share above the cutoff is 68/80 = 0.85. One draw scatters by +-0.06 (each mode is one chi-square
    draw), so the test averages 20 seeds (standard error ~0.015); tolerance 0.04."""
    shares = [hf_energy_fraction(np.random.default_rng(seed).standard_normal((128, 128)), 0.01) for seed in range(20)]
    assert np.mean(shares) == pytest.approx(68 / 80, abs=0.04)


def test_explicit_cutoff_in_cycles_per_unit():
    h = 0.01
    x = np.arange(2000) * h
    signal = np.sin(2 * np.pi * 2.0 * x) + 0.5 * np.sin(2 * np.pi * 20.0 * x)
    # powers 1/2 and 1/8: the 20-cycle component holds 1/5 of the energy up to the band's edge
    assert hf_energy_fraction(signal, h, cutoff=10.0) == pytest.approx(0.2, abs=0.01)  # band 25: both tones
    assert hf_energy_fraction(signal, h, cutoff=1.0, band=25.0) == pytest.approx(1.0, abs=0.01)
    assert hf_energy_fraction(signal, h, cutoff=3.0) == pytest.approx(0.0, abs=0.01)  # band 7.5: 2-cycle tone only
    result = spectrum(signal, h, cutoff=10.0)
    assert result.cutoff == 10.0 and result.cutoff_cycles == pytest.approx(10.0 * 1999 * h)
    assert result.band_cycles == pytest.approx(25.0 * 1999 * h)
    # cycles per window, explicitly: band 2.5 times the cutoff
    assert spectrum(signal, h, cutoff_cycles=4.0).band_cycles == 10.0
    coarse = spectrum(signal, h, cutoff=30.0)  # band 75 cycles per unit, Nyquist 50
    assert not coarse.resolved and "spacing of at most" in coarse.reason


def test_too_coarse_grid_warns_and_returns_nan():
    values, h = on_window(smooth, 9)
    with pytest.warns(UserWarning, match="hf energy not measured: a grid of 9 points"):
        assert np.isnan(hf_energy_fraction(values, h))
    # a finer band needs a finer grid: 4 and 10 cycles per window need 21 points
    assert not spectrum(*on_window(smooth, 19), cutoff_cycles=4.0).resolved
    assert spectrum(*on_window(smooth, 21), cutoff_cycles=4.0).resolved


def test_mollification_removes_high_frequencies_monotonically():
    rng = np.random.default_rng(1)
    h = 0.01
    noise = rng.standard_normal(2048)
    fractions = []
    for sigma in (0.01, 0.02, 0.05, 0.1):
        smooth_ = mollify(noise, h, sigma, mode="valid")
        # features of 5 to 12.5 cycles per unit, the scales these sigmas act on
        fractions.append(hf_energy_fraction(smooth_[np.isfinite(smooth_)], h, cutoff=5.0))
    assert np.all(np.diff(fractions) < 0)
    assert fractions[-1] < 1e-4  # sigma 0.1 damps 5 cycles per unit to exp(-2 pi^2 25 0.01)^2 ~ 5e-5 of its power


def test_result_is_frozen_and_serializes():
    result = spectrum(np.arange(12.0) ** 2, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.cutoff = 1.0  # type: ignore[misc]
    d = result.to_dict()
    assert d["resolved"] and d["cutoff_cycles_per_window"] == 2.0 and d["band_cycles_per_window"] == 5.0


def test_spectrum_rejects_bad_input():
    with pytest.raises(ValueError, match="2 non-finite"):
        spectrum(np.array([0.0, np.nan, 1.0, np.inf, 2.0]), 0.1)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        spectrum(np.arange(3.0), 0.1)
    with pytest.raises(ValueError, match="cutoff.*-1"):
        spectrum(np.arange(10.0), 0.1, cutoff=-1.0)
    with pytest.raises(ValueError, match="cutoff_cycles.*0"):
        spectrum(np.arange(10.0), 0.1, cutoff_cycles=0.0)
    with pytest.raises(ValueError, match="spacing"):
        spectrum(np.zeros((8, 8)), (0.1,))
    with pytest.raises(ValueError, match="not both"):
        spectrum(np.arange(10.0), 0.1, cutoff=1.0, cutoff_cycles=2.0)
    with pytest.raises(ValueError, match="must lie above the cutoff"):
        spectrum(np.arange(10.0), 0.1, cutoff_cycles=2.0, band_cycles=2.0)
    with pytest.raises(ValueError, match="band .* goes with cutoff"):
        spectrum(np.arange(10.0), 0.1, band=3.0)
