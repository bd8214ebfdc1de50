"""Hopper stand (``mollirl/HopperStand-v0``): Gymnasium's Hopper-v5 with the paper's stand reward.

The reward, the observation and the reset-state sampling are pure functions of
arrays so that :class:`~mollirl.envs.hopper_vec.HopperStandVecEnv` computes
exactly what :class:`HopperStandEnv` computes, one row per env.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import mujoco
import numpy as np
from gymnasium import utils
from gymnasium.envs.mujoco.hopper_v5 import DEFAULT_CAMERA_CONFIG, HopperEnv

from mollirl.envs.mujoco_render import (
    CAMERAS,
    OFFSCREEN_RENDER_MODES,
    FrameRenderer,
    follow_camera_config,
    frame_shadow_size,
)
from mollirl.video import has_display, select_gl_backend

NQ = 6  # rootx (m), rootz (m), rooty, thigh, leg, foot (rad)
NV = 6  # their time derivatives (m/s, rad/s)
NU = 3  # thigh, leg, foot torques (actuator gear 200: N m per unit of action)
VELOCITY_CLIP = 10.0  # m/s and rad/s; Hopper-v5 clips observed velocities to +-10
# MuJoCo's instability warnings: on a bad qpos/qvel/qacc, mj_step resets the data
# to the model defaults and counts the warning instead of returning non-finite numbers.
INSTABILITY_WARNINGS = (
    int(mujoco.mjtWarning.mjWARN_BADQPOS),
    int(mujoco.mjtWarning.mjWARN_BADQVEL),
    int(mujoco.mjtWarning.mjWARN_BADQACC),
)
FOLLOWED_BODY = "torso"  # camera="follow" tracks this body's subtree: the whole hopper


def stand_observation(qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
    """Hopper-v5's observation ``[qpos[1:], clip(qvel, -10, 10)]``.

    :param qpos: positions, shape ``(..., 6)``.
    :param qvel: velocities, shape ``(..., 6)``.
    :return: observations, shape ``(..., 11)``, float64.
    """
    return np.concatenate((qpos[..., 1:], np.clip(qvel, -VELOCITY_CLIP, VELOCITY_CLIP)), axis=-1)


def stand_reward(
    obs: np.ndarray,
    action: np.ndarray,
    angle_weight: float = 1.0,
    velocity_weight: float = 0.1,
    ctrl_weight: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three (non-positive) terms of the paper's stand reward ``R(s_k, a_k)``.

    ``R = reward_angles + reward_velocities + reward_ctrl`` with
    ``reward_angles = -angle_weight * sum(obs[1:5]^2)`` (the four angles, rad^2),
    ``reward_velocities = -velocity_weight * sum(obs[5:11]^2)`` (the six clipped
    velocities) and ``reward_ctrl = -ctrl_weight * ||a||_2`` (Euclidean norm, not
    squared). Works row-wise on batches; the same code serves the single env and
    the vectorized env so that both give bit-identical rewards.

    :param obs: pre-step observations ``s_k``, shape ``(..., 11)``.
    :param action: actions already clipped to ``[-1, 1]``, shape ``(..., 3)``.
    :return: ``(reward_angles, reward_velocities, reward_ctrl)``, each of shape ``(...)``.
    """
    angles = np.sum(np.square(obs[..., 1:5]), axis=-1)
    velocities = np.sum(np.square(obs[..., 5:11]), axis=-1)
    ctrl = np.sqrt(np.sum(np.square(action), axis=-1))
    return -angle_weight * angles, -velocity_weight * velocities, -ctrl_weight * ctrl


def sample_initial_state(
    np_random: np.random.Generator, init_qpos: np.ndarray, init_qvel: np.ndarray, reset_noise_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Hopper-v5's noisy start: ``init + U[-scale, scale]``, qpos noise drawn first, then qvel noise."""
    qpos = init_qpos + np_random.uniform(low=-reset_noise_scale, high=reset_noise_scale, size=init_qpos.shape[0])
    qvel = init_qvel + np_random.uniform(low=-reset_noise_scale, high=reset_noise_scale, size=init_qvel.shape[0])
    return qpos, qvel


def parse_reset_options(options: dict[str, Any] | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Validate ``reset(options={"qpos": ..., "qvel": ...})``; return ``(qpos, qvel)`` copies or ``None``.

    :raises ValueError: on an unknown key, a shape other than ``(6,)`` or a non-finite value.
    """
    if not options:
        return None, None
    unknown = sorted(set(options) - {"qpos", "qvel"})
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown!r}; expected 'qpos' and/or 'qvel'")
    out: list[np.ndarray | None] = []
    for key, size in (("qpos", NQ), ("qvel", NV)):
        value = options.get(key)
        if value is None:
            out.append(None)
            continue
        arr = np.array(value, dtype=np.float64)
        if arr.shape != (size,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"reset option {key!r} must be a finite array of shape ({size},), got {value!r}")
        out.append(arr)
    return out[0], out[1]


def check_action(action: Any, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Return the action as float64 clipped to ``[low, high]``, shape ``(..., 3)`` preserved.

    :raises ValueError: on a non-finite action (a NaN would otherwise poison the reward).
    """
    arr = np.asarray(action, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"action must be finite, got {action!r}")
    return np.clip(arr, low, high)


def render_modes_here() -> list[str]:
    """The render modes usable on this machine: Hopper-v5's, with ``"human"`` only when a display exists."""
    return (["human"] if has_display() else []) + list(OFFSCREEN_RENDER_MODES)


def check_human_rendering() -> None:
    """Raise ``ValueError`` unless GLFW can open a window, so that ``render_mode="human"`` fails in one line.

    Gymnasium's ``WindowViewer`` asks GLFW for the primary monitor's video mode; with
    no display GLFW has no monitor and its ``assert(monitor != NULL)`` aborts the
    whole process (exit 134) instead of raising.
    """
    fix = f"without one use {list(OFFSCREEN_RENDER_MODES)}, which MuJoCo renders offscreen (EGL or OSMesa)"
    if not has_display():
        raise ValueError(f"render_mode 'human' needs a display and DISPLAY/WAYLAND_DISPLAY are unset; {fix}")
    import glfw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", glfw.GLFWError)  # GLFW's own complaint; ours follows
        try:
            usable = bool(glfw.init()) and bool(glfw.get_primary_monitor())
        except glfw.GLFWError:  # glfw.ERROR_REPORTING = "raise"
            usable = False
    if not usable:
        display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
        raise ValueError(f"render_mode 'human' needs a display, but GLFW found no monitor on {display!r}; {fix}")


def instability_count(data: mujoco.MjData) -> int:
    """Number of MuJoCo bad-qpos/qvel/qacc warnings (each one an automatic reset) since the last reset."""
    return sum(data.warning[w].number for w in INSTABILITY_WARNINGS)


class HopperStandEnv(HopperEnv):
    r"""
    ## Description
    The Hopper of Gymnasium's Hopper-v5 (a planar one-legged robot: torso, thigh,
    leg, foot, three hinge motors) with the task of Wang, Herbert & Gao (ICML
    2024): stand still, upright and at rest, instead of hopping forward. The
    dynamics, observation and reset noise are Hopper-v5's; only the reward and the
    episode end differ.

    ## Action Space
    ``Box(-1, 1, (3,), float32)``: torques on the thigh, leg and foot hinges, in
    units of the actuator gear (200 N m per unit). Actions outside ``[-1, 1]`` are
    clipped, both for the simulation (as MuJoCo's ``ctrlrange`` would) and for the
    reward. A non-finite action raises ``ValueError``.

    ## Observation Space
    ``Box(-inf, inf, (11,), float64)``, Hopper-v5's with
    ``exclude_current_positions_from_observation=True``: ``qpos[1:]`` then
    ``qvel`` clipped to ``[-10, 10]``:

    | Num | Observation                               | Unit  |
    |-----|-------------------------------------------|-------|
    | 0   | torso height z (rootz)                    | m     |
    | 1   | torso angle (rooty)                       | rad   |
    | 2   | thigh joint angle                         | rad   |
    | 3   | leg joint angle                           | rad   |
    | 4   | foot joint angle                          | rad   |
    | 5   | torso x velocity                          | m/s   |
    | 6   | torso z velocity                          | m/s   |
    | 7   | torso angular velocity                    | rad/s |
    | 8-10| thigh, leg, foot angular velocities       | rad/s |

    ## Rewards
    ``R(s_k, a_k) = -(w_a * sum(s_k[1:5]^2) + w_v * sum(s_k[5:11]^2)) - w_c * ||a_k||_2``
    with ``w_a = angle_weight = 1``, ``w_v = velocity_weight = 0.1``,
    ``w_c = ctrl_weight = 1e-3``; ``||a||_2`` is the Euclidean norm (not squared)
    of the clipped action. The reward is computed on the *pre-step* observation
    ``s_k`` (the one the policy acted on), not on ``s_{k+1}``, so that the return
    ``sum_k gamma^k r_k`` is the paper's ``J = sum_k gamma^k R(s_k, a_k)``. The
    velocities enter clipped, as observed. The reward is never positive. ``info``
    holds ``reward_angles``, ``reward_velocities`` and ``reward_ctrl`` (they sum to
    the reward), ``diverged``, ``x_position`` (m) and ``z_distance_from_origin`` (m).

    ## Starting State
    As Hopper-v5: ``qpos = [0, 1.25, 0, 0, 0, 0] + U[-eps, eps]^6`` and
    ``qvel = U[-eps, eps]^6`` with ``eps = reset_noise_scale``, the qpos noise drawn
    first. ``reset(options={"qpos": q, "qvel": v})`` starts from exactly ``q``
    and/or ``v`` (shape ``(6,)`` each, finite; ``qpos[0]`` is the x position); a
    part not given keeps its noisy default. Both noise vectors are drawn in any
    case, so the random stream does not depend on the options.

    ## Episode End
    No termination on falling (``terminate_when_unhealthy=False``): the reward is
    never positive, so ending an episode early would reward falling. Truncation at
    1000 steps by the ``TimeLimit`` of the registration, not by this class.
    The only termination is numerical divergence: if MuJoCo flags an unstable
    simulation (a bad qpos, qvel or qacc warning, after which MuJoCo resets the
    data) or leaves a non-finite qpos/qvel, the step returns ``terminated=True``,
    ``info["diverged"] = True``, the pre-step observation ``s_k`` again as the
    (finite) next observation, and the finite reward ``R(s_k, a_k)``;
    ``info["x_position"]`` then describes the state MuJoCo reset to.

    ## Arguments
    | Parameter           | Type  | Default        | Description                                              |
    |---------------------|-------|----------------|----------------------------------------------------------|
    | `xml_file`          | str   | `"hopper.xml"` | MuJoCo model; must have Hopper's 6 qpos, 6 qvel, 3 motors |
    | `frame_skip`        | int   | `4`            | MuJoCo steps per env step (dt = 0.002 s * frame_skip)   |
    | `reset_noise_scale` | float | `5e-3`         | half-width of the uniform reset noise                    |
    | `angle_weight`      | float | `1.0`          | `w_a` above                                              |
    | `velocity_weight`   | float | `0.1`          | `w_v` above                                              |
    | `ctrl_weight`       | float | `1e-3`         | `w_c` above                                              |
    | `render_mode`       | str   | `None`         | `"human"`, `"rgb_array"`, `"depth_array"`, `"rgbd_tuple"` |
    | `camera`            | str   | `"fixed"`      | `"fixed"`: Hopper-v5's view; `"follow"`: the same view following the hopper |
    | `shadow_size`       | int   | `None`         | shadow map side (texels); `None`: sized to the frame |

    Further keyword arguments (``width``, ``height``, ``camera_id``,
    ``camera_name``, ``default_camera_config``, ...) go to ``MujocoEnv``.

    ``camera="fixed"`` is Hopper-v5's camera: 3 m away, 20 degrees down, looking
    at the point (0, 0, 1.15) m, where the hopper starts; a hopper that drifts
    more than about 1.2 m along x leaves the picture. ``camera="follow"`` is
    MuJoCo's tracking camera with the same distance and angles, its look-at
    point moved every frame to the hopper's centre of mass (the torso's subtree),
    so the whole hopper stays in the picture, standing, fallen or flying (the
    floor's checkerboard shows the motion). Model cameras are still chosen with
    ``camera_name`` / ``camera_id`` (Hopper-v5's ``"track"``: a level side view
    at a fixed offset from the centre of mass), not together with ``"follow"``.

    Frames are drawn with MuJoCo's scene as Hopper-v5 draws it (4x multisampling,
    shadows, the floor's reflection), except the shadow map: ``shadow_size=None``
    sizes it to the frame (:func:`mollirl.envs.mujoco_render.frame_shadow_size`:
    1024 for 480 x 480, 512 for 240 x 240) instead of MuJoCo's 4096, which costs
    about a third of a frame in software OpenGL and draws shadow acne (dark
    speckled bands) on the far floor; 1-5% of the pixels differ, those bands and
    shadow edges on the body. ``shadow_size=4096`` gives Hopper-v5's frames bit
    for bit.

    Rendering works on a machine without a display. ``metadata["render_modes"]``
    (of the instance; the class attribute is Hopper-v5's) lists ``"human"`` only
    when a display exists (``DISPLAY`` or ``WAYLAND_DISPLAY`` set, or macOS or
    Windows), so Gymnasium's ``check_env``, which makes and renders the env in
    every listed mode, passes with its default arguments on a headless machine.
    ``render_mode="human"`` without a display, or with one GLFW cannot open,
    raises ``ValueError`` at construction: Gymnasium's window viewer would
    otherwise abort the whole process (GLFW's ``assert(monitor != NULL)``, exit
    134), whatever ``MUJOCO_GL`` says, since a window always goes through GLFW.
    ``"rgb_array"``, ``"depth_array"`` and ``"rgbd_tuple"`` render offscreen: on a
    headless machine with ``MUJOCO_GL`` unset, construction sets it to ``egl`` or
    ``osmesa``, whichever works (:func:`mollirl.video.select_gl_backend`, about 1 s
    once per process); a ``MUJOCO_GL`` already set is kept. Frames are
    ``uint8`` of shape ``(height, width, 3)``, 480 x 480 by default, at
    ``metadata["render_fps"] = 1 / dt`` (125 with ``frame_skip=4``).

    ## Version History
    * v0: Hopper-v5 dynamics with the paper's stand reward on the pre-step
      observation, no termination but on divergence, horizon 1000. (Later, with
      no change to the dynamics or rewards: ``"human"`` listed only when a display
      exists, offscreen rendering set up on headless machines; then ``camera``,
      ``shadow_size`` and a shadow map sized to the frame, which changes 1-5% of
      a frame's pixels against Hopper-v5's, mostly its shadow acne.)
    """

    def __init__(
        self,
        xml_file: str = "hopper.xml",
        frame_skip: int = 4,
        reset_noise_scale: float = 5e-3,
        angle_weight: float = 1.0,
        velocity_weight: float = 0.1,
        ctrl_weight: float = 1e-3,
        render_mode: str | None = None,
        default_camera_config: dict[str, float | np.ndarray] = DEFAULT_CAMERA_CONFIG,
        camera: str = "fixed",
        shadow_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        """
        :param xml_file: MuJoCo model file (Gymnasium's ``hopper.xml`` by default).
        :param frame_skip: MuJoCo steps per env step (>= 1).
        :param reset_noise_scale: half-width of the uniform reset noise (>= 0).
        :param angle_weight: weight of the squared angles (>= 0).
        :param velocity_weight: weight of the squared clipped velocities (>= 0).
        :param ctrl_weight: weight of the action's Euclidean norm (>= 0).
        :param render_mode: ``"human"`` (needs a display), ``"rgb_array"``, ``"depth_array"``,
            ``"rgbd_tuple"`` (offscreen, any machine), or ``None``.
        :param default_camera_config: ``MujocoRenderer`` camera settings.
        :param camera: ``"fixed"`` (Hopper-v5's view) or ``"follow"`` (the same view, following the
            hopper's centre of mass); not with ``camera_id`` / ``camera_name``.
        :param shadow_size: side of MuJoCo's shadow map in texels (>= 1), or ``None``: sized to the
            frame (:func:`~mollirl.envs.mujoco_render.frame_shadow_size`).
        :param kwargs: passed to ``MujocoEnv`` (``width``, ``height``, ``camera_id``, ...).
        """
        if not (isinstance(frame_skip, (int, np.integer)) and frame_skip >= 1):
            raise ValueError(f"frame_skip must be an integer >= 1, got {frame_skip!r}")
        for name, value in (
            ("reset_noise_scale", reset_noise_scale),
            ("angle_weight", angle_weight),
            ("velocity_weight", velocity_weight),
            ("ctrl_weight", ctrl_weight),
        ):
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if render_mode == "human":
            check_human_rendering()
        elif render_mode in OFFSCREEN_RENDER_MODES:
            select_gl_backend()  # before the first frame: Gymnasium's renderer reads MUJOCO_GL then
        elif render_mode is not None:
            raise ValueError(f"render_mode must be one of {['human', *OFFSCREEN_RENDER_MODES]} or None, "
                             f"got {render_mode!r}")
        if camera not in CAMERAS:
            raise ValueError(f"camera must be one of {list(CAMERAS)}, got {camera!r}")
        if camera == "follow" and (kwargs.get("camera_id") is not None or kwargs.get("camera_name") is not None):
            raise ValueError("camera='follow' and camera_id / camera_name both choose the view: pass one of them")
        if shadow_size is not None and (isinstance(shadow_size, bool) or not isinstance(shadow_size, (int, np.integer))
                                        or shadow_size < 1):
            raise ValueError(f"shadow_size must be an integer >= 1 or None, got {shadow_size!r}")
        super().__init__(
            xml_file=xml_file,
            frame_skip=frame_skip,
            default_camera_config=default_camera_config,
            terminate_when_unhealthy=False,
            reset_noise_scale=reset_noise_scale,
            exclude_current_positions_from_observation=True,
            render_mode=render_mode,
            **kwargs,
        )
        sizes = (self.model.nq, self.model.nv, self.model.nu)
        if sizes != (NQ, NV, NU):
            raise ValueError(f"xml_file must give Hopper's (nq, nv, nu) = {(NQ, NV, NU)}, got {sizes} from {xml_file!r}")
        utils.EzPickle.__init__(
            self,
            xml_file=xml_file,
            frame_skip=frame_skip,
            reset_noise_scale=reset_noise_scale,
            angle_weight=angle_weight,
            velocity_weight=velocity_weight,
            ctrl_weight=ctrl_weight,
            render_mode=render_mode,
            default_camera_config=default_camera_config,
            camera=camera,
            shadow_size=shadow_size,
            **kwargs,
        )
        # Hopper-v5 lists "human" even where opening its window aborts the process
        self.metadata = {**self.metadata, "render_modes": render_modes_here()}
        self.camera = camera
        self._use_frame_renderer(default_camera_config, shadow_size)
        self.angle_weight = float(angle_weight)
        self.velocity_weight = float(velocity_weight)
        self.ctrl_weight = float(ctrl_weight)
        self._reset_override: tuple[np.ndarray | None, np.ndarray | None] = (None, None)

    def _use_frame_renderer(self, camera_config: dict[str, Any], shadow_size: int | None) -> None:
        """Swap Gymnasium's renderer (made by ``MujocoEnv``, no viewer yet) for :class:`FrameRenderer`.

        Sets the shadow map size on the model first: MuJoCo reads it when a viewer makes its context.
        """
        old = self.mujoco_renderer
        quality = self.model.vis.quality
        quality.shadowsize = (frame_shadow_size(self.width, self.height, int(quality.shadowsize))
                              if shadow_size is None else int(shadow_size))
        if self.camera == "follow":
            camera_config = follow_camera_config(dict(camera_config or {}), self.model, FOLLOWED_BODY)
        self.mujoco_renderer = FrameRenderer(self.model, self.data, camera_config, self.width, self.height,
                                             old.max_geom, old.camera_id, None, old._vopt)

    def _get_obs(self) -> np.ndarray:
        return stand_observation(self.data.qpos, self.data.qvel)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance ``frame_skip`` MuJoCo steps; the reward is ``R(s_k, a_k)`` of the pre-step observation.

        :param action: torques, shape ``(3,)``; clipped to ``[-1, 1]``.
        :return: ``(observation, reward, terminated, truncated=False, info)``.
        """
        action = check_action(action, self.action_space.low, self.action_space.high)
        if action.shape != self.action_space.shape:
            raise ValueError(f"action must have shape {self.action_space.shape}, got {action.shape}")
        obs_before = self._get_obs()
        r_angles, r_velocities, r_ctrl = stand_reward(
            obs_before, action, self.angle_weight, self.velocity_weight, self.ctrl_weight
        )
        warnings_before = instability_count(self.data)
        self.do_simulation(action, self.frame_skip)
        diverged = bool(
            instability_count(self.data) != warnings_before
            or not (np.all(np.isfinite(self.data.qpos)) and np.all(np.isfinite(self.data.qvel)))
        )
        observation = obs_before if diverged else self._get_obs()
        info = {
            "x_position": float(self.data.qpos[0]),
            "z_distance_from_origin": float(self.data.qpos[1] - self.init_qpos[1]),
            "reward_angles": float(r_angles),
            "reward_velocities": float(r_velocities),
            "reward_ctrl": float(r_ctrl),
            "diverged": diverged,
        }
        if self.render_mode == "human":
            self.render()
        return observation, float(r_angles + r_velocities + r_ctrl), diverged, False, info

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset with Hopper-v5's noise, or to ``options["qpos"]`` / ``options["qvel"]`` exactly.

        :param seed: seeds the env's ``np_random`` (Gymnasium semantics).
        :param options: ``{"qpos": (6,), "qvel": (6,)}``, either or both, or ``None``.
        :raises ValueError: on an unknown option key or a bad shape or value.
        """
        self._reset_override = parse_reset_options(options)
        try:
            return super().reset(seed=seed, options=options)
        finally:
            self._reset_override = (None, None)

    def reset_model(self) -> np.ndarray:
        qpos, qvel = sample_initial_state(self.np_random, self.init_qpos, self.init_qvel, self._reset_noise_scale)
        qpos_opt, qvel_opt = self._reset_override
        self.set_state(qpos if qpos_opt is None else qpos_opt, qvel if qvel_opt is None else qvel_opt)
        return self._get_obs()
