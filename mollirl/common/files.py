"""Files written whole or not at all: a temporary name in the same folder, flushed to disk, renamed.

A crash, an interrupt or a full disk at any moment leaves the previous file (or none), never a
partial one, and no temporary file behind (a failed write removes it).
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a written file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, flushed, then renamed."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def remove_quietly(path: Path) -> None:
    """Remove a temporary file left by a failed write (a full disk, an interrupt); quiet if absent."""
    try:
        Path(path).unlink()
    except OSError:
        pass


def write_bytes_atomic(path: Path, write) -> None:
    """``write(tmp_path)`` creates the file's content at a temporary name; flushed, then renamed to ``path``.

    For files written by other libraries (``np.savez``, ``savefig``): a crash or a full disk
    leaves the previous file or none, never a partial one.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
