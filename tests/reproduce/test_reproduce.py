"""Every reproduction command with --quick, and the claims a quick run can show."""

import json

import pytest

from mollirl.reproduce.__main__ import main


def load(path):
    return json.loads(path.read_text())


def test_figure8_quick(tmp_path, capsys):
    assert main(["figure8", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "figure8.json")
    claims = summary["claims"]
    assert claims["centre_is_max_of_det_landscape"]  # the spike (Fig. 8a)
    assert claims["drops_after_one_epoch"] and claims["never_returns"]  # Fig. 8b
    assert claims["sigma_landscape_smoother"]
    J = summary["training"]["J_det"]
    assert J[1] < J[0] - 10
    for name in ("figure8a_landscape.png", "figure8a_slice_b0.png", "figure8b_training.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert "drops_after_one_epoch" in capsys.readouterr().out


def test_figure7_quick(tmp_path):
    assert main(["figure7", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "figure7.json")
    assert summary["claims"]["trained_ends_near_upright"]
    assert summary["claims"]["J_det_improved"]
    assert summary["trajectories"]["trained_final_norm"] < summary["trajectories"]["initial_final_norm"]
    assert summary["q_landscape"]["summary"]["det"]["holder"] > 0.9  # smooth Q-landscape (Fig. 7b)
    for name in ("figure7a_trajectories.png", "figure7b_q_landscape.png"):
        assert (tmp_path / name).is_file()


def test_heat_quick(tmp_path):
    assert main(["heat", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "heat_equation.json")
    assert summary["relative_residual"] < 0.05
    hf = summary["hf_energy"]
    assert hf[-1] < 1e-3 * hf[0]
    assert summary["claims"]["hf_decays"] and summary["claims"]["q_rough_L_smooth"]
    assert (tmp_path / "heat_equation.png").is_file()


def test_figure6_quick_and_reuse(tmp_path, capsys):
    assert main(["figure6", "--quick", "-o", str(tmp_path), "--jobs", "2"]) == 0
    summary = load(tmp_path / "figure6.json")
    assert set(summary["variants"]) == {"main", "tanh", "baseline-none"}
    main_runs = summary["variants"]["main"]
    assert sorted(float(k) for k in main_runs) == [0.005, 0.05, 0.5, 5.0]
    for key, entry in main_runs.items():
        assert len(entry["runs"]) == 2 and entry["seeds"] == 2
        for reading in ("J_det_last", "batch_return_last", "J_det_undiscounted_final"):
            q = entry[reading]
            assert q["q1"] <= q["median"] <= q["q3"] and q["n"] == 2
        assert 0.0 <= entry["fraction_standing_at_end"] <= 1.0
        # the saturation path: theta_0 and every kept epoch (save_freq 1 in --quick)
        assert sorted(int(e) for e in entry["saturation_by_epoch"]) == [0, 1, 2, 3]
        for run in entry["runs"]:
            assert not run["run_dir"].startswith("/")
            assert run["final_episode"]["J_det"] == run["J_det_final"]  # the same deterministic episode
            assert len(run["batch_return"]) == 4  # epochs 0..3; the final row has no batch
            for point in run["saturation"]:
                assert 0.0 <= point["saturated_fraction"] <= 1.0
                # post-clip noise can only shrink the nominal noise: E|clip(mu + s z) - clip(mu)| <= s E|z|
                assert point["effective_noise"] <= float(key) * 0.8 * 1.25
    # seed k starts from the same theta_0 in every variant; the variants then differ
    theta0 = {v: s["0.5"]["runs"][0]["J_det"][0] for v, s in summary["variants"].items()}
    assert theta0["main"] == theta0["baseline-none"]
    assert summary["variants"]["tanh"]["0.5"]["runs"][0]["J_det"] != summary["variants"]["main"]["0.5"]["runs"][0]["J_det"]
    assert any(k.startswith("[tanh] ") for k in summary["claims"]) and any("batch_return:" in k for k in summary["claims"])
    for at in ("initial", "final"):
        assert summary["landscapes"][at]["summary_1d"]["holder"] is not None
        assert (tmp_path / f"figure6_landscape_{at}.png").is_file()
    for name in ("figure6_training.png", "figure6_saturation.png", "figure6_training_tanh.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert str(tmp_path) not in (tmp_path / "figure6.json").read_text()
    capsys.readouterr()
    # the same command again reuses the finished runs
    assert main(["figure6", "--quick", "-o", str(tmp_path), "--jobs", "1"]) == 0
    assert capsys.readouterr().out.count("reused") == 16


def test_figure6_reduced_quick_is_figure6_at_its_own_size(tmp_path):
    assert main(["figure6-reduced", "--quick", "-o", str(tmp_path), "--jobs", "1"]) == 0
    summary = load(tmp_path / "figure6.json")
    assert summary["size"] == "reduced-quick" and summary["sizes"]["epochs"] == 2
    assert set(summary["variants"]) == {"main", "tanh", "baseline-none"}
    for per_sigma in summary["variants"].values():
        assert sorted(float(k) for k in per_sigma) == [0.005, 0.05, 0.5, 5.0]
        for entry in per_sigma.values():
            assert entry["seeds"] == 1 and len(entry["runs"][0]["J_det"]) == 3  # epochs 0..2
    assert any(k.startswith("[baseline-none] ") for k in summary["claims"])
    assert str(tmp_path) not in (tmp_path / "figure6.json").read_text()


def test_spaces_quick(tmp_path):
    assert main(["spaces", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "spaces.json")
    for env in ("double-pendulum", "quadrotor"):
        entry = summary["envs"][env]
        assert set(entry) >= {"reinforce", "ars", "landscape"}
        modes = entry["landscape"]["summary"]
        assert set(modes) == {"det", "sigma", "param-sigma"}
        assert modes["det"]["J_centre"] == pytest.approx(entry["reinforce"]["initial"])  # same centre, same J
    # the quadrotor's spike: both mollifications lower the centre far below J(theta*)
    q = summary["envs"]["quadrotor"]["landscape"]["summary"]
    assert q["sigma"]["J_centre"] < q["det"]["J_centre"] - 10
    assert q["param-sigma"]["J_centre"] < q["det"]["J_centre"] - 10
    assert (tmp_path / "spaces_training.png").is_file()


@pytest.mark.parametrize("args,needle", [
    (["figur8"], "did you mean 'figure8'"),
    (["figure8", "--jobs", "0"], "--jobs"),
])
def test_bad_input(tmp_path, capsys, args, needle):
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
