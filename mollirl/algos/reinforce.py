"""REINFORCE (likelihood-ratio policy gradient on whole episodes) as an SB3 algorithm."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback
from stable_baselines3.common.vec_env import VecEnv

from mollirl.algos.returns import BASELINES, apply_baseline, episode_starts, reinforce_loss, returns_to_go
from mollirl.policies import GaussianPolicy
from mollirl.sigma import SigmaSchedule

SelfREINFORCE = TypeVar("SelfREINFORCE", bound="REINFORCE")

OPTIMIZERS = {"adam": th.optim.Adam, "sgd": th.optim.SGD, "rmsprop": th.optim.RMSprop, "adamw": th.optim.AdamW}
UPDATES = ("normalized", *OPTIMIZERS)


class NonFiniteError(RuntimeError):
    """A NaN or infinite loss or gradient: the update is refused and training stops."""


def derive_seed(*keys: int) -> int:
    """A 31-bit seed derived from integer keys (counter-based: no hidden RNG state)."""
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1)[0] >> 1)


class REINFORCE(OnPolicyAlgorithm):
    """REINFORCE with Monte Carlo returns-to-go, as in the paper (Sec. 3, App. F).

    One update ("epoch") collects ``n_envs`` whole episodes of ``horizon`` steps
    (the VecEnv must have ``n_envs`` = batch episodes and truncate at
    ``horizon``), computes discounted returns-to-go without bootstrapping and
    without a critic, and steps the policy along the REINFORCE gradient estimate.

    Randomness is counter-based: epoch ``k`` seeds the envs' resets and draws
    the action noise from ``(seed, k)``, so a run resumed from a checkpoint at
    epoch k repeats the uninterrupted run exactly.

    :param policy: ``"GaussianPolicy"`` (alias ``"MlpPolicy"``) or a subclass.
    :param env: a VecEnv of ``batch_episodes`` envs (``n_envs``).
    :param horizon: steps per episode (= ``n_steps``); the env's time limit must equal it.
    :param step_size: delta of the normalized update, or the optimizer's learning rate.
    :param gamma: discount factor in (0, 1].
    :param baseline: ``"none"`` or ``"mean"`` (per-time-step batch mean of G_t).
    :param update: ``"normalized"`` (``theta <- theta + step_size * g / |g|``, the
        paper's; a zero gradient leaves theta unchanged) or a torch optimizer name
        (``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"adamw"``) with ``lr = step_size``.
    :param sigma_schedule: for a ``scheduled`` policy sigma, the schedule evaluated
        at the start of every epoch over ``n_epochs``.
    :param n_epochs: planned number of epochs (for the schedule's progress).
    """

    policy_aliases: ClassVar[dict[str, type]] = {"GaussianPolicy": GaussianPolicy, "MlpPolicy": GaussianPolicy}
    policy: GaussianPolicy

    def __init__(
        self,
        policy: str | type[GaussianPolicy],
        env: GymEnv | str,
        horizon: int = 1000,
        step_size: float = 1.0,
        gamma: float = 0.99,
        baseline: str = "none",
        update: str = "normalized",
        sigma_schedule: SigmaSchedule | None = None,
        n_epochs: int = 50,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "cpu",
        _init_setup_model: bool = True,
    ) -> None:
        if baseline not in BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; expected one of {list(BASELINES)}")
        if update not in UPDATES:
            raise ValueError(f"unknown update {update!r}; expected one of {list(UPDATES)}")
        if not (0.0 < gamma <= 1.0):
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if not (np.isfinite(step_size) and step_size > 0):
            raise ValueError(f"step_size must be a finite number > 0, got {step_size!r}")
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon!r}")
        policy_kwargs = dict(policy_kwargs or {})
        policy_kwargs.setdefault("critic", False)
        if update != "normalized":
            policy_kwargs.setdefault("optimizer_class", OPTIMIZERS[update])
        else:
            policy_kwargs.setdefault("optimizer_class", th.optim.SGD)  # kept for SB3 save/load; never stepped
        self.baseline = baseline
        self.update = update
        self.sigma_schedule = sigma_schedule
        self.n_epochs = int(n_epochs)
        super().__init__(
            policy, env, learning_rate=step_size, n_steps=horizon, gamma=gamma, gae_lambda=1.0, ent_coef=0.0,
            vf_coef=0.0, max_grad_norm=np.inf, use_sde=False, sde_sample_freq=-1,
            stats_window_size=stats_window_size, tensorboard_log=tensorboard_log, monitor_wrapper=False,
            policy_kwargs=policy_kwargs, verbose=verbose, seed=seed, device=device, _init_setup_model=False,
            supported_action_spaces=(spaces.Box,),
        )
        self.step_size = float(step_size)
        self._batch: dict[str, np.ndarray] | None = None
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs)
        self.policy = self.policy.to(self.device)
        self.rollout_buffer = None  # type: ignore[assignment]  # REINFORCE keeps whole-episode arrays instead

    @property
    def epoch(self) -> int:
        """Number of completed updates (the index of the epoch about to run)."""
        return self._n_updates

    # --- rollout ------------------------------------------------------------------------
    def collect_rollouts(self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer | None,
                         n_rollout_steps: int) -> bool:
        """Collect ``n_envs`` whole episodes of ``n_rollout_steps`` steps with the current policy."""
        epoch = self._n_updates
        if self.sigma_schedule is not None:
            self.policy.set_sigma(self.sigma_schedule(epoch, self.n_epochs))
        self.policy.set_training_mode(False)
        env.seed(derive_seed(self.seed, epoch, 0))
        self._last_obs = env.reset()
        rng = np.random.default_rng(derive_seed(self.seed, epoch, 1))
        n_envs, T = env.num_envs, n_rollout_steps
        obs_dim = int(np.prod(self.observation_space.shape))
        act_dim = int(self.action_space.shape[0])
        obs_buf = np.empty((T, n_envs, obs_dim))
        act_buf = np.empty((T, n_envs, act_dim))
        rew_buf = np.empty((T, n_envs))
        done_buf = np.empty((T, n_envs), dtype=bool)
        sigma = self.policy.sigma
        callback.on_rollout_start()
        obs = np.asarray(self._last_obs, dtype=np.float64).reshape(n_envs, obs_dim)
        for t in range(T):
            with th.no_grad():
                mean = self.policy.mean(th.from_numpy(obs)).cpu().numpy()
            actions = mean + sigma * rng.standard_normal((n_envs, act_dim))
            new_obs, rewards, dones, infos = env.step(actions)
            self.num_timesteps += n_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
            obs_buf[t], act_buf[t], rew_buf[t], done_buf[t] = obs, actions, rewards, dones
            obs = np.asarray(new_obs, dtype=np.float64).reshape(n_envs, obs_dim)
        self._last_obs = new_obs
        self._last_episode_starts = dones
        self._batch = {"obs": obs_buf, "actions": act_buf, "rewards": rew_buf, "dones": done_buf}
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True

    # --- update -------------------------------------------------------------------------
    def train(self) -> None:
        """One REINFORCE update from the last batch."""
        assert self._batch is not None, "collect_rollouts must run before train"
        self.policy.set_training_mode(True)
        batch = self._batch
        G = returns_to_go(batch["rewards"], batch["dones"], self.gamma)
        adv = apply_baseline(G, self.baseline)
        T, N = G.shape
        obs = th.from_numpy(batch["obs"].reshape(T * N, -1))
        actions = th.from_numpy(batch["actions"].reshape(T * N, -1))
        _, log_prob, _ = self.policy.evaluate_actions(obs, actions)
        n_episodes = int(episode_starts(batch["dones"]).sum())
        loss = reinforce_loss(log_prob.reshape(T, N), th.from_numpy(adv), n_episodes)
        params = [p for p in self.policy.parameters() if p.requires_grad]
        self.policy.optimizer.zero_grad()
        loss.backward()
        grads = [p.grad if p.grad is not None else th.zeros_like(p) for p in params]
        grad_norm = float(th.sqrt(sum((g.double() ** 2).sum() for g in grads)))
        loss_value = loss.item()
        if not (np.isfinite(loss_value) and np.isfinite(grad_norm)):
            raise NonFiniteError(f"non-finite REINFORCE loss ({loss_value}) or gradient norm ({grad_norm}) "
                                 f"at epoch {self._n_updates}")
        if self.update == "normalized":
            if grad_norm > 0:
                with th.no_grad():
                    for p, g in zip(params, grads):
                        p.sub_(self.step_size * g / grad_norm)  # g is grad of the loss = -grad J
        else:
            self._update_learning_rate(self.policy.optimizer)
            self.policy.optimizer.step()
        self._n_updates += 1
        self.logger.record("train/grad_norm", grad_norm)
        self.logger.record("train/loss", loss_value)
        self.logger.record("train/n_updates", self._n_updates)

    # --- loop ---------------------------------------------------------------------------
    def learn(
        self: SelfREINFORCE,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        tb_log_name: str = "REINFORCE",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfREINFORCE:
        """SB3's on-policy loop with one change of order: collect, *update*, then dump
        the logs, so that each logged epoch row holds its batch statistics and the
        norm of the gradient computed from that batch."""
        total_timesteps, callback = self._setup_learn(
            total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar
        )
        callback.on_training_start(locals(), globals())
        assert self.env is not None
        while self.num_timesteps < total_timesteps:
            if not self.collect_rollouts(self.env, callback, None, n_rollout_steps=self.n_steps):
                break
            self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
            self.train()
            if log_interval is not None and self._n_updates % log_interval == 0:
                self.dump_logs(self._n_updates)
        callback.on_training_end()
        return self

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_batch"]
