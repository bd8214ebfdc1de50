"""ARS (parameter-space mollification) and TRPO through the same command line."""

import numpy as np
import pytest

from mollirl.callbacks.metrics import read_metrics
from mollirl.train import main

TINY = ["--horizon", "30", "--batch-episodes", "4", "--epochs", "2", "--no-progress"]


@pytest.mark.parametrize("algo", ["ars", "trpo"])
@pytest.mark.parametrize("env", ["quadrotor", "double-pendulum"])
def test_trains_and_survives_save_load(tmp_path, algo, env):
    assert main(["--algo", algo, "--env", env, "-f", str(tmp_path), *TINY]) == 0
    run = tmp_path / algo / f"{env}_1"
    rows = read_metrics(run / "metrics.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert all(np.isfinite(r["J_det"]) for r in rows)
    assert np.isfinite(rows[0]["J_sigma"])
    from mollirl import registry
    from mollirl.algos import resolve_class

    cls = resolve_class(registry.get("algos", algo))
    model = cls.load(run / "model.zip")
    v = model.policy.get_mean_vector()
    assert v.dtype == np.float64 and v.shape == (14 if env == "quadrotor" else 10,)
    # the loaded model is the trained one: its J_det is the last row's
    from mollirl.envs import make_vec_env
    from mollirl.evaluation import evaluate_deterministic

    ev = evaluate_deterministic(model.policy, make_vec_env(env, 1, max_episode_steps=30), 30, 0.99)
    assert ev.discounted[0] == pytest.approx(rows[-1]["J_det"], rel=1e-9)


def test_ars_sigma_is_delta_std_and_steps_change_theta(tmp_path):
    assert main(["--algo", "ars", "--env", "double-pendulum", "--sigma", "0.3", "-f", str(tmp_path), *TINY]) == 0
    run = tmp_path / "ars" / "double-pendulum_1"
    rows = read_metrics(run / "metrics.csv")
    assert all(r["sigma"] == pytest.approx(0.3) for r in rows)
    from mollirl.algos.ars import MollifiedARS

    model = MollifiedARS.load(run / "model.zip")
    assert model.delta_std_schedule(1.0) == pytest.approx(0.3) and model.n_delta == 2
    initial = MollifiedARS.load(run / "initial.zip")
    assert not np.allclose(model.policy.get_mean_vector(), initial.policy.get_mean_vector())


def test_ars_scheduled_sigma_and_resume(tmp_path):
    args = ["--algo", "ars", "--env", "quadrotor", "--sigma-schedule", "exp:0.2:0.02", *TINY]
    args[args.index("--epochs") + 1] = "3"
    assert main(["-f", str(tmp_path / "a"), *args]) == 0
    rows = read_metrics(tmp_path / "a" / "ars" / "quadrotor_1" / "metrics.csv")
    assert rows[0]["sigma"] == pytest.approx(0.2) and rows[2]["sigma"] == pytest.approx(0.02)
    # same seed, same numbers
    assert main(["-f", str(tmp_path / "b"), *args]) == 0
    assert rows == read_metrics(tmp_path / "b" / "ars" / "quadrotor_1" / "metrics.csv")


@pytest.mark.parametrize("args,needle", [
    (["--algo", "ars", "--learn-sigma"], "no learnable sigma"),
    (["--algo", "ars", "--batch-episodes", "3"], "must be even"),
])
def test_ars_bad_input(tmp_path, capsys, args, needle):
    assert main([*args, "-f", str(tmp_path / "runs"), "--horizon", "10", "--epochs", "1", "--no-progress"]) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()
