"""Files written whole or not at all: a temporary name in the same folder, flushed to disk, renamed.

A crash, an interrupt or a full disk at any moment leaves the previous file (or none), never a
partial one, and no temporary file behind (a failed write removes it).

Many members' files at once (:func:`batched_writes`): the writes that ask for it (``defer=True``:
checkpoints, ``model.zip``, a run folder's ``config.yml``) are flushed to disk together, by
parallel ``fsync`` calls that the file system commits as one, then renamed in the order they were
written (and the files they replace removed after): P members' checkpoints cost about one flush,
not P, and each member's files still appear whole and in order.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

_BATCH = threading.local()


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


def write_atomic(path: Path, text: str, *, defer: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, flushed, then renamed
    (``defer``: see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, lambda tmp: Path(tmp).write_text(text), defer=defer)


def remove_quietly(path: Path) -> None:
    """Remove a temporary file left by a failed write (a full disk, an interrupt); quiet if absent."""
    try:
        Path(path).unlink()
    except OSError:
        pass


def write_bytes_atomic(path: Path, write, *, defer: bool = False) -> None:
    """``write(tmp_path)`` creates the file's content at a temporary name; flushed, then renamed to ``path``.

    For files written by other libraries (``np.savez``, ``savefig``): a crash or a full disk
    leaves the previous file or none, never a partial one.

    :param defer: inside :func:`batched_writes`, flush and rename at the end of the batch (nothing in
        the batch may read ``path`` back before then).
    """
    path = Path(path)
    tmp = temporary_name(path)
    pending = getattr(_BATCH, "pending", None) if defer else None
    try:
        write(tmp)
        if pending is not None:
            pending.append(("replace", tmp, path))
            return
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        remove_quietly(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # a library's write error names no file: ours does
            exc.filename = str(path)
        raise


def unlink_after_writes(path: Path) -> None:
    """Remove ``path`` now, or at the end of the current :func:`batched_writes` (after its renames: a file
    replaced by a pointer written in the batch goes only once the pointer is in place)."""
    pending = getattr(_BATCH, "pending", None)
    if pending is not None:
        pending.append(("unlink", None, Path(path)))
    else:
        Path(path).unlink(missing_ok=True)


@contextlib.contextmanager
def batched_writes() -> Iterator[None]:
    """Deferred writes (``defer=True``) inside are flushed together at the end, in parallel, then renamed
    in order; an exception inside drops them (their temporary files removed: the previous files stay)."""
    if getattr(_BATCH, "pending", None) is not None:  # nested: the outer batch flushes
        yield
        return
    _BATCH.pending = pending = []
    try:
        yield
    except BaseException:
        _BATCH.pending = None
        for op, tmp, _ in pending:
            if op == "replace":
                remove_quietly(tmp)
        raise
    _BATCH.pending = None
    tmps = [tmp for op, tmp, _ in pending if op == "replace"]
    try:
        if len(tmps) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(32, len(tmps))) as pool:
                list(pool.map(fsync_path, tmps))
        else:
            for tmp in tmps:
                fsync_path(tmp)
        for op, tmp, path in pending:
            if op == "replace":
                os.replace(tmp, path)
            else:
                path.unlink(missing_ok=True)
    except BaseException:
        for tmp in tmps:
            remove_quietly(tmp)
        raise


def relative(path: str | Path, base: str | Path) -> str:
    """``path`` relative to ``base`` (POSIX separators), so a written record names no folder of the machine."""
    return Path(os.path.relpath(Path(path).resolve(), Path(base).resolve())).as_posix()


def jsonable(obj, base: Path | None = None):
    """Convert numpy values (and NaN/inf, as None) into JSON-safe Python values; a ``Path`` (value or key)
    becomes a path relative to ``base`` when given. The one converter of every JSON mollirl writes."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {(jsonable(k, base) if isinstance(k, Path) else str(k)): jsonable(v, base) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, base) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), base)
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj) if base is None else relative(obj, base)
    return obj
