"""TensorBoard and metrics.csv hold the same points; every env's episodes reach SB3's rollout/ tags."""

import math

import pytest
from suite import CONTRACT_ENVS, tiny_args
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mollirl.train import main
from mollirl.training.metrics import METRIC_COLUMNS, read_metrics


def _scalars(run):
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("env", CONTRACT_ENVS)
def test_tensorboard_points_are_the_metrics_rows(tmp_path, env):
    assert main(["-f", str(tmp_path), *tiny_args(env, epochs=3)]) == 0
    (run,) = (tmp_path / "reinforce").iterdir()
    rows = read_metrics(run / "metrics.csv")
    acc = _scalars(run)
    steps_per_epoch = 4 * 20
    # epoch k at x = k * steps_per_epoch (the env steps before its rollout); the final policy a point of its own
    for col in ("J_det", "J_det_undiscounted", "final_state_norm", "sigma", "J_det_diverged"):
        events = acc.Scalars(f"train/{col}")
        assert [e.step for e in events] == [k * steps_per_epoch for k in range(4)], col
        assert [e.value for e in events] == pytest.approx([r[col] for r in rows], rel=1e-6), col
    for col in ("J_sigma", "ep_return_mean", "grad_norm", "diverged_fraction"):  # batch numbers: epochs 0..2
        events = acc.Scalars(f"train/{col}")
        assert [e.step for e in events] == [k * steps_per_epoch for k in range(3)], col
        assert [e.value for e in events] == pytest.approx([r[col] for r in rows[:3]], rel=1e-6), col
        assert math.isnan(rows[3][col])  # the final row has no batch
    # SB3's Monitor-style statistics, for every env (no Monitor wrapper needed)
    rew = acc.Scalars("rollout/ep_rew_mean")
    assert [e.step for e in rew] == [k * steps_per_epoch for k in range(3)]
    assert rew[0].value == pytest.approx(rows[0]["ep_return_mean"], rel=1e-6)  # one epoch: its 4 episodes
    assert all(0 < e.value <= 20 for e in acc.Scalars("rollout/ep_len_mean"))
    assert list(rows[0]) == list(METRIC_COLUMNS)
