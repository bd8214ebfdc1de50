"""Headless rendering and video files: pick MuJoCo's offscreen OpenGL backend, write frames to .mp4 or .gif.

Two independent helpers, no mollirl imports and no import-time work:

* :func:`select_gl_backend` sets ``MUJOCO_GL`` to ``egl`` or ``osmesa`` on a
  machine without a display, so that MuJoCo can render ``rgb_array`` frames
  offscreen. Gymnasium's MuJoCo renderer reads ``MUJOCO_GL`` when an env renders
  its first frame, so calling this before then is enough for Gymnasium envs;
  ``mujoco.Renderer`` and ``mujoco.GLContext`` read it when ``mujoco`` is first
  imported, so for those call it before ``import mujoco``.
* :func:`write_video` writes a sequence of RGB frames to ``.mp4`` (imageio with
  imageio-ffmpeg) or ``.gif`` (imageio with Pillow), atomically.

What a headless Debian machine needs (``.ci/render.sh`` installs it): for EGL
``libegl1 libegl-mesa0 libgl1-mesa-dri libgl1`` (Mesa's software renderer through
EGL's device platform), for OSMesa ``libosmesa6``.
"""

from __future__ import annotations

import ctypes.util
import logging
import math
import os
import secrets
import subprocess
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

GL_BACKENDS = ("egl", "osmesa")  # tried in this order on a headless machine
VIDEO_SUFFIXES = (".mp4", ".gif")
MP4_MACRO_BLOCK = 2  # H.264 in yuv420p needs even sides: an odd side is scaled up by one pixel
GIF_MAX_FPS = 50.0  # GIF delays are whole 1/100 s; browsers play delays under 0.02 s at 0.1 s
PROBE_TIMEOUT = 60.0  # s, for the subprocess that tries one backend

# the shared library each backend loads first (PyOpenGL's names); absent -> not worth a probe
# (module, pip package) each suffix needs; imageio and Pillow also come with gymnasium[mujoco]
_DEPENDENCIES = {
    ".mp4": (("imageio", "imageio"), ("imageio_ffmpeg", "imageio-ffmpeg")),
    ".gif": (("imageio", "imageio"), ("PIL", "pillow")),
}
_BACKEND_LIBRARY = {"egl": "EGL", "osmesa": "OSMesa"}
# create a context and a MuJoCo render context on it, as Gymnasium's OffScreenViewer does
_PROBE_CODE = (
    "import mujoco\n"
    "ctx = mujoco.GLContext(16, 16)\n"
    "ctx.make_current()\n"
    "model = mujoco.MjModel.from_xml_string('<mujoco/>')\n"
    "mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)\n"
    "ctx.free()\n"
)


def has_display() -> bool:
    """Whether a window could be opened: always on macOS and Windows, else ``DISPLAY`` or ``WAYLAND_DISPLAY`` set.

    Only the environment variables are read; a variable naming an X server that
    does not answer still counts as a display.
    """
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def gl_backend_works(backend: str) -> bool:
    """Whether MuJoCo can create an offscreen context with ``MUJOCO_GL=backend``, tried in a subprocess.

    A subprocess because a failed attempt is not undone in-process (PyOpenGL keeps
    the platform it first loaded) and a broken driver may abort the process.
    Takes about a second.

    :param backend: ``"egl"`` or ``"osmesa"``.
    :raises ValueError: for another backend name.
    """
    if backend not in _BACKEND_LIBRARY:
        raise ValueError(f"backend must be one of {list(_BACKEND_LIBRARY)}, got {backend!r}")
    if ctypes.util.find_library(_BACKEND_LIBRARY[backend]) is None:
        return False
    env = dict(os.environ, MUJOCO_GL=backend)
    env.pop("PYOPENGL_PLATFORM", None)  # mujoco sets it to match MUJOCO_GL
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE_CODE], env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=PROBE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        logger.debug("MUJOCO_GL=%s: no context within %.0f s", backend, PROBE_TIMEOUT)
        return False
    if result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-1:] or [f"exit code {result.returncode}"]
        logger.debug("MUJOCO_GL=%s does not work here: %s", backend, tail[0])
    return result.returncode == 0


def select_gl_backend() -> str | None:
    """Set ``MUJOCO_GL`` for offscreen rendering when there is no display and it is unset; return what was set.

    On a machine without a display (see :func:`has_display`) and with ``MUJOCO_GL``
    unset or empty, tries ``egl`` then ``osmesa`` (:func:`gl_backend_works`), sets
    ``os.environ["MUJOCO_GL"]`` to the first that works and returns it. Returns
    ``None`` and changes nothing when ``MUJOCO_GL`` is already set (a user's choice
    is never overridden), when a display exists (GLFW, MuJoCo's default, works
    there), or when neither backend works (with a warning naming the Debian
    packages to install). Once set, later calls return ``None`` at once.

    Gymnasium's MuJoCo renderer reads ``MUJOCO_GL`` when the first frame is
    rendered; ``mujoco.Renderer`` / ``mujoco.GLContext`` read it at ``import mujoco``.

    :return: the backend this call set, or ``None``.
    """
    if os.environ.get("MUJOCO_GL") or has_display():
        return None
    for backend in GL_BACKENDS:
        if gl_backend_works(backend):
            os.environ["MUJOCO_GL"] = backend
            if "mujoco" in sys.modules:
                logger.debug("MUJOCO_GL=%s set after `import mujoco`: mujoco.Renderer keeps GLFW", backend)
            logger.info("no display: MuJoCo renders offscreen with MUJOCO_GL=%s", backend)
            return backend
    warnings.warn(
        "no display and neither EGL nor OSMesa works: MuJoCo cannot render frames; install Debian's "
        "libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 (EGL) or libosmesa6 (OSMesa), see .ci/render.sh",
        stacklevel=2,
    )
    return None


def _check_frame(frame: object, index: int, shape: tuple[int, ...] | None) -> np.ndarray:
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"frame {index} must be a uint8 RGB array of shape (height, width, 3), "
                         f"got dtype {arr.dtype} and shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ValueError(f"frame {index} has shape {arr.shape}, frame 0 had {shape}: all frames must match")
    return arr


def _require(suffix: str) -> None:
    import importlib

    for module, package in _DEPENDENCIES[suffix]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ValueError(f"writing {suffix} needs {package}: install mollirl[video]") from None


def check_video_dependencies(suffix: str) -> None:
    """Raise ``ValueError`` unless the libraries that write ``suffix`` (``".mp4"`` or ``".gif"``) are installed."""
    suffix = suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"video format must be one of {list(VIDEO_SUFFIXES)}, got {suffix!r}")
    _require(suffix)


def check_video_path(path: str | os.PathLike[str]) -> Path:
    """Check, before any frame is made, that :func:`write_video` can write ``path``; return it as a Path.

    :raises ValueError: unless ``path`` ends in ``.mp4`` or ``.gif`` (any case), is not a folder, its
        folder exists and is writable, and the libraries its suffix needs are installed.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"video path must end in one of {list(VIDEO_SUFFIXES)}, got {str(path)!r}")
    if path.is_dir():
        raise ValueError(f"video path {str(path)!r} is a folder")
    if not path.parent.is_dir():
        what = "is not a folder" if path.parent.exists() else "does not exist"
        raise ValueError(f"folder {str(path.parent)!r} of video {str(path)!r} {what}")
    if not os.access(path.parent, os.W_OK | os.X_OK):  # a fault of the machine (exit 1), not bad input
        from mollirl.cli import unwritable

        raise unwritable(path.parent)
    _require(suffix)
    return path


def gif_frame_stride(fps: float, tolerance: float = 0.05) -> int:
    """The k such that every k-th frame of a clip at ``fps``, written as a GIF at ``fps / k``, plays in real time.

    GIF delays are whole hundredths of a second, so a GIF at ``fps / k`` plays at the speed
    ``(100 k / fps) / round(100 k / fps)`` of real time. The smallest k with ``fps / k <= GIF_MAX_FPS``
    whose speed is within ``tolerance`` of 1; among the first four candidates, else the smallest k
    with ``fps / k <= GIF_MAX_FPS``. 125 fps (hopper-stand) gives 5 (25 fps), 100 fps (the pendulums)
    2 (50 fps), 10 fps (the quadrotor) 1.

    :raises ValueError: unless ``fps`` is a finite number > 0.
    """
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a finite number > 0, got {fps!r}")
    first = max(1, math.ceil(fps / GIF_MAX_FPS - 1e-9))
    for k in range(first, first + 4):
        delay = 100.0 * k / fps  # hundredths of a second per frame
        if round(delay) >= 1 and abs(delay / round(delay) - 1.0) <= tolerance:
            return k
    return first


def _write_mp4(tmp: Path, frames: Iterable[object], fps: float) -> int:
    import imageio

    writer = imageio.v2.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264",
                                   pixelformat="yuv420p", macro_block_size=MP4_MACRO_BLOCK)
    n, shape = 0, None
    try:
        for n, frame in enumerate(frames, start=1):
            arr = _check_frame(frame, n - 1, shape)
            shape = arr.shape
            writer.append_data(arr)
    finally:
        writer.close()
    return n


def _write_gif(tmp: Path, frames: Iterable[object], fps: float) -> int:
    import imageio

    stack: list[np.ndarray] = []
    for index, frame in enumerate(frames):
        stack.append(_check_frame(frame, index, stack[0].shape if stack else None))
    if stack:
        # Pillow merges identical consecutive frames into one longer frame
        imageio.v3.imwrite(tmp, np.stack(stack), plugin="pillow", extension=".gif",
                           duration=1000.0 / fps, loop=0)
    return len(stack)


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike[str], fps: float) -> Path:
    """Write RGB frames to ``path``, an ``.mp4`` (H.264) or ``.gif`` (looping) chosen by the suffix.

    The file appears complete or not at all: frames go to a hidden temporary file
    in the same folder (``.<stem>.<random>.partial<suffix>``), which is renamed over
    ``path`` (``os.replace``) only once fully written and flushed; on any error,
    including one raised by the ``frames`` iterable, it is removed and ``path`` is
    left as it was. An existing ``path`` is replaced.

    ``.mp4``: streamed frame by frame (any length), libx264 in yuv420p through
    imageio-ffmpeg; an odd width or height is scaled up by one pixel. ``.gif``:
    all frames held in memory, each quantized to 256 colours by Pillow; GIF delays
    are whole hundredths of a second, so ``fps`` above 50 plays slower than asked
    in browsers (a warning says so: pass every k-th frame at ``fps / k``).

    :param frames: RGB frames, each a ``uint8`` array of shape ``(height, width, 3)``,
        all of one shape (e.g. ``env.render()`` of ``render_mode="rgb_array"``); at least one.
    :param path: the file to write, ending in ``.mp4`` or ``.gif`` (any case); its folder must exist.
    :param fps: frames per second of playback, finite and > 0 (an env's ``metadata["render_fps"]``).
    :return: ``path`` as a :class:`~pathlib.Path`.
    :raises ValueError: on an unknown suffix, a missing or unwritable folder, a bad ``fps``, no frames,
        a frame of the wrong dtype or shape, or imageio / imageio-ffmpeg / Pillow missing
        (``install mollirl[video]``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"video path must end in one of {list(VIDEO_SUFFIXES)}, got {str(path)!r}")
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a finite number > 0, got {fps!r}")
    check_video_path(path)
    fps = float(fps)
    if suffix == ".gif" and fps > GIF_MAX_FPS:
        warnings.warn(
            f"GIF at fps={fps:g}: GIF delays are whole 1/100 s and browsers play delays under 0.02 s at 0.1 s, "
            f"so it plays slower than real time; pass every k-th frame at fps/k (<= {GIF_MAX_FPS:g}) or write .mp4",
            stacklevel=2,
        )
    write = _write_mp4 if suffix == ".mp4" else _write_gif
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")
    try:
        with open(tmp, "xb"):  # reserve the name, with the permissions a normal file would get
            pass
    except OSError as exc:  # e.g. a read-only folder that os.access did not see (root on a read-only mount)
        raise ValueError(f"cannot write video {str(path)!r}: {exc.strerror or exc}") from None
    try:
        n_frames = write(tmp, frames, fps)
        if n_frames == 0:
            raise ValueError(f"no frames to write to {str(path)!r}")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    logger.debug("wrote %d frames to %s", n_frames, path)
    return path


__all__ = ["GL_BACKENDS", "check_video_dependencies", "check_video_path", "gif_frame_stride", "gl_backend_works",
           "has_display", "select_gl_backend", "write_video"]
