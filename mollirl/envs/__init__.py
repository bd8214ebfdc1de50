"""Built-in envs (a plugin, loaded through the ``mollirl.plugins`` entry points like any other).

Importing this module registers ``mollirl/PlanarQuadrotor-v0``,
``mollirl/DoublePendulum-v0``, ``mollirl/SinglePendulum-v0`` and
``mollirl/HopperStand-v0`` with Gymnasium (string entry points: no MuJoCo import
until the hopper is made) and the short names ``quadrotor``, ``double-pendulum``,
``single-pendulum``, ``hopper-stand`` in mollirl's ``envs`` registry, each with
the paper's training preset, read from ``mollirl/hyperparams/reinforce.yml`` (their
single source; the single pendulum's, which the paper does not give, mirrors the
double pendulum's with the random tanh-MLP of Figure 2).

``EnvPlugin``, ``get_env_plugin`` and ``make_vec_env`` live in
:mod:`mollirl.common.env_util` and are re-exported here for plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym

from mollirl.common.env_util import EnvPlugin, get_env_plugin, make_vec_env
from mollirl.hyperparams import FilePreset
from mollirl.registry import register

#: steps per episode of every built-in env (the paper's horizon)
MAX_EPISODE_STEPS = 1000


def _register_gym(env_id: str, entry_point: str) -> None:
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=entry_point, max_episode_steps=MAX_EPISODE_STEPS)


def _analytic_vec(cls_path: str) -> Callable[..., Any]:
    def make(n_envs: int, max_episode_steps: int = MAX_EPISODE_STEPS, n_threads: int | None = None, **env_kwargs: Any):
        # numpy steps every copy in one call on one thread: n_threads does not apply
        import importlib

        from mollirl.envs.vec import AnalyticVecEnv

        module, name = cls_path.split(":")
        return AnalyticVecEnv(getattr(importlib.import_module(module), name), n_envs, max_episode_steps, **env_kwargs)

    return make


def _hopper_vec(n_envs: int, max_episode_steps: int = MAX_EPISODE_STEPS, n_threads: int | None = None,
                **env_kwargs: Any):
    from mollirl.envs.hopper_vec import HopperStandVecEnv

    return HopperStandVecEnv(n_envs, max_episode_steps=max_episode_steps, n_threads=n_threads, **env_kwargs)


def _analytic_start(env) -> dict:
    """The analytic envs' evaluation start: exactly ``start_state`` (no start noise)."""
    return {"state": env.start_state.copy()}


def _hopper_start(env) -> dict:
    """Hopper-stand's evaluation start: Hopper-v5's initial qpos and qvel, without reset noise."""
    return {"qpos": env.init_qpos.copy(), "qvel": env.init_qvel.copy()}


def _quadrotor_reference(env):
    from mollirl.control.reference import quadrotor_reference

    return quadrotor_reference(env)


def _double_pendulum_reference(env):
    from mollirl.control.reference import double_pendulum_reference

    return double_pendulum_reference(env)


_register_gym("mollirl/PlanarQuadrotor-v0", "mollirl.envs.quadrotor:PlanarQuadrotorEnv")
_register_gym("mollirl/DoublePendulum-v0", "mollirl.envs.double_pendulum:DoublePendulumEnv")
_register_gym("mollirl/SinglePendulum-v0", "mollirl.envs.single_pendulum:SinglePendulumEnv")
_register_gym("mollirl/HopperStand-v0", "mollirl.envs.hopper_stand:HopperStandEnv")

register(
    "envs", "quadrotor",
    EnvPlugin(
        gym_id="mollirl/PlanarQuadrotor-v0",
        make_vec=_analytic_vec("mollirl.envs.quadrotor:PlanarQuadrotorEnv"),
        preset=FilePreset("reinforce", "quadrotor"),
        eval_start=_analytic_start,
        reference=_quadrotor_reference,
    ),
    help="planar quadrotor hover (paper App. F.3, Fig. 8), 6 states, 2 thrusts",
)
register(
    "envs", "double-pendulum",
    EnvPlugin(
        gym_id="mollirl/DoublePendulum-v0",
        make_vec=_analytic_vec("mollirl.envs.double_pendulum:DoublePendulumEnv"),
        preset=FilePreset("reinforce", "double-pendulum"),
        eval_start=_analytic_start,
        reference=_double_pendulum_reference,
    ),
    help="double pendulum stabilization (paper App. F.2, Fig. 7), 4 states, 2 torques",
)
register(
    "envs", "single-pendulum",
    EnvPlugin(
        gym_id="mollirl/SinglePendulum-v0",
        make_vec=_analytic_vec("mollirl.envs.single_pendulum:SinglePendulumEnv"),
        preset=FilePreset("reinforce", "single-pendulum"),  # not in the paper (see reinforce.yml)
        eval_start=_analytic_start,
    ),
    help="single pendulum stabilization, the double pendulum's first link alone (paper Fig. 2b), 2 states, 1 torque",
)
register(
    "envs", "hopper-stand",
    EnvPlugin(
        gym_id="mollirl/HopperStand-v0",
        make_vec=_hopper_vec,
        preset=FilePreset("reinforce", "hopper-stand"),
        eval_start=_hopper_start,
    ),
    help="MuJoCo Hopper-v5 standing still (paper App. F.1, Fig. 6), 11 obs, 3 actions",
)

__all__ = ["EnvPlugin", "get_env_plugin", "make_vec_env"]
