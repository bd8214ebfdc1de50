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
from mollirl.common.gradients import reinforce_gradients, squared_norms
from mollirl.common.returns import BASELINES, buffer_returns, reinforce_surrogate, returns_to_go
from mollirl.policies import GaussianPolicy, NoOptimizer
from mollirl.rollout import Buffers

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

    # --- the update: one call for many members ---------------------------------------------------
    def _batched_kind(self) -> str | None:
        """``"linear"`` or ``"mlp"`` when this model's update runs in the batched kernel
        (:mod:`mollirl.common.gradients`): REINFORCE's own update on a mean network the kernel knows."""
        kind = getattr(type(self.policy.mean), "batched_kind", None)
        return kind if kind in ("linear", "mlp") and type(self).update is REINFORCE.update else None

    @classmethod
    def train_members(cls, models: list) -> list[NonFiniteError | None]:
        """Every member's REINFORCE step in one call per group of members alike (the same batch size, mean
        network, sigma parametrization and baseline): their parameters stacked, the gradients of all of
        them by :func:`mollirl.common.gradients.reinforce_gradients`, the normalized steps as one array
        operation. A member's numbers do not depend on the group (a single run is a group of one). A
        subclass with its own :meth:`update`, or a mean network the kernel does not know, is updated alone."""
        return cls.train_in_groups(models, REINFORCE._group_key, _reinforce_steps)

    def _group_key(self) -> tuple | None:
        """Members with equal keys are updated in one kernel call; None: this one is updated alone."""
        kind = self._batched_kind()
        if kind is None:
            return None
        return (kind, self.n_envs, tuple(self._mean_shapes()), tuple(self.policy.log_std.shape),
                self.policy.sigma_mode == "learnable", self.baseline)

    def _mean_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [(name, tuple(p.shape)) for name, p in self.policy.mean.named_parameters()]

    def update(self, batch: EpochBatch) -> None:
        """One REINFORCE step from the epoch's buffers (refused, before any change, if non-finite): the
        batched kernel's for a population of one, or torch's autograd for a mean network it does not know."""
        if self._batched_kind() is None:
            self._autograd_update(batch)
            return
        self._last_batch = batch
        error = _reinforce_steps([self])[0]
        if error is not None:
            raise error

    def _autograd_update(self, batch: EpochBatch) -> None:
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
        self._record_update(grad_norm, loss_value)

    def _optimizer_step(self, grad: np.ndarray, d: int) -> None:
        """The torch optimizer's step (``--update adam`` ...) from a flat gradient (the mean's ``d`` entries,
        then ``log_std``'s)."""
        offset = 0
        for _, p in self.policy.mean.named_parameters():
            p.grad = th.as_tensor(grad[offset: offset + p.numel()]).reshape(p.shape).to(p.dtype)
            offset += p.numel()
        if self.policy.log_std.requires_grad:
            self.policy.log_std.grad = th.as_tensor(grad[d:]).reshape(self.policy.log_std.shape)
        self._update_learning_rate(self.policy.optimizer)
        self.policy.optimizer.step()

    def _record_update(self, grad_norm: float, loss: float) -> None:
        self._n_updates += 1
        self.logger.record("train/grad_norm", grad_norm)
        self.logger.record("train/loss", loss)
        self.logger.record("train/n_updates", self._n_updates)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "rollout_buffer"]


def _advantages(models: list[REINFORCE]):
    """The members' buffers side by side ``(T, P * N)`` and ``weights(members, out)``: the advantages of a
    slice of them written into ``out`` ``(G, T, N)`` (returns-to-go less the member's baseline, zero at steps
    after an episode's end), each member's from its own columns, computed group by group by the kernel."""
    bufs = [m._last_batch.result.buffers for m in models]
    buf = Buffers.side_by_side(bufs)
    T, B = buf.rewards.shape
    P, N = len(models), B // len(models)
    gammas = np.repeat(np.array([m.gamma for m in models], dtype=np.float64), N)
    if buf.rtg is not None and buf.rtg_gamma is not None and np.array_equal(buf.rtg_gamma, gammas):
        G = buf.rtg
    else:
        G = returns_to_go(buf.rewards, buf.dones, gammas[0] if np.all(gammas == gammas[0]) else gammas)
    G = G.reshape(T, P, N)
    alive = buf.alive.reshape(T, P, N)
    mean = models[0].baseline != "none"

    def weights(members: slice, out: np.ndarray) -> None:
        """The members' advantages written into ``out`` ``(G, T, N)``."""
        g, live = G[:, members].transpose(1, 0, 2), alive[:, members].transpose(1, 0, 2)  # (G, T, N) views
        every = bool(live.all())  # no episode ended early: the masks change nothing (the same numbers, fewer passes)
        kept = g if every else np.where(live, g, 0.0)
        if not mean:
            np.copyto(out, kept)
            return
        b = kept.sum(axis=2, keepdims=True)
        b /= N if every else np.maximum(live.sum(axis=2, keepdims=True), 1)
        np.subtract(g, b, out=out)
        if not every:
            out[~live] = 0.0  # steps after an episode's end

    return buf, weights


def _reinforce_steps(models: list[REINFORCE]) -> list[NonFiniteError | None]:
    """One REINFORCE step of each model from its last collected epoch (models alike: see
    :meth:`REINFORCE.train_members`); returns each model's error (None: stepped). Nothing of a member
    is changed when its loss, gradient or new parameters are not finite."""
    first = models[0]
    P = len(models)
    shapes = first._mean_shapes()
    learn = first.policy.sigma_mode == "learnable"
    buf, adv = _advantages(models)
    T, B = buf.rewards.shape
    N = B // P
    params = np.stack([m.policy.get_mean_vector() for m in models])
    log_std = np.stack([m.policy.log_std.detach().cpu().numpy().astype(np.float64) for m in models])
    F, dtheta, dlog_std = reinforce_gradients(first._batched_kind(), shapes, params, log_std,
                                              buf.obs.reshape(T, P, N, -1), buf.actions.reshape(T, P, N, -1), adv,
                                              learn_sigma=learn)
    loss = -F / N  # the surrogate loss -(1/N) sum w log pi, and its gradient
    grads = -dtheta / N if dlog_std is None else np.concatenate([-dtheta / N, -dlog_std / N], axis=1)
    norm = np.sqrt(squared_norms(grads))
    step = np.array([m.step_size for m in models], dtype=np.float64)
    normalized = np.array([m.update_rule == "normalized" for m in models])
    moved = np.where((normalized & (norm > 0))[:, None], grads, 0.0)
    new = np.concatenate([params, log_std], axis=1) if learn else params
    new = new - step[:, None] * moved / np.where(norm > 0, norm, 1.0)[:, None]
    out: list[NonFiniteError | None] = []
    d = params.shape[1]
    for p, m in enumerate(models):
        epoch = m._last_batch.epoch
        if not (np.isfinite(loss[p]) and np.isfinite(norm[p])):
            out.append(NonFiniteError(f"non-finite REINFORCE loss ({loss[p]}) or gradient norm ({norm[p]}) "
                                      f"at epoch {epoch}"))
            continue
        if m.update_rule == "normalized":
            if not np.isfinite(new[p]).all():
                out.append(NonFiniteError(f"the update of epoch {epoch} produced non-finite parameters"))
                continue
            m.policy.set_mean_vector(new[p, :d])
            if learn:
                with th.no_grad():
                    m.policy.log_std.copy_(th.as_tensor(new[p, d:]).reshape(m.policy.log_std.shape))
        else:  # a torch optimizer's step from the kernel's gradient, guarded like any update
            try:
                m._guarded_update(m._last_batch, lambda m=m, p=p: m._optimizer_step(grads[p], d))
            except NonFiniteError as exc:
                out.append(exc)
                continue
        m._record_update(float(norm[p]), float(loss[p]))
        out.append(None)
    return out
