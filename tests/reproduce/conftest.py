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

import pytest
from reproduce_checks import check_figure

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
        if kwargs.get("tight", True):
            fig.tight_layout()  # what save_figure does before writing: check the figure as it is written
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
