"""``metrics.csv``: one row per epoch, the same numbers the SB3 logger sends to TensorBoard.

The algorithm contract (:mod:`mollirl.common.algorithm`) records epoch k's numbers under
``train/`` and dumps them at x = k * steps_per_epoch; the trainer adds the final
policy's row (epoch = number of epochs) at its own x. :class:`MetricsCSVWriter` is
an SB3 logger output that writes every dump that carries ``train/epoch`` as a row,
so TensorBoard and ``metrics.csv`` hold the same points.
"""

from __future__ import annotations

import csv
import io
import math
import time
from pathlib import Path
from typing import Any

from stable_baselines3.common.logger import KVWriter

from mollirl.common.files import write_atomic

METRIC_COLUMNS = ("epoch", "timesteps", "J_det", "J_sigma", "ep_return_mean", "sigma", "grad_norm",
                  "J_det_undiscounted", "final_state_norm", "J_det_diverged", "diverged_fraction")
_INTEGER_COLUMNS = ("epoch", "timesteps")
#: seconds between writes of held-back rows (and of TensorBoard events)
FLUSH_SECONDS = 2.0


class MetricsCSVWriter(KVWriter):
    """SB3 logger output writing ``metrics.csv``: one row per dump that carries ``train/epoch``.

    Columns are fixed (:data:`METRIC_COLUMNS`); a value not recorded in a dump is left
    empty. Rows are written in batches, at most :data:`FLUSH_SECONDS` apart, and always before a
    checkpoint (:func:`mollirl.training.checkpoint.save_checkpoint`) and at ``close``: a crash loses
    only rows after the last checkpoint, which a resume writes again (a population of P members
    writes P files per flush, not per epoch). On resume
    the file is cut to the rows before the resumed epoch (rewritten whole, under a temporary
    name; a row a crash cut short is dropped) and appended to, so an interrupted-and-resumed
    run ends with the same file as an uninterrupted one.

    :param path: the CSV file.
    :param resume_epoch: keep only rows with ``epoch < resume_epoch`` (None: start a new file).
    """

    def __init__(self, path: str | Path, resume_epoch: int | None = None) -> None:
        self.path = Path(path)
        rows: list[list[str]] = []
        if resume_epoch is not None and self.path.exists():
            text = self.path.read_text()
            if not text.endswith("\n"):  # the last row was cut by a crash: drop it
                text = text[:text.rfind("\n") + 1]
            with io.StringIO(text, newline="") as fh:
                reader = csv.reader(fh)
                header = next(reader, None)
                width = len(header) if header else len(METRIC_COLUMNS)
                # a row cut short by a crash (fewer cells, or a last cell without its newline) is dropped
                rows = [r + [""] * (len(METRIC_COLUMNS) - width) for r in reader
                        if len(r) == width and r[0].isdigit() and int(r[0]) < resume_epoch]
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(METRIC_COLUMNS)
        writer.writerows(rows)
        if resume_epoch is None:  # a new run's file: its header (a crash before it leaves a file with no row)
            self.path.write_text(buffer.getvalue(), newline="")
        else:
            write_atomic(self.path, buffer.getvalue())  # the kept rows, whole, before appending
        self._fh = self.path.open("a", newline="")
        self._pending = io.StringIO(newline="")
        self._writer = csv.writer(self._pending)
        self._last_flush = time.monotonic()

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0) -> None:
        if "train/epoch" not in key_values:
            return
        row = []
        for col in METRIC_COLUMNS:
            value = key_values.get(f"train/{col}")
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                row.append("")
            elif col in _INTEGER_COLUMNS:
                row.append(str(int(value)))
            else:
                row.append(repr(float(value)))
        self._writer.writerow(row)
        if time.monotonic() - self._last_flush >= FLUSH_SECONDS:
            self.flush_pending()

    def flush_pending(self) -> None:
        """Write and flush the rows held back."""
        text = self._pending.getvalue()
        if text:
            self._fh.write(text)
            self._pending.seek(0)
            self._pending.truncate()
        self._fh.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self.flush_pending()
            finally:
                self._fh.close()


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """Read a ``metrics.csv`` back as a list of dicts (empty cells become NaN)."""
    with Path(path).open(newline="") as fh:
        return [{k: (float(v) if v != "" else math.nan) for k, v in row.items()} for row in csv.DictReader(fh)]
