import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from mollirl.policies import GaussianPolicy
from mollirl.sigma import parse_sigma_schedule

OBS = spaces.Box(-1e8, 1e8, (4,), np.float64)
ACT = spaces.Box(-10, 10, (2,), np.float64)


def make(**kw):
    return GaussianPolicy(OBS, ACT, lambda _: 1e-3, **kw)


def test_fixed_sigma_is_a_buffer_outside_every_optimizer():
    p = make(sigma=0.3, sigma_mode="fixed", critic=True)
    names = [n for n, _ in p.named_parameters()]
    assert "log_std" not in names
    assert "log_std" in dict(p.named_buffers())
    opt_params = {id(q) for g in p.optimizer.param_groups for q in g["params"]}
    assert id(p.log_std) not in opt_params
    np.testing.assert_allclose(p.sigma, [0.3, 0.3])


def test_learnable_sigma_scalar_and_per_dim():
    p = make(sigma=0.5, sigma_mode="learnable")
    assert dict(p.named_parameters())["log_std"].shape == (1,)
    q = make(sigma=0.5, sigma_mode="learnable", sigma_per_dim=True)
    assert dict(q.named_parameters())["log_std"].shape == (2,)
    with pytest.raises(ValueError, match="learnable"):
        q.set_sigma(0.2)


def test_linear_mean_and_deterministic_action():
    K = np.array([[1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 4.0]])
    b = np.array([0.5, -0.5])
    p = make(mean_init={"K": K, "b": b})
    s = np.array([[0.1, 0.2, 0.3, 0.4]])
    act, _ = p.predict(s, deterministic=True)
    np.testing.assert_allclose(act[0], -K @ s[0] + b)


def test_log_prob_on_unclipped_sample():
    p = make(sigma=1.0)
    obs = th.zeros(1, 4, dtype=th.float64)
    a = th.tensor([[25.0, -30.0]], dtype=th.float64)  # far outside the saturation box
    _, logp, _ = p.evaluate_actions(obs, a)
    expected = th.distributions.Normal(th.zeros(2, dtype=th.float64), 1.0).log_prob(a[0]).sum()
    assert logp.item() == pytest.approx(expected.item())


def test_mlp_mean_no_bias_and_flat_vector_roundtrip():
    p = make(mean_net="mlp", hidden=16, bias=False)
    labels = p.mean_parameter_labels()
    assert len(labels) == 16 * 4 + 2 * 16 and labels[0] == "W1[0,0]"
    v = np.arange(len(labels), dtype=float) / 100
    p.set_mean_vector(v)
    np.testing.assert_array_equal(p.get_mean_vector(), v)
    with pytest.raises(ValueError, match="shape"):
        p.set_mean_vector(v[:-1])


def test_bad_sigma_rejected():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="sigma"):
            make(sigma=bad)


@pytest.mark.parametrize(
    "spec,first,last",
    [("linear:1:0.1", 1.0, 0.1), ("exp:1:0.01", 1.0, 0.01), ("cosine:2:0.5", 2.0, 0.5), ("constant:0.3", 0.3, 0.3)],
)
def test_sigma_schedules(spec, first, last):
    sch = parse_sigma_schedule(spec, 0.1)
    assert sch(0, 11) == pytest.approx(first)
    assert sch(10, 11) == pytest.approx(last)
    mid = sch(5, 11)
    assert min(first, last) <= mid <= max(first, last)
    if spec.startswith("exp"):
        assert mid == pytest.approx(0.1)  # geometric midpoint of 1 and 0.01


@pytest.mark.parametrize("bad", ["linear:1", "exp:0:1", "warp:1:2", "cosine:1:-1"])
def test_bad_schedules(bad):
    with pytest.raises(ValueError):
        parse_sigma_schedule(bad, 0.1)
