"""Theorem 4.3 (a strict local maximum of L needs a deterministic policy): train with a
learnable sigma on the double pendulum and on the hopper over many seeds, and see
whether the learned sigma shrinks.

The theorem says that a stationary point of L(mu, sigma^2) with sigma > 0 is not a
strict local maximum (the strong maximum principle of the heat equation): gradient
ascent on (mu, sigma^2) that converges to a strict local maximum ends at sigma = 0.
What a finite run can show is the direction of sigma's path. Each env trains
``seeds`` runs as one population (REINFORCE, the paper's normalized step, which
moves log(sigma) and the mean parameters together by a step of norm delta);
per epoch we record sigma, J_det (deterministic, discounted) and J_sigma (the
batch's discounted return), and report their median and interquartile range
across seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.common import Timer, pyplot, save_figure, value_scale, write_summary
from mollirl.reproduce.runs import RunJob, load_history, run_jobs

SIGMA0 = 0.5  # the double pendulum's preset sigma, and the hopper's best fixed sigma in Figure 6
FULL = {"double-pendulum": dict(seeds=10, epochs=50, batch_episodes=16, horizon=1000),
        "hopper-stand": dict(seeds=10, epochs=50, batch_episodes=32, horizon=1000)}
QUICK = {"double-pendulum": dict(seeds=3, epochs=5, batch_episodes=8, horizon=200),
         "hopper-stand": dict(seeds=2, epochs=2, batch_episodes=4, horizon=50)}


def config_for(env: str, seed: int, size: dict[str, int], out: Path) -> RunConfig:
    """The env's Figure 7 / Figure 6 training setup with ``learn_sigma`` and sigma_0 = 0.5."""
    common = dict(algo="reinforce", env=env, sigma=SIGMA0, learn_sigma=True, epochs=size["epochs"],
                  batch_episodes=size["batch_episodes"], horizon=size["horizon"], gamma=0.99, step_size=1.0,
                  baseline="mean", update="normalized", seed=seed, log_folder=str(out / "runs"),
                  checkpoint_every=10, progress=False)
    if env == "double-pendulum":
        return RunConfig(policy="linear", policy_init="reference", **common).validate()
    return RunConfig(policy="mlp", policy_init="random", policy_kwargs={"hidden": 16, "bias": False},
                     **common).validate()


def jobs(out: Path, quick: bool) -> list[RunJob]:
    sizes = QUICK if quick else FULL
    return [RunJob(config_for(env, seed, size, out), out / "runs" / env / f"seed_{seed}")
            for env, size in sizes.items() for seed in range(size["seeds"])]


def quartiles(rows: np.ndarray) -> dict[str, np.ndarray]:
    """Median and interquartile range over axis 0 (seeds) of ``(n_seeds, n_epochs)``."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # J_sigma of the final row: no batch, NaN for every seed
        q25, q50, q75 = np.nanpercentile(rows, [25, 50, 75], axis=0)
    return {"median": q50, "q25": q25, "q75": q75}


def env_summary(env: str, env_jobs: list[RunJob], out: Path) -> dict[str, Any]:
    """Per env: sigma, J_det and J_sigma over epochs (per seed and as quartiles) and the verdict numbers."""
    per_seed, series = [], {"sigma": [], "J_det": [], "J_sigma": []}
    for job in env_jobs:
        rows = load_history(job.run_dir)
        entry = {"seed": job.config.seed, "run_dir": str(job.run_dir.relative_to(out))}
        for key in series:
            values = np.array([r[key] for r in rows], dtype=np.float64)
            entry[key] = values
            series[key].append(values)
        entry["sigma_final"] = float(entry["sigma"][-1])
        entry["sigma_min"] = float(np.min(entry["sigma"]))
        per_seed.append(entry)
    n = min(len(s) for s in series["sigma"])
    arrays = {k: np.stack([s[:n] for s in v]) for k, v in series.items()}
    sigma_final = arrays["sigma"][:, -1]
    sigma0 = arrays["sigma"][:, 0]
    half = n // 2
    # does sigma keep shrinking in the second half (not only a first-epoch jump)?
    second_half_slope = [float(np.polyfit(np.arange(half, n), np.log(s[half:]), 1)[0]) for s in arrays["sigma"]]
    return {
        "env": env, "seeds": len(env_jobs), "epochs": n - 1, "sigma0": float(np.median(sigma0)),
        "per_epoch": {k: quartiles(v) for k, v in arrays.items()},
        "per_seed": per_seed,
        "sigma_final_median": float(np.median(sigma_final)),
        "sigma_final_iqr": [float(np.percentile(sigma_final, 25)), float(np.percentile(sigma_final, 75))],
        "fraction_seeds_sigma_shrank": float(np.mean(sigma_final < sigma0)),
        "log_sigma_slope_second_half_median": float(np.median(second_half_slope)),
        "J_det_initial_median": float(np.median(arrays["J_det"][:, 0])),
        "J_det_final_median": float(np.median(arrays["J_det"][:, -1])),
        "J_det_final_iqr": [float(np.percentile(arrays["J_det"][:, -1], 25)),
                            float(np.percentile(arrays["J_det"][:, -1], 75))],
        "fraction_seeds_J_det_improved": float(np.mean(arrays["J_det"][:, -1] > arrays["J_det"][:, 0])),
        "log_sigma_ratio_per_seed": np.log(sigma_final / sigma0), "log_sigma_slope_second_half_per_seed":
            second_half_slope, "J_det_gain_per_seed": arrays["J_det"][:, -1] - arrays["J_det"][:, 0],
    }


def plot(summaries: dict[str, dict[str, Any]], path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(len(summaries), 3, figsize=(13, 3.3 * len(summaries)), squeeze=False)
    for row, (env, s) in zip(axes, summaries.items()):
        for ax, key, label in zip(row, ("sigma", "J_det", "J_sigma"),
                                  ("learned sigma", "J_det(theta_k) (deterministic)", "J_sigma (batch, discounted)")):
            ax.set_ylabel({"sigma": "sigma (action units)", "J_det": "J_det (discounted return)",
                           "J_sigma": "J_sigma (discounted return)"}[key])
            q = s["per_epoch"][key]
            epochs = np.arange(len(q["median"]))
            for seed in s["per_seed"]:
                ax.plot(seed[key][: len(epochs)], lw=0.6, alpha=0.35, color="C0")
            ax.plot(epochs, q["median"], color="k", lw=1.6, label="median")
            ax.fill_between(epochs, q["q25"], q["q75"], color="C1", alpha=0.35, label="interquartile range")
            if key == "sigma":
                ax.set_yscale("log")
            else:
                value_scale(ax, np.concatenate([np.asarray(seed[key], dtype=np.float64) for seed in s["per_seed"]]))
            ax.set_xlabel("epoch")
            ax.set_title(f"{env}: {label}", fontsize=9)
        row[0].axhline(s["sigma0"], color="grey", lw=0.8, ls="--")
        row[0].legend(fontsize=7)
    save_figure(fig, path, dpi=110)


def judge(envs: dict[str, dict[str, Any]], quick: bool):
    """The verdicts, per env over its seeds, from :func:`env_summary`'s per-seed numbers (or a committed
    ``theorem43.json``'s ``envs``: the per-seed sigma and J_det series)."""
    from mollirl.analysis import stats
    from mollirl.reproduce.common import Claims

    claims = Claims(quick)
    for env, s in envs.items():
        sigma = [np.asarray(p["sigma"], dtype=np.float64) for p in s["per_seed"]]
        J = [np.asarray(p["J_det"], dtype=np.float64) for p in s["per_seed"]]
        ratio = np.array([np.log(x[-1] / x[0]) for x in sigma])
        half = [np.polyfit(np.arange(len(x) // 2, len(x)), np.log(x[len(x) // 2:]), 1)[0] for x in sigma]
        claims.add(stats.judge_threshold(ratio, 0.0, f"{env}: the learned sigma shrinks (mean over seeds of "
                                         "log(sigma_K / sigma_0) < 0)", above=False), "seeds")
        claims.add(stats.judge_proportion(int(np.sum(ratio < 0)), len(ratio), f"{env}: sigma ends below its start in "
                                          "most seeds", at_least=0.5), "seeds")
        claims.add(stats.judge_threshold(half, 0.0, f"{env}: sigma is still shrinking over the second half (slope "
                                         "of log sigma per epoch < 0)", above=False), "seeds")
        claims.add(stats.judge_threshold([x[-1] - x[0] for x in J], 0.0, f"{env}: J_det improves while sigma is "
                                         "learned (J_K - J_0 > 0)"), "seeds")
    return claims


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    """Train (or reuse) the learnable-sigma runs, write the figure and return the summary."""
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    job_list = jobs(out, quick)
    log(f"theorem 4.3: {len(job_list)} learnable-sigma runs under {out / 'runs'}")
    statuses = run_jobs(job_list, n_jobs=n_jobs, log=log)
    ok = [j for j in job_list if not statuses.get(j.run_dir, "").startswith("failed")]
    summaries = {env: env_summary(env, [j for j in ok if j.config.env == env], out)
                 for env in (QUICK if quick else FULL)}
    plot(summaries, out / "theorem43_sigma_paths.png")
    claims = judge(summaries, quick)
    for env, s in summaries.items():
        log(f"theorem 4.3 {env}: sigma {s['sigma0']:g} -> median {s['sigma_final_median']:.3g} "
            f"(IQR {s['sigma_final_iqr'][0]:.3g}-{s['sigma_final_iqr'][1]:.3g}), shrank in "
            f"{s['fraction_seeds_sigma_shrank']:.0%} of {s['seeds']} seeds; J_det median "
            f"{s['J_det_initial_median']:.4g} -> {s['J_det_final_median']:.4g}")
    summary = {"result": "Theorem 4.3 (learnable sigma)", "quick": quick, "wall_time_s": timer.seconds,
               "sigma0": SIGMA0, "sizes": QUICK if quick else FULL, "envs": summaries, "claims": claims.to_list(),
               "failed": {str(Path(k).relative_to(out)): v for k, v in statuses.items() if v.startswith("failed")}}
    write_summary(out, "theorem43", summary, command=command)
    return summary
