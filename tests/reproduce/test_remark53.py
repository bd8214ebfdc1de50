"""``python -m mollirl.reproduce remark53 --quick`` (and ``remark53-analytic``): the sweep, the sigma* studies and
the interior-sigma* verdict, which follows from paired comparisons."""

import json

import numpy as np
import pytest

from mollirl.reproduce.__main__ import main
from mollirl.reproduce.remark53 import interior_verdict
from mollirl.training.metrics import read_metrics


def test_interior_verdict_follows_the_paired_comparisons():
    rng = np.random.default_rng(0)
    seeds = rng.normal(0, 5, 10)  # a large seed effect shared by every sigma (paired)
    noise = lambda: rng.normal(0, 0.1, 10)  # noqa: E731
    peak = {s: seeds - (np.log10(s) - 0) ** 2 + noise() for s in (0.01, 0.1, 1.0, 10.0, 100.0)}
    v = interior_verdict(peak)
    assert v["outcome"] == "holds" and v["best_sigma"] == 1.0 and v["verdict"] == "holds"
    rising = {s: seeds + 3 * np.log10(s) + noise() for s in (0.01, 0.1, 1.0, 10.0)}
    v = interior_verdict(rising)
    assert v["outcome"] == "fails" and v["best_sigma"] == 10.0 and "monotone" in v["reason"]
    flat = {s: seeds + noise() for s in (0.01, 0.1, 1.0, 10.0)}
    v = interior_verdict(flat)
    assert v["outcome"] == "not distinguishable" and v["verdict"] == "not distinguishable at n = 10"
    # lower is better (the spread of J over epochs)
    assert interior_verdict({s: -x for s, x in rising.items()}, higher_is_better=False)["outcome"] == "fails"
    assert interior_verdict({0.1: [1.0], 1.0: [2.0]})["outcome"] == "not distinguishable"


def test_remark53_quick(tmp_path, capsys):
    assert main(["remark53", "--quick", "-o", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "remark53.json").read_text())
    assert str(tmp_path) not in (tmp_path / "remark53.json").read_text()  # no absolute path
    assert summary["size"] == "full" and set(summary["cases"]) == {"dp-chaotic", "hopper", "dp-k0"}
    for name, case in summary["cases"].items():
        assert (tmp_path / f"remark53_{name}.png").stat().st_size > 20_000
        sweep = case["sweep"]
        assert [r["sigma"] for r in sweep["sigmas"]] == [0.01, 0.1, 1.0, 10.0]
        for r in sweep["sigmas"]:
            assert r["trace_cov"]["low"] <= r["trace_cov"]["estimate"] <= r["trace_cov"]["high"]
        study = case["study"]
        assert study["sigmas"] == [0.01, 0.1, 1.0, 10.0] and not study["missing"]
        seeds = case["size"]["seeds"]
        assert all(len(v["final_J_det"]) == seeds for v in study["per_sigma"].values())
        for objective in ("return", "stability"):
            for key in (f"interior_{objective}", f"interior_{objective}_iqm"):
                assert study[key]["outcome"] in ("holds", "fails", "not distinguishable")
            assert study[f"interior_{objective}_iqm"]["statistic"] == "iqm"
        assert case["cost"]["env_steps"]["study"] > 0 and case["cost"]["study_seconds"] > 0
        claim = next(c for c in summary["claims"] if c["claim"].startswith(f"Remark 5.3 ({case['label']}): an interior"))
        assert claim["outcome"] == study["interior_return"]["outcome"] and claim["rests_on"] == "seeds"
        assert claim["evidence"] == "quick run: not evidence"
        assert isinstance(case["chaotic"], bool) and np.isfinite(case["lyapunov"]["lambda_per_step"])
    # every seed of every sigma starts at the case's theta: the study's J(theta_0) is the sweep's J, bit for bit
    case = summary["cases"]["dp-chaotic"]
    runs = sorted((tmp_path / "runs" / "studies" / "remark53-dp-chaotic").glob("trial_*/seed_*"))
    assert len(runs) == 4 * 3
    assert {read_metrics(r / "metrics.csv")[0]["J_det"] for r in runs} == {case["sweep"]["J"]}
    assert "interior sigma*" in out and "quick run: not evidence" in out
    assert summary["evidence"] == "quick run: not evidence" and summary["provenance"]["command"].startswith(
        "python -m mollirl.reproduce remark53 --quick -o OUT")
    # the sweep's claims are read from the intervals at the grid's ends
    var = [c for c in summary["claims"] if "variance falls" in c["claim"]]
    assert len(var) == 3 and all(c["outcome"] in ("holds", "fails", "not distinguishable") for c in var)


def test_remark53_analytic_quick_estimates_the_hopper_study(tmp_path):
    assert main(["remark53-analytic", "--quick", "-o", str(tmp_path), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "remark53.json").read_text())
    assert summary["size"].startswith("analytic")
    hopper = summary["cases"]["hopper"]
    assert hopper["study"] is None and hopper["cost"]["study_estimated_seconds"] > 0
    assert summary["cases"]["dp-k0"]["study"]["per_sigma"]
    assert not (tmp_path / "runs" / "studies" / "remark53-hopper").exists()
