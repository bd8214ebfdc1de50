"""``python -m mollirl.reproduce figure1 / figure2 / prop31 / theorem43 --quick``, and the exponents they share."""

import json

import numpy as np
import pytest

from mollirl.reproduce.__main__ import main
from reproduce_checks import check_summary, verdicts


def load(path):
    return json.loads(path.read_text())


def no_absolute_path(path, tmp_path):
    text = path.read_text()
    return str(tmp_path) not in text and '"/' not in text


def test_lyapunov_of_the_quadrotor_hover_is_the_log_spectral_radius():
    """Known answer: at the exact hover the LQR closed loop is linear near its fixed point, so Benettin's
    lambda is the log of the spectral radius of its Jacobian (here by central differences of the same map)."""
    from mollirl.landscape import problem_from_env
    from mollirl.reproduce.exponents import closed_loop, lyapunov

    problem = problem_from_env("quadrotor", "reference", horizon=200)
    step_fn, x0, close = closed_loop(problem)
    try:
        eps = 1e-6
        n = x0.size
        plus = step_fn(x0[None] + eps * np.eye(n))
        minus = step_fn(x0[None] - eps * np.eye(n))
        jacobian = ((plus - minus) / (2 * eps)).T
    finally:
        close()
    rho = float(np.max(np.abs(np.linalg.eigvals(jacobian))))
    assert rho > 1.0  # forward Euler at dt 0.1 makes the hover closed loop unstable
    res = lyapunov(problem)
    assert res["lambda_per_step"] == pytest.approx(np.log(rho), rel=0.02)
    assert res["predicted_holder"] == pytest.approx(-np.log(problem.gamma) / np.log(rho), rel=0.02)


def test_shifted_problem_moves_only_the_centre():
    from mollirl.landscape import problem_from_env
    from mollirl.reproduce.exponents import shifted

    problem = problem_from_env("quadrotor", "reference", horizon=20)
    theta = problem.centre + 0.1
    moved = shifted(problem, theta, "moved")
    np.testing.assert_array_equal(moved.centre, theta)
    assert not np.array_equal(problem.centre, theta)  # the original policy is untouched
    assert moved.label == "moved" and moved.horizon == problem.horizon


def test_figure2_quick(tmp_path):
    assert main(["figure2", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "figure2.json")
    assert set(summary["per_env"]) == {"double-pendulum", "single-pendulum"}
    for env, rows in summary["per_policy"].items():
        assert [r["seed"] for r in rows] == [0, 1, 2]
        for r in rows:
            lam = r["lambda_per_step"]
            predicted = 1.0 if lam <= -np.log(0.99) else -np.log(0.99) / lam
            assert r["predicted_holder"] == pytest.approx(predicted)
            assert r["chaotic"] == (lam > -np.log(0.99))
            for reading, status in ((r["pointwise_holder"], r["pointwise"]["status"]),
                                    (r["window_holder"], r["window"]["holder_status"])):
                assert (reading is not None and 0.0 <= reading <= 1.0) or status == "no scaling range"
        entry = summary["per_env"][env]
        assert entry["pointwise_holder_iqr"][0] <= entry["pointwise_holder_median"] <= entry["pointwise_holder_iqr"][1]
    # the double pendulum's policies differ from the single pendulum's (other state, other J)
    assert summary["per_policy"]["double-pendulum"][0]["J_centre"] != summary["per_policy"]["single-pendulum"][0]["J_centre"]
    check_summary(tmp_path / "figure2.json", tmp_path)
    assert verdicts(summary)["the single pendulum is not chaotic under most random tanh MLPs"] in (
        "holds", "not distinguishable")  # 3 policies: at most "not distinguishable at n = 3"
    for name in ("figure2_landscapes.png", "figure2_slices.png", "figure2_exponents.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert no_absolute_path(tmp_path / "figure2.json", tmp_path)


def test_prop31_quick(tmp_path, capsys):
    assert main(["prop31", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "prop31.json")
    cases = summary["cases"]
    assert len(cases) >= 6
    assert {c["env"] for c in cases} == {"double-pendulum", "quadrotor", "hopper-stand"}
    for c in cases:
        assert c["verdict"] in ("agrees", "consistent", "violates", "undetermined")
        assert set(c["window_holder"]) == {"1", "0.01"}
        early = c["finite_time"]
        assert early["steps"] == sorted(early["steps"]) and max(early["steps"]) <= c["horizon"]
        assert len(early["lambda_per_step"]) == len(early["predicted_holder"]) == len(early["steps"])
    star = next(c for c in cases if c["case"] == "quadrotor, LQR theta*")
    # the spike: chaotic at hover (lambda > -log gamma), and the point-wise exponent is far below 1
    assert star["lambda_per_step"] > star["threshold_-log_gamma"] and star["pointwise_holder"] < 0.2
    check_summary(tmp_path / "prop31.json", tmp_path)
    claims = verdicts(summary)
    assert claims["quadrotor theta*: the point-wise exponent is the predicted one (within 0.1, its interval over "
                  "directions)"] == "holds"
    # every exponent beside its scaling range (or the reason there is none)
    p = star["pointwise"]
    assert p["status"] == "ok" and p["alpha_low"] <= p["alpha"] <= p["alpha_high"] and p["h_min"] < p["h_max"]
    assert all(c["pointwise"]["status"] in ("ok", "no scaling range", "constant") for c in cases)
    for w in star["window_holder"].values():  # a 21-point quick slice is too short for a range: said, not guessed
        assert w["holder_status"] == "no scaling range" and w["holder"] is None and w["holder_reason"]
    # chaotic and non-chaotic cases counted apart
    counted = {**summary["verdict_counts_chaotic"]}
    for k, v in summary["verdict_counts_non_chaotic"].items():
        counted[k] += v
    assert counted == summary["verdict_counts"]
    assert not any("early exponent" in c and "bound" in c for c in claims)  # finite-time lambda is no rescue
    k0 = cases[0]
    assert k0["predicted_holder"] == 1.0 and k0["pointwise_holder"] > 0.9  # K0: nearly stable, Lipschitz
    assert sum(summary["verdict_counts"].values()) == len(cases)
    assert (tmp_path / "prop31_exponents.png").stat().st_size > 1000
    assert no_absolute_path(tmp_path / "prop31.json", tmp_path)
    assert "quadrotor theta*: the point-wise exponent" in capsys.readouterr().out


def test_figure1_quick(tmp_path):
    assert main(["figure1", "--quick", "-o", str(tmp_path)]) == 0
    summary = load(tmp_path / "figure1.json")
    m = summary["slice_1d"]
    assert list(m) == ["det", "0.005", "0.05", "0.5", "5"]
    assert m["det"]["mean_abs_deviation_from_J"] == 0.0
    assert m["det"]["J_centre"] == pytest.approx(summary["J_centre"])
    # common random numbers: the smallest sigma stays close to J, the largest does not
    assert m["0.005"]["mean_abs_deviation_from_J"] < m["5"]["mean_abs_deviation_from_J"]
    check_summary(tmp_path / "figure1.json", tmp_path)
    claims = verdicts(summary)
    # each neighbouring pair of sigmas judged on its own
    assert "high-frequency energy decreases from sigma 0.05 to sigma 0.5" in claims
    assert all(c["rests_on"].startswith("episodes of the 1-D slice resampled") for c in summary["claims"])
    returns = np.load(tmp_path / "figure1_slice_returns.npz")
    assert returns["sigma_0.5"].shape == (summary["sizes"]["grid_1d"], summary["sizes"]["episodes_1d"])
    assert "J_sigma moves further from J from sigma 0.5 to 5 (mean |J_sigma - J|)" in claims
    for name in ("figure1_slices.png", "figure1_landscapes.png"):
        assert (tmp_path / name).stat().st_size > 1000
    assert no_absolute_path(tmp_path / "figure1.json", tmp_path)


def test_theorem43_quick(tmp_path):
    assert main(["theorem43", "--quick", "-o", str(tmp_path), "--jobs", "1"]) == 0
    summary = load(tmp_path / "theorem43.json")
    assert set(summary["envs"]) == {"double-pendulum", "hopper-stand"}
    for env, s in summary["envs"].items():
        assert s["seeds"] == summary["sizes"][env]["seeds"]
        assert s["sigma0"] == pytest.approx(0.5)
        for seed in s["per_seed"]:
            assert len(seed["sigma"]) == summary["sizes"][env]["epochs"] + 1
            assert seed["sigma"][0] == pytest.approx(0.5, rel=1e-6)
            assert not seed["run_dir"].startswith("/")
        assert 0.0 <= s["fraction_seeds_sigma_shrank"] <= 1.0
        q = s["per_epoch"]["sigma"]
        assert all(a <= b <= c for a, b, c in zip(q["q25"], q["median"], q["q75"]))
    # the learned sigma moves: a learnable sigma is not the fixed 0.5
    assert any(seed["sigma"][-1] != seed["sigma"][0] for seed in summary["envs"]["double-pendulum"]["per_seed"])
    check_summary(tmp_path / "theorem43.json", tmp_path)
    assert "double-pendulum: the learned sigma shrinks (mean over seeds of log(sigma_K / sigma_0) < 0)" in verdicts(summary)
    assert (tmp_path / "theorem43_sigma_paths.png").stat().st_size > 1000
    assert no_absolute_path(tmp_path / "theorem43.json", tmp_path)


def test_figure1_sigma_slice_is_compute_landscapes_sigma_mode():
    """The slice that keeps every episode's return computes what compute_landscape's sigma mode does."""
    from mollirl.landscape import compute_landscape, make_backend
    from mollirl.reproduce.figure1 import centre, sigma_slice

    problem = centre(horizon=30)
    det = compute_landscape(problem, grid=5, dims=1, radius=1.0, directions="filter", mode="det", seed=0)
    ref = compute_landscape(problem, grid=5, dims=1, radius=1.0, directions=det.directions, mode="sigma",
                            sigma=0.5, episodes=3, seed=0)
    backend = make_backend(problem.env, problem.rollout_kwargs(), horizon=problem.horizon)
    try:
        land, returns = sigma_slice(det, problem, 0.5, 3, backend)
    finally:
        backend.close()
    np.testing.assert_array_equal(land.value("sigma"), ref.value("sigma"))
    np.testing.assert_array_equal(returns.mean(axis=1), ref.value("sigma"))
    assert returns.shape == (5, 3) and land.modes == ("sigma",)
