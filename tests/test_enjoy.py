"""``python -m mollirl.enjoy``: the deterministic episode is the J_det row, videos of every built-in env, bad input."""

from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from suite import ALGOS, CONTRACT_ENVS, CONTRACT_PLUGIN, tiny_args

from mollirl.common.playback import play_episodes
from mollirl.enjoy import main
from mollirl.landscape import problem_from_run
from mollirl.train import main as train_main
from mollirl.training.metrics import read_metrics

imageio = pytest.importorskip("imageio")
HORIZON = 20
RENDERED_ENVS = ["quadrotor", "double-pendulum", "single-pendulum"]  # in-process; hopper-stand in a subprocess
NEEDS_GL = "headless MuJoCo rendering needs EGL or OSMesa: `source .ci/render.sh` (Debian packages)"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """One finished tiny run per contract env (the built-ins and the test plugin's DummyVecEnv env)."""
    root = tmp_path_factory.mktemp("enjoy_runs")
    out = {}
    for env in CONTRACT_ENVS:
        folder = root / env
        args = ["--env", env, "--horizon", str(HORIZON), "--batch-episodes", "2", "--epochs", "2", "--no-progress",
                "--seed", "1", "--plugin", CONTRACT_PLUGIN, "-f", str(folder)]
        assert train_main(args) == 0
        (run,) = (folder / "reinforce").iterdir()
        out[env] = run
    return out


def _printed(x: float) -> float:
    """What enjoy's table shows of ``x``: 10 significant digits (no 16-17 digit floats on a printed line, issue 24)."""
    return float(f"{x:.10g}")


def _episodes(stdout: str) -> list[tuple[float, float, int]]:
    """``(return, discounted, steps)`` of every row of enjoy's table (10 significant digits)."""
    rows, lines = [], stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["episode", "return"])
    for line in lines[start + 1:]:
        parts = line.split()
        if not parts or not parts[0].isdigit():
            break
        rows.append((float(parts[1]), float(parts[2]), int(parts[3])))
    return rows


def _video_frames(path) -> np.ndarray:
    if str(path).endswith(".mp4"):
        with imageio.v2.get_reader(path, format="FFMPEG") as reader:
            return np.stack(list(reader.iter_data()))
    return imageio.v3.imread(path, index=None)


@pytest.mark.parametrize("env", CONTRACT_ENVS)
def test_deterministic_episode_is_the_j_det_row_and_stochastic_differs(runs, env, capsys):
    run = runs[env]
    rows = read_metrics(run / "metrics.csv")
    for at, row in (("final", rows[-1]), ("initial", rows[0])):
        assert main(["--run", str(run), "--at", at, "--no-progress"]) == 0
        out = capsys.readouterr().out
        ((ret, disc, steps),) = _episodes(out)
        assert ret == _printed(row["J_det_undiscounted"]), (at, ret, row["J_det_undiscounted"])
        assert disc == _printed(row["J_det"])
        assert steps <= HORIZON
        assert not re.search(r"\d\.\d{12,}", out), out  # no 16-17 digit floats
        problem = problem_from_run(run, at)  # what the table shows, exactly: the J_det row bit for bit
        episodes = play_episodes(problem.env, problem.policy, horizon=problem.horizon, gamma=problem.gamma,
                                 env_kwargs=problem.env_kwargs, eval_options=problem.eval_options)
        assert float(episodes.returns[0]) == row["J_det_undiscounted"] and float(episodes.discounted[0]) == row["J_det"]
    assert main(["--run", str(run), "--stochastic", "--episodes", "3", "--seed", "4", "--no-progress"]) == 0
    out = capsys.readouterr().out
    stochastic = _episodes(out)
    assert len(stochastic) == 3 and "stochastic policy (sigma" in out
    assert all(r != rows[-1]["J_det_undiscounted"] for r, _, _ in stochastic)
    assert len({r for r, _, _ in stochastic}) == 3  # each episode its own noise
    assert main(["--run", str(run), "--stochastic", "--episodes", "3", "--seed", "4", "--no-progress"]) == 0
    assert _episodes(capsys.readouterr().out) == stochastic  # seeded


@pytest.mark.parametrize("algo", ALGOS)
def test_every_algorithm_final_episode_is_its_j_det_row(tmp_path, algo, capsys):
    assert train_main(tiny_args("double-pendulum", algo) + ["-f", str(tmp_path)]) == 0
    (run,) = (tmp_path / algo).iterdir()
    capsys.readouterr()
    assert main(["--run", str(run), "--no-progress"]) == 0
    ((ret, disc, _),) = _episodes(capsys.readouterr().out)
    last = read_metrics(run / "metrics.csv")[-1]
    assert (ret, disc) == (_printed(last["J_det_undiscounted"]), _printed(last["J_det"]))


def test_best_model(runs, capsys):
    run = runs["double-pendulum"]
    assert main(["--run", str(run), "--at", "best", "--no-progress"]) == 2
    assert "has no best_model.zip" in capsys.readouterr().err
    shutil.copy(run / "model.zip", run / "best_model.zip")
    try:
        assert main(["--run", str(run), "--at", "best", "--no-progress"]) == 0
        out = capsys.readouterr().out
        assert "best (epoch 2)" in out
        assert _episodes(out)[0][0] == _printed(read_metrics(run / "metrics.csv")[-1]["J_det_undiscounted"])
    finally:
        (run / "best_model.zip").unlink()


@pytest.mark.parametrize("env", RENDERED_ENVS)
def test_video_of_each_analytic_env(runs, env, tmp_path, capsys, recwarn):
    for suffix, stride in ((".mp4", 1), (".gif", None)):
        path = tmp_path / f"clip{suffix}"
        assert main(["--run", str(runs[env]), "--episodes", "2", "--video", str(path), "--no-progress"]) == 0
        out = capsys.readouterr().out
        steps = [s for _, _, s in _episodes(out)]
        frames = _video_frames(path)
        if stride is None:  # a GIF keeps every k-th step: k = 2 for the pendulums (100 fps), 1 for the quadrotor
            stride = 1 if env == "quadrotor" else 2
        expected = sum(n // stride + 1 for n in steps)
        assert f"{expected} frames" in out
        # an mp4 holds every frame; Pillow stores a GIF's identical neighbours once (their delays summed)
        assert frames.shape[0] == expected if suffix == ".mp4" else 2 <= frames.shape[0] <= expected
        assert frames.shape[1:3] == (400, 400) and frames.dtype == np.uint8
    assert not [w for w in recwarn if "replay" in str(w.message)]  # the replay retraced the episodes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.gif", "clip.mp4"]  # no partial files left


def _gl_works() -> bool:
    from mollirl.video import gl_backend_works, has_display

    return has_display() or any(ctypes.util.find_library(lib) and gl_backend_works(b)
                                for b, lib in (("egl", "EGL"), ("osmesa", "OSMesa")))


def test_hopper_stand_video_headless_subprocess(runs, tmp_path):
    """The real command, headless (no DISPLAY, no MUJOCO_GL): MuJoCo renders offscreen with EGL or OSMesa."""
    if not _gl_works():
        pytest.skip(NEEDS_GL)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL",
                                                             "PYOPENGL_PLATFORM")}
    path = tmp_path / "hopper.mp4"
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-m", "mollirl.enjoy", "--run", str(runs["hopper-stand"]),
         "--video", str(path), "--fast-render", "--no-progress"],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ((ret, _, steps),) = _episodes(result.stdout)
    assert ret == _printed(read_metrics(runs["hopper-stand"] / "metrics.csv")[-1]["J_det_undiscounted"])
    frames = _video_frames(path)
    assert frames.shape[0] == steps + 1 and frames.shape[1:] == (480, 480, 3)
    assert frames.std() > 10  # a picture, not a blank context
    assert not np.array_equal(frames[0], frames[-1])  # the hopper moved


def _snapshot(*folders) -> dict:
    return {folder: sorted(p.relative_to(folder) for p in folder.rglob("*")) for folder in folders}


@pytest.mark.parametrize("args, message", [
    (["--run", "{missing}"], "is not a folder"),
    (["--run", "{tmp}"], "is not a run folder (no config.yml)"),
    (["--run", "{run}", "--at", "last"], "--at must be initial, final, best or epoch:N"),
    (["--run", "{run}", "--at", "epoch:7"], "epoch 7 of"),
    (["--run", "{run}", "--episodes", "0"], "--episodes must be an integer >= 1, got 0"),
    (["--run", "{run}", "--seed", "-1"], "--seed must be an integer in [0, 2^32 - 1], got -1"),
    (["--run", "{run}", "--video", "{tmp}/clip.avi"], "video path must end in one of ['.mp4', '.gif']"),
    (["--run", "{run}", "--video", "{tmp}/missing/clip.mp4"], "does not exist"),
    (["--run", "{run}", "--video", "{tmp}/file.txt/clip.mp4"], "file.txt' of video"),
    (["--run", "{run}", "--video", "{tmp}"], "video path must end in"),
    (["--run", "{run}", "--video", "{tmp}/folder.mp4"], "is a folder"),
    (["--run", "{point}", "--video", "{tmp}/clip.mp4"], "env 'test-point' cannot render frames"),
    (["--run", "{run}", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(runs, tmp_path, capsys, args, message):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "folder.mp4").mkdir()
    names = dict(missing=str(tmp_path / "missing"), tmp=str(tmp_path), run=str(runs["double-pendulum"]),
                 point=str(runs["test-point"]))
    before = _snapshot(tmp_path, runs["double-pendulum"], runs["test-point"])
    assert main([a.format(**names) for a in args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m mollirl.enjoy: error: ") and message in err[0], err
    assert _snapshot(tmp_path, runs["double-pendulum"], runs["test-point"]) == before


def test_video_on_a_read_only_file_system_is_a_fault_in_one_line(runs, tmp_path, capsys):
    """A read-only mount (chmod does not stop root): exit 1 naming the folder, nothing written."""
    import shutil
    import subprocess

    folder = tmp_path / "ro"
    folder.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a read-only file system here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(folder)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here ({done.stderr.strip() or 'mount failed'}): needs root")
    try:
        assert main(["--run", str(runs["quadrotor"]), "--video", str(folder / "clip.mp4"), "--no-progress"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "read-only file system" in err[0] and str(folder) in err[0], err
        assert list(folder.iterdir()) == []
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc takes no new files on Linux only")
def test_video_that_cannot_be_created_is_one_line(runs, capsys):
    """A folder that passes the access check (root passes every one) but takes no file: no traceback."""
    assert main(["--run", str(runs["quadrotor"]), "--video", "/proc/clip.mp4", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ("cannot write video '/proc/clip.mp4'" in err[0] or "is not writable" in err[0]), err
    assert not list(Path("/proc").glob("*clip*"))
