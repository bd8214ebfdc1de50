"""metrics.csv's J_det at epoch k is the landscape's J at theta_k, bit for bit, on the full horizon.

Both are the same row of the rollout core (the noise-free row from the env's evaluation
start, the same element-wise arithmetic), so nothing may be shortened to make them agree.
"""

import numpy as np
import pytest
from suite import CONTRACT_ENVS, CONTRACT_PLUGIN

from mollirl.landscape import compute_landscape, load_landscape, problem_from_run
from mollirl.train import main
from mollirl.training.metrics import read_metrics


@pytest.mark.parametrize("env", CONTRACT_ENVS)
def test_metrics_j_det_equals_landscape_j_at_the_same_theta(tmp_path, env):
    args = ["--env", env, "--horizon", "1000", "--batch-episodes", "2", "--epochs", "2", "--no-progress",
            "--plugin", CONTRACT_PLUGIN, "-f", str(tmp_path),
            "--callback", "landscape:every=1,grid=3,dims=1,mode=det,png=false"]
    assert main(args) == 0
    (run,) = (tmp_path / "reinforce").iterdir()
    rows = read_metrics(run / "metrics.csv")
    assert len(rows) == 3
    for k, row in enumerate(rows):  # the snapshot callback's landscape of theta_k, at its centre
        snap = load_landscape(run / "landscapes" / f"epoch_{k:04d}.npz")
        assert snap.value("det")[1] == row["J_det"], (k, snap.value("det")[1], row["J_det"])
    for at, row in (("initial", rows[0]), ("final", rows[-1])):  # python -m mollirl.landscape --run RUN --at ...
        land = compute_landscape(problem_from_run(run, at), grid=3, dims=1, mode="det", seed=7)
        assert land.value("det")[1] == row["J_det"]
        assert np.isfinite(land.value("det")).all()
