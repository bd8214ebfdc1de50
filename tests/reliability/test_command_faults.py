"""Faults of studies and reproductions (exit 1, nothing half-made), stores refused before any lock file, a closed
stdout (141, quiet) and SIGINT (130) in every command, foreign model files in one line (issue 23)."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import ROOT, TINY, command, one_line, snapshot, tiny_run

from mollirl.study import main as study_main
from mollirl.train import main as train_main


# --- a full disk in studies and reproductions ------------------------------------------------------------


@pytest.mark.parametrize("free", [20_000, 60_000])
def test_a_study_on_a_small_disk_is_a_fault_and_leaves_no_half_made_store(small_disk, free):
    """Before: exit 2 (bad input) and a half-made studies.db with its lock file left."""
    disk = small_disk(free)
    done = command("study", "-f", str(disk / "s"), "--n-trials", "2", "--epochs", "1", *TINY[:5])
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert "no space left on the device" in line and "studies.db" in line
    assert sorted(p.name for p in disk.iterdir()) == ["fill"]


def test_a_reproduction_on_a_small_disk_leaves_no_output_folder(small_disk):
    """Before: exit 1 naming no file, and the output folder left behind."""
    disk = small_disk(20_000)
    done = command("reproduce", "heat", "--quick", "-o", str(disk / "heat"))
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert f"no space left on the device: {disk / 'heat'}" in line and "was removed" in line
    assert sorted(p.name for p in disk.iterdir()) == ["fill"]


# --- stores refused before any lock file ------------------------------------------------------------------
def test_a_folder_given_as_the_store_is_refused_without_a_lock_file(tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    before = snapshot(tmp_path)
    assert study_main(["-f", str(tmp_path / "s"), "--storage", f"sqlite:///{tmp_path / 'folder'}", "--n-trials", "1",
                       "--epochs", "1", *TINY[:5]]) == 2
    assert "is a folder, not an SQLite database file" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


def test_a_garbage_store_is_refused_without_a_lock_file(tmp_path, capsys):
    (tmp_path / "s" / "studies").mkdir(parents=True)
    (tmp_path / "s" / "studies" / "studies.db").write_text("garbage\n")
    before = snapshot(tmp_path)
    assert study_main(["-f", str(tmp_path / "s"), "--n-trials", "1", "--epochs", "1", *TINY[:5]]) == 2
    assert "is not an SQLite database" in one_line(capsys.readouterr().err)
    assert snapshot(tmp_path) == before


# --- a closed stdout: 141, quietly; SIGINT: 130 -----------------------------------------------------------
def _closed_stdout(module: str, *args: str) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reader is already gone (what ``| head -1`` becomes once head exits)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", f"mollirl.{module}", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        os.close(write)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("finished"), 2)


def _argv(name: str, tmp: Path, run: Path) -> tuple[str, list[str]]:
    return {
        "train": ("train", ["-f", str(tmp / "t"), "--epochs", "2", *TINY]),
        "landscape": ("landscape", ["--env", "double-pendulum", "--grid", "3", "--horizon", "20", "--no-progress",
                                    "-o", str(tmp / "l.npz")]),
        "study": ("study", ["-f", str(tmp / "s"), "--n-trials", "4", "--epochs", "2", "--batch-trials", "1",
                            *TINY[:5]]),
        "enjoy": ("enjoy", ["--run", str(run), "--no-progress"]),
        "reproduce": ("reproduce", ["heat", "--quick", "-o", str(tmp / "r")]),
    }[name]


@pytest.mark.parametrize("name", ["train", "landscape", "study", "enjoy", "reproduce"])
def test_a_closed_stdout_ends_every_command_quietly(name, tmp_path, finished_run):
    """Before: ``study ... | head -1`` printed a logging traceback for every later trial line and kept training."""
    module, args = _argv(name, tmp_path, finished_run)
    done = _closed_stdout(module, *args)
    assert done.returncode == 141, done.stderr
    assert done.stderr.strip() == ""


def test_a_study_whose_reader_left_stops_training(tmp_path):
    """The trial lines' reader leaves after the first line: the study stops at its next line (no more trials)."""
    proc = subprocess.Popen([sys.executable, "-m", "mollirl.study", "-f", str(tmp_path), "--n-trials", "20",
                             "--epochs", "2", "--batch-trials", "1", *TINY[:5]], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for line in proc.stdout:  # the header's lines, then the first trial's line
        if "] trial" in line:
            break
    proc.stdout.close()  # the reader leaves
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 141 and err.strip() == ""
    import optuna

    study = optuna.load_study(study_name="sigma-double-pendulum-reinforce-return",
                              storage=f"sqlite:///{tmp_path / 'studies' / 'studies.db'}")
    assert 1 <= len(study.trials) < 20


#: a long run of each command (the signal comes once it printed its first sign of work)
LONG = {
    "train": ["--epochs", str(10**6), "--log-interval", "1", *TINY],
    "landscape": ["--grid", "1001", "--horizon", "1000", "--mode", "det"],
    "study": ["--n-trials", "1000", "--epochs", "50", *TINY[:5]],
    "reproduce": ["figure8"],  # positional: the reproduction's name
}


def test_sigint_in_enjoy_is_130(finished_run, capsys, monkeypatch):
    """enjoy's rollout is over before a signal can be aimed at it: the interrupt is raised inside it instead."""
    from mollirl.common import playback
    from mollirl.enjoy import main as enjoy_main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(playback, "play_episodes", interrupted)
    assert enjoy_main(["--run", str(finished_run), "--no-progress"]) == 130
    assert one_line(capsys.readouterr().err) == "python -m mollirl.enjoy: interrupted"


@pytest.mark.parametrize("name", ["train", "landscape", "study", "reproduce"])
def test_sigint_is_130_in_every_command(name, tmp_path, finished_run):
    """Before: SIGINT in reproduce exited 0 with the claims of a half-trained run printed (the issue saw 2)."""
    module, args = _argv(name, tmp_path, finished_run)
    if name == "reproduce":  # the full figure 8: a landscape, then 50 epochs of training, interrupted
        args = ["-o", str(tmp_path / "r"), "--no-progress"]
    args = [a for a in args if a != "--no-progress" or name != "landscape"] + LONG[name]
    proc = subprocess.Popen([sys.executable, "-m", f"mollirl.{module}", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    # a sign of work: a line on stdout (train, study, reproduce) or the progress bar on stderr (landscape)
    if name == "landscape":
        proc.stderr.read(1)
    else:
        proc.stdout.readline()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in (err + out)


# --- foreign and mismatched model files -------------------------------------------------------------------
@pytest.mark.parametrize("what", ["sb3", "ppo", "quadrotor", "garbage"])
def test_a_foreign_model_zip_is_named_in_one_line(finished_run, tmp_path, capsys, what):
    """Before: a model.zip saved by plain SB3 (PPO on Pendulum-v1) ended enjoy --run and landscape --run in a
    traceback."""
    from mollirl.enjoy import main as enjoy_main
    from mollirl.landscape.__main__ import main as landscape_main

    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    if what == "sb3":
        from stable_baselines3 import PPO

        PPO("MlpPolicy", "Pendulum-v1", n_steps=64, batch_size=32, device="cpu").save(run / "model.zip")
        needle = "is an SB3 model with policy stable_baselines3.common.policies.ActorCriticPolicy, observations (3,)"
    elif what == "garbage":
        (run / "model.zip").write_text("not a zip")
        needle = "is not a zip file"
    else:
        args = ["--algo", "ppo"] if what == "ppo" else ["--env", "quadrotor"]
        assert train_main(["-f", str(tmp_path / what), "--epochs", "1", *TINY, *args]) == 0
        (other,) = (tmp_path / what).glob("*/*")
        shutil.copyfile(other / "model.zip", run / "model.zip")
        needle = ("is a ppo model (its saved parameters are ppo's); the run is reinforce" if what == "ppo"
                  else "the zip belongs to another env")
    for main, args in ((enjoy_main, ["--run", str(run), "--no-progress"]),
                       (landscape_main, ["--run", str(run), "--grid", "3", "-o", str(tmp_path / "l.npz")])):
        assert main(args) == 2
        line = one_line(capsys.readouterr().err)
        assert str(run / "model.zip") in line and needle in line, line
