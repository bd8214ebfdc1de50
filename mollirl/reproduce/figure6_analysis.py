"""Figure 6's numbers per run and per sigma: the two readings of "return", standing, saturation.

Readings of the training curves' y-axis (the paper says only that its landscapes use
the deterministic policy):

- ``J_det``: the deterministic policy's *discounted* return from the noise-free start
  (``metrics.csv`` ``J_det``; gamma 0.99), with its undiscounted return
  ``J_det_undiscounted`` beside it;
- ``batch_return``: the stochastic policy's *undiscounted* return, the mean over the
  epoch's batch of episodes (``metrics.csv`` ``ep_return_mean``, SB3's ``ep_rew_mean``).

A run's "final" value under a reading is the mean over its last ``LAST`` epochs (the
batch of the final epoch's row does not exist; one epoch of a chaotic training is
noisy), and ``J_det_final`` is the last row itself.

Saturation: at every kept checkpoint (``--save-freq``) the deterministic episode is
rolled again and, over its states s_t and the 3 action dims, we record the fraction of
*saturated* mean actions (|f(mu(s_t))| >= ``SATURATED`` with f the env's squashing:
clip to [-1, 1], or tanh) and the *effective noise* left after squashing,
E|f(mu + sigma z) - f(mu)| (``NOISE_DRAWS`` standard-normal draws per state, seeded),
beside the norm of the output layer W2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

STAND_HEIGHT = 0.7  # m: Hopper-v5's healthy_z_range lower bound (torso height qpos[1])
STAND_ANGLE = 0.2  # rad: Hopper-v5's healthy_angle_range half-width (torso pitch qpos[2])


def standing(obs: np.ndarray) -> np.ndarray:
    """``(L,)`` whether the hopper stands at each observation ``(L, 11)``: Hopper-v5's health test on the
    torso height (``obs[:, 0]`` = qpos[1] > 0.7 m) and angle (``|obs[:, 1]|`` = |qpos[2]| < 0.2 rad)."""
    obs = np.atleast_2d(obs)
    return (obs[:, 0] > STAND_HEIGHT) & (np.abs(obs[:, 1]) < STAND_ANGLE)


LAST = 10  # epochs averaged for a run's final value
SATURATED = 0.99  # |f(mu)| at or above this counts as saturated (f = clip or tanh, bounds +-1)
NOISE_DRAWS = 8


def squash_of(env: str):
    """The function the env applies to a raw action: ``np.tanh`` or the clip to [-1, 1]."""
    return np.tanh if env == "hopper-stand-tanh" else (lambda u: np.clip(u, -1.0, 1.0))


def readings(rows: list[dict[str, float]]) -> dict[str, Any]:
    """Per-run series and final values under both readings, from ``metrics.csv`` rows."""
    def series(key: str) -> np.ndarray:
        return np.array([r.get(key, np.nan) for r in rows], dtype=np.float64)

    J, J_und, batch = series("J_det"), series("J_det_undiscounted"), series("ep_return_mean")
    batch_ok = batch[np.isfinite(batch)]
    return {
        "J_det": J, "J_det_undiscounted": J_und, "batch_return": batch, "J_sigma": series("J_sigma"),
        "J_det_final": float(J[-1]), "J_det_undiscounted_final": float(J_und[-1]),
        "J_det_last": float(np.mean(J[-LAST:])), "J_det_undiscounted_last": float(np.mean(J_und[-LAST:])),
        "batch_return_last": float(np.mean(batch_ok[-LAST:])) if batch_ok.size else float("nan"),
        "J_det_variance": float(np.var(J)), "batch_return_variance": float(np.var(batch_ok)) if batch_ok.size else None,
    }


def _mean_actions(policy, obs: np.ndarray) -> np.ndarray:
    import torch as th

    dtype = next(policy.mean.parameters()).dtype
    with th.no_grad():
        return policy.mean(th.as_tensor(obs, dtype=dtype)).double().numpy()


def episode_numbers(run_dir: Path, at: str, rng_seed: int = 0) -> dict[str, Any]:
    """The deterministic episode of the policy ``at`` (``final``, ``epoch:N``): saturation, noise, standing."""
    from mollirl.common.playback import play_episodes
    from mollirl.landscape import problem_from_run

    problem = problem_from_run(run_dir, at)
    episodes = play_episodes(problem.env, problem.policy, horizon=problem.horizon, gamma=problem.gamma,
                             env_kwargs=problem.env_kwargs, eval_options=problem.eval_options)
    obs = episodes.observations_of(0)
    states = np.vstack([obs, episodes.final_observations[0][None]])
    f = squash_of(problem.env)
    mu = _mean_actions(problem.policy, obs)
    sigma = float(np.mean(problem.sigma))
    z = np.random.default_rng(rng_seed).standard_normal((NOISE_DRAWS, *mu.shape))
    params = dict(problem.policy.mean_named_parameters())
    stand = standing(states)
    return {
        "epoch": problem.metadata["epoch"], "J_det": float(episodes.discounted[0]),
        "saturated_fraction": float(np.mean(np.abs(f(mu)) >= SATURATED)),
        "effective_noise": float(np.mean(np.abs(f(mu[None] + sigma * z) - f(mu)[None]))),
        "mean_abs_mu": float(np.mean(np.abs(mu))),
        "W2_norm": float(np.linalg.norm(params["W2"].detach().double().numpy())) if "W2" in params else None,
        "standing_fraction": float(stand.mean()), "standing_at_end": bool(stand[-1]),
    }


def saturation_path(run_dir: Path) -> list[dict[str, Any]]:
    """:func:`episode_numbers` at every epoch a run can load (theta_0, each kept checkpoint, the final model)."""
    from mollirl.landscape.problem import available_epochs

    return [episode_numbers(run_dir, f"epoch:{epoch}") for epoch in available_epochs(run_dir)]


def quartiles(values) -> dict[str, float]:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if not v.size:
        return {"median": float("nan"), "q1": float("nan"), "q3": float("nan"), "iqr": float("nan"), "n": 0}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1), "n": int(v.size)}


def sigma_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Distributions over the seeds of one sigma (one variant)."""
    out: dict[str, Any] = {"seeds": len(runs)}
    for key in ("J_det_final", "J_det_last", "J_det_undiscounted_final", "batch_return_last", "J_det_variance",
                "batch_return_variance"):
        out[key] = quartiles([r[key] for r in runs])
    from mollirl.analysis import stats

    for key in ("J_det_last", "J_det_final", "batch_return_last"):
        finite = [r[key] for r in runs if r.get(key) is not None and np.isfinite(r[key])]
        out[f"{key}_summary"] = stats.summary(finite) if finite else None
    episodes = [r["final_episode"] for r in runs if r.get("final_episode")]
    out["fraction_standing_at_end"] = (float(np.mean([e["standing_at_end"] for e in episodes]))
                                       if len(episodes) == len(runs) else None)
    if out["fraction_standing_at_end"] is not None:
        k = sum(e["standing_at_end"] for e in episodes)
        out["standing_at_end"] = stats.proportion(k, len(runs)).to_dict()
    epochs = sorted({p["epoch"] for r in runs for p in r.get("saturation", [])})
    out["saturation_by_epoch"] = {
        str(e): {k: quartiles([p[k] for r in runs for p in r.get("saturation", []) if p["epoch"] == e])["median"]
                 for k in ("saturated_fraction", "effective_noise", "W2_norm", "mean_abs_mu")}
        for e in epochs}
    return out


def _paired(per_sigma: dict[float, dict[str, Any]], sigmas: tuple[float, ...], key) -> tuple[list[int], dict]:
    """``(seeds, {sigma: (n,) values})`` over the seeds every sigma has (seed k of every sigma starts from the
    same theta_0 and draws the same noise sequence: the comparison is paired). ``key(run)`` -> a value."""
    shared = sorted(set.intersection(*(set(r["seed"] for r in per_sigma[s]["runs"]) for s in sigmas)))
    out = {}
    for s in sigmas:
        by_seed = {r["seed"]: r for r in per_sigma[s]["runs"]}
        out[s] = np.array([key(by_seed[k]) for k in shared], dtype=np.float64)
    return shared, out


READINGS = (("J_det", "J_det_last", "J_det_variance"), ("batch_return", "batch_return_last", "batch_return_variance"))


def judge(variants: dict[str, dict[str, Any]], sigmas: tuple[float, ...], claims, *,
          standing_proxy: float | None = None) -> dict[str, Any]:
    """Figure 6's statements, each pair it names compared over the shared seeds (paired), per reading
    and variant, added to ``claims`` (a :class:`mollirl.reproduce.common.Claims`); returns the per-reading
    best sigma and the sigmas not distinguishable from it (:func:`mollirl.analysis.stats.best_and_ties`).

    - "middle sigmas best": sigma 0.05 beats 0.005, 0.05 beats 5, 0.5 beats 0.005, 0.5 beats 5 (each
      one verdict; no "better of two");
    - "sigma 0.005 gives a high-variance return sequence": its variance over epochs (log10) larger
      than each other sigma's;
    - standing: "sigma 0.05 / 0.5 stand at the end in most seeds", "sigma 0.005 / 5 are down at the end in
      most seeds" (Clopper-Pearson against one half). ``standing_proxy``: data without the final
      episode (the legacy JSON) read "stands" as final J_det above it, and the claim says so.
    A reading that was not recorded (NaN for every run) is skipped and listed under ``not_measured``.
    """
    from mollirl.analysis import stats

    small, low, high, large = sigmas
    out: dict[str, Any] = {"not_measured": []}
    for variant, per_sigma_raw in variants.items():
        per_sigma = {float(k): v for k, v in per_sigma_raw.items()}
        if not set(sigmas) <= set(per_sigma):
            out["not_measured"].append(f"{variant}: not every sigma")
            continue
        prefix = "" if variant == "main" else f"[{variant}] "
        for reading, key, var in READINGS:
            seeds, values = _paired(per_sigma, sigmas, lambda r: r.get(key, float("nan")))
            if not seeds or not all(np.all(np.isfinite(v)) for v in values.values()):
                out["not_measured"].append(f"{variant}: {reading}")
                continue
            rests = f"seeds (paired over seeds {seeds[0]}..{seeds[-1]})"
            for m in (low, high):
                for e in (small, large):
                    claims.add(stats.compare(values[m], values[e], f"{prefix}{reading}: sigma {m:g} beats sigma {e:g} "
                                             f"(mean over the last {LAST} epochs)", paired=True), rests)
            _, variances = _paired(per_sigma, sigmas, lambda r: np.log10(max(r.get(var) or np.nan, 1e-300)))
            if all(np.all(np.isfinite(v)) for v in variances.values()):
                for other in (low, high, large):
                    claims.add(stats.compare(variances[small], variances[other],
                                             f"{prefix}{reading}: sigma {small:g} has a larger variance over epochs "
                                             f"than sigma {other:g} (log10 of each seed's variance)", paired=True),
                               rests)
            best = stats.best_and_ties({f"{s:g}": values[s] for s in sigmas}, paired=True)
            out[f"{variant}: {reading}"] = best.to_dict()
        n_runs = {s: len(per_sigma[s]["runs"]) for s in sigmas}

        def stands(run) -> bool:
            if "final_episode" in run:
                return bool(run["final_episode"]["standing_at_end"])
            return bool(run["J_det_final"] > standing_proxy)

        if standing_proxy is None and not all("final_episode" in r for s in sigmas for r in per_sigma[s]["runs"]):
            out["not_measured"].append(f"{variant}: standing")
            continue
        how = "" if standing_proxy is None else f" (read as final J_det above {standing_proxy:g}: no episode recorded)"
        for s in (low, high):
            k = sum(stands(r) for r in per_sigma[s]["runs"])
            claims.add(stats.judge_proportion(k, n_runs[s], f"{prefix}sigma {s:g} stands at the end in most "
                                              f"seeds{how}", at_least=0.5), "seeds")
        for s in (small, large):
            k = sum(not stands(r) for r in per_sigma[s]["runs"])
            claims.add(stats.judge_proportion(k, n_runs[s], f"{prefix}sigma {s:g} is down at the end in most "
                                              f"seeds{how}", at_least=0.5), "seeds")
    return out
