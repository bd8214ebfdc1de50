"""What mollirl knows about an env beyond its Gymnasium id, and how it makes VecEnvs of it.

An env plugin (the built-in ones in :mod:`mollirl.envs`, or a third party's)
registers an :class:`EnvPlugin` under a short name::

    from mollirl.common.env_util import EnvPlugin   # also importable as mollirl.envs.EnvPlugin
    from mollirl.registry import register
    register("envs", "my-env", EnvPlugin(gym_id="MyPackage/MyEnv-v0"), help="...")

Any Gymnasium id works as well, with no plugin: a ``DummyVecEnv`` of
``gym.make`` copies, the env's own ``max_episode_steps`` and no reference policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from mollirl import registry


@dataclass(frozen=True)
class EnvPlugin:
    """An env as mollirl uses it.

    :param gym_id: the registered Gymnasium id (the plugin registers it with Gymnasium itself).
    :param make_vec: optional batched factory ``(n_envs, max_episode_steps, n_threads, **env_kwargs) -> VecEnv``
        (``n_threads``: worker threads for stepping, None = all cores; a factory may ignore it);
        without one, a ``DummyVecEnv`` of ``gym.make`` copies is used. A VecEnv that exposes
        ``batched_dynamics`` (:class:`mollirl.rollout.BatchedDynamics`) is stepped by the rollout
        core as pure arrays.
    :param preset: the paper's training hyperparameters (config keys).
    :param eval_start: ``env -> reset options`` that start the env at its noise-free evaluation
        state (the start of every J_det and landscape rollout), e.g. ``{"state": s0}``; None:
        evaluation rollouts reset with seed 0 and no options (the env's own start distribution).
    :param reference: optional ``env -> {"K", "b"}`` reference policy for ``--policy-init reference``.
    """

    gym_id: str
    make_vec: Callable[..., Any] | None = None
    preset: dict[str, Any] = field(default_factory=dict)
    eval_start: Callable[[gym.Env], dict] | None = None
    reference: Callable[[gym.Env], dict] | None = None

    def eval_options(self, env: gym.Env) -> dict | None:
        """The reset options of the evaluation start for ``env`` (a template of this env), or None."""
        return None if self.eval_start is None else dict(self.eval_start(env.unwrapped))


def get_env_plugin(name: str) -> EnvPlugin:
    """The :class:`EnvPlugin` registered as ``name`` (short name) or with Gymnasium id ``name``;
    a bare :class:`EnvPlugin` for any other registered Gymnasium id.

    :raises ValueError: for a name that is neither (listing the registered names and the closest).
    """
    for entry in registry.entries("envs"):
        if entry.obj.gym_id == name:
            return entry.obj
    if name in gym.registry and ":" not in name and name not in registry.names("envs"):
        return EnvPlugin(gym_id=name)
    return registry.get("envs", name)


def default_horizon(name: str) -> int | None:
    """The env's registered ``max_episode_steps`` (None if it has none)."""
    plugin = get_env_plugin(name)
    spec = gym.registry.get(plugin.gym_id)
    return None if spec is None else spec.max_episode_steps


def make_env(name: str, **env_kwargs: Any) -> gym.Env:
    """One env (a template: spaces, reference policy, evaluation start).

    :raises ValueError: on keyword arguments the env does not accept.
    """
    plugin = get_env_plugin(name)
    try:
        return gym.make(plugin.gym_id, **env_kwargs)
    except TypeError as exc:
        raise ValueError(f"bad --env-kwargs for {name!r}: {exc}") from None
    except ValueError as exc:  # the env refused a value: say which flag brought it
        if not env_kwargs:
            raise
        given = " ".join(f"{k}:{v}" for k, v in env_kwargs.items())
        raise ValueError(f"--env-kwargs {given}: {exc}") from None


def make_vec_env(name: str, n_envs: int, *, max_episode_steps: int = 1000, seed: int | None = None,
                 n_threads: int | None = None, **env_kwargs: Any):
    """A batched ``VecEnv`` of ``n_envs`` copies of env ``name`` (short name or Gymnasium id).

    Built-in envs use their batched form; other envs a ``DummyVecEnv`` of ``gym.make`` copies
    (with ``max_episode_steps``). ``seed`` is applied at the first ``reset``.
    ``n_threads`` bounds the stepping threads of a batched MuJoCo env (None: all cores).

    :raises ValueError: on keyword arguments the env does not accept.
    """
    plugin = get_env_plugin(name)
    try:
        if plugin.make_vec is not None:
            venv = plugin.make_vec(n_envs, max_episode_steps=max_episode_steps, n_threads=n_threads, **env_kwargs)
        else:
            from stable_baselines3.common.vec_env import DummyVecEnv

            def factory():
                return gym.make(plugin.gym_id, max_episode_steps=max_episode_steps, **env_kwargs)

            venv = DummyVecEnv([factory for _ in range(n_envs)])
    except TypeError as exc:
        raise ValueError(f"bad --env-kwargs for {name!r}: {exc}") from None
    if seed is not None:
        venv.seed(seed)
    return venv


def reference_policy(env: gym.Env) -> dict[str, Any]:
    """The reference controller ``{"K": (m, n), "b": (m,)}`` of an env with one (its plugin's ``reference``).

    :raises ValueError: for an env whose plugin has no reference policy.
    """
    spec_id = getattr(getattr(env, "spec", None), "id", None) or getattr(env.unwrapped.spec, "id", None)
    plugin = get_env_plugin(spec_id) if spec_id is not None else None
    if plugin is None or plugin.reference is None:
        name = type(env.unwrapped).__name__
        raise ValueError(f"no reference policy for env {name}; use --policy-init random or zero")
    return plugin.reference(env)


__all__ = ["EnvPlugin", "default_horizon", "get_env_plugin", "make_env", "make_vec_env", "reference_policy"]
