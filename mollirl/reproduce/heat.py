"""Proposition 4.1 (heat equation): for the quadrotor's Q-landscape Q(s0, a) along
one thrust, L(mu, sigma^2) = E[Q(mu + sigma z)] on a (mu, sigma^2) grid solves
u_t = 1/2 u_mumu, and its high frequencies decay as sigma grows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.analysis.spectrum import BAND_RATIO
from mollirl.reproduce.common import Timer, pyplot, save_figure, write_summary

FULL = dict(n_mu=4001, n_t=41, t_max=0.25)  # sigma <= 0.5: L stays defined on [3, 7] N (6-sigma kernel)
QUICK = dict(n_mu=801, n_t=21, t_max=0.25)
RESIDUAL_TOL = 0.05  # relative residual of the finite-difference heat equation that counts as "solves"
HF_CUTOFF = 1.0  # cycles per newton: features narrower than about 1 N count as high frequency (the band: up to
#                 2.5 cycles per newton, mollirl.analysis.spectrum's ratio of band to cutoff)


def q_line(env: str, n_mu: int, action_dim: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Q(s0, a) of the env's reference policy along action ``action_dim`` over its whole
    saturation range (the other actions at mu(s0)); returns ``(axis, q, diverged)``."""
    from mollirl.landscape import make_backend, problem_from_env
    from mollirl.landscape.evaluate import evaluate_points
    from mollirl.rollout import EVAL_SEED, BatchedMean

    problem = problem_from_env(env, "reference")
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        s0 = backend.initial_observation(EVAL_SEED, problem.eval_options)
        centre = problem.centre
        mu0 = BatchedMean(problem.policy.mean, centre[None])(s0[None])[0]
        low = float(problem.policy.action_space.low[action_dim])
        high = float(problem.policy.action_space.high[action_dim])
        axis = np.linspace(low, high, n_mu)
        first = np.tile(mu0, (n_mu, 1))
        first[:, action_dim] = axis
        r = evaluate_points(backend, problem.policy.mean, centre[None], mode="det", horizon=problem.horizon,
                            gamma=problem.gamma, seed=seed, first_actions=first, eval_options=problem.eval_options)
    finally:
        backend.close()
    return axis, r.values, r.diverged_fraction > 0


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, env: str = "quadrotor",
        command: str | None = None) -> dict[str, Any]:
    from mollirl.analysis import gaussian_smoothing_table, heat_residual, hf_energy_fraction, holder_exponent
    from mollirl.analysis.stats import judge_exact
    from mollirl.reproduce.common import Claims, compare_readings

    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    axis, q, diverged = q_line(env, size["n_mu"])
    t_axis = np.linspace(0.0, size["t_max"], size["n_t"])
    sigmas = np.sqrt(t_axis)
    L = gaussian_smoothing_table(q, axis, sigmas, mask=diverged)
    # u_t at the first interior t would difference across t = 0, where u = Q itself is not
    # differentiable (the spike): the identity is checked for t > 0, on L[1:]
    res = heat_residual(L[1:], axis, t_axis[1:])
    # compare spectra on the interior where every sigma's expectation is defined
    valid = np.all(np.isfinite(L), axis=0)
    lo, hi = np.flatnonzero(valid)[[0, -1]]
    spacing = float(axis[1] - axis[0])
    hf = np.array([hf_energy_fraction(L[i, lo: hi + 1], spacing, cutoff=HF_CUTOFF) for i in range(len(sigmas))])
    picked = (0, len(sigmas) // 4, len(sigmas) - 1)
    readings = [holder_exponent(L[i, lo: hi + 1], spacing).to_dict() for i in picked]  # with their scaling ranges
    holder = [r["alpha"] for r in readings]
    log(f"heat: {env} Q(s0, a) along thrust 1, {len(axis)} points; relative residual of u_t = 1/2 u_mumu: "
        f"{res.relative:.3g}; hf energy sigma=0: {hf[0]:.3g} -> sigma={sigmas[-1]:.2g}: {hf[-1]:.3g}")

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for i in (0, 2, len(sigmas) // 4, len(sigmas) // 2, len(sigmas) - 1):
        axes[0].plot(axis, L[i], lw=1, label=f"sigma = {sigmas[i]:.2f}")
    axes[0].set_xlabel("mu (thrust 1, N)")
    axes[0].set_ylabel("L(mu, sigma^2) (discounted return)")
    axes[0].set_title("Q(s0, a) and its heat-kernel smoothings", fontsize=9)
    axes[0].legend(fontsize=7)
    axes[1].semilogy(sigmas, np.maximum(hf, 1e-16), "o-", ms=3)
    axes[1].set_xlabel("sigma (N)")
    axes[1].set_ylabel(f"share of 0-{BAND_RATIO * HF_CUTOFF:g} cycle/N above {HF_CUTOFF:g} (of 1)")
    axes[1].set_title("high frequencies decay as sigma grows", fontsize=9)
    axes[2].plot(t_axis[1:], res.relative_per_t, "o-", ms=3)
    axes[2].set_xlabel("t = sigma^2 (N^2)")
    axes[2].set_ylabel("relative residual of u_t = u_mumu / 2 (of 1)")
    axes[2].set_title(f"heat-equation residual (overall {res.relative:.2g})", fontsize=9)
    save_figure(fig, out / "heat_equation.png", dpi=110)

    claims = Claims(quick)
    claims.add(judge_exact(res.relative, RESIDUAL_TOL, f"L(mu, sigma^2) solves u_t = 1/2 u_mumu (relative residual "
                           f"below {RESIDUAL_TOL:g}, finite differences on the grid)", above=False,
                           what="relative residual"), "exact")
    # a rise of the high-frequency fraction between two neighbouring sigmas larger than 5% of its value breaks "decays"
    rises = np.diff(hf[1:]) / np.maximum(hf[1:-1], 1e-300)
    claims.add(judge_exact(float(np.max(rises)) if rises.size else 0.0, 0.05,
                           f"the energy above {HF_CUTOFF:g} cycle/N decays as sigma grows (largest relative rise "
                           "between neighbouring sigmas below 5%)", above=False, what="largest relative rise"),
               "exact")
    claims.add(judge_exact(hf[-1] / hf[0], 1e-3, f"sigma = {sigmas[-1]:.2g} removes 99.9% of Q's high-frequency "
                           "energy", above=False, what="hf energy ratio"), "exact")
    claims.add(compare_readings(readings[-1], readings[0], "Q is rougher than L at the largest sigma (window Hölder "
                                "exponent over each one's scaling range)"), "exact (the intervals: over sub-windows)")
    summary = {
        "result": "heat-equation (Prop. 4.1)", "env": env, "quick": quick, "wall_time_s": timer.seconds,
        "n_mu": len(axis), "t_axis": t_axis, "hf_cutoff_cycles_per_unit": HF_CUTOFF,
        "residual_checked_for_t_from": float(t_axis[1]), "sigmas": sigmas, "relative_residual": res.relative,
        "relative_residual_per_t": res.relative_per_t, "hf_energy": hf,
        "holder_at_sigma": dict(zip([f"{sigmas[i]:.3f}" for i in picked], holder)),
        "holder_readings": dict(zip([f"{sigmas[i]:.3f}" for i in picked], readings)),
        "hf_band_cycles_per_unit": [HF_CUTOFF, BAND_RATIO * HF_CUTOFF],
        "diverged_fraction": float(diverged.mean()), "claims": claims.to_list(),
    }
    write_summary(out, "heat_equation", summary, command=command)
    return summary
