"""``python -m mollirl.landscape``: output, summary, bad input (one line, exit 2, nothing written)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mollirl.landscape import load_landscape
from mollirl.landscape.__main__ import main


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from mollirl.train import main as train_main

    tmp_path = tmp_path_factory.mktemp("cli")
    assert train_main(["--env", "quadrotor", "-f", str(tmp_path / "runs"), "--horizon", "20", "--batch-episodes",
                       "2", "--epochs", "2", "--no-progress"]) == 0
    return tmp_path / "runs" / "reinforce" / "quadrotor_1"


def test_env_reference_writes_npz_png_and_prints_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--env", "quadrotor", "--center", "reference", "--grid", "7", "--radius", "0.3", "--horizon", "200",
                 "--episodes", "4"]) == 0
    out = capsys.readouterr().out
    assert {p.name for p in _files(tmp_path)} == {"landscape_quadrotor_reference.npz",
                                                  "landscape_quadrotor_reference.png"}
    for text in ("det", "sigma", "holder", "hf_energy", "points/s", "wrote"):
        assert text in out, text
    land = load_landscape(tmp_path / "landscape_quadrotor_reference.npz")
    assert land.values.shape == (2, 7, 7) and np.argmax(land.value("det")) == 24  # the spike at the centre


def test_run_final_initial_and_q(run_dir, capsys):
    from mollirl.algos.reinforce import REINFORCE

    assert main(["--run", str(run_dir), "--grid", "3", "--dims", "1", "--mode", "det", "--no-png"]) == 0
    final = load_landscape(run_dir / "landscapes" / "at_final.npz")
    np.testing.assert_array_equal(final.centre, REINFORCE.load(run_dir / "model.zip").policy.get_mean_vector())
    assert main(["--run", str(run_dir), "--at", "initial", "--grid", "3", "--dims", "1", "--no-png"]) == 0
    initial = load_landscape(run_dir / "landscapes" / "at_initial.npz")
    from mollirl.landscape.problem import problem_from_env

    np.testing.assert_allclose(initial.centre, problem_from_env("quadrotor", "reference").centre)
    assert main(["--run", str(run_dir), "--q-landscape", "--grid", "5", "--no-png"]) == 0
    q = load_landscape(run_dir / "landscapes" / "q_at_final.npz")
    assert q.kind == "q" and q.values.shape == (2, 5, 5)
    assert "Q-landscape" in capsys.readouterr().out


def _bad_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    no_model = tmp_path / "no_model"
    no_model.mkdir()
    (no_model / "config.yml").write_text(yaml.safe_dump({"env": "quadrotor", "horizon": 20}))
    return [
        (["--env", "quadrotor", "--radius", "0"], "radius must be a finite number > 0"),
        (["--env", "quadrotor", "--radius", "-1"], "radius must be a finite number > 0"),
        (["--env", "quadrotor", "--grid", "2"], "grid must be an integer >= 3"),
        (["--env", "quadrotor", "--directions", "randm"], "unknown direction 'randm'.*did you mean 'random'"),
        (["--env", "quadrotor", "--directions", "K[0,9],b[0]"], "unknown parameter 'K\\[0,9\\]'.*did you mean"),
        (["--env", "quadrotor", "--sigma", "0"], "--sigma must be a finite number > 0"),
        (["--env", "quadrotor", "--mode", "sigma", "--sigma", "-0.1"], "--sigma must be a finite number > 0"),
        (["--run", str(no_model)], "has no model"),
        (["--run", str(tmp_path)], "not a run folder"),
        (["--env", "quadrotr"], "unknown env 'quadrotr'.*did you mean 'quadrotor'"),
        (["--env", "hopper-stand", "--center", "reference"], "no reference policy"),
        (["--env", "quadrotor", "--dims", "3"], "dims must be 1 or 2"),
        (["--env", "quadrotor", "--run", str(no_model)], "exactly one of --run"),
        (["--env", "quadrotor", "--mode", "often"], "invalid choice"),
    ]


def test_bad_input_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys):
    import re

    cases = _bad_cases(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _files(tmp_path)
    for argv, match in cases:
        assert main([*argv, "-o", str(tmp_path / "out.npz")]) == 2, argv
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("python -m mollirl.landscape: error:"), (argv, err)
        assert re.search(match, err[0]), (argv, err[0])
        assert captured.out == ""
        assert _files(tmp_path) == before, argv


def test_run_without_requested_epoch_lists_available(run_dir, capsys):
    before = _files(run_dir)
    assert main(["--run", str(run_dir), "--at", "epoch:1"]) == 2
    err = capsys.readouterr().err
    assert "available epochs: [0, 2]" in err and len(err.strip().splitlines()) == 1
    assert _files(run_dir) == before


def test_real_subprocess(tmp_path):
    out = tmp_path / "dp.npz"
    proc = subprocess.run(
        [sys.executable, "-m", "mollirl.landscape", "--env", "double-pendulum", "--grid", "5", "--horizon", "50",
         "--episodes", "2", "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "points/s" in proc.stdout and out.is_file() and out.with_suffix(".png").is_file()
    bad = subprocess.run([sys.executable, "-m", "mollirl.landscape", "--env", "double-pendulum", "--grid", "1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_a_plugin_env_whose_reward_turns_nan_is_masked_and_counted(tmp_path, capsys):
    """Every rollout of the test plugin's ``test-nan`` ends on a NaN reward: finite values, all masked."""
    from suite import CONTRACT_PLUGIN

    out = tmp_path / "nan.npz"
    assert main(["--env", "test-nan", "--center", "zero", "--grid", "3", "--horizon", "20", "--plugin",
                 CONTRACT_PLUGIN, "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    land = load_landscape(out)
    assert land.mask.all() and np.isfinite(land.values).all()
    assert land.metadata["summary"]["det"]["masked_fraction"] == 1.0
    det_line = next(line for line in printed.splitlines() if line.startswith("det"))
    assert det_line.rstrip().endswith("100.0%")
    assert out.with_suffix(".png").is_file()
