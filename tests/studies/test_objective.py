"""The objective's math and the per-epoch reporter, with known answers (no training)."""

import math
from types import SimpleNamespace

import numpy as np
import optuna
import pytest

from mollirl.studies.objective import TrialReporter, final_return, mean_std, return_spread


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


def _reporter(study, objective, offset=0, prune=False):
    trial = study.ask()
    reporter = TrialReporter(trial, objective, offset, prune)
    reporter.model = SimpleNamespace(logger=SimpleNamespace(name_to_value={}))  # SB3's logger at rollout end
    return trial, reporter


def _epoch(reporter, epoch, j_det):
    reporter.logger.name_to_value.update({"train/J_det": j_det, "train/epoch": epoch})
    reporter._on_rollout_end()


def test_reporter_reports_J_det_per_epoch_at_offset_steps():
    study = optuna.create_study(direction="maximize")
    trial, reporter = _reporter(study, "return", offset=3)
    for k, j in enumerate([-5.0, -4.0, -2.0]):
        _epoch(reporter, k, j)
    assert study.trials[0].intermediate_values == {3: -5.0, 4: -4.0, 5: -2.0}


def test_reporter_reports_running_spread_for_stability():
    study = optuna.create_study(direction="minimize")
    trial, reporter = _reporter(study, "stability")
    for k, j in enumerate([0.0, 2.0, 4.0]):
        _epoch(reporter, k, j)
    values = study.trials[0].intermediate_values
    assert values[0] == 0.0 and values[1] == pytest.approx(1.0) and values[2] == pytest.approx(np.std([0, 2, 4]))


def test_reporter_prunes_a_trial_below_the_median():
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0))
    for value in (-1.0, -2.0):
        done = study.ask()
        done.report(value, 0)
        study.tell(done, value)
    trial, reporter = _reporter(study, "return", prune=True)
    with pytest.raises(optuna.TrialPruned, match="epoch 0"):
        _epoch(reporter, 0, -50.0)
    assert reporter.pruned_at == 0
