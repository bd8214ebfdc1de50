"""StudySpec: search dimensions, validation, per-trial configs; and the presets registry. No Optuna, no training."""

import subprocess
import sys

import pytest

from mollirl import registry
from mollirl.config import RunConfig
from mollirl.studies.spec import (
    DEFAULTS, SearchDim, StudySpec, build_spec, merge_options, parse_search_dim, sigma_dim,
)


def spec(tmp_path, **options):
    config = RunConfig(env="double-pendulum", epochs=2, horizon=20, batch_episodes=2).validate()
    return build_spec(merge_options({}, options), config, study_name=None, storage=None, log_folder=str(tmp_path))


def test_parse_search_dim():
    assert parse_search_dim("step_size:1e-3:1:log") == SearchDim("step_size", 1e-3, 1.0, log=True)
    assert parse_search_dim("gamma:0.9:0.999") == SearchDim("gamma", 0.9, 0.999)
    assert parse_search_dim("batch_episodes:2:8").integer


@pytest.mark.parametrize("text,match", [
    ("step_size:1:0.1", "LOW < HIGH"),
    ("step_size:0:1:log", "LOW > 0|must be > 0"),
    ("stepsize:0.1:1", "did you mean 'step_size'"),
    ("sigma:0.1:1", "--sigma-range"),
    ("step_size:a:1", "must be numbers"),
    ("step_size:0.1:1:cubic", "log or linear"),
    ("gamma:0.5:1.5", r"\(0, 1\]"),
    ("step_size", "NAME:LOW:HIGH"),
])
def test_parse_search_dim_rejects(text, match):
    with pytest.raises(ValueError, match=match):
        parse_search_dim(text)


@pytest.mark.parametrize("rng,match", [((0.5, 0.5), "LOW < HIGH"), ((1.0, 0.1), "LOW < HIGH"),
                                       ((0.0, 1.0), "0 < LOW"), ((-1.0, 1.0), "0 < LOW"),
                                       ((float("nan"), 1.0), "0 < LOW")])
def test_sigma_range_rejects(rng, match):
    with pytest.raises(ValueError, match=match):
        sigma_dim(rng, None)


def test_sigma_grid_points():
    dim = sigma_dim((0.01, 1.0), None)
    assert dim.log and dim.grid(3) == pytest.approx([0.01, 0.1, 1.0])
    assert sigma_dim(None, [5.0, 0.05]).grid(7) == [0.05, 5.0]  # explicit values win
    with pytest.raises(ValueError, match="outside"):
        sigma_dim((0.1, 1.0), [0.05])


def test_defaults_and_derived(tmp_path):
    s = spec(tmp_path)
    assert s.study_name == "sigma-double-pendulum-reinforce-return"
    assert s.storage_url == f"sqlite:///{tmp_path.resolve()}/studies/studies.db" and s.embedded
    assert s.n_trials == 20 and s.pruner == "median" and s.directions == ["maximize"]
    assert s.config["checkpoint_every"] == 0 and s.config["progress"] is False
    assert spec(tmp_path, objective="both").pruner == "none"
    assert spec(tmp_path, objective="stability").directions == ["minimize"]
    grid = spec(tmp_path, sampler="grid", sigma_values=[0.1, 1.0], search=["step_size:0.1:1"], grid_points=3)
    assert grid.n_trials == 6 and grid.grid_space() == {"sigma": [0.1, 1.0], "step_size": [0.1, 0.55, 1.0]}
    assert not list(tmp_path.iterdir())  # building a spec writes nothing


@pytest.mark.parametrize("options,match", [
    (dict(objective="both", pruner="median"), "cannot prune a two-objective"),
    (dict(sampler="grid", sigma_values=[0.1, 1.0], n_trials=3), "exceeds the grid's 2 points"),
    (dict(sigma_values=[0.1, 1.0]), "use --sampler grid"),
    (dict(sigma_schedule="exp"), "needs END"),
    (dict(sigma_schedule="exp:0"), "END must be"),
    (dict(sigma_schedule="step:0.1"), "unknown --sigma-schedule kind"),
    (dict(search=["sigma_end:0.01:0.1:log"]), "needs --sigma-schedule"),
    (dict(sigma_schedule="exp:0.1", learn_sigma=True), "exclude each other"),
    (dict(seeds=0), "--seeds must be an integer >= 1"),
    (dict(n_jobs=0), "--n-jobs"),
    (dict(heartbeat=0), "--heartbeat"),
    (dict(sampler="cmaes"), "unknown --sampler"),
    (dict(search=["step_size:0.1:1", "step_size:0.2:1"]), "given twice"),
])
def test_build_spec_rejects(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        spec(tmp_path, **options)
    assert not list(tmp_path.iterdir())


def test_bad_study_name(tmp_path):
    config = RunConfig().validate()
    with pytest.raises(ValueError, match="--study-name"):
        build_spec(dict(DEFAULTS), config, study_name="a/b", storage=None, log_folder=str(tmp_path))


def test_trial_config_applies_params_and_schedule(tmp_path):
    s = spec(tmp_path, sigma_schedule="exp", search=["sigma_end:0.01:0.1:log", "step_size:0.1:1:log",
                                                     "batch_episodes:2:4"], seeds=3)
    config = s.trial_config({"sigma": 0.5, "sigma_end": 0.05, "step_size": 0.3, "batch_episodes": 3}, 2)
    assert config.sigma == 0.5 and config.sigma_schedule == "exp:0.5:0.05"
    assert config.step_size == 0.3 and config.batch_episodes == 3 and config.seed == 2
    fixed = spec(tmp_path, sigma_schedule="linear:0.01").trial_config({"sigma": 1.0}, 0)
    assert fixed.sigma_schedule == "linear:1.0:0.01"


def test_spec_json_roundtrip(tmp_path):
    s = spec(tmp_path, sampler="grid", sigma_values=[0.1, 1.0], search=["step_size:0.1:1:log"])
    back = StudySpec.from_json(s.to_json())
    assert back == s and back.grid_space() == s.grid_space()


def test_setup_record_ignores_volatile_fields(tmp_path):
    a = spec(tmp_path)
    b = spec(tmp_path / "elsewhere", n_jobs=2)
    assert a.setup_record() == b.setup_record()
    assert "sigma" not in a.setup_record() and a.setup_record()["seeds"] == 1


def test_presets_are_registered_with_the_papers_values():
    registry.load_all_plugins()
    fig6 = registry.get("studies", "figure6")
    assert fig6.env == "hopper-stand" and fig6.options["sigma_values"] == [0.005, 0.05, 0.5, 5.0]
    assert fig6.options["seeds"] == 5 and fig6.options["sampler"] == "grid"
    assert fig6.config == dict(batch_episodes=32, epochs=100, horizon=1000, step_size=1.0, gamma=0.99)
    for env in ("quadrotor", "double-pendulum", "hopper-stand"):
        assert registry.get("studies", f"sigma-{env}").env == env


def test_importing_studies_imports_no_optuna():
    code = ("import sys, mollirl, mollirl.studies, mollirl.studies.spec, mollirl.studies.presets\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('optuna', 'matplotlib', 'sqlalchemy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
