"""The uncertainty principle as a measurement: what sigma does at one theta, for a grid of sigmas.

At a fixed theta (a run's snapshot, an env's reference policy, a random policy), for every
sigma of a grid, with *common random numbers* (episode m of every sigma has the same start
and the same standard normal draws eps[:, m], scaled by that sigma) and **all sigmas' rows in
one batched rollout of the rollout core**, :func:`sigma_sweep` measures the two sides of
Remark 5.3's trade-off:

* **variance** (small sigma hurts): the REINFORCE estimator of grad J_sigma from a batch of
  N episodes, as :class:`~mollirl.algos.reinforce.REINFORCE` computes it (Monte Carlo
  returns-to-go, no gamma^t weighting of the scores, the gradient over the mean
  parameters): the trace of its covariance tr Cov(g_N) and its signal-to-noise ratio
  ``SNR = |E g| / sqrt(tr Cov(g_N))``;
* **bias** (large sigma hurts): the mollification bias ``J_sigma(theta) - J(theta)`` and the
  angle between ``E g_sigma`` (= grad J_sigma) and the deterministic finite-difference
  gradient of J (central differences, step ``fd_step`` per parameter).

How the variance is estimated. With ``baseline="none"`` (the paper's estimator) a batch's
estimate is the mean of N i.i.d. per-episode terms ``g_i = sum_t A_t^i grad log pi(a_t | s_t)``,
so ``tr Cov(g_N) = tr Cov(g_1) / N`` with tr Cov(g_1) the sample covariance over all M
episodes. With ``baseline="mean"`` (the per-step batch mean of the returns-to-go) the
episodes of a batch are not independent: the M episodes are cut into M / N disjoint batches
and tr Cov(g_N) is their sample covariance (fewer units, a wider interval).

Intervals (95%, over episodes or batches, :mod:`mollirl.analysis.stats`): J_sigma by a BCa
bootstrap of the mean; the bias by the same (J at a fixed start is one number) or by a paired
difference over the starts (an env without a fixed evaluation start); tr Cov, SNR, |E g|
and the angle by :func:`~mollirl.analysis.stats.weighted_bootstrap` over the units.

Starts: every row starts from the env's noise-free evaluation start when it has one (as a
landscape's; J is then one deterministic episode, the J_det of training); otherwise row m
resets with seed ``seed + m`` and J is the mean deterministic return over the same M
starts (the finite differences use the first :data:`FD_STARTS` of them). Validity: the
estimates hold for this theta, horizon and gamma; a row that diverges keeps its finite
return (the rollout core's one rule) and its fraction is reported per sigma.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mollirl.analysis import stats

#: starts the finite-difference gradient is averaged over when the env has no fixed evaluation start
FD_STARTS = 16
#: default central-difference step per parameter (parameter units)
FD_STEP = 1e-4
#: the fraction of the memory available now a sweep's arrays may take
MEMORY_FRACTION = 0.5
#: episodes per vmapped chunk of the per-episode gradients
_GRAD_CHUNK = 64
BASELINES = ("none", "mean")


def parse_sigmas(text: str | Sequence[float]) -> list[float]:
    """``"0.01,0.1,1"`` (or numbers) -> sigmas, checked: at least one, each finite and > 0, no duplicates.

    :raises ValueError: naming the first bad value.
    """
    if isinstance(text, str):
        items = [t.strip() for t in text.split(",")]
        if not text.strip() or any(not t for t in items):
            raise ValueError(f"--sigma-sweep must be comma-separated sigmas like 0.01,0.1,1, got {text!r}")
        values = []
        for t in items:
            try:
                values.append(float(t))
            except ValueError:
                raise ValueError(f"--sigma-sweep: {t!r} is not a number") from None
    else:
        values = [float(v) for v in text]
    if not values:
        raise ValueError("--sigma-sweep needs at least one sigma")
    for v in values:
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"--sigma-sweep: every sigma must be a finite number > 0, got {v!r}")
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"--sigma-sweep: sigma {v!r} is given twice")
        seen.add(v)
    return values


def estimate_bytes(n_sigmas: int, episodes: int, horizon: int, obs_dim: int, action_dim: int, n_params: int,
                   other_rows: int) -> int:
    """Bytes a sweep's arrays take: the noise streams and the buffers of the S x M noisy rows (obs, actions,
    rewards, returns-to-go, flags), the per-row results of every row, the per-episode gradients and one
    chunk's autograd intermediates."""
    noisy = n_sigmas * episodes
    buffers = horizon * noisy * (8 * (obs_dim + 2 * action_dim + 2) + 2)
    rows = (noisy + other_rows) * 8 * (obs_dim + 8)
    grads = 8 * noisy * n_params
    chunk = 8 * horizon * min(episodes, _GRAD_CHUNK) * (obs_dim + 4 * action_dim + 4 * max(16, obs_dim)) * 4
    return buffers + rows + grads + chunk


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def check_memory(need: int, limit: int | None, what: str) -> None:
    """:raises ValueError: when ``need`` exceeds ``limit`` (default: half the memory available now)."""
    if limit is None:
        from mollirl.population.trainer import available_memory

        avail = available_memory()
        limit = None if avail is None else int(MEMORY_FRACTION * avail)
    if limit is not None and need > limit:
        raise ValueError(f"{what} needs about {_gib(need)} of arrays; the limit is {_gib(limit)} (half of the memory "
                         f"available now): use fewer --episodes or sigmas, or a shorter --horizon")


@dataclasses.dataclass
class SweepRow:
    """The measurements at one sigma (intervals: :class:`mollirl.analysis.stats.Interval`)."""

    sigma: float
    J_sigma: stats.Interval
    bias: stats.Interval
    trace_cov: stats.Interval
    snr: stats.Interval
    grad_norm: stats.Interval
    angle_deg: stats.Interval
    diverged_fraction: float
    #: the mean of the units: the REINFORCE estimate of grad J_sigma from all M episodes, ``(d,)``
    mean_gradient: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sigma": self.sigma, "diverged_fraction": self.diverged_fraction,
                               "mean_gradient": [float(v) for v in self.mean_gradient]}
        for key in ("J_sigma", "bias", "trace_cov", "snr", "grad_norm", "angle_deg"):
            out[key] = getattr(self, key).to_dict()
        return out


@dataclasses.dataclass
class SigmaSweep:
    """A sweep's result (see the module docstring)."""

    env: str
    label: str
    horizon: int
    gamma: float
    episodes: int
    batch_episodes: int
    baseline: str
    seed: int
    fd_step: float
    n_params: int
    J: float
    fd_gradient: np.ndarray
    rows: list[SweepRow]
    eval_start: bool
    n_rows: int
    seconds: float
    env_steps: int
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def sigmas(self) -> list[float]:
        return [r.sigma for r in self.rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "sigma-sweep", "env": self.env, "centre": self.label, "horizon": self.horizon, "gamma": self.gamma,
            "episodes": self.episodes, "batch_episodes": self.batch_episodes, "baseline": self.baseline,
            "seed": self.seed, "fd_step": self.fd_step, "n_params": self.n_params, "eval_start": self.eval_start,
            "J": self.J, "fd_gradient_norm": float(np.linalg.norm(self.fd_gradient)),
            "fd_gradient": [float(v) for v in self.fd_gradient],
            "rows_in_one_batch": self.n_rows, "seconds": self.seconds, "env_steps": self.env_steps,
            "sigmas": [r.to_dict() for r in self.rows], "metadata": self.metadata,
            "definitions": {
                "J_sigma": "mean discounted return of the Gaussian policy N(mu_theta(s), sigma^2) over the episodes",
                "bias": "J_sigma(theta) - J(theta) (J: the deterministic policy's return from the same start(s))",
                "trace_cov": f"tr Cov of the REINFORCE estimate of grad J_sigma from a batch of N = "
                             f"{self.batch_episodes} episodes (baseline {self.baseline})",
                "snr": "|E g| / sqrt(tr Cov(g_N))",
                "grad_norm": "|E g| = |grad J_sigma|, debiased: sqrt(max(|mean|^2 - tr Cov(unit) / n, 0))",
                "angle_deg": "angle between the mean REINFORCE estimate and the central finite-difference gradient "
                             "of J (degrees); noise in the mean pushes it toward 90",
            },
        }

    def save_json(self, path: str | Path) -> Path:
        from mollirl.common.files import jsonable, write_atomic

        write_atomic(Path(path), json.dumps(jsonable(self.to_dict()), indent=1))
        return Path(path)



def per_episode_gradients(mean_module, params: dict, obs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``g_i = grad_theta sum_t scores[t, i] . mu_theta(obs[t, i])`` for every episode i, ``(N, d)``.

    With ``scores[t, i] = A_t^i (a_t - mu(s_t)) / sigma^2`` (zero after an episode's end) this is the
    REINFORCE term of episode i, ``sum_t A_t^i grad log pi(a_t | s_t)`` over the mean parameters, in the
    flat order of ``get_mean_vector()``.

    :param params: the mean network's parameters by name (``named_parameters`` order).
    :param obs: ``(T, N, obs_dim)``; ``scores``: ``(T, N, action_dim)``.
    """
    import torch as th
    from torch.func import functional_call, grad, vmap

    names = list(params)
    frozen = {k: v.detach() for k, v in params.items()}

    def objective(p, o, c):
        return (functional_call(mean_module, p, (o,)) * c).sum()

    per = vmap(grad(objective), in_dims=(None, 0, 0))
    out = []
    obs_t = np.ascontiguousarray(np.swapaxes(obs, 0, 1))
    sc_t = np.ascontiguousarray(np.swapaxes(scores, 0, 1))
    for a in range(0, obs_t.shape[0], _GRAD_CHUNK):
        g = per(frozen, th.from_numpy(obs_t[a:a + _GRAD_CHUNK]), th.from_numpy(sc_t[a:a + _GRAD_CHUNK]))
        out.append(th.cat([g[k].reshape(g[k].shape[0], -1) for k in names], dim=1).numpy())
    return np.concatenate(out).astype(np.float64)


def _unit_statistics(units: np.ndarray, scale: float, fd: np.ndarray) -> dict[str, Any]:
    """``weights -> values`` functions of the units (rows of ``units``: per-episode terms or per-batch
    estimates) for the bootstrap, and how each maps to the reported quantity.

    ``|E g|`` is *debiased*: the squared norm of a mean of n noisy units overestimates ``|E g|^2`` by
    ``tr Cov(unit) / n``, which at small sigma is most of it; ``q = |mean|^2 - tr Cov(unit) / n`` is
    unbiased. Its interval comes from the smooth, signed ``q`` and ``q / tr Cov(g_N)`` (a clipped statistic
    has a point mass at 0), by the bootstrap standard error (``method="normal"``: the resamples of an
    unbiased estimator of a squared norm centre on the plug-in ``|mean|^2``, above ``q`` by ``tr Cov / n``,
    and BCa's correction of that offset can leave the estimate outside its own interval), and the
    reported ``|E g| = sqrt(max(q, 0))`` and ``SNR = sqrt(max(q / tr Cov(g_N), 0))`` take the interval's
    ends through the same monotone map. The
    angle is the plug-in angle of the mean (a ratio of debiased estimates would be unstable where ``|E g|``
    is near 0): where the noise of the mean dominates it leans toward 90 degrees, and its interval says how
    well the M episodes pin it down.

    :return: name -> ``(statistic of weights, map of the statistic to the reported value, bootstrap method)``.
    """
    n = units.shape[0]
    sq = np.einsum("ij,ij->i", units, units)
    fd_norm = float(np.linalg.norm(fd))

    def mean(w):
        return w @ units

    def unit_trace(w):
        m = mean(w)
        return (w @ sq - np.einsum("ij,ij->i", m, m)) * n / max(n - 1, 1)

    def trace(w):
        return unit_trace(w) * scale

    def signal(w):  # unbiased |E g|^2
        m = mean(w)
        return np.einsum("ij,ij->i", m, m) - unit_trace(w) / n

    def snr_squared(w):
        with np.errstate(divide="ignore", invalid="ignore"):
            return signal(w) / trace(w)

    def angle(w):
        m = mean(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = (m @ fd) / (np.linalg.norm(m, axis=1) * fd_norm)
        return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

    def root(x: float) -> float:
        return math.sqrt(max(x, 0.0)) if math.isfinite(x) else x

    identity = float
    return {"trace_cov": (trace, identity, "BCa"), "snr": (snr_squared, root, "normal"),
            "grad_norm": (signal, root, "normal"), "angle_deg": (angle, identity, "BCa")}


def _bootstrap(n_units: int, statistic, to_value, name: str, method: str) -> stats.Interval:
    """The interval of ``statistic`` (:func:`mollirl.analysis.stats.weighted_bootstrap`), mapped to the reported
    quantity by the monotone ``to_value``."""
    iv = stats.weighted_bootstrap(n_units, statistic, name=name, method=method)
    return dataclasses.replace(iv, estimate=to_value(iv.estimate), low=to_value(iv.low), high=to_value(iv.high))


def sigma_sweep(problem, sigmas: Sequence[float], *, episodes: int = 256, batch_episodes: int = 16,
                baseline: str = "none", seed: int = 0, fd_step: float = FD_STEP, memory_limit: int | None = None,
                progress=None) -> SigmaSweep:
    """Measure J_sigma, the mollification bias and the REINFORCE gradient's variance at ``problem``'s centre
    for every sigma of ``sigmas`` (see the module docstring), in one batched rollout.

    :param problem: a :class:`~mollirl.landscape.problem.LandscapeProblem` (its centre and mean network; its
        own sigma is not used).
    :param sigmas: the grid, each > 0 and finite, no duplicates (:func:`parse_sigmas`).
    :param episodes: M, episodes per sigma (>= 2; with ``baseline="mean"`` a multiple of N with M / N >= 2).
    :param batch_episodes: N, the batch whose estimator's variance and SNR are reported.
    :param baseline: ``none`` (the paper's estimator) or ``mean`` (REINFORCE's per-step batch mean).
    :param seed: the noise (``np.random.default_rng([seed, 1])``, as a landscape's sigma mode) and the
        starts (``seed + m``) of an env without an evaluation start.
    :param fd_step: the central-difference step per parameter (> 0).
    :param memory_limit: bytes the arrays may take (default: half the memory available now).
    :param progress: ``(done, total)`` callback in time steps.
    :raises ValueError: on bad arguments, a sweep that would not fit in memory (both numbers in the
        message), or a non-finite reward or observation.
    """
    from mollirl.common.returns import apply_baseline, returns_to_go
    from mollirl.landscape.engine import make_backend
    from mollirl.rollout import EVAL_SEED, BatchedMean, Rows

    sig = parse_sigmas(sigmas)
    for name, value, low in (("episodes", episodes, 2), ("batch_episodes", batch_episodes, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {list(BASELINES)}, got {baseline!r}")
    if baseline == "mean" and (batch_episodes < 2 or episodes % batch_episodes or episodes // batch_episodes < 2):
        raise ValueError(f"with the mean baseline, episodes ({episodes}) must be a multiple of batch_episodes "
                         f"({batch_episodes} >= 2) holding at least 2 batches")
    if not (isinstance(fd_step, (int, float)) and math.isfinite(fd_step) and fd_step > 0):
        raise ValueError(f"fd_step must be a finite number > 0, got {fd_step!r}")
    S, M, N, T = len(sig), int(episodes), int(batch_episodes), int(problem.horizon)
    theta = problem.centre
    d = theta.size
    eval_options = problem.eval_options
    starts = 1 if eval_options is not None else M
    fd_starts = 1 if eval_options is not None else min(M, FD_STARTS)
    n_det, n_fd = starts, 2 * d * fd_starts
    from mollirl.common.env_util import make_env

    template = make_env(problem.env, **problem.rollout_kwargs())
    try:
        obs_dim = int(np.prod(template.observation_space.shape))
        action_dim = int(np.prod(template.action_space.shape))
    finally:
        template.close()
    check_memory(estimate_bytes(S, M, T, obs_dim, action_dim, d, n_det + n_fd), memory_limit,
                 f"a sweep of {S} sigmas x {M} episodes x {T} steps ({S * M + n_det + n_fd} rows)")

    # the rows: S x M noisy rows (sigma s, episode m: stream s*M + m), the J rows, the finite-difference rows
    eps = np.random.default_rng([int(seed), 1]).standard_normal((T, M, action_dim))
    noise = np.concatenate([s * eps for s in sig], axis=1)
    points = np.concatenate([theta[None], theta[None] + fd_step * np.eye(d), theta[None] - fd_step * np.eye(d)])
    episode = np.arange(M)
    noisy_seeds = np.tile(episode + int(seed), S)
    if eval_options is not None:
        det_seeds = np.array([EVAL_SEED])
        fd_seeds = np.full(2 * d, EVAL_SEED)
        fd_index = np.arange(1, 2 * d + 1)
    else:
        det_seeds = episode + int(seed)
        fd_seeds = np.tile(np.arange(fd_starts) + int(seed), 2 * d)
        fd_index = np.repeat(np.arange(1, 2 * d + 1), fd_starts)
    seeds = np.concatenate([noisy_seeds, det_seeds, fd_seeds])
    param_index = np.concatenate([np.zeros(S * M + n_det, dtype=np.int64), fd_index])
    noise_index = np.concatenate([np.arange(S * M), np.full(n_det + n_fd, -1)])
    rows = Rows(mean=BatchedMean(problem.policy.mean, points), seeds=seeds, param_index=param_index,
                options=eval_options, noise=noise, noise_index=noise_index)
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=T, max_envs=rows.n_rows)
    try:
        result = backend.run(rows, horizon=T, gamma=problem.gamma, buffer_rows=S * M, progress=progress)
    finally:
        backend.close()
    if result.nonfinite.any():
        bad = int(np.flatnonzero(result.nonfinite)[0])
        where = f"sigma {sig[bad // M]:g}, episode {bad % M}" if bad < S * M else "a deterministic row"
        raise ValueError(f"the env returned a non-finite reward or observation ({where}): no sweep at this theta")

    R = result.discounted
    det = R[S * M: S * M + n_det]
    J = float(det.mean())
    fd_vals = R[S * M + n_det:].reshape(2 * d, fd_starts).mean(axis=1)
    fd = (fd_vals[:d] - fd_vals[d:]) / (2 * fd_step)

    buf = result.buffers
    params = dict(problem.policy.mean.named_parameters())
    out_rows = []
    for s, sigma in enumerate(sig):
        cols = slice(s * M, (s + 1) * M)
        rewards, dones, alive = buf.rewards[:, cols], buf.dones[:, cols], buf.alive[:, cols]
        G = returns_to_go(rewards, dones, problem.gamma)
        if baseline == "none":
            adv = np.where(alive, G, 0.0)
        else:
            adv = np.concatenate([apply_baseline(G[:, b:b + N], "mean", alive[:, b:b + N]) for b in range(0, M, N)],
                                 axis=1)
        scores = (adv[..., None] * eps / sigma) * alive[..., None]  # A_t (a_t - mu) / sigma^2, a_t - mu = sigma eps
        g = per_episode_gradients(problem.policy.mean, params, buf.obs[:, cols], scores)
        if baseline == "none":
            units, scale = g, 1.0 / N
        else:
            units, scale = g.reshape(M // N, N, d).mean(axis=1), 1.0
        fns = _unit_statistics(units, scale, fd)
        returns = R[cols]
        j_sigma = stats.interval(returns)
        if eval_options is not None:
            bias = dataclasses.replace(j_sigma, estimate=j_sigma.estimate - J, low=j_sigma.low - J,
                                       high=j_sigma.high - J, statistic="J_sigma - J")
        else:
            bias = dataclasses.replace(stats.difference(returns, det, paired=True), statistic="J_sigma - J")
        n_units = units.shape[0]
        ivs = {k: _bootstrap(n_units, fn, to_value, k, method) for k, (fn, to_value, method) in fns.items()}
        out_rows.append(SweepRow(sigma=float(sigma), J_sigma=j_sigma, bias=bias, diverged_fraction=float(
            result.diverged[cols].mean()), mean_gradient=units.mean(axis=0), **ivs))
    return SigmaSweep(env=problem.env, label=problem.label, horizon=T, gamma=float(problem.gamma), episodes=M,
                      batch_episodes=N, baseline=baseline, seed=int(seed), fd_step=float(fd_step), n_params=d, J=J,
                      fd_gradient=fd, rows=out_rows, eval_start=eval_options is not None, n_rows=rows.n_rows,
                      seconds=float(result.seconds), env_steps=int(rows.n_rows * T),
                      metadata=dict(problem.metadata))


def load_sweep(path: str | Path) -> dict[str, Any]:
    """A sweep's JSON as a dict."""
    return json.loads(Path(path).read_text())


def save_png(sweep: SigmaSweep, path: str | Path) -> Path:
    """The sweep's figure (:func:`mollirl.landscape.sweep_plot.save_png`)."""
    from mollirl.landscape.sweep_plot import save_png as _save

    return _save(sweep, path)


__all__ = ["SigmaSweep", "SweepRow", "sigma_sweep", "parse_sigmas", "estimate_bytes", "check_memory", "save_png",
           "load_sweep", "per_episode_gradients", "FD_STEP", "FD_STARTS"]
