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
    out["fraction_standing_at_end"] = float(np.mean([r["final_episode"]["standing_at_end"] for r in runs]))
    epochs = sorted({p["epoch"] for r in runs for p in r["saturation"]})
    out["saturation_by_epoch"] = {
        str(e): {k: quartiles([p[k] for r in runs for p in r["saturation"] if p["epoch"] == e])["median"]
                 for k in ("saturated_fraction", "effective_noise", "W2_norm", "mean_abs_mu")}
        for e in epochs}
    return out


def verdicts(by_sigma: dict[float, dict[str, Any]], sigmas: tuple[float, ...]) -> dict[str, bool]:
    """The paper's Figure 6 statements on medians over seeds, under each reading, and on standing."""
    small, low, high, large = sigmas
    claims: dict[str, bool] = {}
    for reading, key, var in (("J_det", "J_det_last", "J_det_variance"),
                              ("batch_return", "batch_return_last", "batch_return_variance")):
        med = {s: by_sigma[s][key]["median"] for s in sigmas}
        v = {s: by_sigma[s][var]["median"] for s in sigmas}
        claims[f"{reading}: middle sigmas best (median)"] = bool(max(med[low], med[high]) > max(med[small], med[large]))
        claims[f"{reading}: sigma {small:g} highest variance of the return sequence (median)"] = bool(
            v[small] > max(v[low], v[high]))
        claims[f"{reading}: sigma {large:g} worse than {high:g} (median)"] = bool(med[large] < med[high])
    stand = {s: by_sigma[s]["fraction_standing_at_end"] for s in sigmas}
    claims[f"sigma {low:g} stands in most seeds"] = bool(stand[low] > 0.5)
    claims[f"sigma {high:g} stands in most seeds"] = bool(stand[high] > 0.5)
    claims[f"sigma {small:g} fails in most seeds"] = bool(stand[small] < 0.5)
    claims[f"sigma {large:g} fails in most seeds"] = bool(stand[large] < 0.5)
    return claims
