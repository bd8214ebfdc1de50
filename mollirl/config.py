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
        """Check every field; return self. Raises ``ValueError`` naming the field."""
        self.sigma = check_sigma(self.sigma)
        for name in ("epochs", "batch_episodes", "horizon"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.schedule_epochs is not None and (isinstance(self.schedule_epochs, bool)
                                                 or not isinstance(self.schedule_epochs, int)
                                                 or self.schedule_epochs < 1):
            raise ValueError(f"schedule_epochs must be an integer >= 1 or null, got {self.schedule_epochs!r}")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be an integer >= 0, got {self.checkpoint_every!r}")
        if not (isinstance(self.gamma, (int, float)) and 0.0 < self.gamma <= 1.0):
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if not (isinstance(self.step_size, (int, float)) and math.isfinite(self.step_size) and self.step_size > 0):
            raise ValueError(f"step_size must be a finite number > 0, got {self.step_size!r}")
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {list(BASELINES)}, got {self.baseline!r}")
        if self.policy_init not in POLICY_INITS:
            raise ValueError(f"policy_init must be one of {list(POLICY_INITS)}, got {self.policy_init!r}")
        if self.learn_sigma and self.sigma_schedule:
            raise ValueError("--learn-sigma and --sigma-schedule exclude each other: sigma is either trained or scheduled")
        if self.sigma_schedule:
            parse_sigma_schedule(self.sigma_schedule, self.sigma)
        if self.n_threads is not None and (isinstance(self.n_threads, bool) or not isinstance(self.n_threads, int)
                                           or self.n_threads < 1):
            raise ValueError(f"n_threads must be an integer >= 1 or null, got {self.n_threads!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        for name in ("env_kwargs", "algo_kwargs", "policy_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a mapping, got {getattr(self, name)!r}")
        return self


FIELDS = {f.name for f in dataclasses.fields(RunConfig)}
DICT_FIELDS = ("env_kwargs", "algo_kwargs", "policy_kwargs")


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


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping of config keys (``-conf``)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ValueError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"config file {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {str(path)!r} must hold a mapping, got {type(data).__name__}")
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
