"""Figure 7 (double pendulum): training from the paper's initial policy, the
trajectories of the initial and trained policies from s0, and the Q-landscape
Q(s0, a) of the trained policy over the action plane."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.common import Timer, pyplot, save_figure, write_summary
from mollirl.reproduce.runs import RunJob, load_history, run_jobs
from mollirl.reproduce.trajectory import rollout_states

FULL = dict(epochs=50, grid=81, radius=None)  # the whole torque box, spacing 0.25 < sigma
QUICK = dict(epochs=10, grid=11, radius=2.5)  # spacing 0.5 = sigma


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print) -> dict[str, Any]:
    from mollirl.landscape import compute_q_landscape, problem_from_run, summarize
    from mollirl.landscape.plot import save_png

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    config = RunConfig(algo="reinforce", env="double-pendulum", epochs=size["epochs"], seed=0,
                       log_folder=str(out / "runs"), progress=False, checkpoint_every=10)
    from mollirl.common.env_util import get_env_plugin

    for key, value in get_env_plugin("double-pendulum").preset.items():
        if key not in ("epochs",):
            setattr(config, key, value)
    config.validate()
    job = RunJob(config, out / "runs" / "double_pendulum")
    status = run_jobs([job], n_jobs=1, log=log)
    rows = load_history(job.run_dir)
    J = np.array([r["J_det"] for r in rows])

    # (a) trajectories of the initial and the trained policy from s0
    initial = problem_from_run(job.run_dir, "initial")
    final = problem_from_run(job.run_dir, "final")
    traj0 = rollout_states(initial)
    traj1 = rollout_states(final)
    env = gym.make("mollirl/DoublePendulum-v0")
    dt = env.unwrapped.params.dt
    env.close()
    t = np.arange(len(traj0)) * dt
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, traj, name in ((axes[0], traj0, "initial policy theta_0 (paper's K0)"),
                           (axes[1], traj1, f"trained policy theta_{config.epochs}")):
        ax.plot(t[: len(traj)], traj[:, 0], label="theta1")
        ax.plot(t[: len(traj)], traj[:, 1], label="theta2")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("angle from upright (rad)")
    axes[0].legend(fontsize=8)
    save_figure(fig, out / "figure7a_trajectories.png", dpi=110)

    # (b) Q(s0, a) of the trained policy over the torque plane
    q = compute_q_landscape(final, grid=size["grid"], radius=size["radius"], seed=0)
    q.save(out / "figure7b_q_landscape.npz")
    save_png(q, out / "figure7b_q_landscape.png")
    q_summary = summarize(q)

    final_norm = float(np.linalg.norm(traj1[-1]))
    initial_norm = float(np.linalg.norm(traj0[-1]))
    claims = {
        "J_det_improved": bool(J[-1] > J[0]),
        "trained_ends_near_upright": bool(final_norm < 0.1),
        "initial_does_not": bool(initial_norm > final_norm),
        "q_landscape_smooth": bool(q_summary["det"]["holder"] > 0.9),
    }
    log(f"figure 7: J_det {J[0]:.4g} -> {J[-1]:.4g}; final |s| initial policy {initial_norm:.3g}, "
        f"trained {final_norm:.3g}; Q-landscape Hölder {q_summary['det']['holder']:.3f}")
    summary = {
        "figure": 7, "quick": quick, "wall_time_s": timer.seconds, "sigma": config.sigma,
        "training": {"J_det": J, "run_dir": job.run_dir, "status": status[job.run_dir]},
        "trajectories": {"initial_final_state": traj0[-1], "trained_final_state": traj1[-1],
                         "initial_final_norm": initial_norm, "trained_final_norm": final_norm},
        "q_landscape": {"summary": q_summary, "grid": size["grid"], "action_centre": q.action_centre},
        "claims": claims,
    }
    write_summary(out, "figure7", summary)
    return summary
