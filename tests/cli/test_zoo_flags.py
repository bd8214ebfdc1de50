"""rl-zoo3's train flags, hyperparameter files and any Gymnasium id with the defaults (issue 14, items 2-4)."""

from __future__ import annotations

import io
import math
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import yaml
from suite import ALGOS, CONTRACT_PLUGIN

from mollirl import hyperparams, registry
from mollirl.train import build_parser, main
from mollirl.training.metrics import read_metrics

TINY = ["--env", "quadrotor", "--horizon", "20", "--batch-episodes", "4", "--no-progress"]
STEPS_PER_EPOCH = 4 * 20
BUILT_IN_ENVS = [e.name for e in registry.entries("envs") if isinstance(e.obj.preset, hyperparams.FilePreset)]


def _run(root: Path, algo: str = "reinforce") -> Path:
    (run,) = sorted((root / algo).iterdir())
    return run


def test_n_timesteps_rounds_up_to_whole_epochs(tmp_path, capsys):
    assert main([*TINY, "-n", "100", "-f", str(tmp_path)]) == 0
    run = _run(tmp_path)
    config = yaml.safe_load((run / "config.yml").read_text())
    assert config["epochs"] == math.ceil(100 / STEPS_PER_EPOCH) == 2
    assert read_metrics(run / "metrics.csv")[-1]["timesteps"] == 2 * STEPS_PER_EPOCH >= 100
    capsys.readouterr()
    for args, message in ((["-n", "100", "--epochs", "3"], "not both"), (["-n", "0"], "-n/--n-timesteps")):
        assert main([*TINY, *args, "-f", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not (tmp_path / "x").exists()


def test_eval_freq_writes_sb3_evaluations_and_best_model(tmp_path):
    from mollirl.landscape import problem_from_run

    assert main([*TINY, "--epochs", "5", "--eval-freq", "2", "--eval-episodes", "3", "--save-freq", "1",
                 "-f", str(tmp_path)]) == 0
    run = _run(tmp_path)
    rows = {r["epoch"]: r for r in read_metrics(run / "metrics.csv")}
    with np.load(run / "evaluations.npz") as data:
        assert sorted(data.files) == ["ep_lengths", "results", "timesteps"]  # SB3 EvalCallback's keys
        timesteps, results, lengths = data["timesteps"], data["results"], data["ep_lengths"]
    assert timesteps.tolist() == [2 * STEPS_PER_EPOCH, 4 * STEPS_PER_EPOCH]  # epochs 2 and 4 (not 0, as SB3)
    assert results.shape == lengths.shape == (2, 3) and (lengths == 20).all()
    for k, row in zip((2, 4), results):  # episode 0 is the J_det row; the fixed evaluation start repeats it
        assert row[0] == rows[k]["J_det_undiscounted"] and np.all(row == row[0])
    best = 2 if results[0].mean() >= results[1].mean() else 4
    problem = problem_from_run(run, "best")
    assert problem.label.startswith(f"best (epoch {best})")
    assert np.array_equal(problem.policy.get_mean_vector(),
                          problem_from_run(run, f"epoch:{best}").policy.get_mean_vector())


def test_eval_resume_keeps_earlier_evaluations(tmp_path):
    args = [*TINY, "--epochs", "3", "--eval-freq", "1", "--eval-episodes", "1", "--checkpoint-every", "1"]
    assert main([*args, "-f", str(tmp_path / "a")]) == 0
    whole = np.load(_run(tmp_path / "a") / "evaluations.npz")["results"]
    assert main([*TINY[:-1], "--epochs", "2", "--eval-freq", "1", "--eval-episodes", "1", "--checkpoint-every", "1",
                 "--no-progress", "-f", str(tmp_path / "b")]) == 0
    run = _run(tmp_path / "b")
    assert main(["--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    with np.load(run / "evaluations.npz") as data:
        assert data["timesteps"].tolist() == [STEPS_PER_EPOCH * k for k in (1, 2, 3)]
        np.testing.assert_array_equal(data["results"], whole)


def test_save_freq_keeps_checkpoints_landscape_resolves_them(tmp_path):
    from mollirl.landscape.problem import available_epochs

    assert main([*TINY, "--epochs", "5", "--save-freq", "2", "--checkpoint-every", "0", "-f", str(tmp_path)]) == 0
    run = _run(tmp_path)
    zips = sorted(p.name for p in (run / "checkpoints").glob("*.zip"))
    assert zips == ["epoch_000002.zip", "epoch_000004.zip", "epoch_000005.zip"]
    assert {2, 4, 5} <= set(available_epochs(run))
    assert main(["--resume", str(run), "--epochs", "6", "--no-progress"]) == 0  # kept ones survive a resume
    zips = sorted(p.name for p in (run / "checkpoints").glob("*.zip"))
    assert zips == ["epoch_000002.zip", "epoch_000004.zip", "epoch_000006.zip"]


def test_tensorboard_log_uses_the_zoo_layout(tmp_path):
    tb = tmp_path / "tb"
    assert main([*TINY, "--epochs", "2", "--tensorboard-log", str(tb), "-f", str(tmp_path / "runs")]) == 0
    run = _run(tmp_path / "runs")
    events = list((tb / "quadrotor" / "reinforce_1").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    assert not list(run.glob("events.out.tfevents.*"))
    assert (run / "metrics.csv").is_file()


def test_log_interval_prints_every_nth_epoch(tmp_path, capsys):
    assert main([*TINY, "--epochs", "4", "--log-interval", "2", "-f", str(tmp_path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    rows = read_metrics(_run(tmp_path) / "metrics.csv")
    assert [int(line.split()[1]) for line in lines] == [1, 3]
    assert [float(line.split("J_det ")[1].split()[0]) for line in lines] == pytest.approx(
        [rows[1]["J_det"], rows[3]["J_det"]], rel=1e-5)
    assert len(rows) == 5  # metrics.csv keeps every epoch (and the final row)


@pytest.mark.parametrize("algo", ALGOS)
def test_trained_agent_starts_a_new_run_from_that_model(tmp_path, algo):
    from mollirl.landscape import problem_from_run

    args = ["--algo", algo, *TINY, "--epochs", "2"]
    assert main([*args, "-f", str(tmp_path / "a")]) == 0
    source = _run(tmp_path / "a", algo)
    assert main([*args, "-i", str(source / "model.zip"), "-f", str(tmp_path / "b")]) == 0
    run = _run(tmp_path / "b", algo)
    theta = problem_from_run(source, "final").policy.get_mean_vector()
    assert np.array_equal(problem_from_run(run, "initial").policy.get_mean_vector(), theta)
    assert read_metrics(run / "metrics.csv")[0]["J_det"] == read_metrics(source / "metrics.csv")[-1]["J_det"]
    assert read_metrics(run / "metrics.csv")[0]["epoch"] == 0  # a new run: epochs count from 0


def test_trained_agent_that_does_not_fit_is_one_line(tmp_path, capsys):
    assert main([*TINY, "--epochs", "1", "-f", str(tmp_path / "a")]) == 0
    model = _run(tmp_path / "a") / "model.zip"
    capsys.readouterr()
    for args, message in ((["--env", "double-pendulum"], "does not fit"), (["--algo", "ppo"], "does not fit")):
        assert main([*TINY, *args, "-i", str(model), "-f", str(tmp_path / "b")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "-i/--trained-agent" in err[0] and message in err[0], err
    assert main([*TINY, "-i", str(tmp_path / "missing.zip"), "-f", str(tmp_path / "b")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_population_gets_every_flag(tmp_path, capsys):
    tb = tmp_path / "tb"
    assert main([*TINY, "--epochs", "2", "--seeds", "0,1", "--eval-freq", "1", "--eval-episodes", "2",
                 "--save-freq", "1", "--log-interval", "1", "--tensorboard-log", str(tb), "-f", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    folder = _run(tmp_path)
    members = sorted(p for p in folder.iterdir() if p.is_dir())
    assert len(members) == 2
    for member in members:
        with np.load(member / "evaluations.npz") as data:
            assert data["results"].shape == (2, 2)
        assert (member / "best_model.zip").is_file()
        assert sorted(p.name for p in (member / "checkpoints").glob("*.zip")) == ["epoch_000001.zip",
                                                                                   "epoch_000002.zip"]
        assert list((tb / "quadrotor" / "reinforce_1" / member.name).glob("events.out.tfevents.*"))
        assert f"{member.name}: epoch     0" in out


def test_unknown_flag_answered_with_the_closest(tmp_path, capsys):
    for wrong, right in (("--eval-frq", "--eval-freq"), ("--n-timestpes", "--n-timesteps"),
                         ("--tensorbord-log", "--tensorboard-log")):
        assert main([wrong, "1", "-f", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"did you mean {right}?" in err[0], err
    assert not any(tmp_path.iterdir())


def test_every_command_suggests_the_closest_flag():
    """Every command's parser (they share mollirl.cli.ArgumentParser)."""
    from mollirl.cli import UsageError
    from mollirl.enjoy import build_parser as enjoy_parser
    from mollirl.landscape.__main__ import build_parser as landscape_parser
    from mollirl.study import build_parser as study_parser

    for parser in (build_parser(), enjoy_parser(), landscape_parser(), study_parser()):
        flag = next(s for a in parser._actions for s in a.option_strings if len(s) > 6)
        with pytest.raises(UsageError, match=f"did you mean {flag}\\?"):
            parser.parse_args([flag[:-1] + "x" + flag[-1]])


def test_package_files_are_the_single_source_of_the_presets():
    """Every built-in env and algorithm reads its numbers from mollirl/hyperparams/<algo>.yml."""
    for algo in ALGOS:
        entry = registry.get("algos", algo)
        if not isinstance(entry.defaults, hyperparams.FilePreset):
            continue  # a test plugin's algorithm
        data = hyperparams.read_file(hyperparams.algo_file(algo))
        assert dict(entry.defaults) == dict(data["default"])
        for env in BUILT_IN_ENVS:
            assert env in data, (algo, env)
            # what older callers compute ({**env preset, **algo defaults}) is the file's own section
            legacy = {**registry.get("envs", env).preset, **entry.defaults}
            assert legacy == hyperparams.preset(algo, env), (algo, env)


@pytest.mark.parametrize("algo", [a for a in ALGOS if hyperparams.algo_file(a).is_file()])
def test_show_hyperparams_names_each_source(algo, capsys):
    for env in BUILT_IN_ENVS:
        assert main(["--show-hyperparams", "--algo", algo, "--env", env, "--sigma", "0.3"]) == 0
        table = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
        assert table["sigma"].split()[1] == "0.3" and table["sigma"].endswith("the command line")
        section = f"mollirl/hyperparams/{algo}.yml [{env}]"
        ignores = registry.get("algos", algo).ignores
        for key, value in hyperparams.preset(algo, env).items():
            if key in ignores:  # a key the algorithm does not use is not listed (issue 24)
                assert key not in table
            elif key != "sigma":
                assert table[key].endswith(section), table[key]
        assert table["seed"].endswith("default")


def test_conf_in_zoo_layout_or_flat(tmp_path, capsys):
    zoo = tmp_path / "zoo.yml"
    zoo.write_text("double-pendulum:\n  sigma: 0.25\n  n_timesteps: 160\nquadrotor:\n  sigma: 0.05\n")
    assert main(["-conf", str(zoo), "--env", "double-pendulum", "--horizon", "20", "--batch-episodes", "4",
                 "--show-hyperparams"]) == 0
    table = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert table["sigma"].split()[1] == "0.25" and f"-conf {zoo} [double-pendulum]" in table["sigma"]
    assert table["epochs"].split()[1] == "2"  # n_timesteps 160 / 80 steps per epoch
    assert main(["-conf", str(zoo), "--env", "single-pendulum", "-f", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "has no section for env 'single-pendulum'" in err and not (tmp_path / "r").exists()
    flat = tmp_path / "flat.yml"
    flat.write_text("sigma: 0.7\nenv: quadrotor\n")
    assert main(["-conf", str(flat), "--show-hyperparams"]) == 0
    table = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert table["sigma"].split()[1] == "0.7" and table["env"].split()[1] == "'quadrotor'"


def test_any_gymnasium_id_with_the_defaults(tmp_path, capsys):
    import gymnasium as gym

    assert main(["--env", "Pendulum-v1", "--epochs", "1", "--batch-episodes", "2", "--no-progress",
                 "-f", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no reference policy: the initial mean is random" in err[0], err
    config = yaml.safe_load((_run(tmp_path) / "config.yml").read_text())
    assert config["policy_init"] == "random"
    assert config["horizon"] == gym.spec("Pendulum-v1").max_episode_steps == 200
    assert main(["--env", "Pendulum-v1", "--horizon", "30", "--show-hyperparams"]) == 0
    assert "30" in next(line for line in capsys.readouterr().out.splitlines() if line.split()[0] == "horizon")
    # asked for explicitly, the reference policy is refused naming the flag
    assert main(["--env", "Pendulum-v1", "--policy-init", "reference", "-f", str(tmp_path / "x")]) == 2
    assert "--policy-init random or zero" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_plugin_env_keeps_its_own_max_episode_steps(tmp_path, capsys):
    """A plugin env without a horizon in its preset runs its Gymnasium registration's max_episode_steps."""
    from mollirl.common.env_util import default_horizon

    registry.load_all_plugins([CONTRACT_PLUGIN])
    assert main(["--env", "test-point", "--plugin", CONTRACT_PLUGIN, "--show-hyperparams"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.split()[0] == "horizon")
    steps = default_horizon("test-point")
    assert steps is None or (line.split()[1] == str(steps) and "max_episode_steps" in line)


@pytest.mark.parametrize("args, flag", [
    (["--batch-episodes", "0"], "--batch-episodes"), (["--gamma", "2"], "--gamma"), (["--seed", "-1"], "--seed"),
    (["--step-size", "0"], "--step-size"), (["--eval-freq", "-1"], "--eval-freq"),
    (["--eval-episodes", "0"], "--eval-episodes"), (["--save-freq", "-2"], "--save-freq"),
    (["--log-interval", "-1"], "--log-interval"), (["--sigma", "0"], "--sigma"),
    (["--sigma-schedule", "foo"], "--sigma-schedule"), (["--sigma-schedule", "exp:1:-1"], "--sigma-schedule"),
    (["--update", "foo"], "--update"), (["--env-kwargs", "dt:-1"], "--env-kwargs"),
])
def test_errors_name_the_flag(tmp_path, capsys, args, flag):
    assert main([*TINY, *args, "-f", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0], err
    assert not any(tmp_path.iterdir())


def test_resume_refuses_the_new_flags(tmp_path, capsys):
    assert main([*TINY, "--epochs", "1", "-f", str(tmp_path)]) == 0
    run = _run(tmp_path)
    capsys.readouterr()
    for args in (["--eval-freq", "2"], ["-i", str(run / "model.zip")], ["-n", "100"]):
        assert main(["--resume", str(run), "--epochs", "2", *args]) == 2
        assert "refused" in capsys.readouterr().err
    buf = io.StringIO()
    with redirect_stdout(buf):
        build_parser().print_help()
    for flag in ("-n", "--eval-freq", "--eval-episodes", "--save-freq", "--tensorboard-log", "--log-interval",
                 "--trained-agent", "--show-hyperparams"):
        assert flag in buf.getvalue()
