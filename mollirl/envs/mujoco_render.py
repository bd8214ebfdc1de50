"""Offscreen frames of a MuJoCo env: Gymnasium's renderer with a lean read-back, a camera that follows a body,
and a shadow map sized to the frame.

Where a frame's time goes (hopper-stand, 480 x 480, Mesa's llvmpipe behind EGL or OSMesa,
2 cores; ``benchmarks/render_speed.py``): almost all of it in ``mjr_render``, the scene
itself. MuJoCo's defaults draw it with 4x multisampling, a second (mirrored) pass for the
floor's reflection, and shadows from a 4096 x 4096 shadow map that is redrawn every frame;
in software OpenGL the shadow map alone costs about a third of the frame. Gymnasium's
``MujocoRenderer`` adds little on top: it reads the depth buffer back beside the colours
even for ``rgb_array``, and allocates and zero-fills both buffers per frame (about 1-2 ms
of a 10-100 ms frame). So there are two levers, both here:

* :class:`OffscreenFrames` (Gymnasium's ``OffScreenViewer``, same context, camera and
  scene) reads back only the buffer the render mode returns, into buffers allocated
  once, and returns a C-contiguous frame. Its frames are bit-identical to Gymnasium's.
* :func:`frame_shadow_size`: a shadow map sized to the frame (the smallest power of two
  >= twice the frame's longer side: 1024 for 480 x 480, 512 for 240 x 240) instead of
  MuJoCo's 4096. The picture keeps its shadows and reflections. Against the 4096 map, 1-5%
  of a hopper frame's pixels change: most are the 4096 map's shadow acne (dark speckled
  bands on the far floor near the horizon), which the smaller map does not draw; the rest
  are shadow edges on the hopper's body and under its foot.

:class:`FrameRenderer` is Gymnasium's ``MujocoRenderer`` with :class:`OffscreenFrames` for
the offscreen modes, and a free camera left as configured (Gymnasium forces the free
camera's type every frame, which makes a ``trackbodyid`` in ``default_camera_config``
inert): :func:`follow_camera_config` turns a free-camera configuration into MuJoCo's
tracking camera (``mjCAMERA_TRACKING``), whose look-at point is the tracked body's subtree
centre of mass, with the configuration's distance, azimuth and elevation.

Imports MuJoCo and Gymnasium's renderer (and through it glfw) at import: import this module
from a MuJoCo env's module only, never from ``mollirl`` itself.
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from gymnasium.envs.mujoco.mujoco_rendering import MujocoRenderer, OffScreenViewer

OFFSCREEN_RENDER_MODES = ("rgb_array", "depth_array", "rgbd_tuple")  # Gymnasium's OffScreenViewer modes
CAMERAS = ("fixed", "follow")
TEXELS_PER_PIXEL = 2  # shadow map side / frame's longer side, before rounding up to a power of two


def frame_shadow_size(width: int, height: int, model_size: int) -> int:
    """Side in texels of a shadow map for ``width`` x ``height`` frames.

    The smallest power of two >= ``TEXELS_PER_PIXEL * max(width, height)``, at most
    ``model_size`` (the model's ``visual/quality/shadowsize``, 4096 unless its XML says
    otherwise): 1024 for 480 x 480 frames, 512 for 240 x 240. A rule of thumb, checked on
    hopper-stand's episodes by eye and by pixel counts (module docstring): the shadows look
    the same, without the 4096 map's acne near the horizon, at about a third less rendering
    time per frame in software OpenGL.

    :raises ValueError: unless ``width``, ``height`` and ``model_size`` are integers >= 1.
    """
    for name, value in (("width", width), ("height", height), ("model_size", model_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    side = 1
    while side < TEXELS_PER_PIXEL * max(int(width), int(height)):
        side *= 2
    return min(side, int(model_size))


def follow_camera_config(config: dict[str, Any], model: mujoco.MjModel, body: str) -> dict[str, Any]:
    """``config`` (a ``default_camera_config``) as MuJoCo's tracking camera following ``body``.

    The camera keeps the configuration's ``distance``, ``azimuth`` and ``elevation``; its
    look-at point is, at every frame, the centre of mass of ``body``'s subtree
    (``data.subtree_com``; for a root body such as the hopper's torso, the whole robot's),
    so the body never leaves the picture. A ``lookat`` in ``config`` only sets where the
    camera looks before the first frame.

    :raises ValueError: if the model has no body named ``body``.
    """
    body_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    if body_id < 0:
        raise ValueError(f"the model has no body {body!r} for the camera to follow")
    return {**config, "type": mujoco.mjtCamera.mjCAMERA_TRACKING, "trackbodyid": body_id}


class OffscreenFrames(OffScreenViewer):
    """Gymnasium's offscreen viewer, reading back only what the render mode returns.

    The same OpenGL context (``MUJOCO_GL``: egl, osmesa or glfw), MuJoCo context, scene,
    camera, markers and overlays as ``OffScreenViewer``, hence the same pixels. Per frame
    it makes its OpenGL context current (Gymnasium's viewer does not, so with a second
    renderer in the process, e.g. another env's or a ``mujoco.Renderer``, it draws with
    that renderer's context and object names: wrong pixels), reads the colour buffer for
    ``"rgb_array"``, the depth buffer for ``"depth_array"``, both for ``"rgbd_tuple"``,
    into buffers allocated once, and returns new C-contiguous arrays (upright: OpenGL's
    rows are bottom-up). Segmentation frames as Gymnasium lays them out.
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, width: int, height: int, max_geom: int = 1000,
                 visual_options: dict[int, bool] | None = None) -> None:
        super().__init__(model, data, width, height, max_geom, visual_options)
        self._rgb = np.empty((height, width, 3), dtype=np.uint8)
        self._depth = np.empty((height, width), dtype=np.float32)

    def render(self, render_mode: str | None, camera_id: int | None = None, segmentation: bool = False):
        """A frame of the current ``data`` in ``render_mode``, as ``OffScreenViewer.render`` returns it.

        :param camera_id: ``None``: the viewer's camera as configured (free or tracking);
            ``-1``: the free camera; ``>= 0``: the model's camera of that id.
        :param segmentation: the colour image becomes ``(height, width, 2)`` int32 ``(objtype, objid)``
            of the object seen at each pixel, ``-1`` where none is (Gymnasium's layout; its own code
            overflows on numpy 2).
        :return: ``(height, width, 3)`` uint8, ``(height, width)`` float32 depth, or both as a tuple.
        """
        if render_mode not in OFFSCREEN_RENDER_MODES:
            raise ValueError(f"render_mode must be one of {list(OFFSCREEN_RENDER_MODES)}, got {render_mode!r}")
        self.make_context_current()  # another renderer in this process may have made its own current
        if camera_id is not None:
            self.cam.type = mujoco.mjtCamera.mjCAMERA_FREE if camera_id == -1 else mujoco.mjtCamera.mjCAMERA_FIXED
            self.cam.fixedcamid = camera_id
        mujoco.mjv_updateScene(self.model, self.data, self.vopt, self.pert, self.cam, mujoco.mjtCatBit.mjCAT_ALL,
                               self.scn)
        for marker_params in self._markers:
            self._add_marker_to_scene(marker_params)
        segment_flags = (mujoco.mjtRndFlag.mjRND_SEGMENT, mujoco.mjtRndFlag.mjRND_IDCOLOR)
        kept = [int(self.scn.flags[flag]) for flag in segment_flags]
        if segmentation:
            for flag in segment_flags:
                self.scn.flags[flag] = 1
        try:
            mujoco.mjr_render(self.viewport, self.scn, self.con)
        finally:
            for flag, value in zip(segment_flags, kept):
                self.scn.flags[flag] = value
        for gridpos, (text1, text2) in self._overlays.items():
            mujoco.mjr_overlay(mujoco.mjtFontScale.mjFONTSCALE_150, gridpos, self.viewport, text1.encode(),
                               text2.encode(), self.con)
        self._markers.clear()
        rgb = self._rgb if render_mode != "depth_array" else None
        depth = self._depth if render_mode != "rgb_array" else None
        mujoco.mjr_readPixels(rgb, depth, self.viewport, self.con)
        colour = None
        if rgb is not None:
            colour = self._segments(self._rgb[::-1]) if segmentation else self._rgb[::-1].copy()
        if render_mode == "rgb_array":
            return colour
        if render_mode == "depth_array":
            return self._depth[::-1].copy()
        return colour, self._depth[::-1].copy()

    def _segments(self, image: np.ndarray) -> np.ndarray:
        """``(height, width, 2)`` int32 ``(objtype, objid)`` from a segment-id colour image (``-1``: nothing)."""
        ids = image.astype(np.int64)
        segment = ids[..., 0] + (ids[..., 1] << 8) + (ids[..., 2] << 16)  # segid + 1; 0: background
        ngeom = self.scn.ngeom
        segment[segment > ngeom] = 0
        table = np.full((ngeom + 1, 2), -1, dtype=np.int32)
        for i in range(ngeom):
            geom = self.scn.geoms[i]
            if geom.segid != -1:
                table[geom.segid + 1] = (geom.objtype, geom.objid)
        return table[segment]


class FrameRenderer(MujocoRenderer):
    """Gymnasium's ``MujocoRenderer`` drawing the offscreen modes with :class:`OffscreenFrames`.

    Takes ``MujocoRenderer``'s arguments. With neither ``camera_id`` nor ``camera_name``
    (resolved to ``camera_id == -1``) frames come from the viewer's own camera as
    ``default_cam_config`` left it: the free camera, or MuJoCo's tracking camera (see
    :func:`follow_camera_config`), which Gymnasium's renderer would reset to free every
    frame. A model camera (``camera_id >= 0``) is used as Gymnasium uses it. ``"human"``
    goes to Gymnasium's window viewer unchanged.
    """

    def _get_viewer(self, render_mode: str | None):
        if render_mode in OFFSCREEN_RENDER_MODES and render_mode not in self._viewers:
            self.viewer = OffscreenFrames(self.model, self.data, self.width, self.height, self.max_geom, self._vopt)
            self._set_cam_config()
            self._viewers[render_mode] = self.viewer
        return super()._get_viewer(render_mode)

    def render(self, render_mode: str | None):
        if render_mode not in OFFSCREEN_RENDER_MODES:
            return super().render(render_mode)
        if self.width is None or self.height is None:
            raise ValueError(f"render_mode {render_mode!r} needs a width and a height, got {self.width} x {self.height}")
        viewer = self._get_viewer(render_mode)
        return viewer.render(render_mode=render_mode, camera_id=None if self.camera_id == -1 else self.camera_id)


__all__ = ["CAMERAS", "FrameRenderer", "OFFSCREEN_RENDER_MODES", "OffscreenFrames", "follow_camera_config",
           "frame_shadow_size"]
