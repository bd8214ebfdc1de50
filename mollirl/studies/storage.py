"""Where studies live: storage URLs, the embedded SQLite store, and the trial-budget lock.

* No ``--storage``: an SQLite file ``<log-folder>/studies/studies.db`` created on
  first use, in WAL mode (readers never block the writer; commits without a
  full fsync), shared safely by the worker processes of one machine.
* ``--storage postgresql://USER:PASS@HOST:PORT/DB`` (or any SQLAlchemy URL
  Optuna's ``RDBStorage`` accepts): one study shared by any number of workers
  on any number of machines.

Every storage is opened with heartbeats: a running trial records one every
``heartbeat`` seconds; a trial silent for ``2 * heartbeat`` (its worker was
killed) is marked FAIL and re-queued with the same parameters
(:class:`optuna.storages.RetryHeartbeatStaleTrialCallback`).

Two kinds of :class:`StoreLock` (a file lock next to an SQLite file, a
PostgreSQL advisory lock on a server) make concurrent workers safe:

* the *schema lock* (:func:`schema_lock`), held while :func:`open_storage`
  constructs ``RDBStorage``: Optuna creates its tables there (``create_all``,
  then a ``version_info`` row, then an alembic stamp), each step a check
  followed by a write, so workers opening a new store at the same instant
  would all see no tables and all create them;
* the *budget lock* (:func:`budget_lock`), held while a worker counts the
  study's trials and creates its next one, so that concurrent workers create
  exactly ``n_trials`` trials, never one more.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import time
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

#: retries of a trial whose worker died, before the trial is given up (a new one is sampled instead)
MAX_RETRY = 3
#: seconds a PostgreSQL connection attempt may take before the storage counts as unreachable
CONNECT_TIMEOUT = 10
#: attempts at opening a store while another creator (one not taking the schema lock) creates its tables
SCHEMA_ATTEMPTS = 3
#: seconds between those attempts
SCHEMA_RETRY_SECONDS = 0.5
_URL_HINT = "expected an SQLAlchemy URL such as sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/DB"


def normalize_url(url: str) -> str:
    """Check ``url`` parses and pick an installed PostgreSQL driver.

    SQLAlchemy >= 2.1 maps a bare ``postgresql://`` to psycopg 3; mollirl's
    ``postgres`` extra installs psycopg2, so a bare URL uses ``postgresql+psycopg2``
    when only psycopg2 is importable.

    :raises ValueError: for a string that is not an SQLAlchemy URL.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        raise ValueError(f"malformed --storage {mask(url)!r}; {_URL_HINT}") from None
    if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg") is None \
            and importlib.util.find_spec("psycopg2") is not None:
        parsed = parsed.set(drivername="postgresql+psycopg2")
        return parsed.render_as_string(hide_password=False)
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ValueError(f"--storage {mask(url)!r} is an in-memory SQLite database, which no second process can see; "
                         "give a file (sqlite:///PATH) or omit --storage for the embedded store")
    return url


_SCHEME_USER = re.compile(r"[^:/@]*:/*[^:/@]*:")  # "SCHEME://USER:" at the start
_SCHEME = re.compile(r"[^:/@]*:/*")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and printed commands).

    A URL SQLAlchemy cannot parse (or one whose host holds an ``@``: an unescaped ``@``
    in the password) has everything between ``SCHEME://USER:`` and its last ``@``
    hidden; a ``password=`` query parameter is hidden too.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        parsed = None
    if parsed is not None and "@" not in (parsed.host or ""):
        masked = parsed.render_as_string(hide_password=True)
    elif "@" in url:
        head, _, tail = url.rpartition("@")
        keep = _SCHEME_USER.match(head) or _SCHEME.match(head)
        masked = f"{keep.group(0) if keep else ''}***@{tail}"
    else:
        masked = url
    return _QUERY_PASSWORD.sub(r"\1***", masked)


def sqlite_path(url: str) -> Path | None:
    """The database file of an ``sqlite:///PATH`` URL (None for other backends)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def storage_exists(url: str) -> bool:
    """Whether opening ``url`` reads an existing store (an SQLite file that exists; any server URL)."""
    path = sqlite_path(url)
    return path is None or path.exists()


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ARG001 - SQLAlchemy event signature
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_storage(url: str, *, heartbeat: int | None = None):
    """Open Optuna's ``RDBStorage`` at ``url``, creating its tables if the store is new.

    Safe when any number of workers, on any number of machines, open a new store at
    the same instant: the tables are created under the :func:`schema_lock`, and a store
    whose tables another creator (one that does not take the lock) is writing at that
    moment is opened again, up to :data:`SCHEMA_ATTEMPTS` times.

    :param heartbeat: seconds between heartbeats (None: no heartbeat, e.g. for reports).
    :raises ValueError: on a malformed URL, a missing driver, or a server that cannot be reached.
    """
    from mollirl.studies.safety import check_sqlite_target, storage_fault

    url = normalize_url(url)
    check_sqlite_target(url)  # a folder or a foreign file: refused before a lock file is made beside it
    try:
        for attempt in range(1, SCHEMA_ATTEMPTS):
            try:
                return _create_storage(url, heartbeat)
            except Exception as exc:  # noqa: BLE001 - only a lost creation race is retried
                if not _lost_creation_race(exc):
                    raise
                logger.info(f"storage {mask(url)!r} was being created by another process ({type(exc).__name__}); "
                            f"opening it again (attempt {attempt + 1} of {SCHEMA_ATTEMPTS})")
                time.sleep(SCHEMA_RETRY_SECONDS)
        return _create_storage(url, heartbeat)  # the last attempt's error is the one reported
    except ModuleNotFoundError as exc:
        raise ValueError(f"--storage {mask(url)!r} needs the Python package {exc.name!r} "
                         "(pip install 'mollirl[postgres]' for PostgreSQL)") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy/driver errors become one line
        fault = storage_fault(exc, url)  # a full disk or a read-only file system: a fault (exit 1)
        if fault is not None:
            raise fault from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        first = first.replace(url, mask(url))  # a driver that echoes the URL
        raise ValueError(f"cannot open storage {mask(url)!r}: {type(exc).__name__}: {first}") from None


def _create_storage(url: str, heartbeat: int | None):
    """``RDBStorage(url)`` constructed under the schema lock (SQLite: and switched to WAL under it)."""
    import optuna
    from optuna.exceptions import ExperimentalWarning

    backend = url.split(":", 1)[0].split("+", 1)[0]
    engine_kwargs: dict = {}
    if backend == "sqlite":
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif backend == "postgresql":
        engine_kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}, "pool_pre_ping": True}
    lock = schema_lock(url)
    try:
        try:
            lock.acquire()
        except OSError as exc:  # a folder we cannot create the lock file in holds no store we could create
            logger.debug(f"no schema lock for {mask(url)!r}: {exc}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            kwargs: dict = {}
            if heartbeat is not None:
                kwargs = dict(heartbeat_interval=int(heartbeat), grace_period=2 * int(heartbeat))
                if hasattr(optuna.storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
                    kwargs["heartbeat_stale_trial_callback"] = optuna.storages.RetryHeartbeatStaleTrialCallback(
                        max_retry=MAX_RETRY)
                else:  # the same callback under its older name
                    kwargs["failed_trial_callback"] = optuna.storages.RetryFailedTrialCallback(max_retry=MAX_RETRY)
            storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        if backend == "sqlite":
            from sqlalchemy import event

            event.listen(storage.engine, "connect", _sqlite_pragmas)
            storage.engine.dispose()  # new connections get the pragmas
            with storage.engine.connect():  # the first one switches a new file to WAL, still under the lock
                pass
    finally:
        lock.close()
    return storage


def _lost_creation_race(exc: BaseException) -> bool:
    """Whether ``exc`` (or the error Optuna wrapped in it) says another process created the same table,
    type, index or row first: a unique violation, or "... already exists"."""
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    for error in (exc, exc.__cause__):
        if isinstance(error, IntegrityError):
            return True
        if isinstance(error, SQLAlchemyError) and "already exists" in str(error):
            return True
    return False


def dashboard_command(url: str) -> str:
    """The ``optuna-dashboard`` command that shows the study's storage (password masked)."""
    import shlex

    return f"optuna-dashboard {shlex.quote(mask(url))}"


class StoreLock:
    """A lock between the workers of one store; the base class is a no-op (a backend without one).

    Subclasses: :class:`FileLock` (SQLite, one machine), :class:`AdvisoryLock`
    (PostgreSQL, any number of machines). ``release`` is idempotent, so the trial
    objective can release the budget lock early (right after the trial exists) and
    the worker loop again in ``finally``.
    """

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False

    def close(self) -> None:
        self.release()


class FileLock(StoreLock):
    """``fcntl.flock`` on the file ``path`` (created if missing); the kernel releases it if the worker dies.

    Two instances exclude each other even in one process (each opens the file anew).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.held = True

    def release(self) -> None:
        import fcntl

        if self.held and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.held = False

    def close(self) -> None:
        self.release()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class AdvisoryLock(StoreLock):
    """``pg_advisory_lock`` keyed by a hash of ``name``, on a dedicated connection.

    The key is per database; the server releases a session lock when the connection
    ends, so a killed worker never leaves it held.
    """

    def __init__(self, url: str, name: str) -> None:
        super().__init__()
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        self.key = int.from_bytes(digest, "big", signed=True)
        self._engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT})
        self._conn = None

    def acquire(self) -> None:
        from sqlalchemy import text

        if self._conn is None:
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
        self.held = True

    def release(self) -> None:
        from sqlalchemy import text

        if self.held and self._conn is not None:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self.held = False

    def close(self) -> None:
        self.release()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._engine.dispose()


def budget_lock(url: str, study_name: str) -> StoreLock:
    """The lock a worker holds while it counts ``study_name``'s trials and creates its next one.

    Without it two workers could both see ``n_trials - 1`` trials and both start one.
    SQLite: ``PATH.lock`` next to the file (one lock for all its studies); PostgreSQL:
    an advisory lock keyed by the study name; other backends: none (a warning says the
    budget may be overshot).
    """
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None:
        return FileLock(Path(f"{path}.lock"))
    if url.startswith("postgresql"):
        return AdvisoryLock(url, f"mollirl-study:{study_name}")
    warnings.warn(f"storage {mask(url)!r} has no budget lock in mollirl: concurrent workers may overshoot "
                  "--n-trials by up to one trial per worker; use SQLite or PostgreSQL for an exact budget",
                  stacklevel=2)
    return StoreLock()


def schema_lock(url: str) -> StoreLock:
    """The lock :func:`open_storage` holds while Optuna creates or checks the store's tables.

    SQLite: ``PATH.schema.lock`` next to the file (apart from the budget lock, which a
    worker may hold while it opens a storage); PostgreSQL: one advisory lock per
    database; other backends: none (:func:`open_storage` retries a lost creation race).
    """
    path = sqlite_path(url)
    if path is not None:
        return FileLock(Path(f"{path}.schema.lock"))
    if url.startswith("postgresql"):
        return AdvisoryLock(url, "mollirl-schema")
    return StoreLock()
