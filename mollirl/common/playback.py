"""Watching a policy: its episodes through the rollout core, and their frames by replaying the actions.

Two steps, kept apart:

* :func:`play_episodes` rolls a policy's episodes through the rollout core
  (:mod:`mollirl.rollout`), as rows of one batched rollout, exactly as a training
  epoch rolls them. The deterministic policy (the mean action) reset with seed
  :data:`~mollirl.rollout.EVAL_SEED` and the env's evaluation-start options *is* the
  J_det row: its returns are the run's ``J_det`` and ``J_det_undiscounted`` at that
  policy, bit for bit. The rollout records every episode's observations and the
  actions the env received.
* :class:`EpisodeRenderer` replays those actions, open loop, in one env made with
  ``render_mode="rgb_array"`` after the same reset, and yields a frame after the reset
  and after every step: ``L + 1`` frames for an episode of ``L`` steps (every k-th of
  them with ``stride=k``). The single env steps as one row of the batch does (the
  analytic envs' ``batch_step``; hopper-stand's ``mj_step``, which ``mujoco.batch``
  repeats bit for bit), so the replay retraces the episode; its return is compared
  with the rollout's and a drift is warned about (the frames would then not show the
  episode whose return was reported).

A MuJoCo env renders offscreen on a machine without a display
(:func:`mollirl.video.select_gl_backend`: EGL, else OSMesa); when neither works the
renderer refuses in one line instead of letting GLFW abort the process.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.env_util import get_env_plugin, make_env, make_vec_env
from mollirl.common.seeding import PLAYBACK_NOISE, stream_rng
from mollirl.rollout import EVAL_SEED, BatchedMean, Rows, VecEnvBackend, backend_for
from mollirl.rollout.core import Progress
from mollirl.video import check_video_path, gif_frame_stride, has_display, select_gl_backend, write_video

logger = logging.getLogger(__name__)

#: frames per second of a clip whose env declares no ``metadata["render_fps"]``
DEFAULT_FPS = 30.0
#: relative difference between a replay's return and the rollout's above which a drift is warned about
REPLAY_TOLERANCE = 1e-6


@dataclasses.dataclass
class Episodes:
    """A policy's episodes, as one batched rollout of the rollout core returned them.

    :param env: env short name or Gymnasium id.
    :param env_kwargs: the env's kwargs.
    :param horizon: steps per episode at most.
    :param gamma: discount of ``discounted``.
    :param stochastic: whether actions were Gaussian samples (else the mean action).
    :param seeds: ``(N,)`` reset seed of each episode.
    :param options: reset options of every episode (the env's evaluation start), or None.
    :param returns: ``(N,)`` undiscounted returns ``sum_t r_t`` (``J_det_undiscounted`` of a det episode).
    :param discounted: ``(N,)`` discounted returns ``sum_t gamma^t r_t`` (``J_det``).
    :param lengths: ``(N,)`` steps of each episode (fewer than ``horizon`` when it ended early).
    :param diverged: ``(N,)`` whether the episode ended by the rollout core's divergence rule.
    :param observations: ``(horizon, N, obs_dim)`` observation before step t (zero past an episode's end).
    :param final_observations: ``(N, obs_dim)`` observation after each episode's last step.
    :param actions: ``(horizon, N, action_dim)`` action the env received at step t: the raw action
        (mean, plus noise when stochastic), clipped to the action bounds for an env stepped through
        VecEnvs (as the rollout core does), raw for an env with pure batched dynamics (it saturates).
    """

    env: str
    env_kwargs: dict[str, Any]
    horizon: int
    gamma: float
    stochastic: bool
    seeds: np.ndarray
    options: dict[str, Any] | None
    returns: np.ndarray
    discounted: np.ndarray
    lengths: np.ndarray
    diverged: np.ndarray
    observations: np.ndarray
    final_observations: np.ndarray
    actions: np.ndarray

    @property
    def n_episodes(self) -> int:
        return int(self.returns.shape[0])

    def observations_of(self, i: int) -> np.ndarray:
        """``(L, obs_dim)`` observations of episode i before each of its ``L`` steps."""
        return self.observations[: int(self.lengths[i]), i]

    def frame_count(self, stride: int = 1) -> int:
        """Frames :meth:`EpisodeRenderer.frames` yields for all episodes: ``sum_i (L_i // stride + 1)``."""
        return int(sum(int(n) // stride + 1 for n in self.lengths))


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def play_episodes(env: str, policy, *, horizon: int, gamma: float, env_kwargs: dict[str, Any] | None = None,
                  eval_options: dict[str, Any] | None = None, episodes: int = 1, stochastic: bool = False,
                  seed: int = EVAL_SEED, n_threads: int | None = None, progress: Progress | None = None,
                  sde_sample_freq: int = -1) -> Episodes:
    """Roll ``episodes`` episodes of ``policy`` as rows of one batched rollout; record what the env saw.

    Episode i resets with seed ``seed + i`` and ``eval_options`` (with an evaluation start that fixes
    the start state, as every built-in env's does, the seed does not matter and every deterministic
    episode is the same one). Deterministic (default): the mean action ``mu_theta(s)``, and with the
    default ``seed`` episode 0 is the J_det row of a training run at this policy. Stochastic: the raw
    action ``mu_theta(s_t) + sigma * eps[t, i]`` (the policy's sigma; ``eps`` standard normal from
    the stream ``(seed, 0, PLAYBACK_NOISE)`` of :mod:`mollirl.common.seeding`, shape ``(horizon, episodes,
    action_dim)``), saturated by the env
    as in training. A policy that explores with gSDE (``policy.use_sde``) plays ``mu_theta(s_t) +
    theta_eps features(s_t)``, episode i's noise matrices (one, or one per ``sde_sample_freq`` steps) from
    that stream, as in training.

    :param env: env short name or Gymnasium id.
    :param policy: a :class:`~mollirl.policies.GaussianPolicy` (its mean network and sigma; not modified).
    :param horizon: steps per episode, >= 1.
    :param gamma: discount in (0, 1] of the discounted returns.
    :param env_kwargs: the env's kwargs (a run's).
    :param eval_options: reset options of every episode (the env plugin's evaluation start), or None.
    :param episodes: N >= 1.
    :param stochastic: Gaussian actions instead of the mean action.
    :param seed: >= 0; reset seeds ``seed + i`` and the noise's seed.
    :param n_threads: stepping threads of a batched MuJoCo env (None: all cores; no effect on the numbers).
    :param progress: ``progress(done, total)`` in time steps.
    :param sde_sample_freq: a gSDE policy's (its run's ``sde_sample_freq``): a new noise matrix every N steps
        (-1: one per episode).
    :raises ValueError: on a bad count, horizon, gamma or env kwargs.
    """
    n = _check_count("episodes", episodes, 1)
    horizon = _check_count("horizon", horizon, 1)
    seed = _check_count("seed", seed, 0)
    env_kwargs = dict(env_kwargs or {})
    noise = None
    sde_freq = None
    if stochastic and getattr(policy, "use_sde", False):
        sde_freq = int(sde_sample_freq) if sde_sample_freq >= 1 else -1
        n_mat = 1 if sde_freq == -1 else -(-horizon // sde_freq)
        noise = policy.sde_noise(stream_rng(seed, PLAYBACK_NOISE), n_mat, n)
    elif stochastic:
        sigma = np.asarray(policy.sigma, dtype=np.float64).reshape(-1)
        eps = stream_rng(seed, PLAYBACK_NOISE).standard_normal((horizon, n, sigma.shape[0]))
        noise = sigma * eps
    rows = Rows(mean=BatchedMean.of_policy(policy), seeds=seed + np.arange(n), options=eval_options, noise=noise,
                sde_sample_freq=sde_freq)
    venv = make_vec_env(env, n, max_episode_steps=horizon, n_threads=n_threads, **env_kwargs)
    try:
        backend = backend_for(venv)
        result = backend.run(rows, horizon=horizon, gamma=gamma, buffer_rows=n, progress=progress)
    finally:
        venv.close()
    actions = result.buffers.actions.copy()
    if isinstance(backend, VecEnvBackend):  # what the core handed the env
        actions = np.clip(actions, backend.low, backend.high)
    return Episodes(
        env=env, env_kwargs=env_kwargs, horizon=horizon, gamma=float(gamma), stochastic=bool(stochastic),
        seeds=rows.seeds.copy(), options=None if eval_options is None else dict(eval_options),
        returns=result.undiscounted.copy(), discounted=result.discounted.copy(), lengths=result.lengths.copy(),
        diverged=result.diverged.copy(), observations=result.buffers.obs.copy(),
        final_observations=result.final_obs.copy(), actions=actions,
    )


def _render_modes(env: str) -> list[str] | None:
    """The render modes the env class declares (None: unknown without making it)."""
    import gymnasium as gym
    from gymnasium.envs.registration import load_env_creator

    spec = gym.registry.get(get_env_plugin(env).gym_id)
    if spec is None or not isinstance(spec.entry_point, (str, type)):
        return None
    try:
        creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else spec.entry_point
    except (ImportError, AttributeError):
        return None
    modes = getattr(creator, "metadata", {}).get("render_modes")
    return None if modes is None else list(modes)


class EpisodeRenderer:
    """RGB frames of recorded :class:`Episodes`, replayed in one ``render_mode="rgb_array"`` env.

    :param env: env short name or Gymnasium id.
    :param env_kwargs: the episodes' env kwargs.
    :param horizon: the episodes' horizon (the env's time limit).
    :param render_kwargs: kwargs of the rendering env only, e.g. ``{"width": 240, "height": 240}``
        for a MuJoCo env (the analytic envs draw 400 x 400 and take none).
    :param fast: a MuJoCo env renders without shadows and reflections: about 2.3x less CPU for a whole
        ``enjoy --video`` in software OpenGL (Mesa's llvmpipe behind EGL or OSMesa: about 0.06 s of CPU per
        480 x 480 hopper frame with them, 0.023 s without; ``benchmarks/render_speed.py``, README); no
        effect on other envs.
    :raises ValueError: when the env has no ``rgb_array`` mode, or is a MuJoCo env on a machine
        with no display where neither EGL nor OSMesa works.

    Use as a context manager or call :meth:`close`.
    """

    def __init__(self, env: str, env_kwargs: dict[str, Any] | None = None, *, horizon: int,
                 render_kwargs: dict[str, Any] | None = None, fast: bool = False) -> None:
        modes = _render_modes(env)
        if modes is not None and "rgb_array" not in modes:
            raise ValueError(f"env {env!r} cannot render frames: its render modes are {modes}, not 'rgb_array'")
        kwargs = {**dict(env_kwargs or {}), **dict(render_kwargs or {}), "render_mode": "rgb_array"}
        try:
            self.env = make_env(env, max_episode_steps=_check_count("horizon", horizon, 1),
                                disable_env_checker=True, **kwargs)
        except ValueError as exc:
            raise ValueError(f"env {env!r} cannot render frames: {exc}") from None
        if hasattr(self.env.unwrapped, "mujoco_renderer") and not has_display() and not os.environ.get("MUJOCO_GL"):
            select_gl_backend()  # before the first frame: Gymnasium's MuJoCo renderer reads MUJOCO_GL then
            if not os.environ.get("MUJOCO_GL"):
                self.env.close()
                raise ValueError("MuJoCo cannot render frames here: no display, and neither EGL nor OSMesa works; "
                                 "install Debian's libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 or libosmesa6 "
                                 "(see .ci/render.sh)")
        self.name = env
        if fast and hasattr(self.env.unwrapped, "mujoco_renderer"):
            self._plain_scene()
        #: return of each replayed episode, by index (compare with :attr:`Episodes.returns`)
        self.replayed_returns: dict[int, float] = {}

    @property
    def fps(self) -> float:
        """Frames per second of real time: the env's ``metadata["render_fps"]`` (one frame per step)."""
        fps = self.env.unwrapped.metadata.get("render_fps") or self.env.metadata.get("render_fps")
        return float(fps) if fps else DEFAULT_FPS

    def frames(self, episodes: Episodes, i: int, *, stride: int = 1) -> Iterator[np.ndarray]:
        """Frames of episode i: after the reset, then after every ``stride``-th step (``L // stride + 1``).

        The recorded actions are replayed open loop; once the replay is done its return is kept in
        :attr:`replayed_returns` and a warning says when it differs from the rollout's.
        """
        stride = _check_count("stride", stride, 1)
        length = int(episodes.lengths[i])
        env = self.env
        env.reset(seed=int(episodes.seeds[i]), options=episodes.options)
        yield self._frame()
        total = 0.0
        for t in range(length):
            _, reward, terminated, truncated, _ = env.step(episodes.actions[t, i])
            total += float(reward)
            if (t + 1) % stride == 0:
                yield self._frame()
            if (terminated or truncated) and t + 1 < length:
                warnings.warn(f"{self.name}: the replay of episode {i} ended after {t + 1} steps, the rollout's "
                              f"after {length}: its frames stop early", stacklevel=2)
                break
        self.replayed_returns[i] = total
        expected = float(episodes.returns[i])
        if abs(total - expected) > REPLAY_TOLERANCE * max(1.0, abs(expected)):
            warnings.warn(f"{self.name}: the replay of episode {i} returned {total!r}, the rollout {expected!r}: "
                          "the frames drift from the episode whose return was reported", stacklevel=2)

    def _plain_scene(self) -> None:
        """Turn off the MuJoCo scene's shadows and reflections (the viewer exists after a first frame)."""
        import mujoco

        self.env.reset(seed=0)
        self.env.render()
        viewer = getattr(self.env.unwrapped.mujoco_renderer, "viewer", None)
        if viewer is None or not hasattr(viewer, "scn"):
            logger.debug("%s: no MuJoCo viewer to set render flags on", self.name)
            return
        for flag in (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION):
            viewer.scn.flags[flag] = 0

    def _frame(self) -> np.ndarray:
        frame = self.env.render()
        if frame is None:
            raise ValueError(f"env {self.name!r} rendered no frame in render_mode 'rgb_array'")
        return np.ascontiguousarray(np.asarray(frame, dtype=np.uint8)[..., :3])

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> EpisodeRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclasses.dataclass(frozen=True)
class VideoFile:
    """A written clip: its path, frame count and playback rate."""

    path: Path
    n_frames: int
    fps: float


def video_stride(path: str | os.PathLike[str], fps: float) -> int:
    """Frames kept per clip frame: 1 for ``.mp4`` (every step), :func:`~mollirl.video.gif_frame_stride`
    for ``.gif`` (real time within GIF's whole-centisecond delays)."""
    return gif_frame_stride(fps) if Path(path).suffix.lower() == ".gif" else 1


def write_episodes_video(path: str | os.PathLike[str], episodes: Episodes, renderer: EpisodeRenderer, *,
                         on_frame=None) -> VideoFile:
    """Write every episode's frames, one after the other, to ``path`` (``.mp4`` or ``.gif``), atomically.

    An ``.mp4`` holds every frame at the env's ``render_fps`` (real time); a ``.gif`` every k-th at
    ``render_fps / k`` (:func:`video_stride`), so ``episodes.frame_count(k)`` frames.

    :param on_frame: called once per frame written (a progress bar).
    :raises ValueError: for a path :func:`~mollirl.video.check_video_path` refuses.
    """
    path = check_video_path(path)
    fps = renderer.fps
    stride = video_stride(path, fps)
    count = 0

    def frames() -> Iterator[np.ndarray]:
        nonlocal count
        for i in range(episodes.n_episodes):
            for frame in renderer.frames(episodes, i, stride=stride):
                count += 1
                if on_frame is not None:
                    on_frame()
                yield frame

    write_video(frames(), path, fps / stride)
    return VideoFile(path=path, n_frames=count, fps=fps / stride)


def filmstrip(frames: list[np.ndarray], *, gap: int = 4) -> np.ndarray:
    """Frames side by side in one ``(height, n * width + (n - 1) * gap, 3)`` image, white gaps between."""
    if not frames:
        raise ValueError("a filmstrip needs at least one frame")
    h, w = frames[0].shape[:2]
    out = np.full((h, len(frames) * w + (len(frames) - 1) * gap, 3), 255, dtype=np.uint8)
    for k, frame in enumerate(frames):
        out[:, k * (w + gap): k * (w + gap) + w] = frame
    return out


__all__ = ["DEFAULT_FPS", "EpisodeRenderer", "Episodes", "VideoFile", "filmstrip", "play_episodes", "video_stride",
           "write_episodes_video"]
