"""Fixtures of the reliability suite (the helpers are in reliability_helpers.py)."""

import pytest

from mollirl import registry
from reliability_helpers import BROKEN_PLUGIN


@pytest.fixture(scope="session")
def broken_plugin():
    registry.load_all_plugins([BROKEN_PLUGIN])
    return BROKEN_PLUGIN
