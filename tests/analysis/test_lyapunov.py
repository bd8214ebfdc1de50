"""Known answers for mollirl.analysis.lyapunov: linear maps, the logistic map, Prop. 3.1."""

import math

import numpy as np
import pytest

from mollirl.analysis import LyapunovResult, lyapunov_exponent, predicted_holder_exponent


def linear_map(matrix):
    matrix = np.asarray(matrix, dtype=float)
    return lambda states: states @ matrix.T


def test_unstable_diagonal_map_has_log_of_largest_eigenvalue():
    result = lyapunov_exponent(linear_map(np.diag([1.2, 0.5])), [1.0, 1.0], 500, rng=0)
    assert isinstance(result, LyapunovResult)
    assert result.lambda_per_step == pytest.approx(math.log(1.2), abs=1e-6)
    assert np.allclose(result.lambda_per_perturbation, math.log(1.2), atol=1e-6)
    assert result.n_steps_used == 450  # discard defaults to n_steps // 10
    assert result.running.shape == (450,)
    assert result.lambda_per_second is None and result.predicted_holder is None


def test_non_normal_map_uses_eigenvalues_not_singular_values():
    # ||A|| is ~3.1, but the asymptotic growth rate is the spectral radius 0.9
    matrix = np.array([[0.9, 3.0], [0.0, 0.5]])
    result = lyapunov_exponent(linear_map(matrix), [1.0, -1.0], 400, rng=1)
    assert result.lambda_per_step == pytest.approx(math.log(0.9), abs=1e-3)
    assert result.lambda_per_step < 0


def test_stable_map_has_negative_exponent_with_renormalization_every_few_steps():
    rotation = np.array([[math.cos(0.3), -math.sin(0.3)], [math.sin(0.3), math.cos(0.3)]])
    result = lyapunov_exponent(linear_map(0.8 * rotation), [0.5, 0.2], 300, renorm_every=5, discard=0, rng=2)
    assert result.lambda_per_step == pytest.approx(math.log(0.8), abs=1e-9)
    assert result.running.shape == (60,)


def test_logistic_map_at_r4_has_exponent_log_2():
    result = lyapunov_exponent(lambda s: 4.0 * s * (1.0 - s), [0.3], 5000, rng=3, n_perturbations=2)
    assert result.lambda_per_step == pytest.approx(math.log(2.0), abs=0.03)
    # the running estimate settles
    assert abs(result.running[-1] - result.running[len(result.running) // 2]) < 0.05


def test_per_second_and_predicted_holder():
    dt, gamma = 0.1, 0.99
    result = lyapunov_exponent(linear_map(np.diag([1.2, 0.5])), [1.0, 0.0], 200, dt=dt, gamma=gamma, rng=0)
    assert result.lambda_per_second == pytest.approx(math.log(1.2) / dt, rel=1e-6)
    assert result.predicted_holder == pytest.approx(-math.log(gamma) / math.log(1.2), rel=1e-6)


def test_predicted_holder_exponent_follows_prop_3_1():
    gamma = 0.99
    threshold = -math.log(gamma)
    assert predicted_holder_exponent(2 * threshold, gamma) == pytest.approx(0.5)
    assert predicted_holder_exponent(math.log(2.0), gamma) == pytest.approx(threshold / math.log(2.0))
    assert predicted_holder_exponent(threshold, gamma) == 1.0  # not strictly above: Lipschitz
    assert predicted_holder_exponent(-0.3, gamma) == 1.0
    assert predicted_holder_exponent(float("-inf"), gamma) == 1.0
    with pytest.raises(ValueError, match="gamma.*1.0"):
        predicted_holder_exponent(0.5, 1.0)
    with pytest.raises(ValueError, match="nan"):
        predicted_holder_exponent(float("nan"), 0.9)


def test_growing_reference_does_not_lose_the_perturbation():
    # the reference grows like 1.2^k up to ~1e79; a fixed absolute eps would underflow
    result = lyapunov_exponent(linear_map(np.diag([1.2, 1.1])), [1.0, 1.0], 1000, rng=0)
    assert result.lambda_per_step == pytest.approx(math.log(1.2), abs=1e-3)


def test_reference_blow_up_is_reported():
    def explode(states):
        with np.errstate(over="ignore"):
            return states * 1e200

    with pytest.warns(UserWarning, match="non-finite at step"):
        result = lyapunov_exponent(explode, [1.0], 20, discard=0, rng=0)
    assert result.n_steps_used == 1
    assert result.lambda_per_step == pytest.approx(math.log(1e200), rel=1e-9)


def test_collapsing_map_warns_and_gives_minus_infinity():
    with pytest.warns(UserWarning, match="collapsed"):
        result = lyapunov_exponent(lambda s: np.zeros_like(s), [1.0, 2.0], 10, rng=0)
    assert result.lambda_per_step == float("-inf")


def test_seeded_runs_repeat():
    step = lambda s: 4.0 * s * (1.0 - s)  # noqa: E731
    first = lyapunov_exponent(step, [0.3], 200, rng=7)
    second = lyapunov_exponent(step, [0.3], 200, rng=np.random.default_rng(7))
    assert first.lambda_per_step == second.lambda_per_step


def test_lyapunov_exponent_rejects_bad_arguments():
    step = linear_map(np.eye(2))
    with pytest.raises(ValueError, match="same shape"):
        lyapunov_exponent(lambda s: s[:, :1], [1.0, 1.0], 10)
    with pytest.raises(ValueError, match=r"x0.*\(2, 2\)"):
        lyapunov_exponent(step, np.eye(2), 10)
    with pytest.raises(ValueError, match="discard.*10"):
        lyapunov_exponent(step, [1.0, 1.0], 10, discard=10)
    with pytest.raises(ValueError, match="eps.*0"):
        lyapunov_exponent(step, [1.0, 1.0], 10, eps=0.0)
    with pytest.raises(ValueError, match="n_perturbations.*0"):
        lyapunov_exponent(step, [1.0, 1.0], 10, n_perturbations=0)
    with pytest.raises(ValueError, match="renorm_every"):
        lyapunov_exponent(step, [1.0, 1.0], 10, discard=8, renorm_every=5)
    with pytest.raises(ValueError, match="gamma.*1.5"):
        lyapunov_exponent(step, [1.0, 1.0], 10, gamma=1.5)
