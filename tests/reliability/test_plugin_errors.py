"""A plugin's error ends the command in one line naming the plugin, the call and the exception (exit 1), and
leaves no half-made folder; shapes are checked before any folder; --traceback / MOLLIRL_TRACEBACK give the rest."""


import pytest
from reliability_helpers import HERE, TINY, one_line, snapshot

from mollirl.guard import TRACEBACK_ENV
from mollirl.landscape.__main__ import main as landscape_main
from mollirl.study import main as study_main
from mollirl.train import main as train_main

PLUGIN_ARGS = ["--policy-init", "random"]  # the broken envs have no reference policy (no note line)


def test_a_plugin_env_whose_step_raises_is_one_line_and_its_run_folder_is_removed(tmp_path, capsys, broken_plugin):
    """Before: a 50-line traceback from inside the rollout core, and a half-made run folder."""
    rc = train_main(["-f", str(tmp_path / "runs"), "--env", "broken-step", "--epochs", "2", *TINY, *PLUGIN_ARGS,
                     "--plugin", broken_plugin])
    assert rc == 1
    line = one_line(capsys.readouterr().err)
    assert "broken_plugin.py" in line and "BrokenEnv.step" in line and "RuntimeError: the plugin's solver failed" in line
    assert "was removed" in line and "--traceback" in line
    assert not list((tmp_path / "runs").rglob("config.yml"))  # nothing that looks like a run


def test_a_plugin_callback_that_raises_after_a_checkpoint_keeps_the_checkpoint(tmp_path, capsys, broken_plugin):
    rc = train_main(["-f", str(tmp_path / "runs"), "--epochs", "4", *TINY, "--plugin", broken_plugin,
                     "--callback", "raise-at:epoch=2"])
    assert rc == 1
    line = one_line(capsys.readouterr().err)
    assert "RaiseAtCallback._on_rollout_start" in line and "epoch 2" in line
    (run,) = [p.parent for p in (tmp_path / "runs").rglob("config.yml")]
    assert "--resume" in line and str(run) in line  # the checkpoint of epoch 2 is kept, as for a fault


@pytest.mark.parametrize("how", ["flag", "env"])
def test_the_full_traceback_on_demand(tmp_path, capsys, broken_plugin, monkeypatch, how):
    args = ["-f", str(tmp_path / "runs"), "--env", "broken-step", "--epochs", "2", *TINY, *PLUGIN_ARGS,
            "--plugin", broken_plugin]
    if how == "flag":
        args.append("--traceback")
    else:
        monkeypatch.setenv(TRACEBACK_ENV, "1")
    assert train_main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "raise RuntimeError(\"the plugin's solver failed\")" in err
    assert err.strip().splitlines()[-1].startswith("python -m mollirl.train: error: plugin ")


@pytest.mark.parametrize("env,needle", [
    ("broken-obs", "step returned an observation of shape (3,); its observation space is Box(2,)"),
    ("broken-reward", "step returned a reward of type ndarray and shape (2,), not one real number"),
])
def test_a_plugin_env_of_the_wrong_shape_is_refused_before_any_folder(tmp_path, capsys, broken_plugin, env, needle):
    """Before: refused in several lines (Gymnasium's checker warnings, then numpy's error), after the run folder
    was written."""
    for main, args in ((train_main, ["-f", str(tmp_path / "runs"), "--epochs", "1", *TINY, *PLUGIN_ARGS]),
                       (study_main, ["-f", str(tmp_path / "runs"), "--n-trials", "1", "--epochs", "1", *TINY[:5],
                                     "--policy-init", "random"]),
                       (landscape_main, ["--grid", "3", "--horizon", "20", "--no-progress", "--center", "random",
                                         "-o", str(tmp_path / "runs" / "l.npz")])):
        assert main([*args, "--env", env, "--plugin", broken_plugin]) == 1, main.__module__
        line = one_line(capsys.readouterr().err)
        assert f"env {env!r} (a plugin's)" in line and needle in line
        assert snapshot(tmp_path) == {}


def test_a_plugin_env_whose_reset_raises_names_reset(tmp_path, capsys, broken_plugin):
    rc = train_main(["-f", str(tmp_path / "runs"), "--env", "broken-step", "--epochs", "1", *TINY, *PLUGIN_ARGS,
                     "--env-kwargs", "raise_in_reset:true", "--plugin", broken_plugin])
    assert rc == 1
    line = one_line(capsys.readouterr().err)
    assert "BrokenEnv.reset" in line and "the plugin's reset failed" in line
    assert snapshot(tmp_path) == {}


@pytest.mark.parametrize("plugin,needle", [("exit_on_import.py", "called sys.exit(3) while it was imported"),
                                           ("raise_on_import.py", "failed to import: ImportError")])
def test_a_plugin_that_exits_or_raises_on_import_is_reported_as_the_plugins(tmp_path, capsys, plugin, needle):
    """Before: ``sys.exit(3)`` in a plugin's import ended the command with exit code 3 and no word."""
    path = str(HERE / plugin)
    for main, args in ((train_main, ["-f", str(tmp_path / "r"), "--epochs", "1", *TINY]),
                       (landscape_main, ["--env", "double-pendulum", "--grid", "3", "-o", str(tmp_path / "l.npz")]),
                       (study_main, ["-f", str(tmp_path / "s"), "--n-trials", "1"])):
        assert main([*args, "--plugin", path]) == 1
        line = one_line(capsys.readouterr().err)
        assert plugin in line and needle in line
    assert snapshot(tmp_path) == {}


def test_a_discrete_action_space_is_one_line_naming_it(tmp_path, capsys):
    """Before: two lines, the second blaming -params that were never given."""
    for main, args in ((train_main, ["-f", str(tmp_path / "r"), "--epochs", "1", *TINY]),
                       (study_main, ["-f", str(tmp_path / "s"), "--n-trials", "1", "--epochs", "1"]),
                       (landscape_main, ["--center", "random", "--grid", "3", "-o", str(tmp_path / "l.npz")])):
        assert main([*args, "--env", "CartPole-v1"]) == 2
        line = one_line(capsys.readouterr().err)
        assert "env 'CartPole-v1' has a Discrete(2) action space" in line and "Box" in line
        assert "-params" not in line
    assert snapshot(tmp_path) == {}


def test_an_error_of_mollirl_itself_is_not_blamed_on_a_plugin(monkeypatch, tmp_path, broken_plugin):
    """Only frames inside a loaded plugin make an error the plugin's: mollirl's own bug keeps its traceback."""
    import mollirl.training.run as run

    def boom(*args, **kwargs):
        raise RuntimeError("mollirl's own bug")

    monkeypatch.setattr(run, "save_model_atomic", boom, raising=False)
    monkeypatch.setattr("mollirl.training.checkpoint.save_model_atomic", boom)
    with pytest.raises(RuntimeError, match="mollirl's own bug"):
        train_main(["-f", str(tmp_path / "r"), "--epochs", "1", *TINY, "--plugin", broken_plugin])
