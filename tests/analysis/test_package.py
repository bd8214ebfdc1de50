"""The public surface of mollirl.analysis and its import hygiene."""

import subprocess
import sys

import mollirl.analysis

HEAVY = ("torch", "gymnasium", "mujoco", "optuna", "stable_baselines3", "matplotlib")


def test_public_names_are_exported():
    for name in mollirl.analysis.__all__:
        assert getattr(mollirl.analysis, name).__doc__, name


def test_importing_analysis_imports_no_heavy_dependency():
    # measure what mollirl.analysis itself adds on top of the base package
    code = (
        "import sys, importlib\n"
        "importlib.import_module('mollirl')\n"
        "before = set(sys.modules)\n"
        "import mollirl.analysis\n"
        f"heavy = {HEAVY!r}\n"
        "added = set(sys.modules) - before\n"
        "print(sorted(m for m in added if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
