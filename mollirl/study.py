"""``python -m mollirl.study``: search the optimal exploration sigma* with Optuna.

Examples::

    python -m mollirl.study --env double-pendulum --n-trials 20 --sigma-range 0.01 5 --seeds 3
    python -m mollirl.study --preset figure6                      # the paper's Fig. 6 grid on hopper-stand
    python -m mollirl.study --env quadrotor --objective both --pruner none --n-jobs 2
    python -m mollirl.study --env double-pendulum --search step_size:0.01:1:log --sampler tpe
    python -m mollirl.study --storage postgresql://user:pass@db-host/mollirl --study-name big ...  # any machine
    python -m mollirl.study --env double-pendulum --report        # sigma*, table, trials.csv, sigma_curve.png

Each trial trains ``--seeds`` ordinary mollirl runs under
``<log-folder>/studies/<study>/trial_<n>/seed_<s>/``. Without ``--storage`` the
study lives in ``<log-folder>/studies/studies.db``; the same command again
resumes it.
"""

from __future__ import annotations

import argparse
import sys

from mollirl import registry
from mollirl.cli import ArgumentParser, check_output_dir, run_main
from mollirl.config import add_config_arguments, cli_config_layer

PROG = "python -m mollirl.study"

#: config keys the study takes as plain flags
CONFIG_FLAGS = ("epochs", "horizon", "batch_episodes", "step_size", "gamma", "policy", "policy_init", "baseline",
                "update", "seed", "env_kwargs", "plugins")


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Search the optimal exploration sigma* with Optuna "
                       "(an embedded store by default; many machines over --storage postgresql://...).")
    g = p.add_argument_group("what to search")
    g.add_argument("--preset", default=None, help="start from a registered study (figure6, sigma-<env>; --list)")
    g.add_argument("--env", default=None, help="env short name or Gymnasium id (default double-pendulum)")
    g.add_argument("--algo", default=None, help="reinforce (default), ppo, trpo, ars, or a plugin's")
    g.add_argument("--n-trials", type=int, default=None,
                   help="total trial budget of the study (default 20; grid: its size)")
    g.add_argument("--sigma-range", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="sigma search range, log scale, 0 < LOW < HIGH (default 0.001 10)")
    g.add_argument("--sigma-values", type=float, nargs="+", default=None, metavar="SIGMA",
                   help="explicit sigma grid points (with --sampler grid)")
    g.add_argument("--search", action="append", default=None, metavar="NAME:LOW:HIGH[:log]",
                   help="another searched dimension: step_size, gamma, batch_episodes, sigma_end (repeatable)")
    g.add_argument("--grid-points", type=int, default=None, help="grid sampler points per dimension without values (5)")
    g.add_argument("--learn-sigma", action="store_true", default=None,
                   help="train log(sigma); the searched sigma is its initial value")
    g.add_argument("--sigma-schedule", default=None, metavar="KIND[:END]",
                   help="linear|exp|cosine schedule from the trial's sigma to END (or --search sigma_end:...)")
    g.add_argument("--objective", default=None, choices=["return", "stability", "both"],
                   help="return: max mean final J_det; stability: min spread of J(theta_k) over epochs; "
                        "both: a Pareto front (default return)")
    g.add_argument("--seeds", type=int, default=None, help="training seeds per trial; the objective averages them (1)")
    g.add_argument("--sampler", default=None, choices=["tpe", "random", "grid", "gp"], help="default tpe")
    g.add_argument("--sampler-seed", type=int, default=None, help="seed of the sampler (worker i uses SEED + i)")
    g.add_argument("--pruner", default=None, metavar="KIND[:k=v,...]",
                   help="median (default: below the median of the batch and the earlier trials at a rung, on "
                        "the mean of J_det over seeds and the last epochs of the final epoch's phase; "
                        "median:warmup=10,window=2,stride=2,interval=20 for 50 epochs), halving (successive "
                        "halving over the batch; halving:warmup=12,window=6,eta=4), hyperband or wilcoxon "
                        "(Optuna's, --batch-trials 1 only), none (default for grid and --objective both)")
    t = p.add_argument_group("training of each seed (as python -m mollirl.train)")
    add_config_arguments(t, CONFIG_FLAGS, help={
        "epochs": "updates per run", "step_size": "REINFORCE delta / PPO lr (unless searched)",
        "seed": "first training seed (seeds SEED .. SEED+S-1; default 0)"})
    t.add_argument("-params", "--hyperparams", nargs="+", default=None, metavar="KEY:VALUE",
                   help="config keys or algorithm kwargs, e.g. -params baseline:none")
    r = p.add_argument_group("where and how it runs")
    r.add_argument("--n-jobs", type=int, default=None, help="worker processes on this machine (default 1)")
    r.add_argument("--batch-trials", default=None, type=_batch_trials, metavar="B|auto",
                   help="trials a worker trains at once as one population, at most --n-trials (default auto: "
                        "TPE/GP get their 10 startup trials, then the rest in >= 4 rounds; random and grid "
                        "the whole budget; at most 1024 rows on an analytic env, 256 on MuJoCo)")
    r.add_argument("--storage", default=None, metavar="URL",
                   help="SQLAlchemy URL, e.g. postgresql://USER:PASS@HOST:PORT/DB (default: the embedded "
                        "SQLite store <log-folder>/studies/studies.db)")
    r.add_argument("--study-name", default=None, help="default: the preset's name, else sigma-<env>-<algo>-<objective>")
    r.add_argument("-f", "--log-folder", default="runs", help="root of run folders and the embedded store (runs)")
    r.add_argument("--heartbeat", type=int, default=None,
                   help="seconds between a running trial's heartbeats; silent for 2x that = failed and retried (60)")
    r.add_argument("--report", action="store_true", help="only report the study (no new trials)")
    r.add_argument("--no-progress", action="store_true",
                   help="no bar while a batch of trials trains, and trial lines without the trials done of the "
                        "budget and the ETAs (per worker, overall)")
    r.add_argument("--list", action="store_true", help="list the registered studies and exit")
    return p


def _batch_trials(text: str):
    """``--batch-trials``: ``auto`` or an integer (checked >= 1 with the other options)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or auto, got {text!r}") from None


def config_layer(args) -> dict:
    """Training config keys given explicitly on the command line."""
    return cli_config_layer(args, CONFIG_FLAGS)


def spec_from_args(args):
    """Preset < command line -> one validated :class:`~mollirl.studies.spec.StudySpec` (nothing written)."""
    from mollirl.hyperparams import resolve_with_sources
    from mollirl.studies.spec import build_spec, merge_options, searched_config_conflicts

    registry.load_all_plugins(list(args.plugin or []))
    preset = registry.get("studies", args.preset) if args.preset else None
    cli_options = {k: getattr(args, k) for k in ("n_trials", "sigma_range", "sigma_values", "search", "seeds",
                                                  "objective", "sampler", "sampler_seed", "pruner", "grid_points",
                                                  "sigma_schedule", "learn_sigma", "heartbeat", "n_jobs",
                                                  "batch_trials")}
    options = merge_options(dict(preset.options) if preset else {}, cli_options)
    env = args.env or (preset.env if preset else "double-pendulum")
    algo = args.algo or (preset.algo if preset else "reinforce")
    layer = config_layer(args)
    study_layer = dict(preset.config) if preset and env == preset.env else {}
    # as python -m mollirl.train resolves it (hyperparameter file < study preset < flags), with its
    # fallbacks: a Gymnasium id's own horizon, a random initial mean without a reference policy
    config, _, notes = resolve_with_sources(env, algo, (study_layer, f"the study preset {args.preset!r}")
                                            if study_layer else None, layer)
    study_name = args.study_name
    if study_name is None and preset is not None and env != preset.env:
        study_name = f"{args.preset}-{env}"  # the preset's search on another env: not the preset's study
    spec = build_spec(options, config, study_name=study_name, storage=args.storage,
                      log_folder=args.log_folder, preset=args.preset)
    searched_config_conflicts(spec.dims, set(layer))
    spec.progress = not args.no_progress
    spec.notes = list(notes)
    return spec


def header(spec) -> str:
    """The lines printed before a study runs: budget, objective, what the batches do to the sampler, what
    the pruner does, and the notes of the config's fallbacks."""
    from mollirl.studies.objective import describe_batches
    from mollirl.studies.runner import started_trials
    from mollirl.studies.storage import mask

    rule = spec.pruning.rule(spec.epochs) if spec.objective != "both" else None
    if rule is not None:
        pruner = rule.describe(spec.objective)
    elif spec.pruning.kind in ("hyperband", "wilcoxon"):
        pruner = f"{spec.pruning.kind}: Optuna's, deciding each trial against those finished before it"
    else:
        pruner = "none"
    lines = [f"study {spec.study_name!r} in {mask(spec.storage_url)}: budget {spec.n_trials} trials x {spec.seeds} "
             f"seeds (the same seeds for every trial), objective {spec.objective}, {spec.n_jobs} worker(s) here; "
             f"runs under {spec.study_dir}",
             f"  sampler {spec.sampler}: {describe_batches(spec, started_trials(spec))}",
             f"  pruner {pruner}"]
    lines += [f"  note: {note}" for note in getattr(spec, "notes", [])]
    return "\n".join(lines)


def list_studies(plugins: list[str]) -> str:
    registry.load_all_plugins(plugins)
    return "\n".join(f"  {e.name:<24} {e.obj.env:<16} {e.help}" for e in registry.entries("studies"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.list:
            print(list_studies(list(args.plugin or [])))
            return 0
        from mollirl.studies.runner import setup_output

        setup_output()
        spec = spec_from_args(args)
        if not args.report:
            check_output_dir(spec.log_folder, "-f/--log-folder")  # a file in the way (exit 2), read-only (exit 1)
            from mollirl.studies.safety import check_study_cost

            check_study_cost(spec)  # counts, worker processes, one batch's memory: before any worker or file
        from mollirl.studies.report import report_spec

        if args.report:
            print(report_spec(spec))
            return 0
        from contextlib import nullcontext

        from mollirl.studies.runner import WorkerPool, check_training, run_study, validate_storage
        from mollirl.studies.safety import forget_half_made_study, study_leftovers
        from mollirl.studies.storage import mask

        leftovers = study_leftovers(spec)
        try:
            # the other workers start importing now; they wait until the study exists
            with WorkerPool(spec) if spec.n_jobs > 1 else nullcontext() as pool:
                check_training(spec)
                validate_storage(spec)
                print(header(spec), flush=True)
                outcome = run_study(spec, pool)
                report = report_spec(spec, outcome.study)  # while the other workers exit
        except KeyboardInterrupt:
            forget_half_made_study(spec, leftovers)
            print(f"{PROG}: interrupted; the same command resumes the study", file=sys.stderr)
            return 130
        except Exception as exc:  # a fault is a fault (exit 1), and nothing half-made stays
            raise forget_half_made_study(spec, leftovers, exc) from None
        print(report)
        failed = pool.failed if pool is not None else 0
        if failed:
            print(f"{PROG}: {failed} worker process(es) exited with an error", file=sys.stderr)
            return 1
        return 0

    return run_main(PROG, body)


if __name__ == "__main__":
    raise SystemExit(main())
