import numpy as np
import pytest
import torch as th

from mollirl.common.returns import apply_baseline, episode_starts, reinforce_loss, returns_to_go


def test_returns_to_go_known_values():
    rewards = np.array([[1.0], [2.0], [3.0]])
    dones = np.array([[False], [False], [True]])
    G = returns_to_go(rewards, dones, 0.5)
    np.testing.assert_allclose(G[:, 0], [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3])


def test_returns_do_not_cross_episode_ends():
    rewards = np.ones((4, 1))
    dones = np.array([[False], [True], [False], [True]])
    G = returns_to_go(rewards, dones, 1.0)
    np.testing.assert_allclose(G[:, 0], [2, 1, 2, 1])
    np.testing.assert_array_equal(episode_starts(dones)[:, 0], [True, False, True, False])


def test_mean_baseline_is_per_time_step():
    G = np.array([[1.0, 3.0], [10.0, 20.0]])
    np.testing.assert_allclose(apply_baseline(G, "mean"), [[-1, 1], [-5, 5]])
    np.testing.assert_array_equal(apply_baseline(G, "none"), G)
    with pytest.raises(ValueError, match="baseline"):
        apply_baseline(G, "critic")


@pytest.mark.parametrize("baseline", ["none", "mean"])
def test_reinforce_gradient_matches_analytic_1d_gaussian(baseline):
    """One-step episodes, r(a) = -(a - c)^2, a ~ N(mu, sigma^2):
    J(mu, sigma) = -((mu - c)^2 + sigma^2), dJ/dmu = -2 (mu - c), dJ/dsigma = -2 sigma."""
    mu0, log_sigma0, c, n = 0.3, np.log(0.7), 1.1, 400_000
    rng = np.random.default_rng(0)
    mu = th.tensor(mu0, dtype=th.float64, requires_grad=True)
    log_sigma = th.tensor(log_sigma0, dtype=th.float64, requires_grad=True)
    a = mu0 + np.exp(log_sigma0) * rng.standard_normal(n)
    r = -((a - c) ** 2)
    G = returns_to_go(r[None, :], np.ones((1, n), dtype=bool), 0.99)
    adv = apply_baseline(G, baseline)
    dist = th.distributions.Normal(mu, log_sigma.exp())
    loss = reinforce_loss(dist.log_prob(th.from_numpy(a))[None, :], th.from_numpy(adv), n)
    loss.backward()
    sigma0 = np.exp(log_sigma0)
    expected_dmu = -2 * (mu0 - c)
    expected_dlogsigma = -2 * sigma0 * sigma0  # dJ/dlog(sigma) = sigma dJ/dsigma
    assert -mu.grad.item() == pytest.approx(expected_dmu, rel=0.03)
    assert -log_sigma.grad.item() == pytest.approx(expected_dlogsigma, rel=0.05)


def test_which_columns_take_the_fast_recursion():
    """The in-place recursion needs every column to be one episode followed by zero rewards; anything else
    (two episodes, a reward after the end) takes the masked loop, and both give the reference returns."""
    from mollirl.common.returns import _one_episode_per_column

    T, N = 6, 3
    rewards = np.arange(1.0, T * N + 1).reshape(T, N)
    dones = np.zeros((T, N), dtype=bool)
    assert _one_episode_per_column(rewards, dones)  # no episode ends
    dones[-1] = True
    assert _one_episode_per_column(rewards, dones)  # every one ends at the last step
    dones[2, 1] = True  # column 1 ends at step 2 and again at step 5: two episodes
    assert not _one_episode_per_column(rewards, dones)
    dones[-1, 1] = False  # one episode, but rewards after its end
    assert not _one_episode_per_column(rewards, dones)
    rewards[3:, 1] = 0.0  # zeros after the end: the rollout core's buffers
    assert _one_episode_per_column(rewards, dones)
    rng = np.random.default_rng(0)
    for _ in range(50):
        r = rng.standard_normal((T, N)) * (rng.random((T, N)) < 0.8)
        d = rng.random((T, N)) < 0.2
        ref = np.zeros((T, N))
        for j in range(N):
            running = 0.0
            for t in range(T - 1, -1, -1):
                running = r[t, j] + 0.9 * running * (not d[t, j])
                ref[t, j] = running
        np.testing.assert_allclose(returns_to_go(r, d, 0.9), ref, rtol=1e-12, atol=1e-12)
