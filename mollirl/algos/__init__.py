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
    from mollirl.sigma import parse_sigma_schedule

    schedule = parse_sigma_schedule(config.sigma_schedule, config.sigma) if config.sigma_schedule else None
    return REINFORCE(
        "GaussianPolicy", env, horizon=config.horizon, step_size=config.step_size, gamma=config.gamma,
        baseline=config.baseline, update=config.update, sigma_schedule=schedule, n_epochs=config.epochs,
        policy_kwargs=policy_kwargs, seed=config.seed, device=config.device, **config.algo_kwargs,
    )


def _build_ppo(config, env, policy_kwargs: dict[str, Any]):
    from mollirl.algos.ppo import MollifiedPPO
    from mollirl.sigma import parse_sigma_schedule

    schedule = parse_sigma_schedule(config.sigma_schedule, config.sigma) if config.sigma_schedule else None
    kwargs = dict(batch_size=min(config.steps_per_epoch, 1000), n_epochs=10)
    kwargs.update(config.algo_kwargs)
    return MollifiedPPO(
        "GaussianPolicy", env, learning_rate=config.step_size, n_steps=config.horizon, gamma=config.gamma,
        sigma_schedule=schedule, n_updates_planned=config.epochs, policy_kwargs={**policy_kwargs, "critic": True},
        seed=config.seed, device=config.device, **kwargs,
    )


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
register("algos", "ppo", AlgoPlugin(cls=_LazyClass("mollirl.algos.ppo:MollifiedPPO"), build=_build_ppo,
                                     defaults={"step_size": 3e-4, "update": "adam"}),
         help="SB3 PPO with mollirl's Gaussian policies (fixed/learnable/scheduled sigma)")


def resolve_class(plugin: AlgoPlugin) -> type:
    """The algorithm class of a plugin (resolving a lazy one)."""
    return plugin.cls.resolve() if isinstance(plugin.cls, _LazyClass) else plugin.cls
