"""One validated run configuration: env preset < YAML file < command-line flags.

:class:`RunConfig` holds every choice of a training run; its fields are the single
source of the command-line flags (:func:`option`, :func:`add_config_arguments`,
:func:`cli_config_layer`), their names in errors (:func:`flag_name`), the ``-conf`` and
``-params`` keys and ``--show-hyperparams``. The one resolver of the layers (env
preset < hyperparameter file < ``-conf`` < flags) is
:func:`mollirl.hyperparams.resolve_with_sources`, used by train, study, landscape
and reproduce; it validates once, raising ``ValueError`` with a message that names
the bad key and value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mollirl.common.returns import BASELINES
from mollirl.sigma import check_sigma, parse_sigma_schedule

POLICY_INITS = ("reference", "random", "zero")


def option(default: Any = dataclasses.MISSING, *flags: str, help: str = "", dest: str | None = None,
           to_config: Callable[[Any], Any] | None = None, hparam: bool = False, **argparse_kwargs: Any):
    """A :class:`RunConfig` field and, with ``flags``, its command-line flag: the single source of the flag's
    spelling, help text and argparse options (:func:`add_config_arguments`), of its name in errors
    (:func:`flag_name`), of the ``-conf`` / ``-params`` key (the field's name) and of ``--show-hyperparams``.

    :param default: the default value, or a factory (``dict``, ``list``) for a mutable one.
    :param flags: the option strings (``"-f", "--log-folder"``); none: set with ``-params KEY:VALUE`` or ``-conf``.
    :param dest: the argparse destination when it is not the field's name (``--no-progress``: ``no_progress``).
    :param to_config: the config value of a given flag's parsed value (default: the value itself).
    :param hparam: one of the run's TensorBoard HParams (what the HParams tab compares runs by).
    :param argparse_kwargs: ``type``, ``choices``, ``action``, ``nargs``, ``metavar`` of ``add_argument``.
    """
    meta = {"flags": tuple(flags), "help": help, "dest": dest, "to_config": to_config, "hparam": hparam,
            "argparse": argparse_kwargs}
    if default in (dict, list):
        return field(default_factory=default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class RunConfig:
    """Everything a training run needs. Field names follow SB3 / rl-zoo3 where they exist.

    :param algo: registered algorithm name (``reinforce``, ``ppo``, ...).
    :param env: registered env short name or Gymnasium id.
    :param policy: ``linear`` or ``mlp`` (mean network).
    :param policy_init: ``reference`` (the env's reference controller, e.g. LQR
        theta* or the paper's K0), ``random`` or ``zero``.
    :param policy_kwargs: extra policy options (``hidden``, ``bias``, ``sigma_per_dim``, ``critic_arch``).
    :param sigma: initial (or fixed) exploration standard deviation, > 0.
    :param learn_sigma: make log(sigma) a trained parameter.
    :param sigma_schedule: ``constant[:V]``, ``linear:A:B``, ``exp:A:B`` or ``cosine:A:B``.
    :param epochs: number of updates; each collects ``batch_episodes`` episodes of ``horizon`` steps.
    :param schedule_epochs: epochs a ``sigma_schedule`` spans (None: ``epochs``). A run extended with
        ``--resume --epochs`` keeps its span, so the schedule's END value holds for the extra epochs.
    :param step_size: REINFORCE's normalized step delta (or optimizer lr); PPO's Adam lr.
    :param baseline: REINFORCE baseline, ``none`` or ``mean``.
    :param update: REINFORCE update rule: ``normalized`` or an optimizer name.
    :param algo_kwargs: extra keyword arguments of the algorithm class (``-params``).
    :param callbacks: ``NAME[:key=value,...]`` specs of registered callbacks.
    :param plugins: modules or files to import before lookup (``--plugin``).
    :param checkpoint_every: checkpoint every N epochs (0: only at the end and on a signal).
    :param n_threads: threads for batched MuJoCo stepping (None: all cores); set 1 when
        several runs share the machine.
    :param save_freq: also keep the checkpoint of every epoch that is a multiple of this
        (``checkpoints/epoch_NNNNNN.zip``, for ``--at epoch:N``); 0: only the latest is kept.
    :param eval_freq: evaluate every N epochs (0: never): ``eval_episodes`` deterministic episodes
        from the evaluation start, into ``evaluations.npz`` (SB3 ``EvalCallback``'s format) and
        ``best_model.zip`` (the policy of the best mean evaluation return).
    :param eval_episodes: episodes per evaluation, >= 1.
    :param tensorboard_log: write the TensorBoard events to ``<tensorboard_log>/<env>/<algo>_<n>``
        (rl-zoo3's layout) instead of the run folder; None: the run folder.
    :param log_interval: print one line per N epochs to stdout (epoch, steps, J_det, J_sigma, sigma);
        0: none. ``metrics.csv`` and TensorBoard get every epoch either way.
    :param trained_agent: a ``model.zip`` of the same algorithm, env and policy: the new run starts
        from its parameters (mean network, critic); sigma is the config's.
    :param use_sde: gSDE (SB3's ``StateDependentNoiseDistribution``) instead of Gaussian action noise:
        the action is ``mu(s) + theta_eps^T features(s)`` with ``theta_eps ~ N(0, sigma^2)`` entrywise
        (``policy_kwargs`` ``full_std``: one sigma per entry or per feature); PPO and TRPO.
    :param sde_sample_freq: with ``use_sde``, a new noise matrix every N steps of an episode (-1: one per episode).
    """

    algo: str = option("reinforce", "--algo", hparam=True,
                       help="algorithm: reinforce, ppo, trpo, ars, or a plugin's (--list); default reinforce")
    env: str = option("double-pendulum", "--env", hparam=True,
                      help="env short name or Gymnasium id; default double-pendulum")
    policy: str = option("linear", "--policy", hparam=True,
                         help="mean network: linear or mlp (default: the env preset's)")
    policy_init: str = option("reference", "--policy-init", choices=list(POLICY_INITS),
                              help="initial mean parameters (reference: the env's reference controller)")
    policy_kwargs: dict[str, Any] = option(dict)
    sigma: float = option(0.1, "--sigma", hparam=True, metavar="S[,S2,...]",
                          help="initial or fixed exploration std (> 0); several values train a population, "
                               "one member each")
    learn_sigma: bool = option(False, "--learn-sigma", hparam=True, action="store_true", help="train log(sigma) too")
    sigma_schedule: str | None = option(None, "--sigma-schedule", hparam=True,
                                        help="constant[:V] | linear:START:END | exp:START:END | cosine:START:END "
                                             "(per epoch)")
    epochs: int = option(50, "--epochs", hparam=True, type=int, help="number of updates")
    schedule_epochs: int | None = option(None)
    batch_episodes: int = option(16, "--batch-episodes", hparam=True, type=int,
                                 help="episodes per update (= parallel envs)")
    horizon: int = option(1000, "--horizon", hparam=True, type=int, help="steps per episode")
    gamma: float = option(0.99, "--gamma", hparam=True, type=float, help="discount factor in (0, 1]")
    step_size: float = option(1.0, "--step-size", hparam=True, type=float,
                              help="REINFORCE: normalized step delta (or optimizer lr); PPO: Adam lr")
    baseline: str = option("mean", "--baseline", hparam=True, choices=list(BASELINES), help="REINFORCE baseline")
    update: str = option("normalized", "--update", hparam=True,
                         help="REINFORCE update: normalized | adam | sgd | rmsprop | adamw")
    seed: int = option(0, "--seed", hparam=True, type=int, help="random seed (default 0)")
    log_folder: str = option("runs", "-f", "--log-folder", help="root of run folders (default runs)")
    env_kwargs: dict[str, Any] = option(dict, "--env-kwargs", nargs="+", metavar="KEY:VALUE",
                                        help="env keyword arguments",
                                        to_config=lambda v: parse_key_values(v, "--env-kwargs"))
    algo_kwargs: dict[str, Any] = option(dict)
    callbacks: list[str] = option(list, "--callback", dest="callback", action="append", metavar="NAME[:k=v,...]",
                                  help="add a registered callback (repeatable)", to_config=list)
    plugins: list[str] = option(list, "--plugin", dest="plugin", action="append", metavar="MODULE_OR_FILE",
                                help="import a plugin module or .py file first (repeatable)", to_config=list)
    checkpoint_every: int = option(10, "--checkpoint-every", type=int,
                                   help="epochs between checkpoints (0: end only)")
    n_threads: int | None = option(None)
    device: str = option("cpu", "--device", help="torch device (default cpu)")
    progress: bool = option(True, "--no-progress", dest="no_progress", action="store_true", help="no progress bar",
                            to_config=lambda v: False)
    save_freq: int = option(0, "--save-freq", type=int, metavar="N",
                            help="also keep the checkpoint of every N-th epoch in checkpoints/ (for --at epoch:N); "
                                 "default 0: only the latest")
    eval_freq: int = option(0, "--eval-freq", type=int, metavar="N",
                            help="evaluate every N epochs: evaluations.npz (SB3 EvalCallback's format) and "
                                 "best_model.zip (--at best); default 0: never")
    eval_episodes: int = option(5, "--eval-episodes", type=int, metavar="N",
                                help="deterministic episodes per evaluation (default 5)")
    tensorboard_log: str | None = option(None, "--tensorboard-log", metavar="DIR",
                                         help="TensorBoard events in DIR/<env>/<algo>_<n> (rl-zoo3's layout) instead "
                                              "of the run folder")
    log_interval: int = option(0, "--log-interval", type=int, metavar="N",
                               help="print a line (epoch, steps, J_det, J_sigma, sigma) every N epochs; default 0: "
                                    "none")
    trained_agent: str | None = option(None, "-i", "--trained-agent", metavar="MODEL.zip",
                                       help="start a new run from this model's parameters (same algo, env and "
                                            "policy; sigma from --sigma)")
    use_sde: bool = option(False, "--use-sde", hparam=True, action="store_true",
                           help="PPO, TRPO: gSDE, SB3's state-dependent exploration: the noise is theta_eps "
                                "features(s), theta_eps ~ N(0, sigma^2) per entry, resampled every --sde-sample-freq steps "
                                "(policy_kwargs full_std, log_std_init as SB3's)")
    sde_sample_freq: int = option(-1, "--sde-sample-freq", type=int, metavar="N",
                                  help="with --use-sde: draw a new noise matrix every N steps of an episode; default "
                                       "-1: one per episode (SB3's: once per rollout)")

    @property
    def steps_per_epoch(self) -> int:
        return self.batch_episodes * self.horizon

    @property
    def schedule_span(self) -> int:
        """Epochs a sigma schedule spans."""
        return self.epochs if self.schedule_epochs is None else self.schedule_epochs

    @property
    def total_timesteps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, namer: Callable[[str], str] | None = None) -> RunConfig:
        """Check every field; return self. Raises ``ValueError`` naming the flag (and the config key), or what
        ``namer(key)`` says (the resolver: the ``-conf`` key or ``-params`` the user typed)."""
        from mollirl.common.budget import check_count, check_product, check_seed

        flag_name = namer or globals()["flag_name"]
        self.sigma = check_sigma(self.sigma, flag_name("sigma"))
        for name in ("epochs", "batch_episodes", "horizon", "eval_episodes"):
            check_count(getattr(self, name), flag_name(name))  # one rule for every command: 1 .. 2^63 - 1
        check_product([(flag_name("epochs"), self.epochs), (flag_name("batch_episodes"), self.batch_episodes),
                       (flag_name("horizon"), self.horizon)], "env steps")
        if self.schedule_epochs is not None and (isinstance(self.schedule_epochs, bool)
                                                 or not isinstance(self.schedule_epochs, int)
                                                 or self.schedule_epochs < 1):
            raise ValueError(f"schedule_epochs must be an integer >= 1 or null, got {self.schedule_epochs!r}")
        if isinstance(self.sde_sample_freq, bool) or not isinstance(self.sde_sample_freq, int) \
                or (self.sde_sample_freq < 1 and self.sde_sample_freq != -1):
            raise ValueError(f"{flag_name('sde_sample_freq')} must be -1 (one noise matrix per episode) or an "
                             f"integer >= 1, got {self.sde_sample_freq!r}")
        if not isinstance(self.use_sde, bool):
            raise ValueError(f"{flag_name('use_sde')} must be true or false, got {self.use_sde!r}")
        for name in ("checkpoint_every", "save_freq", "eval_freq", "log_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{flag_name(name)} must be an integer >= 0, got {value!r}")
        if not (isinstance(self.gamma, (int, float)) and 0.0 < self.gamma <= 1.0):
            raise ValueError(f"{flag_name('gamma')} must be in (0, 1], got {self.gamma!r}")
        if not (isinstance(self.step_size, (int, float)) and math.isfinite(self.step_size) and self.step_size > 0):
            raise ValueError(f"{flag_name('step_size')} must be a finite number > 0, got {self.step_size!r}")
        if self.baseline not in BASELINES:
            raise ValueError(f"{flag_name('baseline')} must be one of {list(BASELINES)}, got {self.baseline!r}")
        if self.policy_init not in POLICY_INITS:
            raise ValueError(f"{flag_name('policy_init')} must be one of {list(POLICY_INITS)}, "
                             f"got {self.policy_init!r}")
        if self.learn_sigma and self.sigma_schedule:
            raise ValueError("--learn-sigma and --sigma-schedule exclude each other: sigma is either trained or scheduled")
        if self.sigma_schedule:
            try:
                parse_sigma_schedule(self.sigma_schedule, self.sigma)
            except ValueError as exc:
                raise ValueError(f"{flag_name('sigma_schedule')} {self.sigma_schedule!r}: {exc}") from None
        if self.n_threads is not None and (isinstance(self.n_threads, bool) or not isinstance(self.n_threads, int)
                                           or self.n_threads < 1):
            raise ValueError(f"n_threads must be an integer >= 1 or null, got {self.n_threads!r}")
        check_seed(self.seed, flag_name("seed"))
        for name in ("env_kwargs", "algo_kwargs", "policy_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{flag_name(name)} must be a mapping, got {getattr(self, name)!r}")
        if self.tensorboard_log is not None and not (isinstance(self.tensorboard_log, str) and self.tensorboard_log):
            raise ValueError(f"{flag_name('tensorboard_log')} must be a folder, got {self.tensorboard_log!r}")
        if self.trained_agent is not None:
            path = Path(str(self.trained_agent))
            if path.suffix != ".zip" or not path.is_file():
                what = "is not a .zip file" if path.exists() else "does not exist"
                raise ValueError(f"{flag_name('trained_agent')} {str(self.trained_agent)!r} {what} "
                                 "(give a model.zip of python -m mollirl.train)")
        self.device = check_device(self.device)
        return self


def check_device(device: Any) -> str:
    """``device`` if torch can use it on this machine, else ``ValueError`` naming ``--device``.

    ``cpu`` always; ``cuda`` / ``cuda:N`` when this torch build sees that GPU; ``mps`` when
    available. A name torch does not know, or a device this machine lacks, is refused (rather
    than training on the CPU while ``config.yml`` says otherwise).
    """
    if not isinstance(device, str) or not device:
        raise ValueError(f"--device must be a torch device name such as cpu or cuda, got {device!r}")
    if device == "cpu":
        return device  # the default: no torch import needed to accept it
    import torch as th

    try:
        parsed = th.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {device!r}: not a torch device (cpu, cuda, cuda:N, mps)") from None
    if parsed.type == "cpu":
        return device
    if parsed.type == "cuda":
        count = th.cuda.device_count() if th.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"--device {device!r}: this machine's torch {th.__version__} sees no CUDA device; "
                             f"use --device cpu")
        if parsed.index is not None and parsed.index >= count:
            raise ValueError(f"--device {device!r}: there are {count} CUDA devices (cuda:0 .. cuda:{count - 1})")
        return device
    if parsed.type == "mps":
        if not (getattr(th.backends, "mps", None) and th.backends.mps.is_available()):
            raise ValueError(f"--device {device!r}: MPS is not available on this machine; use --device cpu")
        return device
    raise ValueError(f"--device {device!r}: mollirl trains on cpu, cuda or mps, not {parsed.type}")


DICT_FIELDS = ("env_kwargs", "algo_kwargs", "policy_kwargs")


def config_fields() -> list[dataclasses.Field]:
    """RunConfig's fields (read at call time: a field added to RunConfig is everywhere at once)."""
    return list(dataclasses.fields(RunConfig))


def field_names() -> set[str]:
    """The config keys (``-conf``, ``-params``, ``config.yml``)."""
    return {f.name for f in config_fields()}


def flags() -> dict[str, str]:
    """The command-line flag of each config key that has one (``python -m mollirl.train``), e.g.
    ``{"log_folder": "-f/--log-folder"}``; keys without one are set with ``-params KEY:VALUE`` or ``-conf``."""
    return {f.name: "/".join(f.metadata["flags"]) for f in config_fields() if f.metadata.get("flags")}


def __getattr__(name: str) -> Any:  # FIELDS and FLAGS as module attributes, computed when read
    if name == "FIELDS":
        return field_names()
    if name == "FLAGS":
        return flags()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def hparam_keys() -> list[str]:
    """The config keys a run records as TensorBoard HParams (fields declared with ``hparam=True``)."""
    return [f.name for f in config_fields() if f.metadata.get("hparam")]


def flag_name(key: str) -> str:
    """How an error names config key ``key``: its flag and the key (``--batch-episodes (batch_episodes)``),
    or ``key (-params key:VALUE)`` for a key without a flag."""
    flag = flags().get(key)
    if flag and flag.lstrip("-").replace("-", "_") == key:
        return flag  # the key is the flag's own name
    return f"{flag} ({key})" if flag else f"{key} (-params {key}:VALUE)"


def add_config_arguments(parser, names: Sequence[str] | None = None, *, help: dict[str, str] | None = None) -> None:
    """Add the flags of config keys ``names`` (default: every key with a flag, in field order) to ``parser``
    (an ``ArgumentParser`` or an argument group), each with default None (given or not: :func:`cli_config_layer`).

    :param help: help texts that differ in this command (``--seed`` of a study: its first seed).
    """
    chosen = None if names is None else set(names)
    for f in config_fields():
        flag_strings = f.metadata.get("flags")
        if not flag_strings or (chosen is not None and f.name not in chosen):
            continue
        kwargs = dict(f.metadata["argparse"])
        kwargs.setdefault("default", None)
        parser.add_argument(*flag_strings, dest=f.metadata["dest"] or f.name,
                            help=(help or {}).get(f.name, f.metadata["help"]), **kwargs)


def cli_config_layer(args, names: Sequence[str] | None = None, *, params_apart: bool = False):
    """The config keys given on the command line (their flags' values, converted), then ``-params
    KEY:VALUE`` (``args.hyperparams``): config keys, the others algorithm keyword arguments.

    :param params_apart: return ``(flags, params)``, the ``-params`` keys as a layer of their own (so that an
        error names ``-params KEY`` when that is what was typed).
    """
    if params_apart:
        flags_layer = cli_config_layer(argparse_without_params(args), names)
        params = {}
        for key, value in parse_key_values(getattr(args, "hyperparams", None), "-params").items():
            if key.replace("-", "_") in field_names():
                params[key.replace("-", "_")] = value
            else:
                params.setdefault("algo_kwargs", {})[key] = value
        return flags_layer, params
    chosen = None if names is None else set(names)
    layer: dict[str, Any] = {}
    for f in config_fields():
        if not f.metadata.get("flags") or (chosen is not None and f.name not in chosen):
            continue
        value = getattr(args, f.metadata["dest"] or f.name, None)
        if value is None or value is False:
            continue
        convert = f.metadata["to_config"]
        layer[f.name] = value if convert is None else convert(value)
    names_ = field_names()
    for key, value in parse_key_values(getattr(args, "hyperparams", None), "-params").items():
        if key.replace("-", "_") in names_:
            layer[key.replace("-", "_")] = value
        else:
            layer.setdefault("algo_kwargs", {})[key] = value
    return layer


def argparse_without_params(args):
    """A copy of parsed ``args`` without ``-params`` (``hyperparams``)."""
    import copy

    out = copy.copy(args)
    out.hyperparams = None
    return out


def parse_value(text: str) -> Any:
    """Parse a command-line value with YAML scalars (``1e-3``, ``true``, ``[1, 2]``); never ``eval``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"cannot parse value {text!r}: {exc.__class__.__name__}") from None


def parse_key_values(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["a:1", "b:x"]`` -> ``{"a": 1, "b": "x"}`` (rl-zoo3's ``key:value`` syntax)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ValueError(f"malformed {what} {item!r}; expected key:value")
        out[key.strip()] = parse_value(value)
    return out


def load_yaml(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """Read a YAML mapping (``-conf``, a run's ``config.yml``, a hyperparameter file: ``what`` names it
    in the errors); an empty file is ``{}``.

    :raises ValueError: for an unreadable file, invalid YAML or YAML that is not a mapping.
    """
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{what} {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{what} {str(path)!r} must hold a mapping, got {type(data).__name__}")
    return data


def merge_layer(base: dict[str, Any], layer: dict[str, Any], source: str) -> dict[str, Any]:
    """Overlay ``layer`` on ``base``; dict-valued fields merge key by key. Unknown keys are errors."""
    out = dict(base)
    for key, value in layer.items():
        key = key.replace("-", "_")
        names = field_names()
        if key not in names:
            import difflib

            close = difflib.get_close_matches(key, sorted(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown config key {key!r} in {source}{hint}")
        if key in DICT_FIELDS and isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out
