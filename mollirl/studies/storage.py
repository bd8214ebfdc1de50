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

The trial budget is claimed under a :class:`BudgetLock` (a file lock next to
an SQLite file, a PostgreSQL advisory lock on a server), so that concurrent
workers create exactly ``n_trials`` trials, never one more.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

#: retries of a trial whose worker died, before the trial is given up (a new one is sampled instead)
MAX_RETRY = 3
#: seconds a PostgreSQL connection attempt may take before the storage counts as unreachable
CONNECT_TIMEOUT = 10
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
        raise ValueError(f"--storage {url!r} is an in-memory SQLite database, which no second process can see; "
                         "give a file (sqlite:///PATH) or omit --storage for the embedded store")
    return url


def mask(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and printed commands)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given, minus nothing to hide
        return url


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
    """Open Optuna's ``RDBStorage`` at ``url`` (creating its tables if new).

    :param heartbeat: seconds between heartbeats (None: no heartbeat, e.g. for reports).
    :raises ValueError: on a malformed URL, a missing driver, or a server that cannot be reached.
    """
    import optuna
    from optuna.exceptions import ExperimentalWarning

    url = normalize_url(url)
    backend = url.split(":", 1)[0].split("+", 1)[0]
    engine_kwargs: dict = {}
    if backend == "sqlite":
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif backend == "postgresql":
        engine_kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}, "pool_pre_ping": True}
    try:
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
    except ModuleNotFoundError as exc:
        raise ValueError(f"--storage {mask(url)!r} needs the Python package {exc.name!r} "
                         "(pip install 'mollirl[postgres]' for PostgreSQL)") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy/driver errors become one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"cannot open storage {mask(url)!r}: {type(exc).__name__}: {first}") from None
    if backend == "sqlite":
        from sqlalchemy import event

        event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()  # new connections get the pragmas
    return storage


def dashboard_command(url: str) -> str:
    """The ``optuna-dashboard`` command that shows the study's storage (password masked)."""
    import shlex

    return f"optuna-dashboard {shlex.quote(mask(url))}"


class BudgetLock:
    """A lock held while a worker counts the study's trials and creates its next one.

    Without it two workers could both see ``n_trials - 1`` trials and both start one.
    Subclasses: :class:`FileBudgetLock` (SQLite, one machine), :class:`PostgresBudgetLock`
    (a session-level advisory lock, any number of machines). The base class is a
    no-op for other backends (a warning says the budget may be overshot).
    ``release`` is idempotent, so the trial objective can release early (right
    after the trial exists) and the worker loop again in ``finally``.
    """

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> None:
        self.held = True

    def release(self) -> None:
        self.held = False

    def close(self) -> None:
        self.release()


class FileBudgetLock(BudgetLock):
    """``fcntl.flock`` on ``PATH.lock`` next to the SQLite file; the kernel releases it if the worker dies."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(str(path) + ".lock")
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


class PostgresBudgetLock(BudgetLock):
    """``pg_advisory_lock`` keyed by the study name, on a dedicated connection.

    The server releases a session lock when the connection ends, so a killed
    worker never leaves it held.
    """

    def __init__(self, url: str, study_name: str) -> None:
        super().__init__()
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        digest = hashlib.blake2b(f"mollirl-study:{study_name}".encode(), digest_size=8).digest()
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


def budget_lock(url: str, study_name: str) -> BudgetLock:
    """The strongest :class:`BudgetLock` the backend of ``url`` offers."""
    url = normalize_url(url)
    path = sqlite_path(url)
    if path is not None:
        return FileBudgetLock(path)
    if url.startswith("postgresql"):
        return PostgresBudgetLock(url, study_name)
    warnings.warn(f"storage {mask(url)!r} has no budget lock in mollirl: concurrent workers may overshoot "
                  "--n-trials by up to one trial per worker; use SQLite or PostgreSQL for an exact budget",
                  stacklevel=2)
    return BudgetLock()
