"""The policy-gradient estimate at a centre (the ``gradient`` slice direction).

One REINFORCE batch, as :class:`~mollirl.algos.reinforce.REINFORCE` computes
it for its update: ``episodes`` whole episodes of ``horizon`` steps with
actions ``mu_theta(s) + sigma * eps`` from the run's env (training start
distribution), Monte Carlo returns-to-go, a baseline, and the gradient of
:func:`~mollirl.algos.returns.reinforce_loss` with respect to the mean
parameters, negated so that it points uphill in J.
"""

from __future__ import annotations

import numpy as np
import torch as th

from mollirl.algos.returns import apply_baseline, episode_starts, reinforce_loss, returns_to_go


def policy_gradient(problem, *, episodes: int = 16, seed: int = 0, baseline: str = "mean") -> np.ndarray:
    """REINFORCE estimate of grad_theta J_sigma at the problem's centre, over the mean parameters.

    :param problem: a :class:`~mollirl.landscape.problem.LandscapeProblem` (its policy's sigma is used).
    :param episodes: episodes in the batch (>= 2 with the ``mean`` baseline).
    :param seed: seeds the env resets (``seed + i``) and the action noise.
    :param baseline: ``none`` or ``mean`` (as in REINFORCE).
    :return: ``(d,)`` float64, in the flat order of ``get_mean_vector()``.
    """
    from mollirl.envs import make_vec_env

    policy = problem.policy
    venv = make_vec_env(problem.env, episodes, max_episode_steps=problem.horizon, **problem.env_kwargs)
    try:
        venv.seed(int(seed))
        obs = np.asarray(venv.reset(), dtype=np.float64).reshape(episodes, -1)
        rng = np.random.default_rng([int(seed), 2])
        sigma = policy.sigma
        T = problem.horizon
        obs_buf = np.empty((T, episodes, obs.shape[1]))
        act_buf = np.empty((T, episodes, sigma.shape[0]))
        rew_buf = np.empty((T, episodes))
        done_buf = np.empty((T, episodes), dtype=bool)
        for t in range(T):
            with th.no_grad():
                mean = policy.mean(th.from_numpy(obs)).numpy()
            actions = mean + sigma * rng.standard_normal(mean.shape)
            new_obs, rewards, dones, _ = venv.step(actions)
            obs_buf[t], act_buf[t], rew_buf[t], done_buf[t] = obs, actions, rewards, dones
            obs = np.asarray(new_obs, dtype=np.float64).reshape(episodes, -1)
    finally:
        venv.close()
    adv = apply_baseline(returns_to_go(rew_buf, done_buf, problem.gamma), baseline)
    _, log_prob, _ = policy.evaluate_actions(th.from_numpy(obs_buf.reshape(T * episodes, -1)),
                                             th.from_numpy(act_buf.reshape(T * episodes, -1)))
    loss = reinforce_loss(log_prob.reshape(T, episodes), th.from_numpy(adv), int(episode_starts(done_buf).sum()))
    params = [p for _, p in policy.mean_named_parameters()]
    grads = th.autograd.grad(loss, params, allow_unused=True)
    flat = [(-g if g is not None else th.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]
    return th.cat(flat).detach().numpy().astype(np.float64)
