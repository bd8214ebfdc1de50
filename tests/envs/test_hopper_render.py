"""Hopper-stand's frames (mollirl.envs.mujoco_render): Hopper-v5's pixels, the follow camera, the shadow map, contexts."""

from __future__ import annotations

import os

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import mollirl  # noqa: F401  (registers the envs)
from mollirl.envs.hopper_stand import HopperStandEnv
from mollirl.envs.mujoco_render import frame_shadow_size
from mollirl.video import gl_backend_works, has_display

NEEDS_GL = "headless MuJoCo rendering needs EGL or OSMesa: `source .ci/render.sh` (Debian packages)"
W, H = 96, 72  # small frames: the tests compare pixels, not looks


@pytest.fixture
def gl(monkeypatch):
    """Skip where MuJoCo cannot render; MUJOCO_GL as it was once the test ends (rendering may set it)."""
    works = bool(os.environ.get("MUJOCO_GL")) or has_display() or gl_backend_works("egl") or gl_backend_works("osmesa")
    monkeypatch.setenv("MUJOCO_GL", os.environ.get("MUJOCO_GL", ""))  # records the value to restore, or its absence
    if not os.environ["MUJOCO_GL"]:
        monkeypatch.delenv("MUJOCO_GL")
    if not works:
        pytest.skip(NEEDS_GL)


def _states(n: int = 6, push: float = 0.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` states of one 300-step episode (Gaussian actions, seed 0): standing, falling, lying."""
    env = HopperStandEnv()
    env.reset(seed=0, options={"qvel": [push, 0, 0, 0, 0, 0]} if push else None)
    rng = np.random.default_rng(0)
    out = []
    for t in range(300):
        env.step(np.clip(0.3 * rng.standard_normal(3), -1, 1))
        if t % (300 // n) == 0:
            out.append((env.data.qpos.copy(), env.data.qvel.copy()))
    return out


def _frames(env, states) -> list:
    frames = []
    for qpos, qvel in states:
        env.unwrapped.set_state(qpos, qvel)
        frames.append(env.render())
    return frames


def test_frame_shadow_size():
    assert frame_shadow_size(480, 480, 4096) == 1024
    assert frame_shadow_size(240, 240, 4096) == 512
    assert frame_shadow_size(640, 480, 4096) == 2048  # the longer side counts
    assert frame_shadow_size(513, 10, 4096) == 2048
    assert frame_shadow_size(1920, 1080, 4096) == 4096  # never above the model's own map
    assert frame_shadow_size(480, 480, 300) == 300
    assert frame_shadow_size(1, 1, 4096) == 2
    for bad in ((0, 480, 4096), (480, 1.5, 4096), (480, 480, True)):
        with pytest.raises(ValueError, match="must be an integer >= 1"):
            frame_shadow_size(*bad)


@pytest.mark.parametrize("kwargs, match", [
    ({"camera": "side"}, r"camera must be one of \['fixed', 'follow'\], got 'side'"),
    ({"camera": "follow", "camera_name": "track"}, "camera='follow' and camera_id / camera_name"),
    ({"camera": "follow", "camera_id": 0}, "camera='follow' and camera_id / camera_name"),
    ({"shadow_size": 0}, "shadow_size must be an integer >= 1 or None, got 0"),
    ({"shadow_size": 1024.0}, "shadow_size must be an integer >= 1 or None"),
    ({"shadow_size": True}, "shadow_size must be an integer >= 1 or None"),
])
def test_bad_render_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HopperStandEnv(render_mode="rgb_array", **kwargs)


@pytest.mark.parametrize("mode", ["rgb_array", "depth_array", "rgbd_tuple"])
def test_frames_are_hopper_v5s_at_its_shadow_map(gl, mode):
    """With MuJoCo's 4096 shadow map the lean read-back draws Gymnasium's Hopper-v5 frames bit for bit."""
    states = _states()
    ours = gym.make("mollirl/HopperStand-v0", render_mode=mode, width=W, height=H, shadow_size=4096)
    theirs = gym.make("Hopper-v5", render_mode=mode, width=W, height=H)
    ours.reset(seed=0)
    theirs.reset(seed=0)
    try:
        for a, b in zip(_frames(ours, states), _frames(theirs, states)):
            for x, y in zip(a if mode == "rgbd_tuple" else (a,), b if mode == "rgbd_tuple" else (b,)):
                assert x.flags.c_contiguous and x.dtype == y.dtype and x.shape == y.shape
                np.testing.assert_array_equal(x, y)
    finally:
        ours.close()
        theirs.close()


def test_default_shadow_map_is_sized_to_the_frame(gl):
    """The default draws with a smaller map (the context says so): same scene, a few pixels differ."""
    states = _states()
    sized = gym.make("mollirl/HopperStand-v0", render_mode="rgb_array", width=W, height=H)
    full = gym.make("mollirl/HopperStand-v0", render_mode="rgb_array", width=W, height=H, shadow_size=4096)
    sized.reset(seed=0)
    full.reset(seed=0)
    try:
        a, b = _frames(sized, states), _frames(full, states)
        assert sized.unwrapped.mujoco_renderer.viewer.con.shadowSize == frame_shadow_size(W, H, 4096) == 256
        assert full.unwrapped.mujoco_renderer.viewer.con.shadowSize == 4096
        changed = [float(np.mean(np.any(x != y, axis=-1))) for x, y in zip(a, b)]
        assert max(changed) > 0  # the map's size shows
        assert max(changed) < 0.1, changed  # and only shadow details do (measured: 1-5% of the pixels)
    finally:
        sized.close()
        full.close()


def _torso_pixels(env) -> int:
    """Pixels of the torso's geom in the env's next frame (segmentation render of the same camera)."""
    model = env.unwrapped.model
    torso = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "torso_geom")
    seg = env.unwrapped.mujoco_renderer.viewer.render("rgb_array", segmentation=True)
    assert seg.shape == (env.unwrapped.height, env.unwrapped.width, 2) and seg.dtype == np.int32
    return int(np.sum((seg[..., 0] == mujoco.mjtObj.mjOBJ_GEOM) & (seg[..., 1] == torso)))


def test_follow_camera_keeps_the_torso_in_the_picture(gl):
    """A hopper pushed at 4 m/s falls ~1.8 m forward: it leaves Hopper-v5's fixed view, not the follow camera's.

    Square frames: Hopper-v5's view then spans about +-1.2 m around x = 0 (45 degrees at 3 m).
    """
    seen = {}
    for camera in ("fixed", "follow"):
        env = gym.make("mollirl/HopperStand-v0", render_mode="rgb_array", width=H, height=H, camera=camera)
        env.reset(seed=0, options={"qvel": [4.0, 0, 0, 0, 0, 0]})
        data, viewer = env.unwrapped.data, None
        counts = []
        try:
            for t in range(300):
                env.step(np.zeros(3))
                if t % 25 == 24:
                    frame = env.render()
                    viewer = env.unwrapped.mujoco_renderer.viewer
                    assert frame.std() > 5  # a picture
                    counts.append(_torso_pixels(env))
                    if camera == "follow":  # MuJoCo's tracking camera: look-at = the torso subtree's centre of mass
                        np.testing.assert_allclose(viewer.cam.lookat, data.subtree_com[1], rtol=0, atol=1e-12)
                        assert (viewer.cam.distance, viewer.cam.elevation) == (3.0, -20.0)
            assert data.qpos[0] > 1.5 and data.qpos[1] < 0.3  # it went forward and fell
        finally:
            env.close()
        seen[camera] = counts
    assert seen["fixed"][-1] == 0, seen  # the episode does leave the fixed view
    assert min(seen["follow"]) > 20, seen  # the torso is in every frame of the follow camera


def test_follow_camera_segmentation_matches_the_colour_frame(gl):
    """The segmentation render and the colour frame come from one camera: the torso's pixels are hopper-coloured."""
    env = gym.make("mollirl/HopperStand-v0", render_mode="rgb_array", width=W, height=H, camera="follow")
    env.reset(seed=0)
    try:
        frame = env.render()
        model = env.unwrapped.model
        seg = env.unwrapped.mujoco_renderer.viewer.render("rgb_array", segmentation=True)
        torso = (seg[..., 0] == mujoco.mjtObj.mjOBJ_GEOM) & (seg[..., 1] == model.geom("torso_geom").id)
        floor = (seg[..., 0] == mujoco.mjtObj.mjOBJ_GEOM) & (seg[..., 1] == model.geom("floor").id)
        assert torso.sum() > 20 and floor.sum() > 0 and np.any(seg[..., 0] == -1)  # the sky is nothing
        red, blue = frame[..., 0].astype(int), frame[..., 2].astype(int)
        assert np.median(red[torso] - blue[torso]) > 40  # orange-brown limbs (rgba 0.8 0.6 0.4)
        assert env.render().shape == (H, W, 3)  # the colour frames are back after a segmentation frame
        np.testing.assert_array_equal(env.render(), frame)
    finally:
        env.close()


def test_renderers_side_by_side_draw_their_own_frames(gl):
    """Several renderers in one process, interleaved, draw what each draws alone (each makes its context current)."""
    states = _states(4)
    kinds = [dict(width=W, height=H), dict(width=64, height=64, camera="follow"), dict(width=W, height=H,
                                                                                      shadow_size=4096)]

    def make(kwargs):
        env = gym.make("mollirl/HopperStand-v0", render_mode="rgb_array", **kwargs)
        env.reset(seed=0)
        return env

    alone = []
    for kwargs in kinds:
        env = make(kwargs)
        alone.append(_frames(env, states))
        env.close()
    envs = [make(kwargs) for kwargs in kinds]
    try:
        for k, state in enumerate(states):
            for env, frames in zip(envs, alone):
                np.testing.assert_array_equal(_frames(env, [state])[0], frames[k])
    finally:
        for env in envs:
            env.close()


def test_fast_scene_of_the_episode_renderer(gl):
    """EpisodeRenderer(fast=True) turns the scene's shadows and reflections off on our viewer."""
    from mollirl.common.playback import EpisodeRenderer

    flags = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION)
    with EpisodeRenderer("hopper-stand", horizon=10, render_kwargs={"width": W, "height": H}, fast=True) as fast, \
            EpisodeRenderer("hopper-stand", horizon=10, render_kwargs={"width": W, "height": H}) as full:
        full.env.reset(seed=0)
        full.env.render()
        assert [fast.env.unwrapped.mujoco_renderer.viewer.scn.flags[f] for f in flags] == [0, 0]
        assert [full.env.unwrapped.mujoco_renderer.viewer.scn.flags[f] for f in flags] == [1, 1]
        fast.env.reset(seed=0)
        assert not np.array_equal(fast.env.render(), full.env.render())
