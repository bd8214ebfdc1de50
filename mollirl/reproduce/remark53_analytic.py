"""``remark53-analytic``: Remark 5.3's measurement without its expensive part.

Everything :mod:`mollirl.reproduce.remark53` does for the two double-pendulum cases (the
chaotic random MLP and K0: Lyapunov exponent, the sigma sweep, the sigma* study of 9 sigmas x
10 paired seeds x 50 epochs), and for the hopper at theta_0 its Lyapunov exponent and sweep,
but not its sigma* study (9 x 10 x ``remark53.HOPPER_EPOCHS`` epochs of 32 episodes x 1000
MuJoCo steps: hours on this project's machine), whose cost the summary estimates from the
sweep's measured MuJoCo step rate. ``python -m mollirl.reproduce remark53`` runs the whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    """:func:`mollirl.reproduce.remark53.run` without the hopper's study."""
    from mollirl.reproduce import remark53

    return remark53.run(out, quick=quick, n_jobs=n_jobs, log=log, hopper_study=False, name="remark53",
                        command=command)
