"""Progress bars that suit where they are written: tqdm's redrawn line on a terminal, plain lines in a file.

On a terminal tqdm redraws its bar in place with carriage returns and, for bars on lines of their own
(``position``), cursor-movement escape codes. Written to a file or a pipe (``... 2> train.log``, a batch
system's log) those bytes are noise: :func:`progress_bar` then writes each status as a plain line of its
own, without a carriage return or an escape code, at most every :data:`FILE_INTERVAL` seconds.
"""

from __future__ import annotations

import re
import sys
from typing import Any

#: seconds between the status lines of a bar written to a file (not a terminal)
FILE_INTERVAL = 10.0
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (tqdm may redraw in place)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed stream
        return False


class PlainLines:
    """A file-like wrapper that turns tqdm's in-place redraws into plain lines: escape codes and carriage returns
    removed, every non-blank status a line of its own, a status equal to the last one not repeated.

    :param stream: where the lines go (``sys.stderr``).
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._last = ""

    def write(self, text: str) -> int:
        for part in re.split(r"[\r\n]", _ESCAPES.sub("", text)):
            line = part.strip()
            if line and line != self._last:
                self.stream.write(line + "\n")
                self._last = line
        return len(text)

    def flush(self) -> None:
        flush = getattr(self.stream, "flush", None)
        if callable(flush):
            flush()

    def isatty(self) -> bool:
        return False


def progress_bar(*, file: Any = None, **kwargs: Any):
    """A tqdm bar on ``file`` (default ``sys.stderr``): tqdm's own on a terminal; elsewhere plain status lines
    (:class:`PlainLines`) at most every :data:`FILE_INTERVAL` seconds (``position`` dropped: no cursor moves).

    :param kwargs: tqdm's (``total``, ``desc``, ``unit``, ``leave``, ``delay``, ``position``, ...).
    """
    from tqdm import tqdm

    stream = sys.stderr if file is None else file
    if not is_terminal(stream):
        kwargs.pop("position", None)
        kwargs["mininterval"] = max(float(kwargs.get("mininterval", 0.1)), FILE_INTERVAL)
        kwargs.setdefault("ascii", True)
        kwargs["dynamic_ncols"] = False
        kwargs.setdefault("ncols", 100)
        stream = PlainLines(stream)
    return tqdm(file=stream, **kwargs)
