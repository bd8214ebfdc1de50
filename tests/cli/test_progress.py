"""Signs of life of the long commands, and ``--no-progress`` (issue 14, item 6): a study's trials done
of the budget with ETAs (and a bar while a batch trains), a reproduction's runs done of the total
with an ETA (and a bar per training population), a landscape's bar once a stage has run 2 s."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mollirl.config import RunConfig

TINY = ["--epochs", "2", "--horizon", "20", "--batch-episodes", "2"]


# --- studies ---------------------------------------------------------------------------------
def test_study_shows_trials_of_the_budget_with_etas_and_a_batch_bar(tmp_path, capsys):
    from mollirl.study import main

    args = ["--env", "double-pendulum", "--n-trials", "3", "--batch-trials", "2", "--sampler", "random",
            "--pruner", "none", *TINY]
    assert main([*args, "-f", str(tmp_path / "a")]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if "| study: " in line]
    assert [re.search(r"study: (\d+)/3", line).group(1) for line in lines] == ["1", "2", "3"]
    assert all(re.search(r"\| worker 0: \d+ trials?, ETA \d+ s \| study: \d/3, ETA \d+ s", line) for line in lines[:1])
    # the batch of trials 0-1 and then trial 2: after the last batch nothing is left, so no ETA (issue 24)
    assert all(line.endswith("worker 0: 3 trials, done | study: 3/3, done") for line in lines[-1:])
    assert "ETA" not in lines[-1]
    # a bar per batch (two trials, then the third) while it trains: member-epochs of its seeds
    assert "worker 0: trials 0-1" in captured.err and "worker 0: trial 2" in captured.err
    assert main([*args, "--no-progress", "-f", str(tmp_path / "b")]) == 0
    captured = capsys.readouterr()
    assert "ETA" not in captured.out and "| study:" not in captured.out and "worker 0: trial" not in captured.err
    assert captured.out.count("COMPLETE") >= 3  # the trial lines themselves stay


def test_population_bar_counts_member_epochs_and_drops_pruned_ones(tmp_path, capsys, monkeypatch):
    """A member dropped at epoch 0 of 4 takes its 3 remaining epochs out of the bar's total."""
    from mollirl.population import Member, Population

    base = RunConfig(env="quadrotor", epochs=4, horizon=10, batch_episodes=2, progress=False)
    members = [Member(RunConfig(**{**base.to_dict(), "seed": s}), tmp_path / f"m{s}", label=f"m{s}")
               for s in range(2)]
    population = Population(members)
    totals = []

    def on_epoch(k, j_det):
        return {1: "pruned"} if k == 0 else {}

    from mollirl.common.driver import EpochBar

    original = EpochBar.drop

    def drop(self, epochs):
        original(self, epochs)
        totals.append(self.bar.total)

    monkeypatch.setattr(EpochBar, "drop", drop)
    try:
        outcomes = population.train(progress="my label", on_epoch=on_epoch)
    finally:
        population.close()
    assert [o.status for o in outcomes] == ["finished", "dropped"]
    assert totals[0] == 8 - 3 and totals[-1] == 5  # 2 members x 4 epochs, less the dropped one's last 3
    assert "my label" in capsys.readouterr().err


# --- reproduce ------------------------------------------------------------------------------
def _jobs(root: Path):
    from mollirl.reproduce.runs import RunJob

    return [RunJob(RunConfig(env="quadrotor", epochs=2, horizon=10, batch_episodes=2, seed=s, progress=False,
                             log_folder=str(root)), root / f"run_{s}") for s in range(2)]


@pytest.mark.parametrize("progress", [True, False, None])
def test_reproduce_runs_done_of_total_with_eta(tmp_path, capsys, progress):
    from mollirl.reproduce.runs import ProgressLog, run_jobs

    lines: list[str] = []
    log = lines.append if progress is None else ProgressLog(progress=progress, write=lines.append)
    statuses = run_jobs(_jobs(tmp_path), n_jobs=1, log=log)
    assert set(statuses.values()) == {"trained"}
    done = [line for line in lines if line.strip().startswith("trained")]
    assert len(done) == 2
    err = capsys.readouterr().err
    if progress is False:
        assert not any("ETA" in line for line in done) and "population 1" not in err
    else:
        assert [re.search(r"\((\d)/2 runs, .*, (ETA .*|done)\)", line).group(1) for line in done] == ["1", "2"]
        assert "ETA" in done[0] and "ETA" not in done[1]  # nothing left after the last run (issue 24)
        assert ("population 1: 2 runs" in err) == bool(progress)  # the bar only for the command line's log


def test_reproduce_no_progress_flag_reaches_the_reproduction(tmp_path, monkeypatch, capsys):
    import mollirl.reproduce.__main__ as cli
    from mollirl.reproduce.runs import ProgressLog

    seen = {}

    class Fake:
        @staticmethod
        def run(out, quick=False, n_jobs=1, log=print, command=None):
            seen["log"] = log
            log("a line")
            return {"wall_time_s": 0.0, "claims": []}

    monkeypatch.setattr(cli.importlib, "import_module", lambda name: Fake)
    for argv, expected in ((["figure8", "-o", str(tmp_path)], True),
                           (["figure8", "-o", str(tmp_path), "--no-progress"], False)):
        assert cli.main(argv) == 0
        assert isinstance(seen["log"], ProgressLog) and seen["log"].progress is expected
    assert "a line" in capsys.readouterr().out


# --- landscapes -------------------------------------------------------------------------------
def test_landscape_bar_after_the_delay_only(tmp_path, monkeypatch, capsys):
    import mollirl.landscape.__main__ as cli

    assert 1.0 <= cli.PROGRESS_DELAY <= 3.0  # "a bar whenever a landscape takes more than about 2 s"
    args = ["--env", "quadrotor", "--grid", "5", "--dims", "1", "--mode", "det", "--horizon", "20", "--no-png"]
    assert cli.main([*args, "-o", str(tmp_path / "a.npz")]) == 0
    assert "det" not in capsys.readouterr().err  # well under PROGRESS_DELAY (2 s): no bar
    monkeypatch.setattr(cli, "PROGRESS_DELAY", 0.0)
    assert cli.main([*args, "-o", str(tmp_path / "b.npz")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"det: .*\d+/20", err), err  # time steps of the stage, with tqdm's rate and ETA
    assert cli.main([*args, "--no-progress", "-o", str(tmp_path / "c.npz")]) == 0
    assert "det" not in capsys.readouterr().err
