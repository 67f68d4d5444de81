import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import shapes  # noqa: E402


def test_behaviour():
    assert shapes.rectangle_area(2, 3) == 6
    assert shapes.box_volume(2, 3, 4) == 24
    for call in (lambda: shapes.rectangle_area(0, 1), lambda: shapes.box_volume(1, 1, -2)):
        with pytest.raises(ValueError):
            call()


def test_helper_used():
    tree = ast.parse((ROOT / "shapes.py").read_text())
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert "_require_positive" in functions
    for name in ("rectangle_area", "box_volume"):
        calls = [n.func.id for n in ast.walk(functions[name])
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        assert "_require_positive" in calls, name
        assert not any(isinstance(n, ast.For) for n in ast.walk(functions[name])), name
    with pytest.raises(ValueError):
        shapes._require_positive(1, 0)
    shapes._require_positive(1, 2, 3)
