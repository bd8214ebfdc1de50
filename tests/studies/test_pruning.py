"""Pruning inside a batch: the rule's math (rungs, smoothed values, one decision for the whole batch) and
end-to-end studies whose decisions are checked against the values they stored."""

import math
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from mollirl.studies.pruning import PrunerSpec, PruningRule
from mollirl.study import main
from mollirl.training.metrics import read_metrics

NAME = "sigma-double-pendulum-reinforce-return"


def load(root, name=NAME):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{Path(root).resolve()}/studies/studies.db")


# ----------------------------------------------------------------------------- the rule

def test_pruner_spec_parses_kinds_and_options():
    assert PrunerSpec.parse("halving") == PrunerSpec("halving")
    spec = PrunerSpec.parse("halving:warmup=10,window=4,stride=2,eta=3")
    assert (spec.warmup, spec.window, spec.stride, spec.eta) == (10, 4, 2, 3)
    assert spec.text == "halving:warmup=10,window=4,stride=2,eta=3" and spec.batched
    assert PrunerSpec.parse("median:interval=5").interval == 5
    assert not PrunerSpec.parse("hyperband").batched and PrunerSpec.parse("none").rule(50) is None
    for bad, match in (("halfing", "did you mean 'halving'"), ("halving:eta=1", "eta must be >= 2"),
                       ("halving:interval=3", "halving takes warmup, window, stride, eta"),
                       ("median:eta=3", "median takes"), ("halving:warmup=x", "must be an integer"),
                       ("hyperband:warmup=3", "takes no options"), ("halving:window", "takes")):
        with pytest.raises(ValueError, match=match):
            PrunerSpec.parse(bad)


def test_default_rule_is_the_measured_one():
    from mollirl.studies.pruning import DEFAULT_KIND

    assert DEFAULT_KIND == "median"  # benchmarks/pruning_rule.py's choice on the bias-free preset
    median = PrunerSpec.parse(DEFAULT_KIND).rule(50)
    assert (median.warmup, median.window, median.stride, median.interval) == (10, 2, 2, 20)
    assert median.rungs == (10, 30)
    rule = PrunerSpec.parse("halving").rule(50)  # halving keeps its own measured options
    assert (rule.warmup, rule.window, rule.stride, rule.eta) == (12, 6, 2, 4)
    assert rule.rungs == (12, 48)
    # fewer epochs: the first rung scales, the window shrinks to fit before it, rungs keep the final phase
    short = PrunerSpec.parse("halving").rule(20)
    assert short.rungs == (6,) and short.window == 3
    assert PrunerSpec.parse("halving").rule(2).rungs == ()  # nothing to prune in two epochs


def test_rungs_halving_median_and_phase():
    assert PruningRule("halving", 50, 2, 1, 2, 1).rungs == (2, 4, 8, 16, 32)
    assert PruningRule("halving", 50, 5, 1, 3, 1, stride=2).rungs == (6, 16, 46)  # 5, 15, 45 on the final phase
    assert PruningRule("median", 30, 4, 1, 2, 10).rungs == (4, 14, 24)
    assert PruningRule("halving", 50, 2, 4, 2, 1).rungs == (3, 6, 12, 24, 48)  # a full window behind the first
    assert all(r < 50 for r in PruningRule("halving", 50, 49, 1, 2, 1).rungs)  # never the final policy's step


def test_smoothed_value_averages_the_window_on_its_stride():
    rule = PruningRule("halving", 50, 4, 3, 2, 1, stride=2)
    values = {k: float(k) for k in range(0, 10)}
    assert rule.smoothed(values, 8) == pytest.approx((8 + 6 + 4) / 3)
    assert math.isnan(rule.smoothed({8: 1.0, 6: 2.0}, 8))  # epoch 4 missing
    assert math.isnan(rule.smoothed({8: 1.0, 6: float("nan"), 4: 0.0}, 8))


def test_one_decision_for_the_batch_keeps_the_best_fraction_with_the_peers():
    rule = PruningRule("halving", 10, 2, 1, 2, 1)
    live = {0: -1.0, 1: -2.0, 2: -3.0, 3: -4.0}
    d = rule.decide(2, live, peers=[])
    assert [k for k, v in d.items() if not v.prune] == [0, 1]  # ceil(4 / 2) of 4
    assert all(v.competitors == 4 and v.kept == 2 and v.cutoff == -2.0 for v in d.values())
    # earlier trials that reached the rung compete too: two better peers leave room for one of the batch
    d = rule.decide(2, live, peers=[0.0, 5.0])
    assert [k for k, v in d.items() if not v.prune] == [0]
    # the decision is the same whatever order the batch reports in (one decision for all of them)
    shuffled = dict(reversed(list(live.items())))
    assert {k: v.prune for k, v in rule.decide(2, shuffled, peers=[0.0]).items()} == \
        {k: v.prune for k, v in rule.decide(2, live, peers=[0.0]).items()}
    # minimization, ties at the cut go on, a trial without a value is pruned, no decision off a rung
    d = rule.decide(2, {0: 1.0, 1: 1.0, 2: 3.0, 3: float("nan")}, peers=[], higher_is_better=False)
    assert {k: v.prune for k, v in d.items()} == {0: False, 1: False, 2: True, 3: True}
    assert rule.decide(3, live, peers=[]) == {}


def test_median_rule_prunes_below_the_median_of_batch_and_peers():
    rule = PruningRule("median", 10, 2, 1, 2, 4)
    d = rule.decide(2, {0: 1.0, 1: 2.0, 2: 3.0}, peers=[10.0])  # median of [1, 2, 3, 10] = 2.5
    assert {k: v.prune for k, v in d.items()} == {0: True, 1: True, 2: False}


# ----------------------------------------------------------------------------- studies

#: 8 trials in one batch of 2 seeds x 6 epochs; rungs at epochs 2 and 4, one in two going on
PRUNED_STUDY = ["--env", "double-pendulum", "--n-trials", "8", "--sigma-range", "0.01", "10", "--sampler", "random",
                "--sampler-seed", "0", "--pruner", "halving:warmup=2,window=2,stride=1,eta=2", "--seeds", "2",
                "--epochs", "6", "--horizon", "20", "--batch-episodes", "2", "--batch-trials", "8", "--no-progress"]


def _smoothed(trial, rule, step):
    return rule.smoothed(trial.intermediate_values, step)


def test_pruning_inside_a_batch_is_synchronous_and_follows_the_rule(tmp_path):
    assert main([*PRUNED_STUDY, "-f", str(tmp_path)]) == 0
    trials = load(tmp_path).get_trials()
    rule = PrunerSpec.parse("halving:warmup=2,window=2,stride=1,eta=2").rule(6)
    assert rule.rungs == (2, 4)
    states = [t.state for t in trials]
    # rung 2: 4 of 8 go on; rung 4: 2 of those 4
    assert states.count(TrialState.PRUNED) == 6 and states.count(TrialState.COMPLETE) == 2
    at = sorted(t.user_attrs["pruned_at"]["epoch"] for t in trials if t.state == TrialState.PRUNED)
    assert at == [2, 2, 2, 2, 4, 4]
    for r in rule.rungs:
        reached = [t for t in trials if max(t.intermediate_values) >= r]  # every one of them reported the rung
        went_on = [t for t in reached if t.state == TrialState.COMPLETE or t.user_attrs["pruned_at"]["epoch"] > r]
        stopped = [t for t in reached if t not in went_on]
        assert len(went_on) == math.ceil(len(reached) / 2)
        assert min(_smoothed(t, rule, r) for t in went_on) >= max(_smoothed(t, rule, r) for t in stopped)
        for t in stopped:
            rec = t.user_attrs["pruned_at"]
            assert rec["competitors"] == len(reached) and rec["value"] == pytest.approx(_smoothed(t, rule, r))
            assert rec["value"] < rec["cutoff"] and rec["pruner"] == "halving:warmup=2,window=2,stride=1,eta=2"
            for run in t.user_attrs["run_dirs"]:  # both seeds stopped together at the rung
                assert len(read_metrics(Path(run) / "metrics.csv")) == r + 1


def test_pruning_inside_a_batch_is_deterministic(tmp_path):
    outcomes = []
    for folder in ("a", "b"):
        assert main([*PRUNED_STUDY, "-f", str(tmp_path / folder)]) == 0
        outcomes.append([(t.params, t.state, t.user_attrs.get("pruned_at"), t.value, dict(t.intermediate_values))
                         for t in load(tmp_path / folder).get_trials()])
    assert outcomes[0] == outcomes[1]


def test_batches_of_one_are_judged_against_earlier_trials(tmp_path):
    args = [*PRUNED_STUDY, "-f", str(tmp_path)]
    args[args.index("--batch-trials") + 1] = "1"
    assert main(args) == 0
    trials = load(tmp_path).get_trials()
    rule = PrunerSpec.parse("halving:warmup=2,window=2,stride=1,eta=2").rule(6)
    assert trials[0].state == TrialState.COMPLETE  # the first trial has no peer: it goes on
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned
    for t in pruned:
        r = t.user_attrs["pruned_at"]["epoch"]
        earlier = [p for p in trials[: t.number] if max(p.intermediate_values) >= r]
        values = sorted([_smoothed(p, rule, r) for p in earlier] + [_smoothed(t, rule, r)], reverse=True)
        assert t.user_attrs["pruned_at"]["competitors"] == len(values)
        assert _smoothed(t, rule, r) < values[math.ceil(len(values) / 2) - 1]


def test_header_says_what_the_batches_do_to_the_sampler_and_what_the_pruner_does(tmp_path, tiny, capsys):
    assert main(["--env", "double-pendulum", "--n-trials", "3", "--seeds", "1", "-f", str(tmp_path), *tiny,
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "sampler tpe: batches of 3 trials: TPE draws its first 10 trials at random" in out
    assert "random search" in out
    assert "pruner median: no rung before the last epoch" in out  # two epochs: nothing to prune


@pytest.mark.parametrize("extra,message", [
    (["--pruner", "hyperband", "--batch-trials", "4"], "cannot prune inside a batch of 4 trials"),
    (["--pruner", "wilcoxon", "--batch-trials", "2"], "use --pruner halving or median"),
    (["--batch-trials", "30", "--n-trials", "20"], "--batch-trials 30 exceeds the study's budget of 20"),
    (["--pruner", "halving:eta=1"], "eta must be >= 2"),
    (["--pruner", "meddian"], "did you mean 'median'"),
])
def test_bad_pruning_input_one_line_exit_2_nothing_written(tmp_path, tiny, capsys, extra, message):
    assert main(["--env", "double-pendulum", "-f", str(tmp_path / "runs"), *tiny, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())


def test_sequential_pruners_run_one_trial_at_a_time(tmp_path, tiny):
    assert main(["--env", "double-pendulum", "--n-trials", "3", "--pruner", "hyperband", "--sampler", "random",
                 "-f", str(tmp_path), *tiny, "--no-progress"]) == 0
    assert all(len(t.user_attrs["batch"]) == 1 for t in load(tmp_path).get_trials())


def test_two_commands_with_pruning_keep_the_budget_exact(tmp_path, study_plugin, simultaneous_commands):
    """Two workers at once on one embedded store, both pruning their batches: exactly N trials, every one
    COMPLETE or PRUNED, the pruned ones at a rung."""
    args = ["--env", "study-slow", "--plugin", study_plugin, "--env-kwargs", "delay:0.002", "--n-trials", "9",
            "--epochs", "4", "--heartbeat", "5",
            "--pruner", "halving:warmup=1,window=1,stride=1,eta=2", "--batch-trials", "3", "--sampler", "random",
            "--study-name", "pruned", "-f", str(tmp_path), "--no-progress"]
    results = simultaneous_commands(2).run([args, args])
    assert [code for code, _ in results] == [0, 0], results
    trials = load(tmp_path, "pruned").get_trials()
    assert [t.number for t in trials] == list(range(9))
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert any(t.state == TrialState.PRUNED for t in trials)
    assert all(t.user_attrs["pruned_at"]["epoch"] in (1, 2) for t in trials if t.state == TrialState.PRUNED)
    assert len({t.user_attrs["worker"] for t in trials}) == 2


def test_optuna_dashboard_shows_a_pruned_batched_study(tmp_path):
    """optuna-dashboard's own API (its WSGI app, as the server runs it) lists the study and its trials with
    their states and per-epoch values."""
    import json
    from wsgiref.util import setup_testing_defaults

    dashboard = pytest.importorskip("optuna_dashboard._app")
    assert main([*PRUNED_STUDY, "-f", str(tmp_path)]) == 0
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path.resolve()}/studies/studies.db")
    app = dashboard.create_app(storage)

    def get(path):
        environ: dict = {}
        setup_testing_defaults(environ)
        environ["PATH_INFO"] = path
        status = []
        body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
        assert status[0].startswith("200"), (path, status, body[:200])
        return json.loads(body)

    summaries = get("/api/studies")["study_summaries"]
    assert [s["study_name"] for s in summaries] == [NAME]
    study = get(f"/api/studies/{summaries[0]['study_id']}")
    assert sorted(t["state"] for t in study["trials"]) == ["Complete"] * 2 + ["Pruned"] * 6
    assert study["has_intermediate_values"]
    for t in study["trials"]:
        assert [v["step"] for v in t["intermediate_values"]] == list(range(len(t["intermediate_values"])))
    storage.engine.dispose()


def test_study_on_a_gymnasium_id_without_a_reference_policy(tmp_path, capsys):
    """As python -m mollirl.train: a random initial mean, its horizon, and one note saying so."""
    assert main(["--env", "Pendulum-v1", "--n-trials", "2", "--epochs", "2", "--batch-episodes", "2", "--sampler",
                 "random", "-f", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "note: env 'Pendulum-v1' has no reference policy: the initial mean is random" in out
    trials = load(tmp_path, "sigma-Pendulum-v1-reinforce-return").get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    rows = read_metrics(Path(trials[0].user_attrs["run_dirs"][0]) / "metrics.csv")
    assert len(rows) == 3 and np.isfinite(rows[-1]["J_det"])
