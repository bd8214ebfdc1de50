"""One training run from a :class:`~mollirl.config.RunConfig`: build, learn, record, checkpoint.

Flow: config -> registry lookups (env, algo, policy, callbacks) -> the VecEnv of
``batch_episodes`` copies (and a one-copy VecEnv for the J_det row when the env is
stepped through VecEnvs) -> ``model.learn()`` (the algorithm contract of
:mod:`mollirl.common.algorithm`: one batched rollout and one update per epoch) ->
SB3 logger (TensorBoard + ``metrics.csv``, the same points) -> checkpoints -> run
folder ``<log_folder>/<algo>/<env>_<n>/`` holding ``model.zip``, ``initial.zip``
(theta_0), ``config.yml``, ``command.txt``, ``metrics.csv``, TensorBoard events,
``checkpoints/`` and whatever the callbacks write (e.g. ``landscapes/``).
"""

from __future__ import annotations

import functools
import logging
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mollirl import registry
from mollirl.common.env_util import EnvPlugin, get_env_plugin, make_env, make_vec_env
from mollirl.config import RunConfig, parse_value
from mollirl.rollout import pure_dynamics

logger = logging.getLogger(__name__)
#: libyaml's emitter when PyYAML has it (the same text as ``yaml.safe_dump``, a quarter of the time: a batched
#: study writes one config.yml per member)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class RunContext:
    """What a callback factory gets: ``factory(context, **options) -> BaseCallback``.

    :param config: the run's resolved config.
    :param run_dir: its run folder (not created yet when the factory runs: a factory
        must not write; it may raise ``ValueError`` for bad options).
    :param env_plugin: the env's :class:`~mollirl.common.env_util.EnvPlugin`.
    :param eval_options: reset options of the env's evaluation start (None: seed 0, no options).
    """

    config: RunConfig
    run_dir: Path
    env_plugin: EnvPlugin
    eval_options: dict | None = None

    def make_vec_env(self, n_envs: int):
        """A VecEnv of ``n_envs`` copies of the run's env (its env kwargs, the run's horizon)."""
        return make_vec_env(self.config.env, n_envs, max_episode_steps=self.config.horizon,
                            n_threads=self.config.n_threads, **self.config.env_kwargs)


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
    kwargs.update(entry.meta.get("policy_kwargs", {}))  # a registered policy's own options (a plugin's)
    kwargs.update(config.policy_kwargs)
    if kwargs["mean_net"] == "linear" and config.policy_init == "reference":
        if env_plugin.reference is None:
            raise ValueError(f"env {config.env!r} has no reference policy; use --policy-init random or zero")
        ref = env_plugin.reference(template_env)
        if not kwargs.get("bias", True) and "b" in ref:  # u = -K s without b: only a zero reference bias fits
            if np.any(np.asarray(ref["b"]) != 0):
                raise ValueError(f"env {config.env!r}'s reference policy has a bias b = {np.asarray(ref['b']).tolist()}; "
                                 "a policy without bias (policy_kwargs bias: false) cannot start from it")
            ref = {k: v for k, v in ref.items() if k != "b"}
        kwargs["mean_init"] = {k: np.asarray(v).tolist() for k, v in ref.items()}
    elif config.policy_init == "reference" and kwargs["mean_net"] != "linear":
        raise ValueError(f"--policy-init reference needs --policy linear (the reference policy of {config.env!r} is "
                         f"linear); give --policy-init random for --policy {config.policy}")
    elif config.policy_init == "zero":
        kwargs["zero_init"] = True
    elif config.policy_init == "random" and kwargs["mean_net"] == "linear":
        kwargs["random_mean"] = True  # K ~ N(0, 1/obs_dim), b = 0, from torch's generator seeded with --seed
    return kwargs


def _schedule(config: RunConfig):
    from mollirl.sigma import parse_sigma_schedule

    return parse_sigma_schedule(config.sigma_schedule, config.sigma) if config.sigma_schedule else None


def contract_kwargs(config: RunConfig, eval_options: dict | None, rollout_env) -> dict[str, Any]:
    """The :class:`~mollirl.common.algorithm.EpochAlgorithm` arguments of a run."""
    return {"horizon": config.horizon, "planned_epochs": config.schedule_span, "sigma_schedule": _schedule(config),
            "eval_options": eval_options, "rollout_env": rollout_env}


def build_model(config: RunConfig, env, env_plugin: EnvPlugin, template_env, rollout_env=None):
    """Build the algorithm named by ``config.algo`` on ``env`` (the contract's arguments from the config)."""
    algo = registry.get("algos", config.algo)
    policy_kwargs = build_policy_kwargs(config, env_plugin, template_env)
    zero = policy_kwargs.pop("zero_init", False)
    contract = contract_kwargs(config, env_plugin.eval_options(template_env), rollout_env)
    try:
        model = algo.build(config, env, policy_kwargs, **contract)
    except TypeError as exc:
        raise ValueError(f"bad -params for {config.algo}: {exc}") from None
    except AssertionError as exc:  # SB3's constructors assert on some arguments
        raise ValueError(f"bad -params for {config.algo}: {str(exc) or 'rejected by the algorithm'}") from None
    if zero:
        model.policy.set_mean_vector(np.zeros_like(model.policy.get_mean_vector()))
    if config.trained_agent:
        load_trained_agent(model, config)
    return model


def load_trained_agent(model, config: RunConfig) -> None:
    """``-i/--trained-agent MODEL.zip``: the new run starts from that model's parameters (mean network,
    and critic for actor-critic algorithms; SB3's ``set_parameters``, exact match); sigma stays the config's
    (``--sigma``: the run's controlled variable), the epoch count starts at 0.

    :raises ValueError: (naming the flag) for a zip of another algorithm, env or policy architecture.
    """
    path = str(config.trained_agent)
    try:
        model.set_parameters(path, exact_match=True, device=config.device)
    except Exception as exc:  # noqa: BLE001 - a zip that does not fit must be one line, not a traceback
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        detail = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]
        raise ValueError(f"-i/--trained-agent {path!r} does not fit a {config.algo} {config.policy} policy on "
                         f"{config.env}: {detail[:200]}") from None
    if hasattr(model.policy, "set_sigma"):
        model.policy.set_sigma(config.sigma)


@dataclass
class Envs:
    """The envs a run's model needs (shared by the members of a population: see :func:`make_envs`).

    :param template: one env (spaces, reference policy, evaluation start).
    :param venv: the VecEnv of ``batch_episodes`` copies (the model's ``env``; stepped only by the final
        J_det evaluation when ``rollout_env`` exists).
    :param rollout_env: a VecEnv of ``batch_episodes + 1`` copies for the epoch's rows (its last is the
        J_det row), or None when ``venv`` exposes ``batched_dynamics`` (the rollout core then steps no VecEnv).
    """

    template: Any
    venv: Any
    rollout_env: Any = None

    def close(self) -> None:
        for env in (self.venv, self.rollout_env, self.template):
            if env is not None:
                env.close()


def make_envs(config: RunConfig) -> Envs:
    """The template env, the VecEnv of ``batch_episodes`` copies and (if needed) the rollout's VecEnv.

    :raises ValueError: on env kwargs the env does not accept.
    """
    from mollirl.common.budget import check_training_memory

    template = make_env(config.env, **config.env_kwargs)
    envs = Envs(template, None)
    try:
        critic = getattr(registry.get("algos", config.algo).resolve(), "critic_buffer", False)
        check_training_memory(config, template.observation_space.shape, template.action_space.shape, critic=critic)
        envs.venv = make_vec_env(config.env, config.batch_episodes, max_episode_steps=config.horizon,
                                 n_threads=config.n_threads, **config.env_kwargs)
        if pure_dynamics(envs.venv) is None:  # VecEnv-stepped: the epoch's rows, its J_det row included
            envs.rollout_env = make_vec_env(config.env, config.batch_episodes + 1, max_episode_steps=config.horizon,
                                            n_threads=config.n_threads, **config.env_kwargs)
    except BaseException:
        envs.close()
        raise
    return envs


@dataclass
class Prepared:
    """Everything :func:`prepare` built (close it when done: :meth:`close`)."""

    env_plugin: EnvPlugin
    envs: Envs
    model: Any
    callback_specs: list[tuple[str, dict[str, Any]]]
    own_envs: bool = True

    @property
    def template_env(self):
        return self.envs.template

    @property
    def venv(self):
        return self.envs.venv

    @property
    def rollout_env(self):
        return self.envs.rollout_env

    @property
    def eval_options(self) -> dict | None:
        return self.env_plugin.eval_options(self.envs.template)

    def close(self) -> None:
        if self.own_envs:
            self.envs.close()


def check_names(config: RunConfig) -> tuple[EnvPlugin, list[tuple[str, dict[str, Any]]]]:
    """Plugins loaded, every registered name looked up, callback specs parsed (``ValueError`` otherwise)."""
    registry.load_all_plugins(config.plugins)
    registry.get("algos", config.algo)
    registry.get_entry("policies", config.policy)
    env_plugin = get_env_plugin(config.env)
    specs = [parse_callback_spec(s) for s in config.callbacks]
    for name, _ in specs:
        registry.get("callbacks", name)
    return env_plugin, specs


def prepare(config: RunConfig, envs: Envs | None = None) -> Prepared:
    """Validate everything that can be checked before a run folder exists and build the run's objects.

    :param envs: envs to share (a population's); default: new ones, closed with the result.
    :raises ValueError: on any bad input (nothing is written).
    """
    from mollirl.common.env_check import check_env

    env_plugin, specs = check_names(config)
    check_env(config.env, config.env_kwargs)  # a Box action space; a plugin env's shapes: before any folder
    own = envs is None
    if own:
        envs = make_envs(config)
    try:
        model = build_model(config, envs.venv, env_plugin, envs.template, envs.rollout_env)
    except BaseException:
        if own:
            envs.close()
        raise
    return Prepared(env_plugin, envs, model, specs, own_envs=own)


def _tensorboard_format(folder: str):
    """SB3's TensorBoard output with a dump's scalars written as one event (one ``Summary`` of all
    ``train/`` values at that step: what TensorBoard reads from ``add_scalar`` calls, an event per
    dump instead of one per key), the events handed to the writer's thread in batches at most
    :data:`mollirl.training.metrics.FLUSH_SECONDS` apart without waiting for it (the thread writes and
    flushes the file on that period: what TensorBoard shows lags by at most about twice that), and
    before a checkpoint and at ``close()`` everything handed over and flushed, waiting until it is on disk."""
    return _tensorboard_class()(folder)


@functools.cache
def _tensorboard_class():
    """:func:`_tensorboard_format`'s class, made once (its bases are imported on first use)."""
    from stable_baselines3.common.logger import TensorBoardOutputFormat
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import Summary

    from mollirl.training import metrics

    class BatchedTensorBoardFormat(TensorBoardOutputFormat):
        def __init__(self, folder: str) -> None:  # SB3's __init__, with the writer thread's flush period ours
            # (a period of 0 would make tensorboard's writer thread poll its queue without pause: with
            # FLUSH_SECONDS 0, every dump is flushed and waited for instead, and the thread keeps SummaryWriter's 120 s)
            self._period = metrics.FLUSH_SECONDS
            self.writer = SummaryWriter(log_dir=folder, flush_secs=self._period if self._period > 0 else 120)
            self._is_closed = False
            self._last_flush = time.monotonic()
            self._pending: list[tuple[Any, int]] = []
            self._flush = self.writer.flush
            self.writer.flush = self._maybe_flush  # SB3's write() calls it for the other value types

        def _hand_over(self) -> None:
            for summary, step in self._pending:
                self.writer.file_writer.add_summary(summary, step)
            self._pending.clear()
            self._last_flush = time.monotonic()

        def _maybe_flush(self) -> None:
            # no waiting here: a blocking flush of each of a population's 64 writers cost ~0.7 ms apiece
            if self._period <= 0:
                self.flush_pending()
            elif time.monotonic() - self._last_flush >= self._period:
                self._hand_over()

        def flush_pending(self) -> None:
            """Everything held back written and flushed to disk (before a checkpoint)."""
            self._hand_over()
            self._flush()

        def write(self, key_values, key_excluded, step: int = 0) -> None:
            values, rest, rest_excluded = [], {}, {}
            for key in sorted(key_values):
                value, excluded = key_values[key], key_excluded.get(key)
                if excluded is not None and "tensorboard" in excluded:
                    continue
                if isinstance(value, np.ScalarType) and not isinstance(value, (str, bytes)):
                    values.append(Summary.Value(tag=key, simple_value=float(value)))  # torch's scalar()'s value
                else:
                    rest[key], rest_excluded[key] = value, excluded
            if values:
                self._pending.append((Summary(value=values), step))
            if rest:
                self._hand_over()  # events in order: the scalars held back first
                super().write(rest, rest_excluded, step)
            else:
                self._maybe_flush()

        def close(self) -> None:
            if self.writer is not None and self._pending:
                self._hand_over()
            super().close()

    return BatchedTensorBoardFormat


def tensorboard_dir(config: RunConfig, run_dir: Path) -> Path:
    """Where a run's TensorBoard events go: its run folder, or with ``--tensorboard-log DIR`` rl-zoo3's
    ``DIR/<env>/<algo>_<n>`` (``<n>`` the run folder's number; a population member's folder name below it)."""
    if not config.tensorboard_log:
        return Path(run_dir)
    run_dir = Path(run_dir)
    root = Path(config.log_folder) / config.algo
    try:
        parts = run_dir.resolve().relative_to(root.resolve()).parts
    except ValueError:  # a folder outside the log folder (a caller's run_dir): its own name
        parts = (run_dir.name,)
    name = env_dir_name(config.env)
    head = f"{config.algo}_{parts[0][len(name) + 1:]}" if parts[0].startswith(f"{name}_") else parts[0]
    return Path(config.tensorboard_log).joinpath(env_dir_name(config.env), head, *parts[1:])


def zoo_callbacks(config: RunConfig, run_dir: Path, eval_options: dict | None, label: str = "") -> list:
    """The callbacks of rl-zoo3's flags a config asks for: ``--eval-freq`` and ``--log-interval``."""
    from mollirl.training.evaluation import EvalCallback, LogIntervalCallback

    out: list = []
    if config.eval_freq:
        out.append(EvalCallback(run_dir, config.env, eval_freq=config.eval_freq, eval_episodes=config.eval_episodes,
                                horizon=config.horizon, gamma=config.gamma, env_kwargs=config.env_kwargs,
                                eval_options=eval_options, n_threads=config.n_threads))
    if config.log_interval:
        out.append(LogIntervalCallback(config.log_interval, label=label))
    return out


def _configure_logger(run_dir: Path, resume_epoch: int | None, tensorboard: Path | None = None,
                      env_id: str = "", episodes_per_epoch: int = 0):
    """The run's SB3 logger: TensorBoard, ``metrics.csv``, and the files SB3's and rl-zoo3's tools read
    (``train.monitor.csv``, ``progress.csv``: :mod:`mollirl.training.monitor`)."""
    from stable_baselines3.common.logger import Logger

    from mollirl.training.metrics import MetricsCSVWriter
    from mollirl.training.monitor import MONITOR_FILE, PROGRESS_FILE, MonitorWriter, ProgressCSVWriter

    resume_rows = None if resume_epoch is None else resume_epoch * episodes_per_epoch
    formats = [_tensorboard_format(str(tensorboard or run_dir)),
               MetricsCSVWriter(run_dir / "metrics.csv", resume_epoch),
               MonitorWriter(run_dir / MONITOR_FILE, env_id, resume_rows),
               ProgressCSVWriter(run_dir / PROGRESS_FILE, resume_epoch)]
    return Logger(folder=str(run_dir), output_formats=formats)


def _hparams(config: RunConfig) -> dict[str, Any]:
    from mollirl.config import hparam_keys

    keep = set(hparam_keys())
    return {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in config.to_dict().items()
            if k in keep}


def _record_final(model, config: RunConfig, final: dict[str, Any]) -> None:
    """The final policy's row: epoch E at x = E * steps_per_epoch, a point of its own."""
    epoch = int(model.epoch)
    row = {"epoch": epoch, "timesteps": epoch * model.steps_per_epoch, "sigma": model.exploration_sigma(),
           **{k: v for k, v in final.items() if k != "final_state"}}
    for key, value in row.items():
        model.logger.record(f"train/{key}", value)
    model.logger.dump(step=epoch * model.steps_per_epoch)


#: the file a run folder gets when a non-finite value stopped its training (its one-line reason)
STOPPED_FILE = "stopped.txt"


class RunSession:
    """One run folder and its model, from opening to its end: what :func:`train` does around
    ``model.learn()``, and what a population does for each member around one shared rollout.

    :param config: the validated config (for a resume: the run's saved config, possibly with more epochs).
    :param argv: the command line, written to ``command.txt``.
    :param resume_dir: continue this run folder from its latest checkpoint.
    :param run_dir: use this (new) folder instead of ``<log_folder>/<algo>/<env>_<n>``.
    :param extra_callbacks: SB3 callbacks (instances) run after the configured ones.
    :param envs: envs shared with other sessions (a population's); default: the session's own.
    :param command: the program name written before ``argv`` in ``command.txt``.

    Nothing is written until :meth:`open`; everything that can be checked is checked before it.
    """

    def __init__(self, config: RunConfig, *, argv: list[str] | None = None, resume_dir: str | Path | None = None,
                 run_dir: str | Path | None = None, extra_callbacks: list | None = None, envs: Envs | None = None,
                 command: str = "python -m mollirl.train") -> None:
        from mollirl.training.checkpoint import load_checkpoint_state

        self.config = config
        self.argv = argv
        self.command = command
        self.resume_state = None
        named = run_dir is not None or resume_dir is not None  # a population member's or a study's folder
        self.named = named
        self.numbered = run_dir is None and resume_dir is None  # a new <env>_<n>, claimed in open()
        self.lock = None
        if resume_dir is not None:
            from mollirl.common.locking import lock_folder
            from mollirl.training.history import RESUME_KEYS, check_config_unedited, check_history

            run_dir = Path(resume_dir)
            self.lock = lock_folder(run_dir, "run folder")  # one writer per run, until close()
            try:
                self.resume_state = load_checkpoint_state(run_dir)
                check_history(run_dir, int(self.resume_state["epoch"]))
                check_config_unedited(run_dir, self.resume_state, RESUME_KEYS)
            except BaseException:
                self.lock.release()
                raise
        try:
            self.prepared = prepare(config, envs)
        except BaseException:
            if self.lock is not None:
                self.lock.release()
            raise
        try:
            model = self.prepared.model
            if self.resume_state is not None:
                cls = registry.get("algos", config.algo).resolve()
                try:
                    model = cls.load(self.resume_state["path"], env=self.prepared.venv, device=config.device,
                                     rollout_env=self.prepared.rollout_env)
                except Exception as exc:  # noqa: BLE001 - a corrupt zip must become one line, not a traceback
                    raise ValueError(f"cannot load checkpoint of {str(run_dir)!r}: {type(exc).__name__}: "
                                     f"{exc}") from None
                self.resume_epoch: int | None = int(self.resume_state["epoch"])
            else:
                run_dir = Path(run_dir) if run_dir is not None else next_run_dir(config.log_folder, config.algo,
                                                                                 config.env)
                self.resume_epoch = None
            self.model = model
            self.run_dir = Path(run_dir)
            self.extra_callbacks = list(extra_callbacks or [])
            # every callback is built before anything is written: bad options leave no folder behind
            self.callbacks = self._build_callbacks()
        except BaseException:
            self.prepared.close()
            if self.lock is not None:
                self.lock.release()
            raise
        self.final: dict[str, Any] = {}
        self.stopped: str | None = None
        self.created = False  # this session created its run folder (open() of a new run)

    def _build_callbacks(self) -> list:
        """The run's callbacks for :attr:`run_dir` (factories must not write: they may be built twice)."""
        from mollirl.training.checkpoint import CheckpointCallback

        config = self.config
        context = RunContext(config=config, run_dir=self.run_dir, env_plugin=self.prepared.env_plugin,
                             eval_options=self.prepared.eval_options)
        callbacks = [CheckpointCallback(self.run_dir, config.checkpoint_every, config.save_freq)]
        callbacks.extend(zoo_callbacks(config, self.run_dir, context.eval_options,
                                       label=self.run_dir.name if self.named else ""))
        for name, kwargs in self.prepared.callback_specs:
            factory = registry.get("callbacks", name)
            try:
                callbacks.append(factory(context, **kwargs))
            except TypeError as exc:
                raise ValueError(f"bad options for callback {name!r}: {exc}") from None
        return callbacks + self.extra_callbacks

    def relocate(self, run_dir: str | Path) -> None:
        """Before :meth:`open`: use the new folder ``run_dir`` instead (a population whose own folder was
        claimed under another number); the callbacks follow it."""
        self.run_dir = Path(run_dir)
        self.callbacks = self._build_callbacks()

    @property
    def remaining_timesteps(self) -> int:
        return max(self.config.epochs - self.model.epoch, 0) * self.model.steps_per_epoch

    def open(self) -> None:
        """Create (or reopen) the run folder: config.yml, initial.zip, command.txt, the logger."""
        from mollirl.common.files import write_atomic
        from mollirl.training.checkpoint import save_model_atomic

        from mollirl.common.locking import claim_new_run_dir

        config = self.config
        if self.resume_state is None:
            # the folder is claimed atomically and locked (one writer) before anything is written in it
            self.run_dir, self.created, self.lock, moved = claim_new_run_dir(self.run_dir, numbered=self.numbered)
            if moved:  # another process took the planned number first: the callbacks follow the new folder
                self.relocate(self.run_dir)
        run_dir = self.run_dir
        if self.resume_state is None:
            save_model_atomic(self.model, run_dir / "initial.zip")  # theta_0, for landscapes around it
        write_atomic(run_dir / "config.yml", yaml.dump(config.to_dict(), Dumper=_YAML_DUMPER, sort_keys=False),
                     defer=True)
        line = f"{self.command} " + shlex.join(self.argv if self.argv is not None else sys.argv[1:])
        previous = (run_dir / "command.txt").read_text() if (run_dir / "command.txt").is_file() else ""
        write_atomic(run_dir / "command.txt", previous + line.rstrip() + "\n", defer=True)
        tensorboard = tensorboard_dir(config, run_dir)
        tensorboard.mkdir(parents=True, exist_ok=True)
        self.model.set_logger(_configure_logger(run_dir, self.resume_epoch, tensorboard,
                                                self.prepared.env_plugin.gym_id, self.model.episodes_per_epoch))

    def callback(self):
        from stable_baselines3.common.callbacks import CallbackList

        return CallbackList(self.callbacks)

    def fail(self, exc: Exception):
        """A non-finite value stopped the run: checkpoint the last good parameters (the model still holds
        theta_k), write the reason to ``stopped.txt``; return the error to raise (its message says what
        was kept)."""
        from mollirl.common.errors import NonFiniteError
        from mollirl.common.files import write_atomic
        from mollirl.training.checkpoint import save_checkpoint

        kept = save_checkpoint(self.model, self.run_dir)
        message = (f"{exc}; the checkpoint of epoch {kept} (the last good parameters) is kept in "
                   f"{self.run_dir / 'checkpoints'}")
        write_atomic(self.run_dir / STOPPED_FILE, message + "\n")
        self.stopped = message
        self.model.logger.close()
        return NonFiniteError(message)

    def finish(self, interrupted: bool, final: dict[str, Any] | None = None) -> int:
        """Checkpoint; unless interrupted, the final policy's row, ``model.zip`` and the HParams. Returns the epochs done.

        :param final: the final policy's :func:`~mollirl.common.driver.det_metrics` when already
            rolled (a population rolls every member's row at once); default: ``model.evaluate_det()``.
        """
        from stable_baselines3.common.logger import HParam

        from mollirl.training.checkpoint import epoch_bytes, save_checkpoint, save_model_atomic

        model, config = self.model, self.config
        payload = epoch_bytes(model)  # the last checkpoint and, unless interrupted, model.zip: the same state
        epochs_done = save_checkpoint(model, self.run_dir, keep=bool(config.save_freq) and not interrupted
                                      and model.epoch % config.save_freq == 0, payload=payload)
        if not interrupted:
            self.final = model.evaluate_det() if final is None else final
            _record_final(model, config, self.final)
            save_model_atomic(model, self.run_dir / "model.zip", payload)
            model.logger.record(
                "hparams",
                HParam(_hparams(config), {"train/J_det": self.final.get("J_det", float("nan")),
                                          "train/sigma": model.exploration_sigma()}),
                exclude=("stdout", "log", "json", "csv"),
            )
            model.logger.dump(step=model.epoch * model.steps_per_epoch)
        model.logger.close()
        return epochs_done

    def close_logger(self) -> None:
        """Close the logger's files, quietly when the disk that failed cannot take their last bytes."""
        logger_ = getattr(self.model, "_logger", None)
        if logger_ is None:
            return
        for fmt in logger_.output_formats:
            try:
                fmt.close()
            except OSError:
                pass
        logger_.output_formats = []

    def fault(self, exc: Exception) -> Exception:
        """A write failed (a full disk, a folder made read-only): leave nothing that looks whole.

        A run folder this session created that holds no checkpoint yet is removed; otherwise the
        latest verified checkpoint is what a ``--resume`` continues from. Returns ``exc`` with a
        note saying which (:func:`mollirl.cli.os_error_line` prints it).
        """
        kept = self.fault_cleanup()
        if kept is None and self.created:
            exc.add_note(f"the new run folder {self.run_dir} was removed (nothing resumable had been written)")
        elif kept is not None:
            exc.add_note(f"the checkpoint of epoch {kept} in {self.run_dir / 'checkpoints'} is "
                         f"kept: free space and continue with --resume {self.run_dir}")
        return exc

    def fault_cleanup(self) -> int | None:
        """The cleanup of :meth:`fault`: close the logger, remove a new folder with no checkpoint.
        Returns the epoch of the checkpoint kept, or None (nothing resumable)."""
        import shutil

        from mollirl.training.checkpoint import read_pointer

        self.close_logger()
        pointer = read_pointer(self.run_dir)
        if pointer is None and self.created:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        return None if pointer is None else int(pointer.get("epoch", 0))

    def result(self, epochs_done: int, interrupted: bool) -> TrainResult:
        from mollirl.training.metrics import read_metrics

        history = read_metrics(self.run_dir / "metrics.csv")
        j_rows = [r for r in history if not np.isnan(r["J_det"])]
        return TrainResult(
            run_dir=self.run_dir, epochs_done=epochs_done,
            initial_J_det=j_rows[0]["J_det"] if j_rows else float("nan"),
            final_J_det=self.final.get("J_det", float("nan")), final_sigma=self.model.exploration_sigma(),
            final_state=np.asarray(self.final.get("final_state", [])), interrupted=interrupted, history=history,
        )

    def close(self) -> None:
        self.prepared.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None


def train(config: RunConfig, *, argv: list[str] | None = None, resume_dir: str | Path | None = None,
          progress_bar: bool | None = None, extra_callbacks: list | None = None,
          run_dir: str | Path | None = None) -> TrainResult:
    """Run (or resume) one training run; return its summary.

    :param config: the validated config (for a resume: the run's saved config, possibly with more epochs).
    :param argv: the command line, written to ``command.txt``.
    :param resume_dir: continue this run folder from its latest checkpoint.
    :param extra_callbacks: SB3 callbacks (instances) run after the configured ones, e.g. a
        study's pruning reporter (they see ``train/J_det`` in ``self.logger.name_to_value`` at
        ``_on_rollout_end``).
    :param run_dir: use this (new) folder instead of ``<log_folder>/<algo>/<env>_<n>``.
    :raises ValueError: on bad input, before anything is written.
    :raises mollirl.common.errors.NonFiniteError: when a reward, observation, loss, gradient or
        parameter turns non-finite; the run folder then holds a checkpoint of the last good
        epoch (the message says which) and ``stopped.txt``.
    """
    from mollirl.common.errors import NonFiniteError
    from mollirl.training.checkpoint import StopFlag

    session = RunSession(config, argv=argv, resume_dir=resume_dir, run_dir=run_dir, extra_callbacks=extra_callbacks)
    try:
        try:
            session.open()
        except OSError as exc:
            raise session.fault(exc) from None
        stop = StopFlag()
        stop.install()
        try:
            session.model.learn(total_timesteps=session.remaining_timesteps, callback=session.callback(),
                                reset_num_timesteps=session.resume_state is None,
                                progress_bar=config.progress if progress_bar is None else progress_bar,
                                stop_flag=stop)
        except NonFiniteError as exc:
            raise session.fail(exc) from None
        except Exception as exc:  # a fault, or a plugin's error: nothing that looks whole is left
            raise session.fault(exc) from None
        except BaseException:
            session.close_logger()
            raise
        finally:
            stop.uninstall()
        interrupted = stop.raised is not None
        try:
            epochs_done = session.finish(interrupted)
        except OSError as exc:
            raise session.fault(exc) from None
    finally:
        session.close()
    return session.result(epochs_done, interrupted)
