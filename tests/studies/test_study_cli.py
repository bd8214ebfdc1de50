"""``python -m mollirl.study`` end to end on the embedded store, with tiny budgets."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from mollirl.study import main
from mollirl.training.metrics import read_metrics

NAME = "sigma-double-pendulum-reinforce-return"


def load(tmp_path, name=NAME):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path.resolve()}/studies/studies.db")


def files(root: Path) -> set[str]:
    """Files under ``root``, without SQLite's transient WAL side files: a reader of a WAL-mode
    database creates ``-wal``/``-shm`` while any connection (even one left for the garbage
    collector by an earlier command in this process) is open; they are not outputs."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.name.endswith(("-wal", "-shm"))}


def test_study_trains_seeds_into_run_folders_and_reports(tmp_path, tiny, capsys):
    args = ["--env", "double-pendulum", "--n-trials", "3", "--seeds", "2", "--sigma-range", "0.01", "5",
            "--sampler", "random", "--sampler-seed", "0", "--pruner", "none", "-f", str(tmp_path), *tiny]
    assert main(args) == 0
    out = capsys.readouterr().out
    study = load(tmp_path)
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    study_dir = tmp_path / "studies" / NAME
    for t in trials:
        attrs = t.user_attrs
        assert attrs["run_dirs"] == [str(study_dir / f"trial_{t.number}" / f"seed_{s}") for s in range(2)]
        assert [r["seed"] for r in attrs["seed_results"]] == [0, 1]
        for s in range(2):
            run = study_dir / f"trial_{t.number}" / f"seed_{s}"
            for name in ("metrics.csv", "config.yml", "model.zip", "command.txt"):
                assert (run / name).is_file(), (run, name)
            assert list(run.glob("events.out.tfevents.*"))  # TensorBoard sees every seed
        assert attrs["return_mean"] == pytest.approx(t.value)
        assert sorted(t.intermediate_values) == list(range(3))  # epochs 0, 1 and the final policy, over both seeds
        # the time of the 6 reports is kept apart from the training time it happened inside
        assert 0 < attrs["report_seconds"] < attrs["train_seconds"]
    best = max(trials, key=lambda t: t.value)
    assert f"sigma* = {best.params['sigma']:.4g}" in out
    assert f"optuna-dashboard sqlite:///{tmp_path.resolve()}/studies/studies.db" in out
    with (study_dir / "trials.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    sigmas = [float(r["param_sigma"]) for r in rows]
    assert sigmas == sorted(sigmas) and len(rows) == 3
    assert all(float(r["report_seconds"]) > 0 and float(r["train_seconds"]) > 0 for r in rows)
    assert (study_dir / "sigma_curve.png").stat().st_size > 10_000


def test_same_command_resumes_the_study(tmp_path, tiny, capsys):
    base = ["--env", "double-pendulum", "--sigma-range", "0.01", "5", "--pruner", "none", "--sampler-seed", "1",
            "-f", str(tmp_path), *tiny]
    assert main([*base, "--n-trials", "2"]) == 0
    assert main([*base, "--n-trials", "2"]) == 0  # budget complete: nothing new, only the report
    assert len(load(tmp_path).trials) == 2
    assert main([*base, "--n-trials", "4"]) == 0  # a larger budget continues the same study
    trials = load(tmp_path).get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3] and all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(p.name for p in (tmp_path / "studies" / NAME).glob("trial_*")) == [f"trial_{i}" for i in range(4)]
    capsys.readouterr()
    assert main([*base, "--report"]) == 0
    out = capsys.readouterr().out
    assert "4 complete of 4 trials" in out and "trials.csv" in out


def test_report_of_a_missing_study_is_an_error(tmp_path, capsys):
    assert main(["--report", "-f", str(tmp_path)]) == 2
    assert "no study" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("extra,message", [
    (["--sigma-range", "1", "0.1"], "LOW < HIGH"),
    (["--sigma-range", "0.5", "0.5"], "LOW < HIGH"),
    (["--sigma-range", "0", "1"], "0 < LOW"),
    (["--objective", "both", "--pruner", "median"], "cannot prune a two-objective"),
    (["--storage", "not a url"], "malformed --storage"),
    (["--storage", "nosuchdb://x/y"], "cannot open storage"),
    (["--storage", "postgresql://u:secret@127.0.0.1:1/db"], "cannot open storage"),
    (["--storage", "sqlite:///{tmp}/missing/dir/x.db"], "cannot open storage"),
    (["--env", "double-pendullum"], "did you mean 'double-pendulum'"),
    (["--search", "stepsize:0.1:1"], "did you mean 'step_size'"),
    (["--env-kwargs", "no_such_kwarg:1"], "env-kwargs"),
    (["-params", "sigma:0.3"], "sigma is searched"),
    (["--n-trials", "0"], "--n-trials"),
    (["--sigma-range", "0.1"], "expected 2 arguments"),
    (["--batch-trials", "0"], "--batch-trials must be an integer >= 1"),
    (["--batch-trials", "-3"], "--batch-trials must be an integer >= 1"),
    (["--batch-trials", "many"], "--batch-trials"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, tiny, capsys, extra, message):
    root = tmp_path / "runs"
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    assert main(["--env", "double-pendulum", "-f", str(root), *tiny, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert "secret" not in err  # passwords are masked
    assert not list(tmp_path.iterdir())


def test_bad_input_with_n_jobs_2_stops_the_worker_and_writes_nothing(tmp_path, tiny, capsys):
    """The spawned worker builds a trial's env and model too, while the parent checks: a bad option
    fails there as well, silently; the parent reports it once, stops the worker, nothing is written."""
    import multiprocessing

    args = ["--env", "double-pendulum", "-f", str(tmp_path / "runs"), *tiny, "--n-jobs", "2", "--env-kwargs",
            "no_such_kwarg:1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "env-kwargs" in err, err
    assert not multiprocessing.active_children()
    assert not list(tmp_path.iterdir())


def test_existing_study_with_another_space_or_objective_is_refused(tmp_path, tiny, capsys):
    base = ["--env", "double-pendulum", "--n-trials", "1", "--pruner", "none", "--study-name", "s", "-f",
            str(tmp_path), *tiny]
    assert main([*base, "--sigma-range", "0.01", "1"]) == 0
    before = files(tmp_path)
    capsys.readouterr()
    for extra, message in ((["--sigma-range", "0.01", "2"], "different search space"),
                           (["--sigma-range", "0.01", "1", "--search", "step_size:0.1:1"], "different search space"),
                           (["--sigma-range", "0.01", "1", "--objective", "stability"],
                            "--objective return, not stability"),
                           (["--sigma-range", "0.01", "1", "--seeds", "2"], "different training setup")):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert files(tmp_path) == before
    # and the stored study is unchanged: still one trial, with the original record
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path}/studies/studies.db")
    assert len(study.get_trials()) == 1


def test_pruned_trials_are_recorded_with_their_step(tmp_path, tiny):
    args = ["--env", "double-pendulum", "--n-trials", "8", "--sigma-range", "0.01", "10", "--sampler", "random",
            "--sampler-seed", "0", "--pruner", "median", "-f", str(tmp_path), *tiny, "--epochs", "4", "--seeds", "2",
            "--batch-trials", "2"]  # the median pruner compares with trials completed in earlier batches
    assert main(args) == 0
    trials = load(tmp_path).get_trials()
    assert len(trials) == 8
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    assert pruned, [t.state for t in trials]
    for t in pruned:
        at = t.user_attrs["pruned_at"]
        assert max(t.intermediate_values) == at["epoch"] and at["epoch"] >= 1  # never on theta_0
        for run in t.user_attrs["run_dirs"]:  # both seeds dropped together, at the same epoch
            assert not (Path(run) / "model.zip").exists()
            assert len(read_metrics(Path(run) / "metrics.csv")) == at["epoch"] + 1
    rows = list(csv.DictReader((tmp_path / "studies" / NAME / "trials.csv").open()))
    assert any(r["state"] == "PRUNED" and r["note"].startswith("pruned at epoch") for r in rows)


@pytest.mark.filterwarnings("ignore:.*reward is a NaN")
def test_diverging_trial_fails_with_its_reason_and_the_study_goes_on(tmp_path, study_plugin, capsys):
    args = ["--env", "study-nan", "--plugin", study_plugin, "--sampler", "grid", "--sigma-values", "0.01", "100",
            "--study-name", "nan", "-f", str(tmp_path)]
    assert main(args) == 0
    trials = {round(t.params["sigma"], 2): t for t in load(tmp_path, "nan").get_trials()}
    assert trials[100.0].state == TrialState.FAIL
    assert "training diverged" in trials[100.0].user_attrs["fail_reason"]
    assert trials[0.01].state == TrialState.COMPLETE
    out = capsys.readouterr().out
    assert "sigma* = 0.01" in out and "training diverged" in out
    assert main(args) == 0 and len(load(tmp_path, "nan").trials) == 2  # the failed trial counts: budget done


def test_stability_objective_minimizes_the_spread(tmp_path, tiny, capsys):
    args = ["--env", "double-pendulum", "--n-trials", "2", "--objective", "stability", "--pruner", "none",
            "--sampler", "grid", "--sigma-values", "0.05", "3", "-f", str(tmp_path), *tiny]
    assert main(args) == 0
    trials = load(tmp_path, "sigma-double-pendulum-reinforce-stability").get_trials()
    best = min(trials, key=lambda t: t.value)
    assert best.value == pytest.approx(best.user_attrs["spread_mean"])
    assert f"sigma* = {best.params['sigma']:.4g}  (min mean spread" in capsys.readouterr().out


def test_n_jobs_2_processes_reach_exactly_n_trials(tmp_path, study_plugin):
    args = ["--env", "study-slow", "--plugin", study_plugin, "--env-kwargs", "delay:0.004", "--n-trials", "6",
            "--pruner", "none", "--n-jobs", "2", "--heartbeat", "2", "--study-name", "jobs", "-f", str(tmp_path)]
    assert main(args) == 0
    trials = load(tmp_path, "jobs").get_trials()
    assert [t.number for t in trials] == list(range(6))
    assert all(t.state == TrialState.COMPLETE for t in trials)


@pytest.mark.parametrize("batch,n_trials", [(1, 6), (3, 7)])
def test_two_commands_share_one_embedded_study(tmp_path, study_plugin, batch, n_trials):
    """Two worker commands started together on a fresh embedded store: exactly N trials, in batches of
    at most B, every trial complete; with B = 1 both commands work."""
    cmd = [sys.executable, "-m", "mollirl.study", "--env", "study-slow", "--plugin", study_plugin, "--env-kwargs",
           "delay:0.005", "--n-trials", str(n_trials), "--pruner", "none", "--heartbeat", "2", "--study-name",
           "shared", "-f", str(tmp_path), "--batch-trials", str(batch), "--seeds", "2"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trials = load(tmp_path, "shared").get_trials()
    assert [t.number for t in trials] == list(range(n_trials)) and all(t.state == TrialState.COMPLETE for t in trials)
    assert all(1 <= len(t.user_attrs["batch"]) <= batch for t in trials)
    assert all(len(t.user_attrs["seed_results"]) == 2 for t in trials)
    if batch == 1:
        assert len({t.user_attrs["worker"] for t in trials}) == 2  # both commands ran trials


def test_figure6_preset_with_overrides_runs_the_grid(tmp_path, capsys):
    args = ["--preset", "figure6", "--seeds", "1", "--epochs", "1", "--horizon", "10", "--batch-episodes", "2",
            "-f", str(tmp_path)]
    assert main(args) == 0
    study = load(tmp_path, "figure6")
    assert sorted(t.params["sigma"] for t in study.trials) == [0.005, 0.05, 0.5, 5.0]
    assert study.directions == [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert study.user_attrs["mollirl"]["setup"]["env"] == "hopper-stand"
    out = capsys.readouterr().out
    assert "Pareto front" in out and (tmp_path / "studies" / "figure6" / "sigma_curve.png").is_file()


def test_python_dash_m_lists_the_studies():
    out = subprocess.run([sys.executable, "-m", "mollirl.study", "--list"], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning:mollirl"})
    for name in ("figure6", "sigma-quadrotor", "sigma-double-pendulum", "sigma-hopper-stand"):
        assert name in out.stdout


def test_ars_searches_the_parameter_space_sigma(tmp_path, capsys):
    """--algo ars: the searched sigma is ARS's delta_std (the parameter-space sigma)."""
    args = ["--env", "quadrotor", "--algo", "ars", "--n-trials", "2", "--sampler", "grid", "--sigma-values", "0.01",
            "0.5", "--pruner", "none", "--epochs", "2", "--horizon", "20", "--batch-episodes", "4",
            "-f", str(tmp_path)]
    assert main(args) == 0
    capsys.readouterr()
    study = optuna.load_study(study_name="sigma-quadrotor-ars-return",
                              storage=f"sqlite:///{tmp_path}/studies/studies.db")
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    from mollirl.algos.ars import MollifiedARS
    from mollirl.training.metrics import read_metrics

    for t in trials:
        run = Path(t.user_attrs["run_dirs"][0])
        model = MollifiedARS.load(run / "model.zip")
        assert model.delta_std_schedule(1.0) == pytest.approx(t.params["sigma"])
        assert read_metrics(run / "metrics.csv")[0]["sigma"] == pytest.approx(t.params["sigma"])
