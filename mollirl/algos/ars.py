"""sb3-contrib's ARS (Augmented Random Search): mollification in *parameter* space.

Policy gradient smooths J by a Gaussian on each action; ARS estimates the
gradient of ``J_sigma(theta) = E_{eps ~ N(0, I)}[J(theta + sigma eps)]`` from
antithetic parameter perturbations: a Gaussian on theta itself. In mollirl,
``--sigma`` sets ARS's ``delta_std`` (the parameter-space sigma) and
``--step-size`` its ``learning_rate``; ``--batch-episodes`` is the number of
candidate episodes per update, ``2 n_delta`` (one episode per candidate).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib import ARS

from mollirl.common.algorithm import EpochAlgorithm, EpochBatch
from mollirl.common.errors import NonFiniteError
from mollirl.common.seeding import ARS_DELTAS, RESETS, derive_seed
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
    * The deltas are sb3-contrib's draw (``torch.normal``), from an explicit generator of the
      stream ``(seed, k, ARS_DELTAS)`` (:mod:`mollirl.common.seeding`); the update is sb3-contrib's:
      the top ``n_top`` directions by undiscounted return, the step scaled by the returns' standard
      deviation.
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
        super().begin_epoch(epoch)
        if self.sigma_schedule is not None:
            self.delta_std = float(self.sigma_schedule(epoch, self.planned_epochs))
        else:
            self.delta_std = float(self.delta_std_schedule(self._current_progress_remaining))
        self.policy.set_sigma(self.delta_std)

    def exploration_sigma(self) -> float:
        return float(self.delta_std)

    def epoch_rows(self, epoch: int) -> tuple[Rows, int, dict[str, Any]]:
        generator = th.Generator(device=self.device)  # the ARS_DELTAS stream: nothing global
        generator.manual_seed(derive_seed(self.seed, epoch, ARS_DELTAS))
        deltas = th.normal(mean=0.0, std=1.0, size=(self.n_delta, self.n_params), generator=generator,
                           device=self.device)
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
        """sb3-contrib's ARS step from the candidates' undiscounted returns: the batched step of a
        population of one (:meth:`train_members`)."""
        self._last_batch = batch
        error = _ars_steps([self])[0]
        if error is not None:
            raise error

    @classmethod
    def train_members(cls, models: list) -> list[NonFiniteError | None]:
        """Every member's ARS step in one call per group of members alike (``n_delta``, ``n_top``, the
        number of parameters): returns, top directions, return spreads and steps as stacked tensors, each
        member's numbers computed by element-wise operations and sums in a fixed order (not BLAS), so
        they do not depend on the group. A subclass with its own :meth:`update` is updated alone."""
        return cls.train_in_groups(
            models, lambda m: (m.n_delta, m.n_top, m.n_params) if type(m).update is MollifiedARS.update else None,
            _ars_steps)

    def _snapshot_extra(self) -> dict[str, Any]:
        return {"weights": self.weights.clone()}

    def _restore_extra(self, saved: dict[str, Any]) -> None:
        self.weights = saved["weights"]

    def _parameters_finite(self) -> bool:
        return super()._parameters_finite() and bool(th.isfinite(self.weights).all())


def _ars_steps(models: list[MollifiedARS]) -> list[NonFiniteError | None]:
    """sb3-contrib's ARS update of each model from its last collected epoch, stacked (the same
    ``n_delta``, ``n_top`` and parameter count): keep the ``n_top`` directions with the best of their two
    returns, scale the learning rate by the kept returns' standard deviation, step along
    ``sum_j (r+_j - r-_j) delta_j``. float32 like sb3-contrib's; the standard deviation and the sum over
    directions are added in a fixed order (a member's bits do not depend on the others)."""
    first = models[0]
    n, k = first.n_delta, first.n_top
    batches = [m._last_batch for m in models]
    # float32 like sb3-contrib's own returns (its update multiplies them with float32 deltas)
    returns = th.stack([th.as_tensor(b.result.undiscounted[:b.n_train] + m.alive_bonus_offset * b.result.lengths[
        :b.n_train], dtype=th.float32) for m, b in zip(models, batches)])
    deltas = th.stack([b.extra["deltas"] for b in batches])  # (P, n_delta, n_params)
    plus, minus = returns[:, :n], returns[:, n:]
    top = th.argsort(th.maximum(plus, minus), dim=1, descending=True, stable=True)[:, :k]
    plus, minus = plus.gather(1, top), minus.gather(1, top)
    deltas = deltas.gather(1, top[:, :, None].expand(-1, -1, deltas.shape[2]))
    kept = th.cat([plus, minus], dim=1)  # (P, 2 n_top); torch's std (Bessel-corrected), summed in order
    mean = kept[:, 0].clone()
    for j in range(1, 2 * k):
        mean += kept[:, j]
    mean /= 2 * k
    var = (kept[:, 0] - mean) ** 2
    for j in range(1, 2 * k):
        var += (kept[:, j] - mean) ** 2
    return_std = th.sqrt(var / max(2 * k - 1, 1))
    rates = th.tensor([m.lr_schedule(m._current_progress_remaining) for m in models], dtype=th.float32)
    step_size = rates / (k * return_std + 1e-6)
    diff = plus - minus
    direction = diff[:, 0:1] * deltas[:, 0]
    for j in range(1, k):
        direction += diff[:, j:j + 1] * deltas[:, j]
    out: list[NonFiniteError | None] = []
    for p, m in enumerate(models):
        weights = m.weights + step_size[p] * direction[p]
        if not (bool(th.isfinite(weights).all()) and math.isfinite(float(return_std[p]))):
            out.append(NonFiniteError(f"the update of epoch {batches[p].epoch} produced non-finite parameters"))
            continue
        m.weights = weights
        m.policy.load_from_vector(weights.cpu())
        m._n_updates += 1
        m.logger.record("train/iterations", m._n_updates, exclude="tensorboard")
        m.logger.record("train/delta_std", m.delta_std)
        m.logger.record("train/learning_rate", float(rates[p]))
        m.logger.record("train/step_size", step_size[p].item())
        m.logger.record("rollout/return_std", return_std[p].item())
        out.append(None)
    return out
