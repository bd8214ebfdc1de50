"""rl-zoo3's ``--eval-freq`` / ``--eval-episodes`` and ``--log-interval`` for epoch-based runs.

:class:`EvalCallback` evaluates the policy every ``eval_freq`` epochs, as SB3's
``EvalCallback`` does every ``eval_freq`` calls: ``eval_episodes`` episodes of the
deterministic policy (the mean action), episode i reset with seed ``EVAL_SEED + i``
and the env's evaluation start, through the rollout core
(:func:`mollirl.common.playback.play_episodes`; episode 0 is the J_det row, so its
return is that epoch's ``J_det_undiscounted``). Every built-in env starts its
evaluation at one fixed state, so their deterministic episodes are identical; an
env whose evaluation start is its own start distribution gives different ones.

Epoch k's evaluation is of theta_k (the policy at the start of epoch k, after k
updates, the policy of ``train/J_det`` at that x), taken for k = N, 2N, ... (not at
epoch 0, as SB3), the last epoch included when it is a multiple of N. It writes:

- ``evaluations.npz`` in SB3's format: ``timesteps`` ``(n_evals,)`` (env steps done
  before theta_k, ``k * steps_per_epoch``), ``results`` ``(n_evals, eval_episodes)``
  the undiscounted returns, ``ep_lengths`` ``(n_evals, eval_episodes)``;
- ``best_model.zip`` whenever the mean return beats every earlier one (ties keep the
  earlier model), for ``--at best`` of ``enjoy`` and ``landscape``;
- ``eval/mean_reward``, ``eval/mean_ep_length`` to the logger (TensorBoard) at that x.

On ``--resume`` from the checkpoint of epoch r the evaluations of epochs < r are kept
and the later ones are taken again (they repeat exactly: the rollout is seeded).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.callbacks import EpochCallback

logger = logging.getLogger(__name__)

EVALUATIONS = "evaluations.npz"
BEST_MODEL = "best_model.zip"


class EvalCallback(EpochCallback):
    """Evaluations every ``eval_freq`` epochs into ``evaluations.npz`` and ``best_model.zip``.

    :param run_dir: the run folder.
    :param env: env short name or Gymnasium id.
    :param eval_freq: epochs between evaluations, >= 1.
    :param eval_episodes: episodes per evaluation, >= 1.
    :param horizon: steps per episode.
    :param gamma: discount (of the discounted returns; the npz holds undiscounted ones).
    :param env_kwargs: the run's env kwargs.
    :param eval_options: reset options of the env's evaluation start.
    :param n_threads: stepping threads of a batched MuJoCo env.
    """

    def __init__(self, run_dir: str | Path, env: str, *, eval_freq: int, eval_episodes: int, horizon: int,
                 gamma: float, env_kwargs: dict[str, Any] | None = None, eval_options: dict | None = None,
                 n_threads: int | None = None, verbose: int = 0) -> None:
        super().__init__(verbose)
        if eval_freq < 1 or eval_episodes < 1:
            raise ValueError(f"eval_freq and eval_episodes must be >= 1, got {eval_freq}, {eval_episodes}")
        self.run_dir = Path(run_dir)
        self.env = env
        self.eval_freq = int(eval_freq)
        self.eval_episodes = int(eval_episodes)
        self.horizon = int(horizon)
        self.gamma = float(gamma)
        self.env_kwargs = dict(env_kwargs or {})
        self.eval_options = None if eval_options is None else dict(eval_options)
        self.n_threads = n_threads
        self.timesteps: list[int] = []
        self.results: list[np.ndarray] = []
        self.ep_lengths: list[np.ndarray] = []
        self.best_mean = -np.inf

    def _on_training_start(self) -> None:
        path = self.run_dir / EVALUATIONS
        start = int(self.model.epoch) * self.model.steps_per_epoch
        if path.is_file() and start > 0:  # a resumed run: keep the evaluations before the checkpoint
            with np.load(path) as data:
                keep = data["timesteps"] < start
                self.timesteps = [int(t) for t in data["timesteps"][keep]]
                self.results = list(data["results"][keep])
                self.ep_lengths = list(data["ep_lengths"][keep])
            self.best_mean = max((float(np.mean(r)) for r in self.results), default=-np.inf)

    def _on_rollout_start(self) -> None:
        epoch = int(self.model.epoch)
        if epoch > 0 and epoch % self.eval_freq == 0:
            self._evaluate(epoch)

    def _on_training_end(self) -> None:
        epoch = int(self.model.epoch)
        at_boundary = self.model.num_timesteps == epoch * self.model.steps_per_epoch  # not stopped mid-epoch
        done = epoch * self.model.steps_per_epoch in self.timesteps
        if at_boundary and epoch > 0 and epoch % self.eval_freq == 0 and not done:
            self._evaluate(epoch)
            self.logger.dump(step=epoch * self.model.steps_per_epoch)

    def _evaluate(self, epoch: int) -> None:
        from mollirl.common.files import write_bytes_atomic
        from mollirl.common.playback import play_episodes
        from mollirl.training.checkpoint import save_model_atomic

        episodes = play_episodes(self.env, self.model.policy, horizon=self.horizon, gamma=self.gamma,
                                 env_kwargs=self.env_kwargs, eval_options=self.eval_options,
                                 episodes=self.eval_episodes, n_threads=self.n_threads)
        step = epoch * self.model.steps_per_epoch
        if step in self.timesteps:  # the same epoch again (a run resumed from this epoch's checkpoint)
            i = self.timesteps.index(step)
            del self.timesteps[i], self.results[i], self.ep_lengths[i]
        self.timesteps.append(step)
        self.results.append(np.asarray(episodes.returns, dtype=np.float64))
        self.ep_lengths.append(np.asarray(episodes.lengths, dtype=np.int64))
        arrays = dict(timesteps=np.asarray(self.timesteps, dtype=np.int64), results=np.stack(self.results),
                      ep_lengths=np.stack(self.ep_lengths))
        write_bytes_atomic(self.run_dir / EVALUATIONS, lambda tmp: np.savez(tmp, **arrays))
        mean = float(np.mean(episodes.returns))
        self.logger.record("eval/mean_reward", mean)
        self.logger.record("eval/mean_ep_length", float(np.mean(episodes.lengths)))
        if mean > self.best_mean:
            self.best_mean = mean
            save_model_atomic(self.model, self.run_dir / BEST_MODEL)
            logger.info("epoch %d: new best mean evaluation return %r", epoch, mean)


class LogIntervalCallback(EpochCallback):
    """One line on stdout every ``every`` epochs (rl-zoo3's ``--log-interval``): what the epoch measured.

    Printed at the end of epoch k's rollout for k + 1 a multiple of ``every`` (SB3 counts
    iterations from 1), from the values the epoch recorded for the logger
    (``train/J_det`` of theta_k, ``train/J_sigma``, ``train/sigma``); ``metrics.csv`` and
    TensorBoard hold every epoch whatever ``every`` is.

    :param every: epochs between lines, >= 1.
    :param label: printed first (a population member's name), or "".
    :param stream: where to print (default ``sys.stdout``).
    """

    KEYS = ("J_det", "J_det_undiscounted", "J_sigma", "sigma")

    def __init__(self, every: int, label: str = "", stream=None) -> None:
        super().__init__()
        if every < 1:
            raise ValueError(f"--log-interval must be >= 1, got {every}")
        self.every = int(every)
        self.label = label
        self.stream = stream

    def _on_rollout_end(self) -> None:
        epoch = int(self.model.epoch)
        if (epoch + 1) % self.every:  # SB3 logs iterations 1-based: epochs N - 1, 2N - 1, ...
            return
        values = self.logger.name_to_value
        parts = [f"epoch {epoch:>5}", f"steps {epoch * self.model.steps_per_epoch:>10}"]
        for key in self.KEYS:
            if f"train/{key}" in values:
                parts.append(f"{key} {float(values[f'train/{key}']):.6g}")
        prefix = f"{self.label}: " if self.label else ""
        print(prefix + "  ".join(parts), file=self.stream or sys.stdout, flush=True)


__all__ = ["BEST_MODEL", "EVALUATIONS", "EvalCallback", "LogIntervalCallback"]
