"""The algorithm contract, for every registered algorithm x every contract env (built-ins and a plugin's).

What each test could catch: an algorithm that does not learn or record, a save/load
that loses state, a resume that does not repeat the uninterrupted run byte for byte
(after SIGKILL: no handler, no clean-up), a non-finite value that is not stopped where
it arises or leaves a non-finite checkpoint or cell behind.
"""

import math
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch as th
from suite import ALGOS, CONTRACT_ENVS, tiny_args

from mollirl import registry
from mollirl.common.env_util import make_vec_env
from mollirl.rollout import pure_dynamics
from mollirl.train import main
from mollirl.training.checkpoint import load_checkpoint_state
from mollirl.training.metrics import read_metrics


def run_dir(root, algo, env):
    (folder,) = (root / algo).iterdir()
    return folder


def load(algo, env, path, horizon=20, n=4):
    cls = registry.get("algos", algo).resolve()
    venv = make_vec_env(env, n, max_episode_steps=horizon)
    rollout_env = None if pure_dynamics(venv) is not None else make_vec_env(
        env, n + 1, max_episode_steps=horizon)
    return cls.load(path, env=venv, rollout_env=rollout_env)


@pytest.mark.parametrize("env", CONTRACT_ENVS)
@pytest.mark.parametrize("algo", ALGOS)
def test_learns_two_epochs_and_round_trips(tmp_path, algo, env):
    assert main(["-f", str(tmp_path), *tiny_args(env, algo, epochs=2)]) == 0
    run = run_dir(tmp_path, algo, env)
    rows = read_metrics(run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [int(r["timesteps"]) for r in rows] == [0, 80, 160]
    assert all(math.isfinite(r["J_det"]) for r in rows)
    assert all(math.isfinite(r["J_sigma"]) and math.isfinite(r["ep_return_mean"]) for r in rows[:2])
    model = load(algo, env, run / "model.zip")
    initial = load(algo, env, run / "initial.zip")
    assert model.epoch == 2 and initial.epoch == 0
    # the update did something, and the loaded model is the trained one: its J_det is the last row's, exactly
    assert not np.array_equal(model.policy.get_mean_vector(), initial.policy.get_mean_vector())
    assert model.evaluate_det()["J_det"] == rows[-1]["J_det"]
    assert initial.evaluate_det()["J_det"] == rows[0]["J_det"]
    # save/load keeps every parameter and buffer (a fixed sigma too) and the contract's state
    model.save(tmp_path / "again.zip")
    again = load(algo, env, tmp_path / "again.zip")
    for (k, a), (k2, b) in zip(model.policy.state_dict().items(), again.policy.state_dict().items()):
        assert k == k2 and th.equal(a, b), k
    assert (again.epoch, again.seed, again.planned_epochs) == (model.epoch, model.seed, model.planned_epochs)


@pytest.mark.parametrize("env", CONTRACT_ENVS)
@pytest.mark.parametrize("algo", ALGOS)
def test_sigkill_mid_epoch_then_resume_gives_identical_metrics(tmp_path, algo, env):
    args = tiny_args(env, algo, epochs=4)
    assert main(["-f", str(tmp_path / "full"), *args]) == 0
    killed = subprocess.run([sys.executable, "-m", "mollirl.train", "-f", str(tmp_path / "cut"), *args,
                             "--callback", "kill-at:epoch=2"], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    cut = run_dir(tmp_path / "cut", algo, env)
    assert not (cut / "model.zip").exists()
    assert load_checkpoint_state(cut)["epoch"] == 2
    assert main(["--resume", str(cut), "--no-progress"]) == 0
    full = run_dir(tmp_path / "full", algo, env)
    assert (cut / "metrics.csv").read_bytes() == (full / "metrics.csv").read_bytes()
    assert load(algo, env, cut / "model.zip").evaluate_det()["J_det"] == read_metrics(full / "metrics.csv")[-1]["J_det"]


@pytest.mark.parametrize("algo", ALGOS)
def test_sigint_checkpoints_exit_130_and_resume_is_exact(tmp_path, algo, capsys):
    args = tiny_args("double-pendulum", algo, epochs=4)
    assert main(["-f", str(tmp_path / "full"), *args]) == 0
    assert main(["-f", str(tmp_path / "cut"), *args, "--callback", "signal-at:epoch=2"]) == 130
    assert "--resume" in capsys.readouterr().out
    cut = run_dir(tmp_path / "cut", algo, "double-pendulum")
    assert not (cut / "model.zip").exists()  # an interrupted run does not look complete
    assert [int(r["epoch"]) for r in read_metrics(cut / "metrics.csv")] == [0, 1]
    assert main(["--resume", str(cut), "--no-progress"]) == 0
    full = run_dir(tmp_path / "full", algo, "double-pendulum")
    assert (cut / "metrics.csv").read_bytes() == (full / "metrics.csv").read_bytes()


@pytest.mark.parametrize("kind", ["nan", "inf"])
@pytest.mark.parametrize("algo", ALGOS)
def test_non_finite_reward_stops_with_exit_1_and_a_finite_checkpoint(tmp_path, algo, kind, capsys):
    extra = ["--env-kwargs", "inf:true"] if kind == "inf" else []
    rc = main(["-f", str(tmp_path), *tiny_args("test-nan", algo), *extra])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "training stopped" in err and "non-finite reward or observation" in err and "epoch 0" in err
    run = run_dir(tmp_path, algo, "test-nan")
    assert not (run / "model.zip").exists()
    state = load_checkpoint_state(run)  # the checkpoint the message names, whole and verified
    assert state["epoch"] == 0 and f"epoch {state['epoch']}" in err
    model = load(algo, "test-nan", state["path"])
    assert all(bool(th.isfinite(p).all()) for p in model.policy.parameters())
    text = (run / "metrics.csv").read_text().lower()
    assert "nan" not in text and "inf" not in text
    assert (run / "stopped.txt").read_text().strip() == err.strip().split("training stopped: ", 1)[1]


def test_callbacks_see_every_step_unless_they_act_at_epochs_only(tmp_path):
    """SB3's callback protocol: on_step once per time step of the batched rollout (num_timesteps
    grows by n_envs); an EpochCallback-only run calls no on_step at all."""
    from stable_baselines3.common.callbacks import BaseCallback

    from mollirl.common.callbacks import EpochCallback

    class Steps(BaseCallback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def _on_step(self):
            self.seen.append(self.model.num_timesteps)
            return True

    class Epochs(EpochCallback):
        def on_step(self):  # would be called per step if the contract called it
            raise AssertionError("called")

    algo = registry.get("algos", "reinforce").resolve()
    model = algo("GaussianPolicy", make_vec_env("double-pendulum", 4, max_episode_steps=20), horizon=20, seed=0)
    steps = Steps()
    model.learn(2 * 80, callback=[steps])
    assert steps.seen == [4 * (i + 1) for i in range(40)]
    model.learn(2 * 80, callback=[Epochs()])


@pytest.mark.parametrize("algo", ALGOS)
def test_resume_with_more_epochs_keeps_the_schedule_span(tmp_path, algo):
    """The rule: a schedule spans the run's planned epochs; extending the run holds its END value."""
    args = [*tiny_args("double-pendulum", algo, epochs=3), "--sigma-schedule", "linear:1.0:0.2"]
    assert main(["-f", str(tmp_path), *args]) == 0
    run = run_dir(tmp_path, algo, "double-pendulum")
    before = (run / "metrics.csv").read_text().splitlines()
    assert main(["--resume", str(run), "--epochs", "5", "--no-progress"]) == 0
    rows = read_metrics(run / "metrics.csv")
    assert [r["sigma"] for r in rows] == pytest.approx([1.0, 0.6, 0.2, 0.2, 0.2, 0.2])
    # the first epochs are the original run's, byte for byte (the final row of epoch 3 is recomputed as epoch 3)
    assert (run / "metrics.csv").read_text().splitlines()[:4] == before[:4]


@pytest.mark.parametrize("algo", ALGOS)
def test_sb3_template_collect_rollouts_train_dump_logs_repeats_learn(algo):
    """SB3's loop written by hand (``collect_rollouts``, ``train``, ``dump_logs``) gives the parameters
    ``learn()`` gives: learn() is that loop, run by the epoch driver over the model alone."""
    from mollirl.config import RunConfig
    from mollirl.training import prepare

    config = RunConfig(algo=algo, env="double-pendulum", horizon=20, batch_episodes=4, epochs=2, seed=5,
                       plugins=[]).validate()
    a, b = prepare(config), prepare(config)
    try:
        a.model.learn(2 * 80)
        model = b.model
        total, callback = model._setup_learn(2 * 80, None)
        callback.on_training_start(locals(), globals())
        while model.num_timesteps < total:
            assert model.collect_rollouts(model.env, callback, getattr(model, "rollout_buffer", None), 20)
            model.train()
            model.dump_logs(model.epoch)
        assert model.epoch == a.model.epoch == 2
        assert np.array_equal(model.policy.get_mean_vector(), a.model.policy.get_mean_vector())
        assert model.logger.name_to_value == {} and model.num_timesteps == a.model.num_timesteps
    finally:
        a.close()
        b.close()
