"""What is measured at each grid point: J (``det``) or J_sigma (``sigma``), over one batched rollout.

Modes of :func:`evaluate_points`:

- ``det``: the mean action, one episode per point from the env's evaluation
  start (reset seed :data:`~mollirl.rollout.EVAL_SEED` with the env's
  evaluation-start options), exactly the row whose return a training run records
  as J_det: the paper's J(theta).
- ``sigma``: action ``mu_theta(s_t) + sigma * eps[t, m]`` (unclipped Gaussian
  sample; the env saturates, as in training), ``M`` episodes per point with
  *common random numbers*: episode ``m`` of every point uses the same noise
  ``eps[:, m]`` and the same start (start seed ``seed + m``, as a VecEnv seeded
  with ``seed`` gives copy ``m``). Gives J_sigma(theta) = mean over episodes and
  its standard error; differences between points are then free of
  between-point sampling noise.

Where it is measured (the rows, the env, the batching) is
:mod:`mollirl.rollout`'s business.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from torch import nn

from mollirl.common.seeding import SIGMA_NOISE, SIGMA_STARTS, derive_seed, stream_rng
from mollirl.rollout import EVAL_SEED, AnalyticBackend, BatchedMean, Rows, VecEnvBackend
from mollirl.rollout.core import Progress

MODES = ("det", "sigma")


@dataclasses.dataclass
class PointValues:
    """The objective at P parameter points in one mode.

    :param mode: ``det`` or ``sigma``.
    :param values: ``(P,)`` J (det) or J_sigma (mean over episodes).
    :param stderr: ``(P,)`` standard error of J_sigma over episodes (NaN for det or one episode).
    :param diverged_fraction: ``(P,)`` fraction of the point's episodes that diverged.
    :param returns: ``(P, M)`` discounted return of every episode.
    :param diverged: ``(P, M)`` which episodes diverged.
    :param seconds: wall time of the rollout.
    :param env_steps: rows x horizon (nominal; diverged rows stop early).
    """

    mode: str
    values: np.ndarray
    stderr: np.ndarray
    diverged_fraction: np.ndarray
    returns: np.ndarray
    diverged: np.ndarray
    seconds: float
    env_steps: int


def check_sigma_vector(sigma: float | np.ndarray, action_dim: int) -> np.ndarray:
    """sigma as an ``(action_dim,)`` array (a scalar is broadcast).

    :raises ValueError: unless sigma is a scalar or has ``action_dim`` entries, all finite and > 0.
    """
    try:
        arr = np.asarray(sigma, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"sigma must be a number > 0, got {sigma!r}") from None
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, action_dim)):
        raise ValueError(f"sigma must be a number or {action_dim} numbers, got {sigma!r}")
    arr = np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (action_dim,)).copy()
    if not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
        raise ValueError(f"sigma must be > 0 (and finite) in sigma mode, got {sigma!r}")
    return arr


def evaluate_points(
    backend: AnalyticBackend | VecEnvBackend,
    mean_module: nn.Module,
    points: np.ndarray,
    *,
    mode: str = "det",
    horizon: int,
    gamma: float,
    sigma: float | np.ndarray | None = None,
    episodes: int = 1,
    seed: int = 0,
    first_actions: np.ndarray | None = None,
    eval_options: dict | None = None,
    progress: Progress | None = None,
    sde_std: np.ndarray | None = None,
    sde_sample_freq: int = -1,
) -> PointValues:
    """J or J_sigma at every parameter point, all in one batched rollout of the rollout core.

    Row ``p * M + m`` is point p's episode m: parameter set p, reset seed ``seed + m`` with
    ``eval_options``, noise stream m (sigma mode: common random numbers across points).

    :param backend: from :func:`mollirl.landscape.engine.make_backend`.
    :param mean_module: the policy's mean network (structure only).
    :param points: ``(P, d)`` mean vectors, or ``(1, d)`` broadcast to ``len(first_actions)`` points.
    :param mode: ``det`` (one episode per point) or ``sigma`` (``episodes`` per point, common random numbers).
    :param horizon: steps per episode, >= 1.
    :param gamma: discount in (0, 1].
    :param sigma: action-noise standard deviation (scalar or per action dim), > 0; sigma mode only.
    :param episodes: M, episodes per point in sigma mode (>= 1).
    :param seed: sigma mode: episode m resets with seed ``derive_seed(seed, 0, SIGMA_STARTS) + m`` and the
        noise is drawn from the stream ``(seed, 0, SIGMA_NOISE)`` as one ``(horizon, M, action_dim)`` array
        (:mod:`mollirl.common.seeding`); det rows reset
        with :data:`~mollirl.rollout.EVAL_SEED` (the J_det row's start) whatever ``seed``.
    :param first_actions: ``(P, action_dim)`` raw first actions (Q-landscape), det mode only.
    :param eval_options: reset options of every row (the env's evaluation start), or None.
    :param progress: ``(done, total)`` callback in time steps.
    :param sde_std: sigma mode under gSDE noise: the ``(n_features, action_dim)`` std of the noise matrix
        (``policy.sde_std``; ``sigma`` is then not used). Episode m's matrices ``theta_eps`` (one, or one per
        ``sde_sample_freq`` steps) come from the stream ``(seed, 0, SIGMA_NOISE)`` and are the same at every point
        (common random numbers: the same perturbation of the policy, on each point's own features).
    :param sde_sample_freq: with ``sde_std``: a new matrix every N steps (-1: one per episode).
    :raises ValueError: on a bad mode, sigma, horizon, gamma or episode count.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be an integer >= 1, got {horizon!r}")
    if not (isinstance(gamma, (int, float)) and 0.0 < gamma <= 1.0):
        raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    n_points = points.shape[0] if first_actions is None else int(np.asarray(first_actions).shape[0])
    if first_actions is not None and points.shape[0] not in (1, n_points):
        raise ValueError(f"points must be (1, d) or ({n_points}, d) with first_actions, got {points.shape}")
    noise = None
    if mode == "sigma":
        if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
            raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
        if first_actions is not None:
            raise ValueError("first_actions (a Q-landscape) is det mode only")
        if sde_std is not None:
            std = np.asarray(sde_std, dtype=np.float64)
            if std.ndim != 2 or std.shape[1] != backend.action_dim or not (np.all(np.isfinite(std))
                                                                          and np.all(std > 0)):
                raise ValueError(f"sde_std must be (n_features, {backend.action_dim}) finite numbers > 0, "
                                 f"got shape {std.shape}")
            n_mat = 1 if sde_sample_freq < 1 else -(-int(horizon) // int(sde_sample_freq))
            noise = stream_rng(seed, SIGMA_NOISE).standard_normal((n_mat, int(episodes), *std.T.shape))
            noise *= std.T
        else:
            sig = check_sigma_vector(sigma if sigma is not None else np.nan, backend.action_dim)
            eps = stream_rng(seed, SIGMA_NOISE).standard_normal((int(horizon), int(episodes), backend.action_dim))
            noise = eps * sig
        n_episodes = int(episodes)
    else:
        n_episodes = 1
    rows_idx = np.arange(n_points * n_episodes)
    point, episode = rows_idx // n_episodes, rows_idx % n_episodes
    # det rows start where a training run's J_det row does; sigma rows' episode m at its stream's seed + m
    starts = np.full(rows_idx.size, EVAL_SEED) if mode == "det" else episode + derive_seed(seed, 0, SIGMA_STARTS)
    rows = Rows(
        mean=BatchedMean(mean_module, points), seeds=starts,
        param_index=point if points.shape[0] > 1 else None, options=eval_options, noise=noise,
        noise_index=episode if noise is not None else None,
        first_actions=None if first_actions is None else np.asarray(first_actions, dtype=np.float64)[point],
        sde_sample_freq=(int(sde_sample_freq) if sde_sample_freq >= 1 else -1) if sde_std is not None else None,
    )
    out = backend.run(rows, horizon=int(horizon), gamma=float(gamma), progress=progress)
    returns = out.discounted.reshape(n_points, n_episodes)
    diverged = out.diverged.reshape(n_points, n_episodes)
    values = returns.mean(axis=1)
    if n_episodes > 1:
        stderr = returns.std(axis=1, ddof=1) / math.sqrt(n_episodes)
    else:
        stderr = np.full(n_points, np.nan)
    return PointValues(
        mode=mode, values=values, stderr=stderr, diverged_fraction=diverged.mean(axis=1), returns=returns,
        diverged=diverged, seconds=out.seconds, env_steps=n_points * n_episodes * int(horizon),
    )
