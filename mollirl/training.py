"""One training run from a :class:`~mollirl.config.RunConfig`: build, learn, record, checkpoint.

Flow: config -> registry lookups (env, algo, policy, callbacks) -> batched
VecEnv -> ``model.learn()`` -> SB3 logger (TensorBoard + ``metrics.csv``) ->
checkpoints -> run folder ``<log_folder>/<algo>/<env>_<n>/`` holding
``model.zip``, ``initial.zip`` (theta_0), ``config.yml``, ``command.txt``, ``metrics.csv``, TensorBoard
events and whatever the callbacks write (e.g. ``landscapes/``).
"""

from __future__ import annotations

import logging
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mollirl import registry
from mollirl.config import RunConfig
from mollirl.envs import EnvPlugin, get_env_plugin, make_vec_env

logger = logging.getLogger(__name__)


@dataclass
class RunContext:
    """What a callback factory gets: the config, the run folder and env helpers."""

    config: RunConfig
    run_dir: Path
    env_plugin: EnvPlugin

    def make_eval_env(self, n_envs: int = 1):
        """A VecEnv of the run's env with the noise-free evaluation start."""
        kwargs = {**self.config.env_kwargs, **self.env_plugin.eval_kwargs}
        return make_vec_env(self.config.env, n_envs, max_episode_steps=self.config.horizon,
                            n_threads=self.config.n_threads, **kwargs)


@dataclass
class TrainResult:
    """Summary of a finished (or interrupted) run."""

    run_dir: Path
    epochs_done: int
    initial_J_det: float
    final_J_det: float
    final_sigma: float
    final_state: np.ndarray
    interrupted: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


def parse_callback_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"landscape:every=10,grid=21"`` -> ``("landscape", {"every": 10, "grid": 21})``."""
    from mollirl.config import parse_value

    name, _, rest = spec.partition(":")
    kwargs: dict[str, Any] = {}
    for part in filter(None, rest.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise ValueError(f"malformed callback option {part!r} in {spec!r}; expected key=value")
        kwargs[key.strip()] = parse_value(value)
    return name.strip(), kwargs


def env_dir_name(env: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", env).strip("-")


def next_run_dir(log_folder: str | Path, algo: str, env: str) -> Path:
    """``<log_folder>/<algo>/<env>_<n>`` with the next free n (1-based, like rl-zoo3)."""
    base = Path(log_folder) / algo
    name = env_dir_name(env)
    taken = [int(m.group(1)) for p in base.glob(f"{name}_*") if (m := re.fullmatch(rf"{re.escape(name)}_(\d+)", p.name))]
    return base / f"{name}_{max(taken, default=0) + 1}"


def build_policy_kwargs(config: RunConfig, env_plugin: EnvPlugin, template_env) -> dict[str, Any]:
    """Policy options from the config: mean network, init, sigma mode."""
    entry = registry.get_entry("policies", config.policy)
    kwargs: dict[str, Any] = {"mean_net": entry.meta.get("mean_net", config.policy), "sigma": config.sigma}
    if config.learn_sigma:
        kwargs["sigma_mode"] = "learnable"
    elif config.sigma_schedule:
        kwargs["sigma_mode"] = "scheduled"
    else:
        kwargs["sigma_mode"] = "fixed"
    kwargs.update(config.policy_kwargs)
    if kwargs["mean_net"] == "linear" and config.policy_init == "reference":
        if env_plugin.reference is None:
            raise ValueError(f"env {config.env!r} has no reference policy; use policy_init random or zero")
        ref = env_plugin.reference(template_env)
        kwargs["mean_init"] = {k: np.asarray(v).tolist() for k, v in ref.items()}
    elif config.policy_init == "reference" and kwargs["mean_net"] != "linear":
        raise ValueError("policy_init 'reference' needs the linear policy; use --policy linear or policy_init random")
    elif config.policy_init == "zero":
        kwargs["zero_init"] = True
    return kwargs


def _make_template_env(config: RunConfig, plugin: EnvPlugin):
    import gymnasium as gym

    try:
        return gym.make(plugin.gym_id, **config.env_kwargs)
    except TypeError as exc:
        raise ValueError(f"bad --env-kwargs for {config.env!r}: {exc}") from None


def build_model(config: RunConfig, env, env_plugin: EnvPlugin, template_env):
    """Build the algorithm named by ``config.algo`` on ``env``."""
    algo = registry.get("algos", config.algo)
    policy_kwargs = build_policy_kwargs(config, env_plugin, template_env)
    zero = policy_kwargs.pop("zero_init", False)
    try:
        model = algo.build(config, env, policy_kwargs)
    except TypeError as exc:
        raise ValueError(f"bad -params for {config.algo}: {exc}") from None
    if zero:
        model.policy.set_mean_vector(np.zeros_like(model.policy.get_mean_vector()))
    return model


def prepare(config: RunConfig):
    """Validate everything that can be checked before a run folder exists.

    Returns ``(env_plugin, template_env, vec_env, model, callbacks_specs)``; raises
    ``ValueError`` on any bad input (nothing is written).
    """
    registry.load_all_plugins(config.plugins)
    registry.get("algos", config.algo)
    registry.get_entry("policies", config.policy)
    env_plugin = get_env_plugin(config.env)
    specs = [parse_callback_spec(s) for s in config.callbacks]
    for name, _ in specs:
        registry.get("callbacks", name)
    template_env = _make_template_env(config, env_plugin)
    try:
        venv = make_vec_env(config.env, config.batch_episodes, max_episode_steps=config.horizon,
                            n_threads=config.n_threads, **config.env_kwargs)
    except TypeError as exc:
        raise ValueError(f"bad --env-kwargs for {config.env!r}: {exc}") from None
    model = build_model(config, venv, env_plugin, template_env)
    return env_plugin, template_env, venv, model, specs


def _configure_logger(run_dir: Path, resume_epoch: int | None):
    from stable_baselines3.common.logger import Logger, TensorBoardOutputFormat

    from mollirl.callbacks.metrics import MetricsCSVWriter

    formats = [TensorBoardOutputFormat(str(run_dir)), MetricsCSVWriter(run_dir / "metrics.csv", resume_epoch)]
    return Logger(folder=str(run_dir), output_formats=formats)


def _hparams(config: RunConfig) -> dict[str, Any]:
    keep = ("algo", "env", "policy", "sigma", "learn_sigma", "sigma_schedule", "epochs", "batch_episodes",
            "horizon", "gamma", "step_size", "baseline", "update", "seed")
    return {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in config.to_dict().items()
            if k in keep}


def train(config: RunConfig, *, argv: list[str] | None = None, resume_dir: str | Path | None = None,
          progress_bar: bool | None = None, extra_callbacks: list | None = None,
          run_dir: str | Path | None = None) -> TrainResult:
    """Run (or resume) one training run; return its summary.

    :param config: the validated config (for a resume: the run's saved config, possibly with more epochs).
    :param argv: the command line, written to ``command.txt``.
    :param resume_dir: continue this run folder from its latest checkpoint.
    :param extra_callbacks: SB3 callbacks (instances) run after the built-in and
        configured ones, e.g. a study's pruning reporter (they see ``train/J_det``
        in ``self.logger.name_to_value`` at ``_on_rollout_end``).
    :param run_dir: use this (new) folder instead of ``<log_folder>/<algo>/<env>_<n>``.
    :raises ValueError: on bad input, before anything is written.
    :raises mollirl.algos.reinforce.NonFiniteError: when a loss or gradient turns
        non-finite; the last good checkpoint is kept.
    """
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.logger import HParam

    from mollirl.algos import resolve_class
    from mollirl.callbacks.checkpoint import (
        CheckpointCallback, StopFlag, load_checkpoint_state, restore_rng, save_checkpoint,
    )
    from mollirl.callbacks.metrics import EpochMetricsCallback, read_metrics

    resume_state = None
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        resume_state = load_checkpoint_state(run_dir)
    env_plugin, template_env, venv, model, specs = prepare(config)
    steps_per_epoch = config.steps_per_epoch
    if resume_state is not None:
        cls = resolve_class(registry.get("algos", config.algo))
        try:
            model = cls.load(run_dir / "checkpoints" / "latest.zip", env=venv, device=config.device)
        except Exception as exc:  # noqa: BLE001 - a corrupt zip must become one line, not a traceback
            raise ValueError(f"cannot load checkpoint of {str(run_dir)!r}: {type(exc).__name__}: {exc}") from None
        restore_rng(resume_state)
        if hasattr(model, "n_epochs") and config.algo == "reinforce":
            model.n_epochs = config.epochs
        resume_epoch = int(resume_state["epoch"])
    else:
        run_dir = Path(run_dir) if run_dir is not None else next_run_dir(config.log_folder, config.algo, config.env)
        resume_epoch = None

    # Build every callback before anything is written: bad callback options leave no folder behind.
    context = RunContext(config=config, run_dir=run_dir, env_plugin=env_plugin)
    stop = StopFlag()
    metrics = EpochMetricsCallback(context.make_eval_env(), config.horizon, config.gamma, steps_per_epoch, stop)
    callbacks = [metrics, CheckpointCallback(run_dir, config.checkpoint_every, steps_per_epoch, stop)]
    for name, kwargs in specs:
        factory = registry.get("callbacks", name)
        try:
            callbacks.append(factory(context, **kwargs))
        except TypeError as exc:
            raise ValueError(f"bad options for callback {name!r}: {exc}") from None

    if resume_state is None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.yml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
        model.save(run_dir / "initial.zip")  # theta_0, for landscapes around the initial policy
    command = "python -m mollirl.train " + shlex.join(argv if argv is not None else sys.argv[1:])
    with (run_dir / "command.txt").open("a") as fh:
        fh.write(command + "\n")
    model.set_logger(_configure_logger(run_dir, resume_epoch))
    callbacks.extend(extra_callbacks or [])
    stop.install()
    try:
        # SB3 adds the model's num_timesteps to total_timesteps when not resetting
        remaining = config.total_timesteps - (model.num_timesteps if resume_state is not None else 0)
        model.learn(
            total_timesteps=max(remaining, 0), callback=CallbackList(callbacks),
            reset_num_timesteps=resume_state is None,
            progress_bar=config.progress if progress_bar is None else progress_bar,
        )
    except BaseException:
        model.logger.close()
        raise
    finally:
        stop.uninstall()
    interrupted = stop.raised is not None
    epochs_done = save_checkpoint(model, run_dir, steps_per_epoch)
    final = metrics.final.get("final", {})
    final_sigma = metrics.final.get("sigma", float("nan"))
    if not interrupted:
        model.save(run_dir / "model.zip")
        model.logger.record(
            "hparams",
            HParam(_hparams(config), {"train/J_det": final.get("J_det", float("nan")), "train/sigma": final_sigma}),
            exclude=("stdout", "log", "json", "csv"),
        )
        model.logger.dump(step=model.num_timesteps)
    model.logger.close()
    history = read_metrics(run_dir / "metrics.csv")
    j_rows = [r for r in history if not np.isnan(r["J_det"])]
    return TrainResult(
        run_dir=run_dir, epochs_done=epochs_done,
        initial_J_det=j_rows[0]["J_det"] if j_rows else float("nan"),
        final_J_det=final.get("J_det", float("nan")), final_sigma=final_sigma,
        final_state=np.asarray(final.get("final_state", [])), interrupted=interrupted, history=history,
    )
