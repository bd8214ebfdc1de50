"""One validated run configuration: env preset < YAML file < command-line flags.

:class:`RunConfig` holds every choice of a training run. :func:`resolve_config`
merges the layers and validates once, raising ``ValueError`` with a message
that names the bad key and value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mollirl.common.returns import BASELINES
from mollirl.sigma import check_sigma, parse_sigma_schedule

POLICY_INITS = ("reference", "random", "zero")


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
    """

    algo: str = "reinforce"
    env: str = "double-pendulum"
    policy: str = "linear"
    policy_init: str = "reference"
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    sigma: float = 0.1
    learn_sigma: bool = False
    sigma_schedule: str | None = None
    epochs: int = 50
    schedule_epochs: int | None = None
    batch_episodes: int = 16
    horizon: int = 1000
    gamma: float = 0.99
    step_size: float = 1.0
    baseline: str = "mean"
    update: str = "normalized"
    seed: int = 0
    log_folder: str = "runs"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    callbacks: list[str] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)
    checkpoint_every: int = 10
    n_threads: int | None = None
    device: str = "cpu"
    progress: bool = True
    save_freq: int = 0
    eval_freq: int = 0
    eval_episodes: int = 5
    tensorboard_log: str | None = None
    log_interval: int = 0
    trained_agent: str | None = None

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

    def validate(self) -> RunConfig:
        """Check every field; return self. Raises ``ValueError`` naming the flag (and the config key)."""
        from mollirl.common.budget import check_count, check_product, check_seed

        self.sigma = check_sigma(self.sigma, flag_name("sigma"))
        for name in ("epochs", "batch_episodes", "horizon", "eval_episodes"):
            check_count(getattr(self, name), flag_name(name))  # one rule for every command: 1 .. 2^63 - 1
        check_product([(flag_name("epochs"), self.epochs), (flag_name("batch_episodes"), self.batch_episodes),
                       (flag_name("horizon"), self.horizon)], "env steps")
        if self.schedule_epochs is not None and (isinstance(self.schedule_epochs, bool)
                                                 or not isinstance(self.schedule_epochs, int)
                                                 or self.schedule_epochs < 1):
            raise ValueError(f"schedule_epochs must be an integer >= 1 or null, got {self.schedule_epochs!r}")
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


FIELDS = {f.name for f in dataclasses.fields(RunConfig)}
DICT_FIELDS = ("env_kwargs", "algo_kwargs", "policy_kwargs")

#: the command-line flag of a config key (``python -m mollirl.train``); keys without one are set with
#: ``-params KEY:VALUE`` or in a ``-conf`` file
FLAGS = {
    "algo": "--algo", "env": "--env", "policy": "--policy", "policy_init": "--policy-init", "sigma": "--sigma",
    "learn_sigma": "--learn-sigma", "sigma_schedule": "--sigma-schedule", "epochs": "--epochs",
    "batch_episodes": "--batch-episodes", "horizon": "--horizon", "gamma": "--gamma", "step_size": "--step-size",
    "baseline": "--baseline", "update": "--update", "seed": "--seed", "log_folder": "-f/--log-folder",
    "env_kwargs": "--env-kwargs", "callbacks": "--callback", "plugins": "--plugin",
    "checkpoint_every": "--checkpoint-every", "device": "--device", "progress": "--no-progress",
    "save_freq": "--save-freq", "eval_freq": "--eval-freq", "eval_episodes": "--eval-episodes",
    "tensorboard_log": "--tensorboard-log", "log_interval": "--log-interval", "trained_agent": "-i/--trained-agent",
}


def flag_name(key: str) -> str:
    """How an error names config key ``key``: its flag and the key (``--batch-episodes (batch_episodes)``),
    or ``key (-params key:VALUE)`` for a key without a flag."""
    flag = FLAGS.get(key)
    if flag and flag.lstrip("-").replace("-", "_") == key:
        return flag  # the key is the flag's own name
    return f"{flag} ({key})" if flag else f"{key} (-params {key}:VALUE)"


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
        if key not in FIELDS:
            import difflib

            close = difflib.get_close_matches(key, sorted(FIELDS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown config key {key!r} in {source}{hint}")
        if key in DICT_FIELDS and isinstance(value, dict):
            out[key] = {**out.get(key, {}), **value}
        else:
            out[key] = value
    return out


def resolve_config(env: str | None, algo: str, yaml_layer: dict[str, Any], cli_layer: dict[str, Any],
                   preset: dict[str, Any]) -> RunConfig:
    """Defaults < env preset (incl. its per-algo part) < YAML < CLI; validated."""
    merged: dict[str, Any] = {}
    algo_part = preset.get("algos", {}).get(algo, {})
    merged = merge_layer(merged, {k: v for k, v in preset.items() if k != "algos"}, "the env preset")
    merged = merge_layer(merged, algo_part, f"the env preset for {algo}")
    merged = merge_layer(merged, yaml_layer, "the config file")
    merged = merge_layer(merged, cli_layer, "the command line")
    merged["algo"] = algo
    if env is not None:
        merged["env"] = env
    return RunConfig(**merged).validate()
