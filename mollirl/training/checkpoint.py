"""Checkpoints at epoch boundaries, as one verified unit; a stop flag that SIGINT/SIGTERM raise.

A checkpoint of epoch k is ``checkpoints/epoch_<k>.zip`` (SB3 ``save`` of the model
at the start of epoch k, i.e. after k updates) and ``checkpoints/latest.json``
naming it with its SHA-256 and epoch. Each file is written under a temporary name,
flushed to disk and renamed; ``latest.json`` is renamed last, so a crash at any
moment leaves the previous checkpoint whole. The previous zip is removed after
the new pointer is in place (unless it is kept: ``keep=True``, ``--save-freq``).
``--resume`` verifies the unit: the zip named by ``latest.json`` exists, has that
hash and holds that epoch; a checkpoint whose parts disagree is refused.

The contract's counter-based seeding (:mod:`mollirl.common.seeding`) means a
checkpoint needs no RNG state.
"""

from __future__ import annotations

import hashlib
import io
import json
import signal
import zipfile
from pathlib import Path
from typing import Any

from mollirl.common.callbacks import EpochCallback
from mollirl.common.files import unlink_after_writes, write_atomic, write_bytes_atomic

CHECKPOINT_DIR = "checkpoints"
LATEST = "latest.json"
FORMAT = 2


def checkpoint_name(epoch: int) -> str:
    return f"epoch_{int(epoch):06d}.zip"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_bytes(model) -> bytes:
    """The bytes of ``model.save``: SB3's zip, made in memory."""
    buffer = io.BytesIO()
    model.save(buffer)
    return buffer.getvalue()


def save_model_atomic(model, path: Path, payload: bytes | None = None) -> str:
    """``model.save`` to ``path`` (a ``.zip``) through a temporary file; returns the file's SHA-256. Inside
    :func:`mollirl.common.files.batched_writes` it is flushed and renamed with the batch.

    :param payload: the zip's bytes when already made (:func:`model_bytes` of the same state: a run's final
        checkpoint and its ``model.zip`` are one serialization written twice).
    """
    data = model_bytes(model) if payload is None else payload
    write_bytes_atomic(Path(path), lambda tmp: Path(tmp).write_bytes(data), defer=True)
    return hashlib.sha256(data).hexdigest()


def read_pointer(run_dir: str | Path) -> dict[str, Any] | None:
    """``latest.json`` of a run folder, or None when absent or unreadable (not verified)."""
    try:
        state = json.loads((Path(run_dir) / CHECKPOINT_DIR / LATEST).read_text())
        return state if isinstance(state, dict) else None
    except (OSError, ValueError):
        return None


def flush_logger(model) -> None:
    """Write out what the model's logger outputs hold back (``metrics.csv`` rows and TensorBoard events are
    flushed lazily, at most :data:`mollirl.training.metrics.FLUSH_SECONDS` apart)."""
    logger_ = getattr(model, "_logger", None)
    for fmt in getattr(logger_, "output_formats", []):
        flush = getattr(fmt, "flush_pending", None)
        if flush is not None:
            flush()


def epoch_bytes(model) -> bytes:
    """:func:`model_bytes` of ``model`` at its completed epoch (``num_timesteps`` at the epoch's end: a run
    stopped mid-epoch did not have that epoch): what a checkpoint holds."""
    saved_steps = model.num_timesteps
    model.num_timesteps = int(model.epoch) * model.steps_per_epoch
    try:
        return model_bytes(model)
    finally:
        model.num_timesteps = saved_steps


def save_checkpoint(model, run_dir: str | Path, *, keep: bool = False, payload: bytes | None = None) -> int:
    """Checkpoint ``model`` at its completed epoch ``model.epoch``; return that epoch.

    :param keep: keep this epoch's zip when a later checkpoint replaces it.
    :param payload: :func:`epoch_bytes` of the model, when already made.
    """
    flush_logger(model)  # every row before this epoch is on disk before the checkpoint that continues after it
    ckpt = Path(run_dir) / CHECKPOINT_DIR
    ckpt.mkdir(parents=True, exist_ok=True)
    epoch = int(model.epoch)
    name = checkpoint_name(epoch)
    digest = save_model_atomic(model, ckpt / name, epoch_bytes(model) if payload is None else payload)
    previous = read_pointer(run_dir) or {}
    kept = sorted(set(previous.get("kept", [])) | ({name} if keep else set()))
    from mollirl.training.history import config_record

    state = {"format": FORMAT, "epoch": epoch, "num_timesteps": epoch * model.steps_per_epoch, "zip": name,
             "sha256": digest, "kept": kept, **config_record(run_dir)}  # the config it was trained with
    write_atomic(ckpt / LATEST, json.dumps(state), defer=True)
    old = previous.get("zip")
    if isinstance(old, str) and old != name and old not in kept and (ckpt / old).is_file():
        unlink_after_writes(ckpt / old)
    return epoch


def _zip_epoch(path: Path) -> int:
    """The ``epoch`` an SB3 zip of an :class:`EpochAlgorithm` holds (from its ``data`` JSON)."""
    with zipfile.ZipFile(path) as zf:
        data = json.loads(zf.read("data"))
    return int(data["epoch"])


def model_epoch(path: str | Path) -> int | None:
    """The epoch a saved model (``model.zip``) holds, or None when it is absent or unreadable."""
    try:
        return _zip_epoch(Path(path))
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None


def load_checkpoint_state(run_dir: str | Path) -> dict[str, Any]:
    """``latest.json`` of a run folder, verified against the zip it names.

    :raises ValueError: (one line naming the files) when the checkpoint is missing, unreadable,
        or its parts disagree (another hash, another epoch).
    """
    ckpt = Path(run_dir) / CHECKPOINT_DIR
    pointer = ckpt / LATEST
    try:
        state = json.loads(pointer.read_text())
        epoch = int(state["epoch"])
        name = str(state["zip"])
        digest = str(state["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"run folder {str(run_dir)!r} has no readable checkpoint ({pointer}: "
                         f"{type(exc).__name__})") from None
    zip_path = ckpt / name
    if Path(name).name != name or not zip_path.is_file():
        raise ValueError(f"checkpoint {pointer} names {name!r}, which is missing")
    if sha256(zip_path) != digest:
        raise ValueError(f"checkpoint parts disagree: {zip_path} is not the file {pointer} was written with "
                         "(another SHA-256)")
    try:
        zip_epoch = _zip_epoch(zip_path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"checkpoint {zip_path} is unreadable ({type(exc).__name__})") from None
    if zip_epoch != epoch:
        raise ValueError(f"checkpoint parts disagree: {pointer} says epoch {epoch}, {zip_path} holds epoch {zip_epoch}")
    return {**state, "path": str(zip_path)}


class StopFlag:
    """Set by SIGINT/SIGTERM while installed; ``EpochAlgorithm.learn(stop_flag=...)`` stops at the next step."""

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


class CheckpointCallback(EpochCallback):
    """Checkpoint every ``every`` epochs, at the start of the epoch (i.e. after the update).

    :param run_dir: run folder; checkpoints go to ``run_dir/checkpoints/``.
    :param every: epochs between checkpoints (0: none here; the trainer saves at the end).
    :param keep_every: also checkpoint the epochs that are multiples of this and keep their zips
        (``--save-freq``; 0: only the latest is kept).
    """

    def __init__(self, run_dir: str | Path, every: int, keep_every: int = 0):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.every = every
        self.keep_every = keep_every
        self.saved: set[int] = set()

    def _on_rollout_start(self) -> None:
        epoch = int(self.model.epoch)
        keep = bool(self.keep_every) and epoch % self.keep_every == 0
        if epoch > 0 and (keep or (self.every and epoch % self.every == 0)) and epoch not in self.saved:
            save_checkpoint(self.model, self.run_dir, keep=keep)
            self.saved.add(epoch)
