"""rl-zoo3's hyperparameter files as the zoo writes them (issue 24, item 1), on copies of real zoo sections
(``zoo_ppo_sections.yml``: rl-zoo3 2.9.2's ``hyperparams/ppo.yml`` Pendulum-v1 and Hopper-v4, verbatim)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from mollirl.hyperparams import zoo
from mollirl.train import main

ZOO = Path(__file__).parent / "zoo_ppo_sections.yml"


def _table(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines()[1:] if line.startswith("  ")}


# --- the literal parser: the zoo's strings, without eval ------------------------------------------------
def test_parse_literal_reads_the_zoo_forms():
    text = yaml.safe_load(ZOO.read_text())["Hopper-v4"]["policy_kwargs"]
    value = zoo.parse_literal(text, "policy_kwargs")
    assert value == {"log_std_init": -2, "ortho_init": False, "activation_fn": "nn.ReLU",
                     "net_arch": {"pi": [256, 256], "vf": [256, 256]}}
    assert isinstance(value["activation_fn"], zoo.ZooName)
    assert zoo.parse_literal("{'a': (1, -2.5e-3), 'b': None}", "x") == {"a": [1, -0.0025], "b": None}


@pytest.mark.parametrize("text", ["__import__('os').system('touch pwned')", "dict(a=open('f'))", "1 + 2",
                                  "lambda: 0", "dict(**x)", "[x for x in y]", "nn.ReLU()"])
def test_parse_literal_runs_no_code(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="policy_kwargs of -conf F"):
        zoo.parse_literal(text, "policy_kwargs of -conf F")
    assert not (tmp_path / "pwned").exists()


def test_schedules_and_numbers():
    assert zoo.schedule_start("lin_0.3") == 0.3 and zoo.schedule_start("lin_1e-3") == 1e-3
    assert zoo.schedule_start("exp_0.3") is None and zoo.schedule_start(0.3) is None
    schedule = zoo.make_schedule("lin_0.3")
    assert schedule(1.0) == pytest.approx(0.3) and schedule(0.5) == pytest.approx(0.15)  # progress_remaining * 0.3
    assert schedule(0.0) == pytest.approx(0.0)
    assert zoo.integral(48000.0) == 48000 and isinstance(zoo.integral(48000.0), int) and zoo.integral(0.5) == 0.5
    assert zoo.as_number("1e-3") == 0.001  # YAML 1.1 reads 1e-3 as a string


# --- the real sections ------------------------------------------------------------------------------
def test_the_zoo_pendulum_section_works_unchanged(capsys, tmp_path):
    assert main(["--algo", "ppo", "--env", "Pendulum-v1", "-conf", str(ZOO), "--show-hyperparams"]) == 0
    captured = capsys.readouterr()
    table = _table(captured.out)
    where = f"-conf {ZOO} [Pendulum-v1]"
    assert table["use_sde"].split()[1] == "True" and table["sde_sample_freq"].split()[1] == "4"
    assert table["gamma"].split()[1] == "0.9" and table["step_size"].split()[1] == "0.001"
    assert table["policy"].split()[1] == "'mlp'" and where in table["policy"]
    # n_envs 4 x n_steps 1024 = 4096 steps per update: 20 whole episodes of Pendulum's 200 steps
    assert table["batch_episodes"].split()[1] == "20" and table["horizon"].split()[1] == "200"
    # n_timesteps !!float 1e5: 100000 / 4000 steps per epoch = 25 epochs
    assert table["epochs"].split()[1] == "25" and "n_timesteps 100000" in table["epochs"]
    kwargs = table["algo_kwargs"]
    for part in ("gae_lambda: 0.95", "n_epochs: 10", "clip_range: 0.2", "ent_coef: 0.0"):
        assert part in kwargs, kwargs
    assert "4096 env steps per update" in captured.out and "MlpPolicy" in captured.out  # notes, one line each
    # and it trains (a short budget: -n overrides the section's n_timesteps, as in rl-zoo3)
    assert main(["--algo", "ppo", "--env", "Pendulum-v1", "-conf", str(ZOO), "-n", "4000", "--no-progress",
                 "-f", str(tmp_path)]) == 0
    config = yaml.safe_load(next((tmp_path / "ppo").iterdir()).joinpath("config.yml").read_text())
    assert config["use_sde"] is True and config["epochs"] == 1 and config["algo_kwargs"]["n_epochs"] == 10


def test_the_zoo_hopper_section_is_answered_in_one_line(capsys, tmp_path):
    rc = main(["--algo", "ppo", "--env", "Hopper-v4", "-conf", str(ZOO), "-f", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    where = f"-conf {ZOO} [Hopper-v4]"
    for key in ("normalize of " + where, "activation_fn=nn.ReLU", "net_arch pi=[256, 256]"):
        assert key in err[0], err[0]
    assert not (tmp_path / "r").exists()


def test_the_hopper_section_without_what_mollirl_cannot_do(tmp_path, capsys):
    """The same section with normalize off and a one-layer tanh mean: every other key read the zoo's way."""
    section = yaml.safe_load(ZOO.read_text())["Hopper-v4"]
    section["normalize"] = False
    section["policy_kwargs"] = "dict(log_std_init=-2, ortho_init=False, net_arch=dict(pi=[16], vf=[64, 64]))"
    conf = tmp_path / "hopper.yml"
    conf.write_text(yaml.safe_dump({"hopper-stand": section}))
    assert main(["--algo", "ppo", "--env", "hopper-stand", "-conf", str(conf), "--show-hyperparams"]) == 0
    table = _table(capsys.readouterr().out)
    assert float(table["sigma"].split()[1]) == pytest.approx(math.exp(-2))  # log_std_init: sigma = exp(-2)
    assert "hidden: 16" in table["policy_kwargs"] and "critic_arch: [64, 64]" in table["policy_kwargs"]
    assert table["batch_episodes"].split()[1] == "1"  # n_envs 1 x n_steps 512 of 1000-step episodes
    assert table["epochs"].split()[1] == "1000"  # 1e6 / 1000
    assert table["step_size"].split()[1] == "9.80828e-05"
    assert "batch_size: 32" in table["algo_kwargs"] and "max_grad_norm: 0.7" in table["algo_kwargs"]


# --- errors name what the user typed ---------------------------------------------------------------------
@pytest.mark.parametrize("section, needle", [
    ({"n_timesteps": 48000.5}, "n_timesteps of -conf {conf} [double-pendulum] must be an integer"),
    ({"policy_kwargs": 3}, "policy_kwargs of -conf {conf} [double-pendulum] must be a mapping"),
    ({"policy_kwargs": "dict(hidden=open('x'))"}, "policy_kwargs of -conf {conf} [double-pendulum]: "),
    ({"batch_episodes": 0}, "batch_episodes of -conf {conf} [double-pendulum] must be an integer >= 1"),
    ({"frame_stack": 4}, "frame_stack of -conf {conf} [double-pendulum] (frame stacking"),
    ({"learning_rate": "lin_0.1"}, "learning_rate of -conf {conf} [double-pendulum] 'lin_0.1': reinforce's step"),
    ({"gama": 0.9}, "gama of -conf {conf} [double-pendulum]: reinforce takes no 'gama'; did you mean 'gamma'?"),
    ({"algo": "ppo", "clip_range": 0}, "clip_range of -conf {conf} [double-pendulum] 0: ppo needs a number in (0"),
])
def test_conf_errors_name_the_conf_key(tmp_path, capsys, section, needle):
    conf = tmp_path / "zoo.yml"
    conf.write_text(yaml.safe_dump({"double-pendulum": section}))
    assert main(["-conf", str(conf), "-f", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle.format(conf=conf) in err[0], err
    assert "--" not in err[0].split(":", 2)[2].split(";")[0] or "did you mean" in err[0]  # no flag never typed
    assert not (tmp_path / "r").exists()


def test_integral_floats_and_params_strings(capsys):
    """``n_timesteps: !!float 4.8e4`` (the issue's) is 48000; ``-params policy_kwargs:"dict(...)"`` is read."""
    assert main(["--show-hyperparams", "--horizon", "100", "--batch-episodes", "4", "-params",
                 "policy_kwargs:dict(hidden=8, bias=True)", "--policy", "mlp"]) == 0
    table = _table(capsys.readouterr().out)
    assert "hidden: 8" in table["policy_kwargs"] and table["policy_kwargs"].endswith("-params")
    assert main(["--show-hyperparams", "-params", "batch_episodes:0"]) == 2
    assert "-params batch_episodes:VALUE must be an integer >= 1" in capsys.readouterr().err


def test_zoo_float_n_timesteps(tmp_path, capsys):
    conf = tmp_path / "zoo.yml"
    conf.write_text("double-pendulum:\n  n_timesteps: !!float 4.8e4\n  horizon: 1000\n  batch_episodes: 16\n")
    assert main(["-conf", str(conf), "--show-hyperparams"]) == 0
    assert _table(capsys.readouterr().out)["epochs"].split()[1] == "3"  # 48000 / 16000


def test_lin_schedule_reaches_sb3(tmp_path):
    """``learning_rate: lin_3e-4`` and ``clip_range: lin_0.2`` become SB3 schedules decaying to 0 over the run."""
    from mollirl.config import RunConfig
    from mollirl.training import RunSession

    config = RunConfig(algo="ppo", env="double-pendulum", epochs=2, horizon=20, batch_episodes=2, step_size=3e-4,
                       algo_kwargs={"learning_rate": "lin_3e-4", "clip_range": "lin_0.2"}, progress=False).validate()
    session = RunSession(config, run_dir=tmp_path / "run")
    try:
        model = session.model
        assert model.lr_schedule(1.0) == pytest.approx(3e-4) and model.lr_schedule(0.25) == pytest.approx(7.5e-5)
        assert model.clip_range(0.5) == pytest.approx(0.1)
    finally:
        session.close()


def test_the_zoo_ars_swimmer_section_works_unchanged(capsys):
    """sb3-contrib ARS's zoo keys: n_delta directions are 2 n_delta candidate episodes, delta_std is --sigma,
    LinearPolicy the linear mean."""
    conf = Path(__file__).parent / "zoo_ars_sections.yml"
    assert main(["--algo", "ars", "--env", "Swimmer-v4", "-conf", str(conf), "--show-hyperparams"]) == 0
    captured = capsys.readouterr()
    table = _table(captured.out)
    assert table["policy"].split()[1] == "'linear'" and table["sigma"].split()[1] == "0.01"
    assert table["batch_episodes"].split()[1] == "2" and table["step_size"].split()[1] == "0.02"
    assert table["epochs"].split()[1] == "1000"  # 2e6 / (2 episodes x 1000 steps)
    assert "n_top: 1" in table["algo_kwargs"] and "n_delta" not in table["algo_kwargs"]
    assert "ARS runs its 2 n_delta candidate episodes side by side" in captured.out
