"""Built-in envs (plugin subpackage): registration with Gymnasium and mollirl's registry.

Importing this module registers ``mollirl/PlanarQuadrotor-v0``,
``mollirl/DoublePendulum-v0`` and ``mollirl/HopperStand-v0`` with Gymnasium
(string entry points: no MuJoCo import until the hopper is made) and the short
names ``quadrotor``, ``double-pendulum``, ``hopper-stand`` in mollirl's ``envs``
registry, each with the paper's training preset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from mollirl.registry import register


@dataclass(frozen=True)
class EnvPlugin:
    """What mollirl knows about an env beyond its Gymnasium id.

    :param gym_id: the registered Gymnasium id.
    :param make_vec: optional batched factory ``(n_envs, max_episode_steps, n_threads, **env_kwargs) -> VecEnv``
        (``n_threads``: worker threads for stepping, None = all cores; a factory may ignore it);
        without one, a ``DummyVecEnv`` of ``gym.make`` copies is used.
    :param preset: the paper's training hyperparameters (config keys).
    :param eval_kwargs: env kwargs that make resets deterministic for evaluating J_det
        (e.g. ``{"start_noise": 0.0}``).
    :param reference: optional ``env -> {"K", "b"}`` reference policy for ``--policy-init reference``.
    """

    gym_id: str
    make_vec: Callable[..., Any] | None = None
    preset: dict[str, Any] = field(default_factory=dict)
    eval_kwargs: dict[str, Any] = field(default_factory=dict)
    reference: Callable[[gym.Env], dict] | None = None


def _register_gym(env_id: str, entry_point: str) -> None:
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=entry_point, max_episode_steps=1000)


def _analytic_vec(cls_path: str) -> Callable[..., Any]:
    def make(n_envs: int, max_episode_steps: int = 1000, n_threads: int | None = None, **env_kwargs: Any):
        # numpy steps every copy in one call on one thread: n_threads does not apply
        import importlib

        from mollirl.envs.vec import AnalyticVecEnv

        module, name = cls_path.split(":")
        return AnalyticVecEnv(getattr(importlib.import_module(module), name), n_envs, max_episode_steps, **env_kwargs)

    return make


def _hopper_vec(n_envs: int, max_episode_steps: int = 1000, n_threads: int | None = None, **env_kwargs: Any):
    from mollirl.envs.hopper_vec import HopperStandVecEnv

    return HopperStandVecEnv(n_envs, max_episode_steps=max_episode_steps, n_threads=n_threads, **env_kwargs)


def _reference(env):
    # one mapping from env to reference controller: mollirl.control.reference_policy
    from mollirl.control.reference import reference_policy

    return reference_policy(env)


_register_gym("mollirl/PlanarQuadrotor-v0", "mollirl.envs.quadrotor:PlanarQuadrotorEnv")
_register_gym("mollirl/DoublePendulum-v0", "mollirl.envs.double_pendulum:DoublePendulumEnv")
_register_gym("mollirl/HopperStand-v0", "mollirl.envs.hopper_stand:HopperStandEnv")

register(
    "envs", "quadrotor",
    EnvPlugin(
        gym_id="mollirl/PlanarQuadrotor-v0",
        make_vec=_analytic_vec("mollirl.envs.quadrotor:PlanarQuadrotorEnv"),
        preset=dict(policy="linear", policy_init="reference", sigma=0.1, batch_episodes=16, epochs=50,
                    horizon=1000, gamma=0.99, step_size=0.001),
        eval_kwargs={"start_noise": 0.0},
        reference=_reference,
    ),
    help="planar quadrotor hover (paper App. F.3, Fig. 8), 6 states, 2 thrusts",
)
register(
    "envs", "double-pendulum",
    EnvPlugin(
        gym_id="mollirl/DoublePendulum-v0",
        make_vec=_analytic_vec("mollirl.envs.double_pendulum:DoublePendulumEnv"),
        preset=dict(policy="linear", policy_init="reference", sigma=0.5, batch_episodes=16, epochs=50,
                    horizon=1000, gamma=0.99, step_size=1.0),
        eval_kwargs={"start_noise": 0.0},
        reference=_reference,
    ),
    help="double pendulum stabilization (paper App. F.2, Fig. 7), 4 states, 2 torques",
)
register(
    "envs", "hopper-stand",
    EnvPlugin(
        gym_id="mollirl/HopperStand-v0",
        make_vec=_hopper_vec,
        preset=dict(policy="mlp", policy_init="random", sigma=0.05, batch_episodes=32, epochs=100,
                    horizon=1000, gamma=0.99, step_size=1.0, policy_kwargs={"hidden": 16, "bias": False}),
        eval_kwargs={"reset_noise_scale": 0.0},
    ),
    help="MuJoCo Hopper-v5 standing still (paper App. F.1, Fig. 6), 11 obs, 3 actions",
)


def get_env_plugin(name: str) -> EnvPlugin:
    """The :class:`EnvPlugin` registered as ``name`` (short name) or with Gymnasium id ``name``."""
    from mollirl.registry import entries, get

    for entry in entries("envs"):
        if entry.obj.gym_id == name:
            return entry.obj
    if name in gym.registry and ":" not in name and name not in [e.name for e in entries("envs")]:
        return EnvPlugin(gym_id=name)
    return get("envs", name)


def make_vec_env(name: str, n_envs: int, *, max_episode_steps: int = 1000, seed: int | None = None,
                 n_threads: int | None = None, **env_kwargs: Any):
    """A batched ``VecEnv`` of ``n_envs`` copies of env ``name`` (short name or Gymnasium id).

    Built-in envs use their batched form; other envs a ``DummyVecEnv`` of ``gym.make``
    copies (with ``max_episode_steps``). ``seed`` is applied at the first ``reset``.
    ``n_threads`` bounds the stepping threads of a batched MuJoCo env (None: all cores).
    """
    plugin = get_env_plugin(name)
    if plugin.make_vec is not None:
        venv = plugin.make_vec(n_envs, max_episode_steps=max_episode_steps, n_threads=n_threads, **env_kwargs)
    else:
        from stable_baselines3.common.vec_env import DummyVecEnv

        def factory():
            return gym.make(plugin.gym_id, max_episode_steps=max_episode_steps, **env_kwargs)

        venv = DummyVecEnv([factory for _ in range(n_envs)])
    if seed is not None:
        venv.seed(seed)
    return venv


__all__ = ["EnvPlugin", "get_env_plugin", "make_vec_env"]
