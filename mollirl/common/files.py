"""Files written whole or not at all: a temporary name in the same folder, flushed to disk, renamed.

A crash, an interrupt or a full disk at any moment leaves the previous file (or none), never a
partial one, and no temporary file behind (a failed write removes it).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a written file to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unique() -> str:
    """A temporary name's own part: two processes writing the same file at once (two study commands
    reporting one study) must not share a temporary file, or one renames the other's away."""
    return f"{os.getpid()}-{secrets.token_hex(4)}"


def temporary_name(path: Path) -> Path:
    """The temporary name of a write of ``path``: beside it, hidden, unique to this writer, the
    suffix kept (``np.savez``, ``savefig`` and SB3's ``save`` go by it)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{_unique()}.tmp{path.suffix}")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, flushed, then renamed."""
    write_bytes_atomic(path, lambda tmp: Path(tmp).write_text(text))


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
    tmp = temporary_name(path)
    try:
        write(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        remove_quietly(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a library's write error names no file: ours does
            exc.filename = str(path)
        raise
