"""Every reproduction command with --quick, and the claims a quick run can show."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mollirl.reproduce.__main__ import main
from mollirl.reproduce.figure6 import SIGMAS
from reproduce_checks import check_summary, printed_verdicts_marked, verdicts


def load(path):
    return json.loads(path.read_text())


def test_figure8_quick_with_its_control(tmp_path, capsys):
    assert main(["figure8", "--quick", "-o", str(tmp_path)]) == 0
    summary = check_summary(tmp_path / "figure8.json", tmp_path)
    out = verdicts(summary)
    c, d = summary["gains"]["continuous"], summary["gains"]["discrete"]
    # the two gains from the env's own linearization: the paper's is unstable under Euler dt 0.1, the
    # discrete-time LQR gain of the same model and costs is stable (known answers: 1.234 and 0.905)
    assert c["spectral_radius"] == pytest.approx(1.2343, abs=1e-3)
    assert d["spectral_radius"] == pytest.approx(0.9049, abs=1e-3)
    assert c["lyapunov_per_step"] == pytest.approx(np.log(c["spectral_radius"]), rel=0.02)
    assert d["lyapunov_per_step"] < 0
    # the discrete gain solves the discrete Riccati equation of the recorded Euler model
    lin = summary["linearization"]
    Ad, Bd, Kd = np.array(lin["Ad"]), np.array(lin["Bd"]), np.array(d["K"])
    Q, R = np.array(lin["Q"]), np.array(lin["R"])
    import scipy.linalg

    X = scipy.linalg.solve_discrete_are(Ad, Bd, Q, R)
    np.testing.assert_allclose(Kd, np.linalg.solve(R + Bd.T @ X @ Bd, Bd.T @ X @ Ad), atol=1e-9)
    # the spike at theta*, none at the discrete gain on the same directions (exact claims hold in --quick too)
    assert out["Fig. 8a: J has a cusp (a spike) at theta*: point-wise Hölder exponent below 0.9"] == "holds"
    assert out["control: no cusp at the discrete gain (point-wise exponent at least 0.9), on the same directions"] \
        == "holds"
    assert c["best_neighbour"] < c["J_centre"] - 10 and d["best_neighbour"] > d["J_centre"] - 1
    assert "spike comes from the gain" in summary["conclusion"]
    J = summary["training"]["continuous"]["J_det"]
    assert all(row[1] < row[0] - 10 for row in J)  # every seed falls after the first update
    assert len(summary["training"]["discrete"]["J_det"]) == summary["sizes"]["seeds"]
    for name in ("figure8a_landscape.png", "figure8a_slice_b0.png", "figure8b_training.png", "figure8_control.png",
                 "figure8_control_landscape.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert printed_verdicts_marked(capsys.readouterr().out)


def test_figure7_quick_trains_the_papers_policy_without_bias(tmp_path):
    assert main(["figure7", "--quick", "-o", str(tmp_path), "--jobs", "1"]) == 0
    summary = check_summary(tmp_path / "figure7.json", tmp_path)
    paper, biased = summary["variants"]["paper"], summary["variants"]["biased"]
    assert paper["policy"] == "u = -K s" and paper["trained_b"] == []  # no bias parameter at all
    assert len(biased["trained_b"]) == summary["sizes"]["seeds"]
    from mollirl.config import load_yaml

    assert load_yaml(tmp_path / "runs" / "paper" / "seed_0" / "config.yml")["policy_kwargs"]["bias"] is False
    # both start from the paper's K0: the same J_det at epoch 0
    assert paper["J_det"][0][0] == biased["J_det"][0][0]
    # u = -K s converges to upright; the trained bias holds the pendulum at a fixed point away from it
    assert max(paper["norm_at_horizon"]) < 1e-3 < min(biased["norm_long"])
    assert summary["initial_policy"]["norm_at_horizon"] > 0.1
    q = summary["q_landscape"]
    assert q["final"]["det"]["holder_low"] > 0.9 and q["initial"]["det"]["J_centre"] < q["final"]["det"]["J_centre"]
    assert q["final"]["det"]["holder_h_min"] < q["final"]["det"]["holder_h_max"]  # the exponent with its range
    for name in ("figure7a_trajectories.png", "figure7b_q_landscape.png", "figure7c_training.png"):
        assert (tmp_path / name).is_file()


def test_heat_quick(tmp_path):
    assert main(["heat", "--quick", "-o", str(tmp_path)]) == 0
    summary = check_summary(tmp_path / "heat_equation.json", tmp_path)
    assert summary["relative_residual"] < 0.05
    hf = summary["hf_energy"]
    assert hf[-1] < 1e-3 * hf[0]
    claims = verdicts(summary)
    assert claims["L(mu, sigma^2) solves u_t = 1/2 u_mumu (relative residual below 0.05, finite differences on the "
                  "grid)"] == "holds"  # exact, at a fixed theta
    # Q's window exponent and L's at sigma 0.5, each with its scaling range and its interval over sub-windows
    for reading in summary["holder_readings"].values():
        assert reading["status"] == "ok" and reading["alpha_low"] <= reading["alpha"] <= reading["alpha_high"]
    assert (tmp_path / "heat_equation.png").is_file()


def test_figure6_quick_and_reuse(tmp_path, capsys):
    assert main(["figure6", "--quick", "-o", str(tmp_path), "--jobs", "2"]) == 0
    summary = check_summary(tmp_path / "figure6.json", tmp_path)
    assert set(summary["variants"]) == {"main", "tanh", "baseline-none"}
    # the variants train one after another, the main runs first (what a stopped full run has finished)
    printed = capsys.readouterr().out
    done = [printed.index(f"variant {v} done in ") for v in ("main", "tanh", "baseline-none")]
    assert done == sorted(done)
    assert max(printed.index(f"{tmp_path}/runs/sigma_{s:g}/seed_{k}") for s in SIGMAS for k in (0, 1)) < done[0]
    assert set(summary["variant_train_seconds"]) == set(summary["variants"])
    main_runs = summary["variants"]["main"]
    assert sorted(float(k) for k in main_runs) == [0.005, 0.05, 0.5, 5.0]
    for key, entry in main_runs.items():
        assert len(entry["runs"]) == 2 and entry["seeds"] == 2
        for reading in ("J_det_last", "batch_return_last", "J_det_undiscounted_final"):
            q = entry[reading]
            assert q["q1"] <= q["median"] <= q["q3"] and q["n"] == 2
        assert entry["J_det_last_summary"]["n"] == 2
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
    claims = verdicts(summary)
    # every pair the paper names, on its own (no "better of two"), per reading and variant
    for reading in ("J_det", "batch_return"):
        for m in ("0.05", "0.5"):
            for e in ("0.005", "5"):
                assert f"{reading}: sigma {m} beats sigma {e} (mean over the last 10 epochs)" in claims
                assert f"[tanh] {reading}: sigma {m} beats sigma {e} (mean over the last 10 epochs)" in claims
    # two seeds cannot show a difference: no comparison holds or fails
    assert all(c["outcome"] == "not distinguishable" for c in summary["claims"] if " beats " in c["claim"])
    for at in ("initial", "final"):
        s1 = summary["landscapes"][at]["summary_1d"]  # 11 points: too short for a scaling range, and it says so
        assert s1["holder"] is None and s1["holder_status"] == "no scaling range" and s1["holder_reason"]
        assert (tmp_path / f"figure6_landscape_{at}.png").is_file()
    for name in ("figure6_training.png", "figure6_saturation.png", "figure6_training_tanh.png"):
        assert (tmp_path / name).stat().st_size > 1000
    capsys.readouterr()
    # the same command again reuses the finished runs
    assert main(["figure6", "--quick", "-o", str(tmp_path), "--jobs", "1"]) == 0
    assert capsys.readouterr().out.count("reused") == 16
    # no training: the same figure and verdicts from the run folders, and from the JSON's stored series
    again = tmp_path / "again"
    assert main(["figure6", "--quick", "-o", str(again), "--from-runs", str(tmp_path / "runs")]) == 0
    rejudged = check_summary(again / "figure6.json", tmp_path)
    assert rejudged["source"]["kind"].startswith("finished run folders")
    assert [c["verdict"] for c in rejudged["claims"]] == [c["verdict"] for c in summary["claims"]]
    assert not (again / "runs").exists()
    stored = tmp_path / "stored"
    assert main(["figure6", "--quick", "-o", str(stored), "--from-runs", str(tmp_path / "figure6.json")]) == 0
    from_json = json.loads((stored / "figure6.json").read_text())
    ours = [c for c in summary["claims"] if "landscape" not in c["claim"]]
    assert [c["verdict"] for c in from_json["claims"]] == [c["verdict"] for c in ours]


def test_figure6_rejudges_the_legacy_json(tmp_path):
    """The committed legacy format (per_sigma: J_det series per seed) is judged again without training."""
    rng = np.random.default_rng(0)
    legacy = {"figure": 6, "quick": False, "per_sigma": {}, "landscapes": {"grid": 21}}
    for sigma, level in ((0.005, -2000.0), (0.05, -1000.0), (0.5, -2.0), (5.0, -7.0)):
        seeds = [{"seed": k, "run_dir": f"runs/sigma_{sigma:g}/seed_{k}",
                  "J_det": (level + rng.normal(0, abs(level) / 10, 101)).tolist()} for k in range(8)]
        legacy["per_sigma"][f"{sigma:g}"] = {"sigma": sigma, "seeds": seeds}
    path = tmp_path / "legacy.json"
    path.write_text(json.dumps(legacy))
    assert main(["figure6", "-o", str(tmp_path / "out"), "--from-runs", str(path)]) == 0
    summary = check_summary(tmp_path / "out" / "figure6.json", tmp_path, quick=False)
    claims = verdicts(summary)
    # at n = 8 paired, a sign flip test can reach p < 0.05: sigma 0.5 beats sigma 0.005 every seed
    assert claims["J_det: sigma 0.5 beats sigma 0.005 (mean over the last 10 epochs)"] == "holds"
    assert claims["J_det: sigma 0.05 beats sigma 0.005 (mean over the last 10 epochs)"] == "holds"
    assert "batch_return" not in " ".join(claims)  # not recorded by the legacy run: not judged
    assert "main: batch_return" in summary["best_and_ties"]["not_measured"]
    assert any("read as final J_det above -10" in c for c in claims)
    assert "ca26fc3" in summary["legacy"]


def test_figure6_reduced_quick_is_figure6_at_its_own_size(tmp_path):
    assert main(["figure6-reduced", "--quick", "-o", str(tmp_path), "--jobs", "1"]) == 0
    summary = check_summary(tmp_path / "figure6.json", tmp_path)
    assert summary["size"] == "reduced-quick" and summary["sizes"]["epochs"] == 2
    assert set(summary["variants"]) == {"main", "tanh", "baseline-none"}
    for per_sigma in summary["variants"].values():
        assert sorted(float(k) for k in per_sigma) == [0.005, 0.05, 0.5, 5.0]
        for entry in per_sigma.values():
            assert entry["seeds"] == 1 and len(entry["runs"][0]["J_det"]) == 3  # epochs 0..2
    assert any(c["claim"].startswith("[baseline-none] ") for c in summary["claims"])
    assert {c["verdict"] for c in summary["claims"] if " beats " in c["claim"]} == {"not distinguishable at n = 1"}


def test_spaces_quick(tmp_path):
    assert main(["spaces", "--quick", "-o", str(tmp_path)]) == 0
    summary = check_summary(tmp_path / "spaces.json", tmp_path)
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
    assert verdicts(summary)["quadrotor: action-space mollification lowers J at the reference policy"] == "holds"
    assert (tmp_path / "spaces_training.png").is_file()


def test_the_figure_check_finds_what_a_reviewer_cannot_read():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reproduce_checks import check_figure

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    ax.set_xlabel("epoch")
    ax.set_ylabel("J (discounted return)")
    assert check_figure(fig) == []
    ax.set_ylabel("")
    ax.set_title("run of /tmp/x/runs/seed_0")
    image = ax.pcolormesh(np.ones((2, 2)))
    fig.colorbar(image, ax=ax)
    problems = " | ".join(check_figure(fig))
    assert "no y label" in problems and "absolute path" in problems and "colour bar without a label" in problems
    fig2, ax2 = plt.subplots()
    ax2.plot([-39.0, -12.0, -30.0])  # less than a decade on a symlog axis: no tick inside the view
    ax2.set_yscale("symlog")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("J")
    assert any("no y tick labels" in p for p in check_figure(fig2))
    fig3, ax3 = plt.subplots(figsize=(2, 2))
    ax3.plot([1, 2])
    ax3.set_xlabel("x")
    ax3.set_ylabel("y")
    ax3.set_title("a title far too long to fit in a figure two inches wide, clipped at both ends")
    assert any("does not fit" in p for p in check_figure(fig3))
    fig4, ax4 = plt.subplots(figsize=(3, 1.5))
    ax4.plot([1, 2])
    ax4.set_xlabel("x")
    ax4.set_ylabel("a y label far longer than the axes is high, so it runs off the figure")
    assert any("axis label" in p and "does not fit" in p for p in check_figure(fig4))
    plt.close("all")


def test_every_command_has_a_quick_test_whose_figures_are_checked():
    """conftest.py checks every figure a test saves; each command must have a --quick test here."""
    from mollirl.reproduce import RESULTS

    text = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    for name in RESULTS:
        assert re.search(rf'\["{re.escape(name)}", "--quick"', text), f"no --quick test of {name}"


@pytest.mark.parametrize("args,needle", [
    (["figur8"], "did you mean 'figure8'"),
    (["figure8", "--jobs", "0"], "--jobs"),
    (["figure8", "--from-runs", "."], "--from-runs is for figure6"),
    (["figure6", "--from-runs", "no-such-folder"], "neither a folder nor a figure6.json"),
])
def test_bad_input(tmp_path, capsys, args, needle):
    assert main([*args, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
