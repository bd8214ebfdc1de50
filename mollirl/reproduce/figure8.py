"""Figure 8 (planar quadrotor): the landscape around theta* is a spike, and
training that starts at theta* (sigma 0.1, normalized step 0.001) drops after one
epoch and never returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.common import Timer, pyplot, save_figure, write_summary
from mollirl.reproduce.runs import RunJob, load_history, run_jobs

FULL = dict(epochs=50, batch_episodes=16, grid=41, episodes=16)
QUICK = dict(epochs=3, batch_episodes=16, grid=11, episodes=4)


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print) -> dict[str, Any]:
    from mollirl.landscape import compute_landscape, problem_from_env, summarize
    from mollirl.landscape.plot import save_png

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    # (a) the landscape around theta*: 2-D random directions, and a 1-D slice along the hover thrust b[0]
    problem = problem_from_env("quadrotor", "reference")
    land = compute_landscape(problem, grid=size["grid"], dims=2, radius=1.0, directions="random", mode="both",
                             sigma=0.1, episodes=size["episodes"], seed=0)
    land.save(out / "figure8a_landscape.npz")
    save_png(land, out / "figure8a_landscape.png")
    spike = compute_landscape(problem, grid=4 * size["grid"] + 1, dims=1, radius=0.05, directions="b[0]",
                              mode="both", sigma=0.1, episodes=size["episodes"], seed=0)
    spike.save(out / "figure8a_slice_b0.npz")
    save_png(spike, out / "figure8a_slice_b0.png")
    land_summary = summarize(land)
    det = land.value("det")
    centre = tuple(n // 2 for n in det.shape)
    neighbours = [det[centre[0] + di, centre[1] + dj] for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    log(f"figure 8a: J(theta*) = {det[centre]:.4g}, best neighbour one grid step away {max(neighbours):.4g}")

    # (b) training from theta*
    config = RunConfig(algo="reinforce", env="quadrotor", policy="linear", policy_init="reference", sigma=0.1,
                       epochs=size["epochs"], batch_episodes=size["batch_episodes"], horizon=1000, gamma=0.99,
                       step_size=0.001, baseline="mean", seed=0, log_folder=str(out / "runs"), progress=False,
                       checkpoint_every=10).validate()
    job = RunJob(config, out / "runs" / "theta_star")
    status = run_jobs([job], n_jobs=1, log=log)
    rows = load_history(job.run_dir)
    J = np.array([r["J_det"] for r in rows])
    J_sigma = np.array([r["J_sigma"] for r in rows])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(J, "o-", ms=3, label="J(theta_k), deterministic")
    ax.plot(J_sigma, "s-", ms=3, alpha=0.7, label="J_sigma(theta_k), sigma 0.1 batch")
    ax.set_xlabel("epoch k")
    ax.set_ylabel("discounted return")
    ax.set_title("quadrotor: training from theta* (LQR)")
    ax.legend(fontsize=8)
    save_figure(fig, out / "figure8b_training.png", dpi=110)

    claims = {
        "centre_is_max_of_det_landscape": bool(det[centre] >= np.nanmax(det) - 1e-12),
        "drops_after_one_epoch": bool(J[1] < J[0]),
        "never_returns": bool(np.nanmax(J[1:]) < J[0]),
        "sigma_landscape_smoother": bool(land_summary["sigma"]["hf_energy"] < land_summary["det"]["hf_energy"]),
    }
    summary = {
        "figure": 8, "quick": quick, "wall_time_s": timer.seconds,
        "landscape": {"J_centre": float(det[centre]), "best_neighbour": float(max(neighbours)),
                      "summary": land_summary, "slice_b0_summary": summarize(spike),
                      "radius": 1.0, "grid": size["grid"], "sigma": 0.1, "episodes": size["episodes"]},
        "training": {"J_det": J, "J_sigma": J_sigma, "run_dir": job.run_dir, "status": status[job.run_dir]},
        "claims": claims,
    }
    write_summary(out, "figure8", summary)
    return summary
