"""Small shared pieces of the reproduction commands: output files, provenance, verdicts, figure style.

- :func:`write_summary`: ``OUT/<name>.json``, written whole, every path relative to
  ``OUT``, with its :func:`provenance` (command, package versions, CPU, commit,
  wall time).
- :class:`Claims`: a command's verdicts, each a :class:`mollirl.analysis.stats.Verdict`
  ("holds" / "fails" / "not distinguishable at n = N", with the interval behind
  it) and what it rests on; a ``--quick`` run marks every one "quick run: not evidence".
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.files import jsonable

#: what a ``--quick`` run's verdicts are (every verdict and the JSON say so, and so does the printed summary)
NOT_EVIDENCE = "quick run: not evidence"
#: the packages whose versions a summary records (the numbers of a chaotic training depend on them)
PACKAGES = ("mollirl", "numpy", "scipy", "torch", "stable-baselines3", "sb3-contrib", "gymnasium", "mujoco",
            "optuna", "matplotlib")


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere :func:`platform.processor`)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


#: what the numbers are computed by: a summary's ``dirty`` says whether these differ from its commit (outputs,
#: docs and tests do not change a number)
SOURCE_PATHS = ("mollirl", "pyproject.toml")


def git_state() -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout mollirl is imported from
    (dirty: the tracked source, :data:`SOURCE_PATHS`, differs from the commit; None with ``"note"`` when
    it is not a git checkout)."""
    import mollirl

    root = Path(mollirl.__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", *SOURCE_PATHS))
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "note": "mollirl is not imported from a git checkout"}
    return {"commit": commit, "dirty": dirty}


def provenance(command: str | None, wall_time_s: float | None) -> dict[str, Any]:
    """What produced a summary: the command as typed (no absolute path), the versions of the packages
    whose arithmetic the numbers depend on, Python, the platform, the CPU model and count, the git
    commit of mollirl (and whether the tree had uncommitted changes), and the wall time."""
    return {
        "command": command or "library call (no command line)",
        "versions": {p: _version(p) for p in PACKAGES},
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu": cpu_model(), "cpu_count": os.cpu_count(),
        "git": git_state(),
        "wall_time_s": wall_time_s,
    }


def write_summary(out: Path, name: str, summary: dict[str, Any], *, command: str | None = None) -> Path:
    """Write ``out/<name>.json`` (indent 1) with its ``provenance``; every ``Path`` in it relative to ``out``.
    A quick run (``summary["quick"]``) says ``"evidence": "quick run: not evidence"`` at the top."""
    from mollirl.common.files import write_atomic

    summary = dict(summary)
    if summary.get("quick"):
        summary = {"evidence": NOT_EVIDENCE, **summary}
    summary["provenance"] = provenance(command, summary.get("wall_time_s"))
    path = out / f"{name}.json"
    write_atomic(path, json.dumps(jsonable(summary, Path(out)), indent=1))  # whole or absent after a crash
    return path


class Claims:
    """The verdicts of one reproduction, in order.

    Each entry is a :class:`mollirl.analysis.stats.Verdict` (from its functions: ``compare``,
    ``judge_threshold``, ``judge_proportion``, ``judge_exact``) with what it rests on (``"exact"``: a
    deterministic computation at a fixed theta; ``"seeds"``: a distribution over independent seeds;
    ...). In a ``quick`` run every entry carries ``"evidence": "quick run: not evidence"``.
    """

    def __init__(self, quick: bool) -> None:
        self.quick = bool(quick)
        self.items: list[tuple[Any, str]] = []

    def add(self, verdict, rests_on: str):
        """Append ``verdict`` (a :class:`~mollirl.analysis.stats.Verdict`); returns it."""
        self.items.append((verdict, rests_on))
        return verdict

    def to_list(self) -> list[dict[str, Any]]:
        out = []
        for verdict, rests_on in self.items:
            entry = {**verdict.to_dict(), "rests_on": rests_on}
            if self.quick:
                entry["evidence"] = NOT_EVIDENCE
            out.append(entry)
        return out

    def __getitem__(self, claim: str):
        for verdict, _ in self.items:
            if verdict.claim == claim:
                return verdict
        raise KeyError(claim)

    def __len__(self) -> int:
        return len(self.items)


#: the fewest resampling units (directions, sub-windows) a Hölder reading's own interval is judged from
MIN_READING_UNITS = 2


def _reading_fields(reading: dict[str, Any]) -> dict[str, Any]:
    """A Hölder reading's fields under one naming: a fit's ``to_dict()`` (alpha, alpha_low, ...) or a
    landscape summary's mode (holder, holder_low, ...)."""
    if "holder_status" in reading:
        return {"alpha": reading.get("holder"), "low": reading.get("holder_low"), "high": reading.get("holder_high"),
                "h_min": reading.get("holder_h_min"), "h_max": reading.get("holder_h_max"),
                "status": reading.get("holder_status"), "reason": reading.get("holder_reason", ""),
                "units": reading.get("holder_units", 0)}
    return {"alpha": reading.get("alpha"), "low": reading.get("alpha_low"), "high": reading.get("alpha_high"),
            "h_min": reading.get("h_min"), "h_max": reading.get("h_max"), "status": reading.get("status"),
            "reason": reading.get("reason", ""), "units": reading.get("n_directions") or reading.get("n_units") or 0}


def _finite(x) -> bool:
    return x is not None and math.isfinite(float(x))


def range_text(reading: dict[str, Any], reason: bool = False) -> str:
    """``0.048 [0.04, 0.05] over h 1e-08 .. 0.1`` or ``no scaling range`` (with ``reason``: and why): an
    exponent beside its range."""
    r = _reading_fields(reading)
    if not _finite(r["alpha"]):
        return f"{r['status'] or 'not measured'}" + (f" ({r['reason']})" if reason and r["reason"] else "")
    iv = f" [{r['low']:.3g}, {r['high']:.3g}]" if _finite(r["low"]) and _finite(r["high"]) else ""
    span = f" over h {r['h_min']:.3g} .. {r['h_max']:.3g}" if _finite(r["h_min"]) and _finite(r["h_max"]) else ""
    return f"{float(r['alpha']):.3g}{iv}{span}"


def reading_interval(reading: dict[str, Any], what: str):
    """The :class:`~mollirl.analysis.stats.Interval` of a Hölder reading over its scaling range (its own
    bootstrap over directions or sub-windows); NaN, with the reason, where it found no scaling range."""
    from mollirl.analysis.stats import LEVEL, Interval

    r = _reading_fields(reading)
    n = max(int(r["units"] or 0), MIN_READING_UNITS)
    if not _finite(r["alpha"]):
        return Interval(math.nan, math.nan, math.nan, LEVEL, n, what,
                        f"{r['status'] or 'not measured'}: {r['reason']}".rstrip(": "))
    alpha = float(r["alpha"])
    if _finite(r["low"]) and _finite(r["high"]):
        return Interval(alpha, float(r["low"]), float(r["high"]), LEVEL, n, what,
                        f"bootstrap over the estimator's units, range h {r['h_min']:.3g} .. {r['h_max']:.3g}")
    return Interval(alpha, alpha, alpha, LEVEL, n, what, f"no interval ({r['status']})")


def judge_reading(reading: dict[str, Any], threshold: float, claim: str, *, above: bool = True,
                  what: str = "Hölder exponent"):
    """Judge a Hölder reading against ``threshold`` from its interval over its scaling range
    (:func:`mollirl.analysis.stats.judge_interval`); without a scaling range, not distinguishable."""
    from mollirl.analysis.stats import judge_interval

    return judge_interval(reading_interval(reading, what), threshold, claim, above=above,
                          min_rows=MIN_READING_UNITS)


def compare_readings(a: dict[str, Any], b: dict[str, Any], claim: str, *, what: str = "Hölder exponent"):
    """Judge "reading ``a`` is above reading ``b``": the difference's interval is [a.low - b.high,
    a.high - b.low] (conservative: the two intervals' ends); not distinguishable where either has no range."""
    import dataclasses

    from mollirl.analysis.stats import judge_interval

    ia, ib = reading_interval(a, what), reading_interval(b, what)
    diff = dataclasses.replace(ia, estimate=ia.estimate - ib.estimate, low=ia.low - ib.high, high=ia.high - ib.low,
                               n=min(ia.n, ib.n), statistic=f"difference of {what}s",
                               method=f"a: {ia.method}; b: {ib.method}")
    return judge_interval(diff, 0.0, claim, min_rows=MIN_READING_UNITS)


def judge_exact_or_missing(a: float | None, b: float | None, claim: str, *, what: str):
    """Judge "``a`` is above ``b``" for two exact numbers (:func:`mollirl.analysis.stats.judge_exact`); where
    either was not measured (NaN or None: a grid too coarse for the band, say), not distinguishable."""
    from mollirl.analysis.stats import LEVEL, Interval, judge_exact, judge_interval

    if _finite(a) and _finite(b):
        return judge_exact(float(a) - float(b), 0.0, claim, what=what)
    return judge_interval(Interval(math.nan, math.nan, math.nan, LEVEL, 1, what, "not measured"), 0.0, claim,
                          min_rows=1)


def verdict_lines(claims: list[dict[str, Any]], quick: bool) -> list[str]:
    """The printed summary of a summary's ``claims``: one line per verdict (quick runs: marked)."""
    lines = []
    if quick:
        lines.append(f"  {NOT_EVIDENCE}: --quick tests the code path; none of these verdicts is about the paper")
    width = max((len(c["verdict"]) for c in claims), default=0)
    for c in claims:
        lines.append(f"  {c['verdict']:<{width}}  {c['claim']}" + (f"  [{NOT_EVIDENCE}]" if quick else ""))
    return lines


def save_figure(fig, path: str | Path, dpi: int = 110, *, tight: bool = True) -> Path:
    """Lay out ``fig`` (``tight``: matplotlib's tight layout; else the figure's own, e.g. a constrained
    layout or a colour bar shared by several panels), write it to ``path`` whole or not at all (a
    temporary name, flushed, renamed), and close it."""
    from mollirl.common.files import write_bytes_atomic

    plt = pyplot()
    try:
        if tight:
            fig.tight_layout()
        write_bytes_atomic(Path(path), lambda tmp: fig.savefig(tmp, dpi=dpi))
    finally:
        plt.close(fig)
    return Path(path)


def value_scale(ax, values, axis: str = "y") -> None:
    """A symmetric-log scale on ``ax`` where ``values`` span more than a decade (returns from -1e3 to -1),
    else a linear one: a symlog axis over less than a decade has no tick inside its view."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and v.max() / v.min() > 10:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("symlog")


def pyplot():
    """matplotlib.pyplot on the Agg backend (headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class Timer:
    """Wall time since construction, in seconds."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.t0, 2)
