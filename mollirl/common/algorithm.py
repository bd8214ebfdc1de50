"""The algorithm contract: what every mollirl algorithm does the same way.

:class:`EpochAlgorithm` is a mixin put before an SB3 algorithm class
(``class REINFORCE(EpochAlgorithm, OnPolicyAlgorithm)``,
``class MollifiedPPO(EpochAlgorithm, PPO)``). It keeps SB3's template: ``learn()``
alternates ``collect_rollouts()`` (the epoch's rows through the rollout core) and
``train()`` (the update from the last collected epoch), then ``dump_logs()``; and
``learn()`` is the epoch driver (:mod:`mollirl.common.driver`) over a population of
one, the model itself, so a single run and a population member run the same steps.
An algorithm adds its hyperparameters, the rows of its epoch
(:meth:`~EpochAlgorithm.epoch_rows`; the default is ``n_envs`` Gaussian-action
episodes at theta_k) and its update (:meth:`~EpochAlgorithm.update`, what ``train()``
runs); optionally :meth:`~EpochAlgorithm.train_members` (many members' updates in
one call over stacked parameters) and declarations as class attributes
(``uses_returns_to_go``, ``critic_buffer``, ``update_threads``). What the contract fixes:

* **Epochs.** Training is a sequence of epochs; epoch k is one batched rollout
  through the rollout core (:mod:`mollirl.rollout`) and one update. ``epoch`` counts
  completed epochs; ``planned_epochs`` is the number of epochs a sigma schedule
  spans. An epoch counts ``n_envs * horizon`` env steps (``num_timesteps``), whether
  its episodes ran to the horizon or ended early.
* **J_det in the same rollout.** Epoch k's rollout has one more, noise-free row at
  theta_k from the env's evaluation start (``eval_options``): its discounted return is
  J_det(theta_k), computed by the same arithmetic as a landscape's J at theta_k
  (no separate evaluation rollout). An env stepped through VecEnvs needs a
  ``rollout_env`` of ``n_envs + 1`` copies for the epoch's rows (one ``mujoco.batch``
  for hopper-stand: every row on every core); without one, J_det is not recorded.
* **Seeding.** ``seed`` defaults to a fresh random one (recorded); every random
  draw of epoch k comes from ``(seed, k, stream)`` (:mod:`mollirl.common.seeding`),
  and the global torch and numpy generators are set from ``(seed, k)`` before the epoch's
  rows are drawn and again before its update, so a resumed run repeats an uninterrupted
  one exactly (and a population member its separate run).
* **Sigma schedules.** A scheduled sigma is ``sigma_schedule(k, planned_epochs)`` at
  the start of epoch k. A run extended beyond ``planned_epochs`` (``--resume --epochs``)
  keeps the schedule's span: the END value holds for the extra epochs.
* **Non-finite values** are caught where they arise: a NaN or infinite reward or
  observation in the rollout, or a non-finite loss, gradient or parameter in the
  update, raises :class:`~mollirl.common.errors.NonFiniteError` before anything is
  applied (the update is undone if it had started), so the model keeps theta_k.
* **A stopped epoch** (a callback's ``on_step`` returned False, e.g. on SIGINT) is not
  applied and does not count: ``epoch`` and ``num_timesteps`` stay at its start.
* **Logging.** Epoch k's numbers are recorded under ``train/`` (``epoch``,
  ``timesteps``, ``J_det``, ``J_det_undiscounted``, ``final_state_norm``,
  ``J_det_diverged``, ``J_sigma``, ``ep_return_mean``, ``diverged_fraction``,
  ``sigma``, and the update's own) and dumped once, at x = ``k * n_envs * horizon``
  (the env steps before its rollout), with SB3's ``rollout/ep_rew_mean`` and
  ``ep_len_mean`` over the batch episodes.
* **Callbacks**: ``on_rollout_start`` before epoch k's rollout (the policy is theta_k),
  ``on_step`` once per time step of the rollout (``num_timesteps`` grows by ``n_envs``),
  ``on_rollout_end`` after it with ``train/J_det`` etc. already recorded and the epoch's
  :class:`EpochBatch` in ``self.locals["batch"]``, then the update, then the dump.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import time
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import torch as th

from mollirl.common.driver import (  # noqa: F401  (EpochBatch: re-exported for algorithms)
    EpochBar, EpochBatch, EpochDriver, Seat, final_metrics, wants_steps,
)
from mollirl.common.errors import NonFiniteError
from mollirl.common.seeding import ACTION_NOISE, NUMPY, RESETS, TORCH, default_seed, derive_seed
from mollirl.rollout import EVAL_SEED, BatchedMean, Rows, backend_for, pure_dynamics


#: update statistics that are legitimately NaN (SB3's explained variance of constant returns)
NAN_ALLOWED = ("train/explained_variance",)


def _nonfinite_message(batch: EpochBatch) -> str:
    r = batch.result
    row = int(np.flatnonzero(r.nonfinite)[0])
    step = int(r.lengths[row]) - 1
    where = "the noise-free J_det rollout" if row == batch.det else f"episode {row} of the batch"
    more = int(r.nonfinite.sum()) - 1
    extra = f" (and {more} more row{'s' if more > 1 else ''})" if more > 0 else ""
    return (f"the env returned a non-finite reward or observation in {where}{extra} at step {step} of "
            f"epoch {batch.epoch}")


def sde_matrices(horizon: int, sde_sample_freq: int) -> int:
    """How many gSDE noise matrices an episode of ``horizon`` steps draws: one (``sde_sample_freq`` -1, SB3's
    once per rollout: an epoch's rollout is its episodes), else one per ``sde_sample_freq`` steps."""
    return 1 if sde_sample_freq < 1 else -(-int(horizon) // int(sde_sample_freq))


class EpochAlgorithm:
    """The contract mixin (see the module docstring). Put it before the SB3 base class.

    :param horizon: steps per episode (the VecEnv's time limit must be at least this).
    :param planned_epochs: epochs a sigma schedule spans (the run's planned length).
    :param sigma_schedule: a :class:`~mollirl.sigma.SigmaSchedule` for a scheduled sigma, or None.
    :param eval_options: reset options of the env's evaluation start (the J_det row), or None.
    :param rollout_env: a VecEnv of ``n_envs + 1`` copies of the same env, stepped for the epoch's
        rows (needed for the J_det row unless the training VecEnv exposes ``batched_dynamics``);
        not saved with the model.
    """

    #: torch intra-op threads of the update (None: torch's own setting). The networks here are tiny:
    #: on 2 cores a second thread made no update faster, and its workers, spinning after each update,
    #: slowed the next numpy rollout by a quarter (README, measured performance)
    update_threads: int | None = 1
    #: the update reads the buffers' returns-to-go (the epoch driver computes them for all such members at once)
    uses_returns_to_go: bool = False
    #: each member holds SB3's ``RolloutBuffer`` beside the rollout core's buffers (PPO, TRPO: a population's
    #: memory estimate counts it)
    critic_buffer: bool = False

    #: attributes a checkpoint must not carry (rebuilt or passed again at load)
    _contract_excluded = ("rollout_env", "_backend", "_backend_key", "_last_batch")

    def __init__(self, *args: Any, horizon: int = 1000, planned_epochs: int = 1, sigma_schedule=None,
                 eval_options: dict | None = None, rollout_env=None, **kwargs: Any) -> None:
        self.horizon = int(horizon)
        self.planned_epochs = int(planned_epochs)
        self.sigma_schedule = sigma_schedule
        self.eval_options = None if eval_options is None else {k: np.asarray(v).tolist() if isinstance(
            v, np.ndarray) else v for k, v in eval_options.items()}
        self.rollout_env = rollout_env
        self.epoch = 0
        self._backend = None
        self._backend_key = None
        self._last_batch: EpochBatch | None = None
        kwargs["seed"] = default_seed(kwargs.get("seed"))
        super().__init__(*args, **kwargs)

    # --- what an algorithm provides ------------------------------------------------------------
    def epoch_rows(self, epoch: int) -> tuple[Rows, int, dict[str, Any]]:
        """Rows of epoch k: ``(rows, n_train, extra)``; the J_det row, if any, is the last.

        Default: ``n_envs`` episodes with actions ``mu_theta(s) + sigma * eps`` (eps from
        ``(seed, k, ACTION_NOISE)``; gSDE: ``mu_theta(s) + theta_eps features(s)``, the noise matrices
        from that stream), reset seeds ``derive_seed(seed, k, RESETS) + i``, then
        the noise-free row.
        """
        n = self.n_envs
        rng = np.random.default_rng(derive_seed(self.seed, epoch, ACTION_NOISE))
        sde_freq = None
        if getattr(self.policy, "use_sde", False):  # gSDE: noise matrices, one per episode or per sde_sample_freq steps
            sde_freq = int(getattr(self, "sde_sample_freq", -1))
            noise = self.policy.sde_noise(rng, sde_matrices(self.horizon, sde_freq), n)
        else:
            sigma = np.asarray(self.policy.sigma, dtype=np.float64)
            noise = rng.standard_normal((self.horizon, n, sigma.shape[0]))
            noise *= sigma  # sigma * eps in place (the same products: one array less per epoch)
        base = derive_seed(self.seed, epoch, RESETS)
        seeds = [base + i for i in range(n)]
        options: list | None = None
        if self._has_det_row():
            seeds.append(EVAL_SEED)
            options = [None] * n + [self.eval_options]
        rows = Rows(mean=BatchedMean.of_policy(self.policy), seeds=np.array(seeds), options=options,
                    noise=noise, sde_sample_freq=sde_freq)
        return rows, n, {}

    def update(self, batch: EpochBatch) -> None:
        """Apply one update from ``batch`` (record its statistics under ``train/``)."""
        raise NotImplementedError

    def exploration_sigma(self) -> float:
        """The sigma reported for this epoch: the policy's (mean over action dims)."""
        return float(np.mean(self.policy.sigma))

    def begin_epoch(self, epoch: int) -> None:
        """Set a scheduled sigma; set the global generators from ``(seed, k)``."""
        if self.sigma_schedule is not None:
            self.policy.set_sigma(self.sigma_schedule(epoch, self.planned_epochs))
        self.seed_globals(epoch)

    def seed_globals(self, epoch: int) -> None:
        """The global torch and numpy generators from ``(seed, k)``: before the epoch's rows are drawn
        and again before its update (SB3 draws minibatch orders from them), so that neither depends
        on what ran in between (other members of a population, callbacks)."""
        th.default_generator.manual_seed(derive_seed(self.seed, epoch, TORCH))  # the CPU generator: ~1 us, not
        np.random.seed(derive_seed(self.seed, epoch, NUMPY))  # torch.manual_seed's ~0.1 ms (which also visits devices)

    # --- the rollout core ------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return int(self.n_envs * self.horizon)

    @property
    def episodes_per_epoch(self) -> int:
        """Training episodes of an epoch (its Monitor rows): ``n_envs`` (ARS: its ``2 n_delta`` candidates)."""
        return int(self.n_envs)

    def _has_det_row(self) -> bool:
        return pure_dynamics(self.env) is not None or self.rollout_env is not None

    def rollout_backend(self):
        """The core backend of this model's epoch rows (:func:`mollirl.rollout.backend_for` on the env's pure
        dynamics, or on the rollout env's copies; without one, the training env's copies and no J_det
        row); built once per env."""
        key = (id(self.env), id(self.rollout_env))
        if self._backend is None or self._backend_key != key:
            pure = pure_dynamics(self.env) is not None
            self._backend = backend_for(self.env if pure or self.rollout_env is None else self.rollout_env)
            self._backend_key = key
        return self._backend

    def evaluate_det(self) -> dict[str, Any]:
        """J_det of the current policy: the noise-free row alone, exactly as in an epoch's rollout."""
        backend = self.rollout_backend() if pure_dynamics(self.env) is not None else \
            backend_for(self.env)  # the training env's copies, all running the J_det row (the same bits)
        result = backend.run(self.det_rows(), horizon=self.horizon, gamma=self.gamma)
        return self.final_metrics(result, 0)

    def det_rows(self) -> Rows:
        """The one noise-free row of the current policy (what :meth:`evaluate_det` rolls; a population
        rolls every member's at once)."""
        return Rows(mean=BatchedMean.of_policy(self.policy), seeds=np.array([EVAL_SEED]), options=[self.eval_options])

    final_metrics = staticmethod(final_metrics)

    # --- SB3's template: learn() = collect_rollouts() + train() + dump_logs(), for a population of one ----
    def learn(self, total_timesteps: int, callback=None, log_interval: int = 1, tb_log_name: str = "run",
              reset_num_timesteps: bool = True, progress_bar: bool = False, stop_flag=None):
        """Train until ``total_timesteps`` (SB3's meaning: with ``reset_num_timesteps=False``, that
        many more) rounded down to whole epochs: the epoch driver (:mod:`mollirl.common.driver`) over
        this model alone, which per epoch runs :meth:`open_epoch` and the rollout of the epoch's rows
        (with :meth:`end_rollout`, SB3's ``collect_rollouts``), :meth:`train_members` (``train()``) and
        :meth:`dump_logs`. ``log_interval`` is accepted for SB3's signature; every epoch is dumped.

        :param stop_flag: an object whose ``raised`` attribute turns non-None to stop at the next
            step (SIGINT/SIGTERM: :class:`mollirl.training.checkpoint.StopFlag`).

        Callbacks' ``on_step`` runs at every time step unless every callback is an
        :class:`EpochCallback` (then a rollout step costs no callback call).
        """
        driver = EpochDriver([self], stop_flag=stop_flag)
        driver.start(0, total_timesteps, callback, reset_num_timesteps, tb_log_name)
        bar = EpochBar(driver.remaining(), type(self).__name__) if progress_bar else None
        try:
            driver.run(bar=bar)
        finally:
            if bar is not None:
                bar.close()
        driver.end()
        return self

    def collect_rollouts(self, env=None, callback=None, rollout_buffer=None, n_rollout_steps: int | None = None) -> bool:
        """SB3's ``collect_rollouts``: epoch k's rows (:meth:`epoch_rows`, the J_det row included) in one
        batched rollout, recorded and handed to ``on_rollout_end``; :meth:`train` then updates from it.
        ``env``, ``rollout_buffer`` and ``n_rollout_steps`` are accepted for SB3's signature (the rows are
        this model's own, ``n_envs`` episodes of ``horizon`` steps). Returns False when a callback
        stopped the rollout (nothing counted).

        :raises NonFiniteError: for a non-finite reward or observation (nothing counted).
        """
        from stable_baselines3.common.callbacks import BaseCallback

        callback = callback if isinstance(callback, BaseCallback) else self._init_callback(callback)
        if callback.model is None:
            callback.init_callback(self)
        driver = EpochDriver([self])
        total = getattr(self, "_total_timesteps", 0) or (self.epoch + 1) * self.steps_per_epoch
        seat = Seat(self, callback, wants_steps(callback), self.epoch + 1, total)
        k = self.epoch
        rows, n_train, extra = self.open_epoch(k, callback)
        result, _, _ = driver.collect([seat], [(rows, n_train)])
        if result.stopped:
            self.num_timesteps = k * self.steps_per_epoch
            return False
        self.end_rollout(EpochBatch(epoch=k, result=result, n_train=n_train, has_det=rows.n_rows > n_train,
                                    extra=extra), callback, seat.total_timesteps)
        return True

    def train(self) -> None:
        """SB3's ``train``: the update from the last collected epoch (:meth:`collect_rollouts`), guarded
        (:meth:`update`; a non-finite update is undone and raises :class:`NonFiniteError`); epoch k is
        then done (``epoch = k + 1``)."""
        batch = self._last_batch
        if batch is None:
            raise RuntimeError("train() updates from the last collected epoch: call collect_rollouts() first")
        error = type(self).train_members([self])[0]
        if error is not None:
            raise error
        self.epoch = batch.epoch + 1

    @classmethod
    def train_members(cls, models: list) -> list[NonFiniteError | None]:
        """Update every model (all of this class, each with its last collected epoch) from its own
        epoch; return each model's error (None: updated). An algorithm that can update many members in
        one call over stacked parameters overrides this (REINFORCE, ARS); a member's result must not
        depend on the others (a single run is a population of one). Default: each model's guarded
        :meth:`update`."""
        return _update_one_by_one(models)

    @classmethod
    def train_in_groups(cls, models: list, key: Callable[[Any], Hashable | None],
                        step: Callable[[list], list]) -> list[NonFiniteError | None]:
        """:meth:`train_members` for an algorithm with a batched update: the members whose ``key`` is
        equal go through ``step`` (one call, returning each member's error), a member whose key is None
        is updated alone (:meth:`EpochAlgorithm.train_members`); errors come back in the members' order."""
        errors: dict[int, NonFiniteError | None] = {}
        groups: dict[Hashable, list[int]] = {}
        alone = []
        for i, m in enumerate(models):
            k = key(m)
            if k is None:
                alone.append(i)
            else:
                groups.setdefault(k, []).append(i)
        for i, error in zip(alone, _update_one_by_one([models[i] for i in alone])):
            errors[i] = error
        for idx in groups.values():
            for i, error in zip(idx, step([models[i] for i in idx])):
                errors[i] = error
        return [errors[i] for i in range(len(models))]

    def open_epoch(self, epoch: int, callback) -> tuple[Rows, int, dict[str, Any]]:
        """Epoch k begins: schedule and seeding, ``on_rollout_start``, the epoch's rows."""
        self.begin_epoch(epoch)
        self._last_batch = None
        callback.on_rollout_start()
        return self.epoch_rows(epoch)

    def epoch_step(self, t: int, callback) -> bool:
        """One time step of the epoch's rollout: ``num_timesteps`` and the callbacks' ``on_step``."""
        self.num_timesteps += self.n_envs
        return callback.on_step()

    def end_rollout(self, batch: EpochBatch, callback, total_timesteps: int) -> None:
        """Epoch k's rollout is done (the end of SB3's ``collect_rollouts``): the non-finite check, the
        epoch's record, ``on_rollout_end``; :meth:`train` follows.

        :raises NonFiniteError: (nothing counted) for a non-finite reward or observation.
        """
        k, spe = batch.epoch, self.steps_per_epoch
        if batch.result.nonfinite.any():
            self.num_timesteps = k * spe
            raise NonFiniteError(_nonfinite_message(batch))
        self.num_timesteps = (k + 1) * spe
        self._record_epoch(batch)
        callback.update_locals({"batch": batch})
        callback.on_rollout_end()
        self._update_current_progress_remaining(self.num_timesteps, total_timesteps)
        self._last_batch = batch

    def _record_epoch(self, batch: EpochBatch) -> None:
        k = batch.epoch
        row = {"epoch": k, "timesteps": k * self.steps_per_epoch, "sigma": self.exploration_sigma(),
               **batch.metrics()}
        row.pop("final_state", None)
        for key, value in row.items():
            self.logger.record(f"train/{key}", value)
        r, n = batch.result, batch.n_train
        now = time.time()
        for i in range(n):
            self.ep_info_buffer.append({"r": float(r.undiscounted[i]), "l": int(r.lengths[i]), "t": now})
        for fmt in getattr(self.logger, "output_formats", ()):  # the run folder's train.monitor.csv
            add = getattr(fmt, "add_episodes", None)
            if add is not None:
                add(r.undiscounted[:n], r.lengths[:n], now)

    def _guarded_update(self, batch: EpochBatch, step: Callable[[], None] | None = None) -> None:
        """``update(batch)`` (or ``step()``) with a snapshot: on a non-finite value (or an exception caused
        by one) the policy, optimizer and algorithm state are restored and :class:`NonFiniteError` is raised."""
        saved = self._snapshot()
        self.seed_globals(batch.epoch)
        threads = th.get_num_threads()
        if self.update_threads is not None:
            th.set_num_threads(self.update_threads)
        try:
            self.update(batch) if step is None else step()
        except NonFiniteError:
            self._restore(saved)
            raise
        except (ValueError, RuntimeError) as exc:
            if self._parameters_finite():
                raise
            self._restore(saved)
            raise NonFiniteError(f"the update of epoch {batch.epoch} produced non-finite parameters "
                                 f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
        finally:
            th.set_num_threads(threads)
        bad = [k for k, v in self.logger.name_to_value.items()
               if k.startswith("train/") and k not in NAN_ALLOWED and isinstance(v, (float, np.floating))
               and not math.isfinite(v)]
        if not self._parameters_finite() or bad:
            self._restore(saved)
            what = f"non-finite {', '.join(sorted(bad))}" if bad else "non-finite parameters"
            raise NonFiniteError(f"the update of epoch {batch.epoch} produced {what}")

    def _parameters_finite(self) -> bool:
        return all(bool(th.isfinite(p).all()) for p in self.policy.parameters())

    def _snapshot(self) -> dict[str, Any]:
        out = {"policy": {k: v.detach().clone() for k, v in self.policy.state_dict().items()}}
        optimizer = getattr(self.policy, "optimizer", None)
        if optimizer is not None:
            out["optimizer"] = copy.deepcopy(optimizer.state_dict())
        out.update(self._snapshot_extra())
        return out

    def _restore(self, saved: dict[str, Any]) -> None:
        self.policy.load_state_dict(saved["policy"])
        if "optimizer" in saved:
            self.policy.optimizer.load_state_dict(saved["optimizer"])
        self._restore_extra(saved)

    def _snapshot_extra(self) -> dict[str, Any]:
        """Algorithm state outside the policy and its optimizer (ARS: its weight vector)."""
        return {}

    def _restore_extra(self, saved: dict[str, Any]) -> None:
        pass

    def dump_logs(self, iteration: int = 0) -> None:
        """SB3's ``dump_logs`` of the algorithm's SB3 base (``OnPolicyAlgorithm``'s, sb3-contrib ARS's): the
        episodes' ``rollout/ep_rew_mean`` and ``ep_len_mean``, ``time/fps`` and the totals, with
        ``time/iterations`` = epochs done, dumped with the epoch's ``train/`` numbers at x = the env steps
        before epoch ``iteration - 1``'s rollout (``(iteration - 1) * steps_per_epoch``: the TensorBoard
        point of a ``metrics.csv`` row) instead of SB3's ``num_timesteps``."""
        self.logger.record("time/iterations", iteration, exclude="tensorboard")
        logger = self.logger
        dump = logger.dump
        logger.dump = lambda step=0: dump(step=max(iteration - 1, 0) * self.steps_per_epoch)  # the row's x
        try:
            parent = super().dump_logs
            if _takes_iteration(type(self)):
                parent(iteration)
            else:
                parent()
        finally:
            del logger.dump

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), *self._contract_excluded]


@functools.cache
def _takes_iteration(cls: type) -> bool:
    """Whether the SB3 base's ``dump_logs`` (after :class:`EpochAlgorithm` in ``cls``'s MRO) takes ``iteration``
    (``inspect.signature`` once per class, not at every member's dump)."""
    parent = super(EpochAlgorithm, cls).dump_logs
    return "iteration" in inspect.signature(parent).parameters


def _update_one_by_one(models: list) -> list[NonFiniteError | None]:
    """Each model's guarded :meth:`EpochAlgorithm.update` from its last collected epoch; its error or None."""
    out: list[NonFiniteError | None] = []
    for model in models:
        try:
            model._guarded_update(model._last_batch)
            out.append(None)
        except NonFiniteError as exc:
            out.append(exc)
    return out
