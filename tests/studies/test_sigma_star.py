"""sigma* with an interval over paired seeds and the set of sigmas not distinguishable from it: on a plugin env
whose J(sigma) is known in closed form, and in the report's files."""

import csv
import json
import math

import optuna
import pytest

from mollirl.studies.sigma_star import sigma_star
from mollirl.study import main

#: the one-step env's expected final J_det (tests/studies/conftest.py): one SGD step of 0.5 from b = 0 with a
#: batch of N = 4 episodes, reward -(a - 1)^2; its maximum at sigma* = 15^(-1/4)
N, STEP = 4, 0.5
SIGMA_STAR = 15 ** -0.25


def closed_form(sigma: float) -> float:
    """E[final J_det] = -STEP^2 Var(g_N), Var(g_1) = d^4 / sigma^2 + 14 d^2 + 15 sigma^2 with d = b - 1 = -1."""
    return -(STEP**2 / N) * (1 / sigma**2 + 14 + 15 * sigma**2)


GRID = [0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 2.0, 4.0]


@pytest.fixture(scope="module")
def one_step_study(tmp_path_factory, study_plugin):
    root = tmp_path_factory.mktemp("one-step")
    args = ["--env", "one-step", "--plugin", study_plugin, "--sampler", "grid", "--sigma-values",
            *map(str, GRID), "--seeds", "10", "-f", str(root), "--no-progress"]
    assert main(args) == 0
    study = optuna.load_study(study_name="sigma-one-step-reinforce-return",
                              storage=f"sqlite:///{root.resolve()}/studies/studies.db")
    return root, study, args


def test_sigma_star_interval_covers_the_closed_form_optimum(one_step_study):
    root, study, _ = one_step_study
    report = json.loads((root / "studies" / study.study_name / "study.json").read_text())["report"]["sigma_star"]
    nearest = min(GRID, key=lambda s: abs(math.log(s / SIGMA_STAR)))
    iv = report["sigma_interval"]
    assert iv["low"] <= nearest <= iv["high"]  # the true optimum's grid point lies in sigma*'s interval
    assert 0.1 < iv["low"] and iv["high"] < 4.0  # and the interval excludes the far ends
    assert report["seeds"] == 10 and report["smallest_possible_p"] == pytest.approx(2 / 2**10)
    ties = {t["sigma"] for t in report["indistinguishable_from_best"]}
    assert nearest in ties and not ties & {0.1, 4.0}  # far from sigma*, the data tell the difference
    # each paired difference "best - other" has an interval holding the closed-form difference
    by_trial = {t.number: t.params["sigma"] for t in study.trials}
    best = report["sigma"]
    for number, verdict in report["against_best"].items():
        s = by_trial[int(number)]
        iv = verdict["interval"]
        assert iv["low"] <= closed_form(best) - closed_form(s) <= iv["high"], (s, iv)


def test_report_files_carry_sigma_star_its_interval_and_the_set(one_step_study, capsys):
    root, study, args = one_step_study
    out = root / "studies" / study.study_name
    with (out / "trials.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    report = json.loads((out / "study.json").read_text())["report"]["sigma_star"]
    ties = {t["trial"] for t in report["indistinguishable_from_best"]}
    for r in rows:
        assert float(r["value_low"]) <= float(r["return_mean"]) <= float(r["value_high"])
        assert (r["indistinguishable_from_best"] == "True") == (int(r["number"]) in ties)
    assert [r["best"] for r in rows].count("True") == 1
    assert (out / "sigma_curve.png").stat().st_size > 20_000
    capsys.readouterr()
    assert main([*args, "--report"]) == 0
    text = capsys.readouterr().out
    iv = report["sigma_interval"]
    assert f"sigma* = {report['sigma']:.4g}  (max mean final J_det over 10 seeds" in text
    assert f"95% interval of sigma* over seeds: [{iv['low']:.4g}, {iv['high']:.4g}]" in text
    assert f"not distinguishable from the best: {len(ties)} of {len(rows)} complete trials" in text
    assert "cannot go below" not in text  # at 10 seeds differences can be shown


def test_sigma_star_of_user_attrs_matches_the_statistics_module():
    """sigma_star reads each trial's per-seed values and compares them paired (stats.best_and_ties)."""
    from mollirl.analysis import stats

    trials = [{"number": i, "sigma": s, "attrs": {"seed_results": [
        {"seed": k, "final_J_det": v, "spread": 1.0} for k, v in enumerate(values)]}}
        for i, (s, values) in enumerate([(0.1, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), (1.0, [2.0, 3.0, 4.0, 5.0, 6.0, 7.5]),
                                         (10.0, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5])])]
    star = sigma_star(trials, "return")
    ref = stats.best_and_ties({t["number"]: [r["final_J_det"] for r in t["attrs"]["seed_results"]] for t in trials},
                              paired=True)
    assert star.trial == ref.best == 1 and star.sigma == 1.0 and sorted(star.ties) == sorted(ref.ties)
    assert star.sigma_interval.estimate == 1.0 and star.n_seeds == 6
    # a trial with a missing seed is left out of the paired comparison, and said to be
    trials.append({"number": 3, "sigma": 5.0, "attrs": {"seed_results": [{"seed": 0, "final_J_det": 9.0,
                                                                          "spread": 1.0}]}})
    assert sigma_star(trials, "return").left_out == [3]
    assert sigma_star(trials, "both") is None
