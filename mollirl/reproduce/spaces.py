"""Action-space vs parameter-space mollification: REINFORCE (a Gaussian on each action)
against ARS (a Gaussian on theta) on the double pendulum and the quadrotor: training
curves from the same start, and the landscapes J, J_sigma (action space) and
E[J(theta + sigma eps)] (parameter space) on the same directions around the same centre."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.common import Timer, pyplot, range_text, save_figure, write_summary
from mollirl.reproduce.runs import RunJob, load_history, run_jobs

ENVS = {
    # env: (action-space sigma of REINFORCE, parameter-space sigma of ARS)
    "double-pendulum": (0.5, 0.5),
    "quadrotor": (0.1, 0.1),
}
FULL = dict(epochs=50, grid=21, episodes=16)
QUICK = dict(epochs=3, grid=5, episodes=4)


def jobs(out: Path, quick: bool) -> list[RunJob]:
    from mollirl import registry
    from mollirl.common.env_util import get_env_plugin

    size = QUICK if quick else FULL
    result = []
    for env, (sigma_a, sigma_p) in ENVS.items():
        for algo, sigma in (("reinforce", sigma_a), ("ars", sigma_p)):
            preset = {**get_env_plugin(env).preset, **registry.get("algos", algo).defaults}
            config = RunConfig(algo=algo, env=env, seed=0, log_folder=str(out / "runs"), progress=False,
                               checkpoint_every=10)
            for key, value in preset.items():
                setattr(config, key, value)
            config.epochs, config.sigma = size["epochs"], sigma
            result.append(RunJob(config.validate(), out / "runs" / f"{env}_{algo}"))
    return result


MC_NOTE = ("J_sigma and the parameter-space mean are Monte Carlo estimates at a fixed centre (episodes or "
           "perturbations per point, common random numbers): compared as computed, without an interval")


def judge(envs: dict[str, Any], quick: bool):
    """Verdicts on the landscapes at the reference centre (the trainings are one seed per algorithm: numbers
    in the summary, no verdict)."""
    from mollirl.analysis import stats
    from mollirl.reproduce.common import Claims

    claims = Claims(quick)
    for env, entry in envs.items():
        s = entry["landscape"]["summary"]
        for mode, what in (("sigma", "action-space"), ("param-sigma", "parameter-space")):
            claims.add(stats.judge_exact(s[mode]["J_centre"] - s["det"]["J_centre"], 0.0, f"{env}: {what} "
                                         "mollification lowers J at the reference policy", above=False,
                                         what="J_mollified - J at the centre"), MC_NOTE)
    return claims


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    from mollirl.landscape import compute_landscape, problem_from_env, summarize
    from mollirl.landscape.plot import save_png

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    job_list = jobs(out, quick)
    statuses = run_jobs(job_list, n_jobs=n_jobs, log=log)
    summary: dict[str, Any] = {"result": "mollification spaces", "quick": quick, "envs": {}}
    plt = pyplot()
    fig, axes = plt.subplots(1, len(ENVS), figsize=(5 * len(ENVS), 3.4))
    for ax, env in zip(np.atleast_1d(axes), ENVS):
        entry: dict[str, Any] = {}
        for job in (j for j in job_list if j.config.env == env):
            rows = load_history(job.run_dir)
            J = np.array([r["J_det"] for r in rows])
            label = f"{job.config.algo} (sigma {job.config.sigma:g}, {'action' if job.config.algo != 'ars' else 'parameter'} space)"
            ax.plot(J, "o-", ms=2, label=label)
            entry[job.config.algo] = {"sigma": job.config.sigma, "J_det": J, "initial": float(J[0]),
                                      "final": float(J[-1]), "best": float(np.nanmax(J)),
                                      "status": statuses[job.run_dir], "run_dir": job.run_dir}
        ax.set_title(env, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("J(theta_k), deterministic (discounted return)")
        ax.legend(fontsize=7)
        sigma_a, sigma_p = ENVS[env]
        problem = problem_from_env(env, "reference")
        land = compute_landscape(problem, grid=size["grid"], dims=2, radius=1.0, directions="random",
                                 mode="all", sigma=sigma_a, param_sigma=sigma_p, episodes=size["episodes"], seed=0)
        land.save(out / f"spaces_landscape_{env}.npz")
        save_png(land, out / f"spaces_landscape_{env}.png")
        entry["landscape"] = {"summary": summarize(land), "action_sigma": sigma_a, "param_sigma": sigma_p,
                              "grid": size["grid"], "episodes": size["episodes"]}
        s = entry["landscape"]["summary"]
        log(f"{env}: J(centre) det {s['det']['J_centre']:.4g}, action-sigma {s['sigma']['J_centre']:.4g}, "
            f"param-sigma {s['param-sigma']['J_centre']:.4g}; hf energy {s['det']['hf_energy']:.3g} / "
            f"{s['sigma']['hf_energy']:.3g} / {s['param-sigma']['hf_energy']:.3g}; window Hölder "
            + " / ".join(range_text(s[m]) for m in ("det", "sigma", "param-sigma")))
        summary["envs"][env] = entry
    save_figure(fig, out / "spaces_training.png", dpi=110)
    summary["trainings"] = "one seed per algorithm and env: an anecdote, not a distribution; no verdict rests on it"
    summary["claims"] = judge(summary["envs"], quick).to_list()
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "spaces", summary, command=command)
    return summary
