"""Shared command-line plumbing: one-line errors, never a traceback.

- bad input (``ValueError``, including :class:`UsageError` from the parsers): ``prog: error: ...``
  on stderr, exit code 2;
- faults of the machine (``OSError``: a full disk, a read-only folder, a missing permission):
  ``prog: error: ...`` naming the file or folder, exit code 1;
- a path that is a file where a folder is needed (``NotADirectoryError``, ``FileExistsError``):
  bad input, exit code 2;
- a closed output pipe (``... | head``): quiet, exit code 141 (128 + SIGPIPE), as shells report it;
- Ctrl-C outside a training loop (which handles it itself): ``interrupted``, exit code 130;
- an exception raised inside a plugin (:mod:`mollirl.guard`): one line naming the plugin, the call
  and the exception, exit code 1; ``--traceback`` (every command's flag, which sets
  ``MOLLIRL_TRACEBACK=1`` for the processes the command starts) prints the full traceback first.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path


class UsageError(ValueError):
    """Bad command-line input (reported on one line, exit code 2)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting; an unknown
    flag is answered with the closest existing one (rl-zoo3's habit). Every command gets
    ``--traceback`` (the full traceback of an error raised inside a plugin)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--traceback", action="store_true",
                          help="an error raised inside a plugin: print its full traceback too (also "
                               "MOLLIRL_TRACEBACK=1)")

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        unknown = [a for a in args if self._unknown_flag(a)]
        if unknown:  # before argparse's own checks (a missing required flag would hide the typo)
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}{self.closest_flag(unknown)}")
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            raise UsageError(f"unrecognized arguments: {' '.join(extras)}{self.closest_flag(extras)}")
        if getattr(parsed, "traceback", False):
            from mollirl.guard import TRACEBACK_ENV

            os.environ[TRACEBACK_ENV] = "1"  # this command and every process it starts (run_main restores it)
        return parsed

    def _known_flags(self) -> list[str]:
        return [s for action in self._actions for s in action.option_strings]

    def _unknown_flag(self, item: str) -> bool:
        """Whether ``item`` looks like a flag no action takes (a unique prefix counts as known, as argparse's)."""
        if not item.startswith("-") or item == "-" or item == "--":
            return False
        try:
            float(item)
            return False  # a negative number: a value
        except ValueError:
            pass
        flag = item.split("=", 1)[0]
        known = self._known_flags()
        return flag not in known and not (flag.startswith("--") and any(k.startswith(flag) for k in known))

    def closest_flag(self, extras: list[str]) -> str:
        """``"; did you mean --x?"`` for the first unknown flag in ``extras`` with a close match, else ``""``."""
        import difflib

        known = self._known_flags()
        for item in extras:
            if item.startswith("-"):
                close = difflib.get_close_matches(item.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    return f"; did you mean {close[0]}?"
        return ""


#: OSError numbers that mean "the path given is the wrong kind of thing" (bad input, exit 2)
_USAGE_ERRNOS = {errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENAMETOOLONG}


def command_text(prog: str, argv: list[str]) -> str:
    """``prog argv...`` as a record of what was typed, with every absolute path written relative to the
    working directory when it lies under it, else as ``OUT`` (a committed file names no folder of the
    machine that wrote it)."""
    cwd = Path.cwd().resolve()
    words = []
    for word in argv:
        if os.path.isabs(word):
            path = Path(word).resolve()
            word = path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else "OUT"
        words.append(word)
    return " ".join([prog, *words])


def os_error_line(exc: OSError) -> str:
    """One line for an ``OSError``: what failed and on which path (``[Errno 28] ...`` left out)."""
    what = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
            errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
            errno.ENOTDIR: "a path component is a file, not a folder", errno.EEXIST: "exists and is a file",
            errno.EISDIR: "is a folder, not a file"}.get(exc.errno, exc.strerror or type(exc).__name__)
    paths = [p for p in (exc.filename, exc.filename2) if p]
    line = f"{what}: {' -> '.join(map(str, paths))}" if paths else what
    notes = [str(n) for n in getattr(exc, "__notes__", ())]  # what was kept or removed (``add_note``)
    return "; ".join([line, *notes])


def check_output_dir(path: str | Path, flag: str, value: str | Path | None = None) -> Path:
    """Check, before anything is written, that folders can be created under ``path``.

    Walks up to the nearest existing ancestor: a file on the way is bad input
    (``UsageError`` naming ``flag``); an ancestor that cannot be written (a read-only file
    system, no permission) raises the ``OSError`` a write would raise (a fault, exit 1).
    ``value`` is what the user typed when it is not ``path`` itself (``-o DIR/out.npz``: the folder
    ``DIR`` is checked, the message shows ``DIR/out.npz``).
    """
    path = Path(path)
    shown = str(path if value is None else value)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        if probe == path and value is None:
            raise UsageError(f"{flag} {shown!r}: is a file, not a folder")
        raise UsageError(f"{flag} {shown!r}: {str(probe)!r} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise unwritable(probe)
    return path


def unwritable(folder: str | Path) -> OSError:
    """The ``OSError`` a write into ``folder`` would raise (it failed ``os.access``): a read-only file
    system (``EROFS``) or no permission (``EACCES``); :func:`run_main` prints it in one line, exit 1."""
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    code = errno.EROFS if read_only else errno.EACCES
    return OSError(code, os.strerror(code), str(folder))


def run_main(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; turn bad input and faults into one line on stderr (see the module docstring)."""
    from mollirl.guard import TRACEBACK_ENV

    previous = os.environ.get(TRACEBACK_ENV)
    try:
        code = body()
        sys.stdout.flush()  # a closed pipe shows here (exit 141), not in the interpreter's last flush
        return code
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except OSError as exc:
        print(f"{prog}: error: {os_error_line(exc)}", file=sys.stderr)
        return 2 if exc.errno in _USAGE_ERRNOS else 1
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from mollirl.guard import report

        code = report(prog, exc)
        if code is None:
            raise  # not a plugin's: mollirl's own error, with its traceback
        return code
    finally:
        if previous is None:
            os.environ.pop(TRACEBACK_ENV, None)
        else:
            os.environ[TRACEBACK_ENV] = previous


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
