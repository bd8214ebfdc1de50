"""``python -m mollirl.enjoy``: watch a trained policy (rl-zoo3's ``enjoy``): its returns, and a video.

Examples::

    python -m mollirl.enjoy --run runs/reinforce/hopper-stand_1                  # J_det_undiscounted of model.zip
    python -m mollirl.enjoy --run RUN --at epoch:50 --episodes 8 --stochastic --seed 1
    python -m mollirl.enjoy --run RUN --video hopper.mp4                         # headless: EGL or OSMesa
    python -m mollirl.enjoy --run RUN --at initial --video theta0.gif

Prints each episode's undiscounted return (the paper's "total reward"), its
discounted return and its length, then the mean. Episode i resets with seed
``--seed + i`` and the env's evaluation start, and rolls through the rollout core
as a training run's rows do: the default (deterministic policy, seed 0) *is* the
J_det row, so with ``--at final`` its return is the last ``J_det_undiscounted`` of
the run's ``metrics.csv`` (and its discounted return the last ``J_det``), bit for
bit. Every built-in env starts its evaluation at one fixed state, so deterministic
episodes repeat; ``--stochastic`` samples actions ``mu(s) + sigma * eps`` with the
policy's sigma (eps from ``--seed``), as in training.

``--video`` replays the episodes in a rendering env and writes them one after the
other: ``.mp4`` every step at the env's ``render_fps`` (real time), ``.gif`` every
k-th step at ``render_fps / k`` (real time within GIF's centisecond delays; k = 5
for hopper-stand, 2 for the pendulums, 1 for the quadrotor). MuJoCo renders
offscreen when there is no display (EGL, else OSMesa: Debian's ``libegl1
libegl-mesa0 libgl1-mesa-dri libgl1`` or ``libosmesa6``). Bad input is one line
on stderr, exit code 2, and nothing is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mollirl.cli import ArgumentParser, run_main

PROG = "python -m mollirl.enjoy"
PROGRESS_DELAY = 2.0  # s before a progress bar appears (short rollouts show none)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Roll a trained policy: print its episodes' returns, write a video.")
    p.add_argument("--run", required=True, metavar="RUN_DIR", help="a run folder of python -m mollirl.train")
    p.add_argument("--at", default="final",
                   help="final (model.zip) | initial (theta_0) | best (best_model.zip, from --eval-freq) | epoch:N "
                        "(a kept checkpoint or landscape snapshot); default final")
    p.add_argument("--episodes", type=int, default=1, help="episodes, >= 1 (default 1)")
    p.add_argument("--stochastic", action="store_true",
                   help="Gaussian actions mu(s) + sigma * eps with the policy's sigma (default: the mean action)")
    p.add_argument("--seed", type=int, default=0,
                   help="episode i resets with seed SEED + i; the seed of --stochastic's noise (default 0: the "
                        "J_det row's)")
    p.add_argument("--video", default=None, metavar="OUT.mp4|OUT.gif", help="write the episodes as a video")
    p.add_argument("--fast-render", action="store_true",
                   help="MuJoCo without shadows and reflections: about 2.3x less CPU for a whole video in software "
                        "OpenGL")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _bar(enabled: bool, total: int, unit: str, desc: str):
    if not enabled:
        return None
    from mollirl.common.progress import progress_bar

    return progress_bar(total=total, unit=unit, desc=desc, file=sys.stderr, leave=False, delay=PROGRESS_DELAY)


def describe(problem, episodes, args) -> str:
    """The header line: what was rolled, from where."""
    import numpy as np

    sigma = np.asarray(problem.sigma).reshape(-1)
    sigma_text = f"{sigma[0]:g}" if np.all(sigma == sigma[0]) else ", ".join(f"{s:g}" for s in sigma)
    noise = "gSDE noise matrix, sigma" if getattr(problem.policy, "use_sde", False) else "sigma"
    policy = f"stochastic policy ({noise} {sigma_text})" if args.stochastic else "deterministic policy (mean action)"
    n = episodes.n_episodes
    start = "the evaluation start" if problem.eval_options is not None else "the env's start distribution"
    seeds = f"seed {args.seed}" if n == 1 else f"seeds {args.seed}..{args.seed + n - 1}"
    return (f"{problem.env}, {problem.label}: {policy}, {n} episode{'s' if n > 1 else ''} of at most "
            f"{problem.horizon} steps from {start} ({seeds}), gamma {problem.gamma:g}")


def format_episodes(episodes) -> str:
    """The table of episodes and the mean, numbers to 10 significant digits (the exact values, equal bit for bit
    to ``metrics.csv``'s J_det row for the default deterministic episode, are in :func:`play_episodes`' result)."""
    import numpy as np

    lines = [f"{'episode':>7}  {'return':>17}  {'discounted':>17}  {'steps':>6}"]
    for i in range(episodes.n_episodes):
        flag = "  diverged" if episodes.diverged[i] else ""
        lines.append(f"{i:>7}  {float(episodes.returns[i]):>17.10g}  {float(episodes.discounted[i]):>17.10g}  "
                     f"{int(episodes.lengths[i]):>6}{flag}")
    n = episodes.n_episodes
    mean = float(np.mean(episodes.returns))
    spread = f" +- {float(np.std(episodes.returns)):.4g} (std)" if n > 1 else ""
    lines.append(f"mean return {mean:.10g}{spread} over {n} episode{'s' if n > 1 else ''} (undiscounted); "
                 f"mean discounted {float(np.mean(episodes.discounted)):.10g}")
    return "\n".join(lines)


def _check_cost(args, problem) -> None:
    """The episodes' memory (they are kept whole: returns, video), estimated before any rollout."""
    import math

    from mollirl.common.budget import check_episodes_memory

    policy = problem.policy
    check_episodes_memory(args.episodes, problem.horizon, math.prod(policy.observation_space.shape),
                          math.prod(policy.action_space.shape), noise=args.stochastic)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        from mollirl.common.locking import command_scope

        with command_scope():  # a run folder written into stays locked until the command ends
            return _body()

    def _body() -> int:
        from mollirl.common.budget import EtaNote, check_count, check_seed

        args = build_parser().parse_args(argv)
        check_count(args.episodes, "--episodes")  # every command's rules (mollirl.common.budget)
        check_seed(args.seed)
        from mollirl.common.budget import check_episodes_memory

        check_episodes_memory(args.episodes, noise=args.stochastic, at_least=True)  # before any import: a bound
        from mollirl.video import check_video_path

        video = check_video_path(args.video) if args.video is not None else None
        if not Path(args.run).is_dir():
            raise ValueError(f"--run {args.run!r} is not a folder")
        if video is not None and Path(args.run).resolve() in Path(video).resolve().parents:
            from mollirl.common.locking import hold

            hold(args.run, "--run")  # a video into the run folder: one writer per folder
        from mollirl.common.playback import EpisodeRenderer, play_episodes, video_stride, write_episodes_video
        from mollirl.landscape import problem_from_run

        problem = problem_from_run(args.run, args.at)
        _check_cost(args, problem)
        renderer = None
        if video is not None:  # before the rollout: an env that cannot render fails first, in one line
            renderer = EpisodeRenderer(problem.env, problem.env_kwargs, horizon=problem.horizon, fast=args.fast_render)
        try:
            bar = _bar(not args.no_progress, problem.horizon, "step", "rollout")
            try:
                episodes = play_episodes(
                    problem.env, problem.policy, horizon=problem.horizon, gamma=problem.gamma,
                    env_kwargs=problem.env_kwargs, eval_options=problem.eval_options, episodes=args.episodes,
                    stochastic=args.stochastic, seed=args.seed, sde_sample_freq=problem.sde_sample_freq,
                    progress=EtaNote(PROG, "the rollout") if bar is None else (lambda done, total: bar.update(done - bar.n)),
                )
            finally:
                if bar is not None:
                    bar.close()
            print(describe(problem, episodes, args))
            print(format_episodes(episodes))
            if renderer is not None:
                stride = video_stride(video, renderer.fps)
                bar = _bar(not args.no_progress, episodes.frame_count(stride), "frame", "video")
                try:
                    written = write_episodes_video(video, episodes, renderer,
                                                   on_frame=None if bar is None else (lambda: bar.update(1)))
                finally:
                    if bar is not None:
                        bar.close()
                print(f"video {written.path}: {written.n_frames} frames at {written.fps:g} fps"
                      + (f" (a frame every {stride} steps)" if stride > 1 else ""))
        finally:
            if renderer is not None:
                renderer.close()
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
