"""Figure 6 (hopper stand) on distributions: sigma in {0.005, 0.05, 0.5, 5} x 10 seeds, judged
on medians, interquartile ranges and the fraction of seeds standing, under both readings
of the training curves (:mod:`mollirl.reproduce.figure6_analysis`), with the saturation of
the mean actions over epochs, two sensitivity variants, and the deterministic landscapes
around theta_0 and theta_100 of the sigma = 0.05, seed 0 run.

Variants (each trained as populations by :mod:`mollirl.reproduce.runs`):

- ``main``: the paper's setup as we read it (REINFORCE, tanh MLP of width 16 without
  biases, batch 32, 100 epochs, horizon 1000, gamma 0.99, normalized step 1, the
  per-time-step mean baseline, actions clipped to [-1, 1]); ``OUT/runs/sigma_S/seed_K``.
- ``tanh``: the same with a tanh-squashed action (:mod:`mollirl.reproduce.squashed`);
  ``OUT/runs/tanh/sigma_S/seed_K``.
- ``baseline-none``: the same without a baseline (``--baseline none``);
  ``OUT/runs/baseline_none/sigma_S/seed_K``.

Seed k starts from the same theta_0 in every sigma and variant. Checkpoints are kept
every 10 epochs (``save_freq``) for the saturation path.

Verdicts (:func:`mollirl.reproduce.figure6_analysis.judge`): each pair of sigmas the paper
names, per reading and variant, paired over the shared seeds, and the proportions standing,
all through :mod:`mollirl.analysis.stats`. Without training (``--from-runs``): from finished
run folders in this layout (any number of seeds), or from the per-run series a
``figure6.json`` holds (this command's, or the legacy one of commit ca26fc3).
"""

from __future__ import annotations

import importlib
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.runs import RunJob, load_history, run_jobs

SIGMAS = (0.005, 0.05, 0.5, 5.0)
FULL = dict(epochs=100, batch_episodes=32, horizon=1000, seeds=10, sensitivity_seeds=5, save_freq=10, grid=21,
            slice_grid=101)
QUICK = dict(epochs=3, batch_episodes=4, horizon=50, seeds=2, sensitivity_seeds=1, save_freq=1, grid=5,
             slice_grid=11)
VARIANTS = {  # name: (sub-folder of runs/, config changes)
    "main": ("", {}),
    "tanh": ("tanh", {"env": "hopper-stand-tanh", "plugins": ["mollirl.reproduce.squashed"]}),
    "baseline-none": ("baseline_none", {"baseline": "none"}),
}
LANDSCAPE_SIGMA = 0.05  # the paper draws Fig. 6e/f from the sigma = 0.05 run
LANDSCAPE_RADIUS = 1.0  # filter-normalized directions (Li et al. 2018): 1 = the size of each weight row


def sizes(quick: bool, size: dict[str, Any] | None = None) -> dict[str, Any]:
    """``size`` when given (a reduced run: :mod:`mollirl.reproduce.figure6_reduced`), else ``QUICK`` or ``FULL``."""
    return dict(size) if size is not None else dict(QUICK if quick else FULL)


def jobs(out: Path, quick: bool, *, variant: str = "main", seeds: int | None = None,
         size: dict[str, Any] | None = None) -> list[RunJob]:
    """The runs of one variant: every sigma x ``seeds`` seeds (default: the variant's count)."""
    size = sizes(quick, size)
    folder, changes = VARIANTS[variant]
    if seeds is None:
        seeds = size["seeds"] if variant == "main" else size["sensitivity_seeds"]
    if variant == "tanh":
        importlib.import_module("mollirl.reproduce.squashed")  # registers hopper-stand-tanh before the config validates
    out_jobs = []
    for sigma in SIGMAS:
        for seed in range(seeds):
            settings = dict(
                algo="reinforce", env="hopper-stand", policy="mlp", policy_init="random",
                policy_kwargs={"hidden": 16, "bias": False}, sigma=sigma, epochs=size["epochs"],
                batch_episodes=size["batch_episodes"], horizon=size["horizon"], gamma=0.99, step_size=1.0,
                baseline="mean", update="normalized", seed=seed, log_folder=str(out / "runs"),
                checkpoint_every=10, save_freq=size["save_freq"], progress=False)
            config = RunConfig(**{**settings, **changes}).validate()
            out_jobs.append(RunJob(config, out / "runs" / folder / f"sigma_{sigma:g}" / f"seed_{seed}"))
    return out_jobs


def all_jobs(out: Path, quick: bool, size: dict[str, Any] | None = None) -> dict[str, list[RunJob]]:
    return {variant: jobs(out, quick, variant=variant, size=size) for variant in VARIANTS}


def run_summary(run_dir: Path, sigma: float, seed: int, *, saturation: bool = True) -> dict[str, Any]:
    """One run: both readings over epochs, the saturation path, the final episode (from its folder)."""
    from mollirl.reproduce.figure6_analysis import readings, saturation_path

    numbers = readings(load_history(run_dir))
    out = {"seed": int(seed), "sigma": float(sigma), "run_dir": Path(run_dir), **numbers}
    if saturation:
        path = saturation_path(run_dir)
        out.update(saturation=path, final_episode=path[-1])
    return out


def variant_summary(runs: list[tuple[Path, float, int]], *, saturation: bool = True) -> dict[str, Any]:
    """``{sigma: {"sigma", "runs", <distributions over seeds>}}`` of one variant's ``(run_dir, sigma, seed)``."""
    from mollirl.reproduce.figure6_analysis import sigma_summary

    per_sigma: dict[str, Any] = {}
    for run_dir, sigma, seed in runs:
        per_sigma.setdefault(f"{sigma:g}", {"sigma": sigma, "runs": []})["runs"].append(
            run_summary(run_dir, sigma, seed, saturation=saturation))
    for entry in per_sigma.values():
        entry["runs"].sort(key=lambda r: r["seed"])
        entry.update(sigma_summary(entry["runs"]))
    return dict(sorted(per_sigma.items(), key=lambda kv: float(kv[0])))


def plot_training(per_sigma: dict[str, Any], path: Path) -> None:
    """Both readings over epochs: every seed thin, the median thick, the interquartile range shaded."""
    from mollirl.reproduce.common import pyplot, save_figure, value_scale

    plt = pyplot()
    keys = sorted(per_sigma, key=float)
    rows = [r for r in ("J_det", "batch_return")
            if any(np.any(np.isfinite(np.asarray(run[r], dtype=np.float64))) for k in keys for run in per_sigma[k]["runs"])]
    fig, axes = plt.subplots(len(rows), len(keys), figsize=(4 * len(keys), 3.2 * len(rows)), sharey="row",
                             squeeze=False)
    for col, key in enumerate(keys):
        runs = per_sigma[key]["runs"]
        for row, (series, label) in enumerate((("J_det", "J_det (deterministic, discounted return)"),
                                               ("batch_return", "batch return (stochastic, undiscounted)"))):
            if series not in rows:
                continue
            ax = axes[rows.index(series), col]
            n = min(len(r[series]) for r in runs)
            stack = np.stack([np.asarray(r[series][:n], dtype=np.float64) for r in runs])
            for s in stack:
                ax.plot(s, lw=0.5, alpha=0.4, color="C0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the final row has no batch: all-NaN column
                q1, med, q3 = np.nanpercentile(stack, [25, 50, 75], axis=0)
            ax.plot(med, color="k", lw=1.6, label="median")
            ax.fill_between(np.arange(n), q1, q3, color="C1", alpha=0.35, label="interquartile range")
            value_scale(ax, stack)
            stand = per_sigma[key].get("fraction_standing_at_end")
            ax.set_title(f"sigma = {key}: {len(runs)} seeds" + ("" if stand is None else f", {stand:.0%} stand at "
                                                                "the end"), fontsize=9)
            ax.set_ylabel(label, fontsize=8)
            ax.set_xlabel("epoch")
    axes[0, 0].legend(fontsize=7)
    save_figure(fig, path, dpi=110)


def plot_saturation(per_sigma: dict[str, Any], path: Path) -> None:
    """Median over seeds of the saturated fraction and the effective post-squash noise, per sigma over epochs."""
    from mollirl.reproduce.common import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for key in sorted(per_sigma, key=float):
        by_epoch = per_sigma[key]["saturation_by_epoch"]
        epochs = sorted(int(e) for e in by_epoch)
        for ax, field in zip(axes, ("saturated_fraction", "effective_noise", "W2_norm")):
            ax.plot(epochs, [by_epoch[str(e)][field] for e in epochs], "o-", ms=3, label=f"sigma {key}")
    for ax, title, ylabel in zip(axes, ("saturated mean actions (median over seeds)",
                                        "effective noise after the squash (median over seeds)",
                                        "output layer norm (median over seeds)"),
                                 ("fraction |f(mu)| >= 0.99 (of 1)", "E|f(mu + sigma z) - f(mu)| (action units)",
                                  "|W2| (Frobenius norm)")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    save_figure(fig, path, dpi=110)


def landscapes(out: Path, run_dir: Path, quick: bool, log=print, size: dict[str, Any] | None = None) -> dict[str, Any]:
    """Deterministic landscapes around theta_0 and the final theta of one run: random
    directions filter-normalized to each centre (seed 0), a 2-D grid and a finer 1-D
    slice for the Hölder fit."""
    import dataclasses
    import time

    from mollirl.landscape import compute_landscape, problem_from_run, summarize
    from mollirl.landscape.plot import save_png
    from mollirl.reproduce.common import range_text

    size = sizes(quick, size)
    result: dict[str, Any] = {"run_dir": Path(run_dir), "radius": LANDSCAPE_RADIUS, "grid": size["grid"],
                              "slice_grid": size["slice_grid"]}
    for at in ("initial", "final"):
        problem = problem_from_run(run_dir, at)
        name = f"theta_{problem.metadata['epoch']} (sigma {LANDSCAPE_SIGMA:g}, seed 0)"
        problem = dataclasses.replace(problem, label=name, metadata={**problem.metadata, "label": name})
        t0 = time.perf_counter()
        land = compute_landscape(problem, grid=size["grid"], dims=2, radius=LANDSCAPE_RADIUS, directions="filter",
                                 mode="det", seed=0)
        seconds = time.perf_counter() - t0
        save_png(land, out / f"figure6_landscape_{at}.png")
        line = compute_landscape(problem, grid=size["slice_grid"], dims=1, radius=LANDSCAPE_RADIUS, directions="filter",
                                 mode="det", seed=0)
        save_png(line, out / f"figure6_slice_{at}.png")
        result[at] = {"summary_2d": summarize(land)["det"], "summary_1d": summarize(line)["det"],
                      "seconds_2d": round(seconds, 1)}
        s2, s1 = result[at]["summary_2d"], result[at]["summary_1d"]
        log(f"figure 6 landscape around theta_{at}: Hölder (1-D slice) {range_text(s1)}, "
            f"hf energy (2-D) {s2['hf_energy']:.3g}, J range {s2['J_range']:.4g}")
    return result


def _drop_series(per_sigma: dict[str, Any]) -> dict[str, Any]:
    """The JSON keeps each run's series at full length but not the J_sigma duplicate."""
    for entry in per_sigma.values():
        for r in entry["runs"]:
            r.pop("J_sigma", None)
    return per_sigma


def run(out: Path, quick: bool = False, n_jobs: int = 2, log=print, *, size: dict[str, Any] | None = None,
        label: str | None = None, command: str | None = None, from_runs: Path | None = None) -> dict[str, Any]:
    """Train (or reuse) the runs of every variant, write the figures and return the summary.

    :param size: the run sizes (the keys of ``FULL``) instead of ``FULL`` / ``QUICK``;
        ``label`` then names them in the summary (``"size": label``), e.g. ``"reduced"``.
    :param from_runs: no training: a folder of finished runs in this command's layout (any number of
        seeds; :func:`~mollirl.reproduce.figure6_sources.finished_runs`), or a ``figure6.json`` whose stored
        per-run series are judged again (:func:`~mollirl.reproduce.figure6_sources.stored_variants`; the
        landscapes are then the file's, as stored).
    """
    from mollirl.reproduce.common import Claims, Timer, write_summary
    from mollirl.reproduce.figure6_analysis import LAST, judge
    from mollirl.reproduce.figure6_sources import LEGACY_NOTE, LEGACY_STANDING, finished_runs, stored_variants

    timer = Timer()
    out.mkdir(parents=True, exist_ok=True)
    statuses: dict[Path, str] = {}
    variant_seconds: dict[str, float] = {}  # wall time of each variant's training (reused runs: ~0)
    stored: dict[str, Any] | None = None
    if from_runs is not None and Path(from_runs).is_file():
        summaries, stored = stored_variants(Path(from_runs))
        source = {"kind": "stored per-run series (no training, no rollout)", "file": Path(from_runs)}
        log(f"figure 6: judging the per-run series stored in {from_runs}")
    else:
        if from_runs is not None:
            found = finished_runs(Path(from_runs), {v: sub for v, (sub, _) in VARIANTS.items()})
            source = {"kind": "finished run folders (no training)", "folder": Path(from_runs)}
            log(f"figure 6: {sum(len(v) for v in found.values())} finished runs under {from_runs} (no training)")
        else:
            variants = all_jobs(out, quick, size)
            counts = ", ".join(f"{k}: {len(v)}" for k, v in variants.items())
            log(f"figure 6: {sum(len(v) for v in variants.values())} hopper-stand runs ({counts}) under {out / 'runs'}")
            for name, jobs in variants.items():  # one variant after another: the main runs finish first
                started = time.perf_counter()
                statuses.update(run_jobs(jobs, n_jobs=n_jobs, log=log))
                variant_seconds[name] = round(time.perf_counter() - started, 1)
                log(f"figure 6: variant {name} done in {variant_seconds[name]:.0f} s")
            found = {v: [(j.run_dir, j.config.sigma, j.config.seed) for j in js
                         if not statuses.get(Path(j.run_dir), "").startswith("failed")] for v, js in variants.items()}
            source = {"kind": "trained (or reused) by this command", "folder": out / "runs"}
        summaries = {v: variant_summary(runs) for v, runs in found.items()}
    train_seconds = timer.seconds
    main = summaries["main"]
    plot_training(main, out / "figure6_training.png")
    if any(e.get("saturation_by_epoch") for e in main.values()):
        plot_saturation(main, out / "figure6_saturation.png")
    for variant in summaries:
        if variant != "main":
            plot_training(summaries[variant], out / f"figure6_training_{variant}.png")
    if stored is not None:
        land = stored.get("landscapes")
    else:
        land_dir = next((d for d, s, k in found["main"] if s == LANDSCAPE_SIGMA and k == 0), None)
        land = landscapes(out, land_dir, quick, log=log, size=size) if land_dir is not None else None
    # a stored quick run stays a quick run (not evidence), whatever flag judges it again
    quick = quick or bool(stored is not None and stored.get("quick", False))
    claims = Claims(quick)
    legacy = stored is not None and ("per_sigma" in stored or "legacy" in stored)
    best = judge(summaries, SIGMAS, claims, standing_proxy=LEGACY_STANDING if legacy else None)
    sat = {float(k): v["saturation_by_epoch"] for k, v in main.items() if v.get("saturation_by_epoch")}
    if {0.5, 5.0} <= set(sat):
        from mollirl.analysis import stats
        from mollirl.reproduce.figure6_analysis import _paired

        seeds, last = _paired({float(k): v for k, v in main.items()}, (0.5, 5.0),
                              lambda r: r["final_episode"]["saturated_fraction"])
        claims.add(stats.compare(last[5.0], last[0.5], "saturation: sigma 5 saturates more of its mean actions than "
                                 "sigma 0.5 at the end", paired=True), "seeds (paired)")
    if land and land.get("initial") and land.get("final") and stored is None:
        from mollirl.reproduce.common import compare_readings, judge_exact_or_missing

        a, b = land["initial"], land["final"]
        claims.add(judge_exact_or_missing(a["summary_2d"]["hf_energy"], b["summary_2d"]["hf_energy"],
                                          "landscape smoother after training (2-D high-frequency energy, sigma "
                                          f"{LANDSCAPE_SIGMA:g} seed 0: one run)", what="hf(theta_0) - hf(theta_K)"),
                   "exact at each theta; theta_K from one chaotic training")
        claims.add(compare_readings(b["summary_1d"], a["summary_1d"], "landscape smoother after training (1-D window "
                                    f"Hölder exponent over its scaling range, sigma {LANDSCAPE_SIGMA:g} seed 0: one run)"),
                   "exact at each theta (the intervals: over sub-windows); theta_K from one chaotic training")
    size_name = label or ("quick" if quick else "full")
    if stored is not None:
        size_name = stored.get("size", "full (legacy: 5 seeds, J_det only)" if legacy else size_name)
    summary = {"figure": 6, "quick": quick,
               "size": size_name, "sizes": sizes(quick, size) if stored is None else stored.get("sizes"),
               "source": source, "train_seconds": train_seconds if stored is None else stored.get("train_seconds"),
               "variant_train_seconds": variant_seconds or (stored or {}).get("variant_train_seconds"),
               "readings": {"J_det": "deterministic policy, discounted (gamma 0.99), from the noise-free start",
                            "batch_return": "stochastic policy, undiscounted, mean over the epoch's batch",
                            "last": f"mean over the last {LAST} epochs of a run (J_det_final: the last row)"},
               "variants": {v: _drop_series(s) for v, s in summaries.items()}, "best_and_ties": best,
               "landscapes": land, "claims": claims.to_list(),
               "failed": {Path(k): v for k, v in statuses.items() if v.startswith("failed")}}
    if legacy:
        summary["legacy"] = LEGACY_NOTE
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "figure6", summary, command=command)
    return summary
