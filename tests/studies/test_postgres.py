"""Distributed studies on a real PostgreSQL server (``source .ci/postgres.sh`` starts one).

Every worker is the same ``python -m mollirl.study`` command in its own process
with its own log folder, as on separate machines.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import optuna
import pytest
from optuna.trial import TrialState

from mollirl.studies.storage import normalize_url
from mollirl.study import main

pytestmark = pytest.mark.postgres


#: batch pruning on the test env's 4 epochs: rungs at epochs 1 and 2, one trial in two going on
PRUNING = "halving:warmup=1,window=1,stride=1,eta=2"


def worker_cmd(url, name, plugin, folder, n_trials, delay, batch=1, pruner="none"):
    cmd = [sys.executable, "-m", "mollirl.study", "--env", "study-slow", "--plugin", plugin, "--env-kwargs",
           f"delay:{delay}", "--n-trials", str(n_trials), "--pruner", pruner, "--heartbeat", "1",
           "--storage", url, "--study-name", name, "-f", str(folder), "--batch-trials", str(batch)]
    return cmd + (["--epochs", "4", "--sampler", "random"] if pruner != "none" else [])


def load(url, name):
    return optuna.load_study(study_name=name, storage=normalize_url(url))


@contextmanager
def fresh_schema(url):
    """``url`` on a new, empty schema (dropped afterwards): to Optuna a database that has no tables yet.

    A schema, not a database: the test role owns its database but may not CREATE DATABASE.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"fresh_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def test_two_workers_reach_the_budget_with_every_trial_complete(tmp_path, postgres_url, pg_study, study_plugin):
    procs = [subprocess.Popen(worker_cmd(postgres_url, pg_study, study_plugin, tmp_path / f"machine{i}", 6, 0.005),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trials = load(postgres_url, pg_study).get_trials()
    assert [t.number for t in trials] == list(range(6))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both workers ran trials
    for t in trials:  # each trial's runs are on the machine that ran it
        assert all(os.path.isfile(os.path.join(d, "metrics.csv")) for d in t.user_attrs["run_dirs"])


def test_four_workers_started_at_once_on_a_fresh_database_never_fail(tmp_path, postgres_url, study_plugin,
                                                                     simultaneous_commands):
    """All four create Optuna's tables at once (5 fresh databases); each exits 0 and the budget is exact."""
    commands = simultaneous_commands(4)
    for round_ in range(5):
        with fresh_schema(postgres_url) as url:
            cmds = [worker_cmd(url, "fresh", study_plugin, tmp_path / f"round{round_}" / f"machine{i}", 2, 0)
                    for i in range(4)]
            results = commands.run([cmd[3:] for cmd in cmds])  # minus "python -m mollirl.study"
            assert [code for code, _ in results] == [0] * 4, (round_, [out for code, out in results if code])
            trials = load(url, "fresh").get_trials()
            assert [t.state for t in trials] == [TrialState.COMPLETE] * 2, round_


@pytest.mark.parametrize("pruner", ["none", PRUNING])
def test_two_batched_workers_keep_the_budget_exact(tmp_path, postgres_url, pg_study, study_plugin, pruner):
    """Two batched workers, with and without pruning inside their batches: exactly N trials."""
    procs = [subprocess.Popen(worker_cmd(postgres_url, pg_study, study_plugin, tmp_path / f"machine{i}", 7, 0.005,
                                         batch=3, pruner=pruner), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trials = load(postgres_url, pg_study).get_trials()
    assert [t.number for t in trials] == list(range(7))
    if pruner == "none":
        assert all(t.state == TrialState.COMPLETE for t in trials)
    else:
        assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
        assert any(t.state == TrialState.PRUNED for t in trials)
    assert all(1 <= len(t.user_attrs["batch"]) <= 3 for t in trials)


@pytest.mark.parametrize("batch,pruner", [(1, "none"), (2, "none"), (2, PRUNING)])
def test_killed_worker_trial_is_failed_by_heartbeat_and_retried(tmp_path, postgres_url, pg_study, study_plugin,
                                                               batch, pruner):
    """SIGKILL a worker in the middle of its batch: every trial of that batch is failed by its heartbeat
    and retried once with the same parameters by the survivor; the budget stays exact (with pruning
    inside the batches too: every counted trial COMPLETE or PRUNED)."""
    n = 4
    victim = subprocess.Popen(worker_cmd(postgres_url, pg_study, study_plugin, tmp_path / "victim", n, 0.02, batch,
                                         pruner), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    survivor = subprocess.Popen(worker_cmd(postgres_url, pg_study, study_plugin, tmp_path / "survivor", n, 0.02,
                                           batch, pruner), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed: list[int] = []
    deadline = time.monotonic() + 120
    while not killed and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            trials = load(postgres_url, pg_study).get_trials()
        except KeyError:  # the study is not created yet
            continue
        mine = [t for t in trials if t.state == TrialState.RUNNING
                and t.user_attrs.get("worker", "").endswith(f":{victim.pid}")]
        if mine:
            time.sleep(0.5)  # well inside the batch's training
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            killed = [t.number for t in load(postgres_url, pg_study).get_trials()
                      if t.state == TrialState.RUNNING and t.user_attrs.get("worker", "").endswith(f":{victim.pid}")]
    assert killed, "the victim never ran a trial"
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, (out, err)
    trials = load(postgres_url, pg_study).get_trials()
    counted = (TrialState.COMPLETE, TrialState.PRUNED) if pruner != "none" else (TrialState.COMPLETE,)
    complete = [t for t in trials if t.state in counted]
    assert len(complete) == n
    for number in killed:
        lost = trials[number]
        assert lost.state == TrialState.FAIL and "fail_reason" not in lost.user_attrs
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == number]
        assert len(retries) == 1 and retries[0].state in counted
        assert retries[0].params == lost.params  # the same point, evaluated again
    assert len(trials) == n + len(killed)  # nothing lost, nothing counted twice


def test_report_from_postgres_masks_the_password(tmp_path, postgres_url, pg_study, study_plugin, capsys):
    args = ["--env", "study-slow", "--plugin", study_plugin, "--n-trials", "2", "--pruner", "none",
            "--storage", postgres_url, "--study-name", pg_study, "-f", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args, "--report"]) == 0
    out = capsys.readouterr().out
    assert "2 complete of 2 trials" in out and "optuna-dashboard 'postgresql://mollirl:***@" in out
    password = normalize_url(postgres_url).split("@")[0].rsplit(":", 1)[-1]
    assert f":{password}@" not in out and ":***@" in out
    assert (tmp_path / "studies" / pg_study / "trials.csv").is_file()


def test_existing_postgres_study_with_another_objective_is_refused(tmp_path, postgres_url, pg_study, study_plugin,
                                                                   capsys):
    args = ["--env", "study-slow", "--plugin", study_plugin, "--n-trials", "1", "--pruner", "none",
            "--storage", postgres_url, "--study-name", pg_study, "-f", str(tmp_path / "a")]
    assert main(args) == 0
    capsys.readouterr()
    assert main([*args[:-1], str(tmp_path / "b"), "--objective", "stability"]) == 2
    assert "--objective return, not stability" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
