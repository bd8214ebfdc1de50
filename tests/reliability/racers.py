"""Processes that start the same thing at the same instant (a barrier), for the concurrency tests.

Each spawned racer imports mollirl once, then runs ``rounds`` rounds: wait at the barrier, run one
command in-process, report ``(round, index, exit code, stderr)``.
"""

import contextlib
import io
import os


def train_racer(index: int, rounds: list[list[str]], barrier, results) -> None:
    """Round r: ``python -m mollirl.train ROUNDS[r]`` (in-process) right after the barrier."""
    import torch

    torch.set_num_threads(1)
    from mollirl.train import main

    main(["--help-does-not-exist"])  # warm the imports and the parser (refused: exit 2)
    for r, argv in enumerate(rounds):
        barrier.wait(timeout=120)
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(argv)
        results.put((r, index, rc, err.getvalue(), out.getvalue(), os.getpid()))


def claim_racer(base: str, barrier, results, rounds: int) -> None:
    """Round r: claim a new ``env_<n>`` in ``base/r``."""
    from mollirl.common.locking import claim_numbered_dir

    for r in range(rounds):
        barrier.wait(timeout=60)
        results.put((r, str(claim_numbered_dir(f"{base}/{r}", "env"))))


def lock_racer(base: str, barrier, results, rounds: int, hold_seconds: float) -> None:
    """Round r: try to lock ``base/r`` and keep it ``hold_seconds``; report who won (the pid) or the refusal."""
    import time

    from mollirl.common.locking import FolderBusy, lock_folder

    for r in range(rounds):
        barrier.wait(timeout=60)
        try:
            lock = lock_folder(f"{base}/{r}", "run folder")
        except FolderBusy as exc:
            results.put((r, os.getpid(), "busy", str(exc)))
            barrier.wait(timeout=60)
            continue
        results.put((r, os.getpid(), "won", ""))
        time.sleep(hold_seconds)
        barrier.wait(timeout=60)  # the other reported before this one releases
        lock.release()


def holder(path: str, ready, done) -> None:
    """Hold the lock of ``path`` until ``done`` is set (a writer in another process)."""
    from mollirl.common.locking import lock_folder

    lock = lock_folder(path, "run folder")
    ready.set()
    done.wait(timeout=300)
    lock.release()


def orphan_parent(ready_path: str) -> None:
    """Start a child that arms :func:`~mollirl.common.lifeline.die_with_parent`, write its pid, then sleep."""
    import multiprocessing as mp
    import time

    child = mp.get_context("spawn").Process(target=orphan_child)
    child.start()
    with open(ready_path + ".tmp", "w") as fh:
        fh.write(str(child.pid))
    os.replace(ready_path + ".tmp", ready_path)
    time.sleep(300)


def orphan_child() -> None:
    import time

    from mollirl.common.lifeline import worker_initializer

    worker_initializer()
    time.sleep(300)
