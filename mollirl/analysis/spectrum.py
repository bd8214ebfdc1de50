"""Power spectrum of a sampled landscape and its high-frequency energy fraction.

The heat equation damps the Fourier mode of frequency k by exp(-2 pi^2 k^2 t)
(with k in cycles per unit, t = sigma^2), so the share of a landscape's energy
above a cutoff frequency is a direct, scale-free measure of how much
mollification it has received (Sec. 4, "Smoothing by mollification").

Preprocessing, in this order: subtract the least-squares linear trend (a line
in 1-D, a plane in 2-D; this also removes the mean), multiply by a Hann window
(the outer product of two Hann windows in 2-D) so that the jump between the
two non-periodic edges does not leak power to high frequencies, then FFT. The
window costs resolution: a pure sine spreads over about +-2 frequency bins.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from mollirl.analysis._grid import as_landscape, as_spacing, check_positive

DEFAULT_CUTOFF_FRACTION = 0.25
"""Default cutoff of :func:`spectrum`, as a fraction of the Nyquist frequency."""

_MIN_POINTS = 4


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """Result of :func:`spectrum`.

    :param frequencies: ``(n_freq,)`` non-negative frequencies in cycles per
        parameter unit; in 2-D the centres of the radial bins |f| = sqrt(f1^2 + f2^2).
    :param power: ``(n_freq,)`` power per frequency bin (value units squared).
        1-D: one-sided, so that ``power.sum()`` is the window-weighted mean square of
        the detrended landscape. 2-D: the *mean* of the 2-D power over each
        annulus (radial average), so it does not sum to the mean square.
    :param cutoff: the cutoff frequency used for ``hf_energy_fraction`` (cycles per unit).
    :param nyquist: Nyquist frequency 1 / (2 spacing) (2-D: of the coarser axis).
    :param hf_energy_fraction: fraction of the non-DC energy at frequencies
        strictly above ``cutoff`` (2-D: computed on the full 2-D spectrum, not on
        the radial average), in [0, 1]; 0 for a landscape that is exactly linear.
    """

    frequencies: np.ndarray
    power: np.ndarray
    cutoff: float
    nyquist: float
    hf_energy_fraction: float


def _detrend(values: np.ndarray) -> np.ndarray:
    coords = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in values.shape], indexing="ij")
    design = np.stack([np.ones(values.size)] + [c.ravel() for c in coords], axis=1)
    coef, *_ = np.linalg.lstsq(design, values.ravel(), rcond=None)
    return values - (design @ coef).reshape(values.shape)


def spectrum(
    values: ArrayLike,
    spacing: float | Sequence[float],
    cutoff: float | None = None,
) -> Spectrum:
    """Power spectrum of a landscape after detrending and windowing (see the module docstring).

    :param values: landscape on a regular grid, shape ``(n,)`` or ``(n1, n2)``,
        at least 4 points per axis, all finite (crop a ``mollify(..., mode="valid")``
        result to its finite interior first).
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param cutoff: frequency (cycles per parameter unit) above which energy counts
        as high-frequency; default ``DEFAULT_CUTOFF_FRACTION`` (0.25) times the Nyquist frequency.
    :return: a :class:`Spectrum`.
    :raises ValueError: on a bad shape, too few points, non-finite values, or a
        non-positive spacing or cutoff.
    """
    arr = as_landscape(values)
    steps = as_spacing(spacing, arr.ndim)
    if min(arr.shape) < _MIN_POINTS:
        raise ValueError(f"values needs at least {_MIN_POINTS} points per axis, got shape {arr.shape}")
    n_bad = int(np.count_nonzero(~np.isfinite(arr)))
    if n_bad:
        raise ValueError(
            f"values must be finite, got {n_bad} non-finite entries of {arr.size}; "
            "crop to a finite rectangle (e.g. the valid interior of mollify(mode='valid'))"
        )
    nyquist = 1.0 / (2.0 * max(steps))
    if cutoff is None:
        cutoff = DEFAULT_CUTOFF_FRACTION * nyquist
    cutoff = check_positive(cutoff, "cutoff")
    if cutoff >= nyquist * (np.sqrt(2.0) if arr.ndim == 2 else 1.0):
        warnings.warn(
            f"cutoff={cutoff!r} is at or above the highest resolved frequency "
            f"(Nyquist {nyquist:.4g}), so the high-frequency fraction is 0; lower the cutoff",
            stacklevel=2,
        )

    detrended = _detrend(arr)
    window = np.hanning(arr.shape[0])
    if arr.ndim == 2:
        window = np.multiply.outer(window, np.hanning(arr.shape[1]))
    norm = arr.size * float(np.sum(window**2))
    scale = float(np.mean(arr**2))

    if arr.ndim == 1:
        n = arr.shape[0]
        power = np.abs(np.fft.rfft(window * detrended)) ** 2 / norm
        power[1 : (n + 1) // 2] *= 2.0  # one-sided: fold the negative frequencies
        freqs = np.fft.rfftfreq(n, d=steps[0])
        radial_f, radial_p = freqs, power
        full_f, full_p = freqs, power
    else:
        full_p = np.abs(np.fft.fft2(window * detrended)) ** 2 / norm
        f1 = np.fft.fftfreq(arr.shape[0], d=steps[0])
        f2 = np.fft.fftfreq(arr.shape[1], d=steps[1])
        full_f = np.sqrt(np.add.outer(f1**2, f2**2))
        df = max(1.0 / (arr.shape[0] * steps[0]), 1.0 / (arr.shape[1] * steps[1]))
        bins = np.rint(full_f / df).astype(np.int64).ravel()
        counts = np.bincount(bins)
        sums = np.bincount(bins, weights=full_p.ravel())
        keep = counts > 0
        radial_f = np.arange(counts.size)[keep] * df
        radial_p = sums[keep] / counts[keep]

    nonzero = full_f > 0
    total = float(np.sum(full_p[nonzero]))
    if total <= 1e-20 * max(scale, np.finfo(np.float64).tiny):
        hf = 0.0
    else:
        hf = float(np.sum(full_p[full_f > cutoff]) / total)
    return Spectrum(
        frequencies=radial_f,
        power=radial_p,
        cutoff=cutoff,
        nyquist=nyquist,
        hf_energy_fraction=hf,
    )


def hf_energy_fraction(
    values: ArrayLike,
    spacing: float | Sequence[float],
    cutoff: float | None = None,
) -> float:
    """Fraction of a landscape's (detrended, windowed) energy above ``cutoff``.

    Shorthand for ``spectrum(values, spacing, cutoff).hf_energy_fraction``; see
    :func:`spectrum` for the preprocessing and the default cutoff (a quarter of Nyquist).

    :param values: landscape, shape ``(n,)`` or ``(n1, n2)``, finite.
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param cutoff: cycles per parameter unit; default 0.25 * Nyquist.
    :return: a fraction in [0, 1].
    """
    return spectrum(values, spacing, cutoff).hf_energy_fraction
