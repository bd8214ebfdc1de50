"""The objective's math, the automatic batch rule and the per-epoch reports, with known answers."""

import dataclasses
import math

import numpy as np
import pytest

from mollirl.studies.objective import (
    AUTO_ROWS, ROUNDS, STARTUP_TRIALS, batch_plan, batch_size, describe_batches, final_return, intermediate_value,
    mean_std, return_spread,
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


def _spec(env="double-pendulum", seeds=2, batch_episodes=16, batch_trials=None, sampler="tpe", pruner="none",
          n_trials=100, n_jobs=1):
    config = RunConfig(env=env, batch_episodes=batch_episodes, horizon=10, epochs=2)
    return StudySpec(study_name="s", storage_url="sqlite:///x.db", embedded=True, log_folder="/tmp", n_trials=n_trials,
                     objective="return", sampler=sampler, pruner=pruner, seeds=seeds, dims=[sigma_dim(None, None)],
                     config=config.to_dict(), batch_trials=batch_trials, n_jobs=n_jobs)


def test_automatic_batch_size_gives_a_model_based_sampler_rounds_of_results():
    """TPE and GP: their startup trials first (random draws, so one batch loses nothing), then the rest of
    the budget in at least ROUNDS rounds; never more than the rows limit or the free budget."""
    for sampler in ("tpe", "gp"):
        startup = STARTUP_TRIALS[sampler]
        spec = _spec(sampler=sampler, n_trials=20, seeds=3)
        assert batch_size(spec, 20, started=0) == startup
        assert batch_size(spec, 20, started=4) == startup - 4  # a resumed startup round is completed
        assert batch_size(spec, 10, started=10) == math.ceil((20 - startup) / ROUNDS) == 3
        assert batch_size(spec, 1, started=19) == 1
        plan = batch_plan(spec, kind="pure")
        assert plan == [10, 3, 3, 3, 1] and sum(plan) == 20
        assert len(plan) - 1 >= ROUNDS  # rounds after the startup round, each proposed from every earlier result
        # two workers share each round
        assert batch_size(_spec(sampler=sampler, n_trials=20, seeds=3, n_jobs=2), 20, workers=2, started=0) == 5
    # the rows limit: 1024 rows of 2 seeds x 17 rows -> 30 trials at most
    assert batch_size(_spec(n_trials=1000), 1000, started=500) == min(math.ceil(990 / ROUNDS), AUTO_ROWS["pure"] // 34)
    # MuJoCo: 256 rows; 5 seeds x 33 rows fill them already -> 1
    assert batch_size(_spec("hopper-stand", seeds=5, batch_episodes=32), 100, started=20) == 1


def test_automatic_batch_size_of_samplers_that_need_no_results_takes_the_budget():
    assert batch_size(_spec(sampler="random", n_trials=20), 20) == 20
    assert batch_size(_spec(sampler="random", n_trials=20), 20, workers=2) == 10  # both workers have work
    assert batch_size(_spec(sampler="random"), 100) == AUTO_ROWS["pure"] // 34 == 30  # the rows limit
    assert batch_size(_spec(sampler="random"), 3) == 3 and batch_size(_spec(sampler="random"), 0) == 0
    assert "needs no results" in describe_batches(_spec(sampler="random", n_trials=20), kind="pure")


def test_sequential_pruners_and_explicit_batches():
    assert batch_size(_spec(pruner="hyperband"), 100) == 1  # Optuna's: finished trials only
    assert batch_size(_spec(pruner="wilcoxon"), 100) == 1
    assert batch_size(_spec(batch_trials=4), 100) == 4 and batch_size(_spec(batch_trials=4), 2) == 2
    assert dataclasses.replace(_spec(), batch_trials=1).batch_trials == 1
    # an explicit batch as large as the budget: TPE gets no result before it proposes
    text = describe_batches(_spec(batch_trials=20, n_trials=20), kind="pure")
    assert "random search" in text and "batches of 20" in text
    text = describe_batches(_spec(n_trials=20, seeds=3), kind="pure")
    assert "10 trials in 4 rounds" in text, text
