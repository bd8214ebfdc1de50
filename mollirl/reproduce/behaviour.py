"""Figures 4, 5 and 10-13 (what the hopper does at each sigma): filmstrips, videos and the numbers behind them.

The paper shows the final hopper of one training per sigma in {0.005, 0.05, 0.5, 5}
(Figs. 10-13), saying that it fails to stand at sigma = 0.005 (Fig. 4) and stands at
0.05 (Fig. 5). This command takes the final policy of every Figure 6 run (the same
configs, :func:`mollirl.reproduce.figure6.jobs`: every sigma, every main seed: 10) and rolls
its deterministic episode from the evaluation start: the J_det row, so the episode
filmed is the one whose return the run's ``metrics.csv`` records last (checked, bit
for bit). What is shown, per seed: the torso height and angle over time, the fraction
of steps *standing* (Hopper-v5's health test on the observation: torso height
``z > 0.7`` m and ``|torso angle| < 0.2`` rad) and whether it still stands at the
end; per sigma the median and interquartile range over seeds and the fraction of
seeds standing at the end. Claims rest on those distributions, not on one seed.

Outputs in ``OUT``: ``behaviour.json``; ``behaviour_filmstrips.png`` (one row per
sigma: the seed with the median final J_det, 9 frames from t = 0 to the horizon);
``behaviour_sigma_<s>.png`` (every seed of one sigma); ``behaviour_torso.png``;
``behaviour_sigma_<s>.mp4`` and ``.gif`` of the median seed where rendering works
(MuJoCo offscreen: EGL or OSMesa; without either, the numbers and the height plot are
still written and the JSON says why the pictures are missing).

Runs: the Figure 6 runs of ``OUT/../figure6/runs`` when that folder holds them with
the same configs (``python -m mollirl.reproduce figure6`` then ``behaviour`` with the
default output folders), else ``OUT/runs`` (trained, or reused and resumed, by
:mod:`mollirl.reproduce.runs`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.common.files import relative
from mollirl.reproduce.figure6 import SIGMAS
from mollirl.reproduce.figure6_analysis import STAND_ANGLE, STAND_HEIGHT, standing  # noqa: F401
from mollirl.reproduce.figure6 import jobs as figure6_jobs
from mollirl.reproduce.runs import RunJob, finished_elsewhere, load_history, run_jobs

logger = logging.getLogger(__name__)

FRAMES = 9  # filmstrip frames per episode, t = 0, T/8, ..., T
DT = 0.008  # s per hopper-stand step (frame_skip 4 x MuJoCo's 0.002 s): time axis when nothing renders
SEEDS: int | None = None  # every seed of Figure 6's main runs (None: figure6's count, 10; --quick: its quick seeds)
HEIGHT_EVERY = 10  # steps between the torso heights kept in the JSON
#: a camera that follows the torso (MuJoCo's tracking camera; Hopper-v5's default names a body to track but
#: keeps a free camera, so a hopper that falls and rolls leaves the frame)
CAMERA = {"type": 1, "trackbodyid": 1, "distance": 3.5, "lookat": np.array([0.0, 0.0, 0.8]), "elevation": -15.0}
FULL = dict(size=240, fast=False)  # frame side (pixels), MuJoCo without shadows and reflections
QUICK = dict(size=120, fast=True)


def behaviour_jobs(out: Path, quick: bool) -> list[RunJob]:
    """Figure 6's jobs, each pointed at ``OUT/../figure6/runs`` when that run is finished there with the same config."""
    seeds = None if quick else SEEDS  # None: figure6's own count
    return [finished_elsewhere(job, out, ("figure6",)) for job in figure6_jobs(out, quick, seeds=seeds)]


def _quartiles(values: list[float]) -> dict[str, float]:
    q1, med, q3 = np.percentile(np.asarray(values, dtype=np.float64), [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "iqr": float(q3 - q1)}


def measure(job: RunJob, out: Path) -> tuple[dict[str, Any], Any, Any]:
    """The final policy's deterministic episode: ``(numbers, problem, episodes)``."""
    from mollirl.common.playback import play_episodes
    from mollirl.landscape import problem_from_run

    problem = problem_from_run(job.run_dir, "final")
    episodes = play_episodes(problem.env, problem.policy, horizon=problem.horizon, gamma=problem.gamma,
                             env_kwargs=problem.env_kwargs, eval_options=problem.eval_options)
    last = load_history(job.run_dir)[-1]
    obs = episodes.observations_of(0)
    final = episodes.final_observations[0]
    stand = standing(np.vstack([obs, final[None]]))  # the states s_0 .. s_L
    heights = np.append(obs[:, 0], final[0])
    angles = np.append(obs[:, 1], final[1])
    numbers = {
        "seed": job.config.seed, "run_dir": relative(job.run_dir, out), "epoch": problem.metadata["epoch"],
        "J_det": float(episodes.discounted[0]), "J_det_undiscounted": float(episodes.returns[0]),
        "matches_metrics": bool(episodes.discounted[0] == last["J_det"]
                                and episodes.returns[0] == last["J_det_undiscounted"]),
        "steps": int(episodes.lengths[0]), "diverged": bool(episodes.diverged[0]),
        "standing_fraction": float(stand.mean()), "standing_at_end": bool(stand[-1]),
        "first_fall_step": int(np.argmin(stand)) if not stand.all() else None,
        "torso_height_final": float(final[0]), "torso_height_min": float(heights.min()),
        "torso_angle_final": float(final[1]),
        "torso_height_every_10_steps": heights[::HEIGHT_EVERY].round(4).tolist(),
        "torso_angle_every_10_steps": angles[::HEIGHT_EVERY].round(4).tolist(),
    }
    return numbers, problem, episodes


def _strip_every(horizon: int) -> int:
    """Steps between filmstrip frames: ``FRAMES`` frames from t = 0 to the horizon."""
    return max(1, horizon // (FRAMES - 1))


def _render(renderer, episodes, *, video_stem: Path | None) -> tuple[list[np.ndarray], list[str]]:
    """Filmstrip frames of episode 0 (t = 0, T/8, ..., T; blank after an early end) and, with ``video_stem``,
    its ``.mp4`` (every step, real time) and ``.gif`` (every k-th step, real time); returns the file names."""
    from mollirl.video import gif_frame_stride, write_video

    strip_every = _strip_every(episodes.horizon)
    names: list[str] = []
    if video_stem is None:
        strip = list(renderer.frames(episodes, 0, stride=strip_every))[:FRAMES]
    else:
        fps = renderer.fps
        gif_every = gif_frame_stride(fps)
        strip, gif = [], []

        def every_frame():
            for t, frame in enumerate(renderer.frames(episodes, 0)):
                if t % strip_every == 0 and len(strip) < FRAMES:
                    strip.append(frame)
                if t % gif_every == 0:
                    gif.append(frame)
                yield frame

        mp4 = video_stem.with_name(f"{video_stem.name}.mp4")  # not with_suffix: "sigma_0.05" has a dot
        names.append(write_video(every_frame(), mp4, fps).name)
        names.append(write_video(gif, mp4.with_suffix(".gif"), fps / gif_every).name)
    blank = np.full_like(strip[0], 255)
    return strip + [blank] * (FRAMES - len(strip)), names


def plot_strips(rows: list[tuple[str, list[np.ndarray]]], frame_times: list[float], path: Path) -> None:
    """One filmstrip per row, titled, with the time of each frame under it."""
    from mollirl.common.playback import filmstrip
    from mollirl.reproduce.common import pyplot, save_figure

    plt = pyplot()
    strips = [filmstrip(frames) for _, frames in rows]
    h, w = strips[0].shape[:2]
    width = 16.0  # inches
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, len(rows) * (width * h / w + 0.55)), squeeze=False)
    for ax, (title, _), strip in zip(axes[:, 0], rows, strips):
        ax.imshow(strip)
        ax.set_title(title, fontsize=9, loc="left")
        ax.set_yticks([])
        cell = strip.shape[1] / FRAMES
        ax.set_xticks([(k + 0.5) * cell for k in range(len(frame_times))])
        ax.set_xticklabels([f"t = {t:.2f} s" for t in frame_times], fontsize=7)
    save_figure(fig, path, dpi=100)


def plot_heights(per_sigma: dict[str, Any], dt: float, path: Path) -> None:
    """Torso height (top) and angle (bottom) over time, one panel per sigma, one line per seed."""
    from mollirl.reproduce.common import pyplot, save_figure

    plt = pyplot()
    keys = sorted(per_sigma, key=float)
    fig, axes = plt.subplots(2, len(keys), figsize=(3.6 * len(keys), 5.2), sharex=True, sharey="row", squeeze=False)
    for col, key in enumerate(keys):
        entry = per_sigma[key]
        for s in entry["seeds"]:
            shown = s["seed"] == entry["shown_seed"]
            style = dict(lw=2.0, color="k") if shown else dict(lw=0.9, alpha=0.7)
            label = f"seed {s['seed']}" + (" (filmed)" if shown else "")
            for row, series in ((0, "torso_height_every_10_steps"), (1, "torso_angle_every_10_steps")):
                v = np.asarray(s[series])
                axes[row, col].plot(np.arange(v.size) * HEIGHT_EVERY * dt, v, label=label, **style)
        axes[0, col].axhline(STAND_HEIGHT, color="r", ls="--", lw=0.8)
        for bound in (-STAND_ANGLE, STAND_ANGLE):
            axes[1, col].axhline(bound, color="r", ls="--", lw=0.8)
        axes[1, col].set_ylim(-1.6, 1.6)
        frac = entry["fraction_of_seeds_standing_at_end"]
        axes[0, col].set_title(f"sigma = {key}: {frac:.0%} of seeds stand at the end", fontsize=9)
        axes[1, col].set_xlabel("time (s)")
    axes[0, 0].set_ylabel("torso height z (m)")
    axes[1, 0].set_ylabel("torso angle (rad, clipped)")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"standing (red): z > {STAND_HEIGHT} m and |angle| < {STAND_ANGLE} rad", fontsize=9)
    save_figure(fig, path, dpi=110)


def summarize_sigma(entry: dict[str, Any]) -> None:
    """Add the distribution over seeds to one sigma's entry; the filmed seed is the (lower) median by J_det."""
    seeds = entry["seeds"]
    finals = [s["J_det"] for s in seeds]
    order = np.argsort(finals, kind="stable")
    entry["shown_seed"] = seeds[int(order[(len(order) - 1) // 2])]["seed"]
    entry["final_J_det"] = _quartiles(finals)
    entry["final_J_det_undiscounted"] = _quartiles([s["J_det_undiscounted"] for s in seeds])
    entry["standing_fraction"] = _quartiles([s["standing_fraction"] for s in seeds])
    entry["fraction_of_seeds_standing_at_end"] = float(np.mean([s["standing_at_end"] for s in seeds]))
    entry["torso_height_final"] = _quartiles([s["torso_height_final"] for s in seeds])


def film(measured: list, per_sigma: dict[str, Any], out: Path, quick: bool, log=print) -> dict[str, Any]:
    """Filmstrips of every seed, videos of each sigma's filmed seed: ``{"rendered", "render_note", "files", "dt"}``
    (no pictures, with the reason, where MuJoCo cannot render)."""
    from mollirl.common.playback import EpisodeRenderer

    size = QUICK if quick else FULL
    problem = measured[0][2]
    try:
        renderer = EpisodeRenderer(problem.env, problem.env_kwargs, horizon=problem.horizon,
                                   render_kwargs={"width": size["size"], "height": size["size"],
                                                  "default_camera_config": CAMERA}, fast=size["fast"])
    except ValueError as exc:
        log(f"behaviour: no frames ({exc}); the numbers and the torso plot only")
        return {"rendered": False, "render_note": str(exc), "files": {}, "dt": DT}
    files: dict[str, Any] = {}
    times = _frame_times(problem.horizon, 1.0 / renderer.fps)
    try:
        overview = []
        for key in sorted(per_sigma, key=float):
            entry, rows = per_sigma[key], []
            for job, numbers, _, episodes in measured:
                if f"{job.config.sigma:g}" != key:
                    continue
                shown = numbers["seed"] == entry["shown_seed"]
                strip, names = _render(renderer, episodes, video_stem=out / f"behaviour_sigma_{key}" if shown else None)
                title = (f"sigma = {key}, seed {numbers['seed']}: J_det {numbers['J_det']:.4g}, standing "
                         f"{numbers['standing_fraction']:.0%} of the time, "
                         f"{'stands' if numbers['standing_at_end'] else 'down'} at the end")
                rows.append((title, strip))
                if shown:
                    overview.append((title, strip))
                    files[f"video_sigma_{key}"] = names
            plot_strips(rows, times, out / f"behaviour_sigma_{key}.png")
            files[f"filmstrip_sigma_{key}"] = f"behaviour_sigma_{key}.png"
        plot_strips(overview, times, out / "behaviour_filmstrips.png")
        files["filmstrips"] = "behaviour_filmstrips.png"
    finally:
        renderer.close()
    return {"rendered": True, "render_note": "", "files": files, "dt": 1.0 / renderer.fps}


def check_claims(per_sigma: dict[str, Any], quick: bool = False):
    """The paper's statements about the hopper at each sigma, on the distributions over independent seeds
    (a :class:`mollirl.reproduce.common.Claims`; empty unless every sigma is there). The same seeds trained
    again elsewhere (``figure6``'s runs on another machine) are not more samples: they are never pooled."""
    from mollirl.analysis import stats
    from mollirl.reproduce.common import Claims

    claims = Claims(quick)
    by = {float(k): v for k, v in per_sigma.items()}
    if not set(SIGMAS) <= set(by):
        return claims
    small, low, high, large = SIGMAS
    down = sum(not s["standing_at_end"] for s in by[small]["seeds"])
    claims.add(stats.judge_proportion(down, len(by[small]["seeds"]), f"Fig. 4: at sigma {small:g} the hopper is "
                                      "down at the end in most seeds", at_least=0.5), "seeds")
    up = sum(s["standing_at_end"] for s in by[low]["seeds"])
    claims.add(stats.judge_proportion(up, len(by[low]["seeds"]), f"Fig. 5: at sigma {low:g} the hopper stands at "
                                      "the end in most seeds", at_least=0.5), "seeds")
    shared = sorted(set.intersection(*({s["seed"] for s in by[x]["seeds"]} for x in SIGMAS)))

    def fraction(x: float) -> np.ndarray:
        seeds = {s["seed"]: s for s in by[x]["seeds"]}
        return np.array([seeds[k]["standing_fraction"] for k in shared], dtype=np.float64)

    for m in (low, high):
        for e in (small, large):
            claims.add(stats.compare(fraction(m), fraction(e), f"Figs. 10-13: sigma {m:g} stands longer than sigma "
                                     f"{e:g} (fraction of the episode standing)", paired=True), "seeds (paired)")
    mismatched = sum(not s["matches_metrics"] for e in by.values() for s in e["seeds"])
    claims.add(stats.judge_exact(mismatched, 0.5, "the filmed episode is the J_det row of metrics.csv, bit for bit, "
                                 "for every run", above=False, what="runs that differ"), "exact")
    return claims


def run(out: Path, quick: bool = False, n_jobs: int = 2, log=print, command: str | None = None) -> dict[str, Any]:
    """Train (or reuse) the Figure 6 runs, film their final policies, return the summary."""
    from mollirl.reproduce.common import Timer, write_summary

    timer = Timer()
    out.mkdir(parents=True, exist_ok=True)
    job_list = behaviour_jobs(out, quick)
    reused = sum(1 for j in job_list if not Path(j.run_dir).is_relative_to(out))
    log(f"behaviour: {len(job_list)} Figure 6 runs ({reused} from {out.parent / 'figure6' / 'runs'}, "
        f"the others under {out / 'runs'})")
    statuses = run_jobs(job_list, n_jobs=n_jobs, log=log)
    measured = [(job, *measure(job, out)) for job in job_list
                if not statuses.get(Path(job.run_dir), "").startswith("failed")]
    if not measured:
        raise ValueError(f"every run failed: {sorted(statuses.values())}")
    per_sigma: dict[str, Any] = {}
    for job, numbers, _, _ in measured:
        per_sigma.setdefault(f"{job.config.sigma:g}", {"sigma": job.config.sigma, "seeds": []})["seeds"].append(numbers)
    for entry in per_sigma.values():
        summarize_sigma(entry)
    pictures = film(measured, per_sigma, out, quick, log=log)
    plot_heights(per_sigma, pictures["dt"], out / "behaviour_torso.png")
    pictures["files"]["torso"] = "behaviour_torso.png"
    summary = {
        "figures": "4, 5, 10-13", "quick": quick, "env": measured[0][2].env,
        "standing_rule": f"torso height z > {STAND_HEIGHT} m and |torso angle| < {STAND_ANGLE} rad "
                         "(Hopper-v5's health test), over the states s_0..s_L of the deterministic episode",
        "frame_dt_s": pictures["dt"], "rendered": pictures["rendered"], "render_note": pictures["render_note"],
        "files": pictures["files"], "per_sigma": per_sigma, "claims": check_claims(per_sigma, quick).to_list(),
        "failed": {relative(k, out): v for k, v in statuses.items() if v.startswith("failed")},
    }
    summary["wall_time_s"] = timer.seconds
    write_summary(out, "behaviour", summary, command=command)
    return summary


def _frame_times(horizon: int, dt: float) -> list[float]:
    """Times (s) of the filmstrip frames."""
    every = _strip_every(horizon)
    return [k * every * dt for k in range(FRAMES)]
