"""The objective's math, the automatic batch rule and the per-epoch reports, with known answers."""

import dataclasses
import math

import numpy as np
import pytest

from mollirl.studies.objective import (
    AUTO_MAX, AUTO_ROWS, batch_size, final_return, intermediate_value, mean_std, return_spread,
)
from mollirl.studies.spec import StudySpec, sigma_dim
from mollirl.config import RunConfig


def test_final_return_and_spread():
    j = [-10.0, -8.0, -6.0, -4.0]
    assert final_return(j) == -4.0
    assert return_spread(j) == pytest.approx(np.std(j)) == pytest.approx(math.sqrt(5.0))
    assert return_spread([3.0, 3.0, 3.0]) == 0.0
    assert math.isnan(return_spread([1.0, float("nan")])) and math.isnan(return_spread([]))
    assert math.isnan(final_return([]))


def test_mean_std_over_seeds():
    assert mean_std([1.0, 3.0]) == (2.0, 1.0)
    assert mean_std([5.0]) == (5.0, 0.0)
    assert all(math.isnan(v) for v in mean_std([]))


def test_intermediate_value_is_over_the_seeds_at_one_epoch():
    seeds = [[-5.0, -4.0], [-3.0, -2.0]]  # two seeds, epochs 0 and 1
    assert intermediate_value("return", seeds) == -3.0  # mean of J(theta_1) over seeds
    assert intermediate_value("stability", seeds) == pytest.approx(0.5)  # mean spread of J(theta_0..1)


def _spec(env="double-pendulum", seeds=2, batch_episodes=16, batch_trials=None):
    config = RunConfig(env=env, batch_episodes=batch_episodes, horizon=10, epochs=2)
    return StudySpec(study_name="s", storage_url="sqlite:///x.db", embedded=True, log_folder="/tmp", n_trials=100,
                     objective="return", sampler="tpe", pruner="none", seeds=seeds, dims=[sigma_dim(None, None)],
                     config=config.to_dict(), batch_trials=batch_trials)


def test_automatic_batch_size_rule():
    # an analytic env: 1024 rows of 2 seeds x 17 rows -> 30 trials, within the budget and the workers' share
    assert batch_size(_spec(), 100) == min(AUTO_MAX, AUTO_ROWS["pure"] // 34) == 30
    assert batch_size(_spec(), 100, workers=8) == 13  # ceil(100 / 8)
    assert batch_size(_spec(), 3) == 3  # never more than the budget leaves
    assert batch_size(_spec(), 0) == 0
    # MuJoCo: 256 rows; the preset's 5 seeds x 33 rows fill them already -> 1
    assert batch_size(_spec("hopper-stand", seeds=5, batch_episodes=32), 100) == 1
    assert batch_size(_spec(seeds=1, batch_episodes=1), 1000) == AUTO_MAX
    assert batch_size(_spec(batch_trials=4), 100) == 4 and batch_size(_spec(batch_trials=4), 2) == 2
    assert dataclasses.replace(_spec(), batch_trials=1).batch_trials == 1
