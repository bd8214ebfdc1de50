"""Clips of the deterministic policy while training (registered as ``video``: ``--callback video:every=10``).

Epoch k's clip is taken at the start of epoch k (``_on_rollout_start``; the policy is
theta_k, as for ``train/J_det``) when ``k % every == 0``, and once more at the end of
training (theta_K). It is the J_det row itself (the mean action from the env's
evaluation start, through the rollout core, :func:`mollirl.common.playback.play_episodes`),
replayed in a rendering env. Each clip writes

- ``<run_dir>/videos/epoch_NNNNNN.mp4`` (every step at the env's ``render_fps``, real
  time), or ``.gif`` with ``format=gif`` (every k-th step, real time);
- a TensorBoard animated GIF ``video/episode`` (the Images tab plays it): what
  ``SummaryWriter.add_video`` writes, encoded here with imageio and Pillow because
  ``add_video`` needs moviepy (not a dependency; moviepy 2 also dropped the
  ``moviepy.editor`` module it imports). Every k-th step (real time within GIF's
  centisecond delays: k = 5 for hopper-stand, 2 for the pendulums), each frame
  shrunk by a whole factor to at most ``tb_size`` pixels a side;
- the scalar ``video/return``: the clip's undiscounted return, equal to
  ``train/J_det_undiscounted`` of that epoch.

Cost: one deterministic rollout plus one frame per step. MuJoCo frames are the
expensive part on a machine without a GPU (Mesa's software OpenGL): about 0.06 s of CPU
per 480 x 480 hopper frame, 0.023 s with ``fast=true`` (the default here: no shadows or
reflections; ``benchmarks/render_speed.py``, README), so a 1000-step hopper clip costs
about 25-30 s of CPU (frames, steps and the encoder).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from mollirl.common.callbacks import EpisodeSnapshotCallback
from mollirl.common.callbacks import check_int as _check_int

logger = logging.getLogger(__name__)

FORMATS = ("mp4", "gif")
TB_TAG = "video/episode"


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def shrink(frame: np.ndarray, max_size: int) -> np.ndarray:
    """Every f-th pixel of ``frame`` along both axes, the smallest whole f giving sides <= ``max_size``."""
    f = max(1, math.ceil(max(frame.shape[:2]) / max_size))
    return np.ascontiguousarray(frame[::f, ::f])


def gif_summary(tag: str, frames: list[np.ndarray], fps: float):
    """A TensorBoard ``Summary`` holding ``frames`` as one animated GIF (the image proto ``add_video`` writes)."""
    import imageio.v3 as iio
    from tensorboard.compat.proto.summary_pb2 import Summary

    data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", plugin="pillow", duration=1000.0 / fps, loop=0)
    h, w = frames[0].shape[:2]
    image = Summary.Image(height=h, width=w, colorspace=3, encoded_image_string=data)
    return Summary(value=[Summary.Value(tag=tag, image=image)])


class VideoRecorderCallback(EpisodeSnapshotCallback):
    """The deterministic policy's episode from the evaluation start, filmed every ``every`` epochs.

    :param run_dir: the run folder (clips go to ``run_dir/videos/``).
    :param env: env short name or Gymnasium id.
    :param steps_per_epoch: env steps per epoch (``batch_episodes * horizon``): the TensorBoard x.
    :param horizon: steps of a clip.
    :param gamma: discount (of the discounted return, not logged).
    :param env_kwargs: the run's env kwargs.
    :param eval_options: reset options of the env's evaluation start.
    :param every: epochs between clips (>= 1); epoch 0 and the last epoch are always filmed.
    :param format: ``mp4`` or ``gif`` (the file in ``videos/``).
    :param tensorboard: also write the TensorBoard GIF.
    :param tb_size: largest side of the TensorBoard GIF's frames, pixels (>= 16).
    :param fast: MuJoCo frames without shadows and reflections (about 4x faster in software OpenGL).
    :raises ValueError: on bad options, a missing imageio / imageio-ffmpeg / Pillow, or an env that
        cannot render ``rgb_array`` frames here (checked at construction: before the run folder exists).
    """

    folder = "videos"

    def __init__(self, run_dir: str | Path, env: str, *, steps_per_epoch: int, horizon: int, gamma: float,
                 env_kwargs: dict[str, Any] | None = None, eval_options: dict[str, Any] | None = None,
                 every: int = 10, format: str = "mp4", tensorboard: bool = True, tb_size: int = 240,
                 fast: bool = True, verbose: int = 0) -> None:
        from mollirl.common.playback import EpisodeRenderer
        from mollirl.video import check_video_dependencies

        super().__init__(run_dir, env, steps_per_epoch=steps_per_epoch, horizon=horizon, gamma=gamma,
                         env_kwargs=env_kwargs, eval_options=eval_options, every=every, verbose=verbose)
        if format not in FORMATS:
            raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
        self.format = format
        self.tensorboard = _check_bool("tensorboard", tensorboard)
        self.tb_size = _check_int("tb_size", tb_size, 16)
        check_video_dependencies(f".{format}")
        if self.tensorboard:
            check_video_dependencies(".gif")
        self.renderer: EpisodeRenderer | None = EpisodeRenderer(env, self.env_kwargs, horizon=self.horizon,
                                                                fast=_check_bool("fast", fast))
        self.done_epochs: set[int] = set()
        self.paths: list[Path] = []

    # --- hooks -------------------------------------------------------------------------
    def _on_rollout_start(self) -> None:
        epoch = int(self.model.epoch)
        if epoch % self.every == 0 and epoch not in self.done_epochs:
            self._clip(epoch)

    def _on_training_end(self) -> None:
        try:
            epoch = int(self.model.epoch)
            at_boundary = self.model.num_timesteps == epoch * self.steps_per_epoch  # not a run stopped mid-epoch
            if at_boundary and epoch not in self.done_epochs:
                self._clip(epoch)
                self.logger.dump(step=self.model.num_timesteps)
        finally:
            self.close()

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None

    # --- work ----------------------------------------------------------------------------
    def _clip(self, epoch: int) -> Path:
        from mollirl.common.playback import play_episodes, video_stride
        from mollirl.video import gif_frame_stride, write_video

        episodes = play_episodes(self.env, self.model.policy, horizon=self.horizon, gamma=self.gamma,
                                 env_kwargs=self.env_kwargs, eval_options=self.eval_options)
        path = self.run_dir / self.folder / f"epoch_{epoch:06d}.{self.format}"
        path.parent.mkdir(parents=True, exist_ok=True)
        fps = self.renderer.fps
        stride = video_stride(path, fps)
        tb_stride = gif_frame_stride(fps)
        tb_frames: list[np.ndarray] = []

        def frames():
            for j, frame in enumerate(self.renderer.frames(episodes, 0, stride=stride)):
                if self.tensorboard and (j * stride) % tb_stride == 0:
                    tb_frames.append(shrink(frame, self.tb_size))
                yield frame

        write_video(frames(), path, fps / stride)
        self.paths.append(path)
        self.done_epochs.add(epoch)
        self.logger.record("video/return", float(episodes.returns[0]))
        if self.tensorboard and tb_frames:
            self._write_tensorboard(gif_summary(TB_TAG, tb_frames, fps / tb_stride), epoch * self.steps_per_epoch)
        logger.debug("video of epoch %d: %s (return %r)", epoch, path, float(episodes.returns[0]))
        return path

    def _write_tensorboard(self, summary, step: int) -> None:
        from stable_baselines3.common.logger import TensorBoardOutputFormat

        writers = [f.writer for f in self.logger.output_formats if isinstance(f, TensorBoardOutputFormat)]
        for writer in writers:
            writer.file_writer.add_summary(summary, step)
        if not writers:
            logger.debug("no TensorBoard output: the clip is only in %s", self.run_dir / self.folder)


def video_callback(context, *, every: int = 10, format: str = "mp4", tensorboard: bool = True, tb_size: int = 240,
                   fast: bool = True, horizon: int | None = None) -> VideoRecorderCallback:
    """Factory of ``--callback video:every=10,format=mp4,tensorboard=true,tb_size=240,fast=true,horizon=H``
    (options as :class:`VideoRecorderCallback`; ``horizon`` defaults to the run's)."""
    config = context.config
    return VideoRecorderCallback(
        context.run_dir, config.env, steps_per_epoch=config.steps_per_epoch,
        horizon=config.horizon if horizon is None else horizon, gamma=config.gamma,
        env_kwargs=dict(config.env_kwargs), eval_options=context.eval_options, every=every, format=format,
        tensorboard=tensorboard, tb_size=tb_size, fast=fast,
    )
