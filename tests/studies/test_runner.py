"""The trial budget, study creation/compatibility, samplers and pruners (no training)."""

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from mollirl.config import RunConfig
from mollirl.studies.runner import (
    budget_decision, check_existing, counts_toward_budget, create_study, make_pruner, make_sampler,
)
from mollirl.studies.spec import build_spec, merge_options
from mollirl.studies.storage import open_storage


def _trial(state, **user_attrs):
    kwargs = {"value": 1.0} if state == TrialState.COMPLETE else {}
    return create_trial(state=state, user_attrs=user_attrs, **kwargs)


def test_what_counts_toward_the_budget():
    assert counts_toward_budget(_trial(TrialState.COMPLETE))
    assert counts_toward_budget(_trial(TrialState.PRUNED))
    assert counts_toward_budget(_trial(TrialState.FAIL, fail_reason="seed 0: training diverged"))
    assert not counts_toward_budget(_trial(TrialState.FAIL))  # heartbeat failure: its retry counts
    assert not counts_toward_budget(_trial(TrialState.WAITING))


def test_budget_decision():
    done, running = _trial(TrialState.COMPLETE), _trial(TrialState.RUNNING)
    lost, waiting = _trial(TrialState.FAIL), _trial(TrialState.WAITING)
    assert budget_decision([], 2) == "run"
    assert budget_decision([done], 2) == "run"
    assert budget_decision([done, running], 2) == "wait"  # the running trial's worker may die
    assert budget_decision([done, done], 2) == "done"
    assert budget_decision([done, lost, waiting], 2) == "run"  # the retry of a lost trial
    assert budget_decision([done, done, done], 2) == "done"


def _spec(tmp_path, **options):
    config = RunConfig(env="double-pendulum", epochs=2, horizon=20, batch_episodes=2).validate()
    return build_spec(merge_options({}, options), config, study_name="s", storage=None, log_folder=str(tmp_path))


def test_existing_study_must_match(tmp_path):
    spec = _spec(tmp_path)
    spec.study_dir.parent.mkdir(parents=True)
    storage = open_storage(spec.storage_url, heartbeat=5)
    assert check_existing(spec, storage) is None
    study = create_study(spec, storage)
    assert study.user_attrs["mollirl"]["search"]["objective"] == "return"
    assert create_study(spec, storage).study_name == "s"  # same spec: resumes
    with pytest.raises(ValueError, match="--objective return, not stability"):
        check_existing(_spec(tmp_path, objective="stability"), storage)
    with pytest.raises(ValueError, match="different search space"):
        check_existing(_spec(tmp_path, sigma_range=(0.1, 1.0)), storage)
    with pytest.raises(ValueError, match="different search space"):
        check_existing(_spec(tmp_path, search=["step_size:0.1:1"]), storage)
    with pytest.raises(ValueError, match="different training setup \\(seeds"):
        check_existing(_spec(tmp_path, seeds=2), storage)
    optuna.create_study(storage=storage, study_name="foreign")
    foreign = _spec(tmp_path)
    foreign.study_name = "foreign"
    with pytest.raises(ValueError, match="not created by python -m mollirl.study"):
        check_existing(foreign, storage)


@pytest.mark.parametrize("sampler,cls", [("tpe", optuna.samplers.TPESampler), ("random", optuna.samplers.RandomSampler),
                                         ("grid", optuna.samplers.GridSampler), ("gp", optuna.samplers.GPSampler)])
def test_make_sampler(tmp_path, sampler, cls):
    extra = {"sigma_values": [0.1, 1.0]} if sampler == "grid" else {}
    assert isinstance(make_sampler(_spec(tmp_path, sampler=sampler, sampler_seed=3, **extra), 1), cls)


@pytest.mark.parametrize("pruner,cls", [("halving", optuna.pruners.NopPruner),  # decided over the batch
                                        ("median", optuna.pruners.NopPruner),
                                        ("hyperband", optuna.pruners.HyperbandPruner),
                                        ("wilcoxon", optuna.pruners.WilcoxonPruner),
                                        ("none", optuna.pruners.NopPruner)])
def test_make_pruner(tmp_path, pruner, cls):
    assert isinstance(make_pruner(_spec(tmp_path, pruner=pruner)), cls)


def test_a_study_stored_before_later_config_keys_resumes():
    """A study stored before a RunConfig key existed (gSDE's use_sde and sde_sample_freq, rl-zoo3's train flags)
    has no such key in its setup record; at the key's default the record now leaves it out too, so the study
    resumes. Every RunConfig key is either in the record or listed as volatile or later (no key escapes)."""
    import dataclasses

    from mollirl.studies.spec import LATER_FIELDS, VOLATILE_FIELDS

    spec = _spec("/tmp")
    record = spec.setup_record()
    for key, default in LATER_FIELDS.items():
        assert key not in record, key  # at its default: as a record stored before the key existed
        assert getattr(RunConfig(), key) == default, key  # the listed default is RunConfig's own
    names = {f.name for f in dataclasses.fields(RunConfig)}
    assert set(LATER_FIELDS) <= names and set(VOLATILE_FIELDS) <= names
