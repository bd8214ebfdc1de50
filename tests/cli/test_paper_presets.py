"""Long learning runs with the paper's presets (run with ``python -m pytest -m slow``)."""

import numpy as np
import pytest

from mollirl.train import main


@pytest.mark.slow
def test_default_command_stabilizes_double_pendulum(tmp_path, capsys):
    assert main(["--algo", "reinforce", "-f", str(tmp_path), "--no-progress"]) == 0
    from mollirl.training.metrics import read_metrics

    rows = read_metrics(tmp_path / "reinforce" / "double-pendulum_1" / "metrics.csv")
    initial, final = rows[0], rows[-1]
    assert final["J_det"] > initial["J_det"] + 15  # clearly up (measured: -39.6 -> -11.9)
    assert final["final_state_norm"] < 0.1  # near upright after 10 s
    assert initial["final_state_norm"] > 0.3  # the initial policy drifts away


@pytest.mark.slow
def test_quadrotor_from_theta_star_drops_after_one_epoch(tmp_path):
    """Fig. 8b: training that starts at the optimum theta* loses it after one update."""
    assert main(["--env", "quadrotor", "-f", str(tmp_path), "--no-progress", "--epochs", "5"]) == 0
    from mollirl.training.metrics import read_metrics

    rows = read_metrics(tmp_path / "reinforce" / "quadrotor_1" / "metrics.csv")
    J = np.array([r["J_det"] for r in rows])
    assert J[1] < J[0]
    assert J[1:].max() < J[0]
