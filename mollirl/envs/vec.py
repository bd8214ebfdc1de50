"""Batched SB3 ``VecEnv`` for the analytic envs: one numpy call steps every copy."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn, tile_images

from mollirl.envs._analytic import AnalyticControlEnv, AnalyticDynamics, batch_step
from mollirl.envs.render import Canvas


class AnalyticVecEnv(VecEnv):
    """``n_envs`` copies of an analytic env stepped as one ``(n_envs, state_dim)`` array.

    Equivalent to ``DummyVecEnv([lambda: gym.make(env_id) for _ in range(n_envs)])``:
    same observations, rewards, ``dones``, ``TimeLimit.truncated`` and
    ``terminal_observation`` infos, auto-reset, and seeding (``seed(s)`` gives copy
    ``i`` the seed ``s + i`` at the next :meth:`reset`, each copy owns a
    ``np.random.Generator`` made as Gymnasium makes it). Rewards are float64.

    Infos are kept cheap: a copy's dict is empty except on the step its episode
    ends, when it holds ``terminal_observation``, ``TimeLimit.truncated``,
    ``diverged`` and a Monitor-style ``episode`` record ``{"r", "l", "t"}`` (so
    SB3's ``rollout/ep_rew_mean`` works without a ``Monitor`` wrapper).

    :param env_cls: an :class:`~mollirl.envs._analytic.AnalyticControlEnv` subclass.
    :param n_envs: number of copies (>= 1).
    :param max_episode_steps: truncation horizon (the registered envs use 1000).
    :param env_kwargs: keyword arguments of ``env_cls`` (physical constants, dt, ...).
    """

    def __init__(self, env_cls: type[AnalyticControlEnv], n_envs: int, max_episode_steps: int = 1000,
                 **env_kwargs: Any) -> None:
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs!r}")
        if max_episode_steps < 1:
            raise ValueError(f"max_episode_steps must be >= 1, got {max_episode_steps!r}")
        self.template = env_cls(**env_kwargs)
        self.env_kwargs = dict(env_kwargs)
        self.max_episode_steps = int(max_episode_steps)
        super().__init__(n_envs, self.template.observation_space, self.template.action_space)
        self.render_mode = self.template.render_mode
        self.metadata = self.template.metadata
        n, dim = n_envs, self.template.start_state.shape[0]
        self.states = np.zeros((n, dim))
        self.last_u = np.zeros((n, self.template.action_low.shape[0]))
        self.elapsed = np.zeros(n, dtype=np.int64)
        self.episode_returns = np.zeros(n)
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._t_start = time.time()
        self._actions: np.ndarray | None = None

    @property
    def batched_dynamics(self) -> AnalyticDynamics:
        """The pure dynamics of these copies, for the rollout core (which then steps no VecEnv)."""
        return AnalyticDynamics(self.template)

    # --- reset ---------------------------------------------------------------------
    def _reset_one(self, i: int, seed: int | None = None, options: dict | None = None) -> None:
        if seed is not None or self._rngs[i] is None:
            self._rngs[i], _ = seeding.np_random(seed)
        self.states[i] = self.template.initial_state(self._rngs[i], options)
        self.elapsed[i] = 0
        self.episode_returns[i] = 0.0
        self.last_u[i] = 0.0

    def reset(self) -> np.ndarray:
        for i in range(self.num_envs):
            self._reset_one(i, self._seeds[i], self._options[i] or None)
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return self.states.copy()

    # --- step ----------------------------------------------------------------------
    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.float64).reshape(self.num_envs, -1)

    def step_wait(self) -> VecEnvStepReturn:
        assert self._actions is not None, "step_async must be called before step_wait"
        nxt, reward, diverged, u = batch_step(self.template.system, self.template.params, self.states, self._actions)
        self.states = nxt
        self.last_u = u
        self.elapsed += 1
        self.episode_returns += reward
        truncated = self.elapsed >= self.max_episode_steps
        dones = diverged | truncated
        obs = nxt.copy()
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            now = round(time.time() - self._t_start, 6)
            for i in np.flatnonzero(dones):
                infos[i] = {
                    "terminal_observation": obs[i].copy(),
                    "TimeLimit.truncated": bool(truncated[i] and not diverged[i]),
                    "diverged": bool(diverged[i]),
                    "episode": {"r": float(self.episode_returns[i]), "l": int(self.elapsed[i]), "t": now},
                }
                self._reset_one(i)
                obs[i] = self.states[i]
        return obs, reward, dones, infos

    # --- plumbing ------------------------------------------------------------------
    def close(self) -> None:
        self.template.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = []
        for i in range(self.num_envs):
            canvas = Canvas(400, 400)
            self.template._draw(canvas, self.states[i], self.last_u[i])
            frames.append(canvas.image)
        return frames

    def render(self, mode: str | None = None) -> np.ndarray | None:
        return tile_images(self.get_images())

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self.template, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        # one template serves all copies: per-copy attributes cannot differ
        setattr(self.template, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        method = getattr(self.template, method_name)
        return [method(*method_args, **method_kwargs) for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]
