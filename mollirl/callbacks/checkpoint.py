"""Checkpoints at epoch boundaries, and a stop flag that SIGINT/SIGTERM raise."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

CHECKPOINT_DIR = "checkpoints"


def save_checkpoint(model, run_dir: str | Path, steps_per_epoch: int) -> int:
    """Save ``model`` at its last completed epoch into ``run_dir/checkpoints/latest.*``.

    The model's ``num_timesteps`` is rounded down to the epoch boundary (a run
    stopped mid-epoch drops that partial epoch; parameters only change at the
    update, so they are theta_k). Global RNG states go into ``latest.json``.
    Files are written to a temporary name and moved, so a kill during saving
    leaves the previous checkpoint intact. Returns the epoch saved.
    """
    ckpt = Path(run_dir) / CHECKPOINT_DIR
    ckpt.mkdir(parents=True, exist_ok=True)
    epoch = model.num_timesteps // steps_per_epoch
    saved_steps = model.num_timesteps
    model.num_timesteps = epoch * steps_per_epoch
    try:
        tmp = ckpt / "latest.tmp.zip"
        model.save(tmp)
        os.replace(tmp, ckpt / "latest.zip")
    finally:
        model.num_timesteps = saved_steps
    state = {
        "epoch": epoch,
        "num_timesteps": epoch * steps_per_epoch,
        "torch_rng": th.get_rng_state().tolist(),
        "numpy_rng": _np_state_to_json(np.random.get_state()),
    }
    tmp_json = ckpt / "latest.tmp.json"
    tmp_json.write_text(json.dumps(state))
    os.replace(tmp_json, ckpt / "latest.json")
    return epoch


def load_checkpoint_state(run_dir: str | Path) -> dict[str, Any]:
    """Read ``latest.json``; raises ``ValueError`` if the checkpoint is missing or corrupt."""
    ckpt = Path(run_dir) / CHECKPOINT_DIR
    try:
        state = json.loads((ckpt / "latest.json").read_text())
        int(state["epoch"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"run folder {str(run_dir)!r} has no readable checkpoint ({type(exc).__name__})") from None
    if not (ckpt / "latest.zip").is_file():
        raise ValueError(f"run folder {str(run_dir)!r} has no checkpoint model (checkpoints/latest.zip)")
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore the global torch and numpy RNG states saved by :func:`save_checkpoint`."""
    th.set_rng_state(th.tensor(state["torch_rng"], dtype=th.uint8))
    np.random.set_state(_np_state_from_json(state["numpy_rng"]))


def _np_state_to_json(st: tuple) -> list:
    return [st[0], st[1].tolist(), int(st[2]), int(st[3]), float(st[4])]


def _np_state_from_json(st: list) -> tuple:
    return (st[0], np.array(st[1], dtype=np.uint32), st[2], st[3], st[4])


class StopFlag:
    """Set by SIGINT/SIGTERM while installed; training stops at the next env step."""

    def __init__(self) -> None:
        self.raised: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum, frame) -> None:  # noqa: ARG002
        self.raised = signum

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not in the main thread: signals stay with the caller
                pass

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class CheckpointCallback(BaseCallback):
    """Checkpoint every ``every`` epochs (at the start of the epoch, i.e. after the
    update) and stop training when ``stop_flag`` is raised.

    :param run_dir: run folder; checkpoints go to ``run_dir/checkpoints/``.
    :param every: epochs between checkpoints (0: none here; the driver saves at the end).
    :param steps_per_epoch: env steps per epoch.
    :param stop_flag: a :class:`StopFlag` checked at every step.
    """

    def __init__(self, run_dir: str | Path, every: int, steps_per_epoch: int, stop_flag: StopFlag | None = None):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.every = every
        self.steps_per_epoch = steps_per_epoch
        self.stop_flag = stop_flag

    def _on_rollout_start(self) -> None:
        epoch = self.model.num_timesteps // self.steps_per_epoch
        if self.every and epoch > 0 and epoch % self.every == 0:
            save_checkpoint(self.model, self.run_dir, self.steps_per_epoch)

    def _on_step(self) -> bool:
        return not (self.stop_flag is not None and self.stop_flag.raised is not None)
