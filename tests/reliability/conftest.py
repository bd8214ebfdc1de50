"""Fixtures of the reliability suite (the helpers are in reliability_helpers.py)."""

import pytest

from mollirl import registry
from reliability_helpers import BROKEN_PLUGIN, tiny_run


@pytest.fixture(scope="session")
def broken_plugin():
    registry.load_all_plugins([BROKEN_PLUGIN])
    return BROKEN_PLUGIN


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished one-epoch run folder (one per test module)."""
    return tiny_run(tmp_path_factory.mktemp("run"), 1)
