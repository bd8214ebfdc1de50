"""docs/plugins.md builds a working plugin: its package is written from the page's code blocks,
pip-installed into this environment, and used through the command line (issue 14, item 5).

The package is installed for the module's tests and uninstalled after them. Every command runs
in a subprocess (entry points are discovered once per process: this one's registries stay as
they were).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from mollirl.training.metrics import read_metrics

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
DIST = "mollirl-example"
FILE_LINE = re.compile(r"^# file: (\S+)(?: \(continued\))?$")


def guide_files(text: str) -> dict[str, str]:
    """``{path: content}`` of the guide's code blocks whose first line is ``# file: PATH``; blocks
    marked ``(continued)`` append to their file."""
    files: dict[str, str] = {}
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M):
        first, _, body = block.partition("\n")
        m = FILE_LINE.match(first)
        if m:
            files[m.group(1)] = files.get(m.group(1), "") + ("\n\n" if m.group(1) in files else "") + body
    return files


def _run(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The guide's package, pip-installed (no deps, no build isolation); uninstalled afterwards."""
    src = tmp_path_factory.mktemp("guide") / DIST
    for rel, content in guide_files(GUIDE.read_text()).items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(content)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    proc = subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", str(src)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    try:
        yield tmp_path_factory.mktemp("work")
    finally:
        subprocess.run([*pip, "uninstall", "-y", DIST], capture_output=True, timeout=300)


def test_the_guide_holds_a_whole_package():
    files = guide_files(GUIDE.read_text())
    assert set(files) == {"pyproject.toml", "mollirl_example/__init__.py", "mollirl_example/cart.py",
                          "mollirl_example/callbacks.py", "mollirl_example/algo.py"}
    init = files["mollirl_example/__init__.py"]
    for kind in ("envs", "policies", "callbacks", "algos", "studies"):  # one of each kind the registry has
        assert f'register("{kind}"' in init, kind
    for path, text in files.items():
        if path.endswith(".py"):
            compile(text, path, "exec")


def test_list_and_hyperparameter_sources(installed):
    out = _run("-m", "mollirl.train", "--list", cwd=installed).stdout
    for name in ("example-cart", "wide-mlp", "param-norm", "sign-reinforce"):
        assert re.search(rf"^\s+{re.escape(name)}\b", out, flags=re.M), name
    assert "(example/Cart-v0)" in out
    out = _run("-m", "mollirl.train", "--algo", "sign-reinforce", "--env", "example-cart", "--show-hyperparams",
               cwd=installed).stdout
    table = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert table["horizon"].split()[1] == "200" and table["horizon"].endswith("max_episode_steps")
    assert table["step_size"].split()[1] == "0.02" and table["step_size"].endswith(
        "the env plugin's preset for sign-reinforce")
    assert table["baseline"].split()[1] == "'mean'" and table["baseline"].endswith("the algorithm plugin's defaults")
    assert table["sigma"].split()[1] == "0.5" and table["sigma"].endswith("the env plugin's preset")


def test_train_landscape_enjoy_with_the_plugin(installed):
    cwd = installed
    _run("-m", "mollirl.train", "--algo", "sign-reinforce", "--env", "example-cart", "--epochs", "3",
         "--batch-episodes", "4", "--callback", "param-norm:every=1", "--no-progress", "-f", "runs", cwd=cwd)
    run = cwd / "runs" / "sign-reinforce" / "example-cart_1"
    rows = read_metrics(run / "metrics.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3] and all(math.isfinite(r["J_det"]) for r in rows)
    assert rows[1]["timesteps"] == 4 * 200  # the horizon is the env's max_episode_steps
    # the callback: one row per epoch, theta_0 the env's reference policy K = [1, 1.4], b = 0
    lines = (run / "param_norm.csv").read_text().splitlines()
    assert lines[0] == "epoch,param_norm,sigma" and [int(x.split(",")[0]) for x in lines[1:]] == [0, 1, 2]
    assert float(lines[1].split(",")[1]) == pytest.approx(math.hypot(1.0, 1.4), rel=1e-12)
    # the algorithm: three sign steps of 0.02, so every parameter moved by 0.02 or 0.06
    probe = ("import json, sys; from mollirl.landscape import problem_from_run as p; "
             "a = p(sys.argv[1], 'initial').policy.get_mean_vector(); b = p(sys.argv[1], 'final').policy.get_mean_vector(); "
             "print(json.dumps((b - a).tolist()))")
    moved = np.abs(json.loads(_run("-c", probe, str(run), cwd=cwd).stdout))
    assert moved.size == 3 and np.all(np.isclose(moved, 0.02) | np.isclose(moved, 0.06)), moved
    # a landscape of the run: its centre is the final J_det of metrics.csv, bit for bit
    _run("-m", "mollirl.landscape", "--run", str(run), "--at", "final", "--grid", "5", "--dims", "1", "--mode", "det",
         "--no-png", "--no-progress", "-o", "land.npz", cwd=cwd)
    with np.load(cwd / "land.npz") as land:
        assert land["values"].shape[-1] == 5 and float(land["values"][0, 2]) == rows[-1]["J_det"]
    # enjoy: one deterministic episode returns the final J_det_undiscounted
    out = _run("-m", "mollirl.enjoy", "--run", str(run), "--no-progress", cwd=cwd).stdout
    mean = float(re.search(r"mean return (\S+)", out).group(1))
    assert mean == pytest.approx(rows[-1]["J_det_undiscounted"], rel=1e-9)  # enjoy prints 10 significant digits
    # the plugin's policy
    _run("-m", "mollirl.train", "--env", "example-cart", "--policy", "wide-mlp", "--policy-init", "random",
         "--epochs", "1", "--batch-episodes", "2", "--no-progress", "-f", "runs", cwd=cwd)
    probe = ("import sys; from mollirl.landscape import problem_from_run as p; "
             "print(p(sys.argv[1], 'final').policy.get_mean_vector().size)")
    size = int(_run("-c", probe, str(cwd / "runs" / "reinforce" / "example-cart_1"), cwd=cwd).stdout)
    assert size == 2 * 32 + 32 + 32 * 1 + 1  # W1, b1, W2, b2: width 32 with biases


def test_bad_callback_option_is_one_line(installed):
    proc = _run("-m", "mollirl.train", "--env", "example-cart", "--callback", "param-norm:every=x", "-f", "bad",
                cwd=installed, ok=False)
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and "param-norm:every" in err[0], proc.stderr
    assert not (installed / "bad").exists()


def test_study_preset_of_the_plugin(installed):
    cwd = installed
    out = _run("-m", "mollirl.study", "--preset", "sigma-example-cart", "--n-trials", "2", "--seeds", "1",
               "--epochs", "2", "--batch-episodes", "2", "--sampler", "random", "--pruner", "none", "-f", "study",
               cwd=cwd).stdout
    assert "2/2" in out
    configs = sorted((cwd / "study" / "studies").glob("*/trial_*/seed_0/config.yml"))
    assert len(configs) == 2
    for path in configs:
        config = yaml.safe_load(path.read_text())
        assert (config["algo"], config["env"], config["epochs"]) == ("sign-reinforce", "example-cart", 2)
        assert 0.05 <= config["sigma"] <= 2.0  # the preset's sigma range


def test_the_guide_env_passes_gymnasium_and_sb3_check_env(installed):
    """What the guide says every env should do: both checkers with their default arguments, and a
    repeat under a seed."""
    probe = """
import gymnasium as gym, numpy as np
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from mollirl import registry
registry.load_all_plugins()
check_env(gym.make("example/Cart-v0").unwrapped)
sb3_check_env(gym.make("example/Cart-v0"), warn=True)
def roll():
    env = gym.make("example/Cart-v0")
    env.action_space.seed(3)
    obs, _ = env.reset(seed=3)
    out = [obs]
    for _ in range(20):
        out.append(env.step(env.action_space.sample())[0])
    return np.array(out)
assert np.array_equal(roll(), roll())
print("checked")
"""
    assert _run("-c", probe, cwd=installed).stdout.strip().endswith("checked")
