"""Proposition 3.1 (Wang et al. 2023): a deterministic policy whose closed loop has maximal
Lyapunov exponent lambda > -log(gamma) per step makes J only alpha-Hölder at theta, with
alpha = -log(gamma) / lambda. Predicted against measured, case by case.

For every (env, policy) case, on the deterministic J (discounted, from the env's
noise-free evaluation start, the env's horizon and gamma 0.99):

- ``lambda``: the closed loop's maximal Lyapunov exponent per env step along the
  evaluation trajectory (Benettin, 4 perturbations, the first tenth discarded;
  :func:`mollirl.reproduce.exponents.lyapunov`), and the prediction
  ``min(1, -log(gamma) / lambda)``;
- beside it the *finite-time* exponents over the first 50, 100 and 250 steps (nothing
  discarded; :func:`mollirl.reproduce.exponents.finite_time_lyapunov`), the separation
  rate over the steps the discount weighs most, and the exponents they would predict;
- the **point-wise** exponent at the centre theta, the one the proposition speaks of
  (the upper envelope over 8 random unit directions and both signs of
  |J(theta + h d) - J(theta)|, fitted over h = 1e-8 .. 1e-1;
  :func:`mollirl.reproduce.exponents.pointwise`);
- beside it the **window** exponent of a 1-D slice through theta (mean increment over
  all pairs of the slice's grid points, :func:`mollirl.analysis.holder_exponent`) at
  two radii, which measures how rough the slice looks at grid resolution, not the
  exponent at theta.

Agreement rule: the proposition bounds the increments from above, so it bounds the
point-wise exponent from below. The point-wise exponent is that of the roughest scaling
range of h (at least two decades; the finest range, usually J's Lipschitz floor below
h ~ e^(-lambda T), is listed beside it), with its interval over directions. A case
*agrees* when that interval reaches within ``TOL`` of the prediction, is *consistent*
(the bound holds but is not tight) when it lies wholly above prediction + ``TOL``,
*violates* it when wholly below prediction - ``TOL``, and is *undetermined* without a
scaling range. Chaotic and non-chaotic cases are counted apart.

Cases: the double pendulum with the paper's K0, with the zero policy and with random
tanh MLPs; the quadrotor at the LQR theta* and a step ``NEAR`` away from it; the hopper
at theta_0 (seed 0) and at the final policy of a Figure 6 run (sigma 0.05, seed 0,
the run of Figure 6's landscape panels; trained under ``OUT/runs`` unless
``OUT/../figure6/runs`` or ``OUT/../behaviour/runs`` holds it finished). Every case
but the trained hopper is a deterministic function of seeds and repeats bit for bit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.reproduce.common import Timer, pyplot, range_text, save_figure, write_summary

TOL = 0.1  # agreement tolerance on the exponent
NEAR = 0.05  # distance (parameter units, a random unit direction) of the "near theta*" quadrotor case
WINDOW_RADII = (1.0, 0.01)  # 1-D slices along a random unit direction
FULL = dict(mlp_seeds=4, window_grid=101, horizon=None, hopper_quick=False)
QUICK = dict(mlp_seeds=2, window_grid=21, horizon=200, hopper_quick=True)
HOPPER_SIGMA = 0.05  # the Figure 6 run whose final policy is the trained hopper case
SIBLINGS = ("figure6", "behaviour")  # reproductions whose finished Figure 6 runs are reused


def hopper_job(out: Path, quick: bool):
    """The Figure 6 job (sigma 0.05, seed 0), pointed at a sibling reproduction that finished it."""
    from mollirl.reproduce.figure6 import jobs as figure6_jobs
    from mollirl.reproduce.runs import finished_elsewhere

    job = next(j for j in figure6_jobs(out, quick) if j.config.sigma == HOPPER_SIGMA and j.config.seed == 0)
    return finished_elsewhere(job, out, SIBLINGS)


def cases(out: Path, quick: bool, log=print) -> list[tuple[str, str, Any]]:
    """``[(name, env, problem)]``: every case of the command (trains the hopper run if needed)."""
    from mollirl.landscape import problem_from_env, problem_from_run
    from mollirl.reproduce.exponents import mlp_problem, shifted
    from mollirl.reproduce.runs import run_jobs

    size = QUICK if quick else FULL
    h = size["horizon"]
    out_cases = [
        ("double pendulum, K0 (the paper's initial policy)", "double-pendulum",
         problem_from_env("double-pendulum", "reference", horizon=h)),
        ("double pendulum, zero policy", "double-pendulum", problem_from_env("double-pendulum", "zero", horizon=h)),
    ]
    for seed in range(size["mlp_seeds"]):
        out_cases.append((f"double pendulum, random tanh MLP seed {seed}", "double-pendulum",
                          mlp_problem("double-pendulum", seed, horizon=h)))
    star = problem_from_env("quadrotor", "reference", horizon=h)
    d = np.random.default_rng(0).standard_normal(star.centre.size)
    out_cases.append(("quadrotor, LQR theta*", "quadrotor", star))
    out_cases.append((f"quadrotor, theta* + {NEAR:g} d (random unit d)", "quadrotor",
                      shifted(star, star.centre + NEAR * d / np.linalg.norm(d), f"theta* + {NEAR:g} d")))
    job = hopper_job(out, quick)
    status = run_jobs([job], n_jobs=1, log=log)[Path(job.run_dir)]
    if status.startswith("failed"):
        raise ValueError(f"the hopper run {job.run_dir} failed: {status}")
    trained = problem_from_run(job.run_dir, "final")
    out_cases.append(("hopper, theta_0 (seed 0)", "hopper-stand", problem_from_run(job.run_dir, "initial")))
    out_cases.append((f"hopper, theta_{trained.metadata['epoch']} (sigma {HOPPER_SIGMA:g}, seed 0)", "hopper-stand",
                      trained))
    return out_cases


WINDOW_KEYS = ("holder", "holder_low", "holder_high", "holder_h_min", "holder_h_max", "holder_decades",
               "holder_status", "holder_reason", "holder_r2", "J_range")


def _bounds(reading: dict[str, Any]) -> tuple[float, float] | None:
    """The point-wise reading's interval over directions (its exponent when it has none); None without a range."""
    alpha = reading.get("alpha")
    if alpha is None or not np.isfinite(alpha):
        return None
    low, high = reading.get("alpha_low"), reading.get("alpha_high")
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return float(alpha), float(alpha)
    return float(low), float(high)


def verdict(reading: dict[str, Any], predicted: float | None) -> str:
    """``agrees`` (the interval of the point-wise exponent over directions reaches within ``TOL`` of the
    prediction), ``consistent`` (wholly above prediction + TOL: the bound holds, not tight), ``violates``
    (wholly below prediction - TOL) or ``undetermined`` (no scaling range, or no prediction)."""
    bounds = _bounds(reading)
    if predicted is None or bounds is None:
        return "undetermined"
    low, high = bounds
    if high < predicted - TOL:
        return "violates"
    if low > predicted + TOL:
        return "consistent"
    return "agrees"


def measure(name: str, env: str, problem, size: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The numbers of one case, and its point-wise envelope for the figure."""
    from mollirl.reproduce.exponents import finite_time_lyapunov, lyapunov, pointwise, window

    timer = Timer()
    lyap = lyapunov(problem)
    early = finite_time_lyapunov(problem)
    point = pointwise(problem, seed=0)
    windows = {}
    for radius in WINDOW_RADII:
        _, s = window(problem, radius=radius, grid=size["window_grid"], seed=0, directions="random")
        windows[f"{radius:g}"] = {k: s[k] for k in WINDOW_KEYS}
    numbers = {
        "case": name, "env": env, "horizon": problem.horizon, "gamma": problem.gamma, "J_centre": point["J_centre"],
        "lambda_per_step": lyap["lambda_per_step"], "lambda_spread": [float(np.min(lyap["lambda_per_perturbation"])),
                                                                      float(np.max(lyap["lambda_per_perturbation"]))],
        "threshold_-log_gamma": lyap["threshold_-log_gamma"], "predicted_holder": lyap["predicted_holder"],
        "finite_time": early,
        "pointwise_holder": point["alpha"], "pointwise": {k: v for k, v in point.items()
                                                          if k not in ("h", "envelope", "used", "warnings")},
        "pointwise_zero_increments": point["n_zero"], "pointwise_nonfinite": point["n_nonfinite"],
        "window_holder": windows, "verdict": verdict(point, lyap["predicted_holder"]),
        "warnings": sorted(set(lyap["warnings"]) | set(point["warnings"])), "seconds": timer.seconds,
    }
    return numbers, {"h": point["h"], "envelope": point["envelope"], "used": point["used"]}


def _point_reading(row: dict[str, Any]) -> dict[str, Any]:
    """A case's point-wise reading (a JSON written before the scaling ranges holds the exponent alone)."""
    return row.get("pointwise") or {"alpha": row["pointwise_holder"], "status": "ok"}


def _window_reading(w: dict[str, Any]) -> dict[str, Any]:
    return w if "holder_status" in w else {**w, "holder_status": "ok"}


def plot(rows: list[dict[str, Any]], envelopes: list[dict[str, Any]], path: Path) -> None:
    """Left: each case's envelope E(h) (normalized at the largest h), the reported scaling range drawn thick.
    Right: measured (with the interval over directions) against predicted exponents."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    for i, (row, env) in enumerate(zip(rows, envelopes)):
        e = np.asarray(env["envelope"], dtype=np.float64)
        h = np.asarray(env["h"], dtype=np.float64)
        norm = e / e[np.isfinite(e)][-1]
        left.loglog(h, norm, lw=0.8, color=f"C{i % 10}", label=f"{i}: {row['case']}")
        used = np.asarray(env.get("used", np.zeros_like(h, dtype=bool)), dtype=bool)
        if used.any():
            left.loglog(h[used], norm[used], lw=2.6, color=f"C{i % 10}", alpha=0.6)
        pred = row["predicted_holder"]
        reading = _point_reading(row)
        bounds = _bounds(reading)
        if pred is None or bounds is None:
            continue
        alpha = float(reading["alpha"])
        right.errorbar([pred], [alpha], yerr=[[alpha - bounds[0]], [bounds[1] - alpha]], color=f"C{i % 10}",
                       marker="o", ms=5, capsize=3)
        window = _window_reading(row["window_holder"][f"{WINDOW_RADII[0]:g}"])
        if window.get("holder") is not None and np.isfinite(window["holder"]):
            right.scatter([pred], [window["holder"]], color=f"C{i % 10}", marker="x", s=24)
        right.annotate(str(i), (pred, alpha), fontsize=7, xytext=(4, 3), textcoords="offset points")
    left.set_xlabel("step h along a random unit direction (parameter units)")
    left.set_ylabel("E(h) / E(h_max), E(h) = largest |J(c + h d) - J(c)| (of 1)")
    left.set_title("increments at theta (thick: the reported scaling range)", fontsize=9)
    left.legend(fontsize=6)
    right.plot([0, 1], [0, 1], color="k", lw=0.6)
    right.fill_between([0, 1], [-TOL, 1 - TOL], [TOL, 1 + TOL], color="grey", alpha=0.2, label=f"agrees (+-{TOL:g})")
    right.set_xlabel("predicted exponent min(1, -log(gamma)/lambda) (dimensionless)")
    right.set_ylabel("measured Hölder exponent")
    right.set_title("o point-wise at theta (95% over directions), x window (radius 1)", fontsize=9)
    right.set_xlim(-0.05, 1.05)
    right.set_ylim(-0.05, 1.05)
    right.legend(fontsize=7)
    save_figure(fig, path, dpi=110)


def chaotic(row: dict[str, Any]) -> bool:
    """Whether the case's whole-horizon lambda exceeds -log(gamma) (Prop. 3.1 predicts an exponent below 1)."""
    return bool(row["lambda_per_step"] > row["threshold_-log_gamma"])


def counts(rows: list[dict[str, Any]], chaotic_cases: bool) -> dict[str, int]:
    picked = [r["verdict"] for r in rows if chaotic(r) == chaotic_cases]
    return {v: picked.count(v) for v in ("agrees", "consistent", "violates", "undetermined")}


def judge(rows: list[dict[str, Any]], quick: bool):
    """Prop. 3.1's verdicts, the chaotic and the non-chaotic cases counted apart (in a non-chaotic case the
    prediction is 1, Lipschitz, which a finite-horizon J meets almost automatically). The finite-time
    exponents are a measurement of their own (does the early separation outrun the whole-horizon average?),
    never a second chance for the bound."""
    from mollirl.analysis import stats
    from mollirl.reproduce.common import Claims

    claims = Claims(quick)
    wild = [r for r in rows if chaotic(r)]
    calm = [r for r in rows if not chaotic(r)]
    if wild:
        claims.add(stats.judge_proportion(sum(r["verdict"] == "agrees" for r in wild), len(wild),
                                          f"chaotic cases: the point-wise exponent agrees with -log(gamma)/lambda "
                                          f"(within {TOL:g}) in most", at_least=0.5), "cases (each exact)")
        claims.add(stats.judge_proportion(sum(r["verdict"] in ("agrees", "consistent") for r in wild), len(wild),
                                          f"chaotic cases: the bound holds (point-wise exponent at least the "
                                          f"prediction - {TOL:g}) in most", at_least=0.5), "cases (each exact)")
    if calm:
        claims.add(stats.judge_proportion(sum(r["verdict"] == "agrees" for r in calm), len(calm),
                                          f"non-chaotic cases: J is Lipschitz at theta (point-wise exponent within "
                                          f"{TOL:g} of 1) in most", at_least=0.5), "cases (each exact)")
    star = next((r for r in rows if r["case"] == "quadrotor, LQR theta*"), None)
    if star is not None and star["predicted_holder"] is not None:
        from mollirl.reproduce.common import compare_readings, reading_interval

        pred = float(star["predicted_holder"])
        iv = reading_interval(_point_reading(star), "point-wise exponent")
        dev = [abs(iv.low - pred), abs(iv.high - pred)]
        near = 0.0 if iv.defined and iv.low <= pred <= iv.high else min(dev)
        claims.add(stats.judge_interval(dataclasses.replace(
            iv, estimate=abs(iv.estimate - pred), low=near, high=max(dev), statistic="|point-wise - predicted|"),
            TOL, f"quadrotor theta*: the point-wise exponent is the predicted one (within {TOL:g}, its interval "
            "over directions)", above=False, min_rows=2), "exact (the interval: over the probe's directions)")
        for radius, w in star["window_holder"].items():
            claims.add(compare_readings(_window_reading(w), _point_reading(star), "quadrotor theta*: the window "
                                        f"estimator (radius {radius}) reads higher than the point-wise one"),
                       "exact (intervals over sub-windows and directions)")
    early = [max(r["finite_time"]["lambda_per_step"]) > r["lambda_per_step"] for r in rows
             if r["finite_time"]["lambda_per_step"]]
    if early:
        claims.add(stats.judge_proportion(int(sum(early)), len(early), "measurement: the closed loop separates "
                                          "faster over its first 50-250 steps than on average over the horizon "
                                          "(largest finite-time lambda above the whole-horizon lambda) in most "
                                          "cases", at_least=0.5), "cases (each exact)")
    return claims


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    """Measure every case, write the figure and return the summary."""
    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    rows, envelopes = [], []
    for name, env, problem in cases(out, quick, log=log):
        numbers, envelope = measure(name, env, problem, size)
        rows.append(numbers)
        envelopes.append(envelope)
        log(f"prop 3.1 {name}: lambda {numbers['lambda_per_step']:.4g}/step, predicted {numbers['predicted_holder']}, "
            f"point-wise {range_text(numbers['pointwise'])}, window "
            + ", ".join(f"r={k}: {range_text(v)}" for k, v in numbers["window_holder"].items())
            + f" -> {numbers['verdict']}; finite-time lambda "
            + ", ".join(f"T={t}: {v:.4g}" for t, v in zip(numbers["finite_time"]["steps"],
                                                          numbers["finite_time"]["lambda_per_step"])))
    plot(rows, envelopes, out / "prop31_exponents.png")
    verdicts = [r["verdict"] for r in rows]
    claims = judge(rows, quick)
    summary = {
        "result": "Proposition 3.1", "quick": quick, "sizes": size, "tolerance": TOL, "window_radii": WINDOW_RADII,
        "estimators": {
            "pointwise": "|J(c + h d) - J(c)| at the centre c, upper envelope over 8 random unit directions and both "
                         "signs, h = 1e-8..1e-1: the exponent of the roughest scaling range of at least 2 decades "
                         "(clipped to [0, 1]) with its 95% bootstrap interval over directions, the range itself, the "
                         "finest range beside it, or 'no scaling range' (mollirl.analysis.pointwise_holder_exponent)",
            "window": "mean |J(x + h) - J(x)| over all pairs of a 1-D slice (random unit direction, "
                      f"{size['window_grid']} points over +-radius): the roughest scaling range of lags with its "
                      "interval over sub-windows (mollirl.analysis.holder_exponent)",
            "agreement": f"agrees: the point-wise interval reaches within {TOL:g} of the prediction; consistent: "
                         f"wholly above prediction + {TOL:g}; violates: wholly below prediction - {TOL:g}; "
                         "undetermined: no scaling range"},
        "verdict_counts": {v: verdicts.count(v) for v in ("agrees", "consistent", "violates", "undetermined")},
        "verdict_counts_chaotic": counts(rows, True), "verdict_counts_non_chaotic": counts(rows, False),
        "cases": rows, "claims": claims.to_list(),
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "prop31", summary, command=command)
    return summary
