"""One writer per folder: run folders claimed atomically, and an advisory lock held for the whole command.

* **Claiming** a new ``<env>_<n>`` folder is one atomic step: ``mkdir`` that fails when the
  folder exists, retried with the next number (:func:`claim_numbered_dir`). Processes started
  at the same instant each get their own folder; choosing "the next free number" and creating
  it later (two steps) let two of them share one.
* **Writing** into a folder (a run, a population, a reproduction's output) holds an exclusive
  ``fcntl.flock`` on the folder itself (:class:`FolderLock`): no lock file is created, so none is
  left behind, and the kernel releases the lock when the process ends, however it ends. A second
  writer is refused at once in one line naming the holder's pid and command (read from
  ``/proc/locks`` and ``/proc/<pid>/cmdline`` on Linux; "another process" elsewhere).

Locks are re-entrant within a process (flock locks belong to an open file description, so a
process locking a folder twice would otherwise refuse itself): a population's members, a
reproduction's reused runs and the command around them may each ask for the same folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from pathlib import Path

#: attempts at claiming a numbered folder before giving up (each lost race moves to the next number)
CLAIM_ATTEMPTS = 1000


class FolderBusy(ValueError):
    """Another process writes the folder (a refusal: one line on stderr, exit code 2)."""


def _numbers(base: Path, name: str) -> list[int]:
    pattern = re.compile(rf"{re.escape(name)}_(\d+)")
    try:
        entries = os.listdir(base)
    except FileNotFoundError:
        return []
    return [int(m.group(1)) for e in entries if (m := pattern.fullmatch(e))]


def next_number(base: str | Path, name: str) -> int:
    """The number after the largest ``<name>_<n>`` in ``base`` (1 when there is none): rl-zoo3's rule."""
    return max(_numbers(Path(base), name), default=0) + 1


def claim_numbered_dir(base: str | Path, name: str, first: int | None = None) -> Path:
    """Create ``base/<name>_<n>`` atomically for the smallest ``n >= first`` that is free and above every
    existing number, and return it; ``base`` is created if missing.

    ``os.mkdir`` fails when the folder exists, so of two processes asking at once exactly one gets
    each number: the loser moves on to the next one.
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    n = max(next_number(base, name), first or 1)
    for _ in range(CLAIM_ATTEMPTS):
        path = base / f"{name}_{n}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n = max(n + 1, next_number(base, name))
    raise OSError(errno.EEXIST, f"no free {name}_<n> folder after {CLAIM_ATTEMPTS} attempts", str(base))


def claim_new_run_dir(planned: str | Path, *, numbered: bool) -> tuple[Path, bool, FolderLock, bool]:
    """Create (atomically) and lock the folder of a new run: ``(folder, created, lock, moved)``.

    :param planned: ``<base>/<name>_<n>`` chosen earlier (``numbered``: the next free number then), or a
        folder given by the caller (a population member's, a study trial's, a reproduction's).
    :param numbered: claim ``<name>_<n>`` or, if another process took it meanwhile, the next free
        number (``moved`` is then True); else the given folder, which may exist but must hold no run.
    :raises ValueError: when the given folder already holds a run (``model.zip`` or a checkpoint) or
        another process writes it.
    """
    planned = Path(planned)
    if numbered:
        match = re.fullmatch(r"(.*)_(\d+)", planned.name)
        if match is None:
            raise AssertionError(f"not a numbered run folder: {planned}")
        path, created = claim_numbered_dir(planned.parent, match.group(1), first=int(match.group(2))), True
    else:
        planned.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(planned)
            created = True
        except FileExistsError:
            created = False
        path = planned
    lock = lock_folder(path, "run folder")
    if not created:
        held = [name for name in ("model.zip", "checkpoints/latest.json") if (path / name).exists()]
        if held:
            lock.release()
            raise ValueError(f"run folder {str(path)!r} already holds a run ({held[0]}): a new run would overwrite "
                             "it; resume it, or remove it, or choose another folder")
    return path, created, lock, path != planned


# --------------------------------------------------------------------------------------------- the lock
#: (st_dev, st_ino) of a folder this process holds -> [fd, count]
_HELD: dict[tuple[int, int], list[int]] = {}


def _key(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def holder(path: str | Path) -> int | None:
    """The pid holding an exclusive flock on the folder ``path`` (from ``/proc/locks``), or None."""
    try:
        st = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in lines:
        parts = line.split()
        # "3: FLOCK  ADVISORY  WRITE 395 fe:00:2197358 0 EOF" ("->" marks a waiter: skipped)
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[3] == "WRITE" and parts[5] == ident:
            try:
                return int(parts[4])
            except ValueError:
                return None
    return None


def _command_of(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    words = [a.decode(errors="replace") for a in argv if a]
    if len(words) > 1 and Path(words[0]).name.startswith("python"):
        words[0] = "python"
    text = " ".join(words)
    return text if len(text) <= 120 else text[:117] + "..."


def busy_message(path: Path, what: str) -> str:
    pid = holder(path)
    if pid is None:
        who = "another process"
    else:
        command = _command_of(pid)
        who = f"process {pid}" + (f" ({command})" if command else "")
    return (f"{what} {str(path)!r} is being written by {who}: one writer per folder; wait for it to end "
            "or choose another folder")


class FolderLock:
    """An exclusive advisory lock on the folder ``path`` (``fcntl.flock`` on the folder's own descriptor).

    :param path: an existing folder.
    :param what: how a refusal names it (``run folder``, ``--resume``, ``-o/--output``).
    :raises FolderBusy: from :meth:`acquire` when another process holds it.
    """

    def __init__(self, path: str | Path, what: str = "folder") -> None:
        self.path = Path(path)
        self.what = what
        self._key: tuple[int, int] | None = None

    def acquire(self) -> FolderLock:
        import fcntl

        if self._key is not None:
            return self
        key = _key(self.path)
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            self._key = key
            return self
        fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise FolderBusy(busy_message(self.path, self.what)) from None
        except OSError as exc:  # a file system without advisory locks (some network mounts): say so, go on
            import warnings

            warnings.warn(f"cannot lock {str(self.path)!r} ({exc.strerror}): this file system gives no advisory "
                          "locks, so one writer per folder is not enforced there", stacklevel=2)
        except BaseException:
            os.close(fd)
            raise
        _HELD[key] = [fd, 1]
        self._key = key
        return self

    def release(self) -> None:
        key, self._key = self._key, None
        held = None if key is None else _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] <= 0:
            del _HELD[key]
            os.close(held[0])  # closing the last descriptor releases the flock

    @property
    def held(self) -> bool:
        return self._key is not None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def lock_folder(path: str | Path, what: str = "folder") -> FolderLock:
    """Acquire and return the :class:`FolderLock` of ``path`` (release it, or use it as a context manager)."""
    return FolderLock(path, what).acquire()


# ------------------------------------------------------------- locks held until the command ends
_COMMAND: list[contextlib.ExitStack] = []


@contextlib.contextmanager
def command_scope():
    """Locks taken with :func:`hold` inside this block are released when it ends (a command's body)."""
    stack = contextlib.ExitStack()
    _COMMAND.append(stack)
    try:
        with stack:
            yield stack
    finally:
        _COMMAND.remove(stack)


def hold(path: str | Path, what: str = "folder") -> FolderLock:
    """Lock ``path`` until the innermost :func:`command_scope` ends (until the process ends without one):
    for folders a command reads and must not see change under it (a reproduction's reused runs)."""
    lock = lock_folder(path, what)
    if _COMMAND:
        _COMMAND[-1].callback(lock.release)
    return lock


def keep(lock: FolderLock) -> FolderLock:
    """Keep the acquired ``lock`` until the innermost :func:`command_scope` ends."""
    if _COMMAND:
        _COMMAND[-1].callback(lock.release)
    return lock


def held_folders() -> list[tuple[int, int]]:
    """The (device, inode) keys of the folders this process holds (for tests)."""
    return list(_HELD)
