"""The messages a new user met (issue 24, item 5), each as it reads now."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from suite import CONTRACT_PLUGIN, tiny_args

from mollirl.enjoy import main as enjoy_main
from mollirl.train import main as train_main

LONG_FLOAT = re.compile(r"\d\.\d{11,}|\d{12,}\.\d")  # 16-17 significant digits


def _run(folder, algo="reinforce"):
    (run,) = (Path(folder) / algo).iterdir()
    return run


def test_summary_names_the_tensorboard_log_folder(tmp_path, capsys):
    tb = tmp_path / "tb"
    assert train_main(tiny_args("double-pendulum") + ["-f", str(tmp_path / "runs"), "--tensorboard-log", str(tb)]) == 0
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {tb}" in out and "--logdir runs" not in out
    assert train_main(tiny_args("double-pendulum") + ["--seeds", "2", "-f", str(tmp_path / "pop"),
                                                      "--tensorboard-log", str(tb)]) == 0
    assert f"tensorboard --logdir {tb}" in capsys.readouterr().out


def test_interrupted_summary_has_no_nan_and_no_empty_state(tmp_path, capsys):
    args = tiny_args("test-point", epochs=4) + ["-f", str(tmp_path), "--callback", "signal-at:epoch=2"]
    assert train_main(args) == 130
    out = capsys.readouterr().out
    assert "interrupted" in out and "nan" not in out and "[]" not in out, out
    assert "last recorded" in out and "(epoch 1)" in out and "the final policy was not evaluated" in out


def test_printed_lines_have_no_16_digit_floats(tmp_path, capsys):
    args = tiny_args("double-pendulum") + ["-f", str(tmp_path), "--log-interval", "1", "--eval-freq", "1",
                                           "--sigma-schedule", "exp:0.7:0.03"]
    assert train_main(args) == 0
    assert enjoy_main(["--run", str(_run(tmp_path)), "--stochastic", "--episodes", "2", "--no-progress"]) == 0
    assert train_main(["--show-hyperparams", "--algo", "ppo", "-params", "policy_kwargs:dict(log_std_init=-2)"]) == 0
    captured = capsys.readouterr()
    assert "0.1353352832" in captured.out  # exp(-2), 10 digits
    for line in (captured.out + captured.err).splitlines():
        assert not LONG_FLOAT.search(line), line


def test_no_cursor_codes_when_stderr_is_not_a_terminal(tmp_path, capsys):
    assert train_main(tiny_args("double-pendulum")[:-5] + ["-f", str(tmp_path / "a"), "--plugin", CONTRACT_PLUGIN,
                                                           "--seeds", "2"]) == 0
    err = capsys.readouterr().err
    assert "epoch" in err  # the bar's status, as plain lines
    assert "\x1b" not in err and "\r" not in err
    log = tmp_path / "train.log"
    with log.open("w") as fh:  # the real command, its stderr a file
        result = subprocess.run([sys.executable, "-m", "mollirl.train", "--epochs", "2", "--horizon", "20",
                                 "--batch-episodes", "2", "-f", str(tmp_path / "b")], stdout=subprocess.PIPE,
                                stderr=fh, text=True, env={**os.environ}, timeout=300)
    assert result.returncode == 0
    text = log.read_text()
    assert "\x1b" not in text and "\r" not in text


def test_enjoy_hint_for_a_checkpoint_not_kept_names_save_freq(tmp_path, capsys):
    assert train_main(tiny_args("double-pendulum") + ["-f", str(tmp_path)]) == 0
    capsys.readouterr()
    assert enjoy_main(["--run", str(_run(tmp_path)), "--at", "epoch:1", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--save-freq N" in err[0] and "landscape:every=1 to keep every epoch" not in err[0]


@pytest.mark.parametrize("algo, absent", [("ppo", ("baseline", "update")), ("trpo", ("baseline", "update")),
                                          ("ars", ("baseline", "update", "learn_sigma", "use_sde")),
                                          ("reinforce", ("sde_sample_freq",))])
def test_show_hyperparams_lists_only_the_keys_the_algorithm_uses(algo, absent, capsys):
    assert train_main(["--show-hyperparams", "--algo", algo]) == 0
    keys = {line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]}
    assert not keys & set(absent) and {"sigma", "gamma", "step_size", "epochs"} <= keys
    if algo == "reinforce":
        assert {"baseline", "update", "use_sde"} <= keys


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_pendulum_minibatch_is_one_line_with_what_to_change(algo, tmp_path, capsys):
    base = ["--algo", algo, "--env", "Pendulum-v1", "--epochs", "1", "--batch-episodes", "16", "--no-progress"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert train_main([*base, "-f", str(tmp_path / "a")]) == 0  # the default minibatch divides 3200: 800
        err = capsys.readouterr().err
        assert "minibatch" not in err
        assert train_main([*base, "-params", "batch_size:1000", "-f", str(tmp_path / "b")]) == 0
    assert not [w for w in caught if "mini-batch" in str(w.message)]  # SB3's UserWarning is not shown
    notes = [line for line in capsys.readouterr().err.splitlines() if "batch_size" in line]
    assert len(notes) == 1, notes
    assert "batch_size:1000 does not divide the 3200 env steps of an epoch (16 episodes x 200)" in notes[0]
    assert "last minibatch has 200 steps" in notes[0] and "800" in notes[0]
    config = (_run(tmp_path / "a", algo) / "config.yml").read_text()
    import yaml

    assert yaml.safe_load(config)["algo_kwargs"] == {}  # the default is the algorithm's (800), not written


def test_policy_mlp_on_the_default_env_starts_random(tmp_path, capsys):
    assert train_main(["--policy", "mlp", "--epochs", "1", "--horizon", "20", "--batch-episodes", "2",
                       "--no-progress", "-f", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has a linear reference policy and the policy is mlp: the initial mean is random" in err[0]
    assert train_main(["--policy", "mlp", "--policy-init", "reference", "--epochs", "1", "-f", str(tmp_path)]) == 2
    assert "--policy-init reference needs --policy linear" in capsys.readouterr().err


def test_policy_init_random_draws_every_policy_seeded(tmp_path, capsys):
    """``--policy-init random`` (an env without a reference) draws the linear mean too: K ~ N(0, 1/obs_dim), b = 0,
    from --seed; MountainCarContinuous-v0's J_det at epoch 0 is no longer exactly 0 (issue 24, item 4)."""
    import numpy as np

    from mollirl.algos.reinforce import REINFORCE
    from mollirl.policies import LinearMean
    from mollirl.training.metrics import read_metrics

    base = ["--env", "MountainCarContinuous-v0", "--epochs", "1", "--horizon", "50", "--batch-episodes", "2",
            "--no-progress"]
    for seed, folder in ((0, "a"), (0, "b"), (1, "c")):
        assert train_main([*base, "--seed", str(seed), "-f", str(tmp_path / folder)]) == 0
    note = capsys.readouterr().err
    assert "the initial mean is random, drawn with --seed" in note
    K = {f: REINFORCE.load(_run(tmp_path / f) / "initial.zip").policy.mean.K.detach().numpy() for f in "abc"}
    assert np.array_equal(K["a"], K["b"]) and not np.array_equal(K["a"], K["c"]) and np.all(K["a"] != 0)
    assert read_metrics(_run(tmp_path / "a") / "metrics.csv")[0]["J_det"] != 0.0
    import torch as th

    th.manual_seed(0)
    draws = np.concatenate([LinearMean(4, 8, random=True).K.detach().numpy().ravel() for _ in range(200)])
    assert abs(draws.std() * 2 - 1) < 0.05 and abs(draws.mean()) < 0.02  # std 1/sqrt(obs_dim) = 1/2
