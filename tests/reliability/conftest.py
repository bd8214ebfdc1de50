"""Fixtures of the reliability suite (the helpers are in reliability_helpers.py)."""

import pytest

from mollirl import registry
from mollirl.train import main as train_main
from reliability_helpers import BROKEN_PLUGIN, TINY


@pytest.fixture(scope="session")
def broken_plugin():
    registry.load_all_plugins([BROKEN_PLUGIN])
    return BROKEN_PLUGIN


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished one-epoch run folder (one per test module)."""
    root = tmp_path_factory.mktemp("run")
    assert train_main(["-f", str(root), "--epochs", "1", *TINY]) == 0
    (folder,) = (root / "reinforce").iterdir()
    return folder
