"""Exponents of a (env, deterministic policy) pair, shared by ``figure2`` and ``prop31``.

- :func:`closed_loop`: the batched closed-loop map x_{k+1} = f(x_k, mu_theta(x_k))
  of a landscape problem at a parameter vector theta, and its start state (the
  env's noise-free evaluation start), for :func:`mollirl.analysis.lyapunov_exponent`.
  Analytic envs: their pure ``step`` (the state is the observation). Hopper-stand:
  MuJoCo's ``mujoco.batch`` on the reduced state ``[qpos[1:], qvel]`` (11 numbers;
  the floor is flat, so the horizontal position rootx changes nothing the reward
  or the policy sees and is left out of the perturbation).
- :func:`mlp_problem`, :func:`shifted`: the problems of random tanh-MLP policies and
  of a problem moved to another theta.
- :func:`lyapunov`: the maximal Lyapunov exponent per env step along the
  evaluation trajectory (Benettin, the whole horizon, 4 copies) and the exponent
  Prop. 3.1 predicts from it.
- :func:`finite_time_lyapunov`: the same over the first T steps only (the steps the
  discount weighs most), for a few T.
- :func:`pointwise`: the point-wise Hölder exponent of the deterministic J at the
  centre (|J(c + h d) - J(c)| over step sizes h and random unit directions d): the
  roughest scaling range's exponent with its interval over directions and the range
  itself, the finest range beside it, or "no scaling range" with the reason
  (:func:`mollirl.analysis.pointwise_holder_exponent`).
- :func:`window`: the window estimator on a 1-D slice of J through the centre.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

#: step sizes of the point-wise estimator: eight decades, far below any grid spacing
POINTWISE_H = np.geomspace(1e-8, 1e-1, 15)
POINTWISE_DIRECTIONS = 8


def mlp_problem(env: str, seed: int, *, hidden: int = 16, horizon: int | None = None):
    """A landscape problem around the random tanh MLP ``u = W2 tanh(W1 s)`` (``hidden`` units, no
    biases, W ~ N(0, 1/fan_in) drawn by torch under ``seed``: the policy a run with
    ``--policy mlp --policy-init random --seed SEED`` starts from) in ``env``, from its evaluation start."""
    import dataclasses

    from mollirl.hyperparams import resolve_with_sources
    from mollirl.landscape import problem_from_env
    from mollirl.landscape.problem import policy_from_config

    base = problem_from_env(env, "random", seed=seed, policy="mlp", horizon=horizon)
    cli = {"policy": "mlp", "policy_init": "random", "seed": int(seed), "horizon": base.horizon,
           "policy_kwargs": {"hidden": int(hidden), "bias": False}}
    config = resolve_with_sources(env, "reinforce", None, cli)[0]
    return dataclasses.replace(base, policy=policy_from_config(config), label=f"random tanh MLP, seed {seed}",
                               metadata={**base.metadata, "policy": "mlp", "hidden": int(hidden), "bias": False})


def shifted(problem, theta: np.ndarray, label: str):
    """A copy of ``problem`` centred at ``theta`` (the policy deep-copied, its mean vector set)."""
    import copy
    import dataclasses

    policy = copy.deepcopy(problem.policy)
    policy.set_mean_vector(np.asarray(theta, dtype=np.float64))
    return dataclasses.replace(problem, policy=policy, label=label, metadata={**problem.metadata, "label": label})


def closed_loop(problem, theta: np.ndarray | None = None) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray,
                                                                    Callable[[], None]]:
    """``(step_fn, x0, close)``: the deterministic closed loop of ``problem``'s policy at ``theta``
    (default: the problem's centre), batched over rows ``(N, n) -> (N, n)``, its start state and a
    function that frees what it holds."""
    from mollirl.landscape import make_backend
    from mollirl.rollout import EVAL_SEED, AnalyticBackend, BatchedMean

    theta = problem.centre if theta is None else np.asarray(theta, dtype=np.float64)
    mean = BatchedMean(problem.policy.mean, theta[None])
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    if isinstance(backend, AnalyticBackend):
        dynamics = backend.dynamics
        x0 = backend.initial_observation(EVAL_SEED, problem.eval_options)

        def step_fn(states: np.ndarray) -> np.ndarray:
            return dynamics.step(states, mean(states))[0]

        return step_fn, x0, backend.close
    backend.close()
    if problem.env not in ("hopper-stand", "mollirl/HopperStand-v0"):
        raise ValueError(f"no closed-loop map for env {problem.env!r} (analytic envs and hopper-stand only)")
    return _hopper_closed_loop(problem, mean)


def _hopper_closed_loop(problem, mean) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, Callable[[], None]]:
    from mujoco.batch import Batch

    from mollirl.envs.hopper_stand import HopperStandEnv, stand_observation

    template = HopperStandEnv(**problem.rollout_kwargs())
    options = problem.eval_options or {"qpos": template.init_qpos, "qvel": template.init_qvel}
    x0 = np.concatenate([np.asarray(options["qpos"], dtype=np.float64)[1:], np.asarray(options["qvel"], dtype=np.float64)])
    low, high = template.action_space.low, template.action_space.high
    held: dict[str, Any] = {}

    def step_fn(states: np.ndarray) -> np.ndarray:
        n = states.shape[0]
        if held.get("n") != n:  # one simulation per row, made on the first call (lyapunov_exponent keeps N fixed)
            batch = Batch(template.model, n, nthread=1)
            held.update(n=n, batch=batch, qpos=batch.bind("qpos"), qvel=batch.bind("qvel"), ctrl=batch.bind("ctrl"))
            held["qpos"][:] = np.asarray(options["qpos"], dtype=np.float64)
        qpos, qvel = held["qpos"], held["qvel"]
        qpos[:, 1:] = states[:, :5]
        qvel[:] = states[:, 5:]
        held["ctrl"][:] = np.clip(mean(stand_observation(qpos, qvel)), low, high)
        held["batch"].step(nstep=template.frame_skip)
        return np.concatenate([qpos[:, 1:], qvel], axis=1)

    def close() -> None:
        held.clear()
        template.close()

    return step_fn, x0, close


def lyapunov(problem, theta: np.ndarray | None = None, *, n_steps: int | None = None) -> dict[str, Any]:
    """Maximal Lyapunov exponent (1/step) of the closed loop along the evaluation trajectory and
    the exponent Prop. 3.1 predicts from it, ``min(1, -log(gamma) / lambda)``."""
    from mollirl.analysis import lyapunov_exponent

    step_fn, x0, close = closed_loop(problem, theta)
    n = int(problem.horizon if n_steps is None else n_steps)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = lyapunov_exponent(step_fn, x0, n, discard=n // 10, n_perturbations=4, gamma=problem.gamma, rng=0)
    finally:
        close()
    lam = float(res.lambda_per_step)
    return {"lambda_per_step": lam, "lambda_per_perturbation": res.lambda_per_perturbation,
            "n_steps_used": res.n_steps_used, "threshold_-log_gamma": float(-np.log(problem.gamma)),
            "predicted_holder": None if not np.isfinite(lam) else float(res.predicted_holder),
            "warnings": sorted({str(w.message).split(";")[0] for w in caught})}


#: horizons of the finite-time exponents: the first steps, which the discount weighs most (gamma^100 = 0.37)
FINITE_TIME_STEPS = (50, 100, 250)


def finite_time_lyapunov(problem, theta: np.ndarray | None = None, *,
                         steps: tuple[int, ...] = FINITE_TIME_STEPS) -> dict[str, Any]:
    """Finite-time maximal Lyapunov exponents (1/step) over the *first* T steps of the evaluation
    trajectory (nothing discarded), for each T in ``steps`` (capped at the horizon), and the
    exponent Prop. 3.1 would predict from each.

    Why: :func:`lyapunov` averages the growth over the whole horizon after a transient; the
    discounted return weighs the first ~1/(1 - gamma) steps most, and a closed loop can
    separate much faster there (a falling hopper's impacts, a pendulum's first swings).
    Returns ``{"steps": [...], "lambda_per_step": [...], "predicted_holder": [...]}``.
    """
    from mollirl.analysis import lyapunov_exponent, predicted_holder_exponent

    used = sorted({min(int(t), int(problem.horizon)) for t in steps})
    lams, preds = [], []
    for n in used:
        step_fn, x0, close = closed_loop(problem, theta)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = lyapunov_exponent(step_fn, x0, n, discard=0, n_perturbations=4, rng=0)
        finally:
            close()
        lam = float(res.lambda_per_step)
        lams.append(lam)
        preds.append(None if not np.isfinite(lam) else float(predicted_holder_exponent(lam, problem.gamma)))
    return {"steps": used, "lambda_per_step": lams, "predicted_holder": preds}


def det_values(problem, backend) -> Callable[[np.ndarray], np.ndarray]:
    """The deterministic J of ``problem`` as a batched function ``(n, d) -> (n,)`` (diverged rows NaN)."""
    from mollirl.landscape import evaluate_points

    def J(points: np.ndarray) -> np.ndarray:
        r = evaluate_points(backend, problem.policy.mean, points, mode="det", horizon=problem.horizon,
                            gamma=problem.gamma, eval_options=problem.eval_options)
        return np.where(r.diverged_fraction > 0, np.nan, r.values)

    return J


def pointwise(problem, theta: np.ndarray | None = None, *, h: np.ndarray = POINTWISE_H,
              n_directions: int = POINTWISE_DIRECTIONS, seed: int = 0) -> dict[str, Any]:
    """Point-wise Hölder exponent of the deterministic J at ``theta`` (default the centre):
    ``n_directions`` Gaussian unit directions (seeded), step sizes ``h``, both signs, one batch."""
    from mollirl.analysis import pointwise_holder_exponent
    from mollirl.landscape import make_backend

    centre = problem.centre if theta is None else np.asarray(theta, dtype=np.float64)
    directions = np.random.default_rng(seed).standard_normal((n_directions, centre.size))
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = pointwise_holder_exponent(det_values(problem, backend), centre, h, directions=directions)
    finally:
        backend.close()
    return {**fit.to_dict(), "constant": float(fit.constant), "J_centre": fit.value_at_centre, "h": fit.h,
            "envelope": fit.envelope, "used": fit.used, "n_zero": fit.n_zero, "n_nonfinite": fit.n_nonfinite,
            "n_directions": n_directions, "warnings": sorted({str(w.message).split(":")[0] for w in caught})}


def window(problem, *, radius: float, grid: int, seed: int = 0, directions: str = "random"):
    """A deterministic 1-D slice through the centre (``grid`` points over +-``radius`` along one
    seeded unit direction) and its window Hölder exponent; returns ``(landscape, summary)``."""
    from mollirl.landscape import compute_landscape, summarize

    land = compute_landscape(problem, grid=grid, dims=1, radius=radius, directions=directions, mode="det", seed=seed)
    return land, summarize(land)["det"]
