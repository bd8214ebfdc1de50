"""Where a landscape is taken: an env, a policy (structure + centre + sigma), horizon and gamma.

Centres come from a run folder (:func:`problem_from_run`: ``initial``,
``final``, ``best`` or ``epoch:N``) or from an env's preset policy
(:func:`problem_from_env`: ``reference``, ``random``, ``zero``).

Which epochs of a run are available to ``epoch:N``:

- ``0`` (= ``initial``): rebuilt from ``config.yml`` with the run's seed (the
  policy init is deterministic given the seed);
- the final epoch (= ``final``): ``model.zip`` (written when the run finished);
- ``best``: ``best_model.zip``, the policy of the best evaluation (written by ``--eval-freq``), whatever its epoch;
- the epochs of the checkpoints kept in ``checkpoints/`` (the latest, and those ``--save-freq`` keeps);
- every epoch with a landscape snapshot ``landscapes/epoch_NNNN.npz`` (its
  ``centre`` is theta_N): train with ``--callback landscape:every=1`` to have them all.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from mollirl.policies import GaussianPolicy

CENTRES = ("reference", "random", "zero")


@contextlib.contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Restore Python's, numpy's and torch's global RNG states on exit (SB3's ``load``
    and model construction reseed them)."""
    py_state, np_state, th_state = random.getstate(), np.random.get_state(), th.get_rng_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        th.set_rng_state(th_state)


@dataclasses.dataclass
class LandscapeProblem:
    """A policy in an env, the centre of a landscape.

    :param env: env short name or Gymnasium id.
    :param policy: the policy; its mean vector is the centre, its structure is used
        for every grid point (it is never modified by the engine).
    :param horizon: steps per episode.
    :param gamma: discount.
    :param env_kwargs: the env's kwargs (of training), used for every landscape rollout.
    :param eval_options: reset options of the env's noise-free evaluation start (the env plugin's
        ``eval_start``), given to every row; None: rows reset with their seeds only.
    :param label: human-readable name of the centre (``final (epoch 50)``, ``reference``).
    :param metadata: provenance saved with the result (run folder, epoch, ...).
    """

    env: str
    policy: GaussianPolicy
    horizon: int
    gamma: float
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    eval_options: dict[str, Any] | None = None
    label: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    #: the run's ``sde_sample_freq`` when its policy explores with gSDE (``policy.use_sde``)
    sde_sample_freq: int = -1

    @property
    def centre(self) -> np.ndarray:
        return self.policy.get_mean_vector()

    @property
    def labels(self) -> list[str]:
        return self.policy.mean_parameter_labels()

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [tuple(p.shape) for _, p in self.policy.mean_named_parameters()]

    @property
    def sigma(self) -> np.ndarray:
        return np.asarray(self.policy.sigma, dtype=np.float64)

    def rollout_kwargs(self) -> dict[str, Any]:
        """Env kwargs of every landscape rollout: the run's (the evaluation start is ``eval_options``)."""
        return dict(self.env_kwargs)


def policy_from_config(config, seed: int | None = None) -> GaussianPolicy:
    """The initial policy of a run with ``config`` (policy_init and seed honoured), without building a VecEnv."""
    from mollirl.common.env_util import get_env_plugin, make_env
    from mollirl.training import build_policy_kwargs

    plugin = get_env_plugin(config.env)
    template = make_env(config.env, **config.env_kwargs)
    kwargs = build_policy_kwargs(config, plugin, template)
    zero = kwargs.pop("zero_init", False)
    if config.sigma_schedule:
        from mollirl.sigma import parse_sigma_schedule

        kwargs["sigma"] = parse_sigma_schedule(config.sigma_schedule, config.sigma)(0, config.schedule_span)
    with preserved_global_rng():
        th.manual_seed(int(config.seed if seed is None else seed))
        policy = GaussianPolicy(template.observation_space, template.action_space, lambda _: 0.0,
                                critic=False, use_sde=bool(getattr(config, "use_sde", False)), **kwargs)
    template.close()
    if zero:
        policy.set_mean_vector(np.zeros_like(policy.get_mean_vector()))
    return policy


def problem_from_env(env: str, center: str = "reference", *, seed: int = 0, horizon: int | None = None,
                     gamma: float | None = None, policy: str | None = None,
                     env_kwargs: dict[str, Any] | None = None) -> LandscapeProblem:
    """A landscape problem around an env's preset policy.

    :param env: env short name or Gymnasium id.
    :param center: ``reference`` (the env's reference controller, e.g. the
        quadrotor's LQR theta*), ``random`` (the random init a run with this
        ``seed`` starts from: a linear mean's K ~ N(0, 1/obs_dim), an mlp's W ~ N(0, 1/fan_in)) or ``zero``.
    :param seed: seed of a random centre.
    :param horizon: default: the env preset's.
    :param gamma: default: the env preset's.
    :param policy: mean network (``linear``/``mlp``), default: the preset's.
    :raises ValueError: on an unknown env or centre, or an env without a reference policy.
    """
    from mollirl.common.env_util import get_env_plugin
    from mollirl.hyperparams import resolve_with_sources

    if center not in CENTRES:
        raise ValueError(f"unknown center {center!r}; expected one of {list(CENTRES)}")
    plugin = get_env_plugin(env)
    if center == "reference" and plugin.reference is None:
        raise ValueError(f"env {env!r} has no reference policy; use --center random or zero")
    cli: dict[str, Any] = {"policy_init": center, "seed": int(seed)}
    for key, value in (("horizon", horizon), ("gamma", gamma), ("policy", policy)):
        if value is not None:
            cli[key] = value
    if env_kwargs:
        cli["env_kwargs"] = dict(env_kwargs)
    config = resolve_with_sources(env, "reinforce", None, cli)[0]
    return LandscapeProblem(
        env=env, policy=policy_from_config(config), horizon=config.horizon, gamma=config.gamma,
        env_kwargs=dict(config.env_kwargs), eval_options=_eval_options(plugin, config), label=center,
        metadata={"center": center, "seed": int(seed)},
    )


def _eval_options(plugin, config) -> dict | None:
    """The env's evaluation-start options for the run's env kwargs."""
    if plugin.eval_start is None:
        return None
    from mollirl.common.env_util import make_env

    template = make_env(config.env, **config.env_kwargs)
    try:
        return plugin.eval_options(template)
    finally:
        template.close()


def _load_policy(config, path: Path) -> tuple[GaussianPolicy, int]:
    from mollirl import registry

    from mollirl.common.modelzip import check_run_zip

    check_run_zip(path, config)  # a foreign or mismatched file: one line naming it and what it is
    cls = registry.get("algos", config.algo).resolve()
    try:
        with preserved_global_rng():
            model = cls.load(path, device="cpu")
    except Exception as exc:  # noqa: BLE001 - a corrupt zip must become one line
        raise ValueError(f"cannot load {str(path)!r}: {type(exc).__name__}: {exc}") from None
    return model.policy, int(model.epoch)


def available_epochs(run_dir: str | Path) -> dict[int, str]:
    """``{epoch: source}`` of the epochs ``epoch:N`` can load from this run folder: 0 (rebuilt from the
    config), every landscape snapshot, every checkpoint kept (the latest, and those ``--save-freq``
    keeps), and ``model.zip``."""
    run_dir = Path(run_dir)
    out: dict[int, str] = {0: "config.yml (initial policy rebuilt from the seed)"}
    for npz in sorted((run_dir / "landscapes").glob("epoch_*.npz")):
        m = re.fullmatch(r"epoch_(\d+)\.npz", npz.name)
        if m:
            out[int(m.group(1))] = str(npz.relative_to(run_dir))
    for ckpt in sorted((run_dir / "checkpoints").glob("epoch_*.zip")):
        m = re.fullmatch(r"epoch_(\d+)\.zip", ckpt.name)
        if m:
            out[int(m.group(1))] = f"checkpoints/{ckpt.name}"
    if (run_dir / "model.zip").is_file():
        try:
            out[_saved_epoch(run_dir / "model.zip")] = "model.zip"
        except (ValueError, KeyError, OSError, zipfile.BadZipFile):
            pass
    return dict(sorted(out.items()))


def _saved_epoch(path: Path) -> int:
    """``epoch`` of an SB3 zip of a mollirl algorithm, read from its ``data`` JSON without loading the model."""
    with zipfile.ZipFile(path) as zf:
        return int(json.loads(zf.read("data"))["epoch"])


def _set_sigma_exactly(policy: GaussianPolicy, sigma: np.ndarray) -> None:
    """Give ``policy`` the per-dimension ``sigma`` of a snapshot, whatever its sigma mode."""
    log_std = np.log(np.asarray(sigma, dtype=np.float64).reshape(-1))
    size = policy.log_std.numel()
    if size == 1 and not np.all(log_std == log_std[0]):
        raise ValueError(f"the snapshot's sigma {sigma!r} differs per action, this policy has one sigma")
    with th.no_grad():
        policy.log_std.copy_(th.as_tensor(log_std[:size] if size == 1 else log_std, dtype=policy.log_std.dtype))


def problem_from_run(run_dir: str | Path, at: str = "final", *, horizon: int | None = None,
                     gamma: float | None = None) -> LandscapeProblem:
    """A landscape problem around a run's policy at ``initial``, ``final``, ``best`` or ``epoch:N``.

    :param run_dir: a run folder of ``python -m mollirl.train``.
    :param at: ``initial`` (theta_0), ``final`` (``model.zip``), ``best`` (``best_model.zip``, written by
        ``--eval-freq``) or ``epoch:N`` (see the module docstring).
    :param horizon: default: the run's.
    :param gamma: default: the run's.
    :raises ValueError: for a folder that is not a run, has no model (no ``model.zip``
        and no checkpoint), lacks the requested epoch (the message lists the available ones) or,
        for ``best``, has no ``best_model.zip``.
    """
    from mollirl import registry
    from mollirl.config import RunConfig, load_yaml
    from mollirl.common.env_util import get_env_plugin

    run_dir = Path(run_dir)
    if not (run_dir / "config.yml").is_file():
        raise ValueError(f"--run {str(run_dir)!r} is not a run folder (no config.yml)")
    try:
        config = RunConfig(**load_yaml(run_dir / "config.yml")).validate()
    except TypeError as exc:
        raise ValueError(f"{str(run_dir / 'config.yml')!r} is not a valid run config: {exc}") from None
    registry.load_all_plugins(config.plugins)
    model_zip = run_dir / "model.zip"
    checkpoints = sorted((run_dir / "checkpoints").glob("epoch_*.zip"))
    any_model = model_zip if model_zip.is_file() else checkpoints[-1] if checkpoints else None
    if any_model is None:
        raise ValueError(f"run folder {str(run_dir)!r} has no model (neither model.zip nor a checkpoint)")
    best_zip = run_dir / "best_model.zip"
    if at == "initial":
        epoch = 0
    elif at == "best":
        if not best_zip.is_file():
            raise ValueError(f"run folder {str(run_dir)!r} has no best_model.zip (train with --eval-freq N to keep "
                             f"the best policy); use --at final or epoch:N")
        epoch = None
    elif at == "final":
        if not model_zip.is_file():
            raise ValueError(f"run folder {str(run_dir)!r} has no model.zip (the run did not finish); "
                             f"use --at epoch:N with N in {sorted(available_epochs(run_dir))}")
        epoch = None
    else:
        m = re.fullmatch(r"epoch:(\d+)", at)
        if not m:
            raise ValueError(f"--at must be initial, final, best or epoch:N, got {at!r}")
        epoch = int(m.group(1))

    if epoch is None:
        source = "best_model.zip" if at == "best" else "model.zip"
        policy, epoch = _load_policy(config, run_dir / source)
    elif epoch == 0 and getattr(config, "trained_agent", None) and (run_dir / "initial.zip").is_file():
        policy, _ = _load_policy(config, run_dir / "initial.zip")  # -i/--trained-agent: theta_0 is that model's
        source = "initial.zip"
    elif epoch == 0:
        policy, _ = _load_policy(config, any_model)
        initial = policy_from_config(config)
        policy.set_mean_vector(initial.get_mean_vector())
        with th.no_grad():
            policy.log_std.copy_(initial.log_std)
        source = "config.yml (rebuilt)"
    else:
        available = available_epochs(run_dir)
        if epoch not in available:
            raise ValueError(f"epoch {epoch} of {str(run_dir)!r} is not saved; available epochs: "
                             f"{sorted(available)} (train with --save-freq N to keep every N-th epoch's checkpoint, "
                             f"or --callback landscape:every=N for its landscape)")
        source = available[epoch]
        if source.endswith(".zip"):
            policy, _ = _load_policy(config, run_dir / source)
        else:
            policy, _ = _load_policy(config, any_model)
            with np.load(run_dir / source, allow_pickle=False) as data:
                centre, labels = np.array(data["centre"]), [str(s) for s in data["labels"]]
                sigma = np.array(data["policy_sigma"]) if "policy_sigma" in data else None
            if labels != policy.mean_parameter_labels():
                raise ValueError(f"{source} was written for another policy ({len(labels)} parameters)")
            policy.set_mean_vector(centre)
            if sigma is not None:
                _set_sigma_exactly(policy, sigma)
    plugin = get_env_plugin(config.env)
    name = (f"{at} (epoch {epoch})" if at in ("final", "best") else "initial (epoch 0)" if epoch == 0
            else f"epoch {epoch}")
    return LandscapeProblem(
        env=config.env, policy=policy, horizon=int(horizon or config.horizon), gamma=float(gamma or config.gamma),
        env_kwargs=dict(config.env_kwargs), eval_options=_eval_options(plugin, config),
        label=f"{name} of {run_dir}",
        metadata={"run_dir": str(run_dir), "at": at, "epoch": int(epoch), "source": source},
        sde_sample_freq=int(getattr(config, "sde_sample_freq", -1)),
    )
