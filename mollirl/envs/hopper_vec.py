"""Batched SB3 ``VecEnv`` of :class:`~mollirl.envs.hopper_stand.HopperStandEnv` on MuJoCo's thread pool.

The simulations are MuJoCo 4's :class:`mujoco.batch.Batch`: one copy of the model,
one state row per env, stepped by a C++ thread pool without the GIL, bit-identical
to a loop of ``mj_step`` over one ``MjData`` per env. Everything else (reward,
observation, time limit, divergence, auto-reset) is numpy over ``(n_envs, ...)``
arrays; the only per-env Python work per step is building the ``infos`` dicts and
resetting the envs whose episodes ended.

Why not ``mujoco.rollout``: its state vector (``mjSTATE_FULLPHYSICS``) omits the
solver warm start ``qacc_warmstart``, so chaining one call per env step restarts
the constraint solver cold each step and drifts from ``HopperStandEnv`` (about
5e-7 after 300 steps). Why not a ``ThreadPoolExecutor`` over ``MjData`` (``mj_step``
releases the GIL): slower than ``Batch`` at every size measured on 2 cores, most
at few envs (8 envs: about 20k vs 27k physics-only env-steps/s; see the ``raw``
rows of ``benchmarks/hopper_throughput.py``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.utils import seeding
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from mollirl.envs.hopper_stand import (
    INSTABILITY_WARNINGS,
    HopperStandEnv,
    check_action,
    parse_reset_options,
    sample_initial_state,
    stand_observation,
    stand_reward,
)

try:
    from mujoco.batch import Batch
except ImportError as exc:  # pragma: no cover - mujoco < 4
    raise ImportError(f"HopperStandVecEnv needs mujoco >= 4.0 (mujoco.batch); found mujoco {mujoco.__version__}") from exc


class HopperStandVecEnv(VecEnv):
    """``n_envs`` Hopper-stand envs stepped in parallel by MuJoCo's batch thread pool.

    Equivalent to ``DummyVecEnv([lambda: gym.make("mollirl/HopperStand-v0",
    max_episode_steps=max_episode_steps, **env_kwargs)] * n_envs)``, bit for bit:
    same observations, rewards, ``dones``, infos (``TimeLimit.truncated``,
    ``terminal_observation`` and the env's own keys), ``reset_infos``, auto-reset
    on done, and seeding: ``seed(s)`` gives env ``i`` the seed ``s + i`` at the next
    :meth:`reset`, and each env owns an ``np.random.Generator`` made by
    ``gymnasium.utils.seeding.np_random`` that draws its reset noise exactly as
    ``HopperStandEnv.reset`` does. ``set_options({"qpos": ..., "qvel": ...})``
    applies at the next :meth:`reset`. One difference: rewards come back as
    float64 (DummyVecEnv's buffer rounds them to float32).

    Attributes (:meth:`get_attr`, :meth:`set_attr`, :meth:`env_method`) are those
    of one template ``HopperStandEnv``, shared by all envs: ``set_attr`` on the
    reward weights changes every env's reward. ``env_method`` first loads env
    ``i``'s ``qpos``/``qvel`` into the template (so ``render``, ``state_vector``,
    ``get_body_com`` describe env ``i``); state changes made by the method are not
    copied back. :meth:`env_is_wrapped` is ``False``: there are no wrappers (the
    time limit is built in).

    :param n_envs: number of envs (>= 1).
    :param max_episode_steps: truncation horizon in env steps (>= 1); the
        registered env uses 1000.
    :param n_threads: threads of MuJoCo's pool, the caller's included (>= 1);
        ``None``: one per CPU available to this process.
    :param env_kwargs: keyword arguments of :class:`HopperStandEnv` (``xml_file``,
        ``frame_skip``, ``reset_noise_scale``, reward weights, ``render_mode``...).
    """

    def __init__(
        self, n_envs: int, max_episode_steps: int = 1000, n_threads: int | None = None, **env_kwargs: Any
    ) -> None:
        for name, value in (("n_envs", n_envs), ("max_episode_steps", max_episode_steps)):
            if not (isinstance(value, (int, np.integer)) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if n_threads is None:
            n_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        elif not (isinstance(n_threads, (int, np.integer)) and n_threads >= 1):
            raise ValueError(f"n_threads must be an integer >= 1 or None, got {n_threads!r}")
        self.template = HopperStandEnv(**env_kwargs)
        self.env_kwargs = dict(env_kwargs)
        self.max_episode_steps = int(max_episode_steps)
        self.n_threads = int(min(n_threads, n_envs))
        super().__init__(int(n_envs), self.template.observation_space, self.template.action_space)
        self.metadata = self.template.metadata
        n = self.num_envs
        self._batch = Batch(self.template.model, n, nthread=self.n_threads)
        # live (n, ...) views of the batch's state rows
        self._qpos = self._batch.bind("qpos")
        self._qvel = self._batch.bind("qvel")
        self._ctrl = self._batch.bind("ctrl")
        self._warnings = self._batch.warning  # (n, mjNWARNING, [lastinfo, number])
        self._warn_count = np.zeros(n, dtype=np.int64)
        self._obs = np.zeros((n, *self.observation_space.shape))
        self._elapsed = np.zeros(n, dtype=np.int64)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._actions: np.ndarray | None = None
        self._needs_reset = True

    # --- reset -----------------------------------------------------------------------
    _WARNING_IDS = np.array(INSTABILITY_WARNINGS)

    def _instability_counts(self) -> np.ndarray:
        return self._warnings[:, self._WARNING_IDS, 1].sum(axis=1, dtype=np.int64)

    def _reset_envs(self, ids: np.ndarray, seeds: Sequence[int | None], options: Sequence[dict | None]) -> None:
        """Reset envs ``ids`` as ``HopperStandEnv.reset(seed=..., options=...)`` would; update ``self._obs``."""
        starts = [parse_reset_options(opt) for opt in options]  # validate before any change
        self._batch.reset(ids, stage=mujoco.mjtStage.mjSTAGE_NONE)
        template = self.template
        for i, seed, (qpos_opt, qvel_opt) in zip(ids.tolist(), seeds, starts):
            if seed is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(seed)
            qpos, qvel = sample_initial_state(
                self._rngs[i], template.init_qpos, template.init_qvel, template._reset_noise_scale
            )
            self._qpos[i] = qpos if qpos_opt is None else qpos_opt
            self._qvel[i] = qvel if qvel_opt is None else qvel_opt
        # No forward(): MujocoEnv.set_state's mj_forward changes no state-row entry, and
        # Batch.forward would also run mj_step's bad-state check (resetting a start
        # like qvel = 1e11 that the single env keeps until its first step).
        self._warn_count[ids] = self._instability_counts()[ids]
        self._elapsed[ids] = 0
        self._obs[ids] = stand_observation(self._qpos[ids], self._qvel[ids])
        for i in ids.tolist():
            self.reset_infos[i] = {
                "x_position": float(self._qpos[i, 0]),
                "z_distance_from_origin": float(self._qpos[i, 1] - template.init_qpos[1]),
            }

    def reset(self) -> np.ndarray:
        """Reset every env with the seeds of :meth:`seed` and the options of :meth:`set_options`, once.

        :return: observations, shape ``(n_envs, 11)``.
        """
        self._reset_envs(np.arange(self.num_envs), self._seeds, [opt or None for opt in self._options])
        self._reset_seeds()
        self._reset_options()
        self._needs_reset = False
        return self._obs.copy()

    # --- step ------------------------------------------------------------------------
    def step_async(self, actions: np.ndarray) -> None:
        """Store the actions, shape ``(n_envs, 3)``, clipped to ``[-1, 1]``.

        :raises ValueError: on a wrong shape or a non-finite action.
        """
        actions = np.asarray(actions)
        expected = (self.num_envs, *self.action_space.shape)
        if actions.shape != expected:
            raise ValueError(f"actions must have shape {expected}, got {actions.shape}")
        self._actions = check_action(actions, self.action_space.low, self.action_space.high)

    def _step_arrays(self) -> tuple:
        """Step every env; auto-reset the done ones. Arrays only (the rollout core's step):
        ``(obs, rewards, dones, diverged, truncated, terminal_obs, reward_terms, qpos_before_reset)``,
        ``terminal_obs`` and ``qpos_before_reset`` rows filled for the done envs only."""
        if self._needs_reset:
            raise ResetNeeded("HopperStandVecEnv: call reset() before step()")
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        actions, self._actions = self._actions, None
        template = self.template
        obs_before = self._obs
        terms = stand_reward(obs_before, actions, template.angle_weight, template.velocity_weight,
                             template.ctrl_weight)
        rewards = terms[0] + terms[1] + terms[2]

        self._ctrl[:] = actions
        self._batch.step(nstep=template.frame_skip)

        counts = self._instability_counts()
        finite = np.isfinite(self._qpos).all(axis=1) & np.isfinite(self._qvel).all(axis=1)
        diverged = (counts != self._warn_count) | ~finite
        self._warn_count = counts
        obs = stand_observation(self._qpos, self._qvel)
        if diverged.any():
            obs[diverged] = obs_before[diverged]
        self._elapsed += 1
        truncated = self._elapsed >= self.max_episode_steps
        dones = diverged | truncated
        qpos = self._qpos[:, :2].copy()  # x and z of the stepped state, before any reset
        self._obs = obs
        terminal = obs
        done_ids = np.flatnonzero(dones)
        if done_ids.size:
            terminal = obs.copy()
            self._reset_envs(done_ids, [None] * done_ids.size, [None] * done_ids.size)
        return self._obs.copy(), rewards, dones, diverged, truncated & ~diverged, terminal, terms, qpos

    def step_arrays(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                         np.ndarray]:
        """``step`` without the per-env info dicts, for the rollout core (``mollirl.rollout``):
        ``(obs, rewards, dones, diverged, truncated, terminal_obs)``, each ``(n_envs, ...)``;
        ``terminal_obs`` holds the last observation of the envs that are done (auto-reset, as ``step``)."""
        self.step_async(actions)
        obs, rewards, dones, diverged, truncated, terminal, _, _ = self._step_arrays()
        return obs, rewards, dones, diverged, truncated, terminal

    def step_wait(self) -> VecEnvStepReturn:
        """Step every env ``frame_skip`` MuJoCo steps; auto-reset the envs that are done.

        :return: ``(observations (n_envs, 11), rewards (n_envs,) float64, dones (n_envs,), infos)``.
        """
        obs, rewards, dones, diverged, truncated, terminal, terms, qpos = self._step_arrays()
        z0 = self.template.init_qpos[1]
        infos: list[dict[str, Any]] = [
            {
                "x_position": x,
                "z_distance_from_origin": z - z0,
                "reward_angles": ra,
                "reward_velocities": rv,
                "reward_ctrl": rc,
                "diverged": dv,
                "TimeLimit.truncated": tl,
            }
            for (x, z), ra, rv, rc, dv, tl in zip(
                qpos.tolist(), terms[0].tolist(), terms[1].tolist(), terms[2].tolist(), diverged.tolist(),
                truncated.tolist(),
            )
        ]
        for i in np.flatnonzero(dones).tolist():
            infos[i]["terminal_observation"] = terminal[i].copy()
        return obs, rewards, dones, infos

    # --- attributes, methods, rendering -----------------------------------------------
    def close(self) -> None:
        self.template.close()
        self._batch = None  # frees the simulations and the thread pool

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The template env's attribute, once per index (all envs share it)."""
        value = getattr(self.template, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the template env, hence of every env.

        :raises ValueError: if ``indices`` does not name every env.
        """
        if sorted(set(self._get_indices(indices))) != list(range(self.num_envs)):
            raise ValueError(f"HopperStandVecEnv's envs share one template; set_attr needs all envs, got {indices!r}")
        setattr(self.template, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any) -> list[Any]:
        """Call a template method once per index, with the template in that env's ``qpos``/``qvel``."""
        method = getattr(self.template, method_name)
        results = []
        for i in self._get_indices(indices):
            self.template.set_state(self._qpos[i].copy(), self._qvel[i].copy())
            results.append(method(*method_args, **method_kwargs))
        return results

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        """``False`` for every index: the envs are not Gymnasium envs and have no wrappers."""
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is `rgb_array` to obtain images."
            )
            return [None for _ in range(self.num_envs)]
        return self.env_method("render")
