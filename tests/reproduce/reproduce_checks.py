"""What every reproduction's JSON must hold: provenance, verdicts from the statistics module, quick marks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mollirl.analysis.stats import OUTCOMES

VERSIONED = ("numpy", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "mujoco", "optuna")


def check_summary(path: Path, tmp_path: Path, *, quick: bool = True) -> dict:
    """Load ``path`` and check the contract every reproduction keeps; returns the summary."""
    text = path.read_text()
    assert str(tmp_path) not in text and '"/' not in text, "an absolute path in the JSON"
    summary = json.loads(text)
    prov = summary["provenance"]
    assert prov["command"].startswith("python -m mollirl.reproduce ")
    for package in VERSIONED:
        assert prov["versions"][package], package
    assert prov["cpu"] and prov["python"] and prov["wall_time_s"] == summary["wall_time_s"]
    assert set(prov["git"]) >= {"commit", "dirty"}
    claims = summary["claims"]
    assert isinstance(claims, list) and claims
    for c in claims:
        assert c["outcome"] in OUTCOMES and c["claim"] and c["rests_on"]
        assert c["verdict"] == (f"not distinguishable at n = {c['n']}" if c["outcome"] == "not distinguishable"
                                else c["outcome"])
        assert c["interval"]["statistic"] and c["interval"]["method"]
        assert (c.get("evidence") == "quick run: not evidence") == quick
    assert (summary.get("evidence") == "quick run: not evidence") == quick
    return summary


def verdicts(summary: dict) -> dict[str, str]:
    """``{claim: outcome}``."""
    return {c["claim"]: c["outcome"] for c in summary["claims"]}


def printed_verdicts_marked(out: str) -> bool:
    """Every verdict line of a quick run's printed summary carries the mark."""
    lines = [line for line in out.splitlines() if line.startswith("  ") and ("holds" in line or "fails" in line
                                                                            or "not distinguishable" in line)]
    return bool(lines) and all(line.rstrip().endswith("[quick run: not evidence]") for line in lines) \
        and "quick run: not evidence: --quick tests the code path" in out


ABSOLUTE = re.compile(r"(^|[\s(='\"])/(tmp|home|work|root|usr|var|Users)\b")


def _labelled(ax, which: str) -> bool:
    label = ax.get_xlabel() if which == "x" else ax.get_ylabel()
    if label:
        return True
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any((o.get_xlabel() if which == "x" else o.get_ylabel()) for o in group.get_siblings(ax) if o is not ax)


def _own_ticklabels(ax, which: str) -> bool:
    """A visible, non-empty tick label whose tick lies inside the axis's view (matplotlib also returns
    labels of ticks outside it, e.g. a symlog axis over less than a decade has none inside)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) * 1e-9
    for tick in axis.get_major_ticks() + axis.get_minor_ticks():
        label = tick.label1 if tick.label1.get_visible() else tick.label2
        if label.get_visible() and label.get_text().strip() and lo - span <= tick.get_loc() <= hi + span:
            return True
    return False


def _has_ticklabels(ax, which: str) -> bool:
    """Tick labels on this axis, or on a panel it shares the axis with (inner panels of a grid hide theirs)."""
    if _own_ticklabels(ax, which):
        return True
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any(_own_ticklabels(o, which) for o in group.get_siblings(ax) if o is not ax)


def check_figure(fig) -> list[str]:
    """Problems a reviewer would have reading ``fig`` (empty when none)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    problems = []
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        title = " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t)
        name = f"panel {i} ({title!r})"
        if getattr(ax, "_colorbar", None) is not None:
            if not (ax.get_ylabel() or ax.get_xlabel()):
                problems.append(f"{name}: colour bar without a label")
            if not (_has_ticklabels(ax, "y") or _has_ticklabels(ax, "x")):
                problems.append(f"{name}: colour bar without tick labels")
            continue
        if ax.images and not ax.lines and not ax.collections:
            if not title:
                problems.append(f"{name}: an image panel without a title")
            continue
        for which in ("x", "y"):
            if not _labelled(ax, which):
                problems.append(f"{name}: no {which} label")
            if not _has_ticklabels(ax, which):
                problems.append(f"{name}: no {which} tick labels")
        for axis_label in (ax.xaxis.label, ax.yaxis.label):
            if axis_label.get_text():
                extent = axis_label.get_window_extent(renderer)
                if extent.x0 < box.x0 - 1 or extent.x1 > box.x1 + 1 or extent.y0 < box.y0 - 1 or extent.y1 > box.y1 + 1:
                    problems.append(f"{name}: axis label {axis_label.get_text()!r} does not fit the figure")
        for title in (ax.title, ax._left_title, ax._right_title):
            if title.get_text():
                extent = title.get_window_extent(renderer)
                if extent.x0 < box.x0 - 1 or extent.x1 > box.x1 + 1:
                    problems.append(f"{name}: title {title.get_text()!r} does not fit the figure")
    if fig._suptitle is not None and fig._suptitle.get_text():
        extent = fig._suptitle.get_window_extent(renderer)
        if extent.x0 < box.x0 - 1 or extent.x1 > box.x1 + 1:
            problems.append(f"suptitle {fig._suptitle.get_text()!r} does not fit the figure")
    for text in fig.findobj(Text):
        if ABSOLUTE.search(text.get_text()):
            problems.append(f"text names an absolute path: {text.get_text()!r}")
    return problems
