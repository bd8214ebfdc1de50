"""Every command estimates its cost before any work or file: sizes refused in one line with the estimate and the
limit (exit 2, nothing written); huge but feasible work runs and says its ETA (issue 23's examples)."""

import threading
from pathlib import Path

import pytest
from reliability_helpers import TINY, one_line, snapshot

from mollirl.common import budget
from mollirl.enjoy import main as enjoy_main
from mollirl.landscape.__main__ import main as landscape_main
from mollirl.reproduce.__main__ import main as reproduce_main
from mollirl.study import main as study_main
from mollirl.train import main as train_main

BEYOND_INT64 = str(2**63)


def _refused(main, args, capsys, *needles, root: Path):
    before = snapshot(root)
    assert main(args) == 2, args
    line = one_line(capsys.readouterr().err)
    assert all(n in line for n in needles), line
    assert snapshot(root) == before
    return line


@pytest.mark.parametrize("flags,needles", [
    (["--horizon", str(10**11)], ["one epoch of 16 episodes x 100000000000 steps needs about", "TiB of memory",
                                   "the limit is", "lower --batch-episodes or --horizon"]),
    (["--batch-episodes", str(10**9)], ["one epoch of 1000000000 episodes", "needs about"]),
    (["--epochs", BEYOND_INT64], [f"--epochs {BEYOND_INT64} is beyond the largest count", "int64"]),
    (["-n", str(10**23)], ["-n/--n-timesteps 100000000000000000000000 is beyond", "int64"]),
    (["--epochs", str(10**18), "--horizon", "20", "--batch-episodes", "4"], ["= 8e+19 env steps, beyond"]),
])
def test_train_sizes_are_estimated_before_any_folder(tmp_path, capsys, flags, needles):
    """Before: a MemoryError traceback after the run folder was written (--horizon 1e11), a hang
    (--batch-episodes 1e9), runs beyond int64."""
    _refused(train_main, ["-f", str(tmp_path / "runs"), "--no-progress", *flags], capsys, *needles, root=tmp_path)


def test_a_population_that_would_run_out_of_files_is_refused(tmp_path, capsys, monkeypatch):
    """Before: a --sigma list of 10,000 values wrote 7,000 paths, then a traceback. A population keeps two files
    open per member (metrics.csv, TensorBoard): refused against ``ulimit -n`` (here pinned to 4096)."""
    monkeypatch.setattr(budget, "_file_limit", lambda: 4096)
    sigmas = ",".join(f"{0.001 * (i + 1):.3f}" for i in range(10_000))
    _refused(train_main, ["-f", str(tmp_path / "runs"), "--sigma", sigmas, "--epochs", "1", *TINY], capsys,
             "a population of 10000 members keeps about 20064 files open; the limit is 4096 (ulimit -n)",
             root=tmp_path)


def test_the_population_estimate_covers_what_members_open(tmp_path):
    """The estimate per member (files, threads) is not below what a member really holds open."""
    import os

    from mollirl.population import Member, Population
    from mollirl.train import config_from_args, build_parser

    config = config_from_args(build_parser().parse_args(["-f", str(tmp_path), "--epochs", "1", *TINY]))
    fds0, threads0 = len(os.listdir("/proc/self/fd")), threading.active_count()
    n = 12
    population = Population([Member(config, tmp_path / f"m{i}") for i in range(n)])
    try:
        for session in population.sessions:
            session.open()
        fds, threads = len(os.listdir("/proc/self/fd")) - fds0, threading.active_count() - threads0
    finally:
        for session in population.sessions:
            session.close_logger()
        population.close()
    assert fds <= budget.MEMBER_FILES * n + 8, fds
    assert threads <= budget.MEMBER_THREADS * n + 2, threads


@pytest.mark.parametrize("flags,needles", [
    (["--grid", "100000"], ["a landscape of 10,000,000,000 points", "needs at least", "lower --grid"]),
    (["--horizon", str(10**11)], ["a landscape of 441 points (det, sigma; 16 episodes, 100000000000 steps) needs"]),
    (["--grid", str(2**32)], ["--grid 4294967296 x --grid 4294967296", "grid points, beyond"]),
])
def test_landscape_sizes_are_estimated_before_any_work(tmp_path, capsys, flags, needles):
    """Before: a 74.5 GiB MemoryError traceback (--grid 100000); a hang (--horizon 1e11)."""
    _refused(landscape_main, ["--env", "double-pendulum", "--no-progress", "-o", str(tmp_path / "l.npz"), *flags],
             capsys, *needles, root=tmp_path)


def test_enjoy_episodes_are_estimated_before_any_rollout(run, tmp_path, capsys):
    """Before: a 7.45 GiB MemoryError traceback (--episodes 1e9)."""
    _refused(enjoy_main, ["--run", str(run), "--episodes", str(10**9), "--no-progress"], capsys,
             "1,000,000,000 episodes needs at least", "lower --episodes", root=run)


@pytest.mark.parametrize("flags,needles", [
    (["--n-trials", str(10**19)], ["--n-trials 10000000000000000000 is beyond the largest count"]),
    (["--n-jobs", "100000"], ["--n-jobs 100000: at most", "worker processes fit on this machine",
                              "give --n-jobs"]),
    (["--batch-trials", "4", "--horizon", str(10**9)], ["a batch of 4 runs (4 episodes x 1000000000 steps each) "
                                                          "needs about"]),
    (["--batch-trials", "32", "--seeds", "100000"], ["a population of 3200000 members keeps about", "files open"]),
])
def test_study_sizes_are_estimated_before_any_worker_or_file(tmp_path, capsys, flags, needles):
    """Before: --n-jobs 100000 started workers before any check (in a cgroup capped at 12 processes: 361 lines
    and 10 tracebacks); --n-trials 10**12 hung after writing the study."""
    _refused(study_main, ["-f", str(tmp_path / "s"), "--epochs", "1", *TINY[:5], "--n-trials", "100", *flags],
             capsys, *needles, root=tmp_path)


def test_reproduce_jobs_are_estimated_before_any_process(tmp_path, capsys):
    _refused(reproduce_main, ["heat", "--quick", "--jobs", "100000", "-o", str(tmp_path / "h")], capsys,
             "--jobs 100000: at most", root=tmp_path)


def test_the_worker_estimate_is_what_a_process_limit_allows(monkeypatch):
    monkeypatch.setattr(budget, "_thread_limit", lambda: (12, "the cgroup's process limit 12 less 0 in use"))
    with pytest.raises(ValueError, match=r"--n-jobs 2: at most 1 worker processes fit .*process limit 12"):
        budget.check_workers(2, "--n-jobs", members_each=1)


def test_huge_but_feasible_work_says_its_eta(capsys, monkeypatch):
    """--epochs 10**9 runs; the note gives the time the rest takes at the rate so far."""
    clock = iter([0.0, 3.0, 3.0, 4.0])
    monkeypatch.setattr(budget.time, "monotonic", lambda: next(clock))
    note = budget.EtaNote("python -m mollirl.train", "training")
    note(10, 10**9)  # 3 s for 10 epochs: 3e8 s for the rest
    note(20, 10**9)  # said once
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["python -m mollirl.train: note: training will take about 9.51 years more at the rate so far "
                   "(10 of 1e+09 done in 3 s)"]


def test_a_train_of_a_billion_epochs_starts_and_says_its_eta(tmp_path):
    """The real command: it trains (checkpoints) and says its ETA on stderr; stopped by SIGINT (130)."""
    import os
    import signal
    import subprocess
    import sys

    from reliability_helpers import ROOT

    proc = subprocess.Popen([sys.executable, "-m", "mollirl.train", "-f", str(tmp_path), "--epochs", str(10**9),
                             *TINY], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = proc.stderr.readline()  # the note comes ~2 s into training
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=120)
    assert "note: training will take about" in line and "more at the rate so far" in line, line + rest
    assert proc.returncode == 130 and "interrupted" in out
