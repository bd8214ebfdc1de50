"""Figure 7 (double pendulum) as the paper states it: training the linear policy u = -K s (no bias)
from the paper's initial gain K0, the trajectories of the initial and trained policies from s0,
and the Q-landscape Q(s0, a) over the torque plane at theta_0 and at the trained theta.

Variants, ``seeds`` independent seeds each, trained as populations:

- ``paper``: u = -K s, the paper's policy and the env's preset (``policy_kwargs: {bias: false}``
  in ``mollirl/hyperparams/*.yml``; the command also sets it in its own config);
- ``biased``: u = -K s + b (``-params policy_kwargs:{bias: true}``), reported beside it: the
  trained b moves the closed loop's fixed point away from upright.

Stabilization is judged on the deterministic episode of each seed's final policy from
s0 = [-0.2, 0.2, 0, 0]: its state norm |s| after the horizon (10 s) and, beside it, after
``long_steps`` steps (200 s) (where a biased policy's fixed point shows). Claims about training rest
on the seeds (:mod:`mollirl.analysis.stats`); the Q-landscapes are exact (fixed theta).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.config import RunConfig
from mollirl.reproduce.common import Claims, Timer, judge_reading, pyplot, range_text, save_figure, write_summary
from mollirl.reproduce.runs import RunJob, load_history, run_jobs
from mollirl.reproduce.trajectory import rollout_states

FULL = dict(epochs=50, grid=81, radius=None, seeds=10, long_steps=20_000)  # the whole torque box, spacing 0.25 < sigma
QUICK = dict(epochs=10, grid=41, radius=2.5, seeds=2, long_steps=2_000)  # 41 points: enough lags for a scaling range
VARIANTS = {"paper": False, "biased": True}  # variant: whether the linear policy has a bias b
UPRIGHT = 0.01  # |s| (rad and rad/s, Euclidean) below this after the horizon counts as stabilized at upright
SMOOTH = 0.9  # a window Hölder exponent at or above this reads as smooth


def config_for(out: Path, variant: str, seed: int, size: dict[str, Any]) -> RunConfig:
    """The env preset (App. F.2) with the variant's policy (with or without b) and ``epochs``."""
    from mollirl.common.env_util import get_env_plugin

    config = RunConfig(algo="reinforce", env="double-pendulum", epochs=size["epochs"], seed=seed,
                       log_folder=str(out / "runs"), progress=False, checkpoint_every=10)
    for key, value in get_env_plugin("double-pendulum").preset.items():
        if key != "epochs":
            setattr(config, key, value)
    config.policy_kwargs = {**config.policy_kwargs, "bias": VARIANTS[variant]}
    return config.validate()


def jobs(out: Path, quick: bool) -> list[RunJob]:
    size = QUICK if quick else FULL
    return [RunJob(config_for(out, variant, seed, size), out / "runs" / variant / f"seed_{seed}")
            for variant in VARIANTS for seed in range(size["seeds"])]


def relabel(problem, label: str):
    """``problem`` with a label that names no folder (figure titles show it)."""
    return dataclasses.replace(problem, label=label, metadata={**problem.metadata, "label": label})


def final_states(problem, long_steps: int) -> dict[str, Any]:
    """The deterministic episode from s0: the state after the horizon and after ``long_steps`` steps."""
    traj = rollout_states(problem)
    long = rollout_states(dataclasses.replace(problem, horizon=long_steps))
    return {"trajectory": traj, "state_at_horizon": traj[-1], "norm_at_horizon": float(np.linalg.norm(traj[-1])),
            "state_long": long[-1], "norm_long": float(np.linalg.norm(long[-1]))}


def plot_trajectories(curves: dict[str, np.ndarray], norms: dict[str, list[np.ndarray]], dt: float,
                      path: Path) -> None:
    """Angles of the initial policy and of each variant's seed 0 over time; |s| of every seed (log scale)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(curves) + 1, figsize=(4.3 * (len(curves) + 1), 3.6))
    for ax, (name, traj) in zip(axes, curves.items()):
        t = np.arange(len(traj)) * dt
        ax.plot(t, traj[:, 0], label="theta1")
        ax.plot(t, traj[:, 1], label="theta2")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("angle from upright (rad)")
        ax.legend(fontsize=7)
    ax = axes[-1]
    for i, (name, rows) in enumerate(norms.items()):
        for k, traj in enumerate(rows):
            n = np.linalg.norm(traj, axis=1)
            ax.semilogy(np.arange(len(n)) * dt, np.maximum(n, 1e-300), color=f"C{i}", lw=0.8, alpha=0.6,
                        label=name if k == 0 else None)
    ax.axhline(UPRIGHT, color="r", ls="--", lw=0.8, label=f"|s| = {UPRIGHT:g}")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("|s| (rad, rad/s; Euclidean norm)")
    ax.set_title("distance from upright, every seed", fontsize=9)
    ax.legend(fontsize=7)
    save_figure(fig, path, dpi=110)


def plot_q(lands: dict[str, Any], own: dict[str, float], path: Path) -> None:
    """The advantage of the first action, A(s0, a) = Q(s0, a) - Q(s0, mu(s0)), at theta_0 and at the trained
    theta, on one (symmetric-log) colour scale: the two Q levels differ by about 27, their shapes are compared.
    ``own[name]`` is Q(s0, mu(s0)) = J_det of that policy (its own first action)."""
    from matplotlib.colors import SymLogNorm

    plt = pyplot()
    fig, axes = plt.subplots(1, len(lands), figsize=(5.4 * len(lands) + 1.2, 4.4), layout="constrained")
    adv = {}
    for name, land in lands.items():
        adv[name] = np.ma.masked_array(land.value("det") - own[name], land.mask_of("det"))
    top = max(float(np.max(np.abs(a))) for a in adv.values()) or 1.0
    norm = SymLogNorm(linthresh=top * 1e-3, vmin=-top, vmax=top)
    image = None
    for ax, (name, land) in zip(np.atleast_1d(axes), lands.items()):
        a0, a1 = land.axes
        image = ax.pcolormesh(a0, a1, adv[name].T, shading="auto", cmap="RdBu_r", norm=norm)
        c = land.action_centre
        ax.plot([c[0]], [c[1]], marker="*", color="white", markeredgecolor="black", markersize=11)
        ax.set_title(f"at {name}: Q(s0, mu(s0)) = J_det = {own[name]:.4g}", fontsize=9)
        ax.set_xlabel("first torque a[0] (N m)")
        ax.set_ylabel("first torque a[1] (N m)")
    fig.colorbar(image, ax=np.atleast_1d(axes).tolist(),
                 label="Q(s0, a) - Q(s0, mu(s0)) (discounted return), one scale for both")
    fig.suptitle("double pendulum: Q over the first action (star: the policy's own action mu(s0))", fontsize=10)
    save_figure(fig, path, dpi=110, tight=False)


def plot_training(histories: dict[str, np.ndarray], path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for i, (name, J) in enumerate(histories.items()):
        for row in J:
            ax.plot(row, color=f"C{i}", lw=0.5, alpha=0.35)
        ax.plot(np.median(J, axis=0), color=f"C{i}", lw=1.8, label=f"{name}: median of {J.shape[0]} seeds")
    ax.set_xlabel("epoch k")
    ax.set_ylabel("J(theta_k), deterministic (discounted return)")
    ax.set_title("double pendulum: training from the paper's K0", fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=110)


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    import gymnasium as gym

    from mollirl.landscape import compute_q_landscape, problem_from_run, summarize

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    job_list = jobs(out, quick)
    statuses = run_jobs(job_list, n_jobs=n_jobs, log=log)
    variants: dict[str, Any] = {}
    histories: dict[str, np.ndarray] = {}
    trajectories: dict[str, list[np.ndarray]] = {}
    for variant in VARIANTS:
        runs = [j for j in job_list if j.run_dir.parent.name == variant
                and not statuses[Path(j.run_dir)].startswith("failed")]
        J = np.array([[r["J_det"] for r in load_history(j.run_dir)] for j in runs], dtype=np.float64)
        finals = [problem_from_run(j.run_dir, "final") for j in runs]
        ends = [final_states(f, size["long_steps"]) for f in finals]
        params = [{k: v.detach().double().numpy() for k, v in f.policy.mean_named_parameters()} for f in finals]
        histories[variant] = J
        trajectories[variant] = [e["trajectory"] for e in ends]
        variants[variant] = {
            "policy": "u = -K s" if not VARIANTS[variant] else "u = -K s + b",
            "seeds": [j.config.seed for j in runs], "run_dirs": [j.run_dir for j in runs], "J_det": J,
            "J_det_gain": J[:, -1] - J[:, 0], "norm_at_horizon": [e["norm_at_horizon"] for e in ends],
            "norm_long": [e["norm_long"] for e in ends], "state_at_horizon": [e["state_at_horizon"] for e in ends],
            "state_long": [e["state_long"] for e in ends], "trained_b": [p["b"] for p in params if "b" in p],
            "statuses": [statuses[Path(j.run_dir)] for j in runs],
        }
    first = next(j for j in job_list if j.run_dir.parent.name == "paper")
    initial = relabel(problem_from_run(first.run_dir, "initial"), "theta_0 (the paper's K0)")
    trained = relabel(problem_from_run(first.run_dir, "final"), f"theta_{size['epochs']} (u = -K s, seed 0)")
    start = final_states(initial, size["long_steps"])
    env = gym.make("mollirl/DoublePendulum-v0")
    dt = env.unwrapped.params.dt
    env.close()
    curves = {"initial policy theta_0 (the paper's K0)": start["trajectory"],
              f"trained u = -K s (seed 0, epoch {size['epochs']})": trajectories["paper"][0],
              f"trained u = -K s + b (seed 0, epoch {size['epochs']})": trajectories["biased"][0]}
    plot_trajectories(curves, {"u = -K s": trajectories["paper"], "u = -K s + b": trajectories["biased"]}, dt,
                      out / "figure7a_trajectories.png")
    plot_training(histories, out / "figure7c_training.png")

    # (b) Q(s0, a) at theta_0 and at the trained theta (the paper's policy, seed 0)
    q_lands = {}
    for name, problem in ((initial.label, initial), (trained.label, trained)):
        q_lands[name] = compute_q_landscape(problem, grid=size["grid"], radius=size["radius"], seed=0)
    q_lands[initial.label].save(out / "figure7b_q_landscape_initial.npz")
    q_lands[trained.label].save(out / "figure7b_q_landscape_final.npz")
    plot_q(q_lands, {initial.label: float(histories["paper"][0, 0]), trained.label: float(histories["paper"][0, -1])},
           out / "figure7b_q_landscape.png")
    q_summary = {"initial": summarize(q_lands[initial.label]), "final": summarize(q_lands[trained.label])}

    claims = judge(variants, start, q_summary, quick, size["long_steps"])
    p, b = variants["paper"], variants["biased"]
    log(f"figure 7: J_det {histories['paper'][0, 0]:.4g} -> median {np.median(histories['paper'][:, -1]):.4g} "
        f"(u = -K s), {np.median(histories['biased'][:, -1]):.4g} (u = -K s + b); |s| at 10 s: initial "
        f"{start['norm_at_horizon']:.3g}, trained median {np.median(p['norm_at_horizon']):.3g} (u = -K s), "
        f"{np.median(b['norm_at_horizon']):.3g} (u = -K s + b); Q-landscape window Hölder theta_0 "
        f"{range_text(q_summary['initial']['det'])}, trained {range_text(q_summary['final']['det'])}")
    summary = {
        "figure": 7, "quick": quick, "sizes": size, "sigma": job_list[0].config.sigma, "upright_threshold": UPRIGHT,
        "dt_s": dt,
        "variants": {k: {kk: vv for kk, vv in v.items()} for k, v in variants.items()},
        "initial_policy": {"state_at_horizon": start["state_at_horizon"], "norm_at_horizon": start["norm_at_horizon"],
                           "state_long": start["state_long"], "norm_long": start["norm_long"]},
        "q_landscape": {"grid": size["grid"], "initial": q_summary["initial"], "final": q_summary["final"],
                        "action_centre_initial": q_lands[initial.label].action_centre,
                        "action_centre_final": q_lands[trained.label].action_centre,
                        "policy": "u = -K s, seed 0"},
        "preset_note": "the env preset (mollirl/hyperparams/reinforce.yml, double-pendulum) trains the paper's "
                       "u = -K s (policy_kwargs bias: false); the variant u = -K s + b sets bias: true",
        "claims": claims.to_list(),
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "figure7", summary, command=command)
    return summary


def judge(variants: dict[str, Any], start: dict[str, Any], q: dict[str, Any], quick: bool, long_steps: int) -> Claims:
    """Figure 7's verdicts: over seeds for the trainings, exact for the initial policy and the Q-landscapes."""
    from mollirl.analysis import stats

    claims = Claims(quick)
    p, b = variants["paper"], variants["biased"]
    claims.add(stats.judge_threshold(p["J_det_gain"], 0.0, "Fig. 7: training u = -K s from K0 improves J_det "
                                     "(J_final - J_0 > 0)"), "seeds")
    n = len(p["norm_at_horizon"])
    k = int(np.sum(np.asarray(p["norm_at_horizon"]) < UPRIGHT))
    claims.add(stats.judge_proportion(k, n, f"Fig. 7: the trained u = -K s is at upright after 10 s "
                                            f"(|s| < {UPRIGHT:g}) in most seeds", at_least=0.5), "seeds")
    claims.add(stats.judge_exact(start["norm_at_horizon"], UPRIGHT, "Fig. 7: the initial policy K0 is not: "
                                 f"|s| after 10 s above {UPRIGHT:g}", what="|s| at 10 s"), "exact")
    nb = len(b["norm_long"])
    kb = int(np.sum(np.asarray(b["norm_long"]) >= UPRIGHT))
    claims.add(stats.judge_proportion(kb, nb, f"variant u = -K s + b: the trained bias holds the pendulum off "
                                              f"upright (|s| >= {UPRIGHT:g} after {long_steps} steps) in most "
                                              "seeds", at_least=0.5), "seeds")
    claims.add(stats.compare(np.log10(np.maximum(p["norm_at_horizon"], 1e-300)),
                             np.log10(np.maximum(b["norm_at_horizon"], 1e-300)),
                             "u = -K s ends nearer upright than u = -K s + b (log10 |s| at 10 s, same seeds)",
                             paired=True, higher_is_better=False), "seeds (paired by seed)")
    claims.add(judge_reading(q["final"]["det"], SMOOTH, "Fig. 7b: Q(s0, a) of the trained policy is smooth "
                             f"(window Hölder exponent at least {SMOOTH:g} over its scaling range)",
                             what="window Hölder exponent"), "exact (the interval: over sub-windows)")
    return claims
