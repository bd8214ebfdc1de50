"""Plugin records that carry no heavy imports (registering an algorithm must not import torch).

:class:`AlgoPlugin` is what the ``algos`` registry holds; the env counterpart is
:class:`mollirl.common.env_util.EnvPlugin`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def resolve(obj: Any) -> Any:
    """``obj``, or the object a ``"module:name"`` string names (imported on first use)."""
    if isinstance(obj, str):
        module, name = obj.split(":")
        return getattr(importlib.import_module(module), name)
    return obj


@dataclass(frozen=True)
class AlgoPlugin:
    """How mollirl builds one algorithm (the ``algos`` registry's entries).

    :param cls: the algorithm class (used for ``load``), or a ``"module:Class"`` string
        resolved on first use (so registering imports no torch).
    :param build: ``(config, env, policy_kwargs, **contract) -> model``; ``contract`` holds
        ``horizon``, ``planned_epochs``, ``sigma_schedule``, ``eval_options`` and ``rollout_env``
        for the model's :class:`EpochAlgorithm` constructor.
    :param defaults: config values this algorithm needs different from the env presets'
        (e.g. PPO's Adam learning rate instead of REINFORCE's delta).
    :param ignores: config keys this algorithm does not use (``--show-hyperparams`` leaves them out:
        REINFORCE's ``baseline`` and ``update`` for PPO).
    :param notes: ``notes(config) -> [line, ...]``: what the resolver says about a resolved config of this
        algorithm (one line each, e.g. a minibatch size that does not divide an epoch), or None.
    :param check: ``check(config, name)``: raise ``ValueError`` for an algorithm keyword argument it cannot use,
        naming the key as ``name(key)`` (where it was written: ``-params``, a ``-conf`` section), or None.
    """

    cls: type | str
    build: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    ignores: tuple[str, ...] = ()
    notes: Callable[[Any], list[str]] | None = None
    check: Callable[[Any, Callable[[str], str]], None] | None = None

    def resolve(self) -> type:
        """The algorithm class (importing it if it was given as a string)."""
        return resolve(self.cls)


def resolve_class(plugin: AlgoPlugin) -> type:
    """The algorithm class of a registered plugin."""
    return plugin.resolve()
