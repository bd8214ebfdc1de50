"""The sigma sweep: known answers (a one-step linear-quadratic problem in closed form, the REINFORCE estimator of
training on the same rows, a brute-force Monte Carlo of many independent batches), one rollout for every sigma,
and the command line."""

import json
import textwrap

import numpy as np
import pytest
import torch as th

from mollirl.analysis import stats
from mollirl.landscape.__main__ import main
from mollirl.landscape.sweep import estimate_bytes, parse_sigmas, sigma_sweep


@pytest.fixture(scope="module")
def lq_plugin(tmp_path_factory):
    """``lq-one-step``: one step from s = 0, reward -(a - 1)^2, a linear policy (the mean is b; K sees s = 0)."""
    path = tmp_path_factory.mktemp("lq") / "lq_plugin.py"
    path.write_text(textwrap.dedent('''
        import gymnasium as gym
        import numpy as np
        from mollirl.envs import EnvPlugin
        from mollirl.registry import register

        class OneStep(gym.Env):
            observation_space = gym.spaces.Box(-1, 1, (1,), np.float64)
            action_space = gym.spaces.Box(-100, 100, (1,), np.float64)
            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return np.zeros(1), {}
            def step(self, action):
                a = float(np.clip(action, -100, 100)[0])
                return np.zeros(1), -(a - 1.0) ** 2, True, False, {}

        if "test/LQOneStep-v0" not in gym.registry:
            gym.register("test/LQOneStep-v0", entry_point=OneStep, max_episode_steps=1)
        preset = {"policy": "linear", "policy_init": "zero", "horizon": 1, "gamma": 1.0}
        register("envs", "lq-one-step", EnvPlugin(gym_id="test/LQOneStep-v0", preset=preset,
                                                  eval_start=lambda env: {}), help="test", overwrite=True)
        register("envs", "lq-one-step-no-start", EnvPlugin(gym_id="test/LQOneStep-v0", preset=preset),
                 help="test: no evaluation start", overwrite=True)
    '''))
    from mollirl import registry

    registry.load_all_plugins([str(path)])
    return str(path)


def test_parse_sigmas_refuses_bad_grids():
    assert parse_sigmas("0.01, 0.1,1") == [0.01, 0.1, 1.0]
    for bad, match in (("", "comma-separated"), ("0.1,,1", "comma-separated"), ("0.1,x", "'x' is not a number"),
                       ("0.1,0", "finite number > 0"), ("-1", "finite number > 0"), ("inf", "finite number > 0"),
                       ("nan", "finite number > 0"), ("0.1,0.1", "given twice")):
        with pytest.raises(ValueError, match=match):
            parse_sigmas(bad)


def test_one_step_linear_quadratic_case_in_closed_form(lq_plugin):
    """a = b + sigma eps, R = -(a - 1)^2 at b = 0 (d = b - 1 = -1): J = -d^2, J_sigma = -(d^2 + sigma^2), the
    per-episode REINFORCE term g = (eps / sigma) R has E g = -2 d = 2 and Var g = d^4 / sigma^2 + 14 d^2 +
    15 sigma^2, so tr Cov(g_N) = Var g / N; the finite-difference gradient is 2 (angle 0)."""
    from mollirl.landscape.problem import problem_from_env

    problem = problem_from_env("lq-one-step", "zero")
    sigmas = [0.1, 0.5, 2.0]
    N = 4
    sweep = sigma_sweep(problem, sigmas, episodes=700, batch_episodes=N)
    assert sweep.J == -1.0 and sweep.n_params == 2  # K (1 x 1) and b
    assert sweep.fd_gradient == pytest.approx([0.0, 2.0], abs=1e-3)  # dJ/dK = 0 at s = 0, dJ/db = 2 (float32 actions)
    for row, s in zip(sweep.rows, sigmas):
        var = 1 / s**2 + 14 + 15 * s**2
        for iv, truth in ((row.J_sigma, -(1 + s**2)), (row.bias, -s**2), (row.trace_cov, var / N),
                          (row.grad_norm, 2.0), (row.snr, 2.0 / np.sqrt(var / N))):
            assert iv.low <= truth <= iv.high, (s, iv, truth)
        assert row.mean_gradient[0] == 0.0 and row.diverged_fraction == 0.0
    # the variance falls, the bias grows: the two sides of Remark 5.3's trade-off, here in closed form
    assert sweep.rows[0].trace_cov.low > sweep.rows[1].trace_cov.high
    assert sweep.rows[2].bias.high < sweep.rows[1].bias.low


def test_without_an_evaluation_start_j_is_over_the_same_starts(lq_plugin):
    """An env without a fixed evaluation start: J is the deterministic return over the sweep's starts, the bias
    a paired difference over them (here every start is s = 0: J = -1 on each)."""
    from mollirl.landscape.problem import problem_from_env

    sweep = sigma_sweep(problem_from_env("lq-one-step-no-start", "zero"), [0.5], episodes=200, batch_episodes=4)
    assert not sweep.eval_start and sweep.J == -1.0
    assert sweep.n_rows == 200 + 200 + 2 * 2 * 16  # noisy rows, one J row per start, FD rows on 16 starts
    bias = sweep.rows[0].bias
    assert bias.statistic == "J_sigma - J" and bias.method == "BCa bootstrap" and bias.low <= -0.25 <= bias.high


@pytest.fixture(scope="module")
def pendulum():
    from mollirl.landscape.problem import problem_from_env

    return problem_from_env("double-pendulum", "reference", horizon=20)


@pytest.mark.parametrize("baseline,batch", [("none", 8), ("mean", 4)])
def test_mean_gradient_is_the_training_estimator_on_the_same_rows(pendulum, baseline, batch):
    """The sweep's E g equals what REINFORCE's surrogate loss gives on the same episodes (same noise, starts)."""
    from mollirl.common.returns import reinforce_surrogate
    from mollirl.landscape.engine import make_backend
    from mollirl.rollout import BatchedMean, Rows

    sigma, M, T, seed = 0.3, 8, 20, 3
    sweep = sigma_sweep(pendulum, [sigma], episodes=M, batch_episodes=batch, baseline=baseline, seed=seed)
    policy = pendulum.policy
    policy.set_sigma(sigma)
    eps = np.random.default_rng([seed, 1]).standard_normal((T, M, 2))
    rows = Rows(mean=BatchedMean.of_policy(policy), seeds=np.arange(M) + seed, options=pendulum.eval_options,
                noise=sigma * eps)
    backend = make_backend(pendulum.env, pendulum.rollout_kwargs(), horizon=T, max_envs=M)
    buf = backend.run(rows, horizon=T, gamma=pendulum.gamma, buffer_rows=M).buffers
    estimates = []
    for b in range(0, M, batch):
        cols = slice(b, b + batch)
        loss = reinforce_surrogate(policy, buf.obs[:, cols].copy(), buf.actions[:, cols].copy(),
                                   buf.rewards[:, cols].copy(), buf.alive[:, cols].copy(), buf.dones[:, cols].copy(),
                                   pendulum.gamma, baseline)
        grads = th.autograd.grad(loss, [p for _, p in policy.mean_named_parameters()])
        estimates.append(-th.cat([g.reshape(-1) for g in grads]).numpy())
    np.testing.assert_allclose(sweep.rows[0].mean_gradient, np.mean(estimates, axis=0), rtol=1e-9, atol=1e-12)


def test_gradient_variance_against_brute_force_monte_carlo(pendulum):
    """tr Cov of an 8-episode batch's estimate: the sweep (512 episodes, tr Cov(g_1) / 8) against 200 independent
    batches of 8 episodes through the landscape's gradient code (other noise, other code path): the two 95%
    intervals overlap."""
    import copy

    from mollirl.landscape.gradient import policy_gradient

    sigma, N = 0.3, 8
    sweep = sigma_sweep(pendulum, [sigma], episodes=512, batch_episodes=N, seed=0)
    problem = copy.deepcopy(pendulum)
    problem.policy.set_sigma(sigma)
    G = np.stack([policy_gradient(problem, episodes=N, seed=10_000 + 8 * k, baseline="none") for k in range(200)])
    sq = np.einsum("ij,ij->i", G, G)
    n = G.shape[0]
    brute = stats.weighted_bootstrap(n, lambda w: (w @ sq - np.sum((w @ G) ** 2, axis=1)) * n / (n - 1),
                                     name="tr Cov")
    ours = sweep.rows[0].trace_cov
    assert brute.estimate == pytest.approx(np.trace(np.cov(G.T)))
    assert ours.overlaps(brute), (ours, brute)
    assert 0.7 < ours.estimate / brute.estimate < 1.4


def test_every_sigma_in_one_rollout(pendulum, monkeypatch):
    from mollirl.rollout import AnalyticBackend

    calls = []
    real = AnalyticBackend.run

    def counting(self, rows, **kwargs):
        calls.append(rows.n_rows)
        return real(self, rows, **kwargs)

    monkeypatch.setattr(AnalyticBackend, "run", counting)
    sweep = sigma_sweep(pendulum, [0.01, 0.1, 1.0], episodes=16, batch_episodes=4)
    d = sweep.n_params
    assert calls == [3 * 16 + 1 + 2 * d] == [sweep.n_rows]  # noisy rows, the J row, the finite differences


def test_memory_estimate_and_limit(pendulum):
    need = estimate_bytes(8, 256, 1000, 4, 2, 12, 25)
    assert 8 * 256 * 1000 * (8 * 10 + 2) <= need < 2 * 8 * 256 * 1000 * (8 * 10 + 2)
    with pytest.raises(ValueError, match=r"needs about .* GiB of arrays; the limit is 0.00 GiB"):
        sigma_sweep(pendulum, [0.1, 1.0], episodes=64, memory_limit=1000)


def test_command_writes_json_and_png(tmp_path, capsys):
    out = tmp_path / "sub" / "sweep.json"
    assert main(["--env", "double-pendulum", "--sigma-sweep", "0.01,0.1,1", "--episodes", "32", "--horizon", "50",
                 "--batch-episodes", "8", "-o", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "sigma sweep at reference: 3 sigmas x 32 episodes" in text and "tr Cov(g_N)" in text
    data = json.loads(out.read_text())
    assert [r["sigma"] for r in data["sigmas"]] == [0.01, 0.1, 1.0]
    for r in data["sigmas"]:
        for key in ("J_sigma", "bias", "trace_cov", "snr", "grad_norm", "angle_deg"):
            assert r[key]["low"] <= r[key]["estimate"] <= r[key]["high"], key
    assert data["rows_in_one_batch"] == 3 * 32 + 1 + 2 * data["n_params"]
    assert data["metadata"]["command"].startswith("python -m mollirl.landscape --env double-pendulum")
    assert str(tmp_path) not in out.read_text()  # the command as typed, without the machine's folders
    assert out.with_suffix(".png").stat().st_size > 20_000


@pytest.mark.parametrize("grid,message", [("0.1,-1", "finite number > 0"), ("0.1,0.1", "given twice"),
                                          ("0.1,nan", "finite number > 0"), ("0.1,inf", "finite number > 0"),
                                          ("", "comma-separated")])
def test_bad_grids_one_line_exit_2_nothing_written(tmp_path, capsys, grid, message):
    assert main(["--env", "double-pendulum", "--sigma-sweep", grid, "-o", str(tmp_path / "o" / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())


def test_a_sweep_that_does_not_fit_in_memory_is_refused(tmp_path, capsys):
    assert main(["--env", "double-pendulum", "--sigma-sweep", "0.1,1,10", "--episodes", "10000000",
                 "-o", str(tmp_path / "o" / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs about" in err and "the limit is" in err, err
    assert not list(tmp_path.iterdir())
