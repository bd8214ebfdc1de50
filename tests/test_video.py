"""mollirl.video (backend choice, atomic .mp4/.gif writing) and headless rendering of the built-in envs."""

from __future__ import annotations

import ctypes.util
import json
import os
import subprocess
import sys
import textwrap
import warnings

import gymnasium as gym
import numpy as np
import pytest

import mollirl  # noqa: F401  (registers the envs)
from mollirl import video
from mollirl.envs.hopper_stand import HopperStandEnv
from mollirl.video import select_gl_backend, write_video

imageio = pytest.importorskip("imageio")
HOPPER_STAND_ID = "mollirl/HopperStand-v0"
ANALYTIC = ["mollirl/DoublePendulum-v0", "mollirl/PlanarQuadrotor-v0"]
NEEDS_GL = "headless MuJoCo rendering needs EGL or OSMesa: `source .ci/render.sh` (Debian packages)"


def _frames(n: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """``n`` distinct RGB frames (Pillow's GIF writer would merge identical neighbours)."""
    yy, xx = np.mgrid[0:height, 0:width]
    return [np.stack([(xx * 4 + 25 * k) % 256, (yy * 5) % 256, np.full_like(xx, 40 * k % 256)], axis=-1)
            .astype(np.uint8) for k in range(n)]


def _read(path) -> np.ndarray:
    """All frames of a video file as ``(n_frames, height, width, channels)``."""
    if str(path).endswith(".mp4"):
        with imageio.v2.get_reader(path, format="FFMPEG") as reader:  # len() is inf: no list(reader)
            return np.stack([frame for frame in reader])
    return imageio.v3.imread(path, index=None)


def _headless_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL",
                                                             "PYOPENGL_PLATFORM")}
    env.update(extra)
    return env


def _run(code: str, cwd, **extra: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh headless interpreter: a crash fails the test instead of killing pytest."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=_headless_env(**extra),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def _check_ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit code {result.returncode}:\n{result.stderr[-3000:]}\n{NEEDS_GL}"
    return result.stdout


@pytest.fixture
def headless(monkeypatch):
    """No display and no MUJOCO_GL in this process (restored afterwards)."""
    if sys.platform in ("darwin", "win32"):
        pytest.skip("macOS and Windows always count as having a display")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MUJOCO_GL"):
        monkeypatch.delenv(name, raising=False)


# --- write_video ------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".MP4"])
def test_round_trip(tmp_path, suffix):
    frames = _frames(6)
    path = write_video(iter(frames), tmp_path / f"clip{suffix}", fps=10)
    assert path == tmp_path / f"clip{suffix}"
    back = _read(path)
    assert back.shape[:3] == (6, 48, 64)
    assert back.shape[3] in (3, 4)
    assert sorted(os.listdir(tmp_path)) == [path.name]
    if suffix == ".gif":  # palette of a smooth image: close to the input
        np.testing.assert_allclose(back[..., :3].astype(float), np.stack(frames), atol=40)


def test_mp4_fps_and_replace(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"old")
    write_video(_frames(4), path, fps=25)
    assert imageio.v2.get_reader(path, format="FFMPEG").get_meta_data()["fps"] == pytest.approx(25)
    assert len(_read(path)) == 4


def test_gif_frame_delay(tmp_path):
    path = write_video(_frames(3), tmp_path / "clip.gif", fps=20)
    assert imageio.v3.immeta(path)["duration"] == pytest.approx(50)  # ms


def test_gif_above_50_fps_warns(tmp_path):
    with pytest.warns(UserWarning, match="fps=125.*every k-th frame"):
        write_video(_frames(2), tmp_path / "clip.gif", fps=125)


@pytest.mark.parametrize(
    "name, frames, fps, match",
    [
        ("clip.avi", _frames(2), 10, r"one of \['.mp4', '.gif'\], got '.*clip.avi'"),
        ("clip", _frames(2), 10, "must end in one of"),
        ("clip.mp4", _frames(2), 0, "fps must be a finite number > 0, got 0"),
        ("clip.gif", _frames(2), float("nan"), "fps must be"),
        ("clip.mp4", [], 10, "no frames"),
        ("clip.gif", [], 10, "no frames"),
        ("clip.gif", [np.zeros((8, 8, 3))], 10, "uint8 RGB array .* got dtype float64"),
        ("clip.mp4", [np.zeros((8, 8, 4), np.uint8)], 10, r"shape \(8, 8, 4\)"),
        ("clip.mp4", [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], 10, "frame 1 has shape"),
    ],
)
def test_bad_input(tmp_path, name, frames, fps, match):
    with pytest.raises(ValueError, match=match):
        write_video(frames, tmp_path / name, fps=fps)
    assert os.listdir(tmp_path) == []


def test_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="folder .*nowhere.* does not exist"):
        write_video(_frames(1), tmp_path / "nowhere" / "clip.mp4", fps=10)


@pytest.mark.parametrize("suffix, module, package", [(".mp4", "imageio_ffmpeg", "imageio-ffmpeg"),
                                                     (".gif", "imageio", "imageio"),
                                                     (".mp4", "imageio", "imageio")])
def test_missing_dependency(tmp_path, monkeypatch, suffix, module, package):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError
    with pytest.raises(ValueError, match=rf"writing \{suffix} needs {package}: install mollirl\[video\]"):
        write_video(_frames(1), tmp_path / f"clip{suffix}", fps=10)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_atomic_on_error(tmp_path, suffix):
    """A failure mid-way leaves neither a partial file nor a temporary one, and keeps an old video."""
    path = tmp_path / f"clip{suffix}"
    write_video(_frames(3), path, fps=10)
    before = path.read_bytes()

    def frames_then_crash():
        yield from _frames(2)
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError, match="renderer died"):
        write_video(frames_then_crash(), path, fps=10)
    with pytest.raises(ValueError, match="frame 2"):
        write_video([*_frames(2), np.zeros((3, 3, 3), np.uint8)], path, fps=10)
    assert os.listdir(tmp_path) == [path.name]
    assert path.read_bytes() == before


def test_import_is_light():
    code = ("import sys, mollirl.video; "
            "assert not {'imageio', 'imageio_ffmpeg', 'mujoco', 'PIL'} & set(sys.modules), sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- select_gl_backend ----------------------------------------------------------------
def test_select_keeps_users_choice(headless, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    monkeypatch.setattr(video, "gl_backend_works", lambda backend: pytest.fail("probed"))
    assert select_gl_backend() is None
    assert os.environ["MUJOCO_GL"] == "osmesa"


def test_select_with_display_sets_nothing(headless, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(video, "gl_backend_works", lambda backend: pytest.fail("probed"))
    assert select_gl_backend() is None
    assert "MUJOCO_GL" not in os.environ


def test_select_falls_back_to_osmesa(headless, monkeypatch):
    tried = []
    monkeypatch.setattr(video, "gl_backend_works", lambda backend: tried.append(backend) or backend == "osmesa")
    assert select_gl_backend() == "osmesa"
    assert os.environ["MUJOCO_GL"] == "osmesa" and tried == ["egl", "osmesa"]
    assert select_gl_backend() is None  # already set: no second probe
    assert tried == ["egl", "osmesa"]


def test_select_warns_when_nothing_works(headless, monkeypatch):
    monkeypatch.setattr(video, "gl_backend_works", lambda backend: False)
    with pytest.warns(UserWarning, match="neither EGL nor OSMesa.*libosmesa6"):
        assert select_gl_backend() is None
    assert "MUJOCO_GL" not in os.environ


def test_gl_backend_works_rejects_unknown():
    with pytest.raises(ValueError, match="got 'glx'"):
        video.gl_backend_works("glx")


def test_select_in_fresh_process(tmp_path):
    code = "import os, json; from mollirl.video import select_gl_backend; " \
           "print(json.dumps([select_gl_backend(), os.environ.get('MUJOCO_GL')]))"
    chosen, env_value = json.loads(_check_ok(_run(code, tmp_path)))
    assert chosen in ("egl", "osmesa"), NEEDS_GL
    assert env_value == chosen
    assert json.loads(_check_ok(_run(code, tmp_path, MUJOCO_GL="osmesa"))) == [None, "osmesa"]


# --- hopper-stand on a headless machine ---------------------------------------------------
def test_hopper_check_env_default_args_headless(tmp_path):
    """Gymnasium's check_env makes and renders the env in every listed mode; "human" used to abort (134)."""
    code = """
        import os, gymnasium as gym, mollirl
        from gymnasium.utils.env_checker import check_env
        env = gym.make("mollirl/HopperStand-v0").unwrapped
        assert "human" not in env.metadata["render_modes"], env.metadata
        check_env(env)
        print(os.environ["MUJOCO_GL"])
    """
    assert _check_ok(_run(code, tmp_path)).strip() in ("egl", "osmesa")


def test_hopper_render_modes_follow_display(headless, monkeypatch):
    env = gym.make(HOPPER_STAND_ID).unwrapped
    assert env.metadata["render_modes"] == ["rgb_array", "depth_array", "rgbd_tuple"]
    assert env.metadata["render_fps"] == 125
    monkeypatch.setenv("DISPLAY", ":0")
    assert gym.make(HOPPER_STAND_ID).unwrapped.metadata["render_modes"][0] == "human"


def test_hopper_human_headless_is_an_error(headless):
    with pytest.raises(ValueError, match="'human' needs a display.*'rgb_array'"):
        gym.make(HOPPER_STAND_ID, render_mode="human")
    with pytest.raises(ValueError, match="render_mode must be one of .* got 'rgb'"):
        HopperStandEnv(render_mode="rgb")


def test_hopper_human_unreachable_display_is_an_error(tmp_path):
    """A DISPLAY no X server answers: GLFW has no monitor; a ValueError, not an abort."""
    code = """
        import gymnasium as gym, mollirl
        try:
            gym.make("mollirl/HopperStand-v0", render_mode="human")
        except ValueError as e:
            print(e)
    """
    assert "GLFW found no monitor on ':97'" in _check_ok(_run(code, tmp_path, DISPLAY=":97"))


_RENDER_HOPPER = """
    import json, os, sys
    import gymnasium as gym, numpy as np, mollirl
    from mollirl.video import write_video
    env = gym.make("mollirl/HopperStand-v0", render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    env.action_space.seed(0)
    frames = [env.render()]
    for _ in range(24):
        env.step(env.action_space.sample())
        frames.append(env.render())
    depth = gym.make("mollirl/HopperStand-v0", render_mode="depth_array", width=160, height=120)
    depth.reset(seed=0)
    d = depth.render()
    write_video(frames, sys.argv[1], fps=env.metadata["render_fps"] / 5)
    print(json.dumps(dict(backend=os.environ["MUJOCO_GL"], shape=frames[0].shape, dtype=str(frames[0].dtype),
                          std=[float(f.std()) for f in frames], moved=float(np.abs(frames[-1] - frames[0].astype(int)).mean()),
                          depth_shape=d.shape, depth_std=float(d.std()))))
    env.close()
    depth.close()
"""


@pytest.mark.parametrize("backend", [None, "egl", "osmesa"])
def test_hopper_frames_headless(tmp_path, backend):
    """CI: hopper-stand renders non-blank frames offscreen and they go to an mp4 (None: mollirl picks)."""
    if backend is not None and ctypes.util.find_library({"egl": "EGL", "osmesa": "OSMesa"}[backend]) is None:
        pytest.skip(f"no {backend} library here ({NEEDS_GL})")
    out = tmp_path / "hopper.mp4"
    extra = {} if backend is None else {"MUJOCO_GL": backend}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(_RENDER_HOPPER), str(out)], cwd=tmp_path,
                            env=_headless_env(**extra), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=300)
    info = json.loads(_check_ok(result))
    assert info["backend"] in ((backend,) if backend else ("egl", "osmesa"))
    assert info["shape"] == [120, 160, 3] and info["dtype"] == "uint8"
    assert min(info["std"]) > 10, info["std"]  # a blank (single-colour) frame has std 0
    assert info["moved"] > 0.5  # the hopper falls: the picture changes
    assert info["depth_shape"] == [120, 160] and info["depth_std"] > 0
    assert _read(out).shape[:3] == (25, 120, 160)


# --- the analytic envs (numpy rasterizer, no OpenGL) ---------------------------------------
@pytest.mark.parametrize("env_id", ANALYTIC)
def test_analytic_env_gif(tmp_path, env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    env.action_space.seed(0)
    every = max(1, round(env.metadata["render_fps"] / 10))  # <= 10 fps: GIF delays are 1/100 s
    frames = [env.render()]
    for step in range(1, 4 * every + 1):
        env.step(env.action_space.sample())
        if step % every == 0:
            frames.append(env.render())
    assert len({f.tobytes() for f in frames}) == len(frames), "frames repeat: Pillow would merge them"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = write_video(frames, tmp_path / "analytic.gif", fps=env.metadata["render_fps"] / every)
    back = _read(path)
    assert back.shape[:3] == (5, 400, 400)
    assert back[..., :3].std() > 1


@pytest.mark.parametrize("fps, k", [(125, 5), (100, 2), (10, 1), (50, 1), (60, 3), (1000, 20)])
def test_gif_frame_stride_plays_in_real_time(fps, k):
    assert video.gif_frame_stride(fps) == k
    delay = 100.0 * k / fps  # hundredths of a second per GIF frame
    assert fps / k <= video.GIF_MAX_FPS and abs(delay / round(delay) - 1) <= 0.05


def test_check_video_path(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir.mp4").mkdir()
    assert video.check_video_path(tmp_path / "a.GIF") == tmp_path / "a.GIF"
    for path, match in ((tmp_path / "a.webm", "must end in"), (tmp_path / "dir.mp4", "is a folder"),
                        (tmp_path / "file" / "a.mp4", "is not a folder"), (tmp_path / "no" / "a.mp4", "does not exist")):
        with pytest.raises(ValueError, match=match):
            video.check_video_path(path)
    with pytest.raises(ValueError, match="video format must be one of"):
        video.check_video_dependencies(".avi")
