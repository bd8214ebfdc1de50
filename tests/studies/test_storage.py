"""Storage URLs in messages, and the embedded/SQLite store created by many workers at once."""

import optuna
import pytest
from optuna.trial import TrialState

from mollirl.studies import storage as storage_module
from mollirl.studies.storage import SCHEMA_ATTEMPTS, mask, normalize_url, open_storage


@pytest.mark.parametrize("url, shown", [
    ("postgresql://u:s3cret@h:notaport/db", "postgresql://u:***@h:notaport/db"),  # port is not a number
    ("postgresql://u:s3cret@[::1/db", "postgresql://u:***@[::1/db"),  # unclosed IPv6 bracket
    ("postgresql:/u:s3cret@h/db", "postgresql:/u:***@h/db"),  # one slash
    ("postgre sql://u:s3cret@h/db", "postgre sql://u:***@h/db"),  # not a scheme
    ("u:s3cret@h/db", "u:***@h/db"),  # no scheme at all
    ("postgresql://u:s3c@ret@h/db", "postgresql://u:***@h/db"),  # an unescaped @ in the password
    ("postgresql://u:s3cret@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql://h/db?password=s3cret&sslmode=require", "postgresql://h/db?password=***&sslmode=require"),
    ("postgresql://u:s3cret@h:bad/db?password=s3cret", "postgresql://u:***@h:bad/db?password=***"),
])
def test_mask_hides_the_password_of_any_url_parsable_or_not(url, shown):
    assert mask(url) == shown
    assert "s3c" not in mask(url)


def test_mask_keeps_urls_without_a_password():
    assert mask("sqlite:////tmp/x/studies.db") == "sqlite:////tmp/x/studies.db"
    assert mask("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask("not a url") == "not a url"


@pytest.mark.parametrize("url", ["postgresql://u:s3cret@h:notaport/db", "sqlite://u:s3cret@/:memory:"])
def test_refused_urls_are_named_without_their_password(url):
    with pytest.raises(ValueError, match=r"u:\*\*\*@") as info:
        normalize_url(url)
    assert "s3cret" not in str(info.value)


def test_sqlite_store_opened_at_once_by_many_openers_is_created_once(tmp_path):
    """Threads of one process race like processes (each lock opens its own file): Optuna's tables
    are created once and stamped once."""
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path / 'new.db'}"

    def opened(_):
        storage = open_storage(url)
        storage.engine.dispose()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(opened, range(6)))
    assert optuna.create_study(storage=url, study_name="s").trials == []


@pytest.mark.parametrize("losses", [1, SCHEMA_ATTEMPTS])
def test_creation_race_lost_to_a_creator_without_the_lock_is_retried(tmp_path, monkeypatch, losses):
    """Another program (not taking mollirl's schema lock) wrote the same row first: open again, or after
    the last attempt say so in one line."""
    from sqlalchemy.exc import IntegrityError

    real, calls = optuna.storages.RDBStorage, []

    def racing(*args, **kwargs):
        calls.append(1)
        if len(calls) <= losses:
            raise IntegrityError("INSERT INTO alembic_version", {}, Exception("UNIQUE constraint failed"))
        return real(*args, **kwargs)

    monkeypatch.setattr(optuna.storages, "RDBStorage", racing)
    monkeypatch.setattr(storage_module, "SCHEMA_RETRY_SECONDS", 0)
    url = f"sqlite:///{tmp_path / 'new.db'}"
    if losses < SCHEMA_ATTEMPTS:
        open_storage(url).engine.dispose()
        assert len(calls) == losses + 1
    else:
        with pytest.raises(ValueError, match="cannot open storage .*IntegrityError"):
            open_storage(url)
        assert len(calls) == SCHEMA_ATTEMPTS


def test_four_workers_started_at_once_on_a_fresh_embedded_store_never_fail(tmp_path, study_plugin,
                                                                           simultaneous_commands):
    """Four commands on one -f folder create its embedded store at once (5 fresh folders); each exits 0
    and the budget is exact. (``--storage sqlite:///FILE`` opens the same way: the test above.)"""
    commands = simultaneous_commands(4)
    for round_ in range(5):
        root = tmp_path / f"round{round_}"
        argv = ["--env", "study-slow", "--plugin", study_plugin, "--n-trials", "2", "--pruner", "none",
                "--heartbeat", "1", "--study-name", "fresh", "-f", root]
        results = commands.run([argv] * 4)
        assert [code for code, _ in results] == [0] * 4, (round_, [out for code, out in results if code])
        db = root / "studies" / "studies.db"
        trials = optuna.load_study(study_name="fresh", storage=f"sqlite:///{db}").get_trials()
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 2, round_
