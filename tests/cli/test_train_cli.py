import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mollirl.train import main

COLUMNS = ["epoch", "timesteps", "J_det", "J_sigma", "ep_return_mean", "sigma", "grad_norm"]


def run_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*") if p.is_dir())


def read_csv(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_train_writes_complete_run_folder(tmp_path, tiny, capsys):
    assert main(["--algo", "reinforce", "--env", "quadrotor", "-f", str(tmp_path), *tiny]) == 0
    out = capsys.readouterr().out
    run = tmp_path / "reinforce" / "quadrotor_1"
    assert f"tensorboard --logdir {tmp_path}" in out and str(run) in out
    for name in ("model.zip", "initial.zip", "config.yml", "command.txt", "metrics.csv", "checkpoints/latest.json",
                 "checkpoints/epoch_000003.zip"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["epoch_000003.zip", "latest.json"]
    rows = read_csv(run / "metrics.csv")
    assert list(rows[0])[: len(COLUMNS)] == COLUMNS
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert all(float(r["J_det"]) < 0 for r in rows)
    assert all(r["grad_norm"] for r in rows[:3]) and rows[3]["grad_norm"] == ""
    assert float(rows[0]["sigma"]) == pytest.approx(0.1)  # the quadrotor preset
    # a second run gets the next index
    assert main(["--algo", "reinforce", "--env", "quadrotor", "-f", str(tmp_path), *tiny]) == 0
    assert (tmp_path / "reinforce" / "quadrotor_2").is_dir()


def test_tensorboard_events_read_back(tmp_path, tiny):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert main(["--env", "double-pendulum", "-f", str(tmp_path), *tiny]) == 0
    run = run_dirs(tmp_path)[0]
    acc = EventAccumulator(str(run))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    for tag in ("train/J_det", "train/J_sigma", "train/sigma", "train/grad_norm", "train/ep_return_mean",
                "rollout/ep_rew_mean"):
        assert tag in tags, tag
    assert len(acc.Scalars("train/J_det")) == 4
    rows = read_csv(run / "metrics.csv")
    np.testing.assert_allclose([e.value for e in acc.Scalars("train/J_det")], [float(r["J_det"]) for r in rows],
                               rtol=1e-6)
    # SB3's HParam writes a plugin summary at the end
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    plugins = set()
    for f in run.glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(f)).Load():
            for v in event.summary.value:
                if v.metadata.plugin_data.plugin_name:
                    plugins.add(v.metadata.plugin_data.plugin_name)
    assert "hparams" in plugins


def test_same_seed_same_metrics(tmp_path, tiny):
    for i in range(2):
        assert main(["--env", "double-pendulum", "-f", str(tmp_path / str(i)), "--seed", "5", *tiny]) == 0
    a, b = (read_csv(run_dirs(tmp_path / str(i))[0] / "metrics.csv") for i in range(2))
    assert [r["J_sigma"] for r in a] == [r["J_sigma"] for r in b]
    assert main(["--env", "double-pendulum", "-f", str(tmp_path / "2"), "--seed", "6", *tiny]) == 0
    c = read_csv(run_dirs(tmp_path / "2")[0] / "metrics.csv")
    assert [r["J_sigma"] for r in a] != [r["J_sigma"] for r in c]


@pytest.mark.parametrize("sigma_args,first,last", [
    (["--sigma-schedule", "linear:1.0:0.2"], 1.0, 0.2),
    (["--sigma", "0.3", "--learn-sigma"], 0.3, None),
])
def test_scheduled_and_learnable_sigma(tmp_path, tiny, sigma_args, first, last):
    assert main(["--env", "double-pendulum", "-f", str(tmp_path), *tiny, *sigma_args]) == 0
    rows = read_csv(run_dirs(tmp_path)[0] / "metrics.csv")
    sig = [float(r["sigma"]) for r in rows]
    assert sig[0] == pytest.approx(first)
    if last is not None:
        assert sig[2] == pytest.approx(last)
    else:
        assert sig[-1] != pytest.approx(first)  # trained


def test_ppo_trains_and_reloads(tmp_path, tiny):
    from mollirl.algos.ppo import MollifiedPPO

    assert main(["--algo", "ppo", "--env", "double-pendulum", "-f", str(tmp_path), *tiny, "-params", "n_epochs:2",
                 "batch_size:40"]) == 0
    run = tmp_path / "ppo" / "double-pendulum_1"
    model = MollifiedPPO.load(run / "model.zip")
    assert model.n_epochs == 2  # PPO's own n_epochs (passes over the batch), not the contract's epochs
    assert model.epoch == 3
    np.testing.assert_allclose(model.policy.sigma, [0.5, 0.5])  # fixed sigma survives save/load
    assert len(read_csv(run / "metrics.csv")) == 4


def test_reinforce_save_load_keeps_parameters(tmp_path, tiny):
    from mollirl.algos.reinforce import REINFORCE

    assert main(["--env", "quadrotor", "-f", str(tmp_path), *tiny]) == 0
    model = REINFORCE.load(tmp_path / "reinforce" / "quadrotor_1" / "model.zip")
    assert "log_std" not in dict(model.policy.named_parameters())
    np.testing.assert_allclose(model.policy.sigma, [0.1, 0.1])
    assert model.policy.get_mean_vector().shape == (14,)


@pytest.mark.parametrize("args,needle", [
    (["--sigma", "0"], "sigma"),
    (["--sigma", "nan"], "sigma"),
    (["--sigma", "inf"], "sigma"),
    (["--epochs", "0"], "epochs"),
    (["--batch-episodes", "-1"], "--batch-episodes"),
    (["--env", "quadrotr"], "did you mean 'quadrotor'"),
    (["--algo", "reinforc"], "did you mean 'reinforce'"),
    (["--policy", "mlpp"], "did you mean 'mlp'"),
    (["--callback", "stabilty"], "did you mean 'stability'"),
    (["--plugin", "no_such_module_xyz"], "cannot import plugin"),
    (["-params", "nocolon"], "malformed -params"),
    (["-conf", "/nonexistent/conf.yml"], "cannot read config file"),
    (["--learn-sigma", "--sigma-schedule", "exp:1:0.1"], "exclude each other"),
    (["--sigma-schedule", "exp:1"], "START:END"),
    (["--resume", "/nonexistent/run"], "not a run folder"),
    (["--env-kwargs", "mass:-1"], "mass"),
    (["--env-kwargs", "nosuchkw:1"], "env-kwargs"),
    (["--bogus-flag"], "unrecognized arguments"),
    (["--callback", "landscape:grid=2"], "grid"),
    (["--callback", "landscape:nosuchoption=1"], "landscape"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, tiny, capsys, args, needle):
    rc = main(["-f", str(tmp_path / "runs"), *tiny, *args])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


def test_unreadable_yaml_and_corrupt_resume(tmp_path, tiny, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("sigma: [unclosed\n")
    assert main(["-conf", str(bad), *tiny]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yml").write_text("sigma: 0.1\n")
    assert main(["--resume", str(run)]) == 2
    assert "no readable checkpoint" in capsys.readouterr().err


def test_yaml_overrides_preset_and_flags_override_yaml(tmp_path, tiny):
    conf = tmp_path / "c.yml"
    conf.write_text("sigma: 0.7\nbaseline: none\nenv: quadrotor\n")
    assert main(["-conf", str(conf), "-f", str(tmp_path / "a"), *tiny]) == 0
    import yaml

    cfg = yaml.safe_load((tmp_path / "a" / "reinforce" / "quadrotor_1" / "config.yml").read_text())
    assert cfg["sigma"] == 0.7 and cfg["baseline"] == "none" and cfg["step_size"] == 0.001  # preset kept
    assert main(["-conf", str(conf), "--sigma", "0.2", "-f", str(tmp_path / "b"), *tiny]) == 0
    cfg = yaml.safe_load((tmp_path / "b" / "reinforce" / "quadrotor_1" / "config.yml").read_text())
    assert cfg["sigma"] == 0.2


def test_list_shows_registries(capsys):
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    for name in ("reinforce", "ppo", "quadrotor", "double-pendulum", "hopper-stand", "linear", "mlp", "stability"):
        assert name in out


def test_entry_point_plugin_seen_by_list_in_subprocess(tmp_path):
    site = tmp_path / "site"
    pkg = site / "thirdparty_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        import gymnasium as gym
        from stable_baselines3.common.callbacks import BaseCallback
        from mollirl.registry import register
        from mollirl.envs import EnvPlugin

        class Noop(BaseCallback):
            def _on_step(self):
                return True

        register("envs", "thirdparty-env", EnvPlugin(gym_id="Pendulum-v1"), help="from an entry point")
        register("callbacks", "thirdparty-cb", lambda ctx: Noop(), help="from an entry point")
    '''))
    dist = site / "thirdparty_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mollirl.plugins]\nthirdparty = thirdparty_plugin\n")
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run([sys.executable, "-m", "mollirl.train", "--list"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "thirdparty-env" in out.stdout and "thirdparty-cb" in out.stdout


def test_real_command_in_subprocess(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "mollirl.train", "--algo", "reinforce", "--env", "quadrotor", "-f", str(tmp_path),
         "--horizon", "10", "--batch-episodes", "2", "--epochs", "2", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "J_det" in out.stdout and "tensorboard --logdir" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "mollirl.train", "--sigma", "-1"], capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_a_new_config_field_reaches_the_flags_help_show_hyperparams_and_conf(tmp_path, monkeypatch, capsys):
    """RunConfig's fields are the single source: a field added to it (here by subclassing, as a developer adds
    one to the class) is a flag with its help, a row of --show-hyperparams and a -conf key, with no other list
    to edit."""
    import dataclasses

    from mollirl import config as config_module
    from mollirl import train as train_module

    extended = dataclasses.make_dataclass(
        "RunConfig", [("noise_clip", float, config_module.option(0.25, "--noise-clip", type=float,
                                                                  help="clip of the test's new setting"))],
        bases=(config_module.RunConfig,))
    monkeypatch.setattr(config_module, "RunConfig", extended)
    monkeypatch.setattr(train_module, "RunConfig", extended)
    with pytest.raises(SystemExit):
        train_module.build_parser().parse_args(["--help"])
    assert "--noise-clip NOISE_CLIP" in capsys.readouterr().out.replace("\n", " ")
    assert "clip of the test's new setting" in train_module.build_parser().format_help()
    assert train_module.main(["--show-hyperparams", "--noise-clip", "0.5"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("noise_clip")]
    assert row and row[0].split()[1:] == ["0.5", "the", "command", "line"]
    conf = tmp_path / "conf.yml"
    conf.write_text("noise_clip: 0.75\n")
    assert train_module.main(["--show-hyperparams", "-conf", str(conf)]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("noise_clip")]
    assert row and row[0].split()[1:3] == ["0.75", "-conf"]
    assert config_module.flag_name("noise_clip") == "--noise-clip"
