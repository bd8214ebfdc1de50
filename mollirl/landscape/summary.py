"""Scalars that make a landscape's roughness measurable, from :mod:`mollirl.analysis`.

Per mode:

- ``holder``: the window Hölder exponent (:func:`~mollirl.analysis.holder_exponent`,
  diverged points excluded) of the roughest scaling range of at least one decade of
  lags, with its 95% bootstrap interval over sub-windows (``holder_low``,
  ``holder_high``; 2,000 resamples), the range itself (``holder_h_min``,
  ``holder_h_max`` in the slice's offset units, ``holder_decades``), the fit's
  ``holder_r2``, every range found (``holder_ranges``), and ``holder_caveat`` naming
  lags that scale more roughly without forming a range. Where no such range
  exists (a grid of fewer than 21 points always: its lags span under one decade)
  ``holder`` is NaN, ``holder_status`` is ``"no scaling range"`` and
  ``holder_reason`` says why.
- ``hf_energy``: the share of the (detrended, windowed) energy between 0 and
  ``hf_band_cycles`` (5) cycles per window width that lies above
  ``hf_cutoff_cycles`` (2) (:func:`~mollirl.analysis.spectrum`, over the whole
  grid; diverged points keep their truncated returns): the same function gives
  the same number on any grid that resolves the band (11 points or more per
  axis). On a coarser grid, or with non-finite values, it is NaN with
  ``hf_status`` ``"not resolved"`` / ``"not measured"`` and ``hf_reason``.
- ``J_range`` (max - min), ``J_max``, ``J_min`` over the non-diverged points,
  ``J_centre``, and ``masked_fraction`` (the fraction of diverged points).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from mollirl.analysis import holder_exponent, spectrum
from mollirl.analysis.spectrum import DEFAULT_BAND_CYCLES, DEFAULT_CUTOFF_CYCLES

N_RESAMPLES = 2000
"""Bootstrap resamples of the Hölder interval in a summary (the callbacks run it during training)."""


def _num(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _holder(values: np.ndarray, mask: np.ndarray, spacing: tuple[float, ...]) -> dict:
    out = {"holder": math.nan, "holder_low": math.nan, "holder_high": math.nan, "holder_r2": math.nan,
           "holder_h_min": math.nan, "holder_h_max": math.nan, "holder_decades": math.nan,
           "holder_status": "not measured", "holder_reason": "", "holder_caveat": "", "holder_ranges": []}
    try:
        fit = holder_exponent(values, spacing, mask=mask, n_resamples=N_RESAMPLES)
    except ValueError as exc:  # too few valid points for any lag
        out["holder_reason"] = str(exc)
        return out
    out.update(holder=float(fit.alpha), holder_low=fit.alpha_low, holder_high=fit.alpha_high,
               holder_r2=float(fit.r_squared), holder_h_min=fit.h_min, holder_h_max=fit.h_max,
               holder_decades=fit.decades, holder_status=fit.status, holder_reason=fit.reason,
               holder_caveat=fit.caveat,
               holder_ranges=[r.to_dict() for r in fit.ranges])
    return out


def _hf(values: np.ndarray, spacing: tuple[float, ...]) -> dict:
    out = {"hf_energy": math.nan, "hf_status": "not measured", "hf_reason": "",
           "hf_cutoff_cycles": DEFAULT_CUTOFF_CYCLES, "hf_band_cycles": DEFAULT_BAND_CYCLES}
    if not np.all(np.isfinite(values)):
        out["hf_reason"] = f"{int(np.count_nonzero(~np.isfinite(values)))} non-finite values"
        return out
    if float(np.max(np.abs(values))) >= 1e150:
        out["hf_reason"] = "values beyond 1e150 (a diverged rollout's return): the spectrum would overflow"
        return out
    try:
        result = spectrum(values, spacing)
    except ValueError as exc:  # fewer than 4 points per axis
        out["hf_reason"] = str(exc)
        return out
    out.update(hf_energy=result.hf_energy_fraction, hf_reason=result.reason,
               hf_status="ok" if result.resolved else "not resolved")
    return out


def analyze(values: np.ndarray, mask: np.ndarray, spacing: tuple[float, ...]) -> dict:
    """The scalars of the module docstring for one landscape ``values (n[, n])`` with its diverged ``mask``."""
    values = np.asarray(values, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    ok = ~mask & np.isfinite(values)
    pool = values[ok] if ok.any() else values[np.isfinite(values)]
    centre_index = tuple(s // 2 for s in values.shape)
    out = {
        "J_range": float(pool.max() - pool.min()) if pool.size else math.nan,
        "J_max": float(pool.max()) if pool.size else math.nan,
        "J_min": float(pool.min()) if pool.size else math.nan,
        "J_centre": float(values[centre_index]),
        "masked_fraction": float(mask.mean()),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.update(_holder(values, mask, spacing))
        out.update(_hf(values, spacing))
    return out


def summarize(landscape) -> dict[str, dict]:
    """``{mode: analyze(...)}`` for every mode of a :class:`~mollirl.landscape.result.Landscape`."""
    spacing = landscape.grid.spacing
    return {mode: analyze(landscape.value(mode), landscape.mask_of(mode), spacing) for mode in landscape.modes}


def holder_text(s: dict) -> str:
    """``0.812 [0.75, 0.86] over 0.05 .. 0.5`` or ``no scaling range`` (one mode's summary)."""
    if s["holder_status"] == "constant":
        return "1 (constant)"
    if not math.isfinite(_num(s["holder"])):
        return "no scaling range" if s["holder_status"] == "no scaling range" else "not measured"
    iv = ""
    if math.isfinite(_num(s["holder_low"])) and math.isfinite(_num(s["holder_high"])):
        iv = f" [{s['holder_low']:.2f}, {s['holder_high']:.2f}]"
    return f"{s['holder']:.3f}{iv} over {s['holder_h_min']:.3g} .. {s['holder_h_max']:.3g}"


def hf_text(s: dict) -> str:
    """``0.0146`` or ``grid too coarse`` (one mode's summary)."""
    if math.isfinite(_num(s["hf_energy"])):
        return f"{s['hf_energy']:.4f}"
    return "grid too coarse" if s["hf_status"] == "not resolved" else "not measured"


def format_summary(landscape, summary: dict[str, dict] | None = None) -> str:
    """A plain-text table of :func:`summarize` (what the command line prints), with what each column
    measures and, per mode, why a number is missing."""
    summary = summary or summarize(landscape)
    name = "Q" if landscape.kind == "q" else "J"
    unit = "action" if landscape.kind == "q" else "offset"
    lines = [f"{'mode':<10} {name + '(centre)':>12} {'max':>12} {'min':>12} {'range':>12}  "
             f"{'holder [95%] over ' + unit + 's':<36} {'(r2)':>6} {'hf_energy':>15} {'diverged':>8}"]
    for mode, s in summary.items():
        r2 = f"{s['holder_r2']:>6.2f}" if math.isfinite(_num(s["holder_r2"])) else f"{'-':>6}"
        lines.append(
            f"{mode:<10} {s['J_centre']:>12.5g} {s['J_max']:>12.5g} {s['J_min']:>12.5g} {s['J_range']:>12.5g}  "
            f"{holder_text(s):<36} {r2} {hf_text(s):>15} {s['masked_fraction']:>8.1%}"
        )
    first = next(iter(summary.values()), None)
    if first is not None:
        lines.append(f"  holder: window exponent of the roughest scaling range of >= 1 decade of lags "
                     f"(95% bootstrap over sub-windows); hf_energy: share of the energy up to "
                     f"{first['hf_band_cycles']:g} cycles per window width above {first['hf_cutoff_cycles']:g}")
    notes: dict[str, list[str]] = {}  # one line per distinct note, with the modes it applies to
    for mode, s in summary.items():
        for key, label in (("holder_reason", "holder"), ("holder_caveat", "holder"), ("hf_reason", "hf_energy")):
            if s[key]:
                notes.setdefault(f"{label}: {s[key]}", []).append(mode)
    lines += [f"  {', '.join(modes)} {note}" for note, modes in notes.items()]
    for mode, s in summary.items():
        others = [r for r in s["holder_ranges"]
                  if not (math.isclose(_num(r["h_min"]), _num(s["holder_h_min"]))
                          and math.isclose(_num(r["h_max"]), _num(s["holder_h_max"])))]
        for r in others:
            lines.append(f"  {mode} holder: also {r['alpha']:.3f} ({r['kind']}) over "
                         f"{r['h_min']:.3g} .. {r['h_max']:.3g} ({r['decades']:.1f} decades)")
    return "\n".join(lines)
