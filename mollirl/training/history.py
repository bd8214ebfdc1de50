"""What a resume or a reuse continues must be whole: the run's history and its config, checked first.

* **History**: a checkpoint at epoch k continues a run whose ``metrics.csv`` holds the rows of
  epochs 0 .. k-1, each once (rows at or after k, written after the checkpoint, are dropped
  and recomputed). A missing file or a missing row (a file cut by hand or by a disk) would
  leave a gap no resume can fill: :func:`check_history` refuses it in one line (exit 2), before
  anything in the folder changes.
* **Config**: every checkpoint records the ``config.yml`` it was trained with (``latest.json``'s
  ``config``; :func:`config_record`). A ``config.yml`` edited afterwards is noticed
  (:func:`check_config_unedited`): a resume may change only what ``--resume`` itself changes
  (``--epochs``, ``--device``, ``--no-progress``), a reuse nothing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

#: config keys a ``--resume`` itself rewrites in config.yml (the extension, the device, the progress bar)
RESUME_KEYS = ("epochs", "schedule_epochs", "device", "progress")
METRICS = "metrics.csv"


def recorded_epochs(path: Path) -> list[int]:
    """The epochs of ``metrics.csv``'s whole rows, in file order (a last row cut by a crash is left out)."""
    text = Path(path).read_text()
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or header[0] != "epoch":
        return []
    return [int(r[0]) for r in reader if len(r) == len(header) and r[0].isdigit()]


def _spans(numbers: list[int]) -> str:
    """``[2, 3, 7]`` -> ``2-3, 7``."""
    out, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(f"{start}" if start == n else f"{start}-{n}")
            start = None
    return ", ".join(out)


def check_history(run_dir: str | Path, epoch: int) -> None:
    """Refuse to continue ``run_dir`` from its checkpoint at ``epoch`` unless ``metrics.csv`` holds epochs
    ``0 .. epoch-1``, each exactly once and in order.

    :raises ValueError: one line naming the file, the rows missing and what the checkpoint holds.
    """
    if epoch <= 0:
        return
    path = Path(run_dir) / METRICS
    where = f"run {str(run_dir)!r}"
    if not path.is_file():
        raise ValueError(f"{where}: {METRICS} is missing but the checkpoint is at epoch {epoch}: the rows of "
                         f"epochs 0-{epoch - 1} are gone, and a resume would leave that gap (restore the file, or "
                         "start a new run)")
    try:
        epochs = recorded_epochs(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{where}: {path} is unreadable ({type(exc).__name__})") from None
    before = [e for e in epochs if e < epoch]
    if before == list(range(epoch)):
        return
    missing = sorted(set(range(epoch)) - set(before))
    if missing:
        raise ValueError(f"{where}: {path} lacks the rows of epochs {_spans(missing)} of the {epoch} its "
                         f"checkpoint has done (the file was cut or edited): a resume would leave that gap "
                         "(restore the file, or start a new run)")
    raise ValueError(f"{where}: {path} holds epochs out of order or twice ({_spans(sorted(set(before)))} in "
                     f"{len(before)} rows): it is not the history of one run")


def config_record(run_dir: str | Path) -> dict[str, Any]:
    """``{"config": <config.yml>}`` for a checkpoint's ``latest.json`` (``{}`` when there is none to read)."""
    import yaml

    try:  # libyaml's parser when PyYAML has it (the same data; ~10x faster: a population checkpoints P runs)
        data = yaml.load((Path(run_dir) / "config.yml").read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError):
        return {}
    return {"config": data} if isinstance(data, dict) else {}


def config_changes(old: dict[str, Any], new: dict[str, Any], ignore: tuple[str, ...] = ()) -> list[str]:
    """``["sigma 0.1 -> 0.5", ...]``: the keys whose values differ (``ignore`` left out)."""
    keys = sorted((set(old) | set(new)) - set(ignore))
    return [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def check_config_unedited(run_dir: str | Path, state: dict[str, Any], may_differ: tuple[str, ...] = ()) -> None:
    """Refuse a run whose ``config.yml`` is not the one its checkpoint (``state``, ``latest.json``) was
    written with, up to the keys ``may_differ``. A checkpoint of an older mollirl (no record) passes.

    :raises ValueError: one line naming the file and the keys that changed.
    """
    recorded = state.get("config")
    if not isinstance(recorded, dict):
        return
    current = config_record(run_dir).get("config")
    if current is None:
        raise ValueError(f"run {str(run_dir)!r}: config.yml is missing or unreadable, but its checkpoint was "
                         "trained with one")
    changes = config_changes(recorded, current, may_differ)
    if changes:
        shown = "; ".join(changes[:3]) + ("; ..." if len(changes) > 3 else "")
        raise ValueError(f"run {str(run_dir)!r}: config.yml was edited after training ({shown}): its checkpoint "
                         "and model were trained with the recorded config; restore config.yml, or train a new run")
