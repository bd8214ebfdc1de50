"""Figure 8 (planar quadrotor) with its control: is the spike around theta* a property of the
quadrotor, or of the gain?

The paper: the landscape around the optimal (LQR) policy theta* is a spike, and training
that starts at theta* (sigma 0.1, normalized step 0.001) drops after one epoch and never
returns. Its theta* is the *continuous-time* LQR gain of the hover linearization
(Q = I_6, R = 0.1 I_2), but the env integrates with forward Euler at dt = 0.1, under which
that gain's closed loop is unstable. The control is the *discrete-time* LQR gain of the
same Euler model with the same costs, computed the same way from the env's own
linearization (:func:`gains`). For both gains, on the same directions:

- the closed loop's spectral radius (exact, from the linearization) and the Lyapunov
  exponent of the nonlinear closed loop along the evaluation trajectory;
- the deterministic landscape (2-D, random directions, radius 1) and the mollified one
  (sigma = 0.1, common random numbers); a 1-D slice along the hover thrust b[0];
- the point-wise Hölder exponent of J at the centre (:func:`mollirl.reproduce.exponents.pointwise`);
- training from each (REINFORCE, the paper's Figure 8 setup) over ``seeds`` independent
  seeds (seed k: the same action noise for both gains, so the comparison is paired).

Verdicts: landscape and stability claims are exact (fixed theta, fixed seeds); training
claims rest on the seeds (:mod:`mollirl.analysis.stats`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.common import (Claims, Timer, judge_reading, pyplot, range_text, save_figure, value_scale,
                                     write_summary)
from mollirl.reproduce.runs import RunJob, load_history, run_jobs

FULL = dict(epochs=50, batch_episodes=16, grid=41, episodes=16, seeds=10, centre_episodes=64)
QUICK = dict(epochs=3, batch_episodes=16, grid=11, episodes=4, seeds=2, centre_episodes=8)
SIGMA = 0.1  # the paper's Figure 8 sigma (N, on each thrust)
STEP = 0.001  # the paper's normalized step
RADIUS = 1.0  # the 2-D slice, random unit directions, parameter units
SLICE_RADIUS = 0.05  # the 1-D slice along the hover thrust b[0] (N)
GAINS = {
    "continuous": "paper's theta*: continuous-time LQR gain of the hover linearization",
    "discrete": "control: discrete-time LQR gain of the same forward-Euler model (dt 0.1), same Q and R",
}
LIPSCHITZ = 0.9  # a point-wise exponent at or above this reads as Lipschitz (no cusp at the centre)
EXACT_TOL = 1e-9  # numerical resolution of the exact (fixed-theta) comparisons, relative to 1


def gains(env: str = "quadrotor") -> dict[str, Any]:
    """Both gains from the env's own hover linearization (central differences of its continuous dynamics):
    ``{"continuous": {"K", "b", "spectral_radius"}, "discrete": {...}, "A", "B", "Ad", "Bd", "dt"}``.

    The spectral radius is that of the Euler closed loop ``Ad - Bd K`` (the map the env steps near hover)."""
    from mollirl.common.env_util import make_env
    from mollirl.control.linearize import linearize
    from mollirl.control.lqr import continuous_lqr, discrete_lqr, euler_discretize
    from mollirl.control.reference import QUADROTOR_LQR_Q, QUADROTOR_LQR_R, quadrotor_reference

    template = make_env(env)
    try:
        base = template.unwrapped
        if getattr(base.params, "integrator", "euler") != "euler":
            raise ValueError(f"the control needs the forward-Euler quadrotor, got integrator {base.params.integrator!r}")
        hover = np.full(2, base.params.hover_thrust)
        A, B = linearize(base.dynamics, np.zeros(6), hover)
        dt = float(base.params.dt)
        Ad, Bd = euler_discretize(A, B, dt)
        Kc, _ = continuous_lqr(A, B, QUADROTOR_LQR_Q, QUADROTOR_LQR_R)
        Kd, _ = discrete_lqr(Ad, Bd, QUADROTOR_LQR_Q, QUADROTOR_LQR_R)
        reference = quadrotor_reference(template)  # the env's registered theta* (must be Kc)
    finally:
        template.close()
    if not np.allclose(reference["K"], Kc, atol=1e-9):
        raise AssertionError("the env's reference gain is not the continuous-time LQR gain of its linearization")

    def radius(K: np.ndarray) -> float:
        return float(np.max(np.abs(np.linalg.eigvals(Ad - Bd @ K))))

    return {"continuous": {"K": Kc, "b": hover, "spectral_radius": radius(Kc)},
            "discrete": {"K": Kd, "b": hover, "spectral_radius": radius(Kd)},
            "A": A, "B": B, "Ad": Ad, "Bd": Bd, "dt": dt, "Q": QUADROTOR_LQR_Q, "R": QUADROTOR_LQR_R}


def problems(g: dict[str, Any]) -> dict[str, Any]:
    """Landscape problems centred at each gain (the paper's problem, and a copy moved to the discrete gain)."""
    import copy
    import dataclasses

    from mollirl.landscape import problem_from_env

    star = problem_from_env("quadrotor", "reference")
    policy = copy.deepcopy(star.policy)
    policy.set_mean_params({"K": g["discrete"]["K"], "b": g["discrete"]["b"]})
    control = dataclasses.replace(star, policy=policy, label="discrete-time LQR gain",
                                  metadata={**star.metadata, "label": "discrete-time LQR gain"})
    star = dataclasses.replace(star, label="theta* (continuous-time LQR gain)",
                               metadata={**star.metadata, "label": "theta* (continuous-time LQR gain)"})
    return {"continuous": star, "discrete": control}


def jobs(out: Path, quick: bool, g: dict[str, Any]) -> list[RunJob]:
    """Training from each gain, ``seeds`` seeds each (the paper's Figure 8 setup)."""
    size = QUICK if quick else FULL
    result = []
    for gain in GAINS:
        for seed in range(size["seeds"]):
            settings = dict(algo="reinforce", env="quadrotor", policy="linear", sigma=SIGMA, epochs=size["epochs"],
                            batch_episodes=size["batch_episodes"], horizon=1000, gamma=0.99, step_size=STEP,
                            baseline="mean", seed=seed, log_folder=str(out / "runs"), progress=False,
                            checkpoint_every=10)
            if gain == "continuous":
                config = RunConfig(policy_init="reference", **settings)
            else:  # the discrete gain as the initial mean (recorded in the run's config.yml)
                init = {"K": np.asarray(g[gain]["K"]).tolist(), "b": np.asarray(g[gain]["b"]).tolist()}
                config = RunConfig(policy_init="random", policy_kwargs={"mean_init": init}, **settings)
            folder = "theta_star" if gain == "continuous" else "discrete_lqr"
            result.append(RunJob(config.validate(), out / "runs" / folder / f"seed_{seed}"))
    return result


def centre_numbers(land, problem, episodes: int) -> dict[str, Any]:
    """J at the centre, its best neighbour one grid step away, and the episode returns of J_sigma there."""
    from mollirl.landscape import make_backend
    from mollirl.landscape.evaluate import evaluate_points

    det = land.value("det")
    c = tuple(n // 2 for n in det.shape)
    neighbours = [det[c[0] + di, c[1] + dj] for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1))]
    others = np.delete(det.ravel(), np.ravel_multi_index(c, det.shape))
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        noisy = evaluate_points(backend, problem.policy.mean, problem.centre[None], mode="sigma", sigma=SIGMA,
                                episodes=episodes, horizon=problem.horizon, gamma=problem.gamma, seed=0,
                                eval_options=problem.eval_options)
    finally:
        backend.close()
    return {"J_centre": float(det[c]), "best_neighbour": float(max(neighbours)), "best_elsewhere": float(np.max(others)),
            "grid_step": float(land.grid.spacing[0]), "J_sigma_centre_returns": noisy.returns[0],
            "J_sigma_centre": float(noisy.values[0])}


def plot_comparison(lands: dict[str, Any], envelopes: dict[str, Any], histories: dict[str, np.ndarray],
                    g: dict[str, Any], path: Path) -> None:
    """The two gains side by side: det landscapes on one colour scale, point-wise envelopes, training."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.6), layout="constrained")
    values = {k: land.value("det") for k, land in lands.items()}
    lo = min(float(np.nanmin(v)) for v in values.values())
    hi = max(float(np.nanmax(v)) for v in values.values())
    image = None
    for ax, gain in zip(axes[:2], GAINS):
        a0, a1 = lands[gain].axes
        image = ax.pcolormesh(a0, a1, values[gain].T, shading="auto", cmap="viridis", vmin=lo, vmax=hi)
        ax.plot([0], [0], marker="+", color="white", markersize=12, markeredgewidth=2)
        ax.set_title(f"{gain} LQR gain: J around it (spectral radius {g[gain]['spectral_radius']:.3f})", fontsize=9)
        ax.set_xlabel("offset along random unit direction 1 (parameter units)")
        ax.set_ylabel("offset along random unit direction 2 (parameter units)")
    fig.colorbar(image, ax=axes[:2].tolist(), label="J (discounted return), one scale for both", shrink=0.9)
    for i, (gain, env) in enumerate(envelopes.items()):
        e = np.asarray(env["envelope"], dtype=np.float64)
        h = np.asarray(env["h"], dtype=np.float64)
        used = np.asarray(env["used"], dtype=bool)
        axes[2].loglog(h, e, "o-", ms=3, color=f"C{i}", label=f"{gain}: {range_text(env['reading'])}")
        if used.any():
            axes[2].loglog(h[used], e[used], lw=3, color=f"C{i}", alpha=0.5)
    axes[2].set_xlabel("step h along a random unit direction (parameter units)")
    axes[2].set_ylabel("largest |J(c + h d) - J(c)| (discounted return)")
    axes[2].set_title("increments at the centre (thick: the scaling range fitted)", fontsize=9)
    axes[2].legend(fontsize=7)
    for i, (gain, J) in enumerate(histories.items()):
        epochs = np.arange(J.shape[1])
        for row in J:
            axes[3].plot(epochs, row, color=f"C{i}", lw=0.5, alpha=0.35)
        axes[3].plot(epochs, np.median(J, axis=0), color=f"C{i}", lw=1.8, label=f"{gain}: median of {J.shape[0]} seeds")
    value_scale(axes[3], np.concatenate([J.ravel() for J in histories.values()]))
    axes[3].set_xlabel("epoch k")
    axes[3].set_ylabel("J(theta_k), deterministic (discounted return)")
    axes[3].set_title(f"training from each gain (sigma {SIGMA:g} N, step {STEP:g})", fontsize=9)
    axes[3].legend(fontsize=7)
    fig.suptitle("quadrotor: the spike of Figure 8 and its control, on the same directions", fontsize=10)
    save_figure(fig, path, dpi=100, tight=False)


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    from mollirl.landscape import compute_landscape, summarize
    from mollirl.landscape.plot import save_png
    from mollirl.reproduce.exponents import lyapunov, pointwise

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    g = gains()
    probs = problems(g)
    lands, slices, envelopes, numbers = {}, {}, {}, {}
    directions = "random"
    for gain, problem in probs.items():
        land = compute_landscape(problem, grid=size["grid"], dims=2, radius=RADIUS, directions=directions,
                                 mode="both", sigma=SIGMA, episodes=size["episodes"], seed=0)
        directions = land.directions  # the control on the same directions
        stem = "figure8a" if gain == "continuous" else "figure8_control"
        land.save(out / f"{stem}_landscape.npz")
        save_png(land, out / f"{stem}_landscape.png")
        spike = compute_landscape(problem, grid=4 * size["grid"] + 1, dims=1, radius=SLICE_RADIUS, directions="b[0]",
                                  mode="both", sigma=SIGMA, episodes=size["episodes"], seed=0)
        spike.save(out / f"{stem}_slice_b0.npz")
        save_png(spike, out / f"{stem}_slice_b0.png")
        point = pointwise(problem, seed=0)
        lyap = lyapunov(problem)
        lands[gain], slices[gain] = land, spike
        reading = {k: v for k, v in point.items() if k not in ("h", "envelope", "used", "warnings")}
        envelopes[gain] = {"h": point["h"], "envelope": point["envelope"], "used": point["used"], "reading": reading}
        numbers[gain] = {
            "description": GAINS[gain], "K": g[gain]["K"], "b": g[gain]["b"],
            "spectral_radius": g[gain]["spectral_radius"], "lyapunov_per_step": lyap["lambda_per_step"],
            **centre_numbers(land, problem, size["centre_episodes"]),
            "pointwise_holder": point["alpha"], "pointwise": reading,
            "summary": summarize(land), "slice_b0_summary": summarize(spike),
        }
        n = numbers[gain]
        log(f"figure 8 {gain} gain: spectral radius {n['spectral_radius']:.4f}, J(centre) {n['J_centre']:.4g}, best "
            f"neighbour {n['best_neighbour']:.4g}, point-wise exponent {range_text(reading)}, "
            f"J_sigma(centre) {n['J_sigma_centre']:.4g}")

    # (b) training from each gain, over seeds
    job_list = jobs(out, quick, g)
    statuses = run_jobs(job_list, n_jobs=n_jobs, log=log)
    training: dict[str, Any] = {}
    histories: dict[str, np.ndarray] = {}
    for gain in GAINS:
        folder = "theta_star" if gain == "continuous" else "discrete_lqr"
        runs = [j for j in job_list if j.run_dir.parent.name == folder
                and not statuses[Path(j.run_dir)].startswith("failed")]
        J = np.array([[r["J_det"] for r in load_history(j.run_dir)] for j in runs], dtype=np.float64)
        J_sigma = np.array([[r["J_sigma"] for r in load_history(j.run_dir)] for j in runs], dtype=np.float64)
        histories[gain] = J
        training[gain] = {
            "seeds": [j.config.seed for j in runs], "run_dirs": [j.run_dir for j in runs],
            "J_det": J, "J_sigma": J_sigma,
            "drop_after_one_epoch": J[:, 1] - J[:, 0], "best_after_epoch_0_minus_J0": np.max(J[:, 1:], axis=1) - J[:, 0],
            "final": J[:, -1], "statuses": [statuses[Path(j.run_dir)] for j in runs],
        }
    plot_comparison(lands, envelopes, histories, g, out / "figure8_control.png")
    plot_training(histories["continuous"], out / "figure8b_training.png")

    claims = judge(numbers, training, quick)
    summary = {
        "figure": 8, "quick": quick, "sizes": size, "sigma": SIGMA, "step_size": STEP, "radius": RADIUS,
        "slice_radius": SLICE_RADIUS, "directions": "random unit directions (seed 0), the same for both gains",
        "linearization": {"A": g["A"], "B": g["B"], "Ad": g["Ad"], "Bd": g["Bd"], "dt": g["dt"], "Q": g["Q"],
                          "R": g["R"]},
        "gains": numbers, "training": training, "claims": claims.to_list(),
        "conclusion": conclusion(claims, numbers),
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "figure8", summary, command=command)
    return summary


def plot_training(J: np.ndarray, path: Path) -> None:
    """Figure 8b: J(theta_k) of the training from theta*, every seed and the median."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for row in J:
        ax.plot(row, lw=0.6, alpha=0.4, color="C0")
    ax.plot(np.median(J, axis=0), "o-", ms=3, color="k", label=f"median of {J.shape[0]} seeds")
    ax.axhline(J[0, 0], color="r", ls="--", lw=0.8, label="J(theta*)")
    value_scale(ax, J)
    ax.set_xlabel("epoch k")
    ax.set_ylabel("J(theta_k), deterministic (discounted return)")
    ax.set_title("quadrotor: training from theta* (continuous-time LQR gain)", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=110)


def judge(numbers: dict[str, Any], training: dict[str, Any], quick: bool) -> Claims:
    """Every verdict of Figure 8 and its control (exact for the fixed-theta numbers, over seeds for training)."""
    from mollirl.analysis import stats

    claims = Claims(quick)
    c, d = numbers["continuous"], numbers["discrete"]
    tol = EXACT_TOL * max(1.0, abs(c["J_centre"]))
    # (a) the spike at the paper's theta*
    claims.add(stats.judge_exact(c["J_centre"] - c["best_elsewhere"], 0.0, "Fig. 8a: theta* is the maximum of its "
                                 "deterministic landscape", what="J(theta*) - best other grid point", tolerance=tol),
               "exact")
    claims.add(judge_reading(c["pointwise"], LIPSCHITZ, "Fig. 8a: J has a cusp (a spike) at theta*: "
                             f"point-wise Hölder exponent below {LIPSCHITZ:g}", above=False,
                             what="point-wise exponent"), "exact (the interval: over the probe's directions)")
    claims.add(stats.judge_threshold(c["J_sigma_centre_returns"], c["J_centre"], "Fig. 8a: the mollified objective "
                                     f"(sigma {SIGMA:g}) is lower than J at theta* (no peak survives the noise)",
                                     above=False), "episodes (common random numbers)")
    # (b) training from theta*
    tc = training["continuous"]
    claims.add(stats.judge_threshold(tc["drop_after_one_epoch"], 0.0, "Fig. 8b: training from theta* falls after "
                                     "one epoch (J_1 - J_0 < 0)", above=False), "seeds")
    claims.add(stats.judge_threshold(tc["best_after_epoch_0_minus_J0"], 0.0, "Fig. 8b: and never returns (max over "
                                     "epochs 1..K of J_k - J_0 < 0)", above=False), "seeds")
    # the control: where the spike comes from
    claims.add(stats.judge_exact(c["spectral_radius"], 1.0, "the paper's gain is unstable under forward Euler at "
                                 "dt 0.1 (spectral radius of Ad - Bd K above 1)", what="spectral radius"), "exact")
    claims.add(stats.judge_exact(d["spectral_radius"], 1.0, "the discrete-time LQR gain of the same Euler model is "
                                 "stable (spectral radius below 1)", above=False, what="spectral radius"), "exact")
    claims.add(judge_reading(d["pointwise"], LIPSCHITZ, "control: no cusp at the discrete gain "
                             f"(point-wise exponent at least {LIPSCHITZ:g}), on the same directions",
                             what="point-wise exponent"), "exact (the interval: over the probe's directions)")
    td = training["discrete"]
    claims.add(stats.compare(td["drop_after_one_epoch"], tc["drop_after_one_epoch"], "control: the first update "
                             "costs less from the discrete gain than from theta* (J_1 - J_0, same seeds)",
                             paired=True), "seeds (paired: seed k draws the same noise for both gains)")
    claims.add(stats.compare(td["final"], tc["final"], "control: training from the discrete gain ends higher than "
                             "from theta* (final J_det, same seeds)", paired=True),
               "seeds (paired: seed k draws the same noise for both gains)")
    return claims


def conclusion(claims: Claims, numbers: dict[str, Any]) -> str:
    """One sentence, from the verdicts: where the spike comes from."""
    c, d = numbers["continuous"], numbers["discrete"]
    spike = claims["Fig. 8a: J has a cusp (a spike) at theta*: point-wise Hölder exponent below 0.9"].holds
    unstable = claims["the paper's gain is unstable under forward Euler at dt 0.1 (spectral radius of Ad - Bd K "
                      "above 1)"].holds
    stable = claims["the discrete-time LQR gain of the same Euler model is stable (spectral radius below 1)"].holds
    smooth = claims["control: no cusp at the discrete gain (point-wise exponent at least 0.9), on the same "
                    "directions"].holds
    if spike and unstable and stable and smooth:
        return (f"the spike comes from the gain, not from the quadrotor: the paper's continuous-time LQR gain is "
                f"unstable under the env's forward Euler (spectral radius {c['spectral_radius']:.3f}), and the "
                f"discrete-time LQR gain of the same model and costs (spectral radius {d['spectral_radius']:.3f}) "
                f"has no cusp on the same directions (point-wise exponent {range_text(d['pointwise'])} against "
                f"{range_text(c['pointwise'])})")
    return ("the verdicts do not single out the gain as the spike's cause: see the claims (spike "
            f"{spike}, paper gain unstable {unstable}, discrete gain stable {stable}, no cusp there {smooth})")
