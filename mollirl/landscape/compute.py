"""Compute a landscape: validate, build directions and grid, run the engine, analyze.

- :func:`compute_landscape`: J(theta) (``det``) and J_sigma(theta) (``sigma``)
  on a 1-D or 2-D slice ``centre + a d1 + b d2``, same directions and grid for both.
- :func:`compute_q_landscape`: Q(s0, a) over a grid of first actions
  (take ``a`` at the evaluation start s0, then follow the deterministic policy),
  the paper's Fig. 7b, with its Gaussian smoothing
  L(mu, sigma^2) = E_{a ~ N(mu, sigma^2)} Q(s0, a) (eq. 7, Prop. 4.1) by
  :func:`mollirl.analysis.mollify` (diverged points excluded, edges renormalized).

Every rollout starts from the env's noise-free evaluation start (the env
plugin's ``eval_start`` options), so J and J_sigma differ only by the action noise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np

from mollirl.common.seeding import PARAM_SIGMA_NOISE, stream_rng
from mollirl.landscape.directions import Directions, make_directions
from mollirl.landscape.engine import make_backend
from mollirl.landscape.evaluate import MODES, PointValues, check_sigma_vector, evaluate_points
from mollirl.landscape.grid import Grid, check_dims, check_grid_size, check_radius, grid_points, make_grid
from mollirl.landscape.problem import LandscapeProblem
from mollirl.landscape.result import Landscape
from mollirl.landscape.summary import summarize
from mollirl.rollout import EVAL_SEED, BatchedMean

StageProgress = Callable[[str, int, int], None]


#: landscape modes: the two of the engine plus J mollified in parameter space
LANDSCAPE_MODES = (*MODES, "param-sigma")


def parse_modes(mode: str | Sequence[str]) -> tuple[str, ...]:
    """``"det"``, ``"sigma"``, ``"param-sigma"``, ``"both"`` (det + sigma), ``"all"`` or a
    sequence (or comma-separated string) of them -> a tuple in canonical order."""
    items = mode.split(",") if isinstance(mode, str) else list(mode)
    out: set[str] = set()
    for item in items:
        if item == "both":
            out.update(MODES)
        elif item == "all":
            out.update(LANDSCAPE_MODES)
        elif item in LANDSCAPE_MODES:
            out.add(item)
        else:
            raise ValueError(f"mode must be det, sigma, param-sigma, both or all, got {item!r}")
    return tuple(m for m in LANDSCAPE_MODES if m in out)


def evaluate_param_sigma(backend, mean_module, points: np.ndarray, *, param_sigma: float, horizon: int, gamma: float,
                         episodes: int, seed: int, eval_options: dict | None = None, progress=None) -> PointValues:
    """J mollified in parameter space, ``E_eps[J(theta + param_sigma eps)]``, ``eps ~ N(0, I_d)``.

    Common random numbers: the same ``episodes`` perturbations ``eps_m`` (drawn from
    the stream ``(seed, 0, PARAM_SIGMA_NOISE)`` of :mod:`mollirl.common.seeding`) for every point, each evaluated with the
    deterministic policy from the same start, all P x M rollouts in one batch. This is
    the objective ARS ascends (its ``delta_std`` is ``param_sigma``).
    """
    import time

    if not (np.isfinite(param_sigma) and param_sigma > 0):
        raise ValueError(f"param_sigma must be a finite number > 0, got {param_sigma!r}")
    points = np.asarray(points, dtype=np.float64)
    n_points, d = points.shape
    eps = stream_rng(seed, PARAM_SIGMA_NOISE).standard_normal((episodes, d))
    perturbed = (points[:, None, :] + param_sigma * eps[None, :, :]).reshape(n_points * episodes, d)
    t0 = time.perf_counter()
    r = evaluate_points(backend, mean_module, perturbed, mode="det", horizon=horizon, gamma=gamma, seed=seed,
                        eval_options=eval_options, progress=progress)
    returns = r.values.reshape(n_points, episodes)
    diverged = (r.diverged_fraction > 0).reshape(n_points, episodes)
    stderr = returns.std(axis=1, ddof=1) / np.sqrt(episodes) if episodes > 1 else np.full(n_points, np.nan)
    return PointValues(mode="param-sigma", values=returns.mean(axis=1), stderr=stderr,
                       diverged_fraction=diverged.mean(axis=1), returns=returns, diverged=diverged,
                       seconds=time.perf_counter() - t0, env_steps=n_points * episodes * horizon)


def _check_episodes(episodes: int) -> int:
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    return int(episodes)


def _stage(progress: StageProgress | None, name: str):
    return None if progress is None else (lambda done, total: progress(name, done, total))


def compute_landscape(
    problem: LandscapeProblem,
    *,
    grid: int | Grid = 21,
    dims: int = 2,
    radius: float = 1.0,
    directions: str | Directions = "random",
    mode: str | Sequence[str] = "both",
    sigma: float | np.ndarray | None = None,
    episodes: int = 16,
    seed: int = 0,
    backend=None,
    max_envs: int = 2048,
    gradient_episodes: int = 16,
    progress: StageProgress | None = None,
    param_sigma: float | None = None,
) -> Landscape:
    """J, J_sigma and/or the parameter-space mollified J on a slice around the problem's centre.

    :param problem: env, policy (centre), horizon, gamma.
    :param grid: points per axis (>= 3; odd includes the centre) or a :class:`Grid`.
    :param dims: 1 or 2.
    :param radius: half-width of the slice in direction units (> 0).
    :param directions: a spec (see :mod:`mollirl.landscape.directions`), an
        ``.npz`` path, or a :class:`Directions` (reused as is).
    :param mode: ``det``, ``sigma``, ``param-sigma``, ``both`` (det + sigma), ``all``, or a list.
    :param sigma: sigma of the sigma mode (scalar or per action dim, > 0); default the policy's.
    :param episodes: episodes (sigma mode) or parameter perturbations (param-sigma mode) per
        point, common random numbers across points.
    :param param_sigma: std of the Gaussian on theta in ``param-sigma`` mode (parameter
        units, > 0); default the mean of the policy's sigma (for an ARS run: its ``delta_std``).
    :param seed: seed of random directions, of the sigma-mode starts (episode m: ``seed + m``) and action noise
        (det rows start at the J_det row's evaluation start).
    :param backend: a backend from :func:`~mollirl.landscape.engine.make_backend`
        (reused by callbacks); default: a new one, closed at the end.
    :param max_envs: chunk size of VecEnv backends.
    :param gradient_episodes: batch size of the ``gradient`` direction's REINFORCE estimate.
    :param progress: ``(stage, done, total)`` callback.
    :raises ValueError: on bad input, before any rollout.
    """
    modes = parse_modes(mode)
    dims = check_dims(dims)
    if isinstance(grid, Grid):
        the_grid = grid
        dims = grid.dims
    else:
        the_grid = make_grid(check_grid_size(grid), check_radius(radius), dims)
    episodes = _check_episodes(episodes)
    sig = problem.sigma if sigma is None else sigma
    action_dim = problem.policy.action_space.shape[0]
    if "sigma" in modes:
        sig = check_sigma_vector(sig, action_dim)
    centre = problem.centre
    if isinstance(directions, Directions):
        directions.check_labels(problem.labels)
        if directions.dims != dims:
            raise ValueError(f"{directions.dims} directions given for a {dims}-D slice")
        dirs = directions
    else:
        def gradient_fn() -> np.ndarray:
            from mollirl.landscape.gradient import policy_gradient

            return policy_gradient(problem, episodes=gradient_episodes, seed=seed)

        dirs = make_directions(directions, dims, centre=centre, labels=problem.labels, shapes=problem.shapes,
                               seed=seed, gradient_fn=gradient_fn)
    points = grid_points(centre, dirs.vectors, the_grid)
    own_backend = backend is None
    if own_backend:
        backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon, max_envs=max_envs)
    try:
        results = {}
        if "param-sigma" in modes:
            param_sigma = float(np.mean(problem.sigma)) if param_sigma is None else float(param_sigma)
            results["param-sigma"] = evaluate_param_sigma(
                backend, problem.policy.mean, points, param_sigma=param_sigma, horizon=problem.horizon,
                gamma=problem.gamma, episodes=episodes, seed=seed, eval_options=problem.eval_options,
                progress=_stage(progress, "param-sigma"))
        sde = sde_noise_std(problem, sigma) if "sigma" in modes else None
        for m in (m for m in modes if m != "param-sigma"):
            results[m] = evaluate_points(
                backend, problem.policy.mean, points, mode=m, horizon=problem.horizon, gamma=problem.gamma,
                sigma=sig if m == "sigma" else None, episodes=episodes, seed=seed, eval_options=problem.eval_options,
                progress=_stage(progress, m), sde_std=sde if m == "sigma" else None,
                sde_sample_freq=problem.sde_sample_freq,
            )
    finally:
        if own_backend:
            backend.close()
    shape = the_grid.shape
    timing = {m: {"seconds": r.seconds, "points": int(points.shape[0]), "episodes": int(r.returns.shape[1]),
                  "points_per_second": points.shape[0] / max(r.seconds, 1e-12),
                  "env_steps_per_second": r.env_steps / max(r.seconds, 1e-12)} for m, r in results.items()}
    land = Landscape(
        kind="policy", env=problem.env, axes=the_grid.axes, modes=modes,
        values=np.stack([results[m].values.reshape(shape) for m in modes]),
        stderr=np.stack([results[m].stderr.reshape(shape) for m in modes]),
        mask=np.stack([(results[m].diverged_fraction > 0).reshape(shape) for m in modes]),
        diverged_fraction=np.stack([results[m].diverged_fraction.reshape(shape) for m in modes]),
        directions=dirs, centre=centre, sigma=np.broadcast_to(np.asarray(sig, dtype=np.float64), (action_dim,)).copy(),
        policy_sigma=problem.sigma, seed=int(seed), episodes=episodes, horizon=problem.horizon, gamma=problem.gamma,
        metadata={**problem.metadata, "label": problem.label, "env_kwargs": problem.rollout_kwargs(),
                  "timing": timing, **({"param_sigma": param_sigma} if "param-sigma" in modes else {}),
                  **({"noise": "gSDE", "sde_sample_freq": problem.sde_sample_freq} if sde is not None else {})},
    )
    land.metadata["summary"] = summarize(land)
    return land


def sde_noise_std(problem, sigma=None) -> np.ndarray | None:
    """The sigma mode's gSDE noise-matrix std for a policy that explores with gSDE (None for Gaussian noise): the
    policy's own ``(n_features, action_dim)`` std, or every entry ``sigma`` when one is given (``--sigma``)."""
    policy = problem.policy
    if not getattr(policy, "use_sde", False):
        return None
    std = policy.sde_std
    if sigma is not None:
        value = np.asarray(sigma, dtype=np.float64).reshape(-1)
        if value.size != 1:
            raise ValueError("with a gSDE policy, --sigma is one number: the std of every entry of the noise matrix")
        std = np.full_like(std, float(value[0]))
    return std


def compute_q_landscape(
    problem: LandscapeProblem,
    *,
    grid: int = 21,
    radius: float | None = None,
    action_dims: tuple[int, int] = (0, 1),
    sigma: float | np.ndarray | None = None,
    seed: int = 0,
    backend=None,
    max_envs: int = 2048,
    progress: StageProgress | None = None,
) -> Landscape:
    """Q(s0, a) of the problem's deterministic policy over a 2-D grid of first actions.

    Row ``p`` takes the raw action ``a_p`` at the evaluation start ``s0`` (the env
    saturates it), then the policy's mean action; ``Q = sum_k gamma^k R_k``.
    Actions other than ``action_dims`` are the policy's ``mu(s0)``.

    :param grid: points per axis (>= 3).
    :param radius: half-width around ``mu(s0)`` in action units (> 0); default:
        the env's action box (its saturation range) if finite, else ``mu(s0) +- 1``.
    :param action_dims: the two action indices on the axes.
    :param sigma: sigma of the smoothed landscape L(mu, sigma^2) (default the policy's),
        per action dim or scalar, > 0.
    :param seed: recorded with the result; s0 is the evaluation start (the J_det row's).
    :raises ValueError: on bad input or an action space with fewer than 2 dimensions.
    """
    from mollirl.analysis import mollify

    n = check_grid_size(grid)
    if radius is not None:
        radius = check_radius(radius)
    action_dim = int(problem.policy.action_space.shape[0])
    if action_dim < 2:
        raise ValueError(f"a Q-landscape needs an action space of >= 2 dimensions, this env has {action_dim}")
    dims_ = tuple(int(i) for i in action_dims)
    if len(dims_) != 2 or dims_[0] == dims_[1] or not all(0 <= i < action_dim for i in dims_):
        raise ValueError(f"action_dims must be two different indices in [0, {action_dim}), got {action_dims!r}")
    sig = check_sigma_vector(problem.sigma if sigma is None else sigma, action_dim)
    own_backend = backend is None
    if own_backend:
        backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon, max_envs=max_envs)
    try:
        s0 = backend.initial_observation(EVAL_SEED, problem.eval_options)
        centre = problem.centre
        mu0 = BatchedMean(problem.policy.mean, centre[None])(s0[None])[0]
        low = np.asarray(problem.policy.action_space.low, dtype=np.float64)
        high = np.asarray(problem.policy.action_space.high, dtype=np.float64)
        if radius is None and np.all(np.isfinite(low[list(dims_)])) and np.all(np.isfinite(high[list(dims_)])):
            the_grid = make_grid(n, tuple((high[i] - low[i]) / 2 for i in dims_), 2,
                                 centre=tuple((high[i] + low[i]) / 2 for i in dims_))
        else:
            the_grid = make_grid(n, radius or 1.0, 2, centre=tuple(mu0[i] for i in dims_))
        first = np.tile(mu0, (the_grid.n_points, 1))
        first[:, list(dims_)] = the_grid.offsets()
        r = evaluate_points(backend, problem.policy.mean, centre[None], mode="det", horizon=problem.horizon,
                            gamma=problem.gamma, seed=seed, first_actions=first, eval_options=problem.eval_options,
                            progress=_stage(progress, "q"))
    finally:
        if own_backend:
            backend.close()
    shape = the_grid.shape
    q = r.values.reshape(shape)
    mask = (r.diverged_fraction > 0).reshape(shape)
    h0, h1 = the_grid.spacing
    ref = sig[dims_[0]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        smoothed = mollify(q, (h0, h1 * ref / sig[dims_[1]]), float(ref), mask=mask, mode="renormalize")
    notes = []
    if any("under-resolved" in str(w.message) for w in caught):
        notes.append(f"sigma {float(ref):g} is below the action grid spacing {min(h0, h1):g}: the mollified "
                     "landscape L(mu, sigma^2) barely differs from Q here; use a finer grid or a smaller radius")
        warnings.warn(notes[-1], stacklevel=2)
    axes_vectors = np.zeros((2, action_dim))
    axes_vectors[0, dims_[0]] = axes_vectors[1, dims_[1]] = 1.0
    dirs = Directions(vectors=axes_vectors, kinds=tuple(f"action:{i}" for i in dims_),
                      labels=tuple(problem.labels), seed=int(seed), centre=centre)
    land = Landscape(
        kind="q", env=problem.env, axes=the_grid.axes, modes=("det", "mollified"),
        values=np.stack([q, smoothed]), stderr=np.full((2, *shape), np.nan),
        mask=np.stack([mask, np.zeros_like(mask)]), diverged_fraction=np.stack([mask.astype(float), np.zeros(shape)]),
        directions=dirs, centre=centre, sigma=sig, policy_sigma=problem.sigma, seed=int(seed), episodes=1,
        horizon=problem.horizon, gamma=problem.gamma,
        metadata={**problem.metadata, "label": problem.label, "env_kwargs": problem.rollout_kwargs(),
                  "timing": {"q": {"seconds": r.seconds, "points": the_grid.n_points,
                                   "points_per_second": the_grid.n_points / max(r.seconds, 1e-12)}},
                  "notes": notes},
        state0=s0, action_centre=mu0, action_dims=dims_,
    )
    land.metadata["summary"] = summarize(land)
    return land
