import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bank import withdraw  # noqa: E402


def test_valid():
    assert withdraw(100, 30) == 70
    assert withdraw(10.5, 0.5) == 10.0


@pytest.mark.parametrize("amount", ["5", None, True, [1]])
def test_type(amount):
    with pytest.raises(TypeError):
        withdraw(100, amount)


@pytest.mark.parametrize("amount", [0, -1, -0.01])
def test_positive(amount):
    with pytest.raises(ValueError):
        withdraw(100, amount)


def test_insufficient():
    with pytest.raises(ValueError, match="insufficient funds"):
        withdraw(10, 11)
