"""Small shared pieces of the reproduction commands: output files and figure style."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np


def relative(path: str | Path, base: str | Path) -> str:
    """``path`` relative to ``base`` (POSIX separators), so a summary names no folder of the machine."""
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


def jsonable(obj: Any, base: Path | None = None) -> Any:
    """Convert numpy values (and NaN/inf) into JSON-safe Python values; a ``Path`` (value or key)
    becomes a path relative to ``base`` when given."""
    if isinstance(obj, dict):
        return {(jsonable(k, base) if isinstance(k, Path) else str(k)): jsonable(v, base) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, base) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), base)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj) if base is None else relative(obj, base)
    return obj


def write_summary(out: Path, name: str, summary: dict[str, Any]) -> Path:
    """Write ``out/<name>.json`` (indent 1); every ``Path`` in it relative to ``out``."""
    from mollirl.common.files import write_atomic

    path = out / f"{name}.json"
    write_atomic(path, json.dumps(jsonable(summary, Path(out)), indent=1))  # whole or absent after a crash
    return path


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Lay out ``fig``, write it to ``path`` whole or not at all (a temporary name, flushed, renamed),
    and close it."""
    from mollirl.common.files import write_bytes_atomic

    plt = pyplot()
    try:
        fig.tight_layout()
        write_bytes_atomic(Path(path), lambda tmp: fig.savefig(tmp, dpi=dpi))
    finally:
        plt.close(fig)
    return Path(path)


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
