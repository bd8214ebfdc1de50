"""One run folder per process, one writer per folder: processes started at the same instant, many times.

Every round starts its processes at a barrier, so they reach the contested step together; the rounds
are bounded (a few seconds in all after the racers' imports).
"""

import multiprocessing as mp
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
import racers
import yaml
from reliability_helpers import TINY, one_line, snapshot

from mollirl.common.locking import FolderBusy, FolderLock, claim_numbered_dir, holder, lock_folder
from mollirl.train import main as train_main
from mollirl.training.checkpoint import load_checkpoint_state, model_epoch
from mollirl.training.metrics import read_metrics

SPAWN = mp.get_context("spawn")


def _collect(results, n: int, timeout: float = 300) -> list:
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n:
        out.append(results.get(timeout=max(deadline - time.monotonic(), 1)))
    return out


def _run(target, args_of, n: int) -> None:
    procs = [SPAWN.Process(target=target, args=args_of(i)) for i in range(n)]
    for p in procs:
        p.start()
    return procs


def _join(procs) -> None:
    for p in procs:
        p.join(timeout=120)
        if p.is_alive():
            p.kill()
        assert p.exitcode == 0, p.exitcode


def test_processes_claiming_at_once_get_distinct_folders(tmp_path):
    """8 processes x 40 rounds claim the next ``env_<n>`` at the same instant: never one folder twice."""
    n, rounds = 8, 40
    barrier, results = SPAWN.Barrier(n), SPAWN.Queue()
    procs = _run(racers.claim_racer, lambda i: (str(tmp_path), barrier, results, rounds), n)
    got = _collect(results, n * rounds)
    _join(procs)
    for r in range(rounds):
        folders = [f for rr, f in got if rr == r]
        assert len(set(folders)) == n, folders
        assert sorted(Path(f).name for f in folders) == [f"env_{k}" for k in range(1, n + 1)]


def test_one_writer_wins_and_the_other_is_told_its_pid(tmp_path):
    """2 processes x 30 rounds lock one folder at the same instant: exactly one wins, the other is refused
    naming the winner's pid; no file is created by either."""
    rounds = 30
    for r in range(rounds):
        (tmp_path / str(r)).mkdir()
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    procs = _run(racers.lock_racer, lambda i: (str(tmp_path), barrier, results, rounds, 0.01), 2)
    got = _collect(results, 2 * rounds)
    _join(procs)
    for r in range(rounds):
        mine = [g for g in got if g[0] == r]
        won = [g for g in mine if g[2] == "won"]
        busy = [g for g in mine if g[2] == "busy"]
        assert len(won) == 1 and len(busy) == 1, mine
        assert f"process {won[0][1]} " in busy[0][3] and "one writer per folder" in busy[0][3]
    assert all(not any(p.iterdir()) for p in tmp_path.iterdir())  # no lock file anywhere


def test_the_lock_is_reentrant_in_a_process_and_released_with_its_last_holder(tmp_path):
    a = lock_folder(tmp_path, "run folder")
    b = lock_folder(tmp_path, "run folder")  # the same process: a population member inside its command
    assert holder(tmp_path) == os.getpid()
    a.release()
    assert holder(tmp_path) == os.getpid()
    b.release()
    assert holder(tmp_path) is None
    with FolderLock(tmp_path):
        assert holder(tmp_path) == os.getpid()
    assert holder(tmp_path) is None


def test_a_killed_writer_leaves_no_lock(tmp_path):
    ready, done = SPAWN.Event(), SPAWN.Event()
    proc = SPAWN.Process(target=racers.holder, args=(str(tmp_path), ready, done))
    proc.start()
    assert ready.wait(60)
    with pytest.raises(FolderBusy, match=f"process {proc.pid} "):
        lock_folder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    lock_folder(tmp_path).release()  # the kernel released it with the process


def test_claim_moves_past_taken_numbers(tmp_path):
    (tmp_path / "env_1").mkdir()
    (tmp_path / "env_7").mkdir()
    assert claim_numbered_dir(tmp_path, "env").name == "env_8"
    assert claim_numbered_dir(tmp_path, "env", first=3).name == "env_9"


def _sigma_of(run: Path) -> float:
    return float(yaml.safe_load((run / "config.yml").read_text())["sigma"])


def test_four_trains_started_together_never_share_a_folder(tmp_path):
    """The issue's first example: 4 ``train --sigma S -f DIR`` at the same instant, 6 rounds (before: 1 to 5
    of 16 tries shared a folder, config.yml of one run beside metrics.csv of another). Each run gets its own
    folder, named in its summary, whose config.yml and metrics.csv are its own sigma's."""
    sigmas, rounds = ("0.1", "0.2", "0.3", "0.4"), 6
    plans = [[["--sigma", s, "-f", str(tmp_path / str(r)), "--epochs", "2", *TINY] for r in range(rounds)]
             for s in sigmas]
    barrier, results = SPAWN.Barrier(len(sigmas)), SPAWN.Queue()
    procs = _run(racers.train_racer, lambda i: (i, plans[i], barrier, results), len(sigmas))
    got = _collect(results, len(sigmas) * rounds)
    _join(procs)
    for r in range(rounds):
        named = {}
        for _, i, rc, err, out, _ in [g for g in got if g[0] == r]:
            assert rc == 0, err
            (line,) = [x for x in out.splitlines() if "run folder" in x]
            named[sigmas[i]] = Path(line.split()[-1])
        assert len(set(named.values())) == len(sigmas), named
        for sigma, run in named.items():
            assert _sigma_of(run) == float(sigma)
            rows = read_metrics(run / "metrics.csv")
            assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
            assert all(abs(row["sigma"] - float(sigma)) < 1e-6 for row in rows)  # the float32 policy's sigma


def test_two_resumes_started_together_never_lose_rows(tmp_path):
    """The issue's second example: ``--resume RUN --epochs 8`` and ``--resume RUN --epochs 5`` at the same
    instant, 6 rounds (before: in 1 to 2 of 5 tries both exited 0 and metrics.csv was cut at the shorter
    run's epoch while the checkpoint was at the longer's). Now the second is refused naming the first's pid,
    or (if the first already finished) runs after it; metrics.csv always holds every epoch once."""
    assert train_main(["-f", str(tmp_path / "base"), "--epochs", "3", *TINY]) == 0
    (base,) = (tmp_path / "base" / "reinforce").iterdir()
    rounds = 6
    copies = []
    for r in range(rounds):
        copies.append(tmp_path / f"run{r}")
        shutil.copytree(base, copies[-1])
    plans = [[["--resume", str(c), "--epochs", e, "--no-progress"] for c in copies] for e in ("8", "5")]
    barrier, results = SPAWN.Barrier(2), SPAWN.Queue()
    procs = _run(racers.train_racer, lambda i: (i, plans[i], barrier, results), 2)
    got = _collect(results, 2 * rounds)
    _join(procs)
    refused = 0
    for r, run in enumerate(copies):
        outcome = {i: (rc, err) for rr, i, rc, err, *_ in got if rr == r}
        pids = {i: pid for rr, i, *_, pid in got if rr == r}
        for i, (rc, err) in outcome.items():
            if rc == 2:
                refused += 1
                line = one_line(err)
                assert ("being written by process" in line and str(pids[1 - i]) in line) or "has done" in line, line
            else:
                assert rc == 0, err
        done = int(load_checkpoint_state(run)["epoch"])
        epochs = [int(row["epoch"]) for row in read_metrics(run / "metrics.csv")]
        assert epochs == list(range(done + 1)), (outcome, epochs)  # rows 0 .. done-1 and the final row
        assert model_epoch(run / "model.zip") == done
    assert refused >= 1  # the race happened at least once in the rounds


def test_a_run_being_written_refuses_every_other_writer(tmp_path, capsys):
    """While a process writes a run: ``--resume``, ``landscape --run`` into it, ``enjoy --video`` into it and
    a reproduction reusing it are refused in one line naming the writer; ``-o`` elsewhere is a reader."""
    from mollirl.config import RunConfig
    from mollirl.enjoy import main as enjoy_main
    from mollirl.landscape.__main__ import main as landscape_main
    from mollirl.reproduce.runs import RunJob, run_jobs

    assert train_main(["-f", str(tmp_path / "a"), "--epochs", "2", *TINY]) == 0
    (run,) = (tmp_path / "a" / "reinforce").iterdir()
    before = snapshot(run)
    ready, done = SPAWN.Event(), SPAWN.Event()
    proc = SPAWN.Process(target=racers.holder, args=(str(run), ready, done))
    proc.start()
    try:
        assert ready.wait(60)
        attempts = {
            "resume": lambda: train_main(["--resume", str(run), "--epochs", "4"]),
            "landscape": lambda: landscape_main(["--run", str(run), "--grid", "3", "--no-progress"]),
            "enjoy": lambda: enjoy_main(["--run", str(run), "--video", str(run / "clip.gif"), "--no-progress"]),
        }
        for name, attempt in attempts.items():
            assert attempt() == 2, name
            line = one_line(capsys.readouterr().err)
            assert f"is being written by process {proc.pid}" in line, (name, line)
        config = RunConfig(**yaml.safe_load((run / "config.yml").read_text()))
        with pytest.raises(FolderBusy, match=f"process {proc.pid}"):
            run_jobs([RunJob(config, run)], log=lambda line: None)
        assert snapshot(run) == before
        out = tmp_path / "elsewhere.npz"  # reading the run, writing elsewhere: not a second writer
        assert landscape_main(["--run", str(run), "--grid", "3", "--horizon", "20", "--no-progress",
                               "-o", str(out)]) == 0
    finally:
        done.set()
        proc.join(60)


def test_workers_die_with_their_parent(tmp_path):
    """A process mollirl starts (:func:`~mollirl.common.lifeline.worker_initializer`) exits when its parent
    is SIGKILLed: nothing stays behind to keep training."""
    ready = tmp_path / "child.pid"
    parent = SPAWN.Process(target=racers.orphan_parent, args=(str(ready),))
    parent.start()
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(ready.read_text())
    time.sleep(0.5)  # the child arms its parent-death signal
    os.kill(parent.pid, signal.SIGKILL)
    parent.join(30)
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
