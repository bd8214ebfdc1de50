"""Every failure answered in one line, nothing half-written (issue 13).

Bad input: one line on stderr naming the flag and the value, exit 2, nothing written.
Faults of the machine (a full disk, a read-only folder): one line naming the folder, exit 1,
and nothing left that looks whole when it is not. The disk-full and read-only cases run on a
small tmpfs when this machine lets the tests mount one (root), and skip with the reason
otherwise (``chmod`` does not stop root, so a read-only *mount* is the only honest test).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch as th
from suite import ALGOS, CONTRACT_PLUGIN

from mollirl.landscape.__main__ import main as landscape_main
from mollirl.reproduce.__main__ import main as reproduce_main
from mollirl.sigma import SIGMA_MARGIN, SIGMA_MAX, SIGMA_MIN
from mollirl.study import main as study_main
from mollirl.train import main as train_main
from mollirl.training.checkpoint import CHECKPOINT_DIR, LATEST, load_checkpoint_state
from mollirl.training.metrics import read_metrics

TINY = ["--horizon", "20", "--batch-episodes", "4", "--no-progress", "--checkpoint-every", "1"]


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (what "nothing written" compares)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]




# --- output folders: a file in the way (bad input, 2) or a read-only file system (fault, 1) ---------
COMMANDS = {
    "train": (train_main, lambda out: ["-f", str(out), "--epochs", "1", *TINY], "-f/--log-folder"),
    "landscape": (landscape_main, lambda out: ["--env", "double-pendulum", "--grid", "3", "--horizon", "20",
                                               "--no-progress", "-o", str(out / "land.npz")], "-o/--output"),
    "study": (study_main, lambda out: ["-f", str(out), "--n-trials", "1", "--epochs", "1", "--no-progress",
                                       *TINY[:4]], "-f/--log-folder"),
    "reproduce": (reproduce_main, lambda out: ["heat", "--quick", "-o", str(out / "heat")], "-o/--output"),
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_where_a_folder_is_needed_is_bad_input(tmp_path, capsys, command):
    main, args, flag = COMMANDS[command]
    (tmp_path / "afile").write_text("x")
    before = snapshot(tmp_path)
    assert main(args(tmp_path / "afile")) == 2
    line = one_line(capsys.readouterr().err)
    assert flag in line and "afile" in line and "is a file" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_file_system_is_a_fault_in_one_line(read_only, capsys, command):
    main, args, _ = COMMANDS[command]
    assert main(args(read_only)) == 1
    line = one_line(capsys.readouterr().err)
    assert "read-only file system" in line and str(read_only) in line
    assert snapshot(read_only) == {}


# --- bad values -------------------------------------------------------------------------------------
@pytest.mark.parametrize("device,needle", [("banana", "not a torch device"), ("cuda:x", "not a torch device"),
                                           ("cuda", "no CUDA device"), ("cuda:7", "CUDA")])
def test_a_device_torch_cannot_use_is_refused(tmp_path, capsys, device, needle):
    if device.startswith("cuda") and th.cuda.is_available() and device != "cuda:7":
        pytest.skip("this machine has CUDA")
    assert train_main(["-f", str(tmp_path / "runs"), "--epochs", "1", *TINY, "--device", device]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--device" in line and device.split(":")[0] in line and needle in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("sigma", ["1e300", "1e-30", f"{SIGMA_MAX * 1.01!r}", f"{SIGMA_MIN / 1.01!r}"])
def test_a_sigma_a_float32_policy_cannot_hold_is_refused_before_any_folder(tmp_path, capsys, sigma):
    assert train_main(["-f", str(tmp_path / "runs"), "--epochs", "1", *TINY, "--sigma", sigma]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--sigma" in line and "float32" in line
    assert not (tmp_path / "runs").exists()


def test_the_sigma_range_is_the_float32_range():
    """The bounds are where a float32 sigma^2 x 1e4 overflows and sigma^2 / 1e4 leaves the normal floats."""
    f32, margin = np.finfo(np.float32), np.float32(SIGMA_MARGIN)
    with np.errstate(over="ignore", under="ignore"):
        assert np.isfinite(np.float32(SIGMA_MAX) ** 2 * margin)
        assert not np.isfinite(np.float32(SIGMA_MAX * 1.01) ** 2 * margin)
        assert np.float32(SIGMA_MIN) ** 2 / margin >= f32.tiny
        assert np.float32(SIGMA_MIN / 1.01) ** 2 / margin < f32.tiny


@pytest.mark.parametrize("algo,params,needle", [
    ("ppo", "n_epochs:0", "n_epochs"), ("ppo", "batch_size:-4", "batch_size"), ("ppo", "batch_size:1", "batch_size"),
    ("ppo", "clip_range:0", "clip_range"), ("ppo", "gae_lambda:2", "gae_lambda"),
    ("trpo", "cg_max_steps:0", "cg_max_steps"), ("trpo", "target_kl:-1", "target_kl"),
    ("ars", "n_top:99", "n_top"), ("ars", "n_delta:0", "n_delta"),
])
def test_algorithm_params_it_cannot_use_are_refused_before_any_folder(tmp_path, capsys, algo, params, needle):
    rc = train_main(["-f", str(tmp_path / "runs"), "--algo", algo, "--epochs", "1", *TINY, "-params", params])
    assert rc == 2
    line = one_line(capsys.readouterr().err)
    assert needle in line and algo in line.lower()
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("algo", ALGOS)
def test_every_algorithm_refuses_an_unknown_param_before_any_folder(tmp_path, capsys, algo):
    rc = train_main(["-f", str(tmp_path / "runs"), "--algo", algo, "--epochs", "1", *TINY, "-params", "nosuchkw:1"])
    assert rc == 2
    assert "nosuchkw" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "runs").exists()


# --- --resume uses the run's own config ------------------------------------------------------------
@pytest.fixture
def run2(tmp_path):
    """A finished run of 2 epochs."""
    assert train_main(["-f", str(tmp_path / "a"), "--epochs", "2", *TINY]) == 0
    (finished,) = (tmp_path / "a" / "reinforce").iterdir()
    return finished


@pytest.mark.parametrize("extra,names", [
    (["--sigma", "0"], ["--sigma"]),
    (["--sigma", "3", "--env", "quadrotor", "--algo", "ppo"], ["--sigma", "--env", "--algo"]),
    (["--horizon", "30"], ["--horizon"]),
    (["-params", "baseline:none"], ["-params"]),
])
def test_resume_refuses_config_flags_naming_them(run2, capsys, extra, names):
    before = snapshot(run2)
    assert train_main(["--resume", str(run2), "--epochs", "4", *extra]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--resume" in line and all(n in line for n in names)
    assert snapshot(run2) == before


def test_resume_refuses_fewer_epochs_and_a_finished_run(run2, capsys):
    before = snapshot(run2)
    assert train_main(["--resume", str(run2), "--epochs", "1"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--epochs 1" in line and "done 2 epochs" in line
    assert train_main(["--resume", str(run2)]) == 2
    assert "finished" in one_line(capsys.readouterr().err)
    assert snapshot(run2) == before
    # the allowed flags work: --epochs extends, --device and --no-progress are taken
    assert train_main(["--resume", str(run2), "--epochs", "3", "--device", "cpu", "--no-progress"]) == 0
    assert [int(r["epoch"]) for r in read_metrics(run2 / "metrics.csv")] == [0, 1, 2, 3]


# --- a checkpoint whose parts disagree -------------------------------------------------------------
@pytest.fixture
def cut_run(tmp_path):
    """A run stopped by SIGINT in epoch 2 of 4 (resumable from its epoch-2 checkpoint)."""
    args = ["--epochs", "4", *TINY, "--plugin", CONTRACT_PLUGIN]
    assert train_main(["-f", str(tmp_path / "cut"), *args, "--callback", "signal-at:epoch=2"]) == 130
    (run,) = (tmp_path / "cut" / "reinforce").iterdir()
    assert load_checkpoint_state(run)["epoch"] == 2
    return run


def _edit_epoch(run):
    pointer = run / CHECKPOINT_DIR / LATEST
    state = json.loads(pointer.read_text())
    state["epoch"] = 5
    pointer.write_text(json.dumps(state))


def _initial_as_latest(run):
    state = json.loads((run / CHECKPOINT_DIR / LATEST).read_text())
    shutil.copyfile(run / "initial.zip", run / CHECKPOINT_DIR / state["zip"])


def _truncate_zip(run):
    state = json.loads((run / CHECKPOINT_DIR / LATEST).read_text())
    path = run / CHECKPOINT_DIR / state["zip"]
    path.write_bytes(path.read_bytes()[:200])


def _garbage_json(run):
    (run / CHECKPOINT_DIR / LATEST).write_text('{"epoch": ')


def _missing_zip(run):
    state = json.loads((run / CHECKPOINT_DIR / LATEST).read_text())
    (run / CHECKPOINT_DIR / state["zip"]).unlink()


@pytest.mark.parametrize("damage,needle", [
    (_edit_epoch, "disagree"), (_initial_as_latest, "disagree"), (_truncate_zip, "disagree"),
    (_garbage_json, "no readable checkpoint"), (_missing_zip, "missing"),
])
def test_resume_refuses_a_checkpoint_whose_parts_disagree(cut_run, capsys, damage, needle):
    damage(cut_run)
    before = snapshot(cut_run)
    assert train_main(["--resume", str(cut_run)]) == 2
    line = one_line(capsys.readouterr().err)
    assert needle in line and (LATEST in line or ".zip" in line)
    assert snapshot(cut_run) == before


# --- a full disk -----------------------------------------------------------------------------------
def _train_subprocess(*args: str) -> subprocess.CompletedProcess:
    """The command itself: a TensorBoard writer thread's traceback would show on its stderr."""
    return subprocess.run([sys.executable, "-m", "mollirl.train", *args], capture_output=True, text=True, timeout=300)


def _nothing_half_written(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file() and path.name != "fill":
            assert path.stat().st_size > 0, f"empty file left: {path}"
            assert ".tmp" not in path.name, f"temporary file left: {path}"
    for metrics in root.rglob("metrics.csv"):
        text = metrics.read_text()
        lines = text.splitlines()
        assert text.endswith("\n") and len({line.count(",") for line in lines}) == 1, text


# a tiny run writes ~35 kB before its first checkpoint and ~65 kB in all: the disk fills before the
# folder exists, before the first checkpoint, after it, and not at all
@pytest.mark.parametrize("free", [0, 4_000, 20_000, 60_000])
def test_a_full_disk_is_one_line_and_leaves_nothing_that_looks_whole(tmp_path, small_disk, free):
    disk = small_disk(free)
    args = ["--epochs", "3", "--horizon", "50", "--batch-episodes", "4", "--no-progress", "--checkpoint-every", "1"]
    done = _train_subprocess("-f", str(disk / "runs"), *args)
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert "no space left on the device" in line
    _nothing_half_written(disk)
    runs = [p for p in (disk / "runs").rglob("config.yml")] if (disk / "runs").exists() else []
    if not runs:
        assert "was removed" in line
        return
    (run,) = [p.parent for p in runs]
    assert str(run) in line and "--resume" in line
    assert not (run / "model.zip").exists()
    kept = load_checkpoint_state(run)["epoch"]
    epochs = [int(r["epoch"]) for r in read_metrics(run / "metrics.csv")]
    assert epochs == list(range(len(epochs))) and len(epochs) - 1 <= kept + 1  # whole rows; resume trims past kept
    # space freed: --resume continues to the same numbers as an uninterrupted run
    (disk / "fill").unlink()
    assert _train_subprocess("--resume", str(run)).returncode == 0
    assert _train_subprocess("-f", str(tmp_path / "ref"), *args).returncode == 0
    (ref,) = (tmp_path / "ref" / "reinforce").iterdir()
    assert (run / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()


@pytest.mark.parametrize("free", [20_000, 150_000])
def test_a_full_disk_in_a_population_is_one_line(small_disk, free):
    disk = small_disk(free)
    done = _train_subprocess("-f", str(disk / "runs"), "--seeds", "3", "--epochs", "3", "--horizon", "50",
                             "--batch-episodes", "4", "--no-progress", "--checkpoint-every", "1")
    assert done.returncode == 1, done.stderr
    line = one_line(done.stderr)
    assert "no space left on the device" in line and "member folder" in line
    _nothing_half_written(disk)
    left = [config.parent for config in (disk / "runs").rglob("config.yml")]
    for member in left:  # every member folder left is resumable
        load_checkpoint_state(member)
    assert ("--resume" in line) == bool(left)
    if not left:
        assert "population folder" in line and "was removed" in line


# --- every env opened is closed, on every exit path ------------------------------------------------
@pytest.fixture
def live_envs(monkeypatch):
    """The envs and VecEnvs opened and not yet closed (by class name), over every env class mollirl
    makes: the analytic envs and their batched VecEnv, hopper-stand and its batched VecEnv, and the
    test plugin's plain Gymnasium env (run on SB3's DummyVecEnv)."""
    import gymnasium as gym

    from mollirl.envs._analytic import AnalyticControlEnv
    from mollirl.envs.hopper_stand import HopperStandEnv
    from mollirl.envs.hopper_vec import HopperStandVecEnv
    from mollirl.envs.vec import AnalyticVecEnv

    alive: dict[int, str] = {}
    plugin_env = gym.spec("test/PointMass-v0").entry_point
    for cls in (AnalyticControlEnv, AnalyticVecEnv, HopperStandEnv, HopperStandVecEnv, plugin_env):
        def patched(init=cls.__init__, close=cls.close):
            def __init__(self, *args, **kwargs):
                alive[id(self)] = type(self).__name__
                init(self, *args, **kwargs)

            def _close(self, *args, **kwargs):
                alive.pop(id(self), None)
                return close(self, *args, **kwargs)

            return __init__, _close

        init, close = patched()
        monkeypatch.setattr(cls, "__init__", init)
        monkeypatch.setattr(cls, "close", close)
    return alive


def _exit_paths(tmp_path):
    plug = ["--plugin", CONTRACT_PLUGIN]
    base = ["--epochs", "2", *TINY, *plug]
    return {
        "train finished": (train_main, ["-f", str(tmp_path / "a"), *base], 0),
        "train finished, plugin env on a DummyVecEnv": (train_main, ["-f", str(tmp_path / "b"), *base,
                                                                      "--env", "test-point"], 0),
        "train finished, hopper-stand": (train_main, ["-f", str(tmp_path / "h"), "--env", "hopper-stand",
                                                      "--epochs", "1", "--horizon", "10", "--batch-episodes", "2",
                                                      "--no-progress"], 0),
        "train non-finite": (train_main, ["-f", str(tmp_path / "c"), *base, "--env", "test-nan"], 1),
        "train interrupted": (train_main, ["-f", str(tmp_path / "d"), *base, "--callback", "signal-at:epoch=1"], 130),
        "train bad params after the envs exist": (train_main, ["-f", str(tmp_path / "e"), *base, "--algo", "ppo",
                                                               "-params", "n_epochs:0"], 2),
        "train bad env kwargs": (train_main, ["-f", str(tmp_path / "e"), *base, "--env-kwargs", "mass:-1"], 2),
        "population": (train_main, ["-f", str(tmp_path / "p"), *base, "--seeds", "2"], 0),
        "landscape": (landscape_main, ["--env", "double-pendulum", "--grid", "3", "--horizon", "20",
                                       "--no-progress", "-o", str(tmp_path / "l" / "l.npz")], 0),
        "landscape of a plugin env": (landscape_main, ["--env", "test-point", "--grid", "3", "--horizon", "20",
                                                       "--no-progress", "--center", "random", "-o", str(tmp_path / "l" / "p.npz"), *plug], 0),
        "study": (study_main, ["-f", str(tmp_path / "s"), "--n-trials", "2", "--epochs", "1", "--seeds", "2",
                               "--no-progress", *TINY[:4]], 0),
        "reproduce": (reproduce_main, ["figure7", "--quick", "-o", str(tmp_path / "r")], 0),
    }


@pytest.mark.parametrize("path", list(_exit_paths(Path("."))))
def test_every_env_opened_is_closed(tmp_path, live_envs, capsys, path):
    main, args, rc = _exit_paths(tmp_path)[path]
    assert main(args) == rc, capsys.readouterr().err
    assert live_envs == {}, f"left open: {sorted(live_envs.values())}"
