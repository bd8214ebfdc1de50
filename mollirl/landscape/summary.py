"""Scalars that make a landscape's roughness measurable, from :mod:`mollirl.analysis`.

Per mode: the Hölder exponent (:func:`~mollirl.analysis.holder_exponent`,
diverged points excluded), the high-frequency energy fraction
(:func:`~mollirl.analysis.hf_energy_fraction` over the whole grid; diverged
points keep their truncated returns), the range of J over the non-diverged
points, and the fraction of diverged points. A scalar that cannot be estimated
on this grid (too few points, a constant slice) is NaN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from mollirl.analysis import hf_energy_fraction, holder_exponent


def analyze(values: np.ndarray, mask: np.ndarray, spacing: tuple[float, ...]) -> dict[str, float]:
    """``holder``, ``holder_r2``, ``hf_energy``, ``J_range``, ``J_max``, ``J_min``, ``J_centre``,
    ``masked_fraction`` of one landscape ``values (n[, n])`` with its diverged ``mask``."""
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
        "holder": math.nan, "holder_r2": math.nan, "hf_energy": math.nan,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = holder_exponent(values, spacing, mask=mask)
            out["holder"], out["holder_r2"] = float(fit.alpha), float(fit.r_squared)
        except ValueError:
            pass
        try:
            if np.all(np.isfinite(values)) and float(np.max(np.abs(values))) < 1e150:
                out["hf_energy"] = float(hf_energy_fraction(values, spacing))
        except ValueError:
            pass
    return out


def summarize(landscape) -> dict[str, dict[str, float]]:
    """``{mode: analyze(...)}`` for every mode of a :class:`~mollirl.landscape.result.Landscape`."""
    spacing = landscape.grid.spacing
    return {mode: analyze(landscape.value(mode), landscape.mask_of(mode), spacing) for mode in landscape.modes}


def format_summary(landscape, summary: dict[str, dict[str, float]] | None = None) -> str:
    """A plain-text table of :func:`summarize` (what the command line prints)."""
    summary = summary or summarize(landscape)
    name = "Q" if landscape.kind == "q" else "J"
    lines = [f"{'mode':<10} {name + '(centre)':>12} {'max':>12} {'min':>12} {'range':>12} "
             f"{'holder':>7} {'(r2)':>6} {'hf_energy':>9} {'diverged':>8}"]
    for mode, s in summary.items():
        lines.append(
            f"{mode:<10} {s['J_centre']:>12.5g} {s['J_max']:>12.5g} {s['J_min']:>12.5g} {s['J_range']:>12.5g} "
            f"{s['holder']:>7.3f} {s['holder_r2']:>6.2f} {s['hf_energy']:>9.4f} {s['masked_fraction']:>8.1%}"
        )
    return "\n".join(lines)
