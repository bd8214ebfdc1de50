"""Figures of a landscape: contour + 1-D slices, one column per mode (det and sigma side by side).

Uses matplotlib's object API on an Agg canvas (no pyplot, no global backend
state). Diverged points are never hidden: the colour scale is set by the
non-diverged points, diverged points keep their (clipped) value and are drawn
in a grey flag colour, hatched and marked with a magenta ``x``; in 1-D plots they are magenta ``x``
markers on the curve. Each mode's title carries its numbers: the window Hölder exponent with its
interval and its scaling range (or "no scaling range"), and the hf energy with its band (or "grid
too coarse").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mollirl.common.files import write_bytes_atomic
from mollirl.landscape.result import Landscape
from mollirl.landscape.summary import hf_text, holder_text

_TITLES = {
    "det": "J(theta), deterministic",
    "sigma": "J_sigma(theta), sigma = {sigma}",
    "mollified": "L(mu, sigma^2) = Q * Gaussian, sigma = {sigma}",
    "param-sigma": "E[J(theta + sigma eps)], parameter-space sigma = {param_sigma}",
}
DIVERGED = "#d0009c"
FLAG = "#c8c8c8"


def _title(land: Landscape, mode: str) -> str:
    if land.kind == "q" and mode == "det":
        head = "Q(s0, a), then the deterministic policy"
    else:
        sigma = np.unique(np.round(land.sigma, 6))
        head = _TITLES[mode].format(sigma=", ".join(f"{s:g}" for s in sigma),
                                    param_sigma=f"{land.metadata.get('param_sigma', float('nan')):g}")
    numbers = land.metadata.get("summary", {}).get(mode)
    if not numbers or "holder_status" not in numbers:  # a file written before the scaling ranges
        return head
    return (f"{head}\nHölder {holder_text(numbers)}\n"
            f"hf energy ({numbers['hf_cutoff_cycles']:g}-{numbers['hf_band_cycles']:g} cycles/window) "
            f"{hf_text(numbers)}")


def _unit(kind: str) -> str:
    """The unit of an offset along a direction of this kind (unit vectors are in parameter units)."""
    return "filter-normalized units" if kind == "filter" else "parameter units"


def _axis_labels(land: Landscape) -> list[str]:
    if land.kind == "q":
        return [f"action a[{i}] (env action units)" for i in land.action_dims]
    return [f"{k} direction {i + 1} ({_unit(k)})" for i, k in enumerate(land.directions.kinds)]


def _value_label(land: Landscape) -> str:
    return f"{'Q' if land.kind == 'q' else 'J'} (discounted return)"


def _shared_limits(land: Landscape) -> tuple[float, float]:
    """One colour scale for every mode of a figure (the panels are compared side by side)."""
    bounds = [_limits(land.value(m), land.mask_of(m)) for m in land.modes]
    return min(b[0] for b in bounds), max(b[1] for b in bounds)


def _limits(values: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    finite = np.isfinite(values)
    pool = values[finite & ~mask] if np.any(finite & ~mask) else values[finite]
    if pool.size == 0:
        return -1.0, 1.0
    lo, hi = float(pool.min()), float(pool.max())
    if hi <= lo:
        pad = max(abs(lo) * 1e-6, 1e-12)
        lo, hi = lo - pad, hi + pad
    return lo, hi


def _plot_2d(fig, ax, land: Landscape, mode: str) -> None:
    values, mask = land.value(mode), land.mask_of(mode)
    a, b = land.axes
    A, B = np.meshgrid(a, b, indexing="ij")
    lo, hi = _shared_limits(land)
    shown = np.clip(np.nan_to_num(values, nan=lo), lo, hi)
    levels = np.linspace(lo, hi, 21)
    cs = ax.contourf(A, B, shown, levels=levels, cmap="viridis", extend="neither")
    bar = fig.colorbar(cs, ax=ax, shrink=0.85)
    bar.set_label(_value_label(land) + (", one scale for all panels" if len(land.modes) > 1 else ""), fontsize=8)
    if mask.any():
        # a flag colour, not the colour scale: a diverged rollout's return is truncated at the
        # divergence step and can look better than the points that did not diverge
        ax.contourf(A, B, mask.astype(float), levels=[0.5, 1.5], colors=[FLAG], hatches=["////"])
        ax.scatter(A[mask], B[mask], marker="x", s=14, color=DIVERGED, linewidths=1.0,
                   label=f"diverged ({int(mask.sum())})")
        ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    if land.kind == "q":
        c = land.action_centre[list(land.action_dims)]
        ax.plot([c[0]], [c[1]], marker="*", color="white", markeredgecolor="black", markersize=11)
    else:
        ax.plot([0.0], [0.0], marker="+", color="white", markersize=12, markeredgewidth=2)
    labels = _axis_labels(land)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(_title(land, mode), fontsize=9)


def _plot_1d(ax, axis: np.ndarray, values: np.ndarray, mask: np.ndarray, stderr: np.ndarray | None,
             label: str, color: str) -> None:
    ax.plot(axis, values, color=color, label=label, linewidth=1.4)
    if stderr is not None and np.any(np.isfinite(stderr)):
        ax.fill_between(axis, values - 2 * stderr, values + 2 * stderr, color=color, alpha=0.2, linewidth=0)
    if mask.any():
        seen = any(line.get_label() == "diverged" for line in ax.get_lines())
        ax.plot(axis[mask], values[mask], "x", color=DIVERGED, markersize=6, label="_" if seen else "diverged")


def _plot_slices(ax, land: Landscape, mode: str, titled: bool) -> None:
    values, mask = land.value(mode), land.mask_of(mode)
    stderr = land.stderr[land.index(mode)]
    labels = _axis_labels(land)
    if land.dims == 1:
        _plot_1d(ax, land.axes[0], values, mask, stderr, labels[0], "C0")
        ax.set_xlabel(labels[0])
    else:
        i, j = land.grid.centre_index()
        _plot_1d(ax, land.axes[0], values[:, j], mask[:, j], stderr[:, j], f"along {labels[0]}", "C0")
        _plot_1d(ax, land.axes[1], values[i, :], mask[i, :], stderr[i, :], f"along {labels[1]}", "C1")
        ax.set_xlabel("action (env action units)" if land.kind == "q"
                      else f"offset ({_unit(land.directions.kinds[0])})" if len(set(land.directions.kinds)) == 1
                      else "offset along each direction (its units)")
        ax.legend(fontsize=7)
    lo, hi = _shared_limits(land)
    pad = 0.05 * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_ylabel(_value_label(land))
    ax.grid(alpha=0.3)
    if titled:
        ax.set_title(_title(land, mode), fontsize=9)


def landscape_figure(land: Landscape) -> Figure:
    """The figure: 2-D = contour over 1-D slices through the centre; 1-D = the curve (+-2 standard errors)."""
    n_modes = len(land.modes)
    rows = 2 if land.dims == 2 else 1
    fig = Figure(figsize=(5.2 * n_modes, 4.2 * rows + 0.6), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, n_modes, squeeze=False)
    for k, mode in enumerate(land.modes):
        if land.dims == 2:
            _plot_2d(fig, axes[0, k], land, mode)
            _plot_slices(axes[1, k], land, mode, titled=False)
        else:
            _plot_slices(axes[0, k], land, mode, titled=True)
    meta = land.metadata
    where = meta.get("label", "")
    head = f"{land.env}: {'Q-landscape' if land.kind == 'q' else 'landscape'} around {where}"
    fig.suptitle(f"{head}\nhorizon {land.horizon}, gamma {land.gamma:g}, seed {land.seed}", fontsize=9)
    fig.tight_layout()
    return fig


def figure_rgb(fig: Figure) -> np.ndarray:
    """A figure as an ``(H, W, 3)`` uint8 RGB array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def render_landscape(land: Landscape) -> np.ndarray:
    """The figure as an ``(H, W, 3)`` uint8 RGB array (for TensorBoard)."""
    return figure_rgb(landscape_figure(land))


def save_png(land: Landscape, path: str | Path, *, rgb: bool = False) -> np.ndarray | None:
    """Write the figure to ``path`` (PNG); with ``rgb=True`` also return it as an RGB array."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = landscape_figure(land)
    write_bytes_atomic(path, fig.savefig)
    return figure_rgb(fig) if rgb else None
