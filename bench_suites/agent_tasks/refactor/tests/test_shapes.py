import ast
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import shapes  # noqa: E402


class ShapesTest(unittest.TestCase):
    def test_behaviour(self):
        self.assertEqual(shapes.rectangle_area(2, 3), 6)
        self.assertEqual(shapes.box_volume(2, 3, 4), 24)
        with self.assertRaises(ValueError):
            shapes.rectangle_area(0, 1)
        with self.assertRaises(ValueError):
            shapes.box_volume(1, 1, -2)

    def test_helper_used(self):
        tree = ast.parse((ROOT / "shapes.py").read_text())
        functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        self.assertIn("_require_positive", functions)
        for name in ("rectangle_area", "box_volume"):
            calls = [n.func.id for n in ast.walk(functions[name])
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
            self.assertIn("_require_positive", calls, name)
            self.assertFalse(any(isinstance(n, ast.For) for n in ast.walk(functions[name])), name)
        with self.assertRaises(ValueError):
            shapes._require_positive(1, 0)
        shapes._require_positive(1, 2, 3)
