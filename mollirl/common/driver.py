"""The one epoch driver: a single run is a population of one.

:class:`EpochDriver` trains P models (P >= 1) of one env side by side. Per epoch it

1. opens every member's epoch (:meth:`EpochAlgorithm.open_epoch`: sigma schedule, per-epoch
   seeding, ``on_rollout_start``, the member's rows from its ``epoch_rows`` hook);
2. runs all members' rows as ONE batched rollout through the rollout core
   (:func:`mollirl.rollout.concat_rows`; a single member's rows as they are), calling each
   member's ``on_step`` per time step when one of its callbacks wants steps, and stopping at
   the next step once the stop flag is raised (SIGINT/SIGTERM: nothing of that epoch applied);
3. computes every returns-to-go-reading member's returns in one pass, hands each member its part
   of the rows and closes its rollout (:meth:`EpochAlgorithm.end_rollout`: the non-finite check,
   the epoch's record, ``on_rollout_end``) - SB3's ``collect_rollouts``;
4. updates the members, one call per algorithm class (:meth:`EpochAlgorithm.train_members`:
   REINFORCE and ARS stack their members' parameters; any other algorithm runs each member's
   ``train()``) - SB3's ``train``;
5. dumps each member's epoch (:meth:`EpochAlgorithm.dump_logs`: TensorBoard and ``metrics.csv``,
   the same points), then asks ``on_epoch`` which members to drop, and moves the progress bar.

A member whose values turn non-finite leaves alone (``on_failure``; without one, the error is
raised: a single run). Members at different epochs (a population resumed from checkpoints of
different epochs) run in groups, the lowest epoch first. Every member's arithmetic is its own
(row-independent rollouts, per-member update kernels whose numbers do not depend on the other
members), so a member's ``metrics.csv`` equals its separate run byte for byte.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
from contextlib import contextmanager
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mollirl.common.errors import NonFiniteError
from mollirl.common.files import batched_writes
from mollirl.common.returns import returns_to_go
from mollirl.rollout import RolloutResult, concat_rows


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


def final_metrics(result: RolloutResult, row: int) -> dict[str, Any]:
    """:func:`det_metrics` of a final policy's row; a non-finite row raises :class:`NonFiniteError`."""
    if result.nonfinite[row]:
        raise NonFiniteError("the env returned a non-finite reward or observation in the noise-free J_det "
                             "rollout of the final policy")
    return det_metrics(result, row)


def wants_steps(callback) -> bool:
    """Whether ``callback`` (or one in a ``CallbackList``) may act on a step: anything but an
    :class:`~mollirl.common.callbacks.EpochCallback`."""
    from stable_baselines3.common.callbacks import CallbackList

    if isinstance(callback, CallbackList):
        return any(wants_steps(c) for c in callback.callbacks)
    from mollirl.common.callbacks import EpochCallback

    return not isinstance(callback, EpochCallback)


@dataclass
class Seat:
    """One member's place in the driver: its model, callbacks and epoch to stop at.

    :param model: an :class:`~mollirl.common.algorithm.EpochAlgorithm`.
    :param callback: its SB3 callback (after ``_setup_learn``).
    :param per_step: whether a callback acts on time steps (else a rollout step calls none).
    :param target: the epoch it trains to.
    :param total_timesteps: SB3's total (for ``_current_progress_remaining``).
    :param out: it left the population (finished its epochs, failed or dropped).
    """

    model: Any
    callback: Any
    per_step: bool
    target: int
    total_timesteps: int
    out: bool = False


class EpochDriver:
    """Trains ``models`` (one env, one horizon) epoch by epoch around one batched rollout per epoch.

    :param models: the members' algorithms (:class:`~mollirl.common.algorithm.EpochAlgorithm`).
    :param backend: ``n_rows -> backend`` of the rollout core for that many rows (one chooser:
        :func:`mollirl.rollout.backend_for`); a single model uses its own
        (:meth:`~mollirl.common.algorithm.EpochAlgorithm.rollout_backend`).
    :param stop_flag: an object whose ``raised`` attribute turns non-None to stop at the next step
        (:class:`mollirl.training.checkpoint.StopFlag`), or None.
    """

    def __init__(self, models: list, backend: Callable[[int], Any] | None = None, *, stop_flag=None) -> None:
        if not models:
            raise ValueError("an epoch driver needs at least one model")
        self.models = list(models)
        self.backend = backend if backend is not None else (lambda n: self.models[0].rollout_backend())
        self.stop_flag = stop_flag
        self.seats: list[Seat | None] = [None] * len(self.models)
        self._buffers = None  # the rollout's buffers, reused from epoch to epoch
        self._rtg = None  # and their returns-to-go
        self._noise = None  # the members' noise side by side, reused from epoch to epoch

    # --- the members' setup and end (SB3's _setup_learn / on_training_start / on_training_end) -------
    def start(self, i: int, total_timesteps: int, callback=None, reset_num_timesteps: bool = True,
              tb_log_name: str = "run") -> Seat:
        """Member i's SB3 ``_setup_learn`` and its callbacks' ``on_training_start``; ``total_timesteps``
        is rounded down to whole epochs (with ``reset_num_timesteps=False``, SB3's meaning: that many more)."""
        model = self.models[i]
        total_timesteps, callback = model._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name,
                                                       False)
        if reset_num_timesteps:
            model.epoch = 0
        model.num_timesteps = model.epoch * model.steps_per_epoch
        seat = Seat(model, callback, wants_steps(callback), int(total_timesteps // model.steps_per_epoch),
                    int(total_timesteps))
        self.seats[i] = seat
        callback.on_training_start({"self": model, "total_timesteps": total_timesteps}, globals())
        return seat

    def end(self, indices: list[int] | None = None) -> None:
        """The callbacks' ``on_training_end`` of members ``indices`` (default: every member not out)."""
        for i in self._indices(indices):
            self.seats[i].callback.on_training_end()

    def _indices(self, indices: list[int] | None) -> list[int]:
        return [i for i, s in enumerate(self.seats) if s is not None and not s.out] if indices is None else indices

    def remaining(self) -> int:
        """Member-epochs left to run."""
        return sum(max(s.target - s.model.epoch, 0) for s in self.seats if s is not None and not s.out)

    def leave(self, i: int) -> int:
        """Member i leaves the population (failed or dropped); returns the epochs it will not run."""
        seat = self.seats[i]
        seat.out = True
        return max(seat.target - seat.model.epoch, 0)

    # --- the epochs ----------------------------------------------------------------------------
    def run(self, *, bar: EpochBar | None = None, on_failure: Callable[[int, NonFiniteError], None] | None = None,
            on_epoch: Callable[[int, dict[int, float | None]], dict[int, str]] | None = None) -> bool:
        """Every started member to its target epoch; returns whether the stop flag ended it.

        :param bar: a progress bar of member-epochs (:class:`EpochBar`), or None.
        :param on_failure: ``on_failure(i, error)`` when member i's epoch or update was non-finite
            (nothing of that epoch applied; the member leaves); None: the error is raised.
        :param on_epoch: ``on_epoch(k, j_det) -> {member: reason}`` after the members at epoch k closed
            it (``j_det[i]``: J_det(theta_k), NaN without a J_det row, None when member i failed in that
            epoch); the members returned leave.
        """
        with frozen_heap():
            return self._run(bar, on_failure, on_epoch)

    def _run(self, bar, on_failure, on_epoch) -> bool:
        while True:
            active = [i for i, s in enumerate(self.seats) if s is not None and not s.out and s.model.epoch < s.target]
            if not active:
                return False
            k = min(self.seats[i].model.epoch for i in active)
            group = [i for i in active if self.seats[i].model.epoch == k]
            stopped, j_det = self.epoch(k, group, on_failure)
            if stopped:
                return True
            dropped = (on_epoch(k, j_det) or {}) if on_epoch is not None else {}
            left = sum(self.leave(i) for i in group if j_det[i] is None)  # failed in this epoch
            left += sum(self.leave(i) for i in dropped if not self.seats[i].out)
            if bar is not None:
                bar.update(len(group), [v for v in j_det.values() if v is not None])
                bar.drop(left)

    def epoch(self, k: int, group: list[int], on_failure=None) -> tuple[bool, dict[int, float | None]]:
        """Epoch k of members ``group`` (all at epoch k): one rollout, their updates, their dumps.

        :return: ``(stopped, j_det)``: whether the stop flag cut the rollout (nothing applied), and each
            member's J_det(theta_k) (NaN without a J_det row, None if it failed in this epoch).
        """
        seats = [self.seats[i] for i in group]
        parts, extras = [], []
        with batched_writes():  # the members' checkpoints at the epoch's start, flushed together
            for seat in seats:
                rows, n_train, extra = seat.model.open_epoch(k, seat.callback)
                parts.append((rows, n_train))
                extras.append(extra)
        result, n_train, blocks = self.collect(seats, parts)
        if result.stopped:  # nothing applied, nothing counted
            for seat in seats:
                seat.model.num_timesteps = k * seat.model.steps_per_epoch
            return True, {}
        j_det: dict[int, float | None] = {}
        closed: list[int] = []
        for i, seat, block, (part_rows, part_train), extra in zip(group, seats, blocks, parts, extras):
            batch = EpochBatch(epoch=k, result=result if block is None else result.part(block), n_train=part_train,
                               has_det=part_rows.n_rows > part_train, extra=extra)
            try:
                seat.model.end_rollout(batch, seat.callback, seat.total_timesteps)
            except NonFiniteError as exc:
                self._fail(i, exc, on_failure)
                j_det[i] = None
                continue
            j_det[i] = float(batch.result.discounted[part_train]) if batch.has_det else math.nan
            closed.append(i)
        for cls, members in _by_class([(i, self.seats[i].model) for i in closed]):
            errors = cls.train_members([m for _, m in members])
            for (i, model), error in zip(members, errors):
                if error is not None:
                    self._fail(i, error, on_failure)
                    j_det[i] = None
                else:
                    model.epoch = k + 1
                    model.dump_logs(k + 1)
        return False, j_det

    def collect(self, seats: list[Seat], parts: list[tuple[Any, int]]):
        """The members' rows as one rollout: ``(result, n_train, blocks)`` (``blocks`` None for one member:
        its rows run as they are). Every returns-to-go-reading member's returns are computed at once."""
        if len(parts) == 1:
            rows, n_train = parts[0]
            blocks: list = [None]
            gamma: float | np.ndarray = seats[0].model.gamma
        else:
            rows, n_train, blocks = concat_rows(parts, noise_out=self._noise)
            self._noise = rows.noise  # reused next epoch (a fresh 16 MB array: ~5 ms of page faults)
            gammas = [s.model.gamma for s in seats]
            gamma = gammas[0] if len(set(gammas)) == 1 else np.concatenate(
                [np.full(b.train.stop - b.train.start, g) for g, b in zip(gammas, blocks)]
                + [np.full(b.det.size, g) for g, b in zip(gammas, blocks)])
        steppers = [s for s in seats if s.per_step]
        hook = _step_hook(steppers, self.stop_flag) if steppers or self.stop_flag is not None else None
        result = self.backend(rows.n_rows).run(rows, horizon=seats[0].model.horizon, gamma=gamma,
                                               buffer_rows=n_train, buffers=self._buffers, on_step=hook)
        self._buffers = result.buffers
        if not result.stopped and result.buffers is not None and any(s.model.uses_returns_to_go for s in seats):
            buf = result.buffers  # every member's returns-to-go at once (per-column gamma: the same bits)
            buf.rtg_gamma = np.broadcast_to(np.asarray(gamma, dtype=np.float64), (rows.n_rows,))[:n_train]
            if self._rtg is None or self._rtg.shape != buf.rewards.shape:
                self._rtg = np.empty_like(buf.rewards)
            buf.rtg = returns_to_go(buf.rewards, buf.dones, buf.rtg_gamma, out=self._rtg)
        return result, n_train, blocks

    @staticmethod
    def _fail(i: int, exc: NonFiniteError, on_failure) -> None:
        if on_failure is None:
            raise exc
        on_failure(i, exc)  # the member leaves at the end of the epoch (run())

    # --- the final policies -----------------------------------------------------------------------
    def final_rows(self, indices: list[int]) -> dict[int, dict[str, Any]]:
        """Members ``indices``' final J_det rows in one rollout (the same bits as each model's own
        ``evaluate_det``); a member whose row is non-finite is left out (its ``evaluate_det`` raises)."""
        if not indices:
            return {}
        models = [self.models[i] for i in indices]
        rows, _, blocks = concat_rows([(m.det_rows(), 0) for m in models])
        gamma = np.array([m.gamma for m in models], dtype=np.float64)  # one row per member
        result = self.backend(rows.n_rows).run(rows, horizon=models[0].horizon, gamma=gamma)
        out = {}
        for i, block in zip(indices, blocks):
            try:
                out[i] = final_metrics(result, int(block.det[0]))
            except NonFiniteError:
                pass
        return out


def _step_hook(steppers: list[Seat], stop) -> Callable[[int], bool]:
    """The rollout's ``on_step``: False (stop after this step) once the stop flag is raised or a stepping member's
    callback returns False; else every stepping member's ``epoch_step``."""
    def hook(t: int) -> bool:
        if stop is not None and stop.raised is not None:
            return False
        ok = True
        for seat in steppers:
            ok = seat.model.epoch_step(t, seat.callback) and ok
        return ok

    return hook


_FROZEN = [0]  # nesting depth of frozen_heap() (drivers in several threads: the outermost thaws)
_FROZEN_LOCK = threading.Lock()


@contextmanager
def frozen_heap():
    """The objects alive when training starts (torch, SB3, the models, envs and loggers: some 200,000) moved out
    of the garbage collector's view until it ends (``gc.freeze``). They live for the whole run; without this,
    each of Python's full collections walked them all again (about 120 ms, once every few epochs of a
    64-member population: 10% of its time). Objects made during training are collected as usual."""
    with _FROZEN_LOCK:
        if _FROZEN[0] == 0:
            gc.freeze()
        _FROZEN[0] += 1
    try:
        yield
    finally:
        with _FROZEN_LOCK:
            _FROZEN[0] -= 1
            if _FROZEN[0] == 0:
                gc.unfreeze()


def _by_class(members: list[tuple[int, Any]]) -> list[tuple[type, list[tuple[int, Any]]]]:
    """Members grouped by algorithm class, in order of first appearance."""
    groups: dict[type, list[tuple[int, Any]]] = {}
    for i, model in members:
        groups.setdefault(type(model), []).append((i, model))
    return list(groups.items())


class EpochBar:
    """A tqdm bar on stderr of member-epochs done (one member: its epochs), with the last J_det (the best
    of a population's), tqdm's rate and ETA.

    :param total: member-epochs to run.
    :param desc: the label.
    :param position: the bar's line (tqdm ``position``: one line per worker process).
    """

    def __init__(self, total: int, desc: str, position: int | None = None) -> None:
        from mollirl.common.progress import progress_bar

        self.bar = progress_bar(total=max(total, 0), desc=desc, unit="epoch", file=sys.stderr, leave=False,
                                position=position)  # plain lines when stderr is not a terminal

    def drop(self, epochs: int) -> None:
        """Members that left (pruned, failed) will not run ``epochs`` more: out of the total."""
        if epochs > 0:
            self.bar.total = max(self.bar.total - epochs, self.bar.n)
            self.bar.refresh()

    def update(self, n: int, j_det: list[float]) -> None:
        values = [v for v in j_det if math.isfinite(v)]
        if values:
            label = "J_det" if n == 1 else "best J_det"
            self.bar.set_postfix_str(f"{label} {max(values):.4g}", refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()
