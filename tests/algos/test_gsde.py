"""gSDE as a noise type (issue 24, item 3): ``--use-sde`` for PPO and TRPO through SB3's own
``StateDependentNoiseDistribution``, the landscape's sigma mode and ``enjoy --stochastic`` under it."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch as th
from stable_baselines3.common.distributions import StateDependentNoiseDistribution

from mollirl.config import RunConfig
from mollirl.enjoy import main as enjoy_main
from mollirl.rollout import BatchedMean
from mollirl.train import main as train_main
from mollirl.training import RunSession
from mollirl.training.metrics import read_metrics

TINY = ["--horizon", "40", "--batch-episodes", "4", "--epochs", "2", "--no-progress"]


def _session(tmp_path, **kwargs):
    config = RunConfig(**{"algo": "ppo", "env": "double-pendulum", "epochs": 1, "horizon": 40, "batch_episodes": 8,
                          "use_sde": True, "sigma": 0.3, "progress": False, **kwargs}).validate()
    return RunSession(config, run_dir=tmp_path / "run")


def _epoch_noise(model):
    """The raw actions of epoch 0's training rows less the mean action: ``(T, N, A)``, and the observations."""
    rows, n, _ = model.epoch_rows(0)
    result = model.rollout_backend().run(rows, horizon=model.horizon, gamma=model.gamma, buffer_rows=n)
    buf = result.buffers
    T, N, _ = buf.obs.shape
    mean = BatchedMean.of_policy(model.policy)(buf.obs.reshape(T * N, -1)).reshape(T, N, -1)
    return buf.actions - mean, buf.obs, buf.alive


@pytest.mark.parametrize("freq", [-1, 4])
def test_the_noise_is_a_random_linear_policy_held_for_sde_sample_freq_steps(tmp_path, freq):
    """eps(s) = theta_eps^T s for the linear mean: within a block of ``sde_sample_freq`` steps (one episode for
    -1) the noise is exactly a linear function of the state; between blocks the matrix changes."""
    session = _session(tmp_path, sde_sample_freq=freq)
    try:
        model = session.model
        assert isinstance(model.policy.action_dist, StateDependentNoiseDistribution)
        assert tuple(model.policy.log_std.shape) == (4, 2)  # full_std: (n_features = obs_dim, action_dim)
        eps, obs, alive = _epoch_noise(model)
        T = eps.shape[0]
        block = T if freq == -1 else freq
        matrices = []
        for i in range(eps.shape[1]):
            for start in range(0, T, block):
                steps = slice(start, start + block)
                live = alive[steps, i]
                X, Y = obs[steps, i][live], eps[steps, i][live]
                W, *_ = np.linalg.lstsq(X, Y, rcond=None)
                if len(X) >= X.shape[1]:  # enough steps to pin the matrix down
                    assert np.allclose(X @ W, Y, atol=1e-10, rtol=0), (i, start)
                    matrices.append(W)
        matrices = np.array(matrices)
        assert not np.allclose(matrices[0], matrices[1])  # another episode or block: another matrix
        # entries ~ N(0, sigma^2): the spread of all recovered entries is sigma within sampling error
        entries = matrices.reshape(-1)
        assert abs(entries.std() / 0.3 - 1) < 5 / math.sqrt(entries.size), entries.std()
    finally:
        session.close()


def test_log_probabilities_are_sb3s_marginal(tmp_path):
    session = _session(tmp_path, learn_sigma=True)
    try:
        policy = session.model.policy
        obs = th.randn(7, 4, dtype=th.float64)
        actions = th.randn(7, 2, dtype=th.float64)
        _, log_prob, entropy = policy.evaluate_actions(obs, actions)
        std = policy.log_std.detach().exp()
        var = (obs**2) @ (std**2) + 1e-6  # SB3: features^2 @ std^2 + epsilon, per action
        mean = policy.mean(obs).detach()
        expected = (-((actions - mean) ** 2) / (2 * var) - 0.5 * th.log(2 * math.pi * var)).sum(dim=1)
        assert th.allclose(log_prob.detach(), expected, atol=1e-12)
        assert entropy is not None and policy.log_std.requires_grad
    finally:
        session.close()


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_trains_learns_its_noise_matrix_std_and_a_member_equals_its_run(tmp_path, algo, capsys):
    args = ["--algo", algo, "--use-sde", "--sde-sample-freq", "8", "--learn-sigma", *TINY]
    assert train_main([*args, "-f", str(tmp_path / "one")]) == 0
    (run,) = (tmp_path / "one" / algo).iterdir()
    assert train_main([*args, "--seeds", "0,1", "-f", str(tmp_path / "pop")]) == 0
    (pop,) = (tmp_path / "pop" / algo).iterdir()
    member = next(p for p in pop.iterdir() if p.is_dir() and p.name.endswith("seed_0"))
    assert (member / "metrics.csv").read_bytes() == (run / "metrics.csv").read_bytes()  # the same bits
    from mollirl import registry

    model = registry.get("algos", algo).resolve().load(run / "model.zip")
    assert model.policy.use_sde and tuple(model.policy.log_std.shape) == (4, 2)
    assert not np.allclose(model.policy.sde_std, 0.5)  # learned from sigma 0.5 (the preset's)
    rows = read_metrics(run / "metrics.csv")
    assert all(math.isfinite(r["J_sigma"]) for r in rows[:-1])


def test_full_std_false_and_what_is_refused(tmp_path, capsys):
    session = _session(tmp_path, policy_kwargs={"full_std": False})
    try:
        assert tuple(session.model.policy.log_std.shape) == (4, 1)
        assert session.model.policy.sde_std.shape == (4, 2)
    finally:
        session.close()
    for args, needle in ((["--algo", "reinforce", "--use-sde"], "--use-sde is PPO's and TRPO's"),
                         (["--algo", "ars", "--use-sde"], "--use-sde is PPO's and TRPO's"),
                         (["--algo", "ppo", "--use-sde", "-params", "policy_kwargs:{sigma_per_dim: true}",
                           "--learn-sigma"], "sigma_per_dim is for Gaussian action noise"),
                         (["--algo", "ppo", "--sde-sample-freq", "0"], "--sde-sample-freq must be -1")):
        assert train_main([*args, *TINY, "-f", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
        assert not (tmp_path / "r").exists()


def test_landscape_sigma_mode_and_enjoy_under_gsde(tmp_path, capsys):
    from mollirl.landscape import compute_landscape, problem_from_run

    assert train_main(["--algo", "ppo", "--use-sde", "--sde-sample-freq", "5", *TINY, "-f", str(tmp_path)]) == 0
    (run,) = (tmp_path / "ppo").iterdir()
    problem = problem_from_run(run, "final")
    assert problem.policy.use_sde and problem.sde_sample_freq == 5
    kwargs = dict(grid=3, dims=1, radius=0.2, mode="both", episodes=6, seed=3)
    land = compute_landscape(problem, **kwargs)
    det, sig = land.values
    assert land.metadata["noise"] == "gSDE" and land.metadata["sde_sample_freq"] == 5
    assert not np.allclose(det, sig)
    again = compute_landscape(problem, **kwargs)
    assert np.array_equal(again.values, land.values)  # common random numbers, seeded
    # as the noise matrix's std goes to 0, J under gSDE goes to J_det (the same start, the same dynamics)
    tiny = compute_landscape(problem, **{**kwargs, "mode": "sigma"}, sigma=1e-9)
    assert np.allclose(tiny.values[0], det, rtol=1e-6, atol=1e-6)
    # enjoy --stochastic plays the run's gSDE noise, seeded; the deterministic episode is the J_det row
    assert enjoy_main(["--run", str(run), "--no-progress"]) == 0
    det_out = capsys.readouterr().out
    assert enjoy_main(["--run", str(run), "--stochastic", "--episodes", "2", "--seed", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "gSDE noise matrix" in out
    assert enjoy_main(["--run", str(run), "--stochastic", "--episodes", "2", "--seed", "1", "--no-progress"]) == 0
    assert capsys.readouterr().out == out
    returns = [line.split()[1] for line in out.splitlines() if re.match(r"\s+\d+\s", line)]
    det_return = next(line.split()[1] for line in det_out.splitlines() if re.match(r"\s+0\s", line))
    assert len(set(returns)) == 2 and det_return not in returns


@pytest.mark.parametrize("env", ["double-pendulum", "test-point"])
def test_resume_after_sigint_repeats_the_uninterrupted_gsde_run(tmp_path, env):
    """The noise matrices come from the epoch's stream: a resumed gSDE run is the uninterrupted one, byte for byte
    (an analytic env and a plain Gymnasium env stepped through a VecEnv)."""
    from suite import tiny_args

    args = tiny_args(env, "ppo", epochs=4) + ["--use-sde", "--sde-sample-freq", "3"]
    assert train_main(args + ["-f", str(tmp_path / "full")]) == 0
    assert train_main(args + ["-f", str(tmp_path / "cut"), "--callback", "signal-at:epoch=2"]) == 130
    (cut,) = (tmp_path / "cut" / "ppo").iterdir()
    assert train_main(["--resume", str(cut), "--no-progress"]) == 0
    (full,) = (tmp_path / "full" / "ppo").iterdir()
    assert (cut / "metrics.csv").read_bytes() == (full / "metrics.csv").read_bytes()
