"""sb3-contrib's ARS (Augmented Random Search): mollification in *parameter* space.

Policy gradient smooths J by a Gaussian on each action; ARS estimates the
gradient of ``J_sigma(theta) = E_{eps ~ N(0, I)}[J(theta + sigma eps)]`` from
antithetic parameter perturbations: a Gaussian on theta itself. In mollirl,
``--sigma`` sets ARS's ``delta_std`` (the parameter-space sigma) and
``--step-size`` its ``learning_rate``; ``--batch-episodes`` is the number of
candidate episodes per update, ``2 n_delta`` (one episode per candidate).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import ARS

from mollirl.common.algorithm import EpochAlgorithm, EpochBatch
from mollirl.common.seeding import RESETS, derive_seed
from mollirl.policies import GaussianPolicy, NoOptimizer
from mollirl.rollout import EVAL_SEED, BatchedMean, Rows


class ARSGaussianPolicy(GaussianPolicy):
    """:class:`~mollirl.policies.GaussianPolicy` as ARS needs it: no critic, no learning-rate
    schedule, ``parameters()`` = the mean network only (ARS perturbs exactly these).

    ARS acts with the mean (no action noise). The policy's stored ``sigma`` is set to
    ARS's parameter-space sigma so that tools reading ``policy.sigma`` (metrics,
    ``python -m mollirl.landscape --mode param-sigma``) see the exploration scale.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Box, **kwargs: Any) -> None:
        kwargs.pop("lr_schedule", None)
        kwargs["critic"] = False
        kwargs["sigma_mode"] = "fixed"
        kwargs.setdefault("optimizer_class", NoOptimizer)  # ARS moves the weights itself
        super().__init__(observation_space, action_space, lambda _: 0.0, **kwargs)

    def load_from_vector(self, vector: np.ndarray | th.Tensor) -> None:
        """Set the mean parameters from ARS's flat weights, keeping float64 (SB3's casts to float32)."""
        self.set_mean_vector(np.asarray(th.as_tensor(vector).detach().cpu(), dtype=np.float64))


class MollifiedARS(EpochAlgorithm, ARS):
    """ARS on the contract (:mod:`mollirl.common.algorithm`), candidates evaluated in one batched rollout.

    * Epoch k's rows are the ``2 n_delta`` candidates ``theta +- delta_std * delta_i`` (one
      episode each, deterministic mean actions, reset seeds ``derive_seed(seed, k, RESETS) + i``)
      and the J_det row at theta itself; the VecEnv has one copy per candidate
      (``n_envs = 2 n_delta``). ``J_sigma`` is the mean discounted return of the candidates:
      the parameter-space mollified objective.
    * The deltas are sb3-contrib's draw (``torch.normal`` from the global generator, which the
      contract reseeds from ``(seed, k)``); the update is sb3-contrib's: the top ``n_top``
      directions by undiscounted return, the step scaled by the returns' standard deviation.
    * ``sigma_schedule`` (optional) sets ``delta_std`` per epoch.

    :param horizon: steps per candidate episode.
    :param gamma: discount of the recorded J_det and J_sigma (ARS's update uses undiscounted returns).
    :param kwargs: the contract's and sb3-contrib ``ARS``'s (``n_delta`` must equal ``n_envs / 2``).
    """

    policy_aliases: ClassVar[dict[str, type]] = {**ARS.policy_aliases, "GaussianPolicy": ARSGaussianPolicy}

    def __init__(self, policy: Any, env: Any, *, horizon: int = 1000, gamma: float = 0.99, **kwargs: Any) -> None:
        kwargs.setdefault("zero_policy", False)
        self.gamma = float(gamma)  # of J_det and J_sigma only: ARS itself climbs the undiscounted return
        super().__init__(policy, env, horizon=horizon, **kwargs)
        self.delta_std = float(self.delta_std_schedule(1.0))

    def _setup_model(self) -> None:
        # here, not in __init__: SB3's load builds the model with default arguments, then sets n_delta
        if self.env is not None and self.env.num_envs != self.pop_size:
            raise ValueError(f"ARS evaluates one candidate per env copy: n_envs must be 2 n_delta = {self.pop_size}, "
                             f"got {self.env.num_envs}")
        super()._setup_model()

    def set_parameters(self, *args: Any, **kwargs: Any) -> None:
        super().set_parameters(*args, **kwargs)
        # ARS keeps its own copy of the weights: resync it with the loaded policy
        self.weights = th.nn.utils.parameters_to_vector(self.policy.parameters()).detach()

    # --- the contract ------------------------------------------------------------------------
    def begin_epoch(self, epoch: int) -> None:
        super().begin_epoch(epoch)  # reseeds torch's global generator: the deltas below
        if self.sigma_schedule is not None:
            self.delta_std = float(self.sigma_schedule(epoch, self.planned_epochs))
        else:
            self.delta_std = float(self.delta_std_schedule(self._current_progress_remaining))
        self.policy.set_sigma(self.delta_std)

    def exploration_sigma(self) -> float:
        return float(self.delta_std)

    def epoch_rows(self, epoch: int) -> tuple[Rows, int, dict[str, Any]]:
        deltas = th.normal(mean=0.0, std=1.0, size=(self.n_delta, self.n_params), device=self.device)
        policy_deltas = deltas * self.delta_std
        candidates = th.cat([self.weights + policy_deltas, self.weights - policy_deltas])
        points = candidates.detach().cpu().numpy().astype(np.float64)
        n = self.pop_size
        base = derive_seed(self.seed, epoch, RESETS)
        seeds = [base + i for i in range(n)]
        options: list | None = None
        if self._has_det_row():
            points = np.concatenate([points, self.policy.get_mean_vector()[None]])
            seeds.append(EVAL_SEED)
            options = [None] * n + [self.eval_options]
        rows = Rows(mean=BatchedMean(self.policy.mean, points), seeds=np.array(seeds), options=options)
        return rows, n, {"deltas": deltas}

    def update(self, batch: EpochBatch) -> None:
        """sb3-contrib's ARS step from the candidates' undiscounted returns."""
        r, n = batch.result, batch.n_train
        # float32 like sb3-contrib's own returns (its update multiplies them with float32 deltas)
        returns = th.as_tensor(r.undiscounted[:n] + self.alive_bonus_offset * r.lengths[:n], dtype=th.float32)
        deltas = batch.extra["deltas"]
        learning_rate = self.lr_schedule(self._current_progress_remaining)
        plus, minus = returns[: self.n_delta], returns[self.n_delta:]
        top_returns, _ = th.max(th.vstack((plus, minus)), dim=0)
        top_idx = th.argsort(top_returns, descending=True)[: self.n_top]
        plus, minus, deltas = plus[top_idx], minus[top_idx], deltas[top_idx]
        return_std = th.cat([plus, minus]).std()
        step_size = learning_rate / (self.n_top * return_std + 1e-6)
        self.weights = self.weights + step_size * ((plus - minus) @ deltas)
        self.policy.load_from_vector(self.weights.cpu())
        self._n_updates += 1
        self.logger.record("train/iterations", self._n_updates, exclude="tensorboard")
        self.logger.record("train/delta_std", self.delta_std)
        self.logger.record("train/learning_rate", learning_rate)
        self.logger.record("train/step_size", step_size.item())
        self.logger.record("rollout/return_std", return_std.item())

    def _snapshot_extra(self) -> dict[str, Any]:
        return {"weights": self.weights.clone()}

    def _restore_extra(self, saved: dict[str, Any]) -> None:
        self.weights = saved["weights"]

    def _parameters_finite(self) -> bool:
        return super()._parameters_finite() and bool(th.isfinite(self.weights).all())
