"""``figure6-reduced``: Figure 6's whole code path (:mod:`mollirl.reproduce.figure6`) at a size
that fits about half an hour of one core, for the sensitivity runs when the full one
(80 runs of 3.2 M hopper steps: about 13 core-hours on this project's machine) cannot be
afforded.

Same sigmas, variants (``main``, ``tanh``, ``baseline-none``), readings, saturation path,
landscapes and verdicts as ``figure6``; only the sizes shrink (:data:`REDUCED`): 3 seeds
per sigma and variant, 15 epochs of 16 episodes (horizon 1000, as the paper), checkpoints
every 5 epochs. The summary says ``"size": "reduced"``: its verdicts are about the first 15
epochs of small populations, not about the paper's 100-epoch trainings, and a run's
"final" value is the mean over its last ``figure6_analysis.LAST`` epochs as in ``figure6``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mollirl.reproduce.figure6 import QUICK

REDUCED = dict(epochs=15, batch_episodes=16, horizon=1000, seeds=3, sensitivity_seeds=3, save_freq=5, grid=11,
               slice_grid=51)
#: ``--quick``: one seed per sigma and variant, two epochs (the test of the code path)
QUICK_REDUCED = {**QUICK, "epochs": 2, "seeds": 1, "sensitivity_seeds": 1}


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None,
        from_runs: Path | None = None) -> dict[str, Any]:
    """:func:`mollirl.reproduce.figure6.run` at :data:`REDUCED` (``--quick``: :data:`QUICK_REDUCED`)."""
    from mollirl.reproduce import figure6

    return figure6.run(out, quick=quick, n_jobs=n_jobs, log=log, size=QUICK_REDUCED if quick else REDUCED,
                       label="reduced-quick" if quick else "reduced", command=command, from_runs=from_runs)
