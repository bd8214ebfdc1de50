"""Shared pieces of the reliability suite: one-line checks, snapshots, the broken plugin, subprocess runs.

A module of its own name (not ``conftest``): several test folders have a conftest.py, and
``from conftest import ...`` inside a test gets whichever was imported last.
"""

import os
import subprocess
import sys
from pathlib import Path


HERE = Path(__file__).parent
#: the plugin that breaks its contracts (loaded once per process, like a third party's)
BROKEN_PLUGIN = str(HERE / "broken_plugin.py")
TINY = ["--horizon", "20", "--batch-episodes", "4", "--no-progress", "--checkpoint-every", "1"]
ROOT = Path(__file__).resolve().parents[2]


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file and folder under ``root`` (a folder as ``b"<dir>"``): what "nothing written" compares."""
    root = Path(root)
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


def command(module: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """``python -m mollirl.<module> ARGS`` in a subprocess (this worktree on the path)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **kwargs.pop("env", {})}
    return subprocess.run([sys.executable, "-m", f"mollirl.{module}", *args], capture_output=True, text=True,
                          timeout=kwargs.pop("timeout", 300), env=env, **kwargs)


def tiny_run(root: Path, epochs: int) -> Path:
    """Train a finished ``TINY`` run of ``epochs`` epochs under ``root`` (in this process); its run folder."""
    from mollirl.train import main as train_main

    assert train_main(["-f", str(root), "--epochs", str(epochs), *TINY]) == 0
    (run,) = (Path(root) / "reinforce").iterdir()
    return run
