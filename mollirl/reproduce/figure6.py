"""Figure 6 (hopper stand): training with sigma in {0.005, 0.05, 0.5, 5} x 5 seeds,
the variance of each return sequence, and the deterministic landscapes around
theta_0 and theta_100 with their Hölder exponents and high-frequency energy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.runs import RunJob, load_history, run_jobs

SIGMAS = (0.005, 0.05, 0.5, 5.0)
FULL = dict(epochs=100, batch_episodes=32, horizon=1000, seeds=5)
QUICK = dict(epochs=3, batch_episodes=4, horizon=50, seeds=2)


def jobs(out: Path, quick: bool) -> list[RunJob]:
    size = QUICK if quick else FULL
    out_jobs = []
    for sigma in SIGMAS:
        for seed in range(size["seeds"]):
            config = RunConfig(
                algo="reinforce", env="hopper-stand", policy="mlp", policy_init="random",
                policy_kwargs={"hidden": 16, "bias": False}, sigma=sigma, epochs=size["epochs"],
                batch_episodes=size["batch_episodes"], horizon=size["horizon"], gamma=0.99, step_size=1.0,
                baseline="mean", update="normalized", seed=seed, log_folder=str(out / "runs"),
                checkpoint_every=10, n_threads=1, progress=False,
            ).validate()
            out_jobs.append(RunJob(config, out / "runs" / f"sigma_{sigma:g}" / f"seed_{seed}"))
    return out_jobs


def training_summary(job_list: list[RunJob]) -> dict[str, Any]:
    """Per sigma: J_det sequences over seeds, their variance, the final return."""
    per_sigma: dict[str, Any] = {}
    for job in job_list:
        rows = load_history(job.run_dir)
        J = np.array([r["J_det"] for r in rows])
        key = f"{job.config.sigma:g}"
        entry = per_sigma.setdefault(key, {"sigma": job.config.sigma, "seeds": []})
        entry["seeds"].append({
            "seed": job.config.seed, "run_dir": str(job.run_dir), "J_det": J.tolist(),
            "variance": float(np.var(J)), "std": float(np.std(J)), "initial": float(J[0]), "final": float(J[-1]),
            "best": float(J.max()),
        })
    for entry in per_sigma.values():
        seeds = entry["seeds"]
        entry["variance_mean"] = float(np.mean([s["variance"] for s in seeds]))
        entry["std_mean"] = float(np.mean([s["std"] for s in seeds]))
        entry["final_mean"] = float(np.mean([s["final"] for s in seeds]))
        entry["final_std"] = float(np.std([s["final"] for s in seeds]))
        entry["initial_mean"] = float(np.mean([s["initial"] for s in seeds]))
    return per_sigma


def plot_training(per_sigma: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(per_sigma), figsize=(4 * len(per_sigma), 3.2), sharey=True)
    for ax, (key, entry) in zip(np.atleast_1d(axes), sorted(per_sigma.items(), key=lambda kv: kv[1]["sigma"])):
        for s in entry["seeds"]:
            ax.plot(s["J_det"], lw=1, alpha=0.8, label=f"seed {s['seed']}")
        ax.set_title(f"sigma = {key}  (var of J_k: {entry['variance_mean']:.3g})", fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_yscale("symlog")
    np.atleast_1d(axes)[0].set_ylabel("J_det(theta_k) (discounted)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(out: Path, quick: bool = False, n_jobs: int = 2, log=print) -> dict[str, Any]:
    """Train (or reuse) the runs, write ``figure6_training.png`` and return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    job_list = jobs(out, quick)
    log(f"figure 6: {len(job_list)} hopper-stand runs in {n_jobs} processes under {out / 'runs'}")
    statuses = run_jobs(job_list, n_jobs=n_jobs, log=log)
    per_sigma = training_summary([j for j in job_list if not statuses.get(j.run_dir, "").startswith("failed")])
    plot_training(per_sigma, out / "figure6_training.png")
    summary = {"figure": 6, "quick": quick, "per_sigma": per_sigma,
               "failed": {str(k): v for k, v in statuses.items() if v.startswith("failed")}}
    (out / "figure6_training.json").write_text(json.dumps(summary, indent=1))
    return summary
