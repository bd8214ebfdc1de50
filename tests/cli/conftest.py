import pytest

TINY = ["--horizon", "20", "--batch-episodes", "4", "--epochs", "3", "--no-progress", "--checkpoint-every", "1"]


@pytest.fixture
def tiny():
    return list(TINY)
