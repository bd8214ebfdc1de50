"""Directions and grids: filter normalization, axis vectors, random orthonormality, reuse, bad specs, gradient."""

import numpy as np
import pytest

from mollirl.landscape import Directions, evaluate_points, grid_points, make_backend, make_directions, make_grid
from mollirl.landscape.directions import filter_normalize, parse_direction_spec, split_spec
from mollirl.landscape.gradient import policy_gradient
from mollirl.landscape.problem import problem_from_env


def _make(problem, spec, dims=2, seed=0, **kwargs):
    return make_directions(spec, dims, centre=problem.centre, labels=problem.labels, shapes=problem.shapes,
                           seed=seed, **kwargs)


def test_grid_points_layout():
    grid = make_grid(5, 2.0, 2)
    assert grid.shape == (5, 5) and grid.spacing == (1.0, 1.0) and grid.centre_index() == (2, 2)
    np.testing.assert_array_equal(grid.axes[0], [-2, -1, 0, 1, 2])
    centre, dirs = np.array([1.0, 2.0, 3.0]), np.array([[1.0, 0, 0], [0, 0, 1.0]])
    pts = grid_points(centre, dirs, grid)
    assert pts.shape == (25, 3)
    np.testing.assert_array_equal(pts.reshape(5, 5, 3)[4, 1], [3.0, 2.0, 2.0])  # (a_4, b_1) = (2, -1)
    with pytest.raises(ValueError, match="grid must be an integer >= 3"):
        make_grid(2, 1.0)
    with pytest.raises(ValueError, match="radius must be a finite number > 0"):
        make_grid(5, -1.0)
    with pytest.raises(ValueError, match="dims must be 1 or 2"):
        make_grid(5, 1.0, 3)


def test_random_directions_are_orthonormal_and_seeded(pendulum):
    d = _make(pendulum, "random", seed=3)
    np.testing.assert_allclose(d.vectors @ d.vectors.T, np.eye(2), atol=1e-12)
    np.testing.assert_array_equal(d.vectors, _make(pendulum, "random", seed=3).vectors)
    assert not np.allclose(d.vectors, _make(pendulum, "random", seed=4).vectors)
    assert d.kinds == ("random", "random")


def test_filter_normalization_matches_centre_row_norms():
    problem = problem_from_env("hopper-stand", "random", seed=0)  # MLP: W1 (16, 11), W2 (3, 16), no biases
    d = _make(problem, "filter", seed=1)
    offset = 0
    for (name, p), shape in zip(problem.policy.mean_named_parameters(), problem.shapes):
        size = int(np.prod(shape))
        for v in d.vectors:
            rows = v[offset: offset + size].reshape(shape[0], -1)
            centre_rows = problem.centre[offset: offset + size].reshape(shape[0], -1)
            np.testing.assert_allclose(np.linalg.norm(rows, axis=1), np.linalg.norm(centre_rows, axis=1), rtol=1e-9)
        offset += size
    # biases (1-D parameters) get no component, as in Li et al.'s default
    shapes = [(2, 3), (2,)]
    out = filter_normalize(np.ones(8), np.array([3.0, 0, 4, 0, 0, 1, 7, 7]), shapes)
    np.testing.assert_allclose(out[:6].reshape(2, 3), [[5 / np.sqrt(3)] * 3, [1 / np.sqrt(3)] * 3])
    np.testing.assert_array_equal(out[6:], [0.0, 0.0])


def test_axis_directions_are_unit_vectors_on_named_parameters(pendulum):
    d = _make(pendulum, "K[0,3], K[1,0]")  # the double pendulum's preset is u = -K s (no bias)
    labels = pendulum.labels
    assert d.kinds == ("axis:K[0,3]", "axis:K[1,0]")
    for v, name in zip(d.vectors, ("K[0,3]", "K[1,0]")):
        assert np.linalg.norm(v) == 1.0 and v[labels.index(name)] == 1.0
    assert _make(pendulum, "axis:K[0;3]+K[1,0]").kinds == d.kinds  # the --callback friendly spelling
    assert parse_direction_spec("K[1,2]", 1, labels) == ["axis:K[1,2]"]
    quad = problem_from_env("quadrotor", "reference")  # a policy with a bias: b[i] names an axis too
    b = _make(quad, "b[1]", dims=1)
    assert b.kinds == ("axis:b[1]",) and b.vectors[0][quad.labels.index("b[1]")] == 1.0
    with pytest.raises(ValueError, match="unknown parameter 'b\\[0\\]'"):
        _make(pendulum, "b[0]", dims=1)


@pytest.mark.parametrize("spec,match", [
    ("randm", "unknown direction 'randm'.*did you mean 'random'"),
    ("K[0,9]", "unknown parameter 'K\\[0,9\\]'.*did you mean"),
    ("W1[0,0]", "unknown parameter"),
    ("K[0,0]", "2-D slice needs two parameter names"),
    ("random,random,random", "3 directions for a 2-D slice"),
    ("K[0,0],K[0,0]", "linearly dependent"),
    ("random,,filter", "empty item"),
])
def test_bad_direction_specs(pendulum, spec, match):
    with pytest.raises(ValueError, match=match):
        _make(pendulum, spec)


def test_split_spec_keeps_indices_together():
    assert split_spec("K[0,4],b[0]") == ["K[0,4]", "b[0]"]
    assert split_spec("gradient+random") == ["gradient", "random"]


def test_directions_reused_from_npz_are_identical(pendulum, tmp_path):
    d = _make(pendulum, "random", seed=7)
    path = d.save(tmp_path / "dirs.npz")
    again = _make(pendulum, str(path), seed=123)  # the seed of a loaded file does not matter
    np.testing.assert_array_equal(again.vectors, d.vectors)
    assert again.kinds == d.kinds and again.seed == 7
    with pytest.raises(ValueError, match="holds 2 directions"):
        _make(pendulum, str(path), dims=1)
    quad = problem_from_env("quadrotor", "reference")
    with pytest.raises(ValueError, match="directions are for 8 parameters"):
        _make(quad, str(path))
    with pytest.raises(ValueError, match="cannot read directions"):
        Directions.load(tmp_path / "missing.npz")


def test_gradient_direction_points_uphill():
    problem = problem_from_env("double-pendulum", "reference", horizon=50)
    d = _make(problem, "gradient", gradient_fn=lambda: policy_gradient(problem, episodes=32, seed=0))
    assert d.kinds == ("gradient", "random")
    np.testing.assert_allclose(d.vectors @ d.vectors.T, np.eye(2), atol=1e-12)
    u, c = d.vectors[0], problem.centre
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=50)
    j = evaluate_points(backend, problem.policy.mean, np.stack([c + 0.5 * u, c - 0.5 * u]), mode="sigma",
                        sigma=problem.sigma, episodes=128, seed=1, horizon=50, gamma=problem.gamma)
    assert j.values[0] > j.values[1] + 10 * j.stderr.max()
