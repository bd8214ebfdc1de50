"""The files SB3's and rl-zoo3's own tools read in a run folder: ``train.monitor.csv`` and ``progress.csv``.

* ``train.monitor.csv``: what ``stable_baselines3.common.monitor.Monitor`` writes, one row per training
  episode: the header line ``#{"t_start": ..., "env_id": ...}`` (JSON), the columns ``r`` (the episode's
  undiscounted return, rounded to 6 decimals), ``l`` (its length in env steps) and ``t`` (seconds since
  ``t_start`` when its epoch's rollout ended, rounded to 6 decimals). An epoch's ``batch_episodes``
  episodes (ARS: its candidates) are rows in their order in the batch, all with the same ``t`` (they run side
  by side). So ``stable_baselines3.common.monitor.load_results(run_dir)``,
  ``stable_baselines3.common.results_plotter.plot_results`` and rl-zoo3's ``plot_train`` draw the training
  curve (their x: the cumulative sum of ``l``, i.e. env steps taken by episodes, which is the run's
  ``timesteps`` wherever no episode ended early). A stopped or non-finite epoch writes no row (as
  ``metrics.csv``), and a resumed run keeps the rows of the epochs before it: an interrupted-and-resumed run's
  file has the same rows as an uninterrupted one (its ``t`` values are wall times).
* ``progress.csv``: what SB3's ``CSVOutputFormat`` writes (``configure(folder, ["csv"])``): one row per logger
  dump with every key the run records, SB3's ``time/iterations``, ``time/time_elapsed``,
  ``time/total_timesteps`` and ``time/fps`` (which SB3 keeps out of TensorBoard) among them; a key that appears
  later adds a column (the file is rewritten with it, as SB3 does). Values that are not numbers or strings
  (images) are left out.

Both hold their rows back and write them in batches, as ``metrics.csv`` does (at most
:data:`mollirl.training.metrics.FLUSH_SECONDS` apart, before every checkpoint and at ``close``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.logger import KVWriter, filter_excluded_keys

from mollirl.common.files import write_atomic
from mollirl.training import metrics

#: the Monitor file of a run folder (``*monitor.csv``: what ``load_results`` globs)
MONITOR_FILE = "train.monitor.csv"
#: SB3's CSV log of a run folder
PROGRESS_FILE = "progress.csv"


def _cut_text(text: str) -> str:
    """``text`` without a last line cut short by a crash."""
    return text if text.endswith("\n") or not text else text[:text.rfind("\n") + 1]


class MonitorWriter(KVWriter):
    """``train.monitor.csv`` of a run folder, as SB3's ``Monitor`` writes it (see the module docstring).

    Episodes come from the algorithm contract's epoch record (:meth:`add_episodes`); a logger dump only lets
    the held-back rows out when :data:`mollirl.training.metrics.FLUSH_SECONDS` have passed.

    :param path: the file.
    :param env_id: the header's ``env_id`` (the env's Gymnasium id).
    :param resume_rows: keep the first ``resume_rows`` episode rows of an existing file (a resumed run: the
        episodes of the epochs before it) and its ``t_start``; None: a new file.
    """

    def __init__(self, path: str | Path, env_id: str, resume_rows: int | None = None) -> None:
        self.path = Path(path)
        kept: list[str] = []
        t_start = time.time()
        if resume_rows is not None and self.path.is_file():
            lines = _cut_text(self.path.read_text()).splitlines(keepends=True)
            if lines and lines[0].startswith("#"):
                try:
                    t_start = float(json.loads(lines[0][1:])["t_start"])
                except (ValueError, KeyError, TypeError):
                    pass
                kept = [line for line in lines[2:] if line.count(",") == 2][:resume_rows]
        self.t_start = t_start
        head = f"#{json.dumps({'t_start': t_start, 'env_id': str(env_id)})}\nr,l,t\n"
        if resume_rows is None:
            self.path.write_text(head)
        else:
            write_atomic(self.path, head + "".join(kept))
        self._pending = io.StringIO()  # the file is opened per flush: a member holds no file open for it
        self._last_flush = time.monotonic()

    def add_episodes(self, returns: np.ndarray, lengths: np.ndarray, now: float | None = None) -> None:
        """One row per episode: ``r`` rounded to 6 decimals, ``l``, ``t`` = now - t_start rounded to 6 decimals."""
        t = round((time.time() if now is None else now) - self.t_start, 6)
        write = self._pending.write
        for r, n in zip(np.asarray(returns, dtype=np.float64).tolist(), np.asarray(lengths).tolist()):
            write(f"{round(r, 6)},{int(n)},{t}\n")

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        if time.monotonic() - self._last_flush >= metrics.FLUSH_SECONDS:
            self.flush_pending()

    def flush_pending(self) -> None:
        text = self._pending.getvalue()
        if text:
            with self.path.open("a", newline="\n") as fh:
                fh.write(text)
            self._pending.seek(0)
            self._pending.truncate()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush_pending()


def _scalar(value: Any) -> str | None:
    """A logger value as SB3's CSV writes it (``str(value)``; strings quoted), None for what it cannot hold."""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return str(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return str(value.item())
    return None


class ProgressCSVWriter(KVWriter):
    """``progress.csv`` as SB3's ``CSVOutputFormat`` writes it (see the module docstring), in batches.

    :param path: the file.
    :param resume_epoch: keep the rows of an existing file whose ``train/epoch`` is below it (a resumed run);
        None: a new file.
    """

    def __init__(self, path: str | Path, resume_epoch: int | None = None) -> None:
        self.path = Path(path)
        self.keys: list[str] = []
        self._written_keys = 0  # columns in the file's header
        self._rows: list[dict[str, str]] = []  # held back
        body = ""
        if resume_epoch is not None and self.path.is_file():
            text = _cut_text(self.path.read_text())
            with io.StringIO(text, newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader, None) or []
                width = len(header)
                kept = [r for r in reader if len(r) == width and _epoch_below(r, header, resume_epoch)]
            self.keys = list(header)
            self._written_keys = len(header)
            if header:
                buffer = io.StringIO(newline="")
                writer = csv.writer(buffer, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(kept)
                body = buffer.getvalue()
        if resume_epoch is None:
            self.path.write_text("")  # a new run's file (its header comes with the first rows)
        else:
            write_atomic(self.path, body)  # the kept rows, whole
        self._last_flush = time.monotonic()

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        values = filter_excluded_keys(key_values, key_excluded, "csv")
        row = {k: text for k, v in values.items() if (text := _scalar(v)) is not None}
        if not row:
            return
        for key in row:
            if key not in self.keys:
                self.keys.append(key)  # a new column, in order of appearance (SB3 adds them at the end)
        self._rows.append(row)
        if time.monotonic() - self._last_flush >= metrics.FLUSH_SECONDS:
            self.flush_pending()

    def flush_pending(self) -> None:
        """Write the held-back rows (the whole file again when a new column appeared, as SB3's writer does)."""
        if self._rows or len(self.keys) != self._written_keys:
            lines = [",".join(row.get(k, "") for k in self.keys) + "\n" for row in self._rows]
            if len(self.keys) != self._written_keys:
                old = self.path.read_text().splitlines(keepends=True) if self._written_keys else []
                pad = "," * (len(self.keys) - self._written_keys)
                body = [",".join(self.keys) + "\n"] + [line[:-1] + pad + "\n" for line in old[1:]]
                if old:  # rows already written: the file again, whole (a new column, rarely: eval/ at --eval-freq)
                    write_atomic(self.path, "".join(body + lines))
                else:
                    self.path.write_text("".join(body + lines))
                self._written_keys = len(self.keys)
            else:
                with self.path.open("a") as fh:
                    fh.write("".join(lines))
            self._rows.clear()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush_pending()


def _epoch_below(row: list[str], header: list[str], epoch: int) -> bool:
    """Whether a ``progress.csv`` row belongs to an epoch before ``epoch`` (its ``train/epoch`` cell)."""
    try:
        value = row[header.index("train/epoch")]
        return value != "" and math.isfinite(float(value)) and float(value) < epoch
    except (ValueError, IndexError):
        return False


__all__ = ["MONITOR_FILE", "PROGRESS_FILE", "MonitorWriter", "ProgressCSVWriter"]
