"""The policy-gradient estimate at a centre (the ``gradient`` slice direction).

One REINFORCE batch, the estimator :class:`~mollirl.algos.reinforce.REINFORCE`
uses for its update: ``episodes`` whole episodes of ``horizon`` steps with
actions ``mu_theta(s) + sigma * eps`` from the run's env (its training start
distribution) in one batched rollout of the rollout core, Monte Carlo
returns-to-go, a baseline, and the gradient of
:func:`~mollirl.common.returns.reinforce_surrogate` with respect to the mean
parameters (by torch's autograd; REINFORCE's batched kernel,
:mod:`mollirl.common.gradients`, gives the same values up to rounding, about 1e-15
relative), negated so that it points uphill in J.
"""

from __future__ import annotations

import numpy as np
import torch as th

from mollirl.common.returns import reinforce_surrogate
from mollirl.common.seeding import GRADIENT_NOISE, GRADIENT_STARTS, derive_seed, stream_rng
from mollirl.rollout import BatchedMean, Rows


def policy_gradient(problem, *, episodes: int = 16, seed: int = 0, baseline: str = "mean") -> np.ndarray:
    """REINFORCE estimate of grad_theta J_sigma at the problem's centre, over the mean parameters.

    :param problem: a :class:`~mollirl.landscape.problem.LandscapeProblem` (its policy's sigma is used).
    :param episodes: episodes in the batch (>= 2 with the ``mean`` baseline).
    :param seed: seeds the env resets (``derive_seed(seed, 0, GRADIENT_STARTS) + i``) and the action noise (the
        stream ``(seed, 0, GRADIENT_NOISE)``).
    :param baseline: ``none`` or ``mean`` (as in REINFORCE).
    :return: ``(d,)`` float64, in the flat order of ``get_mean_vector()``.
    """
    from mollirl.landscape.engine import make_backend

    policy = problem.policy
    sigma = np.asarray(policy.sigma, dtype=np.float64)
    eps = stream_rng(seed, GRADIENT_NOISE).standard_normal((problem.horizon, episodes, sigma.shape[0]))
    rows = Rows(mean=BatchedMean.of_policy(policy), seeds=np.arange(episodes) + derive_seed(seed, 0, GRADIENT_STARTS),
                noise=sigma * eps)
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon, max_envs=episodes)
    try:
        result = backend.run(rows, horizon=problem.horizon, gamma=problem.gamma, buffer_rows=episodes)
    finally:
        backend.close()
    if result.nonfinite.any():
        raise ValueError("the env returned a non-finite reward or observation in the gradient direction's batch")
    buf = result.buffers
    loss = reinforce_surrogate(policy, buf.obs, buf.actions, buf.rewards, buf.alive, buf.dones, problem.gamma,
                               baseline)
    params = [p for _, p in policy.mean_named_parameters()]
    grads = th.autograd.grad(loss, params, allow_unused=True)
    flat = [(-g if g is not None else th.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]
    return th.cat(flat).detach().numpy().astype(np.float64)
