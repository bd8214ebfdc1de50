"""Algorithms (registered as plugins like any third-party one).

Each registry entry is an :class:`AlgoPlugin`: the SB3 class and a ``build``
function that turns a :class:`~mollirl.config.RunConfig` into a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mollirl.registry import register


@dataclass(frozen=True)
class AlgoPlugin:
    """How mollirl builds one algorithm.

    :param cls: the SB3 algorithm class (used for ``load``).
    :param build: ``(config, env, policy_kwargs) -> model``.
    :param defaults: config values this algorithm needs different from the env
        presets' (e.g. PPO's Adam learning rate instead of REINFORCE's delta).
    """

    cls: type
    build: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)


def _build_reinforce(config, env, policy_kwargs: dict[str, Any]):
    from mollirl.algos.reinforce import REINFORCE

    schedule = _schedule(config)
    return REINFORCE(
        "GaussianPolicy", env, horizon=config.horizon, step_size=config.step_size, gamma=config.gamma,
        baseline=config.baseline, update=config.update, sigma_schedule=schedule, n_epochs=config.epochs,
        policy_kwargs=policy_kwargs, seed=config.seed, device=config.device, **config.algo_kwargs,
    )


def _schedule(config):
    from mollirl.sigma import parse_sigma_schedule

    return parse_sigma_schedule(config.sigma_schedule, config.sigma) if config.sigma_schedule else None


def _build_actor_critic(cls_name: str, defaults: dict[str, Any]):
    def build(config, env, policy_kwargs: dict[str, Any]):
        from mollirl.algos import ppo

        kwargs = {k: (v(config) if callable(v) else v) for k, v in defaults.items()}
        kwargs.update(config.algo_kwargs)
        return getattr(ppo, cls_name)(
            "GaussianPolicy", env, learning_rate=config.step_size, n_steps=config.horizon, gamma=config.gamma,
            sigma_schedule=_schedule(config), n_updates_planned=config.epochs,
            policy_kwargs={**policy_kwargs, "critic": True}, seed=config.seed, device=config.device, **kwargs,
        )

    return build


def _build_ars(config, env, policy_kwargs: dict[str, Any]):
    from mollirl.algos.ars import MollifiedARS

    if config.learn_sigma:
        raise ValueError("ARS has no learnable sigma: its parameter-space sigma (delta_std) is --sigma, "
                         "optionally scheduled with --sigma-schedule")
    if config.batch_episodes % 2 or config.batch_episodes < 2:
        raise ValueError(f"ARS evaluates 2 n_delta candidates, one episode each: --batch-episodes must be even, "
                         f"got {config.batch_episodes}")
    kwargs = dict(n_delta=config.batch_episodes // 2, learning_rate=config.step_size, delta_std=config.sigma,
                  n_eval_episodes=1)
    kwargs.update(config.algo_kwargs)
    policy_kwargs = {k: v for k, v in policy_kwargs.items() if k != "sigma_mode"}
    return MollifiedARS("GaussianPolicy", env, horizon=config.horizon, sigma_schedule=_schedule(config),
                        n_updates_planned=config.epochs, policy_kwargs=policy_kwargs, seed=config.seed,
                        device=config.device, **kwargs)


class _LazyClass:
    """Resolves the algorithm class on first use, so registration imports no torch."""

    def __init__(self, path: str) -> None:
        self.path = path

    def resolve(self) -> type:
        import importlib

        module, name = self.path.split(":")
        return getattr(importlib.import_module(module), name)


register("algos", "reinforce", AlgoPlugin(cls=_LazyClass("mollirl.algos.reinforce:REINFORCE"), build=_build_reinforce),
         help="REINFORCE, whole episodes, normalized gradient steps (the paper's)")
register("algos", "ppo",
         AlgoPlugin(cls=_LazyClass("mollirl.algos.ppo:MollifiedPPO"),
                    build=_build_actor_critic("MollifiedPPO", {"batch_size": lambda c: min(c.steps_per_epoch, 1000),
                                                               "n_epochs": 10}),
                    defaults={"step_size": 3e-4, "update": "adam"}),
         help="SB3 PPO with mollirl's Gaussian policies (fixed/learnable/scheduled sigma)")
register("algos", "trpo",
         AlgoPlugin(cls=_LazyClass("mollirl.algos.ppo:MollifiedTRPO"),
                    build=_build_actor_critic("MollifiedTRPO", {"batch_size": lambda c: min(c.steps_per_epoch, 1000)}),
                    defaults={"step_size": 1e-3, "update": "adam"}),
         help="sb3-contrib TRPO with mollirl's Gaussian policies (action-space sigma)")
register("algos", "ars",
         AlgoPlugin(cls=_LazyClass("mollirl.algos.ars:MollifiedARS"), build=_build_ars,
                    defaults={"step_size": 0.02, "update": "adam"}),
         help="sb3-contrib ARS: Gaussian smoothing in parameter space; --sigma is delta_std")


def resolve_class(plugin: AlgoPlugin) -> type:
    """The algorithm class of a plugin (resolving a lazy one)."""
    return plugin.cls.resolve() if isinstance(plugin.cls, _LazyClass) else plugin.cls
