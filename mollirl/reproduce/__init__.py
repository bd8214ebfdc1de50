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
    "figure1": ("mollirl.reproduce.figure1", "hopper stand: J and J_sigma around theta_0 for sigma in {0.005, 0.05, 0.5, 5}"),
    "figure2": ("mollirl.reproduce.figure2", "double vs single pendulum under random tanh MLPs: landscapes, Hölder, Lyapunov"),
    "prop31": ("mollirl.reproduce.prop31", "Prop. 3.1: Hölder exponent predicted by the Lyapunov exponent vs measured"),
    "theorem43": ("mollirl.reproduce.theorem43", "Thm. 4.3: does a learnable sigma shrink? (double pendulum, hopper)"),
    "behaviour": ("mollirl.reproduce.behaviour", "Figs. 4, 5, 10-13: the trained hopper at each sigma (filmstrips, videos)"),
    "remark53": ("mollirl.reproduce.remark53",
                 "Remark 5.3: is there an interior sigma*? sweep (variance vs bias) and sigma* studies, chaotic and not"),
    "remark53-analytic": ("mollirl.reproduce.remark53_analytic",
                          "Remark 5.3 without the hopper's sigma* study (its cost estimated): ~10 min"),
    "figure6-reduced": ("mollirl.reproduce.figure6_reduced",
                        "Figure 6's code path at a reduced size (3 seeds x 15 epochs): the sensitivity runs in ~30 min"),
}
