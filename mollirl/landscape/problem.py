"""Where a landscape is taken: an env, a policy (structure + centre + sigma), horizon and gamma.

Centres come from a run folder (:func:`problem_from_run`: ``initial``,
``final`` or ``epoch:N``) or from an env's preset policy
(:func:`problem_from_env`: ``reference``, ``random``, ``zero``).

Which epochs of a run are available to ``epoch:N``:

- ``0`` (= ``initial``): rebuilt from ``config.yml`` with the run's seed (the
  policy init is deterministic given the seed);
- the final epoch (= ``final``): ``model.zip`` (written when the run finished);
- the epoch of ``checkpoints/latest.zip`` (see ``checkpoints/latest.json``);
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
    :param env_kwargs: the env's kwargs (of training); ``eval_kwargs`` override them
        for every landscape rollout (the noise-free evaluation start).
    :param eval_kwargs: the env plugin's ``eval_kwargs``.
    :param label: human-readable name of the centre (``final (epoch 50)``, ``reference``).
    :param metadata: provenance saved with the result (run folder, epoch, ...).
    """

    env: str
    policy: GaussianPolicy
    horizon: int
    gamma: float
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    eval_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    label: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

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
        """Env kwargs of every landscape rollout: the run's, with the noise-free evaluation start."""
        return {**self.env_kwargs, **self.eval_kwargs}


def _policy_from_config(config, seed: int | None = None) -> GaussianPolicy:
    """The initial policy of a run with ``config`` (policy_init and seed honoured), without building a VecEnv."""
    import gymnasium as gym

    from mollirl.envs import get_env_plugin
    from mollirl.training import build_policy_kwargs

    plugin = get_env_plugin(config.env)
    try:
        template = gym.make(plugin.gym_id, **config.env_kwargs)
    except TypeError as exc:
        raise ValueError(f"bad env kwargs for {config.env!r}: {exc}") from None
    kwargs = build_policy_kwargs(config, plugin, template)
    zero = kwargs.pop("zero_init", False)
    if config.sigma_schedule:
        from mollirl.sigma import parse_sigma_schedule

        kwargs["sigma"] = parse_sigma_schedule(config.sigma_schedule, config.sigma)(0, config.epochs)
    with preserved_global_rng():
        th.manual_seed(int(config.seed if seed is None else seed))
        policy = GaussianPolicy(template.observation_space, template.action_space, lambda _: 0.0,
                                critic=False, **kwargs)
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
        ``seed`` starts from; a linear mean starts at 0) or ``zero``.
    :param seed: seed of a random centre.
    :param horizon: default: the env preset's.
    :param gamma: default: the env preset's.
    :param policy: mean network (``linear``/``mlp``), default: the preset's.
    :raises ValueError: on an unknown env or centre, or an env without a reference policy.
    """
    from mollirl.config import resolve_config
    from mollirl.envs import get_env_plugin

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
    config = resolve_config(env, "reinforce", {}, cli, dict(plugin.preset))
    return LandscapeProblem(
        env=env, policy=_policy_from_config(config), horizon=config.horizon, gamma=config.gamma,
        env_kwargs=dict(config.env_kwargs), eval_kwargs=dict(plugin.eval_kwargs), label=center,
        metadata={"center": center, "seed": int(seed)},
    )


def _load_policy(config, path: Path) -> tuple[GaussianPolicy, int]:
    from mollirl import registry
    from mollirl.algos import resolve_class

    cls = resolve_class(registry.get("algos", config.algo))
    try:
        with preserved_global_rng():
            model = cls.load(path, device="cpu")
    except Exception as exc:  # noqa: BLE001 - a corrupt zip must become one line
        raise ValueError(f"cannot load {str(path)!r}: {type(exc).__name__}: {exc}") from None
    return model.policy, int(model.num_timesteps // config.steps_per_epoch)


def available_epochs(run_dir: str | Path) -> dict[int, str]:
    """``{epoch: source}`` of the epochs ``epoch:N`` can load from this run folder."""
    from mollirl.config import RunConfig, load_yaml

    run_dir = Path(run_dir)
    out: dict[int, str] = {0: "config.yml (initial policy rebuilt from the seed)"}
    for npz in sorted((run_dir / "landscapes").glob("epoch_*.npz")):
        m = re.fullmatch(r"epoch_(\d+)\.npz", npz.name)
        if m:
            out[int(m.group(1))] = str(npz.relative_to(run_dir))
    latest = run_dir / "checkpoints" / "latest.json"
    if latest.is_file() and (run_dir / "checkpoints" / "latest.zip").is_file():
        try:
            out[int(json.loads(latest.read_text())["epoch"])] = "checkpoints/latest.zip"
        except (ValueError, KeyError, TypeError):
            pass
    if (run_dir / "model.zip").is_file():
        try:
            config = RunConfig(**load_yaml(run_dir / "config.yml"))
            out[_saved_timesteps(run_dir / "model.zip") // config.steps_per_epoch] = "model.zip"
        except (TypeError, ValueError, KeyError, OSError, zipfile.BadZipFile):
            pass
    return dict(sorted(out.items()))


def _saved_timesteps(path: Path) -> int:
    """``num_timesteps`` of an SB3 zip, read from its ``data`` JSON without loading the model."""
    with zipfile.ZipFile(path) as zf:
        return int(json.loads(zf.read("data"))["num_timesteps"])


def problem_from_run(run_dir: str | Path, at: str = "final", *, horizon: int | None = None,
                     gamma: float | None = None) -> LandscapeProblem:
    """A landscape problem around a run's policy at ``initial``, ``final`` or ``epoch:N``.

    :param run_dir: a run folder of ``python -m mollirl.train``.
    :param at: ``initial`` (theta_0), ``final`` (``model.zip``) or ``epoch:N`` (see the module docstring).
    :param horizon: default: the run's.
    :param gamma: default: the run's.
    :raises ValueError: for a folder that is not a run, has no model (no ``model.zip``
        and no checkpoint), or lacks the requested epoch (the message lists the available ones).
    """
    from mollirl import registry
    from mollirl.config import RunConfig, load_yaml
    from mollirl.envs import get_env_plugin

    run_dir = Path(run_dir)
    if not (run_dir / "config.yml").is_file():
        raise ValueError(f"--run {str(run_dir)!r} is not a run folder (no config.yml)")
    try:
        config = RunConfig(**load_yaml(run_dir / "config.yml")).validate()
    except TypeError as exc:
        raise ValueError(f"{str(run_dir / 'config.yml')!r} is not a valid run config: {exc}") from None
    registry.load_all_plugins(config.plugins)
    model_zip, latest_zip = run_dir / "model.zip", run_dir / "checkpoints" / "latest.zip"
    any_model = model_zip if model_zip.is_file() else latest_zip if latest_zip.is_file() else None
    if any_model is None:
        raise ValueError(f"run folder {str(run_dir)!r} has no model (neither model.zip nor checkpoints/latest.zip)")
    if at == "initial":
        epoch = 0
    elif at == "final":
        if not model_zip.is_file():
            raise ValueError(f"run folder {str(run_dir)!r} has no model.zip (the run did not finish); "
                             f"use --at epoch:N with N in {sorted(available_epochs(run_dir))}")
        epoch = None
    else:
        m = re.fullmatch(r"epoch:(\d+)", at)
        if not m:
            raise ValueError(f"--at must be initial, final or epoch:N, got {at!r}")
        epoch = int(m.group(1))

    if epoch is None:
        policy, epoch = _load_policy(config, model_zip)
        source = "model.zip"
    elif epoch == 0:
        policy, _ = _load_policy(config, any_model)
        initial = _policy_from_config(config)
        policy.set_mean_vector(initial.get_mean_vector())
        with th.no_grad():
            policy.log_std.copy_(initial.log_std)
        source = "config.yml (rebuilt)"
    else:
        available = available_epochs(run_dir)
        if epoch not in available:
            raise ValueError(f"epoch {epoch} of {str(run_dir)!r} is not saved; available epochs: "
                             f"{sorted(available)} (train with --callback landscape:every=1 to keep every epoch)")
        source = available[epoch]
        if source in ("model.zip", "checkpoints/latest.zip"):
            policy, _ = _load_policy(config, run_dir / source)
        else:
            policy, _ = _load_policy(config, any_model)
            with np.load(run_dir / source, allow_pickle=False) as data:
                centre, labels = np.array(data["centre"]), [str(s) for s in data["labels"]]
                sigma = np.array(data["policy_sigma"]) if "policy_sigma" in data else None
            if labels != policy.mean_parameter_labels():
                raise ValueError(f"{source} was written for another policy ({len(labels)} parameters)")
            policy.set_mean_vector(centre)
            if sigma is not None and policy.sigma_mode != "learnable":
                policy.set_sigma(float(np.mean(sigma)))
    plugin = get_env_plugin(config.env)
    name = f"final (epoch {epoch})" if at == "final" else "initial (epoch 0)" if epoch == 0 else f"epoch {epoch}"
    return LandscapeProblem(
        env=config.env, policy=policy, horizon=int(horizon or config.horizon), gamma=float(gamma or config.gamma),
        env_kwargs=dict(config.env_kwargs), eval_kwargs=dict(plugin.eval_kwargs),
        label=f"{name} of {run_dir}",
        metadata={"run_dir": str(run_dir), "at": at, "epoch": int(epoch), "source": source},
    )
