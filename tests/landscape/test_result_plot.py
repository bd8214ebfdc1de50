"""Landscape files, summaries and figures (diverged points shown, never NaN)."""

import json

import numpy as np
import pytest

from mollirl.landscape import analyze, compute_landscape, format_summary, load_landscape
from mollirl.landscape.plot import landscape_figure, render_landscape, save_png
from mollirl.landscape.problem import problem_from_env


@pytest.fixture(scope="module")
def land():
    # a low divergence threshold: part of the grid diverges and must stay visible
    problem = problem_from_env("double-pendulum", "reference", horizon=100, env_kwargs={"divergence_threshold": 1.0})
    return compute_landscape(problem, grid=7, dims=2, radius=3.0, mode="both", episodes=4, seed=2)


def test_npz_round_trip_and_fields(land, tmp_path):
    path = land.save(tmp_path / "l.npz")
    with np.load(path, allow_pickle=False) as data:
        for key in ("axes", "values", "mask", "directions", "centre", "mode", "sigma", "seed", "metadata",
                    "stderr", "labels", "modes", "episodes", "horizon", "gamma"):
            assert key in data.files, key
        assert str(data["mode"]) == "both" and data["values"].shape == (2, 7, 7)
        meta = json.loads(str(data["metadata"]))
    assert meta["summary"]["det"]["masked_fraction"] == pytest.approx(land.mask[0].mean())
    again = load_landscape(path)
    np.testing.assert_array_equal(again.values, land.values)
    np.testing.assert_array_equal(again.mask, land.mask)
    np.testing.assert_array_equal(again.directions.vectors, land.directions.vectors)
    assert again.modes == ("det", "sigma") and again.seed == 2


def test_diverged_points_are_masked_not_nan(land):
    assert land.mask[0].any() and not land.mask[0].all()
    assert np.all(np.isfinite(land.values))
    assert np.all(np.isnan(land.stderr[0])) and np.all(land.stderr[1] >= 0)


def test_summary_scalars(land):
    s = land.metadata["summary"]
    for mode in ("det", "sigma"):
        # a 7-point grid: lags of 1 to 2 steps (0.3 decades) hold no scaling range, and its Nyquist
        # frequency (3 cycles per window) does not reach the hf band (5): both say so instead of a number
        assert np.isnan(s[mode]["holder"]) and s[mode]["holder_status"] == "no scaling range"
        assert "0.30 decades" in s[mode]["holder_reason"] and "at least 40 points" in s[mode]["holder_reason"]
        assert np.isnan(s[mode]["hf_energy"]) and s[mode]["hf_status"] == "not resolved"
        assert "at least 11 points" in s[mode]["hf_reason"]
        assert s[mode]["J_range"] >= 0
    text = format_summary(land, s)
    assert "no scaling range" in text and "grid too coarse" in text and "at least 11 points" in text
    # analyze on a known surface: a smooth bowl is one scaling range over its whole decade of lags, nearly
    # Lipschitz, with little high-frequency energy. Not exactly 1: the mean increment of -x^2 bends as the
    # lag grows towards a quarter of the window (local slope 0.96 at lags 0.05 .. 0.1, 0.72 at 0.4 .. 0.5),
    # so the decade reads 0.894; 0.85 leaves room for that curvature and nothing else. Its detrended energy
    # lies at 1-2 cycles per window; about 2% (0.021) of the band's lies above 2 (the 2-D modes (1, 2)).
    x = np.linspace(-1, 1, 41)
    bowl = -np.add.outer(x**2, x**2)
    out = analyze(bowl, np.zeros_like(bowl, bool), (0.05, 0.05))
    assert 0.85 < out["holder"] <= 1.0 and out["hf_energy"] < 0.05 and out["J_range"] == pytest.approx(2.0)
    assert out["holder_status"] == "ok" and out["hf_status"] == "ok"
    assert out["holder_low"] <= out["holder"] <= out["holder_high"]
    assert out["holder_h_min"] == pytest.approx(0.05) and out["holder_h_max"] == pytest.approx(0.5)
    assert out["holder_decades"] == pytest.approx(1.0) and len(out["holder_ranges"]) == 1
    json.dumps(out)  # the summary goes into the npz's JSON metadata


def test_figure_draws_both_modes_and_flags_diverged(land, tmp_path):
    fig = landscape_figure(land)
    axes = fig.get_axes()
    titles = " ".join(a.get_title() for a in axes)
    assert "deterministic" in titles and "J_sigma" in titles
    # each mode's numbers, or why there is none
    assert titles.count("Hölder no scaling range") == 2 and titles.count("grid too coarse") == 2
    labels = [t.get_text() for a in axes if a.get_legend() for t in a.get_legend().get_texts()]
    assert any(t.startswith("diverged") for t in labels)
    rgb = render_landscape(land)
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    save_png(land, tmp_path / "l.png")
    assert (tmp_path / "l.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_dimensional_figure(tmp_path):
    problem = problem_from_env("quadrotor", "reference", horizon=50)
    land = compute_landscape(problem, grid=5, dims=1, radius=0.2, mode="sigma", episodes=3)
    assert land.values.shape == (1, 5) and land.mode == "sigma"
    save_png(land, tmp_path / "one.png")
