"""A study's cost checked before any worker or file, its store checked before any lock file, its faults as faults.

* :func:`check_study_cost`: ``--n-trials`` and ``--n-jobs`` against int64 and the machine's process
  and memory limits (before any worker process starts), and one batch of trials (a population of
  ``batch x seeds`` members) against the memory, the thread and the open-file limits.
* :func:`check_sqlite_target`: an ``sqlite:///PATH`` that is a folder, or a file that is not an SQLite
  database, is refused in one line before any lock file is created next to it.
* :func:`storage_fault`: a storage error that is a fault of the machine (the disk or the
  database is full, a read-only file system, no permission, an I/O error) becomes the
  ``OSError`` it is (one line naming the file, exit code 1), not bad input.
* :func:`study_leftovers`: the paths a new study creates (its folders, the embedded store and its
  lock files), removed again when the command fails before the study exists.
"""

from __future__ import annotations

import errno
import math
from pathlib import Path

from mollirl.common.leftovers import Leftovers

#: the first 16 bytes of every SQLite database file
SQLITE_HEADER = b"SQLite format 3\x00"
#: the largest automatic batch of trials (mirrors :data:`mollirl.studies.objective.AUTO_MAX`, not imported:
#: this module imports no Optuna)
AUTO_MAX = 32


def check_study_cost(spec) -> None:
    """Counts, workers and one batch's population, before any worker or file (``ValueError``, one line)."""
    from mollirl.common.budget import check_count, check_members_fit, check_workers

    check_count(spec.n_trials, "--n-trials")
    batch = spec.batch_trials if isinstance(spec.batch_trials, int) else min(AUTO_MAX, spec.n_trials)
    members = min(batch, spec.n_trials) * spec.seeds
    check_workers(spec.n_jobs, "--n-jobs", members_each=members)
    check_members_fit(members, "lower --batch-trials or --seeds")
    _check_batch_memory(spec, members)


def _check_batch_memory(spec, members: int) -> None:
    from mollirl.common.budget import check_memory, rollout_bytes
    from mollirl.common.env_util import make_env

    config = spec.config
    env = make_env(config["env"], **config["env_kwargs"])
    try:
        obs_dim, action_dim = math.prod(env.observation_space.shape), math.prod(env.action_space.shape)
    finally:
        env.close()
    batch_episodes = int(config["batch_episodes"])
    if any(d.name == "batch_episodes" for d in spec.dims):
        batch_episodes = max(int(d.high) for d in spec.dims if d.name == "batch_episodes")
    rows = members * (batch_episodes + 1)
    need = rollout_bytes(int(config["horizon"]), rows, obs_dim, action_dim, buffers=True, noise_rows=rows)
    check_memory(need, f"a batch of {members} runs ({batch_episodes} episodes x {config['horizon']} steps each)",
                 "lower --batch-trials, --seeds, --batch-episodes or --horizon")


def _sqlite_path(url: str) -> Path | None:
    """The file of an ``sqlite:///PATH`` URL, None for other backends or an unparsable URL (this module does
    not import :mod:`mollirl.studies.storage`, which calls it)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a malformed URL is normalize_url's to report
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "the --storage URL"


def check_sqlite_target(url: str) -> None:
    """Refuse an SQLite URL whose path is a folder or a file that is not an SQLite database (one line naming it),
    before anything (a lock file) is written beside it."""
    path = _sqlite_path(url)
    if path is None:
        return
    if path.is_dir():
        raise ValueError(f"--storage {url!r}: {str(path)!r} is a folder, not an SQLite database file "
                         "(give sqlite:///FOLDER/studies.db)")
    if path.is_file() and path.stat().st_size > 0:
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(SQLITE_HEADER))
        except OSError:
            return  # unreadable: opening it reports the fault
        if head != SQLITE_HEADER:
            raise ValueError(f"--storage {url!r}: {str(path)!r} is not an SQLite database (it does not start "
                             "with SQLite's header): move it away or give another store")


_FAULTS = (("database or disk is full", errno.ENOSPC), ("no space left on device", errno.ENOSPC),
           ("disk quota exceeded", errno.EDQUOT), ("readonly database", errno.EROFS),
           ("read-only file system", errno.EROFS), ("disk i/o error", errno.EIO),
           ("permission denied", errno.EACCES))


def storage_fault(exc: BaseException, url: str) -> OSError | None:
    """The ``OSError`` a storage error stands for (naming the database file, or the masked URL), or None when
    it is not a fault of the machine. Follows ``__cause__``/``__context__`` (SQLAlchemy wraps the driver's)."""
    seen, error = set(), exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno is not None:
            return error
        text = str(error).lower()
        for needle, code in _FAULTS:
            if needle in text:
                import os

                where = _sqlite_path(url)
                return OSError(code, os.strerror(code), str(where) if where is not None else _masked(url))
        error = error.__cause__ or error.__context__
    return None


def study_leftovers(spec) -> Leftovers:
    """What a new study may create: its log folder's ``studies/`` folder, the embedded store and the lock files
    beside an SQLite store, and the study's run folder."""
    paths: list[Path] = [Path(spec.log_folder), Path(spec.study_dir).parent, Path(spec.study_dir)]
    db = _sqlite_path(spec.storage_url)
    if db is not None:
        paths = [*paths, db.parent, *(Path(f"{db}{suffix}") for suffix in ("", "-wal", "-shm", "-journal", ".lock",
                                                                          ".schema.lock"))]
    return Leftovers(paths)


def has_study(db: Path) -> bool:
    """Whether the SQLite file ``db`` holds at least one study (read-only; False when unreadable)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM studies").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def forget_half_made_study(spec, leftovers: Leftovers, exc: BaseException | None = None) -> BaseException | None:
    """After a failure: remove what the command created unless its study exists (``study.json`` written, or a
    study in the store), and return ``exc`` as the fault it is (:func:`storage_fault`), with a note."""
    db = _sqlite_path(spec.storage_url)
    removed: list[Path] = []
    if not (Path(spec.study_dir) / "study.json").is_file():
        removed = leftovers.remove(keep=lambda p: db is not None and p == db and has_study(p))
    if exc is None:
        return None
    fault = exc if isinstance(exc, OSError) else storage_fault(exc, spec.storage_url)
    out = fault if fault is not None else exc
    if removed and isinstance(out, Exception):
        out.add_note(f"what this command had created was removed ({', '.join(str(p) for p in removed[:3])}"
                     + (", ..." if len(removed) > 3 else "") + ")")
    return out
