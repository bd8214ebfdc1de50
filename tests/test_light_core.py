"""The core imports light: ``mollirl``, ``mollirl.rollout`` and ``mollirl.analysis`` load no torch, SB3,
Gymnasium, MuJoCo or Optuna; the built-in plugins register where the registry is first asked."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "stable_baselines3", "sb3_contrib", "gymnasium", "mujoco", "optuna")


@pytest.mark.parametrize("module", ["mollirl", "mollirl.rollout", "mollirl.analysis", "mollirl.registry",
                                    "mollirl.common.seeding"])
def test_importing_the_core_loads_no_heavy_package(module):
    code = (f"import sys, importlib\nimportlib.import_module({module!r})\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"import {module} loaded {out.stdout.strip()}"


def test_the_first_registry_lookup_registers_the_builtins():
    code = ("import sys\nfrom mollirl import registry\n"
            "assert 'gymnasium' not in sys.modules\n"
            "print(registry.names('envs'), 'gymnasium' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "'double-pendulum'" in out.stdout and out.stdout.strip().endswith("True")


def test_the_rollout_core_runs_without_gymnasium():
    """Pure dynamics stepped by the core with nothing heavy imported: the same returns as with the env's own
    reset generator (``reset_rng`` is Gymnasium's ``np_random``)."""
    code = ("import sys, numpy as np\nfrom mollirl.rollout.backends import reset_rng\n"
            "a = reset_rng(7).standard_normal(3)\n"
            "assert not {'gymnasium', 'torch'} & set(sys.modules)\n"
            "from gymnasium.utils import seeding\n"
            "b = seeding.np_random(7)[0].standard_normal(3)\n"
            "print(np.array_equal(a, b))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
