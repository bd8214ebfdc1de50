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


def slice_landscapes(problem, *, grid: int, dims: int, episodes: int) -> dict[str, Any]:
    """``{"det": Landscape, "0.005": Landscape, ...}`` on one set of directions (seed 0)."""
    from mollirl.landscape import compute_landscape, make_backend

    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        det = compute_landscape(problem, grid=grid, dims=dims, radius=RADIUS, directions="filter", mode="det",
                                seed=0, backend=backend)
        out = {"det": det}
        for sigma in SIGMAS:
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
        ax.set_xlabel("offset along a filter-normalized direction")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("discounted return")
    fig.suptitle("hopper stand around theta_0 (seed 0): J and J_sigma on the same slice, common random numbers",
                 fontsize=9)
    save_figure(fig, path, dpi=110)


def plot_2d(lands: dict[str, Any], path: Path) -> None:
    plt = pyplot()
    keys = ["det", *(f"{s:g}" for s in SIGMAS)]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.8 * len(keys), 3.4))
    for ax, key in zip(axes, keys):
        land = lands[key]
        mode = land.modes[0]
        a0, a1 = land.axes
        image = ax.pcolormesh(a0, a1, np.ma.masked_array(land.value(mode), land.mask_of(mode)).T, shading="auto")
        fig.colorbar(image, ax=ax)
        ax.set_title("J (deterministic)" if key == "det" else f"J_sigma, sigma = {key}", fontsize=9)
    save_figure(fig, path, dpi=100)


def run(out: Path, quick: bool = False, n_jobs: int = 1, log=print) -> dict[str, Any]:
    """Compute the slices, write the figures and return the summary."""
    size = QUICK if quick else FULL
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    problem = centre(size["horizon"])
    line = slice_landscapes(problem, grid=size["grid_1d"], dims=1, episodes=size["episodes_1d"])
    t_1d = timer.seconds
    plane = slice_landscapes(problem, grid=size["grid_2d"], dims=2, episodes=size["episodes_2d"])
    for key, land in line.items():
        land.save(out / f"figure1_slice_{key}.npz")
    plot_1d(line, out / "figure1_slices.png")
    plot_2d(plane, out / "figure1_landscapes.png")
    m1, m2 = measures(line), measures(plane)
    for key in m1:
        log(f"figure 1 sigma {key:>5}: hf energy {m1[key]['hf_energy']:.3g}, window Hölder {m1[key]['holder']:.3f}, "
            f"mean |J_sigma - J| {m1[key]['mean_abs_deviation_from_J']:.4g}, argmax moved "
            f"{m1[key]['argmax_distance_from_J_argmax']:.3g}")
    hf = [m1[k]["hf_energy"] for k in ("det", *(f"{s:g}" for s in SIGMAS))]
    dev = [m1[f"{s:g}"]["mean_abs_deviation_from_J"] for s in SIGMAS]
    largest, smallest = m1[f"{SIGMAS[-1]:g}"], m1[f"{SIGMAS[0]:g}"]
    spacing = 2 * RADIUS / (size["grid_1d"] - 1)
    claims = {
        # larger sigma, smoother J_sigma (the mollification), measured spectrally on the 1-D slice
        "hf_energy_decreases_with_sigma": bool(all(a >= b for a, b in zip(hf, hf[1:]))),
        # "when the variance is too small, the landscape remains highly non-smooth"
        "smallest_sigma_stays_rough": bool(smallest["hf_energy"] >= ROUGH_FRACTION * m1["det"]["hf_energy"]),
        # "if the variance is too large, the kernel over-smooths, eliminating the optimal solution"
        "deviation_from_J_grows_with_sigma": bool(all(a <= b for a, b in zip(dev, dev[1:]))),
        "largest_sigma_moves_the_maximum": bool(largest["argmax_distance_from_J_argmax"] > 2 * spacing),
    }
    summary = {
        "figure": 1, "quick": quick, "sizes": size, "sigmas": SIGMAS, "radius": RADIUS,
        "centre": "theta_0 of hopper-stand seed 0 (random tanh MLP, 16 hidden, no biases)",
        "J_centre": line["det"].value("det")[size["grid_1d"] // 2],
        "directions": "filter-normalized Gaussian, seed 0 (the 2-D slice: two of them)",
        "noise": "common random numbers: episode m of every point and every sigma shares z_m; a = clip(mu + sigma z)",
        "slice_1d": m1, "slice_2d": m2, "seconds_1d": t_1d, "claims": claims,
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "figure1", summary)
    return summary
