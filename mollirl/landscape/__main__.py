"""``python -m mollirl.landscape``: J(theta) and J_sigma(theta) (or Q(s0, a)) around a policy.

Examples::

    python -m mollirl.landscape --env quadrotor --center reference            # the spike of Fig. 8a
    python -m mollirl.landscape --run runs/reinforce/double-pendulum_1 --at final --grid 41
    python -m mollirl.landscape --run RUN --at epoch:10 --directions RUN/landscapes/directions.npz
    python -m mollirl.landscape --env double-pendulum --directions "K[0,0],K[1,1]" --dims 2
    python -m mollirl.landscape --run RUN --q-landscape                       # Q(s0, a), Fig. 7b
    python -m mollirl.landscape --env double-pendulum --sigma-sweep 0.01,0.03,0.1,0.3,1,3   # bias vs variance

Writes ``OUT`` (npz, see :mod:`mollirl.landscape.result`) and ``OUT`` with
``.png``; prints the analysis summary and the points/s achieved. Default
``OUT``: ``RUN/landscapes/at_<at>.npz`` (``q_at_<at>.npz``) for a run,
``landscape_<env>_<center>.npz`` (``q_landscape_...``) in the current folder for an env.

``--sigma-sweep S1,S2,...`` measures instead, at the centre, for every sigma (common random numbers,
all rows in one batched rollout): J_sigma with its interval, the mollification bias J_sigma - J,
the trace of the covariance of the REINFORCE gradient estimate of a batch of ``--batch-episodes``
episodes and its SNR, and the angle between E g and the finite-difference gradient of J
(:mod:`mollirl.landscape.sweep`). It writes ``OUT`` (JSON; default ``RUN/landscapes/sweep_at_<at>.json``
or ``sweep_<env>_<center>.json``) and ``OUT`` with ``.png``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from mollirl.cli import ArgumentParser, check_output_dir, command_text, run_main

PROG = "python -m mollirl.landscape"
PROGRESS_DELAY = 2.0  # s a stage runs before its progress bar appears (a quick landscape shows none)


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Landscapes J(theta), J_sigma(theta) or Q(s0, a) around a policy.")
    p.add_argument("--run", default=None, metavar="DIR", help="a run folder of python -m mollirl.train")
    p.add_argument("--at", default="final", help="initial | final | best | epoch:N (with --run; default final)")
    p.add_argument("--env", default=None, help="an env short name or Gymnasium id (instead of --run)")
    p.add_argument("--center", default="reference", help="with --env: reference | random | zero (default reference)")
    p.add_argument("--grid", type=int, default=21, help="points per axis, >= 3 (default 21; odd includes the centre)")
    p.add_argument("--dims", type=int, default=2, help="1 or 2 slice directions (default 2)")
    p.add_argument("--radius", type=float, default=None,
                   help="half-width of the slice in direction units (default 1); with --q-landscape in action "
                        "units around mu(s0) (default: the env's action box)")
    p.add_argument("--directions", default="random",
                   help="random | filter | gradient | K[0,4],b[0] (named parameters) | FILE.npz (default random)")
    p.add_argument("--mode", default="both", choices=["det", "sigma", "param-sigma", "both", "all"],
                   help="det: mean action (J); sigma: Gaussian actions (J_sigma, common random numbers); "
                        "param-sigma: Gaussian on theta, E[J(theta + sigma eps)] (what ARS ascends); "
                        "both: det + sigma; all: the three")
    p.add_argument("--param-sigma", default=None,
                   help="parameter-space sigma of param-sigma mode (default: the policy's sigma; for an ARS run "
                        "its delta_std)")
    p.add_argument("--sigma", default=None, help="sigma of the sigma mode and of the Q-landscape smoothing (default: the policy's; unused in det mode)")
    p.add_argument("--episodes", type=int, default=None,
                   help="episodes per point in sigma mode (default 16); per sigma with --sigma-sweep (default 256)")
    p.add_argument("--sigma-sweep", default=None, metavar="S1,S2,...",
                   help="instead of a landscape: J_sigma, the bias J_sigma - J, the REINFORCE gradient's variance "
                        "and SNR and its angle to the finite-difference gradient at the centre, for these sigmas")
    p.add_argument("--batch-episodes", type=int, default=16,
                   help="with --sigma-sweep: N, the batch whose gradient estimate's variance and SNR are reported (16)")
    p.add_argument("--baseline", default="none", choices=["none", "mean"],
                   help="with --sigma-sweep: the REINFORCE baseline (none: the paper's estimator; mean: per-step "
                        "batch mean, variance over disjoint batches)")
    p.add_argument("--fd-step", type=float, default=None,
                   help="with --sigma-sweep: central finite-difference step per parameter (default 1e-4)")
    p.add_argument("--horizon", type=int, default=None, help="steps per rollout (default: the run's or preset's)")
    p.add_argument("--gamma", type=float, default=None, help="discount (default: the run's or preset's)")
    p.add_argument("--q-landscape", action="store_true", help="Q(s0, a) over a grid of first actions instead")
    p.add_argument("--action-dims", default="0,1", help="with --q-landscape: the two action indices (default 0,1)")
    p.add_argument("--seed", type=int, default=0, help="seed of directions, starts and noise (default 0)")
    p.add_argument("-o", "--output", default=None, metavar="OUT", help="output .npz (the .png goes next to it)")
    p.add_argument("--max-envs", type=int, default=2048, help="VecEnv chunk size for MuJoCo envs (default 2048)")
    p.add_argument("--plugin", action="append", default=None, metavar="MODULE_OR_FILE", help="import a plugin first")
    p.add_argument("--no-png", action="store_true", help="write only the npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _check_args(args) -> None:
    """The flags' rules, the same as every other command's (:mod:`mollirl.common.budget`, :func:`check_sigma`)."""
    from mollirl.common.budget import check_count, check_product, check_seed
    from mollirl.landscape.grid import check_dims, check_grid_size, check_radius
    from mollirl.sigma import check_sigma

    if (args.run is None) == (args.env is None):
        raise ValueError("give exactly one of --run DIR or --env NAME")
    check_grid_size(args.grid)
    if args.radius is not None or not args.q_landscape:
        check_radius(1.0 if args.radius is None else args.radius)
    check_dims(args.dims)
    check_product([("--grid", args.grid)] * (2 if args.q_landscape else args.dims), "grid points")
    if args.sigma_sweep is not None:
        from mollirl.landscape.sweep import parse_sigmas

        parse_sigmas(args.sigma_sweep)
        if args.q_landscape:
            raise ValueError("--sigma-sweep and --q-landscape exclude each other")
        if args.episodes is not None and args.episodes < 2:
            raise ValueError(f"--episodes must be >= 2 with --sigma-sweep, got {args.episodes}")
        if args.fd_step is not None and not (0 < args.fd_step < float("inf")):
            raise ValueError(f"--fd-step must be a finite number > 0, got {args.fd_step}")
    if args.episodes is None:  # the default of each kind of work
        args.episodes = 256 if args.sigma_sweep is not None else 16
    check_count(args.episodes, "--episodes")
    check_count(args.batch_episodes, "--batch-episodes")  # the sweep's N; refused alike with or without it
    if args.horizon is not None:
        check_count(args.horizon, "--horizon")
    if args.gamma is not None and not (0.0 < args.gamma <= 1.0):
        raise ValueError(f"--gamma must be in (0, 1], got {args.gamma!r}")
    if args.sigma is not None:  # the same rule as train's --sigma (a float32 policy must hold it)
        args.sigma = check_sigma(args.sigma, "--sigma")
    if args.param_sigma is not None:
        args.param_sigma = check_sigma(args.param_sigma, "--param-sigma")
    check_seed(args.seed)
    check_count(args.max_envs, "--max-envs")
    if args.sigma_sweep is not None:
        return  # a sweep estimates its own arrays (sweep.check_memory) before any rollout
    from mollirl.common.budget import check_landscape_memory

    # a lower bound (one-dimensional states, actions and parameters) refuses absurd sizes before any import
    points = args.grid ** (2 if args.q_landscape else args.dims)
    modes = ("det",) if args.q_landscape else ("det", "sigma", "param-sigma") if args.mode == "all" else \
        ("det", "sigma") if args.mode == "both" else (args.mode,)
    check_landscape_memory(points, modes, episodes=args.episodes, horizon=args.horizon, at_least=True)


def _check_cost(args, problem) -> None:
    """The landscape's memory, estimated before any work (:mod:`mollirl.common.budget`)."""
    import math

    from mollirl.common.budget import check_landscape_memory
    from mollirl.landscape.compute import parse_modes

    policy = problem.policy
    obs_dim, action_dim = math.prod(policy.observation_space.shape), math.prod(policy.action_space.shape)
    points = args.grid ** (2 if args.q_landscape else args.dims)
    modes = ("det",) if args.q_landscape else parse_modes(args.mode)
    check_landscape_memory(points, modes, episodes=args.episodes, horizon=problem.horizon, obs_dim=obs_dim,
                           action_dim=action_dim, n_params=int(policy.get_mean_vector().size))


def _default_output(args, problem) -> Path:
    if args.sigma_sweep is not None:
        if args.run is not None:
            return Path(args.run) / "landscapes" / f"sweep_at_{args.at.replace(':', '_')}.json"
        env = "".join(c if c.isalnum() or c in "-_." else "-" for c in problem.env)
        return Path(f"sweep_{env}_{args.center}.json")
    prefix = "q_" if args.q_landscape else ""
    if args.run is not None:
        at = args.at.replace(":", "_")
        return Path(args.run) / "landscapes" / f"{prefix}at_{at}.npz"
    env = "".join(c if c.isalnum() or c in "-_." else "-" for c in problem.env)
    return Path(f"{prefix}landscape_{env}_{args.center}.npz")


class _ProgressBars:
    """One tqdm bar per stage (det, sigma, q) on stderr, shown once the stage has run
    :data:`PROGRESS_DELAY` seconds (with its ETA)."""

    def __init__(self) -> None:
        self.bars: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from mollirl.common.progress import progress_bar

        bar = self.bars.get(stage)
        if bar is None:
            self.close()  # the previous stage is done
            bar = self.bars[stage] = progress_bar(total=total, desc=stage, unit="step", file=sys.stderr,
                                                  leave=False, delay=PROGRESS_DELAY)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()  # idempotent


class _EtaNotes:
    """Without progress bars: one ETA note per stage that will take long (:class:`~mollirl.common.budget.EtaNote`)."""

    def __init__(self) -> None:
        self.notes: dict = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from mollirl.common.budget import EtaNote

        self.notes.setdefault(stage, EtaNote(PROG, f"the {stage} stage"))(done, total)

    def close(self) -> None:
        pass


def _timing_lines(land) -> list[str]:
    lines = []
    for stage, t in land.metadata["timing"].items():
        episodes = t.get("episodes", 1)
        extra = ""
        if stage == "sigma":
            extra = f" (sigma {', '.join(f'{s:g}' for s in sorted(set(land.sigma.round(6))))}, common random numbers)"
        lines.append(f"  {stage:<6} {t['points']} points x {episodes} episode{'s' if episodes > 1 else ''}{extra} "
                     f"in {t['seconds']:.3g} s: {t['points_per_second']:,.0f} points/s "
                     f"({t['points'] * episodes * land.horizon / max(t['seconds'], 1e-12):,.0f} env-steps/s)")
    return lines


def _sweep(args, argv: list[str], problem, out: Path) -> int:
    """``--sigma-sweep``: measure, write the JSON and the PNG, print a table."""
    import numpy as np

    from mollirl.landscape.sweep import FD_STEP, parse_sigmas, save_png, sigma_sweep

    if out.suffix != ".json":
        out = out.with_name(out.name + ".json")
    check_output_dir(out.parent, "-o/--output", out)
    if out.is_dir():
        raise ValueError(f"-o/--output {str(out)!r}: is a folder; give a file name like {str(out / 'sweep.json')!r}")
    if args.run is not None and Path(args.run).resolve() in out.resolve().parents:
        from mollirl.common.locking import hold

        hold(args.run, "--run")  # the output goes into the run folder: one writer per folder
    bars = None if args.no_progress else _ProgressBars()
    try:
        sweep = sigma_sweep(problem, parse_sigmas(args.sigma_sweep), episodes=args.episodes,
                            batch_episodes=args.batch_episodes, baseline=args.baseline, seed=args.seed,
                            fd_step=args.fd_step or FD_STEP,
                            progress=None if bars is None else (lambda done, total: bars("sweep", done, total)))
    finally:
        if bars is not None:
            bars.close()
    sweep.metadata["command"] = command_text("python -m mollirl.landscape", argv)
    out.parent.mkdir(parents=True, exist_ok=True)
    written = [str(sweep.save_json(out))]
    if not args.no_png:
        written.append(str(save_png(sweep, out.with_suffix(".png"))))
    print(f"{problem.env}: sigma sweep at {problem.label}: {len(sweep.rows)} sigmas x {sweep.episodes} episodes "
          f"(common random numbers), horizon {sweep.horizon}, gamma {sweep.gamma:g}; {sweep.n_rows} rows in one "
          f"batch, {sweep.seconds:.3g} s")
    print(f"  J(theta) = {sweep.J:.6g}; finite-difference |grad J| = {np.linalg.norm(sweep.fd_gradient):.4g} "
          f"(step {sweep.fd_step:g}); REINFORCE batch N = {sweep.batch_episodes}, baseline {sweep.baseline}; "
          f"95% intervals")
    print(f"  {'sigma':>8}  {'J_sigma':>26}  {'J_sigma - J':>28}  {'tr Cov(g_N)':>30}  {'SNR':>24}  "
          f"{'angle to FD grad (deg)':>24}  diverged")
    for r in sweep.rows:
        print(f"  {r.sigma:>8.4g}  {str(r.J_sigma):>26}  {str(r.bias):>28}  {str(r.trace_cov):>30}  {str(r.snr):>24}  "
              f"{str(r.angle_deg):>24}  {r.diverged_fraction:.0%}")
    print(f"  wrote {', '.join(written)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        from mollirl.common.locking import command_scope

        with command_scope():  # a run folder written into stays locked until the command ends
            return _body()

    def _body() -> int:
        args = build_parser().parse_args(argv)
        _check_args(args)
        from mollirl import registry
        from mollirl.landscape.compute import compute_landscape, compute_q_landscape
        from mollirl.landscape.problem import problem_from_env, problem_from_run
        from mollirl.landscape.summary import format_summary

        registry.load_all_plugins(list(args.plugin or []))
        if args.env is not None:
            from mollirl.common.env_check import check_env

            check_env(args.env)  # a Box action space; a plugin env's shapes and types
        if args.run is not None:
            problem = problem_from_run(args.run, args.at, horizon=args.horizon, gamma=args.gamma)
        else:
            problem = problem_from_env(args.env, args.center, seed=args.seed, horizon=args.horizon, gamma=args.gamma)
        out = Path(args.output) if args.output else _default_output(args, problem)
        if args.sigma_sweep is not None:
            return _sweep(args, argv, problem, out)  # it estimates its own arrays (sweep.check_memory)
        _check_cost(args, problem)
        if out.suffix != ".npz":
            out = out.with_name(out.name + ".npz")
        check_output_dir(out.parent, "-o/--output", out)  # before the computation: a file in the way, a read-only folder
        if out.is_dir():
            raise ValueError(f"-o/--output {str(out)!r}: is a folder; give a file name like {str(out / 'landscape.npz')!r}")
        if args.run is not None and Path(args.run).resolve() in out.resolve().parents:
            from mollirl.common.locking import hold

            hold(args.run, "--run")  # the output goes into the run folder: one writer per folder
        bars = _EtaNotes() if args.no_progress else _ProgressBars()  # long work says its ETA either way
        try:
            if args.q_landscape:
                try:
                    dims = tuple(int(i) for i in args.action_dims.split(","))
                except ValueError:
                    raise ValueError(f"--action-dims must be two integers like 0,1, got {args.action_dims!r}") from None
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # its caveats come back in metadata["notes"], printed below
                    land = compute_q_landscape(problem, grid=args.grid, radius=args.radius, action_dims=dims,
                                               sigma=args.sigma, seed=args.seed, max_envs=args.max_envs,
                                               progress=bars)
            else:
                land = compute_landscape(
                    problem, grid=args.grid, dims=args.dims, radius=1.0 if args.radius is None else args.radius,
                    directions=args.directions, mode=args.mode, sigma=args.sigma, episodes=args.episodes,
                    seed=args.seed, max_envs=args.max_envs, progress=bars, param_sigma=args.param_sigma,
                )
        finally:
            if bars is not None:
                bars.close()
        land.metadata["command"] = command_text("python -m mollirl.landscape", argv)
        land.save(out)
        written = [str(out)]
        if not args.no_png:
            from mollirl.landscape.plot import save_png

            save_png(land, out.with_suffix(".png"))
            written.append(str(out.with_suffix(".png")))
        shape = "x".join(str(n) for n in land.grid.shape)
        if land.kind == "q":
            head = (f"{problem.env}: Q-landscape Q(s0, a) of {problem.label}, actions "
                    f"{list(land.action_dims)} on a {shape} grid")
        else:
            head = (f"{problem.env}: {land.dims}-D landscape around {problem.label}: grid {shape}, radius "
                    f"{land.axes[0][-1]:g}, directions {'+'.join(land.directions.kinds)} (seed {land.directions.seed})")
        print(head)
        print(f"  horizon {land.horizon}, gamma {land.gamma:g}")
        print(format_summary(land, land.metadata["summary"]))
        for note in land.metadata.get("notes", []):
            print(f"  note: {note}")
        print("\n".join(_timing_lines(land)))
        print(f"  wrote {', '.join(written)}")
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
