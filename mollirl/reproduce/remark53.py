"""Remark 5.3 (an optimal sigma* exists: too small leaves the landscape fractal and training
unstable, too large smooths the optimum away), measured on a chaotic and a non-chaotic case.

Three cases, each a fixed starting theta:

* ``dp-chaotic``: the double pendulum under the random tanh MLP of seed 0 (16 hidden, no
  biases), one of the two of figure2's ten whose maximal Lyapunov exponent exceeds -log gamma;
* ``hopper``: hopper-stand at theta_0 of seed 0 (the tanh MLP the Fig. 6 runs of seed 0 start from);
* ``dp-k0``: the double pendulum at the paper's K0 (non-chaotic: its closed loop is almost stable).

For each case (the Lyapunov exponent measured again here, :func:`mollirl.reproduce.exponents.lyapunov`):

1. **the sweep** (:func:`mollirl.landscape.sweep.sigma_sweep`) at theta over the sigma grid: the
   two sides of the trade-off at the start of training, the variance of the REINFORCE
   estimate (tr Cov, SNR) and the bias of mollification (J_sigma - J, the angle between
   E g and the finite-difference gradient), with 95% intervals;
2. **a sigma* study** (``python -m mollirl.study``'s library: grid sampler over the same
   sigmas, ``seeds`` paired seeds per sigma, every trial trained as one population, no
   pruning; every seed starts from the case's theta and differs in its noise and starts):
   final J_det and the spread of J(theta_k) over epochs per sigma, sigma* with its interval
   over seeds and the sigmas not distinguishable from it (:mod:`mollirl.studies.sigma_star`).

**The verdict** on "an interior sigma* exists" per case, from the paired comparisons of the
study (:func:`mollirl.analysis.stats.compare`, 95% intervals and exact sign-flip tests):
``holds`` when the best sigma is inside the grid and beats both ends of it; ``fails`` when
the best sigma is an end of the grid and every other sigma is shown worse (a monotone
trend: the optimum is at or beyond the end); ``not distinguishable at n = N`` otherwise,
with the reason. The sweep's claims (variance falls with sigma, bias grows with it) are
judged by whether the intervals at the grid's ends are disjoint.

Cost: the hopper study dominates (9 sigmas x 10 seeds x ``epochs`` x 32 episodes x 1000
MuJoCo steps); its epochs are reduced from the paper's 100 (``HOPPER_EPOCHS``) and the JSON
records every part's env steps and wall time.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.reproduce.common import Claims, Timer, pyplot, save_figure, value_scale, write_summary

#: nine log-spaced sigmas, half a decade apart, from 1e-3 to 10
SIGMAS = (0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16, 10.0)
QUICK_SIGMAS = (0.01, 0.1, 1.0, 10.0)
#: the hopper study's epochs (the paper trains 100; see the module docstring)
HOPPER_EPOCHS = 20

CASES: dict[str, dict[str, Any]] = {
    "dp-chaotic": dict(env="double-pendulum", policy="mlp", seed=0,
                       label="double pendulum, random tanh MLP (seed 0)"),
    "hopper": dict(env="hopper-stand", policy="mlp", seed=0, label="hopper stand at theta_0 (seed 0)"),
    "dp-k0": dict(env="double-pendulum", policy="linear", seed=0, label="double pendulum at K0"),
}
FULL = {
    "double-pendulum": dict(sigmas=SIGMAS, horizon=1000, sweep_episodes=256, sweep_batch=16, seeds=10, epochs=50,
                            batch_episodes=16),
    "hopper-stand": dict(sigmas=SIGMAS, horizon=1000, sweep_episodes=64, sweep_batch=32, seeds=10,
                         epochs=HOPPER_EPOCHS, batch_episodes=32),
}
QUICK = {
    "double-pendulum": dict(sigmas=QUICK_SIGMAS, horizon=60, sweep_episodes=16, sweep_batch=4, seeds=3, epochs=3,
                            batch_episodes=4),
    "hopper-stand": dict(sigmas=QUICK_SIGMAS, horizon=20, sweep_episodes=8, sweep_batch=4, seeds=2, epochs=2,
                         batch_episodes=2),
}


def case_problem(case: dict[str, Any], horizon: int):
    """The landscape problem at the case's theta."""
    from mollirl.landscape import problem_from_env
    from mollirl.reproduce.exponents import mlp_problem

    if case["policy"] == "mlp":
        return mlp_problem(case["env"], case["seed"], hidden=16, horizon=horizon)
    return problem_from_env(case["env"], "reference", horizon=horizon)


def start_model(name: str, case: dict[str, Any], size: dict[str, Any], out: Path) -> Path | None:
    """A model zip at the case's theta for ``-i/--trained-agent`` (random MLP cases: the ``initial.zip`` of a
    one-epoch run of that seed), so every seed of the study starts there; None for K0 (``policy_init
    reference`` starts every seed at K0)."""
    if case["policy"] != "mlp":
        return None
    from mollirl.config import RunConfig
    from mollirl.training import train

    run_dir = out / "runs" / f"start_{name}"
    if not (run_dir / "initial.zip").is_file():
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)  # a start run cut short: made again
        config = RunConfig(algo="reinforce", env=case["env"], policy="mlp", policy_init="random",
                           policy_kwargs={"hidden": 16, "bias": False}, seed=case["seed"], epochs=1,
                           horizon=size["horizon"], batch_episodes=2, log_folder=str(out / "runs"), progress=False,
                           checkpoint_every=0).validate()
        train(config, run_dir=run_dir)
    return run_dir / "initial.zip"


def run_study(name: str, case: dict[str, Any], size: dict[str, Any], out: Path, progress: bool):
    """The grid study of ``case`` (created, resumed, or read when complete); returns the Optuna study."""
    from mollirl.hyperparams import resolve_with_sources
    from mollirl.studies.runner import check_training, run_study as run, validate_storage
    from mollirl.studies.spec import build_spec, merge_options

    cli: dict[str, Any] = dict(epochs=size["epochs"], horizon=size["horizon"], batch_episodes=size["batch_episodes"],
                               gamma=0.99, step_size=1.0, baseline="mean", update="normalized", seed=0)
    if case["policy"] == "mlp":
        cli.update(policy="mlp", policy_init="random", policy_kwargs={"hidden": 16, "bias": False},
                   trained_agent=str(start_model(name, case, size, out)))
    else:
        cli.update(policy="linear", policy_init="reference")
    config, _, _ = resolve_with_sources(case["env"], "reinforce", None, cli)
    sigmas = list(size["sigmas"])
    options = merge_options({}, dict(sigma_values=sigmas, sampler="grid", seeds=size["seeds"], objective="return",
                                     pruner="none", n_trials=len(sigmas), batch_trials=len(sigmas), sampler_seed=0))
    spec = build_spec(options, config, study_name=f"remark53-{name}", storage=None, log_folder=str(out / "runs"))
    spec.progress = progress
    check_training(spec)
    validate_storage(spec)
    return run(spec).study


def study_summary(study, sigmas: tuple[float, ...]) -> dict[str, Any]:
    """Per sigma the per-seed final J_det and spread; sigma* for both objectives; the interior verdict."""
    from mollirl.analysis import stats
    from mollirl.studies.sigma_star import per_seed_values, sigma_star

    trials = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    rows = [{"number": t.number, "sigma": t.params["sigma"], "attrs": t.user_attrs} for t in trials]
    per_sigma = {}
    for r in sorted(rows, key=lambda r: r["sigma"]):
        ret = per_seed_values(r["attrs"], "return") or {}
        spread = per_seed_values(r["attrs"], "stability") or {}
        per_sigma[r["sigma"]] = {"trial": r["number"], "final_J_det": [ret[s] for s in sorted(ret)],
                                 "spread": [spread[s] for s in sorted(spread)],
                                 "final_J_det_mean": stats.interval(list(ret.values())).to_dict() if ret else None,
                                 "variance_of_J_over_epochs_mean": float(np.mean(np.square(list(spread.values()))))
                                 if spread else None}
    out: dict[str, Any] = {"sigmas": sorted(per_sigma), "per_sigma": per_sigma,
                           "missing": sorted(set(sigmas) - set(per_sigma))}
    for objective in ("return", "stability"):
        star = sigma_star(rows, objective)
        out[f"sigma_star_{objective}"] = star.to_dict() if star is not None else None
        values = {s: v["final_J_det" if objective == "return" else "spread"] for s, v in per_sigma.items()}
        out[f"interior_{objective}"] = interior_verdict(values, higher_is_better=objective == "return")
        out[f"interior_{objective}_iqm"] = interior_verdict(values, higher_is_better=objective == "return",
                                                            statistic="iqm")
    for v in per_sigma.values():  # a seed that failed shows here, not only in the mean
        x = np.asarray(v["final_J_det"], dtype=float)
        v["final_J_det_min_median_max"] = [float(x.min()), float(np.median(x)), float(x.max())] if x.size else None
    return out


def interior_verdict(groups: dict[float, list[float]], *, higher_is_better: bool = True,
                     statistic: str = "mean") -> dict[str, Any]:
    """Judge "an interior sigma* exists on this grid" from paired per-seed values by sigma (see the module
    docstring), on the ``statistic`` over seeds (the study's objective is the mean; ``iqm`` is the reading
    robust to a seed that fails catastrophically)."""
    from mollirl.analysis import stats

    groups = {s: list(v) for s, v in groups.items() if len(v)}
    sigmas = sorted(groups)
    if len(sigmas) < 3 or len({len(v) for v in groups.values()}) != 1:
        return {"verdict": "not distinguishable", "outcome": "not distinguishable",
                "reason": "fewer than 3 sigmas with the same seeds", "n": 0}
    n = len(groups[sigmas[0]])
    best = stats.best_and_ties(groups, paired=True, higher_is_better=higher_is_better, statistic=statistic)
    b = best.best
    ends = (sigmas[0], sigmas[-1])
    against = {s: v.outcome for s, v in best.against_best.items()}
    vs_ends = {str(e): against.get(e) for e in ends if e != b}
    detail = {str(s): best.against_best[s].detail for s in best.against_best}
    if b not in ends:
        if all(against[e] == "holds" for e in ends):
            verdict, reason = "holds", (f"the best sigma {b:g} is inside the grid and beats both ends "
                                        f"({ends[0]:g} and {ends[1]:g}) over {n} paired seeds")
        else:
            unbeaten = [f"{e:g}" for e in ends if against[e] != "holds"]
            verdict, reason = "not distinguishable", (f"the best sigma {b:g} is inside the grid but cannot be told "
                                                      f"from the end(s) {', '.join(unbeaten)} at n = {n}")
    else:
        if len(best.ties) == 1:
            verdict, reason = "fails", (f"the best sigma is the grid's end {b:g} and every other sigma is shown "
                                        f"worse at n = {n}: a monotone trend, no interior optimum on this grid")
        else:
            inner = [f"{s:g}" for s in sorted(best.ties) if s != b]
            verdict, reason = "not distinguishable", (f"the best sigma is the grid's end {b:g}; {', '.join(inner)} "
                                                      f"cannot be told from it at n = {n}")
    return {"verdict": verdict if verdict != "not distinguishable" else f"not distinguishable at n = {n}",
            "outcome": verdict, "reason": reason, "best_sigma": b, "ties": sorted(best.ties), "n": n,
            "statistic": statistic,
            "against_ends": vs_ends, "against_best": detail}


def sweep_claims(sweep) -> dict[str, Any]:
    """Does the variance fall with sigma, does the bias grow? Judged by the intervals at the grid's ends."""
    first, last = sweep.rows[0], sweep.rows[-1]
    var_falls = first.trace_cov.low > last.trace_cov.high
    bias_grows = abs(last.bias.estimate) > abs(first.bias.estimate) and (
        last.bias.high < min(0.0, first.bias.low) or last.bias.low > max(0.0, first.bias.high))
    snr = [r.snr.estimate for r in sweep.rows]
    best_snr = sweep.rows[int(np.nanargmax(snr))].sigma if np.any(np.isfinite(snr)) else math.nan
    return {"variance_falls_with_sigma": bool(var_falls), "bias_grows_with_sigma": bool(bias_grows),
            "trace_cov_ends": [first.trace_cov.to_dict(), last.trace_cov.to_dict()],
            "bias_ends": [first.bias.to_dict(), last.bias.to_dict()], "sigma_of_best_snr": best_snr,
            "trace_cov_slope_loglog": float(np.polyfit(np.log([r.sigma for r in sweep.rows]),
                                                       np.log([max(r.trace_cov.estimate, 1e-300)
                                                               for r in sweep.rows]), 1)[0])}


def interior_claim(label: str, verdict: dict[str, Any]):
    """:func:`interior_verdict` as a :class:`~mollirl.analysis.stats.Verdict`: its interval is the best sigma
    with the range of the sigmas not distinguishable from it (paired over seeds)."""
    from mollirl.analysis.stats import LEVEL, Interval, Verdict

    ties = verdict.get("ties") or []
    best = verdict.get("best_sigma", math.nan)
    iv = Interval(float(best), float(min(ties)) if ties else math.nan, float(max(ties)) if ties else math.nan, LEVEL,
                  int(verdict.get("n", 0)), "sigma* (final J_det, mean over seeds); the range: sigmas not "
                  "distinguishable from it", "paired comparisons over seeds (analysis.stats.best_and_ties)")
    return Verdict(f"Remark 5.3 ({label}): an interior sigma* exists (final J_det)", verdict["outcome"], iv, None,
                   int(verdict.get("n", 0)), verdict.get("reason", ""))


def sweep_verdicts(label: str, sweep) -> tuple[Any, Any]:
    """The sweep's two claims at the grid's ends, from their intervals over episodes: the REINFORCE
    variance falls with sigma (the smallest sigma's tr Cov above the largest's), the bias grows (the
    largest sigma's |J_sigma - J| away from 0 and beyond the smallest's)."""
    from mollirl.analysis.stats import Verdict

    first, last = sweep.rows[0], sweep.rows[-1]
    fall = dataclasses.replace(first.trace_cov, estimate=first.trace_cov.estimate - last.trace_cov.estimate,
                               low=first.trace_cov.low - last.trace_cov.high,
                               high=first.trace_cov.high - last.trace_cov.low,
                               statistic=f"tr Cov(g_N) at sigma {first.sigma:g} minus at {last.sigma:g}",
                               method="the two intervals' ends (conservative)")
    outcome = "holds" if fall.low > 0 else "fails" if fall.high < 0 else "not distinguishable"
    var = Verdict(f"Remark 5.3 ({label}): the REINFORCE gradient's variance falls with sigma", outcome, fall, None,
                  int(sweep.episodes), f"tr Cov {first.trace_cov} at sigma {first.sigma:g}, {last.trace_cov} at "
                  f"{last.sigma:g}")
    sw = sweep_claims(sweep)
    bias = Verdict(f"Remark 5.3 ({label}): the mollification bias grows with sigma",
                   "holds" if sw["bias_grows_with_sigma"] else "not distinguishable", last.bias, None,
                   int(sweep.episodes), f"J_sigma - J {first.bias} at sigma {first.sigma:g}, {last.bias} at "
                   f"{last.sigma:g}")
    return var, bias


def plot_case(name: str, label: str, sweep, study: dict[str, Any], path: Path) -> Path:
    """One row: J_sigma and J; |bias|; tr Cov and SNR; the study's final J_det and spread per sigma."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.9))
    x = np.array(sweep.sigmas)

    def errs(ivs):
        est = np.array([iv.estimate for iv in ivs])
        lo = np.array([iv.low if iv.defined else iv.estimate for iv in ivs])
        hi = np.array([iv.high if iv.defined else iv.estimate for iv in ivs])
        return est, [np.maximum(est - lo, 0), np.maximum(hi - est, 0)]

    est, err = errs([r.J_sigma for r in sweep.rows])
    axes[0].errorbar(x, est, yerr=err, fmt="o-", capsize=3, label="J_sigma(theta)")
    axes[0].axhline(sweep.J, color="C3", ls="--", lw=1, label="J(theta)")
    axes[0].set_title("mollified objective at theta", fontsize=9)
    axes[0].set_ylabel("discounted return", fontsize=8)
    axes[0].legend(fontsize=7)
    mag = np.array([abs(r.bias.estimate) for r in sweep.rows])
    axes[1].plot(x, np.maximum(mag, 1e-12), "o-", color="C1")
    axes[1].set_yscale("log")
    axes[1].set_title("|J_sigma - J| (bias)", fontsize=9)
    axes[1].set_ylabel("|J_sigma(theta) - J(theta)|", fontsize=8)
    est, err = errs([r.trace_cov for r in sweep.rows])
    axes[2].errorbar(x, est, yerr=err, fmt="o-", color="C2", capsize=3, label=f"tr Cov(g_N), N={sweep.batch_episodes}")
    axes[2].set_yscale("log")
    axes[2].set_ylabel("tr Cov(g_N)", color="C2", fontsize=8)
    ax2 = axes[2].twinx()
    est, err = errs([r.snr for r in sweep.rows])
    ax2.errorbar(x, est, yerr=err, fmt="s--", color="C4", capsize=3, label="SNR")
    ax2.set_ylabel("SNR", color="C4", fontsize=8)
    axes[2].set_title("REINFORCE variance (green) and SNR (purple)", fontsize=9)
    ax = axes[3]
    per = study.get("per_sigma", {})
    sig = sorted(per)
    means = [np.mean(per[s]["final_J_det"]) for s in sig]
    lows = [per[s]["final_J_det_mean"]["low"] if per[s]["final_J_det_mean"]["low"] is not None else m
            for s, m in zip(sig, means)]
    highs = [per[s]["final_J_det_mean"]["high"] if per[s]["final_J_det_mean"]["high"] is not None else m
             for s, m in zip(sig, means)]
    if sig:
        ax.errorbar(sig, means, yerr=[np.maximum(np.subtract(means, lows), 0), np.maximum(np.subtract(highs, means), 0)],
                    fmt="o-", color="C0", capsize=3, label="final J_det (mean, 95% CI over seeds)")
        ax.plot(sig, [np.median(per[s]["final_J_det"]) for s in sig], "_", color="k", markersize=12,
                label="median over seeds")
        value_scale(ax, np.concatenate([per[s]["final_J_det"] for s in sig] + [lows, highs]))
        star = study.get("sigma_star_return")
        if star:
            ties = [t["sigma"] for t in star["indistinguishable_from_best"]]
            for s in ties:
                ax.axvspan(s / 1.25, s * 1.25, color="C2", alpha=0.15, lw=0)
            ax.axvline(star["sigma"], color="C3", ls="--", lw=1)
        ax3 = ax.twinx()
        ax3.plot(sig, [np.mean(per[s]["spread"]) for s in sig], "x:", color="0.4", label="spread of J(theta_k)")
        ax3.set_yscale("log")
        ax3.set_ylabel("spread of J(theta_k) over epochs", fontsize=8)
        ax.set_title("sigma* study: final J_det (green: indistinguishable from best)", fontsize=9)
        ax.set_ylabel("final J_det", fontsize=8)
        ax.legend(fontsize=7, loc="lower left")
    else:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "sigma* study not run\n(remark53-analytic)", ha="center", va="center", fontsize=10,
                transform=ax.transAxes)
    for a in axes[:3] if not sig else axes:
        a.set_xscale("log")
        a.set_xlabel("sigma")
        a.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"Remark 5.3, {label}", fontsize=10)
    return save_figure(fig, path, dpi=100)


def study_steps(size: dict[str, Any]) -> int:
    """Env steps of a case's sigma* study (every row of every epoch of every seed, J_det rows included)."""
    return int(len(size["sigmas"]) * size["seeds"] * size["epochs"] * (size["batch_episodes"] + 1) * size["horizon"])


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, hopper_study: bool = True,
        name: str = "remark53", command: str | None = None) -> dict[str, Any]:
    """Measure every case (sweep, Lyapunov exponent, sigma* study), write the figures and the summary.

    :param hopper_study: False: the hopper's sweep and Lyapunov exponent only, its study's cost estimated
        from the sweep's MuJoCo step rate (``remark53-analytic``).
    :param name: the summary's file name (``<name>.json``).
    """
    from mollirl.landscape.sweep import sigma_sweep
    from mollirl.reproduce.exponents import lyapunov

    import logging

    from mollirl.studies.runner import setup_output

    setup_output(logging.WARNING)  # Optuna quiet; this command prints its own lines
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    sizes = QUICK if quick else FULL
    progress = bool(getattr(log, "progress", False))
    cases: dict[str, Any] = {}
    claims = Claims(quick)
    for case_name, case in CASES.items():
        size = sizes[case["env"]]
        t0 = Timer()
        problem = case_problem(case, size["horizon"])
        lyap = lyapunov(problem)
        chaotic = bool(lyap["lambda_per_step"] > lyap["threshold_-log_gamma"])
        log(f"remark 5.3 {case_name}: {case['label']}: lambda {lyap['lambda_per_step']:.4g} per step (-log gamma "
            f"{lyap['threshold_-log_gamma']:.4g}: {'chaotic' if chaotic else 'not chaotic'})")
        import time

        cpu0 = time.process_time()
        sweep = sigma_sweep(problem, size["sigmas"], episodes=size["sweep_episodes"],
                            batch_episodes=size["sweep_batch"])
        sweep_cpu = time.process_time() - cpu0  # every thread of this process (MuJoCo's batch threads too)
        sweep_seconds = t0.seconds
        sw = sweep_claims(sweep)
        log(f"  sweep: {len(sweep.rows)} sigmas x {sweep.episodes} episodes in {sweep.seconds:.1f} s; tr Cov(g_N) "
            f"{sweep.rows[0].trace_cov} at sigma {sweep.rows[0].sigma:g} -> {sweep.rows[-1].trace_cov} at "
            f"{sweep.rows[-1].sigma:g}; J_sigma - J {sweep.rows[0].bias} -> {sweep.rows[-1].bias}")
        steps = {"sweep": int(sweep.env_steps), "study": study_steps(size)}
        cost: dict[str, Any] = {"env_steps": steps, "sweep_seconds": sweep_seconds,
                                "sweep_steps_per_second": sweep.env_steps / max(sweep.seconds, 1e-9),
                                "sweep_cpu_seconds": sweep_cpu,
                                "sweep_steps_per_cpu_second": sweep.env_steps / max(sweep_cpu, 1e-9)}
        summary: dict[str, Any] = {}
        if hopper_study or case["env"] != "hopper-stand":
            t1 = Timer()
            study = run_study(case_name, case, size, out, progress)
            summary = study_summary(study, tuple(size["sigmas"]))
            cost["study_seconds"] = t1.seconds
            for objective in ("return", "stability"):
                v, r = summary[f"interior_{objective}"], summary[f"interior_{objective}_iqm"]
                log(f"  study ({objective}): interior sigma*: {v['verdict']}: {v['reason']} (IQM over seeds: "
                    f"{r['verdict']})")
            claims.add(interior_claim(case["label"], summary["interior_return"]), "seeds")
        else:
            rate, cpu_rate = cost["sweep_steps_per_second"], cost["sweep_steps_per_cpu_second"]
            cost["study_estimated_seconds"] = steps["study"] / rate
            cost["study_estimated_cpu_seconds"] = steps["study"] / cpu_rate
            log(f"  study not run (remark53-analytic): {steps['study'] / 1e6:.0f} M hopper steps, about "
                f"{steps['study'] / rate / 3600:.1f} h of wall time at the sweep's {rate:,.0f} steps/s here and "
                f"{steps['study'] / cpu_rate / 3600:.1f} CPU-hours at its {cpu_rate:,.0f} steps per CPU-second (the "
                f"updates come on top); python -m mollirl.reproduce remark53 runs it")
        plot_case(case_name, case["label"], sweep, summary, out / f"remark53_{case_name}.png")
        cases[case_name] = {"label": case["label"], "env": case["env"], "lyapunov": lyap, "chaotic": chaotic,
                            "sweep": sweep.to_dict(), "sweep_claims": sw, "study": summary or None,
                            "size": {k: (list(v) if isinstance(v, tuple) else v) for k, v in size.items()},
                            "cost": cost}
        for verdict in sweep_verdicts(case["label"], sweep):
            claims.add(verdict, "episodes")
    summary = {"result": "Remark 5.3 (an optimal sigma* exists)", "quick": quick, "wall_time_s": timer.seconds,
               "size": "full" if hopper_study else "analytic (the hopper's sweep, no hopper study)",
               "sigmas": {env: list(s["sigmas"]) for env, s in sizes.items()}, "hopper_epochs": sizes["hopper-stand"]
               ["epochs"], "cases": cases, "claims": claims.to_list()}
    write_summary(out, name, summary, command=command)
    return summary
