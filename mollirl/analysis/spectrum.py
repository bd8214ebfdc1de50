"""Power spectrum of a sampled landscape and its high-frequency energy fraction.

The heat equation damps the Fourier mode of frequency k by exp(-2 pi^2 k^2 t)
(with k in cycles per unit, t = sigma^2), so the share of a landscape's energy
above a cutoff frequency is a direct measure of how much mollification it has
received (Sec. 4, "Smoothing by mollification").

**Units that belong to the function, not to the grid.** The cutoff and the band
are frequencies of the landscape, by default in **cycles per window width**
(the window of axis i is (n_i - 1) * spacing_i wide, the slice's 2 * radius):
``hf_energy_fraction`` is the share of the energy between 0 and ``band_cycles``
(default 5) cycles per window that lies above ``cutoff_cycles`` (default 2):
features with periods between 0.4 and 1 radius, among all those with periods
above 0.4 radius. Both edges are fixed in the window's units, so the same
function sampled on 11 or on 41 points gives the same number (to the aliasing of
what lies above the coarser grid's Nyquist frequency): the tests state by how
much. A grid must resolve the band, i.e. its Nyquist frequency (n_i - 1) / 2
cycles per window must reach ``band_cycles`` on every axis: 11 points for the
default band. A coarser grid is *not answered*: ``resolved`` is False,
``hf_energy_fraction`` NaN and ``reason`` says which grid would do. An explicit
``cutoff`` in cycles per parameter unit (and ``band``, default 2.5 times the
cutoff) measures in those units instead, with the same rule.

Preprocessing, in this order: subtract the least-squares linear trend (a line
in 1-D, a plane in 2-D; this also removes the mean), multiply by a Hann window
(the outer product of two Hann windows in 2-D) so that the jump between the
two non-periodic edges does not leak power to high frequencies, then FFT. The
window costs resolution: a pure sine spreads over about +-2 frequency bins of
one cycle per window each.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from mollirl.analysis._grid import as_landscape, as_spacing, check_positive

DEFAULT_CUTOFF_CYCLES = 2.0
"""Default cutoff of :func:`spectrum`, cycles per window width."""
DEFAULT_BAND_CYCLES = 5.0
"""Default upper edge of the band, cycles per window width (resolved from 11 grid points on)."""
BAND_RATIO = DEFAULT_BAND_CYCLES / DEFAULT_CUTOFF_CYCLES
"""An explicit cutoff's default band edge, in units of the cutoff."""

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
    :param cutoff: the cutoff in cycles per parameter unit (along axis 0).
    :param nyquist: Nyquist frequency 1 / (2 spacing), cycles per unit (2-D: of the coarser axis).
    :param hf_energy_fraction: fraction of the energy in the band (0, band] above the
        cutoff (2-D: computed on the full 2-D spectrum, not on the radial average), in
        [0, 1]; 0 for a landscape that is exactly linear; NaN when not ``resolved``.
    :param cutoff_cycles: the cutoff in cycles per window width (along axis 0).
    :param band_cycles: the upper edge of the band in cycles per window width (axis 0).
    :param window: ``(n_axes,)`` window widths (n_i - 1) * spacing_i, parameter units.
    :param resolved: whether every axis's Nyquist frequency reaches the band's edge.
    :param reason: why the fraction is NaN, when not ``resolved`` (else ``""``).
    """

    frequencies: np.ndarray
    power: np.ndarray
    cutoff: float
    nyquist: float
    hf_energy_fraction: float
    cutoff_cycles: float = DEFAULT_CUTOFF_CYCLES
    band_cycles: float = DEFAULT_BAND_CYCLES
    window: tuple[float, ...] = ()
    resolved: bool = True
    reason: str = ""

    def to_dict(self) -> dict:
        """The hf reading as JSON-able values (NaN as None)."""
        hf = self.hf_energy_fraction
        return {"hf_energy": float(hf) if math.isfinite(hf) else None, "resolved": self.resolved,
                "reason": self.reason, "cutoff_cycles_per_window": self.cutoff_cycles,
                "band_cycles_per_window": self.band_cycles, "cutoff_per_unit": self.cutoff,
                "window": list(self.window)}


def _detrend(values: np.ndarray) -> np.ndarray:
    coords = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in values.shape], indexing="ij")
    design = np.stack([np.ones(values.size)] + [c.ravel() for c in coords], axis=1)
    coef, *_ = np.linalg.lstsq(design, values.ravel(), rcond=None)
    return values - (design @ coef).reshape(values.shape)


def _band(arr: np.ndarray, steps: tuple[float, ...], cutoff: float | None, band: float | None,
          cutoff_cycles: float | None, band_cycles: float | None) -> tuple[tuple[float, ...], float, float]:
    """``(scale per axis, cutoff, band)`` in the units the fraction is measured in: a frequency f_i in
    cycles per unit counts as f_i * scale_i (scale = the window widths, or 1 for per-unit edges)."""
    widths = tuple((n - 1) * s for n, s in zip(arr.shape, steps))
    if cutoff is not None:
        if cutoff_cycles is not None or band_cycles is not None:
            raise ValueError("give the cutoff either per parameter unit (cutoff, band) or per window width "
                             "(cutoff_cycles, band_cycles), not both")
        lo = check_positive(cutoff, "cutoff")
        hi = BAND_RATIO * lo if band is None else check_positive(band, "band")
        scale = (1.0,) * arr.ndim
    else:
        if band is not None:
            raise ValueError("band (cycles per unit) goes with cutoff (cycles per unit); "
                             "use band_cycles with cutoff_cycles")
        lo = DEFAULT_CUTOFF_CYCLES if cutoff_cycles is None else check_positive(cutoff_cycles, "cutoff_cycles")
        hi = (BAND_RATIO * lo if cutoff_cycles is not None else DEFAULT_BAND_CYCLES) if band_cycles is None \
            else check_positive(band_cycles, "band_cycles")
        scale = widths
    if not hi > lo:
        raise ValueError(f"the band's upper edge ({hi!r}) must lie above the cutoff ({lo!r})")
    return scale, lo, hi


def spectrum(
    values: ArrayLike,
    spacing: float | Sequence[float],
    cutoff: float | None = None,
    *,
    band: float | None = None,
    cutoff_cycles: float | None = None,
    band_cycles: float | None = None,
) -> Spectrum:
    """Power spectrum of a landscape after detrending and windowing, and its high-frequency share.

    :param values: landscape on a regular grid, shape ``(n,)`` or ``(n1, n2)``,
        at least 4 points per axis, all finite (crop a ``mollify(..., mode="valid")``
        result to its finite interior first).
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param cutoff: cutoff in cycles per parameter unit; default: ``cutoff_cycles`` per
        window width.
    :param band: with ``cutoff``: the band's upper edge, cycles per unit (default 2.5 * cutoff).
    :param cutoff_cycles: cutoff in cycles per window width (default 2).
    :param band_cycles: the band's upper edge in cycles per window width (default 5, or
        2.5 * ``cutoff_cycles`` when that is given).
    :return: a :class:`Spectrum`; ``hf_energy_fraction`` is NaN (``resolved`` False,
        ``reason`` set) when a grid axis's Nyquist frequency lies below the band's edge.
    :raises ValueError: on a bad shape, too few points, non-finite values, a
        non-positive spacing, cutoff or band, or both kinds of cutoff at once.
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
    scale, lo, hi = _band(arr, steps, cutoff, band, cutoff_cycles, band_cycles)
    widths = tuple((n - 1) * s for n, s in zip(arr.shape, steps))
    nyquist = 1.0 / (2.0 * max(steps))
    per_unit = cutoff is not None
    cutoff_unit = lo if per_unit else lo / widths[0]
    cutoff_cyc, band_cyc = (lo * widths[0], hi * widths[0]) if per_unit else (lo, hi)

    # the band must lie below every axis's Nyquist frequency, in the units of the edges
    short = [i for i, (s, sc) in enumerate(zip(steps, scale)) if sc / (2.0 * s) < hi * (1.0 - 1e-9)]
    reason = ""
    if short:
        i = short[0]
        if per_unit:
            reason = (f"the grid resolves up to {1.0 / (2.0 * steps[i]):.4g} cycles per unit along axis {i} "
                      f"(Nyquist), below the band's edge {hi:.4g}: use a spacing of at most {1.0 / (2.0 * hi):.4g}")
        else:
            need = int(math.ceil(2.0 * hi - 1e-9)) + 1
            reason = (f"a grid of {arr.shape[i]} points resolves up to {(arr.shape[i] - 1) / 2:g} cycles per "
                      f"window (Nyquist), below the band's edge {hi:g}: use a grid of at least {need} points")

    detrended = _detrend(arr)
    window = np.hanning(arr.shape[0])
    if arr.ndim == 2:
        window = np.multiply.outer(window, np.hanning(arr.shape[1]))
    norm = arr.size * float(np.sum(window**2))
    mean_square = float(np.mean(arr**2))

    if arr.ndim == 1:
        n = arr.shape[0]
        power = np.abs(np.fft.rfft(window * detrended)) ** 2 / norm
        power[1 : (n + 1) // 2] *= 2.0  # one-sided: fold the negative frequencies
        freqs = np.fft.rfftfreq(n, d=steps[0])
        radial_f, radial_p = freqs, power
        full_p, measured = power, freqs * scale[0]
    else:
        full_p = np.abs(np.fft.fft2(window * detrended)) ** 2 / norm
        f1 = np.fft.fftfreq(arr.shape[0], d=steps[0])
        f2 = np.fft.fftfreq(arr.shape[1], d=steps[1])
        full_f = np.sqrt(np.add.outer(f1**2, f2**2))
        measured = np.sqrt(np.add.outer((f1 * scale[0]) ** 2, (f2 * scale[1]) ** 2))
        df = max(1.0 / (arr.shape[0] * steps[0]), 1.0 / (arr.shape[1] * steps[1]))
        bins = np.rint(full_f / df).astype(np.int64).ravel()
        counts = np.bincount(bins)
        sums = np.bincount(bins, weights=full_p.ravel())
        keep = counts > 0
        radial_f = np.arange(counts.size)[keep] * df
        radial_p = sums[keep] / counts[keep]

    if short:
        hf = math.nan
    else:
        in_band = (measured > 0) & (measured <= hi * (1.0 + 1e-9))
        total = float(np.sum(full_p[in_band]))
        if total <= 1e-20 * max(mean_square, np.finfo(np.float64).tiny):
            hf = 0.0
        else:
            hf = float(np.sum(full_p[in_band & (measured > lo)]) / total)
    return Spectrum(
        frequencies=radial_f, power=radial_p, cutoff=float(cutoff_unit), nyquist=nyquist,
        hf_energy_fraction=hf, cutoff_cycles=float(cutoff_cyc), band_cycles=float(band_cyc),
        window=widths, resolved=not short, reason=reason,
    )


def hf_energy_fraction(
    values: ArrayLike,
    spacing: float | Sequence[float],
    cutoff: float | None = None,
    *,
    band: float | None = None,
    cutoff_cycles: float | None = None,
    band_cycles: float | None = None,
) -> float:
    """Fraction of a landscape's (detrended, windowed) energy in the band that lies above the cutoff.

    Shorthand for ``spectrum(values, spacing, ...).hf_energy_fraction``; see
    :func:`spectrum` for the preprocessing, the band and the defaults (2 and 5
    cycles per window width).

    :param values: landscape, shape ``(n,)`` or ``(n1, n2)``, finite.
    :param spacing: grid spacing, a float or one per axis (parameter units).
    :param cutoff: cycles per parameter unit (with ``band``), or None for ``cutoff_cycles``.
    :return: a fraction in [0, 1]; NaN, with a warning saying which grid would do, when
        the grid does not resolve the band.
    """
    result = spectrum(values, spacing, cutoff, band=band, cutoff_cycles=cutoff_cycles, band_cycles=band_cycles)
    if not result.resolved:
        warnings.warn(f"hf energy not measured: {result.reason}", stacklevel=2)
    return result.hf_energy_fraction
