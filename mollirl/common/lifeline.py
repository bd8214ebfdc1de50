"""Worker processes die with their parent: no orphan keeps training after its command was killed.

:func:`die_with_parent` is the first call of every process mollirl starts (study workers, a
reproduction's training processes). On Linux it asks the kernel for a parent-death signal
(``prctl(PR_SET_PDEATHSIG, SIGTERM)``): when the parent dies, however it dies (``SIGKILL``
included), the worker gets ``SIGTERM``, which the training loop takes as a stop (the trials it
ran are recorded as failed, or failed later by their heartbeat, as for any killed worker). If the
parent died before the call, the worker stops at once. Elsewhere a daemon thread watches the
parent's pid and sends the same signal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
#: seconds between checks of the parent where no parent-death signal exists
WATCH_SECONDS = 1.0


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, sig: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), sig)


def die_with_parent(parent: int | None = None, sig: int = signal.SIGTERM) -> None:
    """Receive ``sig`` when the parent process ``parent`` (default: the current parent) ends.

    :param parent: the pid the worker was started by (``multiprocessing.parent_process().pid``); a
        worker whose parent is already gone stops at once.
    """
    parent = os.getppid() if parent is None else int(parent)
    armed = _prctl_pdeathsig(sig)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os.kill(os.getpid(), sig)
        return
    if not armed:
        threading.Thread(target=_watch, args=(parent, sig), name="mollirl-parent-watch", daemon=True).start()


def worker_initializer() -> None:
    """``initializer`` of a ``ProcessPoolExecutor``/``multiprocessing`` pool: :func:`die_with_parent`."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    die_with_parent(parent.pid if parent is not None else None)
