"""Figure 1 (the uncertainty principle, drawn): the hopper-stand landscape around one theta,
deterministic and mollified by the Gaussian policy at sigma in {0.005, 0.05, 0.5, 5}.

The paper's picture: with sigma too small the mollified landscape J_sigma stays as rough
as J; with sigma too large it is smooth but no longer J (the optimum is smoothed away).
Here, around theta_0 of the Figure 6 runs' seed 0 (the random tanh MLP of width 16,
no biases, that ``--seed 0`` starts from; a deterministic function of the seed, so the
numbers repeat bit for bit), we evaluate on the same slice:

- J (the deterministic policy's discounted return from the noise-free start) and
  J_sigma for each sigma, with common random numbers: episode m of every point and
  every sigma uses the same standard-normal sequence z, scaled by sigma (action noise
  added before the env clips the action to [-1, 1]);
- per sigma, the smoothness measures: the window Hölder exponent and the
  high-frequency energy fraction of the slice (:func:`mollirl.landscape.summarize`),
  and how far J_sigma is from J: the mean |J_sigma - J| over the slice, and where its
  maximum lies compared with J's.

Slices: a 1-D slice along a filter-normalized random direction (seed 0, radius 1, the
Figure 6 convention) with many episodes, and a coarser 2-D slice for the picture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mollirl.reproduce.common import Timer, pyplot, save_figure, write_summary

SIGMAS = (0.005, 0.05, 0.5, 5.0)
RADIUS = 1.0
FULL = dict(grid_1d=81, episodes_1d=16, grid_2d=15, episodes_2d=4, horizon=1000)
QUICK = dict(grid_1d=11, episodes_1d=2, grid_2d=5, episodes_2d=1, horizon=50)
#: the paper's "too small": J_sigma keeps at least this fraction of J's high-frequency energy
ROUGH_FRACTION = 0.5


def centre(horizon: int):
    """theta_0 of the Figure 6 runs' seed 0 in hopper-stand."""
    from mollirl.landscape import problem_from_env

    return problem_from_env("hopper-stand", "random", seed=0, horizon=horizon)


def sigma_slice(det, problem, sigma: float, episodes: int, backend) -> tuple[Any, np.ndarray]:
    """J_sigma on ``det``'s slice (its directions and grid), as ``compute_landscape(..., mode="sigma",
    seed=0)`` computes it, keeping every episode's return: ``(landscape, returns (points, episodes))``."""
    import dataclasses

    from mollirl.landscape.evaluate import check_sigma_vector, evaluate_points
    from mollirl.landscape.grid import grid_points
    from mollirl.landscape.summary import summarize

    action_dim = problem.policy.action_space.shape[0]
    sig = check_sigma_vector(sigma, action_dim)
    points = grid_points(problem.centre, det.directions.vectors, det.grid)
    r = evaluate_points(backend, problem.policy.mean, points, mode="sigma", horizon=problem.horizon,
                        gamma=problem.gamma, sigma=sig, episodes=episodes, seed=0, eval_options=problem.eval_options)
    shape = det.grid.shape
    land = dataclasses.replace(
        det, modes=("sigma",), values=r.values.reshape(shape)[None], stderr=r.stderr.reshape(shape)[None],
        mask=(r.diverged_fraction > 0).reshape(shape)[None], diverged_fraction=r.diverged_fraction.reshape(shape)[None],
        sigma=np.broadcast_to(sig, (action_dim,)).copy(), episodes=int(episodes), metadata=dict(det.metadata))
    land.metadata["summary"] = summarize(land)
    return land, r.returns


def slice_landscapes(problem, *, grid: int, dims: int, episodes: int,
                     returns: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """``{"det": Landscape, "0.005": Landscape, ...}`` on one set of directions (seed 0); with ``returns``
    (a dict), every episode's return of each sigma is put there too, ``(points, episodes)`` (1-D only)."""
    from mollirl.landscape import compute_landscape, make_backend

    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        det = compute_landscape(problem, grid=grid, dims=dims, radius=RADIUS, directions="filter", mode="det",
                                seed=0, backend=backend)
        out = {"det": det}
        for sigma in SIGMAS:
            if returns is not None:
                out[f"{sigma:g}"], returns[f"{sigma:g}"] = sigma_slice(det, problem, sigma, episodes, backend)
            else:
                out[f"{sigma:g}"] = compute_landscape(problem, grid=grid, dims=dims, radius=RADIUS,
                                                      directions=det.directions, mode="sigma", sigma=sigma,
                                                      episodes=episodes, seed=0, backend=backend)
    finally:
        backend.close()
    return out


def measures(lands: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per landscape: the summary scalars, and how far it is from J (the det one)."""
    from mollirl.landscape import summarize

    det = lands["det"].value("det")
    det_ok = ~lands["det"].mask_of("det")
    i_best = np.unravel_index(np.nanargmax(np.where(det_ok, det, np.nan)), det.shape)
    out = {}
    for key, land in lands.items():
        mode = land.modes[0]
        v, ok = land.value(mode), ~land.mask_of(mode) & det_ok
        s = summarize(land)[mode]
        stderr = land.stderr[0][np.isfinite(land.stderr[0])]  # NaN with one episode per point
        i_max = np.unravel_index(np.nanargmax(np.where(ok, v, np.nan)), v.shape)
        spacing = np.asarray(land.grid.spacing)
        out[key] = {
            **s, "stderr_mean": float(stderr.mean()) if stderr.size else None,
            "mean_abs_deviation_from_J": float(np.mean(np.abs(v - det)[ok])),
            "value_at_J_argmax": float(v[i_best]), "argmax_offset": (np.asarray(i_max) * spacing - RADIUS).tolist(),
            "argmax_distance_from_J_argmax": float(np.linalg.norm((np.asarray(i_max) - np.asarray(i_best)) * spacing)),
        }
    return out


def plot_1d(lands: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(SIGMAS), figsize=(4.2 * len(SIGMAS), 3.4), sharey=True)
    det = lands["det"]
    x = det.axes[0]
    for ax, sigma in zip(axes, SIGMAS):
        land = lands[f"{sigma:g}"]
        v, e = land.value("sigma"), land.stderr[0]
        ax.plot(x, det.value("det"), color="k", lw=0.9, label="J (deterministic)")
        ax.plot(x, v, color="C1", lw=1.4, label=f"J_sigma, sigma = {sigma:g}")
        ax.fill_between(x, v - 2 * e, v + 2 * e, color="C1", alpha=0.25, lw=0)
        ax.set_title(f"sigma = {sigma:g}", fontsize=9)
        ax.set_xlabel("offset along a filter-normalized direction (filter-normalized units)", fontsize=8)
        ax.set_ylabel("J, J_sigma (discounted return)")
        ax.legend(fontsize=7)
    fig.suptitle("hopper stand around theta_0 (seed 0): J and J_sigma on the same slice, common random numbers",
                 fontsize=9)
    save_figure(fig, path, dpi=110)


def plot_2d(lands: dict[str, Any], path: Path) -> None:
    """J and each J_sigma on the 2-D slice, on one colour scale (the panels are compared)."""
    plt = pyplot()
    keys = ["det", *(f"{s:g}" for s in SIGMAS)]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.9 * len(keys) + 1.0, 3.8), layout="constrained")
    shown = {k: np.ma.masked_array(lands[k].value(lands[k].modes[0]), lands[k].mask_of(lands[k].modes[0]))
             for k in keys}
    lo = min(float(v.min()) for v in shown.values())
    hi = max(float(v.max()) for v in shown.values())
    image = None
    for ax, key in zip(axes, keys):
        a0, a1 = lands[key].axes
        image = ax.pcolormesh(a0, a1, shown[key].T, shading="auto", vmin=lo, vmax=hi)
        ax.set_title("J (deterministic)" if key == "det" else f"J_sigma, sigma = {key}", fontsize=9)
        ax.set_xlabel("direction 1 (filter-normalized units)", fontsize=8)
        ax.set_ylabel("direction 2 (filter-normalized units)", fontsize=8)
    fig.colorbar(image, ax=list(axes), label="discounted return, one scale for all panels")
    save_figure(fig, path, dpi=100, tight=False)


MC_NOTE = "episodes of the 1-D slice resampled (common random numbers kept common): percentile bootstrap"
N_RESAMPLES = 2000


def curve_numbers(det: np.ndarray, x: np.ndarray, spacing: float) -> dict[str, float]:
    """hf energy, mean |J_sigma - J| and the argmax offset of the mean curve of episodes ``x (M, points)``."""
    from mollirl.analysis import hf_energy_fraction

    curve = x.mean(axis=0)
    return {"hf": float(hf_energy_fraction(curve, spacing)), "dev": float(np.mean(np.abs(curve - det))),
            "argmax": float(np.argmax(curve) * spacing)}


def judge(m1: dict[str, dict[str, Any]], size: dict[str, Any], quick: bool, det: np.ndarray,
          returns: dict[str, np.ndarray]):
    """Figure 1's verdicts on the 1-D slice, each neighbouring pair of sigmas on its own, from intervals
    over the slice's episodes (:func:`mollirl.analysis.stats.resampled_interval`; the same episode
    indices for every sigma, whose episode m shares its noise z_m). ``returns[key]``: ``(points, episodes)``."""
    from mollirl.analysis import stats
    from mollirl.reproduce.common import Claims

    claims = Claims(quick)
    spacing = 2 * RADIUS / (size["grid_1d"] - 1)
    keys = [f"{s:g}" for s in SIGMAS]
    rows = np.concatenate([returns[k].T for k in keys], axis=1)  # (episodes, sigmas x points)
    n_points = det.size

    def of(x: np.ndarray, key: str) -> dict[str, float]:
        i = keys.index(key)
        return curve_numbers(det, x[:, i * n_points:(i + 1) * n_points], spacing)

    def interval(fn, name: str):
        return stats.resampled_interval(rows, fn, statistic=name, n_resamples=N_RESAMPLES)

    hf_det = float(m1["det"]["hf_energy"])
    first = keys[0]
    claims.add(stats.judge_interval(interval(lambda x: hf_det - of(x, first)["hf"], "hf(J) - hf(J_sigma)"), 0.0,
                                    f"high-frequency energy decreases from J to sigma {first}"), MC_NOTE)
    for a, b in zip(keys, keys[1:]):
        claims.add(stats.judge_interval(interval(lambda x, a=a, b=b: of(x, a)["hf"] - of(x, b)["hf"],
                                                 "hf(a) - hf(b)"), 0.0,
                                        f"high-frequency energy decreases from sigma {a} to sigma {b}"), MC_NOTE)
    claims.add(stats.judge_interval(interval(lambda x: of(x, first)["hf"] / hf_det, "hf ratio"), ROUGH_FRACTION,
                                    f"sigma too small: sigma {first} keeps at least {ROUGH_FRACTION:.0%} of J's "
                                    "high-frequency energy"), MC_NOTE)
    for a, b in zip(keys, keys[1:]):
        claims.add(stats.judge_interval(interval(lambda x, a=a, b=b: of(x, b)["dev"] - of(x, a)["dev"],
                                                 "deviation(b) - deviation(a)"), 0.0,
                                        f"J_sigma moves further from J from sigma {a} to {b} (mean |J_sigma - J|)"),
                   MC_NOTE)
    j_best = float(np.argmax(det) * spacing)
    last = keys[-1]
    claims.add(stats.judge_interval(interval(lambda x: abs(of(x, last)["argmax"] - j_best), "argmax distance"),
                                    2 * spacing, f"sigma too large: sigma {last} moves the maximum more than two "
                                    "grid steps from J's"), MC_NOTE)
    return claims


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print, command: str | None = None) -> dict[str, Any]:
    """Compute the slices, write the figures and return the summary."""
    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    problem = centre(size["horizon"])
    returns: dict[str, np.ndarray] = {}
    line = slice_landscapes(problem, grid=size["grid_1d"], dims=1, episodes=size["episodes_1d"], returns=returns)
    t_1d = timer.seconds
    plane = slice_landscapes(problem, grid=size["grid_2d"], dims=2, episodes=size["episodes_2d"])
    for key, land in line.items():
        land.save(out / f"figure1_slice_{key}.npz")
    from mollirl.common.files import write_bytes_atomic

    write_bytes_atomic(out / "figure1_slice_returns.npz",  # every episode's return: the verdicts can be re-judged
                       lambda tmp: np.savez_compressed(tmp, **{f"sigma_{k}": v for k, v in returns.items()}))
    plot_1d(line, out / "figure1_slices.png")
    plot_2d(plane, out / "figure1_landscapes.png")
    m1, m2 = measures(line), measures(plane)
    for key in m1:
        log(f"figure 1 sigma {key:>5}: hf energy {m1[key]['hf_energy']:.3g}, window Hölder {m1[key]['holder']:.3f}, "
            f"mean |J_sigma - J| {m1[key]['mean_abs_deviation_from_J']:.4g}, argmax moved "
            f"{m1[key]['argmax_distance_from_J_argmax']:.3g}")
    claims = judge(m1, size, quick, line["det"].value("det"), returns)
    summary = {
        "figure": 1, "quick": quick, "sizes": size, "sigmas": SIGMAS, "radius": RADIUS,
        "centre": "theta_0 of hopper-stand seed 0 (random tanh MLP, 16 hidden, no biases)",
        "J_centre": line["det"].value("det")[size["grid_1d"] // 2],
        "directions": "filter-normalized Gaussian, seed 0 (the 2-D slice: two of them)",
        "noise": "common random numbers: episode m of every point and every sigma shares z_m; a = clip(mu + sigma z)",
        "slice_1d": m1, "slice_2d": m2, "seconds_1d": t_1d, "claims": claims.to_list(),
        "returns": "figure1_slice_returns.npz: every episode's discounted return, (points, episodes) per sigma",
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "figure1", summary, command=command)
    return summary
