"""A resume continues only a whole history; a reuse takes only the run that was asked for (issue 23)."""

import shutil

import pytest
import yaml
from reliability_helpers import TINY, one_line, snapshot, tiny_run

from mollirl.config import RunConfig
from mollirl.reproduce.runs import RunJob, run_jobs
from mollirl.train import main as train_main
from mollirl.training.checkpoint import load_checkpoint_state
from mollirl.training.metrics import read_metrics


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run of 4 epochs (checkpoint at epoch 4, metrics rows 0-3 and the final row 4)."""
    return tiny_run(tmp_path_factory.mktemp("finished"), 4)


@pytest.fixture
def run(finished, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(finished, copy)
    return copy


def _cut_mid_row(run, row: int) -> None:
    lines = (run / "metrics.csv").read_text().splitlines(keepends=True)
    (run / "metrics.csv").write_text("".join(lines[:row + 1]) + lines[row + 1][:15])


def test_a_deleted_history_is_refused_and_the_folder_unchanged(run, capsys):
    """Before: exit 0, no word, and metrics.csv held epochs 4-6 only."""
    (run / "metrics.csv").unlink()
    before = snapshot(run)
    assert train_main(["--resume", str(run), "--epochs", "6", "--no-progress"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "metrics.csv is missing" in line and "epoch 4" in line and "0-3" in line
    assert snapshot(run) == before


def test_a_history_cut_before_the_checkpoint_is_refused(run, capsys):
    """Before: metrics.csv cut mid-row at epoch 2 with the checkpoint at epoch 4: exit 0, rows 2-3 silently
    missing."""
    _cut_mid_row(run, 2)
    before = snapshot(run)
    assert train_main(["--resume", str(run), "--epochs", "6", "--no-progress"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "lacks the rows of epochs 2-3 of the 4" in line and "metrics.csv" in line
    assert snapshot(run) == before


def test_rows_twice_are_not_one_history(run, capsys):
    lines = (run / "metrics.csv").read_text().splitlines(keepends=True)
    (run / "metrics.csv").write_text("".join(lines[:3] + lines[2:]))  # epoch 1 twice
    assert train_main(["--resume", str(run), "--epochs", "6", "--no-progress"]) == 2
    assert "out of order or twice" in one_line(capsys.readouterr().err)


def test_a_row_cut_after_the_checkpoint_is_dropped_and_recomputed(tmp_path):
    """What a crash leaves (the last row cut after the last checkpoint) still resumes to the uninterrupted
    run's file, byte for byte."""
    assert train_main(["-f", str(tmp_path / "a"), "--epochs", "3", *TINY]) == 0
    (whole,) = (tmp_path / "a" / "reinforce").iterdir()
    reference = (whole / "metrics.csv").read_bytes()
    assert train_main(["-f", str(tmp_path / "b"), "--epochs", "2", *TINY]) == 0
    (cut,) = (tmp_path / "b" / "reinforce").iterdir()
    text = (cut / "metrics.csv").read_text()
    (cut / "metrics.csv").write_text(text[:-10])  # the final row cut mid-row
    assert train_main(["--resume", str(cut), "--epochs", "3", "--no-progress"]) == 0
    assert (cut / "metrics.csv").read_bytes() == reference


@pytest.mark.parametrize("key,value", [("sigma", 0.25), ("gamma", 0.9), ("horizon", 30)])
def test_a_resume_of_an_edited_config_is_refused(run, capsys, key, value):
    config = yaml.safe_load((run / "config.yml").read_text())
    config[key] = value
    (run / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    before = snapshot(run)
    assert train_main(["--resume", str(run), "--epochs", "6", "--no-progress"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "config.yml was edited after training" in line and f"{key} " in line
    assert snapshot(run) == before


def test_what_resume_itself_changes_is_not_an_edit(run):
    """--resume --epochs rewrites config.yml (epochs): a resume after a crash right after that still goes."""
    config = yaml.safe_load((run / "config.yml").read_text())
    config["epochs"] = 5
    (run / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    assert train_main(["--resume", str(run), "--epochs", "6", "--no-progress"]) == 0
    assert [int(r["epoch"]) for r in read_metrics(run / "metrics.csv")] == list(range(7))
    assert load_checkpoint_state(run)["config"]["epochs"] == 6  # the checkpoint records what it was trained with


def _job(run, **changes) -> RunJob:
    config = RunConfig(**yaml.safe_load((run / "config.yml").read_text()))
    for key, value in changes.items():
        setattr(config, key, value)
    return RunJob(config, run)


def test_reuse_takes_the_run_asked_for(run):
    lines = []
    assert run_jobs([_job(run, log_folder="elsewhere", progress=False)], log=lines.append) == {run: "reused"}


@pytest.mark.parametrize("key,value", [("epochs", 50), ("batch_episodes", 16), ("horizon", 1000), ("sigma", 0.25)])
def test_reuse_of_a_run_of_another_config_is_refused(run, key, value):
    """Before: reuse was decided by model.zip alone (a quick run reused by the full reproduction)."""
    with pytest.raises(ValueError, match=rf"holds a finished run of another config \({key} .* -> {value}"):
        run_jobs([_job(run, **{key: value})], log=lambda line: None)


def test_reuse_of_an_edited_config_is_refused(run):
    """Before: a run whose config.yml was edited to say what the job asks was reused without a note."""
    config = yaml.safe_load((run / "config.yml").read_text())
    config["sigma"] = 0.25
    (run / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(ValueError, match=r"config.yml was edited after training \(sigma 0.5 -> 0.25\)"):
        run_jobs([_job(run)], log=lambda line: None)


def test_a_checkpoint_of_another_config_is_not_resumed(tmp_path):
    from suite import CONTRACT_PLUGIN as plugin

    rc = train_main(["-f", str(tmp_path), "--epochs", "4", *TINY, "--plugin", plugin, "--callback",
                     "signal-at:epoch=2"])
    assert rc == 130
    (cut,) = (tmp_path / "reinforce").iterdir()
    with pytest.raises(ValueError, match=r"holds a run of another config \(epochs 4 -> 9"):
        run_jobs([_job(cut, epochs=9)], log=lambda line: None)


@pytest.mark.slow  # the full figure 8 computes its 41 x 41 landscape before it reaches the runs (~30-90 s)
def test_the_quick_then_full_reproduction_refuses_the_quick_run(tmp_path):
    """The issue's example: ``reproduce figure8 --quick -o o`` then ``figure8 -o o`` reused the quick run's
    3-epoch training and printed its claims as "yes" (the fast suite checks the same rule on run_jobs above)."""
    from reliability_helpers import command

    out = tmp_path / "o"
    assert command("reproduce", "figure8", "--quick", "-o", str(out), "--no-progress").returncode == 0
    done = command("reproduce", "figure8", "-o", str(out), "--no-progress")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "runs/theta_star" in line and "another config (epochs 3 -> 50" in line
    assert "yes" not in done.stdout
