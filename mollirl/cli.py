"""Shared command-line plumbing: one-line errors with exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


class UsageError(ValueError):
    """Bad command-line input (reported on one line, exit code 2)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(message)


def run_main(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; turn ``ValueError`` into ``prog: error: ...`` on stderr and exit code 2."""
    try:
        return body()
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
