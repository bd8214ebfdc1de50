"""What a batched rollout is: rows in, per-row returns (and, on request, buffers) out.

A *row* is one episode: a parameter set of the policy's mean network, a reset
(seed and options), optionally an additive noise stream on the raw action and a
fixed first action. All rows advance together, one array operation per time step
(see :mod:`mollirl.rollout.backends`). Callers differ only in the rows they pass:

- a training epoch: ``batch_episodes`` noisy rows at theta_k plus one noise-free row
  from the env's evaluation start (its return is J_det(theta_k));
- a landscape: grid points x episodes, common random numbers across points;
- ARS: ``2 n_delta`` perturbed parameter sets plus the noise-free row at theta;
- a population: every member's rows side by side.

**One divergence rule** for every env: a row ends, flagged ``diverged``, on the step
that produces a non-finite observation or reward (``nonfinite`` too), on which the
env reports ``info["diverged"]`` (a VecEnv), or on which an analytic env's state
leaves its divergence threshold. A diverged row keeps its finite return up to
that step (the step's reward counts when it is finite) and is never dropped.
Any other ``done`` (a natural termination, or the horizon) ends the row without
the flag.

**Returns** of a row: ``discounted = sum_{t < L} gamma^t r_t`` and
``undiscounted = sum_{t < L} r_t`` over its ``L`` steps (``lengths``); no
bootstrapping. Every row's arithmetic is its own (element-wise numpy, see
:mod:`mollirl.rollout.mean`), so a row's numbers do not depend on the batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from mollirl.rollout.mean import BatchedMean, _matvec

#: the reset seed of every noise-free evaluation row: a training epoch's J_det row, a landscape's det
#: rows (with an env's evaluation start, which fixes the start state, the seed does not matter)
EVAL_SEED = 0

#: ``on_step(t) -> False`` stops the rollout after step t (e.g. SIGINT); anything else continues
StepHook = Callable[[int], Any]
#: ``progress(done, total)`` in time steps (chunks of a large rollout count one after the other)
Progress = Callable[[int, int], None]


@dataclasses.dataclass
class Rows:
    """The rows of one batched rollout.

    :param mean: the parameter sets (a :class:`BatchedMean`; one set is broadcast to every row).
    :param seeds: ``(R,)`` reset seed of each row (as ``VecEnv.seed`` gives copies: a Gymnasium
        ``np_random`` seed). Its length is the number of rows R.
    :param param_index: ``(R,)`` parameter set of each row; None: set r for row r (``n_sets == R``)
        or the only set.
    :param options: reset options: one dict for every row, a list with one dict (or None) per row,
        or None (the env's own start distribution). The env's *evaluation start* is an options dict
        (:attr:`mollirl.common.env_util.EnvPlugin.eval_start`).
    :param noise: ``(T, K, action_dim)`` additive noise on the raw action (already scaled, e.g.
        ``sigma * eps``), or None. Common random numbers are the caller's choice: rows that share
        a stream share the noise.
    :param noise_index: ``(R,)`` noise stream of each row, -1 for none; None: row r < K uses stream r,
        later rows none (training: the batch rows, then the noise-free J_det row).
    :param first_actions: ``(R, action_dim)`` raw actions taken at t = 0 instead of the policy's
        (no noise is added then), or None (Q-landscapes).
    :param sde_sample_freq: None: ``noise`` is additive. Otherwise ``noise`` holds gSDE's state-dependent
        noise (SB3's ``StateDependentNoiseDistribution``): ``(S, K, action_dim, n_features)`` noise matrices
        ``theta_eps`` (already scaled by their std), and the raw action of a row on stream k at step t is
        ``mu(s) + theta_eps[s_t, k] features(s)`` (``features``: :meth:`BatchedMean.with_features`, the
        observation for a linear mean, the hidden layer for an mlp), with matrix ``s_t = t // sde_sample_freq``
        (-1: ``s_t = 0``, one matrix per episode).
    """

    mean: BatchedMean
    seeds: np.ndarray
    param_index: np.ndarray | None = None
    options: dict | list | None = None
    noise: np.ndarray | None = None
    noise_index: np.ndarray | None = None
    first_actions: np.ndarray | None = None
    sde_sample_freq: int | None = None

    def __post_init__(self) -> None:
        self.seeds = np.asarray(self.seeds, dtype=np.int64).reshape(-1)
        R = self.seeds.size
        if R < 1:
            raise ValueError("a rollout needs at least one row")
        if self.param_index is None:
            if self.mean.n_rows not in (1, R):
                raise ValueError(f"{self.mean.n_rows} parameter sets for {R} rows: give param_index")
        else:
            self.param_index = np.asarray(self.param_index, dtype=np.int64).reshape(-1)
            if self.param_index.size != R:
                raise ValueError(f"param_index has {self.param_index.size} entries for {R} rows")
            if self.param_index.min() < 0 or self.param_index.max() >= self.mean.n_rows:
                raise ValueError(f"param_index out of range for {self.mean.n_rows} parameter sets")
        if isinstance(self.options, list) and len(self.options) != R:
            raise ValueError(f"{len(self.options)} reset options for {R} rows")
        if self.noise is not None:
            self.noise = np.asarray(self.noise, dtype=np.float64)
            if self.sde_sample_freq is None and self.noise.ndim != 3:
                raise ValueError(f"noise must be (T, K, action_dim), got shape {self.noise.shape}")
            if self.sde_sample_freq is not None and self.noise.ndim != 4:
                raise ValueError(f"gSDE noise must be (S, K, action_dim, n_features), got shape {self.noise.shape}")
        if self.sde_sample_freq is not None and (self.sde_sample_freq < 1 and self.sde_sample_freq != -1):
            raise ValueError(f"sde_sample_freq must be -1 or >= 1, got {self.sde_sample_freq}")
        if self.noise_index is not None:
            self.noise_index = np.asarray(self.noise_index, dtype=np.int64).reshape(-1)
            if self.noise_index.size != R:
                raise ValueError(f"noise_index has {self.noise_index.size} entries for {R} rows")
            if self.noise is None and np.any(self.noise_index >= 0):
                raise ValueError("noise_index without noise")
            if self.noise is not None and self.noise_index.max() >= self.noise.shape[1]:
                raise ValueError(f"noise_index refers to stream {self.noise_index.max()} of {self.noise.shape[1]}")
        elif self.noise is not None and self.noise.shape[1] > R:
            raise ValueError(f"{self.noise.shape[1]} noise streams for {R} rows: give noise_index")
        if self.first_actions is not None:
            self.first_actions = np.asarray(self.first_actions, dtype=np.float64)
            if self.first_actions.ndim != 2 or self.first_actions.shape[0] != R:
                raise ValueError(f"first_actions must be ({R}, action_dim), got {self.first_actions.shape}")

    @property
    def n_rows(self) -> int:
        return int(self.seeds.size)

    def option(self, r: int) -> dict | None:
        """Reset options of row r."""
        if isinstance(self.options, list):
            return self.options[r]
        return self.options

    def row_noise_index(self) -> np.ndarray:
        """``(R,)`` noise stream of every row (-1: none)."""
        if self.noise_index is not None:
            return self.noise_index
        out = np.full(self.n_rows, -1, dtype=np.int64)
        if self.noise is not None:
            out[: self.noise.shape[1]] = np.arange(self.noise.shape[1])
        return out

    def select(self, rows: np.ndarray) -> Rows:
        """The rows ``rows`` (indices) as a new :class:`Rows` (chunks of a large rollout)."""
        rows = np.asarray(rows, dtype=np.int64)
        index = self.param_index[rows] if self.param_index is not None else (
            rows if self.mean.n_rows > 1 else None)
        options = [self.option(int(r)) for r in rows] if isinstance(self.options, list) else self.options
        noise_index = self.row_noise_index()[rows] if self.noise is not None else None
        return Rows(mean=self.mean, seeds=self.seeds[rows], param_index=index, options=options, noise=self.noise,
                    noise_index=noise_index,
                    first_actions=None if self.first_actions is None else self.first_actions[rows],
                    sde_sample_freq=self.sde_sample_freq)


@dataclasses.dataclass(frozen=True)
class Block:
    """Where one part's rows landed in :func:`concat_rows`'s combined rows.

    :param train: the part's first ``n_train`` rows (a slice of the combined training block).
    :param det: the combined index of the part's remaining rows (its J_det row), possibly empty.
    """

    train: slice
    det: np.ndarray


def concat_rows(parts: list[tuple[Rows, int]], noise_out: np.ndarray | None = None) -> tuple[Rows, int, list[Block]]:
    """Many parts' rows as one rollout: every part's first ``n_train`` rows (its training rows), part
    after part, then every part's remaining rows (J_det rows). Each part keeps its parameter sets,
    seeds, options and noise streams; rows keep their own arithmetic, so each part's rows give the
    same bits as when the part runs alone.

    :param parts: ``(rows, n_train)`` per part; their mean networks must have the same structure.
    :param noise_out: an array the combined noise is written into when its shape fits (a caller's buffer reused
        from epoch to epoch: the combined rows then refer to it), else a new array is made.
    :return: ``(rows, n_train_total, blocks)``.
    """
    if not parts:
        raise ValueError("concat_rows needs at least one part")
    first = parts[0][0].mean
    for rows, _ in parts:
        if rows.mean.named_shapes != first.named_shapes:
            raise ValueError("the parts' policies have different mean networks")
        if rows.first_actions is not None:
            raise ValueError("concat_rows does not combine first actions")
        if rows.sde_sample_freq != parts[0][0].sde_sample_freq:
            raise ValueError("concat_rows combines parts of one kind of noise (additive, or gSDE of one sample freq)")
    set_offsets, noise_offsets = [], []
    n_sets = n_noise = 0
    for rows, _ in parts:
        set_offsets.append(n_sets)
        noise_offsets.append(n_noise)
        n_sets += rows.mean.n_rows
        n_noise += 0 if rows.noise is None else rows.noise.shape[1]
    n_total_train = sum(n for _, n in parts)
    blocks, start, det_start = [], 0, n_total_train
    for rows, n_train in parts:
        n_rest = rows.n_rows - n_train
        blocks.append(Block(train=slice(start, start + n_train), det=np.arange(det_start, det_start + n_rest)))
        start += n_train
        det_start += n_rest
    seeds, param_index, options, noise_index = [], [], [], []
    for training in (True, False):  # every part's training rows, then every part's other rows
        for p, (rows, n_train) in enumerate(parts):
            a, b = (0, n_train) if training else (n_train, rows.n_rows)
            local = rows.param_index if rows.param_index is not None else (
                np.arange(rows.n_rows) if rows.mean.n_rows > 1 else np.zeros(rows.n_rows, dtype=np.int64))
            seeds.append(rows.seeds[a:b])
            param_index.append(local[a:b] + set_offsets[p])
            options.extend(rows.option(r) for r in range(a, b))
            ni = rows.row_noise_index()[a:b]
            noise_index.append(np.where(ni >= 0, ni + noise_offsets[p], -1))
    noise = None
    if n_noise:
        shape = next(r.noise.shape for r, _ in parts if r.noise is not None)
        pieces = [r.noise if r.noise is not None else np.zeros((shape[0], 0, *shape[2:])) for r, _ in parts]
        fits = noise_out is not None and noise_out.shape == (shape[0], n_noise, *shape[2:]) and \
            noise_out.dtype == np.float64
        noise = np.concatenate(pieces, axis=1, out=noise_out if fits else None)
    mean = BatchedMean(first.module, np.concatenate([r.mean.points for r, _ in parts]))
    combined = Rows(mean=mean, seeds=np.concatenate(seeds), param_index=np.concatenate(param_index),
                    options=options, noise=noise, noise_index=np.concatenate(noise_index) if noise is not None else None,
                    sde_sample_freq=parts[0][0].sde_sample_freq)
    return combined, n_total_train, blocks


@dataclasses.dataclass
class Buffers:
    """Per-step arrays of the first ``B`` rows (what a gradient needs), time-major.

    ``alive[t, b]``: row b took step t in its episode; ``dones[t, b]``: step t was its last
    (its episode ended after it). Steps after a row's end hold zeros (finite) and
    ``alive = False``. Actions are the raw (unclipped) ones the policy produced.
    """

    obs: np.ndarray  # (T, B, obs_dim)
    actions: np.ndarray  # (T, B, action_dim)
    rewards: np.ndarray  # (T, B)
    alive: np.ndarray  # (T, B) bool
    dones: np.ndarray  # (T, B) bool
    #: (T, B) discounted returns-to-go when computed once for many parts' rows (a population's
    #: REINFORCE members), with the per-column gamma they were computed with; None otherwise
    rtg: np.ndarray | None = None
    rtg_gamma: np.ndarray | None = None
    #: for one part's buffers (:meth:`RolloutResult.part`): the buffers of the whole rollout and the
    #: part's columns in them (so that many parts' columns can be read again as one view)
    parent: Buffers | None = None
    columns: slice | None = None

    @classmethod
    def allocate(cls, horizon: int, rows: int, obs_dim: int, action_dim: int) -> Buffers:
        return cls(obs=np.zeros((horizon, rows, obs_dim)), actions=np.zeros((horizon, rows, action_dim)),
                   rewards=np.zeros((horizon, rows)), alive=np.ones((horizon, rows), dtype=bool),
                   dones=np.zeros((horizon, rows), dtype=bool))

    @property
    def shape(self) -> tuple[int, int]:
        return self.rewards.shape

    def fits(self, horizon: int, rows: int, obs_dim: int, action_dim: int) -> bool:
        return self.obs.shape == (horizon, rows, obs_dim) and self.actions.shape == (horizon, rows, action_dim)

    def clear(self) -> None:
        """Ready for another rollout: every step alive, none done. The values are left as they are: a rollout
        writes every step of every row until the row ends, and :meth:`end_row` zeros what follows (zeroing the
        whole arrays again each epoch cost a 64-member population ~2% of its time)."""
        self.alive.fill(True)
        self.dones.fill(False)
        self.rtg = self.rtg_gamma = None

    def end_row(self, rows: np.ndarray, t: int) -> None:
        """Rows ``rows`` ended after step t: their later steps are not part of an episode (alive False, zeros)."""
        self.dones[t, rows] = True
        if t + 1 < self.alive.shape[0] and len(rows):
            self.alive[t + 1:, rows] = False
            self.obs[t + 1:, rows] = 0.0
            self.actions[t + 1:, rows] = 0.0
            self.rewards[t + 1:, rows] = 0.0

    @staticmethod
    def side_by_side(parts: list[Buffers]) -> Buffers:
        """Many parts' buffers as one ``(T, B_1 + ... + B_P)`` set of arrays, part after part: a view of their
        rollout's buffers when the parts are adjacent columns of it in this order, else copies."""
        first = parts[0]
        if first.parent is not None and all(
                p.parent is first.parent and p.columns.start == q.columns.stop for q, p in zip(parts, parts[1:])):
            cols = slice(first.columns.start, parts[-1].columns.stop)
            b = first.parent
            return Buffers(obs=b.obs[:, cols], actions=b.actions[:, cols], rewards=b.rewards[:, cols],
                           alive=b.alive[:, cols], dones=b.dones[:, cols],
                           rtg=None if b.rtg is None else b.rtg[:, cols],
                           rtg_gamma=None if b.rtg_gamma is None else b.rtg_gamma[cols])
        if len(parts) == 1:
            return first
        rtg = None if any(p.rtg is None for p in parts) else np.concatenate([p.rtg for p in parts], axis=1)
        return Buffers(*(np.concatenate([getattr(p, name) for p in parts], axis=1)
                         for name in ("obs", "actions", "rewards", "alive", "dones")), rtg=rtg,
                       rtg_gamma=None if rtg is None else np.concatenate([p.rtg_gamma for p in parts]))

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.obs, self.actions, self.rewards, self.alive, self.dones))


@dataclasses.dataclass
class RolloutResult:
    """Per-row outcome of a batched rollout (all arrays have R rows).

    :param discounted: ``sum_t gamma^t r_t`` over the row's steps.
    :param undiscounted: ``sum_t r_t``.
    :param lengths: steps taken (the horizon, or the step its episode ended on + 1).
    :param final_obs: ``(R, obs_dim)`` the observation after the row's last step (its terminal
        observation; for an analytic diverged row the clipped, finite state).
    :param diverged: the row ended by divergence (the rule in the module docstring).
    :param nonfinite: the row ended on a non-finite reward or observation (a subset of ``diverged``).
    :param truncated: the row's episode was cut by a time limit (the horizon, or the env's own), not
        terminated: a value-based algorithm bootstraps it.
    :param stopped: an ``on_step`` hook stopped the rollout: rows are partial, do not use them.
    :param steps: time steps taken (the horizon unless stopped or every row ended early).
    :param buffers: the first rows' buffers, when requested.
    :param seconds: wall time.
    """

    discounted: np.ndarray
    undiscounted: np.ndarray
    lengths: np.ndarray
    final_obs: np.ndarray
    diverged: np.ndarray
    nonfinite: np.ndarray
    truncated: np.ndarray
    stopped: bool = False
    steps: int = 0
    buffers: Buffers | None = None
    seconds: float = 0.0

    @property
    def n_rows(self) -> int:
        return int(self.discounted.size)

    def part(self, block: Block) -> RolloutResult:
        """One part's rows of a :func:`concat_rows` rollout: its training rows (buffers as views), then its others."""
        idx = np.concatenate([np.arange(block.train.start, block.train.stop), block.det])
        buffers = None
        if self.buffers is not None:
            b = self.buffers
            buffers = Buffers(obs=b.obs[:, block.train], actions=b.actions[:, block.train],
                              rewards=b.rewards[:, block.train], alive=b.alive[:, block.train],
                              dones=b.dones[:, block.train],
                              rtg=None if b.rtg is None else b.rtg[:, block.train],
                              rtg_gamma=None if b.rtg_gamma is None else b.rtg_gamma[block.train],
                              parent=b, columns=block.train)
        return RolloutResult(discounted=self.discounted[idx], undiscounted=self.undiscounted[idx],
                             lengths=self.lengths[idx], final_obs=self.final_obs[idx], diverged=self.diverged[idx],
                             nonfinite=self.nonfinite[idx], truncated=self.truncated[idx], stopped=self.stopped,
                             steps=self.steps, buffers=buffers, seconds=self.seconds)


class ActionMaker:
    """Raw actions of the live rows at step t: the mean action, the row's noise, or the fixed first action."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        mean = rows.mean
        self.mean = mean.take(rows.param_index) if rows.param_index is not None else mean
        self.noise = rows.noise
        self.noise_index = rows.row_noise_index()
        K = 0 if rows.noise is None else rows.noise.shape[1]
        # the default layout (rows 0..K-1 noisy in order, the others not; also what concat_rows builds
        # from default parts) is a slice: no gather per step (the same additions)
        self.noise_slice = rows.noise is not None and (rows.noise_index is None or (
            np.array_equal(self.noise_index[:K], np.arange(K)) and bool(np.all(self.noise_index[K:] == -1))))
        self.K = K
        self.sde_freq = rows.sde_sample_freq
        if self.sde_freq is not None:
            self.noise_slice = False  # state-dependent: every step through __call__
        self.first = rows.first_actions
        self._live_mean: tuple[np.ndarray, BatchedMean] | None = None

    def mean_of(self, live: np.ndarray | None) -> BatchedMean:
        """The parameter sets of the live rows (cached while the live set does not change)."""
        if live is None or self.mean.n_rows == 1:
            return self.mean
        if self._live_mean is None or self._live_mean[0] is not live:
            self._live_mean = (live, self.mean.take(live))
        return self._live_mean[1]

    def __call__(self, t: int, obs: np.ndarray, live: np.ndarray | None) -> np.ndarray:
        if t == 0 and self.first is not None:
            return self.first.copy() if live is None else self.first[live]
        if self.sde_freq is not None:
            return self._sde_actions(t, obs, live)
        u = self.mean_of(live)(obs)
        if self.noise is None:
            return u
        eps = self.noise[t]
        if live is None:
            if self.noise_slice:
                u[: self.K] += eps
            else:
                idx = self.noise_index
                sel = idx >= 0
                u[sel] += eps[idx[sel]]
        else:
            idx = self.noise_index[live]
            sel = idx >= 0
            if sel.any():
                u[sel] += eps[idx[sel]]
        return u


    def _sde_actions(self, t: int, obs: np.ndarray, live: np.ndarray | None) -> np.ndarray:
        """gSDE: ``mu(s) + theta_eps[t // freq, k] features(s)``, each row's sum over features in index order
        (the same bits whatever the batch)."""
        u, features = self.mean_of(live).with_features(obs)
        matrices = self.noise[0 if self.sde_freq == -1 else min(t // self.sde_freq, self.noise.shape[0] - 1)]
        idx = self.noise_index if live is None else self.noise_index[live]
        sel = np.flatnonzero(idx >= 0)
        if sel.size:
            u[sel] += _matvec(matrices[idx[sel]], features[sel])
        return u


class Accumulator:
    """Running per-row returns and the end of each row's episode."""

    def __init__(self, n_rows: int, obs_dim: int, gamma: float | np.ndarray) -> None:
        self.discounted = np.zeros(n_rows)
        self.undiscounted = np.zeros(n_rows)
        self.lengths = np.zeros(n_rows, dtype=np.int64)
        self.final_obs = np.zeros((n_rows, obs_dim))
        self.diverged = np.zeros(n_rows, dtype=bool)
        self.nonfinite = np.zeros(n_rows, dtype=bool)
        self.truncated = np.zeros(n_rows, dtype=bool)
        self.ended = np.zeros(n_rows, dtype=bool)
        gamma = np.asarray(gamma, dtype=np.float64)
        if gamma.ndim == 0:
            self.gamma: float | np.ndarray = float(gamma)
        else:
            if gamma.shape != (n_rows,):
                raise ValueError(f"gamma must be a number or one per row ({n_rows}), got shape {gamma.shape}")
            self.gamma = gamma
        self.discount = np.ones(n_rows)

    def add(self, reward: np.ndarray, live: np.ndarray | None) -> None:
        """Add step rewards of the live rows (``live`` None: every row)."""
        if live is None:
            self.discounted += self.discount * reward
            self.undiscounted += reward
            self.discount *= self.gamma
        else:
            self.discounted[live] += self.discount[live] * reward
            self.undiscounted[live] += reward
            g = self.gamma if np.ndim(self.gamma) == 0 else self.gamma[live]
            self.discount[live] *= g

    def end(self, rows: np.ndarray, length: int, final_obs: np.ndarray, diverged: np.ndarray | bool = False,
            nonfinite: np.ndarray | bool = False, truncated: np.ndarray | bool = False) -> None:
        self.lengths[rows] = length
        self.final_obs[rows] = final_obs
        self.diverged[rows] = diverged
        self.nonfinite[rows] = nonfinite
        self.truncated[rows] = truncated
        self.ended[rows] = True

    def result(self, **kwargs: Any) -> RolloutResult:
        return RolloutResult(discounted=self.discounted, undiscounted=self.undiscounted, lengths=self.lengths,
                             final_obs=self.final_obs, diverged=self.diverged, nonfinite=self.nonfinite,
                             truncated=self.truncated, **kwargs)


def check_horizon(horizon: int) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    return int(horizon)


def check_gamma(gamma: float | np.ndarray) -> float | np.ndarray:
    arr = np.asarray(gamma, dtype=np.float64)
    if not (np.all(arr > 0.0) and np.all(arr <= 1.0)):
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    return gamma
