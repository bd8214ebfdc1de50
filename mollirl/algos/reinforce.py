"""REINFORCE (likelihood-ratio policy gradient on whole episodes) as an SB3 algorithm."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.type_aliases import GymEnv

from mollirl.common.algorithm import EpochAlgorithm, EpochBatch
from mollirl.common.errors import NonFiniteError
from mollirl.common.returns import BASELINES, buffer_returns, reinforce_surrogate
from mollirl.policies import GaussianPolicy, NoOptimizer

OPTIMIZERS = {"adam": th.optim.Adam, "sgd": th.optim.SGD, "rmsprop": th.optim.RMSprop, "adamw": th.optim.AdamW}
UPDATES = ("normalized", *OPTIMIZERS)


class REINFORCE(EpochAlgorithm, OnPolicyAlgorithm):
    """REINFORCE with Monte Carlo returns-to-go, as in the paper (Sec. 3, App. F).

    One update ("epoch") rolls out ``n_envs`` whole episodes of at most ``horizon``
    steps with actions ``mu_theta(s) + sigma * eps`` (one episode per env copy; an
    episode that ends early, e.g. by divergence, is not followed by another),
    computes discounted returns-to-go without bootstrapping and without a critic,
    and steps the policy along the REINFORCE gradient estimate. Epochs, J_det,
    seeding, schedules and the NaN guard follow :class:`~mollirl.common.algorithm.EpochAlgorithm`.

    :param policy: ``"GaussianPolicy"`` (alias ``"MlpPolicy"``) or a subclass.
    :param env: a VecEnv of ``batch_episodes`` envs (``n_envs``).
    :param horizon: steps per episode (the env's time limit must be at least this).
    :param step_size: delta of the normalized update, or the optimizer's learning rate.
    :param gamma: discount factor in (0, 1].
    :param baseline: ``"none"`` or ``"mean"`` (per-time-step batch mean of G_t over the
        episodes still running).
    :param update: ``"normalized"`` (``theta <- theta + step_size * g / |g|``, the
        paper's; a zero gradient leaves theta unchanged) or a torch optimizer name
        (``"adam"``, ``"sgd"``, ``"rmsprop"``, ``"adamw"``) with ``lr = step_size``.
    :param planned_epochs: epochs a sigma schedule spans.
    :param sigma_schedule: for a ``scheduled`` policy sigma, the schedule evaluated at the start of every epoch.
    :param eval_options: reset options of the env's evaluation start (the J_det row).
    :param rollout_env: a VecEnv of ``n_envs + 1`` copies for the epoch's rows (VecEnv-stepped envs only).
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
        sigma_schedule=None,
        planned_epochs: int = 50,
        eval_options: dict | None = None,
        rollout_env=None,
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
            raise ValueError(f"unknown update {update!r} (--update); expected one of {list(UPDATES)}")
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
            policy_kwargs.setdefault("optimizer_class", NoOptimizer)  # the normalized step is taken by hand
        self.baseline = baseline
        self.update_rule = update
        super().__init__(
            policy, env, horizon=horizon, planned_epochs=planned_epochs, sigma_schedule=sigma_schedule,
            eval_options=eval_options, rollout_env=rollout_env,
            learning_rate=step_size, n_steps=horizon, gamma=gamma, gae_lambda=1.0, ent_coef=0.0,
            vf_coef=0.0, max_grad_norm=np.inf, use_sde=False, sde_sample_freq=-1,
            stats_window_size=stats_window_size, tensorboard_log=tensorboard_log, monitor_wrapper=False,
            policy_kwargs=policy_kwargs, verbose=verbose, seed=seed, device=device, _init_setup_model=False,
            supported_action_spaces=(spaces.Box,),
        )
        self.step_size = float(step_size)
        if _init_setup_model:
            self._setup_model()

    uses_returns_to_go = True

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs)
        self.policy = self.policy.to(self.device)
        self.rollout_buffer = None  # type: ignore[assignment]  # the rollout core's buffers instead

    def update(self, batch: EpochBatch) -> None:
        """One REINFORCE step from the epoch's buffers (refused, before any change, if non-finite)."""
        buf = batch.result.buffers
        self.policy.set_training_mode(True)
        loss = reinforce_surrogate(self.policy, buf.obs, buf.actions, buf.rewards, buf.alive, buf.dones, self.gamma,
                                   self.baseline, returns=buffer_returns(buf, self.gamma))
        params = [p for p in self.policy.parameters() if p.requires_grad]
        for p in params:
            p.grad = None
        loss.backward()
        grads = [p.grad if p.grad is not None else th.zeros_like(p) for p in params]
        grad_norm = float(th.sqrt(sum((g.double() ** 2).sum() for g in grads)))
        loss_value = loss.item()
        if not (np.isfinite(loss_value) and np.isfinite(grad_norm)):
            raise NonFiniteError(f"non-finite REINFORCE loss ({loss_value}) or gradient norm ({grad_norm}) "
                                 f"at epoch {batch.epoch}")
        if self.update_rule == "normalized":
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

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "rollout_buffer"]
