"""Shared set-up: headless plots, and the registries the contract suites iterate over (:mod:`suite`)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import suite  # noqa: E402,F401  (loads the built-in plugins and the test plugin before collection)


# --- small file systems for the fault cases (tmpfs mounts need root; skipped with the reason otherwise) ---
import shutil  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402


def _mount(path: Path, options: str) -> None:
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine: the tmpfs cases cannot run")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}): needs root")


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


@pytest.fixture
def read_only(tmp_path):
    """A read-only file system (a 1 MB tmpfs mounted ``ro``)."""
    path = tmp_path / "ro"
    _mount(path, "size=1m,ro")
    yield path
    _umount(path)


@pytest.fixture
def small_disk(tmp_path):
    """``fill(free)``: a 2 MB tmpfs filled so that ``free`` bytes are left; returns its root."""
    path = tmp_path / "disk"
    _mount(path, "size=2m")

    def fill(free: int) -> Path:
        avail = shutil.disk_usage(path).free
        with open(path / "fill", "wb") as fh:
            try:
                fh.write(b"\0" * max(avail - free, 0))
            except OSError:
                pass
        return path

    yield fill
    _umount(path)
