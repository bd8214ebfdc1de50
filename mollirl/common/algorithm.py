"""The algorithm contract: what every mollirl algorithm does the same way.

:class:`EpochAlgorithm` is a mixin put before an SB3 algorithm class
(``class REINFORCE(EpochAlgorithm, OnPolicyAlgorithm)``,
``class MollifiedPPO(EpochAlgorithm, PPO)``). It owns ``learn()``; an algorithm
adds its hyperparameters, the rows of its epoch (:meth:`~EpochAlgorithm.epoch_rows`;
the default is ``n_envs`` Gaussian-action episodes at theta_k) and its update
(:meth:`~EpochAlgorithm.update`). What the contract fixes:

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
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th

from mollirl.common.errors import NonFiniteError
from mollirl.common.seeding import ACTION_NOISE, NUMPY, RESETS, TORCH, default_seed, derive_seed
from mollirl.rollout import EVAL_SEED, BatchedMean, RolloutResult, Rows, backend_for


#: update statistics that are legitimately NaN (SB3's explained variance of constant returns)
NAN_ALLOWED = ("train/explained_variance",)


@dataclass
class EpochBatch:
    """One epoch's rollout: ``n_train`` training rows (with buffers), then the J_det row (if any).

    :param epoch: k.
    :param result: the rollout core's per-row result.
    :param n_train: number of training rows (the batch episodes or ARS candidates).
    :param has_det: whether the last row is the noise-free J_det row at theta_k.
    :param extra: what the algorithm's update needs besides the rows (ARS: its deltas).
    """

    epoch: int
    result: RolloutResult
    n_train: int
    has_det: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def det(self) -> int | None:
        return self.n_train if self.has_det else None

    def metrics(self, gamma_note: str = "") -> dict[str, float]:
        """The epoch's row of ``train/`` numbers (batch statistics; J_det when the row exists)."""
        r, n = self.result, self.n_train
        out = {"J_sigma": float(np.mean(r.discounted[:n])), "ep_return_mean": float(np.mean(r.undiscounted[:n])),
               "diverged_fraction": float(np.mean(r.diverged[:n]))}
        if self.has_det:
            out.update(det_metrics(r, n))
        return out


def det_metrics(result: RolloutResult, row: int) -> dict[str, Any]:
    """``J_det``, ``J_det_undiscounted``, ``final_state_norm``, ``J_det_diverged`` (and ``final_state``) of a row."""
    final = result.final_obs[row]
    return {"J_det": float(result.discounted[row]), "J_det_undiscounted": float(result.undiscounted[row]),
            "final_state_norm": float(np.linalg.norm(final)), "J_det_diverged": float(result.diverged[row]),
            "final_state": np.array(final)}


def _nonfinite_message(batch: EpochBatch) -> str:
    r = batch.result
    row = int(np.flatnonzero(r.nonfinite)[0])
    step = int(r.lengths[row]) - 1
    where = "the noise-free J_det rollout" if row == batch.det else f"episode {row} of the batch"
    more = int(r.nonfinite.sum()) - 1
    extra = f" (and {more} more row{'s' if more > 1 else ''})" if more > 0 else ""
    return (f"the env returned a non-finite reward or observation in {where}{extra} at step {step} of "
            f"epoch {batch.epoch}")


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
    #: the update reads the buffers' returns-to-go (a population computes them for all such members at once)
    uses_returns_to_go: bool = False

    #: attributes a checkpoint must not carry (rebuilt or passed again at load)
    _contract_excluded = ("rollout_env", "_backend", "_backend_key", "_buffers", "_callback", "_per_step",
                          "_total_timesteps")

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
        self._buffers = None
        kwargs["seed"] = default_seed(kwargs.get("seed"))
        super().__init__(*args, **kwargs)

    # --- what an algorithm provides ------------------------------------------------------------
    def epoch_rows(self, epoch: int) -> tuple[Rows, int, dict[str, Any]]:
        """Rows of epoch k: ``(rows, n_train, extra)``; the J_det row, if any, is the last.

        Default: ``n_envs`` episodes with actions ``mu_theta(s) + sigma * eps`` (eps from
        ``(seed, k, ACTION_NOISE)``), reset seeds ``derive_seed(seed, k, RESETS) + i``, then
        the noise-free row.
        """
        n = self.n_envs
        sigma = np.asarray(self.policy.sigma, dtype=np.float64)
        eps = np.random.default_rng(derive_seed(self.seed, epoch, ACTION_NOISE)).standard_normal(
            (self.horizon, n, sigma.shape[0]))
        base = derive_seed(self.seed, epoch, RESETS)
        seeds = [base + i for i in range(n)]
        options: list | None = None
        if self._has_det_row():
            seeds.append(EVAL_SEED)
            options = [None] * n + [self.eval_options]
        rows = Rows(mean=BatchedMean.of_policy(self.policy), seeds=np.array(seeds), options=options,
                    noise=sigma * eps)
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

    def _has_det_row(self) -> bool:
        return getattr(self.env, "batched_dynamics", None) is not None or self.rollout_env is not None

    def rollout_backend(self):
        """The core backend of the epoch's rows: the env's pure dynamics, or the rollout env's copies
        (without one, the training env's copies and no J_det row); built once per env."""
        key = (id(self.env), id(self.rollout_env))
        if self._backend is None or self._backend_key != key:
            venv = self.env if self.rollout_env is None else self.rollout_env
            dynamics = getattr(self.env, "batched_dynamics", None)
            self._backend = backend_for(self.env if dynamics is not None else venv)
            self._backend_key = key
        return self._backend

    def evaluate_det(self) -> dict[str, Any]:
        """J_det of the current policy: the noise-free row alone, exactly as in an epoch's rollout."""
        backend = self.rollout_backend() if getattr(self.env, "batched_dynamics", None) is not None else \
            backend_for(self.env)  # the training env's copies, all running the J_det row (the same bits)
        result = backend.run(self.det_rows(), horizon=self.horizon, gamma=self.gamma)
        return self.final_metrics(result, 0)

    def det_rows(self) -> Rows:
        """The one noise-free row of the current policy (what :meth:`evaluate_det` rolls; a population
        rolls every member's at once)."""
        return Rows(mean=BatchedMean.of_policy(self.policy), seeds=np.array([EVAL_SEED]), options=[self.eval_options])

    @staticmethod
    def final_metrics(result: RolloutResult, row: int) -> dict[str, Any]:
        """:func:`det_metrics` of the final policy's row; a non-finite row raises :class:`NonFiniteError`."""
        if result.nonfinite[row]:
            raise NonFiniteError("the env returned a non-finite reward or observation in the noise-free J_det "
                                 "rollout of the final policy")
        return det_metrics(result, row)

    # --- learn -----------------------------------------------------------------------------
    def learn(self, total_timesteps: int, callback=None, log_interval: int = 1, tb_log_name: str = "run",
              reset_num_timesteps: bool = True, progress_bar: bool = False, stop_flag=None):
        """Train until ``total_timesteps`` (SB3's meaning: with ``reset_num_timesteps=False``, that
        many more) rounded down to whole epochs. ``log_interval`` is accepted for SB3's signature;
        every epoch is dumped (one row per epoch).

        :param stop_flag: an object whose ``raised`` attribute turns non-None to stop at the next
            step (SIGINT/SIGTERM: :class:`mollirl.training.checkpoint.StopFlag`).

        Callbacks' ``on_step`` runs at every time step unless every callback is an
        :class:`EpochCallback` (then a rollout step costs no callback call). The loop is
        :meth:`start_epochs`, then per epoch :meth:`open_epoch`, one rollout of its rows,
        :meth:`close_epoch`; a population (:mod:`mollirl.population`) runs the same steps for
        every member around one rollout of all their rows.
        """
        target = self.start_epochs(total_timesteps, callback, reset_num_timesteps, tb_log_name)
        bar = _EpochBar(target - self.epoch, type(self).__name__) if progress_bar else None
        try:
            while self.epoch < target:
                k = self.epoch
                rows, n_train, extra = self.open_epoch(k)

                def on_step(t: int) -> bool:
                    if stop_flag is not None and stop_flag.raised is not None:
                        return False
                    return self.epoch_step(t)

                hook = on_step if self._per_step or stop_flag is not None else None
                result = self.rollout_backend().run(rows, horizon=self.horizon, gamma=self.gamma,
                                                    buffer_rows=n_train, buffers=self._buffers, on_step=hook)
                self._buffers = result.buffers
                if result.stopped:  # nothing applied, nothing counted
                    self.num_timesteps = k * self.steps_per_epoch
                    break
                batch = EpochBatch(epoch=k, result=result, n_train=n_train, has_det=rows.n_rows > n_train,
                                   extra=extra)
                self.close_epoch(batch)
                if bar is not None:
                    bar.update(self.logger.name_to_value, batch)
        finally:
            if bar is not None:
                bar.close()
        self.end_epochs()
        return self

    def start_epochs(self, total_timesteps: int, callback=None, reset_num_timesteps: bool = True,
                     tb_log_name: str = "run") -> int:
        """SB3's ``_setup_learn`` and the callbacks' ``on_training_start``; returns the epoch to stop at."""
        total_timesteps, callback = self._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name,
                                                      False)
        self._callback = callback
        self._per_step = wants_steps(callback)
        self._total_timesteps = total_timesteps
        if reset_num_timesteps:
            self.epoch = 0
        self.num_timesteps = self.epoch * self.steps_per_epoch
        callback.on_training_start(locals(), globals())
        return int(total_timesteps // self.steps_per_epoch)

    def open_epoch(self, epoch: int) -> tuple[Rows, int, dict[str, Any]]:
        """Epoch k begins: schedule and seeding, ``on_rollout_start``, the epoch's rows."""
        self.begin_epoch(epoch)
        self._callback.on_rollout_start()
        return self.epoch_rows(epoch)

    def epoch_step(self, t: int) -> bool:
        """One time step of the epoch's rollout: ``num_timesteps`` and the callbacks' ``on_step``."""
        self.num_timesteps += self.n_envs
        return self._callback.on_step() if self._per_step else True

    def close_epoch(self, batch: EpochBatch) -> None:
        """Epoch k's rollout is done: the non-finite check, the record, ``on_rollout_end``, the update, the dump.

        :raises NonFiniteError: (nothing applied, nothing counted) for a non-finite reward or
            observation, or a non-finite update.
        """
        k, spe = batch.epoch, self.steps_per_epoch
        if batch.result.nonfinite.any():
            self.num_timesteps = k * spe
            raise NonFiniteError(_nonfinite_message(batch))
        self.num_timesteps = (k + 1) * spe
        self._record_epoch(batch)
        self._callback.update_locals({"batch": batch})
        self._callback.on_rollout_end()
        self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
        self._guarded_update(batch)
        self.epoch = k + 1
        self._dump_epoch(k)

    def end_epochs(self) -> None:
        """The callbacks' ``on_training_end``."""
        self._callback.on_training_end()

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

    def _guarded_update(self, batch: EpochBatch) -> None:
        """``update`` with a snapshot: on a non-finite value (or an exception caused by one) the
        policy, optimizer and algorithm state are restored and :class:`NonFiniteError` is raised."""
        saved = self._snapshot()
        self.seed_globals(batch.epoch)
        threads = th.get_num_threads()
        if self.update_threads is not None:
            th.set_num_threads(self.update_threads)
        try:
            self.update(batch)
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

    def _dump_epoch(self, k: int) -> None:
        from stable_baselines3.common.utils import safe_mean

        time_elapsed = max((time.time_ns() - self.start_time) / 1e9, 1e-9)
        fps = int((self.num_timesteps - self._num_timesteps_at_start) / time_elapsed)
        if len(self.ep_info_buffer) > 0:
            self.logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
            self.logger.record("rollout/ep_len_mean", safe_mean([ep["l"] for ep in self.ep_info_buffer]))
        self.logger.record("time/iterations", k + 1, exclude="tensorboard")
        self.logger.record("time/fps", fps)
        self.logger.record("time/time_elapsed", int(time_elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(step=k * self.steps_per_epoch)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), *self._contract_excluded]


def wants_steps(callback) -> bool:
    """Whether ``callback`` (or one in a ``CallbackList``) may act on a step: anything but an
    :class:`EpochCallback`."""
    from stable_baselines3.common.callbacks import CallbackList

    if isinstance(callback, CallbackList):
        return any(wants_steps(c) for c in callback.callbacks)
    from mollirl.common.callbacks import EpochCallback

    return not isinstance(callback, EpochCallback)


class _EpochBar:
    """A tqdm bar over epochs on stderr, showing the last J_det."""

    def __init__(self, total: int, name: str) -> None:
        import sys

        from tqdm import tqdm

        self.bar = tqdm(total=max(total, 0), desc=name, unit="epoch", file=sys.stderr, leave=False)

    def update(self, values: dict[str, Any], batch: EpochBatch) -> None:
        j = values.get("train/J_det")
        if j is not None:
            self.bar.set_postfix_str(f"J_det {j:.4g}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
