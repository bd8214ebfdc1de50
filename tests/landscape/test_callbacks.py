"""The snapshot callbacks through a tiny ``python -m mollirl.train`` run."""

import numpy as np
import pytest

from mollirl.landscape import load_landscape
from mollirl.train import main as train_main

TINY = ["--horizon", "20", "--batch-episodes", "2", "--epochs", "2", "--no-progress", "--seed", "3"]


def _run(tmp_path, *callbacks, env="double-pendulum", extra=()):
    argv = ["--env", env, "-f", str(tmp_path), *TINY, *extra]
    for cb in callbacks:
        argv += ["--callback", cb]
    assert train_main(argv) == 0
    (run,) = sorted(p for p in tmp_path.glob("*/*") if p.is_dir())
    return run


def test_landscape_and_q_callbacks_write_npz_png_and_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _run(tmp_path, "landscape:every=1,grid=5,dims=2,episodes=3", "q-landscape:every=2,grid=5")
    folder = run / "landscapes"
    assert sorted(p.name for p in folder.glob("epoch_*")) == [
        f"epoch_000{k}.{ext}" for k in range(3) for ext in ("npz", "png")]
    assert sorted(p.name for p in (folder / "q").glob("epoch_*.npz")) == ["epoch_0000.npz", "epoch_0002.npz"]
    assert (folder / "directions.npz").is_file()
    lands = [load_landscape(folder / f"epoch_000{k}.npz") for k in range(3)]
    for k, land in enumerate(lands):
        assert land.modes == ("det", "sigma") and land.values.shape == (2, 5, 5)
        assert land.metadata["epoch"] == k and land.horizon == 20 and land.episodes == 3
        np.testing.assert_array_equal(land.directions.vectors, lands[0].directions.vectors)  # fixed directions
    assert not np.array_equal(lands[0].centre, lands[2].centre)  # the policy moved
    from mollirl.algos.reinforce import REINFORCE

    final = REINFORCE.load(run / "model.zip").policy.get_mean_vector()
    np.testing.assert_array_equal(lands[2].centre, final)  # the last snapshot is theta_K
    # centre J equals train/J_det of the same epoch (same policy, same evaluation start and discount)
    import csv

    rows = list(csv.DictReader((run / "metrics.csv").open()))
    for land, row in zip(lands, rows):
        assert land.value("det")[2, 2] == pytest.approx(float(row["J_det"]), rel=1e-9)
    acc = EventAccumulator(str(run), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    assert {"landscape/image", "q_landscape/image"} <= set(acc.Tags()["images"])
    scalars = set(acc.Tags()["scalars"])
    for tag in ("landscape/holder", "landscape/hf_energy", "landscape/J_range", "landscape/holder_sigma",
                "landscape/points_per_second", "q_landscape/holder", "q_landscape/Q_range"):
        assert tag in scalars, tag
    assert len(acc.Scalars("landscape/J_range")) == 3
    # beside each exponent its range and interval; a 5-point grid has none, so they are NaN, not made up
    for tag in ("landscape/holder_h_min", "landscape/holder_h_max", "landscape/holder_low",
                "landscape/holder_high", "landscape/holder_h_min_sigma", "q_landscape/holder_h_max"):
        assert tag in scalars, tag
    assert np.isnan(acc.Scalars("landscape/holder")[0].value) and np.isnan(acc.Scalars("landscape/hf_energy")[0].value)
    assert lands[0].metadata["summary"]["det"]["holder_status"] == "no scaling range"
    assert lands[0].metadata["summary"]["det"]["hf_status"] == "not resolved"


def test_landscape_callback_logs_the_scaling_range_beside_the_exponent(tmp_path):
    """On 41 points the window finds a decade of lags: exponent, interval and range reach TensorBoard as
    the snapshot's summary holds them, and the hf energy is measured (the grid resolves its band)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _run(tmp_path, "landscape:every=10,grid=41,dims=1,mode=det,png=false")
    land = load_landscape(run / "landscapes" / "epoch_0000.npz")
    s = land.metadata["summary"]["det"]
    assert s["holder_status"] == "ok" and s["hf_status"] == "ok"
    assert s["holder_decades"] == pytest.approx(1.0) and s["holder_low"] <= s["holder"] <= s["holder_high"]
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    for key in ("holder", "holder_low", "holder_high", "holder_h_min", "holder_h_max", "hf_energy"):
        assert acc.Scalars(f"landscape/{key}")[0].value == pytest.approx(s[key], rel=1e-6), key


def test_epoch_snapshots_feed_the_cli(tmp_path, capsys):
    from mollirl.landscape.__main__ import main
    from mollirl.landscape.problem import problem_from_run

    run = _run(tmp_path, "landscape:every=1,grid=3,mode=det,png=false",
               extra=("--policy", "mlp", "--policy-init", "random"))
    snap0 = load_landscape(run / "landscapes" / "epoch_0000.npz")
    # --at initial rebuilds theta_0 from config.yml and the seed: the random MLP init of the run
    np.testing.assert_array_equal(problem_from_run(run, "initial").centre, snap0.centre)
    out = tmp_path / "e1.npz"
    assert main(["--run", str(run), "--at", "epoch:1", "--grid", "3", "--dims", "1", "--mode", "det",
                 "--directions", str(run / "landscapes" / "directions.npz"), "-o", str(out), "--no-png"]) == 0
    snap, cli = load_landscape(run / "landscapes" / "epoch_0001.npz"), load_landscape(out)
    np.testing.assert_array_equal(cli.centre, snap.centre)
    assert "epoch 1" in capsys.readouterr().out


@pytest.mark.parametrize("option,match", [
    ("landscape:grid=2", "grid must be an integer >= 3"),
    ("landscape:radius=0", "radius must be a finite number > 0"),
    ("landscape:directions=K[0;9]", "unknown parameter"),
    ("landscape:mode=sometimes", "mode must be det, sigma, param-sigma, both or all"),
    ("landscape:bogus=1", "bad options for callback 'landscape'"),
    ("q-landscape:action_dims=0;0", "action_dims"),
    ("q-landscape:action_dims=0;5", "action_dims"),
])
def test_bad_callback_options_exit_2(tmp_path, capsys, option, match):
    import re

    argv = ["--env", "double-pendulum", "-f", str(tmp_path), *TINY, "--callback", option]
    assert train_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(match, err[0]), err


@pytest.mark.slow
def test_hopper_snapshot_callback(tmp_path):
    run = _run(tmp_path, "landscape:every=1,grid=3,episodes=2", "q-landscape:every=1,grid=3,action_dims=0;2",
               env="hopper-stand")
    land = load_landscape(run / "landscapes" / "epoch_0002.npz")
    assert land.values.shape == (2, 3) and land.env == "hopper-stand"
    q = load_landscape(run / "landscapes" / "q" / "epoch_0002.npz")
    assert q.action_dims == (0, 2) and q.values.shape == (2, 3, 3)


def test_epoch_snapshot_of_a_learnable_per_dimension_sigma_is_exact(tmp_path):
    """``--at epoch:N`` uses theta_N and sigma_N of the snapshot, per action dimension, not the final sigma."""
    from mollirl.landscape.problem import problem_from_run

    args = ["--env", "double-pendulum", "--horizon", "30", "--batch-episodes", "4", "--epochs", "3", "--no-progress",
            "--learn-sigma", "-params", "policy_kwargs:{sigma_per_dim: true}", "-f", str(tmp_path),
            "--callback", "landscape:every=1,grid=3,dims=1,mode=det,png=false"]
    assert train_main(args) == 0
    run = next((tmp_path / "reinforce").iterdir())
    with np.load(run / "landscapes" / "epoch_0001.npz") as snap:
        sigma_1, centre_1 = np.array(snap["policy_sigma"]), np.array(snap["centre"])
    problem = problem_from_run(run, "epoch:1")
    np.testing.assert_array_equal(problem.sigma, sigma_1)
    np.testing.assert_array_equal(problem.centre, centre_1)
    final = problem_from_run(run, "final")
    assert sigma_1[0] != sigma_1[1]  # learned per dimension
    assert not np.array_equal(final.sigma, sigma_1)
