"""Every figure a reproduction writes in these tests is checked for what a reviewer needs to read it.

The check runs on matplotlib's objects (not pixels), on every figure passed to
``mollirl.reproduce.common.save_figure`` and every landscape figure
(``mollirl.landscape.plot.landscape_figure``) while a test of this folder runs:

- every axis of every panel has a label (a panel sharing an axis with a labelled
  neighbour counts as labelled) and at least one non-empty tick label;
- a colour bar has a label and tick labels;
- an image panel (a filmstrip) has a title instead;
- titles (and the figure's suptitle) lie inside the figure;
- no text names an absolute path.
"""

from __future__ import annotations

import re

import pytest

ABSOLUTE = re.compile(r"(^|[\s(='\"])/(tmp|home|work|root|usr|var|Users)\b")


def _labelled(ax, which: str) -> bool:
    label = ax.get_xlabel() if which == "x" else ax.get_ylabel()
    if label:
        return True
    group = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    return any((o.get_xlabel() if which == "x" else o.get_ylabel()) for o in group.get_siblings(ax) if o is not ax)


def _own_ticklabels(ax, which: str) -> bool:
    labels = ax.get_xticklabels() if which == "x" else ax.get_yticklabels()
    return any(t.get_text().strip() and t.get_visible() for t in labels)


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


@pytest.fixture(autouse=True)
def readable_figures(monkeypatch):
    """Check every figure the test saves; the test fails with the list of problems."""
    import mollirl.landscape.plot as landscape_plot
    import mollirl.reproduce.common as common

    seen: list[str] = []
    problems: list[str] = []
    save = common.save_figure
    build = landscape_plot.landscape_figure

    def checked_save(fig, path, *args, **kwargs):
        found = check_figure(fig)
        problems.extend(f"{getattr(path, 'name', path)}: {p}" for p in found)
        seen.append(str(getattr(path, "name", path)))
        return save(fig, path, *args, **kwargs)

    def checked_build(land):
        fig = build(land)
        found = check_figure(fig)
        problems.extend(f"landscape figure ({land.env}): {p}" for p in found)
        seen.append(f"landscape figure ({land.env})")
        return fig

    import importlib

    from mollirl.reproduce import RESULTS

    monkeypatch.setattr(common, "save_figure", checked_save)
    for module_name, _ in RESULTS.values():  # the commands that imported save_figure by name
        module = importlib.import_module(module_name)
        if getattr(module, "save_figure", None) is save:
            monkeypatch.setattr(module, "save_figure", checked_save)
    monkeypatch.setattr(landscape_plot, "landscape_figure", checked_build)
    yield seen
    if problems:
        pytest.fail("figures a reviewer cannot read:\n" + "\n".join(problems), pytrace=False)
