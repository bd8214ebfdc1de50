"""Known answers for mollirl.analysis.spectrum."""

import dataclasses

import numpy as np
import pytest

from mollirl.analysis import Spectrum, hf_energy_fraction, mollify, spectrum
from mollirl.analysis.spectrum import DEFAULT_CUTOFF_FRACTION


def test_pure_sine_peaks_at_its_frequency():
    h = 0.01
    x = np.arange(1000) * h  # 10 units long: bins of 0.1 cycles / unit
    result = spectrum(np.sin(2 * np.pi * 3.7 * x), h)
    assert isinstance(result, Spectrum)
    assert result.frequencies[np.argmax(result.power)] == pytest.approx(3.7, abs=0.1)
    assert result.nyquist == pytest.approx(50.0)
    assert result.cutoff == pytest.approx(DEFAULT_CUTOFF_FRACTION * 50.0)
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


def test_hf_fraction_of_known_signals():
    rng = np.random.default_rng(0)
    h = 0.01
    x = np.arange(4096) * h
    assert hf_energy_fraction(np.sin(2 * np.pi * 1.0 * x), h) < 1e-3  # cutoff at 12.5 cycles / unit
    assert hf_energy_fraction(np.sin(2 * np.pi * 30.0 * x), h) > 0.999
    # white noise is flat: the share above a quarter of Nyquist is about 3/4
    assert hf_energy_fraction(rng.standard_normal(4096), h) == pytest.approx(0.75, abs=0.03)
    # 2-D: the disc |f| <= Nyquist / 4 covers pi / 64 of the frequency square
    assert hf_energy_fraction(rng.standard_normal((128, 128)), h) == pytest.approx(1 - np.pi / 64, abs=0.03)


def test_explicit_cutoff():
    h = 0.01
    x = np.arange(2000) * h
    signal = np.sin(2 * np.pi * 2.0 * x) + 0.5 * np.sin(2 * np.pi * 20.0 * x)
    # powers 1/2 and 1/8: the 20-cycle component holds 1/5 of the energy
    assert hf_energy_fraction(signal, h, cutoff=10.0) == pytest.approx(0.2, abs=0.01)
    assert hf_energy_fraction(signal, h, cutoff=1.0) == pytest.approx(1.0, abs=0.01)


def test_mollification_removes_high_frequencies_monotonically():
    rng = np.random.default_rng(1)
    h = 0.01
    noise = rng.standard_normal(2048)
    fractions = []
    for sigma in (0.01, 0.02, 0.05, 0.1):
        smooth = mollify(noise, h, sigma, mode="valid")
        fractions.append(hf_energy_fraction(smooth[np.isfinite(smooth)], h))
    assert np.all(np.diff(fractions) < 0)
    assert fractions[-1] < 1e-6


def test_result_is_frozen():
    result = spectrum(np.arange(10.0) ** 2, 0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.cutoff = 1.0  # type: ignore[misc]


def test_spectrum_rejects_bad_input():
    with pytest.raises(ValueError, match="2 non-finite"):
        spectrum(np.array([0.0, np.nan, 1.0, np.inf, 2.0]), 0.1)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        spectrum(np.arange(3.0), 0.1)
    with pytest.raises(ValueError, match="cutoff.*-1"):
        spectrum(np.arange(10.0), 0.1, cutoff=-1.0)
    with pytest.raises(ValueError, match="spacing"):
        spectrum(np.zeros((8, 8)), (0.1,))
    with pytest.warns(UserWarning, match="Nyquist"):
        assert hf_energy_fraction(np.sin(np.arange(32.0)), 1.0, cutoff=0.6) == 0.0
