"""The rollout core: rows in, per-row returns out, one divergence rule, bit-for-bit row independence."""

import numpy as np
import pytest
import torch as th

from mollirl.common.env_util import make_vec_env
from mollirl.landscape.engine import make_backend
from mollirl.landscape.problem import problem_from_env
from mollirl.rollout import AnalyticBackend, BatchedMean, Buffers, Rows, VecEnvBackend, backend_for
from mollirl.rollout.mean import ROWS_TRANSPOSED


def _points(problem, n, scale, seed=0):
    return problem.centre + scale * np.random.default_rng(seed).standard_normal((n, problem.centre.size))


@pytest.mark.parametrize("env,policy", [("double-pendulum", "linear"), ("quadrotor", "linear"),
                                        ("double-pendulum", "mlp"), ("hopper-stand", "mlp")])
def test_a_row_does_not_depend_on_the_batch(env, policy):
    """The same row alone, among others, broadcast or per-row parameters: identical bits."""
    center = "reference" if policy == "linear" else "random"
    problem = problem_from_env(env, center, policy=policy, horizon=60 if env == "hopper-stand" else 300)
    pts = _points(problem, 5, 0.05)
    mean = BatchedMean(problem.policy.mean, pts)
    backend = make_backend(env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        many = backend.run(Rows(mean=mean, seeds=np.zeros(5), options=problem.eval_options),
                           horizon=problem.horizon, gamma=0.99)
        for i in (0, 3):
            alone = backend.run(Rows(mean=BatchedMean(problem.policy.mean, pts[i:i + 1]), seeds=[0],
                                     options=problem.eval_options), horizon=problem.horizon, gamma=0.99)
            assert alone.discounted[0] == many.discounted[i]
            np.testing.assert_array_equal(alone.final_obs[0], many.final_obs[i])
            # one set broadcast to 4 rows == the set repeated per row
            rep = backend.run(Rows(mean=mean, seeds=np.zeros(4), param_index=np.full(4, i),
                                   options=problem.eval_options), horizon=problem.horizon, gamma=0.99)
            assert np.all(rep.discounted == many.discounted[i])
    finally:
        backend.close()


def test_batched_mean_equals_the_policy_mean():
    for policy in ("linear", "mlp"):
        problem = problem_from_env("double-pendulum", "random" if policy == "mlp" else "reference", policy=policy)
        obs = np.random.default_rng(1).standard_normal((7, 4))
        with th.no_grad():
            ref = problem.policy.mean(th.as_tensor(obs)).numpy()
        np.testing.assert_allclose(BatchedMean.of_policy(problem.policy)(obs), ref, rtol=1e-13, atol=1e-13)
        slow = BatchedMean.of_policy(problem.policy)
        slow.kind = "torch"  # the generic path of any other mean network
        np.testing.assert_allclose(slow(obs), ref, rtol=1e-13, atol=1e-13)


def test_returns_lengths_and_buffers_of_known_rows():
    """A zero policy on the double pendulum from its start: buffers hold what the returns sum."""
    problem = problem_from_env("double-pendulum", "zero", horizon=50)
    backend = make_backend("double-pendulum", {}, horizon=50)
    noise = np.random.default_rng(0).standard_normal((50, 3, 2))
    rows = Rows(mean=BatchedMean.of_policy(problem.policy), seeds=[1, 2, 3, 0],
                options=[None, None, None, problem.eval_options], noise=noise)
    r = backend.run(rows, horizon=50, gamma=0.9, buffer_rows=3)
    buf = r.buffers
    assert isinstance(buf, Buffers) and buf.shape == (50, 3) and buf.alive.all()
    assert buf.dones[-1].all() and not buf.dones[:-1].any()
    np.testing.assert_array_equal(buf.actions, noise)  # zero mean + the rows' noise, raw
    np.testing.assert_allclose(r.undiscounted[:3], buf.rewards.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(r.discounted[:3], (0.9 ** np.arange(50)[:, None] * buf.rewards).sum(axis=0),
                               rtol=1e-12)
    assert list(r.lengths) == [50] * 4 and r.truncated.all() and not r.diverged.any()
    assert r.discounted[3] != r.discounted[0]  # the noise-free row
    # the noise-free row from the evaluation start: every start is s0, zero torque
    np.testing.assert_array_equal(buf.obs[0], np.tile([-0.2, 0.2, 0, 0], (3, 1)))


def test_analytic_divergence_ends_the_row_keeps_its_return_and_flags_it():
    problem = problem_from_env("double-pendulum", "reference", horizon=200, env_kwargs={"divergence_threshold": 1.0})
    pts = _points(problem, 6, 3.0)
    backend = make_backend("double-pendulum", problem.rollout_kwargs(), horizon=200)
    r = backend.run(Rows(mean=BatchedMean(problem.policy.mean, pts), seeds=np.zeros(6), options=problem.eval_options),
                    horizon=200, gamma=0.99, buffer_rows=6)
    assert r.diverged.any() and not r.diverged.all()
    assert np.all(np.isfinite(r.discounted)) and not r.nonfinite.any()
    d = np.flatnonzero(r.diverged)[0]
    L = r.lengths[d]
    assert L < 200 and not r.truncated[d]
    assert r.buffers.dones[L - 1, d] and not r.buffers.alive[L:, d].any() and r.buffers.alive[:L, d].all()
    assert np.all(r.buffers.rewards[L:, d] == 0)
    np.testing.assert_allclose(r.undiscounted[d], r.buffers.rewards[:, d].sum(), rtol=1e-12)


def _plugin_backend(env, n, horizon=30, **kw):
    return VecEnvBackend(lambda k: make_vec_env(env, k, max_episode_steps=horizon, **kw), max_envs=n)


@pytest.mark.parametrize("inf", [False, True])
def test_a_non_finite_reward_ends_the_row_flagged_with_its_finite_return(inf):
    """The test plugin's reward turns NaN (or inf) at step 5: every row ends there, diverged and
    non-finite, with the finite sum of its first 4 rewards; a natural termination is not a divergence."""
    problem = problem_from_env("test-nan", "zero", horizon=30, env_kwargs={"inf": inf})
    backend = _plugin_backend("test-nan", 3, inf=inf)
    r = backend.run(Rows(mean=BatchedMean.of_policy(problem.policy), seeds=[0, 1, 2]), horizon=30, gamma=1.0,
                    buffer_rows=3)
    assert r.diverged.all() and r.nonfinite.all()
    assert list(r.lengths) == [5, 5, 5]
    assert np.all(np.isfinite(r.discounted)) and np.all(np.isfinite(r.buffers.rewards))
    np.testing.assert_allclose(r.undiscounted, r.buffers.rewards[:4].sum(axis=0))
    assert np.all(r.buffers.rewards[4:] == 0)


def test_natural_termination_is_not_divergence():
    problem = problem_from_env("test-point", "zero", horizon=200)
    # u = -K s + b: K = [1, 1] holds the mass near 0; K = 0, b = 1 pushes it out of |x| < 3
    pts = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    backend = _plugin_backend("test-point", 2, horizon=200)
    r = backend.run(Rows(mean=BatchedMean(problem.policy.mean, pts), seeds=[0, 0]), horizon=200, gamma=0.99)
    assert r.truncated[0] and r.lengths[0] == 200
    assert not r.truncated[1] and r.lengths[1] < 200 and not r.diverged.any()
    assert abs(r.final_obs[1, 0]) > 3


def test_vecenv_and_analytic_backends_agree_with_chunks_and_padding():
    problem = problem_from_env("quadrotor", "reference", horizon=100)
    pts = _points(problem, 7, 0.3, seed=2)
    noise = np.random.default_rng(3).standard_normal((100, 3, 2)) * 0.05
    rows = Rows(mean=BatchedMean(problem.policy.mean, pts), seeds=np.tile(np.arange(3), 7),
                param_index=np.repeat(np.arange(7), 3), options=problem.eval_options, noise=noise,
                noise_index=np.tile(np.arange(3), 7))
    analytic = make_backend("quadrotor", {}, horizon=100)
    generic = _plugin_backend("quadrotor", 6, horizon=100)  # 21 rows in 4 chunks of 6 (the last padded)
    assert isinstance(analytic, AnalyticBackend) and isinstance(generic, VecEnvBackend)
    a = analytic.run(rows, horizon=100, gamma=0.99)
    b = generic.run(rows, horizon=100, gamma=0.99)
    for name in ("discounted", "undiscounted", "lengths", "diverged", "final_obs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    generic.close()
    with pytest.raises(ValueError, match="do not fit one batch"):
        _plugin_backend("quadrotor", 6).run(rows, horizon=100, gamma=0.99, buffer_rows=3)


def test_lockstep_segments_are_one_batch_of_rows():
    problem = problem_from_env("test-point", "zero", horizon=40)
    a, b = make_vec_env("test-point", 3, max_episode_steps=40), make_vec_env("test-point", 1, max_episode_steps=40)
    seg = backend_for(a, extra=[b])
    one = backend_for(make_vec_env("test-point", 4, max_episode_steps=40))
    rows = Rows(mean=BatchedMean.of_policy(problem.policy), seeds=[5, 6, 7, 8],
                noise=np.random.default_rng(0).standard_normal((40, 3, 1)))
    r1, r2 = seg.run(rows, horizon=40, gamma=0.99), one.run(rows, horizon=40, gamma=0.99)
    np.testing.assert_array_equal(r1.discounted, r2.discounted)
    # fewer rows than copies: padded, the same numbers for the rows given
    few = seg.run(Rows(mean=rows.mean, seeds=[5, 6], noise=rows.noise[:, :2]), horizon=40, gamma=0.99)
    np.testing.assert_array_equal(few.discounted, r1.discounted[:2])
    with pytest.raises(ValueError, match="at most 4 rows"):
        seg.run(Rows(mean=rows.mean, seeds=[1, 2, 3, 4, 5]), horizon=40, gamma=0.99)


def test_a_step_hook_stops_the_rollout():
    problem = problem_from_env("double-pendulum", "reference", horizon=100)
    backend = make_backend("double-pendulum", {}, horizon=100)
    seen = []
    r = backend.run(Rows(mean=BatchedMean.of_policy(problem.policy), seeds=[0, 1]), horizon=100, gamma=0.99,
                    on_step=lambda t: seen.append(t) or t < 9)
    assert r.stopped and r.steps == 10 and seen == list(range(10))


def test_first_actions_and_bad_rows():
    problem = problem_from_env("double-pendulum", "reference", horizon=20)
    mean = BatchedMean.of_policy(problem.policy)
    backend = make_backend("double-pendulum", {}, horizon=20)
    first = np.array([[10.0, -10.0], [0.0, 0.0]])
    r = backend.run(Rows(mean=mean, seeds=[0, 0], first_actions=first, options=problem.eval_options), horizon=20,
                    gamma=0.99, buffer_rows=2)
    np.testing.assert_array_equal(r.buffers.actions[0], first)
    with pytest.raises(ValueError, match="parameter sets"):
        Rows(mean=BatchedMean(problem.policy.mean, np.zeros((3, problem.centre.size))), seeds=[0, 1])
    with pytest.raises(ValueError, match="noise streams"):
        Rows(mean=mean, seeds=[0], noise=np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match="reset options"):
        Rows(mean=mean, seeds=[0, 1], options=[None])
    with pytest.raises(ValueError, match="horizon"):
        backend.run(Rows(mean=mean, seeds=[0]), horizon=0, gamma=0.9)
    with pytest.raises(ValueError, match="gamma"):
        backend.run(Rows(mean=mean, seeds=[0]), horizon=5, gamma=1.5)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
@pytest.mark.parametrize("n_sets,n_rows", [(1, 1), (1, 33), (33, 33), (1, ROWS_TRANSPOSED - 1), (1, ROWS_TRANSPOSED),
                                           (ROWS_TRANSPOSED, ROWS_TRANSPOSED), (1088, 1088)])
def test_the_transposed_mean_is_the_term_by_term_sum_bit_for_bit(kind, n_sets, n_rows):
    """BatchedMean's rows-last layout (its path from ROWS_TRANSPOSED rows on) gives the bits of the plain
    term-by-term sums (``_matvec``: products rounded once, added in index order), whatever the rows and sets."""
    from mollirl.rollout.mean import _forward, _matvec

    problem = problem_from_env("double-pendulum", "random", policy=kind)
    rng = np.random.default_rng(n_rows)
    pts = problem.centre + rng.standard_normal((n_sets, problem.centre.size))
    obs = 3.0 * rng.standard_normal((n_rows, 4))
    mean = BatchedMean(problem.policy.mean, pts)
    ref, _ = _forward(kind, mean.params, obs, _matvec)  # the plain layout, rows first
    got = mean(obs)
    assert got.flags.c_contiguous and got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def test_concat_rows_writes_the_noise_into_a_reused_array():
    from mollirl.rollout import concat_rows

    problem = problem_from_env("double-pendulum", "reference")
    rng = np.random.default_rng(0)
    parts = [(Rows(mean=BatchedMean.of_policy(problem.policy), seeds=np.arange(4), noise=rng.standard_normal((9, 3, 2))),
              3) for _ in range(3)]
    fresh, _, _ = concat_rows(parts)
    out = np.full((9, 9, 2), np.nan)
    reused, _, _ = concat_rows(parts, noise_out=out)
    assert reused.noise is out  # written in place
    np.testing.assert_array_equal(out, fresh.noise)
    np.testing.assert_array_equal(out[:, 3:6], parts[1][0].noise)
    other, _, _ = concat_rows(parts, noise_out=np.empty((9, 8, 2)))  # does not fit: a new array
    np.testing.assert_array_equal(other.noise, fresh.noise)


def test_reused_buffers_hold_zeros_after_every_rows_end():
    """Buffers reused from a rollout whose rows all ran to the horizon: the next rollout's rows that diverge
    hold zeros (and alive False) after their end, and its other rows the same values as in fresh buffers."""
    problem = problem_from_env("double-pendulum", "reference", horizon=200, env_kwargs={"divergence_threshold": 1.0})
    backend = make_backend("double-pendulum", problem.rollout_kwargs(), horizon=200)
    calm = Rows(mean=BatchedMean(problem.policy.mean, _points(problem, 6, 0.0)), seeds=np.zeros(6),
                options=problem.eval_options)
    wild = Rows(mean=BatchedMean(problem.policy.mean, _points(problem, 6, 3.0)), seeds=np.zeros(6),
                options=problem.eval_options)
    first = backend.run(calm, horizon=200, gamma=0.99, buffer_rows=6)
    assert not first.diverged.any() and np.all(first.buffers.obs[-1] != 0)
    reused = backend.run(wild, horizon=200, gamma=0.99, buffer_rows=6, buffers=first.buffers)
    fresh = backend.run(wild, horizon=200, gamma=0.99, buffer_rows=6)
    assert reused.buffers is first.buffers and reused.diverged.any()
    for name in ("obs", "actions", "rewards", "alive", "dones"):
        np.testing.assert_array_equal(getattr(reused.buffers, name), getattr(fresh.buffers, name), err_msg=name)
    d = np.flatnonzero(reused.diverged)[0]
    L = reused.lengths[d]
    assert np.all(reused.buffers.obs[L:, d] == 0) and np.all(reused.buffers.actions[L:, d] == 0)
