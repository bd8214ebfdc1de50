"""What SB3's and rl-zoo3's own tools read in a run folder (issue 24, item 2): ``train.monitor.csv`` in
Monitor's format, read by SB3's own ``load_results`` / ``plot_results`` (and rl-zoo3's ``plot_train`` when
installed), and SB3's ``time/*`` scalars in ``progress.csv``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from suite import ALGOS, CONTRACT_PLUGIN, tiny_args

from mollirl.train import main as train_main
from mollirl.training.metrics import read_metrics

pandas = pytest.importorskip("pandas")
from stable_baselines3.common.monitor import get_monitor_files, load_results  # noqa: E402


def _run(folder, algo="reinforce"):
    (run,) = (folder / algo).iterdir()
    return run


@pytest.mark.parametrize("algo", ALGOS)
def test_load_results_reads_one_row_per_training_episode(tmp_path, algo):
    assert train_main(tiny_args("double-pendulum", algo) + ["-f", str(tmp_path)]) == 0
    run = _run(tmp_path, algo)
    assert [p.endswith("train.monitor.csv") for p in get_monitor_files(str(run))] == [True]
    first = (run / "train.monitor.csv").read_text().splitlines()[0]
    header = json.loads(first[1:])
    assert first.startswith("#") and set(header) == {"t_start", "env_id"}
    assert header["env_id"] == "mollirl/DoublePendulum-v0"
    frame = load_results(str(run))
    rows = read_metrics(run / "metrics.csv")[:-1]  # the epochs (the last row is the final policy's)
    per_epoch = len(frame) // len(rows)
    assert len(frame) == per_epoch * len(rows) and per_epoch == 4  # --batch-episodes 4 (ARS: 2 n_delta)
    r = frame["r"].to_numpy().reshape(len(rows), per_epoch)
    assert np.allclose(r.mean(axis=1), [row["ep_return_mean"] for row in rows], atol=1e-5)  # r rounded to 6
    assert (frame["l"] == 20).all() and np.all(np.diff(frame["t"].to_numpy()) >= 0)


def test_plot_results_draws_the_training_curve(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from stable_baselines3.common.results_plotter import X_TIMESTEPS, plot_results, ts2xy

    assert train_main(tiny_args("double-pendulum", epochs=4) + ["-f", str(tmp_path)]) == 0
    run = _run(tmp_path)
    x, y = ts2xy(load_results(str(run)), X_TIMESTEPS)
    assert x.size == 16 and x[-1] == 4 * 4 * 20  # cumulative env steps of the episodes: the run's timesteps
    plot_results([str(run)], None, X_TIMESTEPS, "double-pendulum")
    points = plt.gcf().axes[0].collections  # SB3 scatters every episode (and adds a line from 100 episodes on)
    assert points and len(points[0].get_offsets()) == 16
    plt.close("all")


def test_rl_zoo3_plot_train_finds_the_run(tmp_path, monkeypatch):
    plots = pytest.importorskip("rl_zoo3.plots.plot_train")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    assert train_main(tiny_args("double-pendulum", epochs=4) + ["-f", str(tmp_path)]) == 0
    monkeypatch.setattr(plt, "show", lambda: None)
    monkeypatch.setattr("sys.argv", ["plot_train", "-a", "reinforce", "-e", "double-pendulum", "-f", str(tmp_path),
                                     "-w", "4"])
    plots.plot_train()
    assert any(len(line.get_xdata()) for ax in plt.gcf().axes for line in ax.lines)
    plt.close("all")


def test_progress_csv_has_sb3s_time_scalars(tmp_path):
    assert train_main(tiny_args("double-pendulum", epochs=3) + ["-f", str(tmp_path)]) == 0
    with (_run(tmp_path) / "progress.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    epochs = [r for r in rows if r["time/iterations"]]
    assert [int(r["time/iterations"]) for r in epochs] == [1, 2, 3]
    assert [int(r["time/total_timesteps"]) for r in epochs] == [80, 160, 240]
    assert all(int(r["time/time_elapsed"]) >= 0 and int(r["time/fps"]) > 0 for r in epochs)
    assert [float(r["train/epoch"]) for r in rows] == [0, 1, 2, 3]  # and the final policy's row


def test_resumed_run_has_the_uninterrupted_runs_episodes(tmp_path):
    args = tiny_args("test-point", epochs=4)
    assert train_main(args + ["-f", str(tmp_path / "full")]) == 0
    assert train_main(args + ["-f", str(tmp_path / "cut"), "--callback", "signal-at:epoch=2"]) == 130
    cut = _run(tmp_path / "cut")
    assert len(load_results(str(cut))) == 2 * 4  # epochs 0 and 1 (epoch 2 was stopped: not a row)
    assert train_main(["--resume", str(cut), "--no-progress"]) == 0
    full, resumed = load_results(str(_run(tmp_path / "full"))), load_results(str(cut))
    assert full[["r", "l"]].equals(resumed[["r", "l"]])
    with (cut / "progress.csv").open() as fh:
        assert [float(r["train/epoch"]) for r in csv.DictReader(fh)] == [0, 1, 2, 3, 4]


def test_every_population_member_has_its_own(tmp_path):
    assert train_main(tiny_args("double-pendulum") + ["--seeds", "2", "--sigma", "0.1,0.5", "-f", str(tmp_path)]) == 0
    pop = _run(tmp_path)
    members = [p for p in pop.iterdir() if p.is_dir()]
    assert len(members) == 4
    for member in members:
        assert len(load_results(str(member))) == 3 * 4 and (member / "progress.csv").is_file()
    # members' episodes are their own: the rows differ between sigmas
    frames = {m.name: load_results(str(m))["r"].to_numpy() for m in members}
    assert len({tuple(v) for v in frames.values()}) == 4


def test_plugin_env_id_in_the_header(tmp_path):
    assert train_main(tiny_args("test-point") + ["-f", str(tmp_path), "--plugin", CONTRACT_PLUGIN]) == 0
    header = json.loads((_run(tmp_path) / "train.monitor.csv").read_text().splitlines()[0][1:])
    from mollirl import registry

    assert header["env_id"] == registry.get("envs", "test-point").gym_id
