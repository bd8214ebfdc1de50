"""Figure 2 (fractal landscapes come from chaos): the double pendulum against the single
pendulum, both under the same kind of deterministic random tanh-MLP policies.

The paper shows one landscape of each system under "deterministic neural network
policies": fractal for the (chaotic) double pendulum, smooth for the (non-chaotic)
single pendulum. We draw ``policies`` random policies per system, ``u = W2 tanh(W1 s)``
with 16 hidden units and no biases, W ~ N(0, 1/fan_in) drawn by torch under seed
k = 0, 1, ... (the policy ``--policy mlp --policy-init random --seed k`` starts from),
and measure for each, on the deterministic J (discounted, from the env's noise-free
evaluation start, horizon 1000, gamma 0.99):

- the maximal Lyapunov exponent lambda per step of the closed loop along the
  evaluation trajectory, and the exponent Prop. 3.1 predicts, min(1, -log(gamma)/lambda);
- the point-wise Hölder exponent at the policy (|J(c + h d) - J(c)| for h over seven
  decades and 8 random unit directions; :func:`mollirl.reproduce.exponents.pointwise`);
- the window Hölder exponent and the high-frequency energy of a 1-D slice through
  the policy (a filter-normalized random direction, ``SLICE_RADIUS``).

The 2-D landscapes of policy 0 are the figure's panels. Verdicts rest on the medians
over the policies. Everything here is a deterministic function of the seeds, so it
repeats bit for bit on one machine (and to the last few digits on another).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.reproduce.common import Timer, pyplot, range_text, save_figure, value_scale, write_summary

ENVS = ("double-pendulum", "single-pendulum")
HIDDEN = 16
SLICE_RADIUS = 0.5  # filter-normalized: each weight row moved by up to half its own norm
FULL = dict(policies=10, horizon=1000, grid=61, slice_grid=201)
QUICK = dict(policies=3, horizon=200, grid=11, slice_grid=41)
LIPSCHITZ = 0.9  # a point-wise exponent at or above this reads as Lipschitz (first differences cap at 1)


def measure_policy(env: str, seed: int, size: dict[str, int]) -> tuple[dict[str, Any], Any]:
    """Lyapunov, point-wise and window exponents of random policy ``seed`` in ``env``; ``(numbers, 1-D slice)``."""
    from mollirl.reproduce.exponents import lyapunov, mlp_problem, pointwise, window

    problem = mlp_problem(env, seed, hidden=HIDDEN, horizon=size["horizon"])
    lyap = lyapunov(problem)
    point = pointwise(problem, seed=seed)
    line, line_summary = window(problem, radius=SLICE_RADIUS, grid=size["slice_grid"], seed=seed, directions="filter")
    numbers = {
        "seed": seed, "J_centre": point["J_centre"],
        "lambda_per_step": lyap["lambda_per_step"], "predicted_holder": lyap["predicted_holder"],
        "chaotic": bool(lyap["lambda_per_step"] > lyap["threshold_-log_gamma"]),
        "pointwise_holder": point["alpha"], "pointwise": {k: v for k, v in point.items()
                                                          if k not in ("h", "envelope", "used", "warnings")},
        "window_holder": line_summary["holder"],
        "window": {k: line_summary[k] for k in ("holder", "holder_low", "holder_high", "holder_h_min", "holder_h_max",
                                                 "holder_decades", "holder_status", "holder_reason", "holder_r2")},
        "slice_hf_energy": line_summary["hf_energy"], "slice_J_range": line_summary["J_range"],
        "slice_diverged_fraction": line_summary["masked_fraction"],
        "warnings": sorted(set(lyap["warnings"]) | set(point["warnings"])),
    }
    return numbers, line


def _median(values: list[float | None]) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def _quartiles(values: list[float | None]) -> list[float]:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return [float(q) for q in np.percentile(finite, [25, 75])] if finite else [float("nan")] * 2


def env_summary(per_policy: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Medians and interquartile ranges over the policies of one env."""
    out: dict[str, Any] = {"policies": len(per_policy), "threshold_-log_gamma": threshold}
    for key in ("lambda_per_step", "predicted_holder", "pointwise_holder", "window_holder", "slice_hf_energy"):
        values = [p[key] for p in per_policy]
        out[f"{key}_median"] = _median(values)
        out[f"{key}_iqr"] = _quartiles(values)
        out[f"{key}_measured"] = sum(v is not None and bool(np.isfinite(v)) for v in values)  # with a reading
    out["fraction_chaotic"] = float(np.mean([p["chaotic"] for p in per_policy]))
    return out


def plot_landscapes(lands: dict[str, Any], path: Path) -> None:
    """Fig. 2 (a) and (b): the 2-D deterministic landscapes of policy 0, side by side, as J - J(centre) on one
    symmetric-log colour scale (the two systems' J differ by orders of magnitude; their textures are compared)."""
    from matplotlib.colors import SymLogNorm

    plt = pyplot()
    fig, axes = plt.subplots(1, len(lands), figsize=(5.2 * len(lands) + 1.2, 4.2), layout="constrained")
    shifted = {}
    for env, land in lands.items():
        v = land.value("det")
        shifted[env] = np.ma.masked_array(v - v[tuple(n // 2 for n in v.shape)], land.mask_of("det"))
    top = max(float(np.max(np.abs(v))) for v in shifted.values()) or 1.0
    norm = SymLogNorm(linthresh=top * 1e-4, vmin=-top, vmax=top)
    image = None
    for ax, (env, land) in zip(np.atleast_1d(axes), lands.items()):
        a0, a1 = land.axes
        image = ax.pcolormesh(a0, a1, shifted[env].T, shading="auto", cmap="RdBu_r", norm=norm)
        v = land.value("det")
        ax.set_title(f"{env}, random tanh MLP (seed 0): J(centre) = {v[tuple(n // 2 for n in v.shape)]:.4g}",
                     fontsize=9)
        ax.set_xlabel("filter-normalized direction 1 (filter-normalized units)")
        ax.set_ylabel("filter-normalized direction 2 (filter-normalized units)")
    fig.colorbar(image, ax=np.atleast_1d(axes).tolist(), label="J - J(centre) (discounted return), one scale for both")
    save_figure(fig, path, dpi=110, tight=False)


def plot_slices(slices: dict[str, list], path: Path) -> None:
    """Every policy's 1-D slice, J minus J(centre), one panel per env."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(slices), figsize=(5.2 * len(slices), 3.4))
    for ax, (env, lines) in zip(np.atleast_1d(axes), slices.items()):
        for seed, line in enumerate(lines):
            v = line.value("det")
            v = np.where(line.mask_of("det"), np.nan, v)
            ax.plot(line.axes[0], v - v[v.size // 2], lw=0.8, label=f"seed {seed}")
        ax.set_title(f"{env}: 1-D slices (J - J(centre))", fontsize=9)
        ax.set_xlabel("offset along a filter-normalized direction (filter-normalized units)")
        ax.set_ylabel("J - J(centre) (discounted return)")
        value_scale(ax, np.concatenate([ln.value("det") - ln.value("det")[ln.value("det").size // 2] for ln in lines]))
    np.atleast_1d(axes)[0].legend(fontsize=6, ncol=2)
    save_figure(fig, path, dpi=110)


def plot_exponents(per_env: dict[str, list[dict[str, Any]]], threshold: float, path: Path) -> None:
    """Left: lambda per policy against the threshold -log(gamma). Right: measured exponents against predicted."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, (env, rows) in enumerate(per_env.items()):
        lam = np.array([r["lambda_per_step"] for r in rows], dtype=np.float64)
        left.scatter(np.full(lam.size, i) + np.linspace(-0.15, 0.15, lam.size), lam, s=14, label=env)
        pred = np.array([np.nan if r["predicted_holder"] is None else r["predicted_holder"] for r in rows])
        as_float = lambda v: np.nan if v is None else float(v)  # noqa: E731 (no scaling range: not drawn)
        right.scatter(pred, [as_float(r["pointwise_holder"]) for r in rows], marker="o", s=16,
                      label=f"{env}: point-wise")
        right.scatter(pred, [as_float(r["window_holder"]) for r in rows], marker="x", s=16, label=f"{env}: window")
    left.axhline(threshold, color="r", ls="--", lw=0.8, label="-log(gamma)")
    left.set_xticks(range(len(per_env)), list(per_env))
    left.set_xlabel("system (one dot per random policy)")
    left.set_yscale("symlog", linthresh=1e-3)
    left.set_ylabel("maximal Lyapunov exponent (1/step)")
    left.legend(fontsize=7)
    right.plot([0, 1], [0, 1], color="k", lw=0.6)
    right.set_xlabel("predicted exponent min(1, -log(gamma)/lambda)")
    right.set_ylabel("measured Hölder exponent")
    right.set_title("o point-wise at the policy, x window of the slice", fontsize=9)
    right.legend(fontsize=7)
    save_figure(fig, path, dpi=110)


def judge(per_env: dict[str, list[dict[str, Any]]], lands: dict[str, Any], quick: bool):
    """Figure 2's verdicts over the random policies (independent draws; the two systems' policies are not
    paired: seed k draws a different network for each), and Prop. 3.1 policy by policy."""
    from mollirl.analysis import stats
    from mollirl.reproduce.common import Claims

    claims = Claims(quick)
    dp, sp = per_env["double-pendulum"], per_env["single-pendulum"]

    def col(rows, key, f=float):  # the policies with a reading (a scaling range, a resolved band)
        return np.array([f(r[key]) for r in rows if r[key] is not None and np.isfinite(r[key])], dtype=np.float64)

    claims.add(stats.judge_proportion(sum(r["chaotic"] for r in dp), len(dp), "Fig. 2's premise: the double "
                                      "pendulum is chaotic (lambda > -log gamma) under most random tanh MLPs",
                                      at_least=0.5), "policies")
    claims.add(stats.judge_proportion(sum(not r["chaotic"] for r in sp), len(sp), "the single pendulum is not "
                                      "chaotic under most random tanh MLPs", at_least=0.5), "policies")
    for key, what in (("pointwise_holder", "point-wise Hölder exponent at the policy"),
                      ("window_holder", "window Hölder exponent of the 1-D slice")):
        claims.add(stats.compare(col(dp, key), col(sp, key), f"Fig. 2: the double pendulum's landscape is rougher "
                                 f"({what} lower)", paired=False, higher_is_better=False), "policies (unpaired)")
    claims.add(stats.compare(np.log10(np.maximum(col(dp, "slice_hf_energy"), 1e-300)),
                             np.log10(np.maximum(col(sp, "slice_hf_energy"), 1e-300)),
                             "Fig. 2: the double pendulum's slices carry more high-frequency energy (log10)",
                             paired=False), "policies (unpaired)")
    every = dp + sp
    chaotic, calm = [p for p in every if p["chaotic"]], [p for p in every if not p["chaotic"]]
    measured = lambda p: p["pointwise_holder"] is not None and np.isfinite(p["pointwise_holder"])  # noqa: E731
    chaotic, calm = [p for p in chaotic if measured(p)], [p for p in calm if measured(p)]  # no range: no reading
    if chaotic:
        claims.add(stats.judge_proportion(sum(p["pointwise_holder"] < LIPSCHITZ for p in chaotic), len(chaotic),
                                          f"Prop. 3.1 policy by policy: chaotic policies are rough at the policy "
                                          f"(point-wise exponent below {LIPSCHITZ:g})", at_least=0.5), "policies")
    if calm:
        claims.add(stats.judge_proportion(sum(p["pointwise_holder"] >= LIPSCHITZ for p in calm), len(calm),
                                          f"Prop. 3.1 policy by policy: non-chaotic policies are Lipschitz at the "
                                          f"policy (point-wise exponent at least {LIPSCHITZ:g})", at_least=0.5),
                   "policies")
    return claims


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    """Measure the random policies of both pendulums, write the figures and return the summary."""
    from mollirl.landscape import compute_landscape, summarize
    from mollirl.reproduce.exponents import mlp_problem

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    per_env: dict[str, list[dict[str, Any]]] = {}
    slices: dict[str, list] = {}
    lands: dict[str, Any] = {}
    land_summaries: dict[str, Any] = {}
    threshold = float("nan")
    for env in ENVS:
        per_env[env], slices[env] = [], []
        for seed in range(size["policies"]):
            numbers, line = measure_policy(env, seed, size)
            per_env[env].append(numbers)
            slices[env].append(line)
            log(f"figure 2 {env} seed {seed}: lambda {numbers['lambda_per_step']:.4g}/step, predicted "
                f"{numbers['predicted_holder']}, point-wise {range_text(numbers['pointwise'])}, window "
                f"{range_text(numbers['window'])}")
        problem = mlp_problem(env, 0, hidden=HIDDEN, horizon=size["horizon"])
        threshold = float(-np.log(problem.gamma))
        land = compute_landscape(problem, grid=size["grid"], dims=2, radius=SLICE_RADIUS, directions="filter",
                                 mode="det", seed=0)
        land.save(out / f"figure2_landscape_{env}.npz")
        lands[env] = land
        land_summaries[env] = summarize(land)["det"]
    plot_landscapes(lands, out / "figure2_landscapes.png")
    plot_slices(slices, out / "figure2_slices.png")
    plot_exponents(per_env, threshold, out / "figure2_exponents.png")
    summaries = {env: env_summary(rows, threshold) for env, rows in per_env.items()}
    claims = judge(per_env, land_summaries, quick)
    summary = {
        "figure": 2, "quick": quick, "sizes": size, "hidden": HIDDEN, "slice_radius": SLICE_RADIUS,
        "directions": "filter-normalized Gaussian (Li et al. 2018), seed = policy seed (2-D: seed 0)",
        "estimators": {
            "pointwise": "|J(c + h d) - J(c)| at the policy c, upper envelope over 8 random unit directions and both "
                         "signs, h = 1e-8..1e-1: the roughest scaling range's exponent with its interval over "
                         "directions and the range (per policy: 'pointwise'), or no reading without a range",
            "window": "mean |J(x + h) - J(x)| over all pairs of the 1-D slice: the roughest scaling range of lags "
                      "with its interval over sub-windows (per policy: 'window'), how rough the slice looks",
            "hf_energy": "share of the slice's energy between 2 and 5 cycles per window width above 2 "
                         "(grid-independent; NaN where the grid does not resolve the band)"},
        "per_env": summaries, "per_policy": per_env, "landscapes_2d": land_summaries, "claims": claims.to_list(),
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "figure2", summary, command=command)
    return summary
