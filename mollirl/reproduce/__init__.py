"""One command per result of the paper: ``python -m mollirl.reproduce NAME``.

Each writes its figures (PNG) and a summary (JSON with the measured numbers and
the claims checked) into an output folder; ``--quick`` is a reduced run that the
tests afford. Training runs go to ``OUT/runs/`` and are reused (or resumed) when
the command runs again.
"""

from __future__ import annotations

RESULTS = {
    "figure6": ("mollirl.reproduce.figure6", "hopper stand: sigma in {0.005, 0.05, 0.5, 5} x 5 seeds, landscapes"),
    "figure7": ("mollirl.reproduce.figure7", "double pendulum: training, trajectories, Q-landscape"),
    "figure8": ("mollirl.reproduce.figure8", "quadrotor: the spike around theta*, training from theta*"),
    "heat": ("mollirl.reproduce.heat", "Prop. 4.1: L(mu, sigma^2) solves the heat equation; high frequencies decay"),
    "spaces": ("mollirl.reproduce.spaces", "REINFORCE (action-space sigma) vs ARS (parameter-space sigma)"),
}
