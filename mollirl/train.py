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
from mollirl.cli import ArgumentParser, run_main
from mollirl.config import RunConfig, load_yaml, parse_key_values, resolve_config

PROG = "python -m mollirl.train"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog=PROG, description="Train REINFORCE/PPO with a fixed, learnable or scheduled sigma.")
    p.add_argument("--algo", default=None, help="algorithm (reinforce, ppo, or a plugin's); default reinforce")
    p.add_argument("--env", default=None, help="env short name or Gymnasium id; default double-pendulum")
    p.add_argument("--policy", default=None, help="mean network: linear or mlp (default: the env preset's)")
    p.add_argument("--policy-init", default=None, choices=["reference", "random", "zero"],
                   help="initial mean parameters (reference: the env's reference controller)")
    p.add_argument("--sigma", type=float, default=None, help="initial or fixed exploration std (> 0)")
    p.add_argument("--learn-sigma", action="store_true", default=None, help="train log(sigma) too")
    p.add_argument("--sigma-schedule", default=None,
                   help="constant[:V] | linear:START:END | exp:START:END | cosine:START:END (per epoch)")
    p.add_argument("--epochs", type=int, default=None, help="number of updates")
    p.add_argument("--batch-episodes", type=int, default=None, help="episodes per update (= parallel envs)")
    p.add_argument("--horizon", type=int, default=None, help="steps per episode")
    p.add_argument("--gamma", type=float, default=None, help="discount factor in (0, 1]")
    p.add_argument("--step-size", type=float, default=None,
                   help="REINFORCE: normalized step delta (or optimizer lr); PPO: Adam lr")
    p.add_argument("--baseline", default=None, choices=["none", "mean"], help="REINFORCE baseline")
    p.add_argument("--update", default=None, help="REINFORCE update: normalized | adam | sgd | rmsprop | adamw")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("-f", "--log-folder", default=None, help="root of run folders (default runs)")
    p.add_argument("-conf", "--conf-file", default=None, help="YAML file of config keys (overrides the env preset)")
    p.add_argument("-params", "--hyperparams", nargs="+", default=None, metavar="KEY:VALUE",
                   help="config keys or algorithm kwargs, e.g. -params n_epochs:5 baseline:none")
    p.add_argument("--env-kwargs", nargs="+", default=None, metavar="KEY:VALUE", help="env keyword arguments")
    p.add_argument("--callback", action="append", default=None, metavar="NAME[:k=v,...]",
                   help="add a registered callback (repeatable)")
    p.add_argument("--plugin", action="append", default=None, metavar="MODULE_OR_FILE",
                   help="import a plugin module or .py file first (repeatable)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="epochs between checkpoints (0: end only)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue a run from its latest checkpoint")
    p.add_argument("--device", default=None, help="torch device (default cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list", action="store_true", help="list everything registered and exit")
    return p


def cli_layer(args) -> dict:
    """Config keys given explicitly on the command line."""
    layer = {}
    for key in ("policy", "policy_init", "sigma", "learn_sigma", "sigma_schedule", "epochs", "batch_episodes",
                "horizon", "gamma", "step_size", "baseline", "update", "seed", "log_folder", "checkpoint_every",
                "device"):
        value = getattr(args, key)
        if value is not None:
            layer[key] = value
    if args.no_progress:
        layer["progress"] = False
    if args.env_kwargs:
        layer["env_kwargs"] = parse_key_values(args.env_kwargs, "--env-kwargs")
    if args.callback:
        layer["callbacks"] = list(args.callback)
    if args.plugin:
        layer["plugins"] = list(args.plugin)
    from mollirl.config import FIELDS

    for key, value in parse_key_values(args.hyperparams, "-params").items():
        if key.replace("-", "_") in FIELDS:
            layer[key.replace("-", "_")] = value
        else:
            layer.setdefault("algo_kwargs", {})[key] = value
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


def config_from_args(args) -> RunConfig:
    """Resolve preset < YAML < CLI into one validated config."""
    from mollirl.common.env_util import get_env_plugin

    plugins = list(args.plugin or [])
    registry.load_all_plugins(plugins)
    yaml_layer = load_yaml(args.conf_file) if args.conf_file else {}
    algo = args.algo or yaml_layer.pop("algo", None) or "reinforce"
    yaml_layer.pop("algo", None)
    env = args.env or yaml_layer.get("env") or RunConfig.env
    plugin = get_env_plugin(env)
    algo_plugin = registry.get("algos", algo)
    preset = {**plugin.preset, **algo_plugin.defaults}
    return resolve_config(env, algo, yaml_layer, cli_layer(args), preset)


def resume_config(args) -> RunConfig:
    """The saved config of ``--resume RUN_DIR``; ``--epochs`` may extend it."""
    run_dir = Path(args.resume)
    if not (run_dir / "config.yml").is_file():
        raise ValueError(f"--resume {args.resume!r}: not a run folder (no config.yml)")
    saved = load_yaml(run_dir / "config.yml")
    try:
        config = RunConfig(**saved)
    except TypeError as exc:
        raise ValueError(f"--resume {args.resume!r}: config.yml is corrupt ({exc})") from None
    if args.epochs is not None:
        if config.sigma_schedule and config.schedule_epochs is None:
            config.schedule_epochs = config.epochs  # the schedule keeps its span; its END value holds after it
        config.epochs = args.epochs
    if args.no_progress:
        config.progress = False
    return config.validate()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)

    def body() -> int:
        args = build_parser().parse_args(argv)
        if args.list:
            print(list_registered(list(args.plugin or [])))
            return 0
        config = resume_config(args) if args.resume else config_from_args(args)
        from mollirl.common.errors import NonFiniteError
        from mollirl.training import train

        try:
            result = train(config, argv=argv, resume_dir=args.resume)
        except NonFiniteError as exc:
            print(f"{PROG}: training stopped: {exc}", file=sys.stderr)
            return 1
        print(summary(config, result))
        return 130 if result.interrupted else 0

    return run_main(PROG, body)


def summary(config: RunConfig, result) -> str:
    import numpy as np

    state = np.array2string(np.asarray(result.final_state), precision=4, suppress_small=True)
    status = "interrupted (checkpoint saved; continue with --resume)" if result.interrupted else "finished"
    lines = [
        f"{config.algo} on {config.env}: {status} after {result.epochs_done} epochs",
        f"  J_det (deterministic return)  initial {result.initial_J_det:.4g}  ->  final {result.final_J_det:.4g}",
        f"  final sigma {result.final_sigma:.4g}; final state of the deterministic policy {state}",
        f"  run folder  {result.run_dir}",
        f"  watch it    tensorboard --logdir {Path(config.log_folder)}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
