"""``python -m mollirl.train``: train a policy with a controlled exploration sigma.

Examples::

    python -m mollirl.train --algo reinforce                      # double pendulum, paper preset
    python -m mollirl.train --algo reinforce --env quadrotor --epochs 5
    python -m mollirl.train --algo ppo --env hopper-stand --sigma 0.5 --learn-sigma
    python -m mollirl.train --algo reinforce --sigma-schedule exp:1.0:0.05
    python -m mollirl.train --resume runs/reinforce/double-pendulum_1
"""

from __future__ import annotations

import sys
from pathlib import Path

from mollirl import registry
from mollirl.cli import ArgumentParser, check_output_dir, run_main
from mollirl.config import RunConfig, add_config_arguments, cli_config_layer, load_yaml

PROG = "python -m mollirl.train"


def build_parser() -> ArgumentParser:
    """The command line: RunConfig's flags (their spellings and help are the config fields', :func:`mollirl.config.
    option`), then the command's own."""
    p = ArgumentParser(prog=PROG, description="Train REINFORCE, PPO, TRPO or ARS (or a plugin's algorithm) with a "
                                              "fixed, learnable or scheduled sigma.")
    add_config_arguments(p)
    p.add_argument("-n", "--n-timesteps", type=int, default=None, metavar="N",
                   help="env steps to train instead of --epochs: N / (batch-episodes x horizon) epochs, rounded "
                        "up (at least N steps, as SB3's learn())")
    p.add_argument("--seeds", default=None, metavar="N|S1,S2,...",
                   help="train a population: seeds 0..N-1, or the seeds listed (times each --sigma value)")
    p.add_argument("-conf", "--conf-file", default=None,
                   help="YAML file: config keys, flat or rl-zoo3's layout (one section per env); over the presets")
    p.add_argument("-params", "--hyperparams", nargs="+", default=None, metavar="KEY:VALUE",
                   help="config keys or algorithm kwargs, e.g. -params baseline:none gamma:0.95 "
                        "(--algo ppo -params n_epochs:5)")
    p.add_argument("--show-hyperparams", action="store_true",
                   help="print the resolved hyperparameters of --algo on --env and where each came from; exit")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    p.add_argument("--list", action="store_true", help="list everything registered and exit")
    return p


def cli_layer(args) -> dict:
    """Config keys given explicitly on the command line (``--algo`` and ``--env`` are resolved apart)."""
    layer = cli_config_layer(args)
    layer.pop("algo", None)
    layer.pop("env", None)
    return layer


def list_registered(plugins: list[str]) -> str:
    registry.load_all_plugins(plugins)
    lines = []
    for kind in registry.KINDS:
        lines.append(f"{kind}:")
        for entry in registry.entries(kind):
            extra = f" ({entry.obj.gym_id})" if kind == "envs" else ""
            lines.append(f"  {entry.name:<18}{extra} {entry.help}".rstrip())
    return "\n".join(lines)


def config_from_args(args, *, with_sources: bool = False):
    """Resolve the layers (see :mod:`mollirl.hyperparams`) into one validated config.

    ``-n/--n-timesteps N`` (or a zoo file's ``n_timesteps``) sets ``epochs = ceil(N / steps_per_epoch)``:
    at least N env steps, as SB3's ``learn()`` rounds up to whole rollouts. With ``with_sources``,
    returns ``(config, sources, notes)`` (:func:`mollirl.hyperparams.resolve_with_sources`).
    """
    from mollirl.config import cli_config_layer
    from mollirl.hyperparams import conf_layer, resolve_with_sources

    registry.load_all_plugins(list(args.plugin or []))
    conf = None
    algo, env = args.algo, args.env
    conf_algo = conf_env = None
    if args.conf_file:
        keys, source = conf_layer(args.conf_file, env)
        conf_algo, conf_env = keys.get("algo"), keys.get("env")
        algo = algo or conf_algo
        env = env or conf_env
        conf = ({k: v for k, v in keys.items() if k not in ("algo", "env")}, source)
    algo, env = algo or "reinforce", env or RunConfig.env
    cli, params = cli_config_layer(args, params_apart=True)
    cli.pop("algo", None)
    cli.pop("env", None)
    if args.n_timesteps is not None and ("epochs" in cli or "epochs" in params):
        raise ValueError("give -n/--n-timesteps N (env steps) or --epochs N (updates), not both")
    config, sources, notes = resolve_with_sources(env, algo, conf, cli, params=params, n_timesteps=args.n_timesteps)
    sources["algo"] = "the command line" if args.algo else (conf[1] if conf_algo else "default")
    sources["env"] = "the command line" if args.env else (conf[1] if conf and env == conf_env else "default")
    return (config, sources, notes) if with_sources else config


def saved_config(run_dir: str | Path, epochs: int | None = None, no_progress: bool = False,
                 device: str | None = None) -> RunConfig:
    """The saved config of the run folder ``run_dir``; ``epochs`` may extend it, ``device`` move it."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.yml").is_file():
        raise ValueError(f"--resume {str(run_dir)!r}: not a run folder (no config.yml)")
    saved = load_yaml(run_dir / "config.yml")
    try:
        config = RunConfig(**saved)
    except TypeError as exc:
        raise ValueError(f"--resume {str(run_dir)!r}: config.yml is corrupt ({exc})") from None
    if epochs is not None:
        if config.sigma_schedule and config.schedule_epochs is None:
            config.schedule_epochs = config.epochs  # the schedule keeps its span; its END value holds after it
        config.epochs = epochs
    if no_progress:
        config.progress = False
    if device is not None:
        config.device = device
    return config.validate()


#: the flags ``--resume`` takes besides the run folder (everything else is the run's own config)
RESUME_FLAGS = ("--epochs", "--no-progress", "--device", "--traceback")


def refuse_config_flags(parser: ArgumentParser, args, argv: list[str] | None = None) -> None:
    """``--resume RUN`` uses the run's own config: any other flag given with it is refused, by the
    name typed in ``argv`` (``-params`` or ``--hyperparams``)."""
    allowed = {"resume", *(f.lstrip("-").replace("-", "_") for f in RESUME_FLAGS)}
    typed = {a.split("=", 1)[0] for a in (argv or []) if a.startswith("-")}

    def name(action) -> str:
        return next((o for o in action.option_strings if o in typed), "/".join(action.option_strings))

    given = [name(action) for action in parser._actions
             if action.dest not in allowed and action.option_strings and action.dest != "help"
             and getattr(args, action.dest, action.default) != action.default]
    if given:
        raise ValueError(f"--resume uses the run's own config; refused: {', '.join(given)} (with --resume only "
                         f"{', '.join(RESUME_FLAGS)} may be given: --epochs to extend the run)")


def check_resume_epochs(run_dir: str | Path, config: RunConfig, epochs: int | None) -> bool:
    """``--epochs`` below the epochs done is refused. Returns whether the run is finished (its
    ``model.zip`` holds the last of ``config.epochs``: nothing to continue)."""
    from mollirl.training.checkpoint import load_checkpoint_state, model_epoch
    from mollirl.training.history import RESUME_KEYS, check_config_unedited

    state = load_checkpoint_state(run_dir)
    check_config_unedited(run_dir, state, RESUME_KEYS)  # an edited config.yml is not the run's
    done = int(state["epoch"])
    if epochs is not None and epochs < done:
        planned = saved_config(run_dir).epochs
        rest = f"leave it out to finish the planned {planned}" if planned > done else "the run is finished"
        raise ValueError(f"--epochs {epochs}: run {str(run_dir)!r} has done {done} epochs already; "
                         f"give --epochs N >= {done} ({rest})")
    return done >= config.epochs and model_epoch(Path(run_dir) / "model.zip") == done


def resume_config(args) -> RunConfig:
    """The saved config of ``--resume RUN_DIR``; ``--epochs`` may extend it, ``--device`` move it."""
    config = saved_config(args.resume, args.epochs, args.no_progress, args.device)
    if check_resume_epochs(args.resume, config, args.epochs):
        raise ValueError(f"--resume {args.resume!r}: the run is finished ({config.epochs} of {config.epochs} "
                         f"epochs); give --epochs N > {config.epochs} to extend it")
    return config


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        from mollirl.common.locking import command_scope

        with command_scope():  # the folders locked for writing stay locked until the command ends
            return _body()

    def _body() -> int:
        from mollirl.common.locking import hold
        from mollirl.hyperparams import format_sources
        from mollirl.population.grid import is_population, parse_seeds, parse_sigmas

        parser = build_parser()
        args = parser.parse_args(argv)
        if args.list:
            print(list_registered(list(args.plugin or [])))
            return 0
        if args.resume:
            if not Path(args.resume).is_dir():
                raise ValueError(f"--resume {args.resume!r}: not a run folder (no such folder)")
            refuse_config_flags(parser, args, argv)
            hold(args.resume, "--resume")  # one writer: checked and continued under the lock
        else:
            check_output_dir(args.log_folder or RunConfig.log_folder, "-f/--log-folder")
        if args.resume and is_population(args.resume):
            return resume_population(args, argv)
        sigmas = parse_sigmas(args.sigma) if args.sigma is not None else None
        seeds = parse_seeds(args.seeds) if args.seeds is not None else None
        if seeds is not None and args.seed is not None:
            raise ValueError("give --seed S (one run) or --seeds N|S1,S2,... (a population), not both")
        if args.resume:
            config = resume_config(args)
        else:
            args.sigma = None if sigmas is None else sigmas[0]
            if seeds is not None:
                args.seed = seeds[0]
            config, sources, notes = config_from_args(args, with_sources=True)
            if args.show_hyperparams:
                print(format_sources(config, sources))
                for note in notes:
                    print(f"note: {note}")
                return 0
            from mollirl.common.env_check import check_env

            check_env(config.env, config.env_kwargs)  # a Box action space; a plugin env's shapes: before any note
            for note in notes:
                print(f"{PROG}: note: {note}", file=sys.stderr)
            if len(sigmas or [0]) > 1 or len(seeds or [0]) > 1:
                return train_population(config, sigmas or [config.sigma], seeds or [config.seed], argv)
        from mollirl.common.errors import NonFiniteError
        from mollirl.training import train

        from mollirl.training.eta import EtaCallback

        try:  # without a progress bar, long training says its ETA once
            result = train(config, argv=argv, resume_dir=args.resume,
                           extra_callbacks=None if config.progress else [EtaCallback(PROG, config.epochs)])
        except NonFiniteError as exc:
            print(f"{PROG}: training stopped: {exc}", file=sys.stderr)
            return 1
        print(summary(config, result))
        return 130 if result.interrupted else 0

    return run_main(PROG, body)


def train_population(base: RunConfig, sigmas: list[float], seeds: list[int], argv: list[str]) -> int:
    """``--sigma S1,S2,...`` and/or ``--seeds``: the product as one population in one folder."""
    from mollirl.common.locking import claim_new_run_dir, keep
    from mollirl.population import Member, Population
    from mollirl.population.grid import grid_configs, write_manifest
    from mollirl.training import next_run_dir

    members = grid_configs(base, sigmas, seeds)
    folder = next_run_dir(base.log_folder, base.algo, base.env)
    population = Population([Member(c, folder / name, argv=argv, label=name) for name, c in members])
    try:
        folder, _, lock, _ = claim_new_run_dir(folder, numbered=True)  # atomic: its own <env>_<n>, locked
        keep(lock)
        for member, (name, _) in zip(population.members, members):  # the members follow a moved folder
            member.run_dir = folder / name
        for session, (name, _) in zip(population.sessions, members):
            session.relocate(folder / name)
        write_manifest(folder, members, f"{PROG} {' '.join(argv)}")
        outcomes = population.train(progress=base.progress)
    except Exception as exc:  # a fault, or a plugin's error
        if folder.is_dir() and not any((folder / name).exists() for name, _ in members):  # nothing resumable: no folder that looks whole
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            exc.add_note(f"the population folder {folder} was removed")
        raise
    finally:
        population.close()
    return report_population(base, folder, outcomes)


def resume_population(args, argv: list[str]) -> int:
    """``--resume POPULATION_FOLDER``: every member from its checkpoint (finished and stopped ones stay)."""
    from mollirl.population import Member, MemberOutcome, Population
    from mollirl.population.grid import read_manifest

    folder = Path(args.resume)
    members, done = [], []
    for m in read_manifest(folder):
        run_dir = folder / m["dir"]
        config = saved_config(run_dir, args.epochs, args.no_progress, args.device)
        if (run_dir / "stopped.txt").is_file():
            done.append(MemberOutcome(Member(config, run_dir, label=m["dir"]), "stopped",
                                      reason=(run_dir / "stopped.txt").read_text().strip()))
        elif check_resume_epochs(run_dir, config, args.epochs):
            done.append(MemberOutcome(Member(config, run_dir, label=m["dir"]), "done"))
        else:
            members.append(Member(config, run_dir, resume=True, argv=argv, label=m["dir"]))
    outcomes = list(done)
    if members:
        population = Population(members)
        try:
            outcomes += population.train(progress=members[0].config.progress)
        finally:
            population.close()
    order = {m["dir"]: i for i, m in enumerate(read_manifest(folder))}
    outcomes.sort(key=lambda o: order[o.member.label])
    return report_population(outcomes[0].member.config, folder, outcomes)


def report_population(base: RunConfig, folder: Path, outcomes) -> int:
    """The summary table; exit code 130 if interrupted, 1 if a member stopped on a non-finite value."""
    from mollirl.training.metrics import read_metrics

    statuses = {o.status for o in outcomes}
    state = "interrupted (checkpoints saved; continue with --resume)" if "interrupted" in statuses else "finished"
    lines = [f"population of {len(outcomes)}: {base.algo} on {base.env}, {state}",
             f"  {'member':<24} {'sigma':>8} {'seed':>5}   {'J_det initial':>14} -> {'final':<12} status"]
    for o in outcomes:
        rows = read_metrics(o.member.run_dir / "metrics.csv") if (o.member.run_dir / "metrics.csv").is_file() else []
        j = [r["J_det"] for r in rows if r["J_det"] == r["J_det"]]
        first = f"{j[0]:.4g}" if j else "-"
        last = f"{o.result.final_J_det:.4g}" if o.result is not None and o.status == "finished" else (
            f"{j[-1]:.4g}" if o.status == "done" and j else "-")
        note = o.status if o.reason is None else f"{o.status}: {o.reason}"
        lines.append(f"  {o.member.label:<24} {o.member.config.sigma:>8.4g} {o.member.config.seed:>5}   "
                     f"{first:>14} -> {last:<12} {note}")
    lines += [f"  population folder  {folder}", f"  watch it    tensorboard --logdir {tensorboard_root(base)}"]
    print("\n".join(lines))
    if "interrupted" in statuses:
        return 130
    return 1 if "stopped" in statuses else 0


def tensorboard_root(config: RunConfig) -> Path:
    """The folder to give ``tensorboard --logdir``: ``--tensorboard-log DIR`` when given, else the log folder."""
    return Path(config.tensorboard_log) if config.tensorboard_log else Path(config.log_folder)


def summary(config: RunConfig, result) -> str:
    """The lines a finished or interrupted run ends with (an interrupted run's final policy was not evaluated:
    its last recorded J_det and no final state)."""

    import numpy as np

    if result.interrupted:
        status = "interrupted (checkpoint saved; continue with --resume)"
        rows = [r for r in result.history if r["J_det"] == r["J_det"]]
        if rows:
            j_line = (f"initial {result.initial_J_det:.4g}  ->  last recorded {rows[-1]['J_det']:.4g} (epoch "
                      f"{int(rows[-1]['epoch'])}); the final policy was not evaluated")
        else:
            j_line = "none recorded (no epoch finished)"
        lines = [f"{config.algo} on {config.env}: {status} after {result.epochs_done} epochs",
                 f"  J_det (deterministic return)  {j_line}",
                 f"  sigma {result.final_sigma:.4g}"]
    else:
        state = np.array2string(np.asarray(result.final_state), precision=4, suppress_small=True)
        lines = [f"{config.algo} on {config.env}: finished after {result.epochs_done} epochs",
                 f"  J_det (deterministic return)  initial {result.initial_J_det:.4g}  ->  final "
                 f"{result.final_J_det:.4g}",
                 f"  final sigma {result.final_sigma:.4g}; final state of the deterministic policy {state}"]
    lines += [f"  run folder  {result.run_dir}", f"  watch it    tensorboard --logdir {tensorboard_root(config)}"]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
