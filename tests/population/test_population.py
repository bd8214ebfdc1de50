"""Populations: a member is its separate run, byte for byte; members stop alone; resume is exact."""

import signal
import subprocess
import sys

import numpy as np
import pytest
from suite import ALGOS, CONTRACT_PLUGIN, tiny_args

from mollirl.train import main
from mollirl.training.metrics import read_metrics


def _member(folder, sigma, seed):
    return folder / f"sigma_{sigma:g}_seed_{seed}"


def _population(root):
    (folder,) = [p for p in (root).rglob("population.json")]
    return folder.parent


@pytest.mark.parametrize("env", ["double-pendulum", "quadrotor", "single-pendulum", "hopper-stand", "test-point"])
@pytest.mark.parametrize("algo", ALGOS)
def test_a_member_is_its_separate_run_byte_for_byte(tmp_path, algo, env):
    args = tiny_args(env, algo, epochs=2)
    assert main(["-f", str(tmp_path / "pop"), *args, "--sigma", "0.05,0.3", "--seeds", "0,3"]) == 0
    pop = _population(tmp_path / "pop")
    for sigma in (0.05, 0.3):
        for seed in (0, 3):
            solo = tmp_path / "solo" / f"{sigma}_{seed}"
            assert main(["-f", str(solo), *args, "--sigma", str(sigma), "--seed", str(seed)]) == 0
            (solo_run,) = (solo / algo).iterdir()
            member = _member(pop, sigma, seed)
            assert (member / "metrics.csv").read_bytes() == (solo_run / "metrics.csv").read_bytes()
            for name in ("config.yml", "model.zip", "initial.zip", "checkpoints/latest.json"):
                assert (member / name).is_file(), name
            assert (member / "command.txt").read_text().startswith("python -m mollirl.train ")


def test_a_diverging_member_stops_alone(tmp_path, capsys):
    """sigma 50 saturates the actions, where the test env's reward turns NaN; sigma 0.01 never does."""
    args = ["--env", "test-nan-above", "--horizon", "40", "--batch-episodes", "4", "--epochs", "3", "--no-progress",
            "--plugin", CONTRACT_PLUGIN, "-f", str(tmp_path), "--sigma", "0.01,50"]
    assert main(args) == 1
    out = capsys.readouterr().out
    pop = _population(tmp_path)
    stopped, fine = _member(pop, 50, 0), _member(pop, 0.01, 0)
    assert (stopped / "stopped.txt").is_file() and not (stopped / "model.zip").exists()
    assert "non-finite reward or observation" in (stopped / "stopped.txt").read_text()
    assert (fine / "model.zip").is_file() and len(read_metrics(fine / "metrics.csv")) == 4
    assert "stopped: " in out and "finished" in out


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_interrupted_population_resumes_exactly(tmp_path, how):
    args = [*tiny_args("double-pendulum", "reinforce", epochs=4), "--sigma", "0.1,0.5", "--seeds", "2"]
    assert main(["-f", str(tmp_path / "full"), *args]) == 0
    kill = "kill-at" if how == "SIGKILL" else "signal-at"
    cut = subprocess.run([sys.executable, "-m", "mollirl.train", "-f", str(tmp_path / "cut"), *args,
                          "--callback", f"{kill}:epoch=2"], capture_output=True, text=True, timeout=300)
    assert cut.returncode == (-signal.SIGKILL if how == "SIGKILL" else 130), cut.stderr
    full, pop = _population(tmp_path / "full"), _population(tmp_path / "cut")
    assert not any(p.name == "model.zip" for p in pop.rglob("*"))
    assert main(["--resume", str(pop), "--no-progress"]) == 0
    for member in sorted(p for p in full.iterdir() if p.is_dir()):
        assert (pop / member.name / "metrics.csv").read_bytes() == (member / "metrics.csv").read_bytes()
    # a member alone resumes too: extend one member by two epochs
    one = pop / "sigma_0.5_seed_1"
    assert main(["--resume", str(one), "--epochs", "6", "--no-progress"]) == 0
    assert [int(r["epoch"]) for r in read_metrics(one / "metrics.csv")] == list(range(7))


@pytest.mark.parametrize("args,needle", [
    (["--sigma", "0.1,abc"], "--sigma '0.1,abc': each value must be a number > 0, got 'abc'"),
    (["--sigma", "0.1,-1"], "finite number > 0"),
    (["--sigma", "0.1,0.1"], "repeats a value"),
    (["--seeds", "1,,2"], "--seeds '1,,2'"),
    (["--seeds", "1,1"], "repeats a seed"),
    (["--seeds", "0"], "count must be >= 1"),
    (["--seeds", "x"], "--seeds 'x'"),
    (["--seeds", "2", "--seed", "3"], "not both"),
    (["--sigma", "0.1,0.2", "--learn-sigma"], "excludes --learn-sigma"),
    (["--sigma", "0.1,0.2", "--sigma-schedule", "exp:1:0.1"], "excludes --sigma-schedule"),
    (["--seeds", "30000", "--horizon", "100000"], "GiB of buffers; the limit is"),
])
def test_bad_population_input_one_line_exit_2_nothing_written(tmp_path, capsys, args, needle):
    rc = main(["-f", str(tmp_path / "runs"), "--epochs", "1", "--horizon", "10", "--no-progress", *args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_single_values_keep_the_single_run(tmp_path):
    assert main(["-f", str(tmp_path), "--env", "quadrotor", "--horizon", "10", "--epochs", "1", "--no-progress",
                 "--sigma", "0.2", "--seeds", "1"]) == 0
    (run,) = (tmp_path / "reinforce").iterdir()
    assert run.name == "quadrotor_1" and (run / "model.zip").is_file() and not (run / "population.json").exists()
    rows = read_metrics(run / "metrics.csv")
    assert rows[0]["sigma"] == pytest.approx(0.2)
    assert np.isfinite(rows[-1]["J_det"])


@pytest.mark.parametrize("algo,extra", [
    ("reinforce", {}),
    ("reinforce", {"policy": "mlp", "learn_sigma": True, "policy_kwargs": {"sigma_per_dim": True}}),
    ("reinforce", {"update": "adam", "step_size": 0.01, "baseline": "none"}),
    ("ars", {}),
    ("ars", {"policy": "mlp"}),
])
def test_a_members_numbers_depend_neither_on_the_population_size_nor_its_position(tmp_path, algo, extra):
    """REINFORCE and ARS update all members in one call over stacked parameters: the member under test
    (sigma 0.3, seed 7) gives the same metrics.csv alone (a population of one, through the same kernel),
    first of three, and last of six beside members of other sigmas, seeds and step sizes."""
    from mollirl.config import RunConfig
    from mollirl.population import Member, Population
    from mollirl.training import train

    base = dict(algo=algo, env="double-pendulum", horizon=20, batch_episodes=4, epochs=3, progress=False,
                policy_init="random", **extra)

    def config(sigma, seed, **more):
        return RunConfig(**{**base, "sigma": sigma, "seed": seed, **more}).validate()

    me = config(0.3, 7)
    train(me, run_dir=tmp_path / "alone", argv=[])
    others = [config(0.1, 0), config(0.3, 1), config(1.0, 7, step_size=me.step_size * 2), config(0.05, 3),
              config(0.3, 8)]
    for name, configs, where in [("first of 3", [me, *others[:2]], 0), ("last of 6", [*others, me], 5)]:
        members = [Member(c, tmp_path / name / str(i), label=str(i)) for i, c in enumerate(configs)]
        population = Population(members)
        try:
            assert [o.status for o in population.train()] == ["finished"] * len(configs)
        finally:
            population.close()
        mine = (tmp_path / name / str(where) / "metrics.csv").read_bytes()
        assert mine == (tmp_path / "alone" / "metrics.csv").read_bytes(), name
    # the other members did train (their rows differ from the member's)
    assert (tmp_path / "last of 6" / "0" / "metrics.csv").read_bytes() != mine


def test_batched_writes_flush_together_rename_in_order_and_drop_on_error(tmp_path):
    """A population's checkpoints go through files.batched_writes: nothing renamed before the batch ends,
    a replaced file removed only after the renames, and an exception inside leaves the old files and no
    temporary file."""
    from mollirl.common.files import batched_writes, unlink_after_writes, write_atomic

    (tmp_path / "old.zip").write_text("old")
    (tmp_path / "latest.json").write_text("old")
    with batched_writes():
        write_atomic(tmp_path / "new.zip", "new", defer=True)
        write_atomic(tmp_path / "latest.json", "new", defer=True)
        unlink_after_writes(tmp_path / "old.zip")
        assert not (tmp_path / "new.zip").exists() and (tmp_path / "latest.json").read_text() == "old"
        assert (tmp_path / "old.zip").exists()
    assert (tmp_path / "new.zip").read_text() == "new" and (tmp_path / "latest.json").read_text() == "new"
    assert not (tmp_path / "old.zip").exists()
    with pytest.raises(RuntimeError):
        with batched_writes():
            write_atomic(tmp_path / "latest.json", "lost", defer=True)
            raise RuntimeError("a fault in the batch")
    assert (tmp_path / "latest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "new.zip"]
