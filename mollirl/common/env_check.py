"""An env checked before any folder exists: a Box action space, and a plugin env's shapes and types.

mollirl's policies are Gaussian: every env needs a continuous (``Box``) action space, checked
from the space alone (no step). An env that is not mollirl's own (a plugin's, or any Gymnasium
id) is also reset and stepped once, on its own copy, with the action at the centre of the box:
its observation must have the observation space's shape and a real dtype, its reward must be one
real number and its flags booleans. A plugin that breaks this is refused in one line naming the
plugin's env and the call (exit code 1, :class:`mollirl.registry.PluginError`) before any run
folder is written, instead of several lines from inside the rollout after it was.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np


def _describe(space) -> str:
    """``Box(2,)``, ``Discrete(2)``."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Box):
        return f"Box{tuple(space.shape)}"
    return str(space)


def is_builtin(name: str) -> bool:
    """Whether env ``name`` is one of mollirl's own (its Gymnasium entry point is in the ``mollirl`` package)."""
    import gymnasium as gym

    from mollirl.common.env_util import get_env_plugin

    spec = gym.registry.get(get_env_plugin(name).gym_id)
    entry = getattr(spec, "entry_point", None)
    module = entry if isinstance(entry, str) else getattr(entry, "__module__", "")
    return str(module).startswith("mollirl.")


def check_action_space(name: str, env) -> None:
    """``ValueError`` (bad input: the env chosen cannot be trained by a Gaussian policy) unless ``env``'s
    action space is a ``Box`` of floats."""
    import gymnasium as gym

    space = env.action_space
    if not isinstance(space, gym.spaces.Box) or not np.issubdtype(space.dtype, np.floating):
        raise ValueError(f"env {name!r} has a {_describe(space)} action space: mollirl's Gaussian policies need a "
                         "continuous Box action space (e.g. Pendulum-v1 rather than CartPole-v1)")


def _plugin_error(name: str, call: str, problem: str):
    from mollirl.registry import PluginError

    return PluginError(f"env {name!r} (a plugin's) {call} {problem}: the env does not keep Gymnasium's contract")


def check_step_contract(name: str, env_kwargs: dict[str, Any] | None = None) -> None:
    """Reset and step a fresh copy of env ``name`` once; :class:`~mollirl.registry.PluginError` on a wrong
    observation shape or dtype, a reward that is not one real number, or flags that are not booleans.

    An exception the env raises in ``reset`` or ``step`` propagates as it is (:mod:`mollirl.guard` names
    the plugin's function in one line).
    """
    from mollirl.common.env_util import make_env

    env = make_env(name, **dict(env_kwargs or {}))
    try:
        check_action_space(name, env)
        space = env.observation_space
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Gymnasium's env checker warns in several lines: we say it in one
            obs, _ = env.reset(seed=0)
            _check_obs(name, "reset", obs, space)
            low, high = env.action_space.low, env.action_space.high
            action = np.where(np.isfinite(low) & np.isfinite(high), (low + high) / 2, 0.0).astype(
                env.action_space.dtype)
            out = env.step(action)
        if not isinstance(out, tuple) or len(out) != 5:
            raise _plugin_error(name, "step", f"returned {type(out).__name__} of {len(out) if isinstance(out, tuple) else '?'} "
                                "items, not (obs, reward, terminated, truncated, info)")
        obs, reward, terminated, truncated, _ = out
        _check_obs(name, "step", obs, space)
        if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (numbers.Real, np.floating, np.integer)) \
                and not (isinstance(reward, np.ndarray) and reward.shape == () and np.issubdtype(reward.dtype, np.number)):
            shape = getattr(reward, "shape", None)
            raise _plugin_error(name, "step", f"returned a reward of type {type(reward).__name__}"
                                + (f" and shape {tuple(shape)}" if shape is not None else "") + ", not one real number")
        for flag, value in (("terminated", terminated), ("truncated", truncated)):
            if not isinstance(value, (bool, np.bool_)):
                raise _plugin_error(name, "step", f"returned {flag} of type {type(value).__name__}, not a bool")
    finally:
        env.close()


def _check_obs(name: str, call: str, obs, space) -> None:
    shape = getattr(space, "shape", None)
    arr = np.asarray(obs)
    if shape is not None and arr.shape != tuple(shape):
        raise _plugin_error(name, call, f"returned an observation of shape {arr.shape}; its observation space "
                            f"is {_describe(space)}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise _plugin_error(name, call, f"returned an observation of dtype {arr.dtype}, not a real number type")


#: (env, env kwargs) that passed :func:`check_env` in this process (a population checks each member's config)
_PASSED: set[str] = set()


def check_env(name: str, env_kwargs: dict[str, Any] | None = None) -> None:
    """The checks a command runs before any folder, for an env that is not mollirl's own (a plugin's, a
    Gymnasium id): its action space and :func:`check_step_contract`, once per env and kwargs in a process.
    mollirl's own envs are checked by the test suite, not at every command."""
    key = repr((name, sorted((env_kwargs or {}).items())))
    if key in _PASSED or is_builtin(name):
        return
    check_step_contract(name, env_kwargs)
    _PASSED.add(key)
