import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from greet import greet  # noqa: E402


class GreetTest(unittest.TestCase):
    def test_spelling(self):
        self.assertEqual(greet("Ada"), "Hello, Ada!")

    def test_other_name(self):
        self.assertEqual(greet("Grace Hopper"), "Hello, Grace Hopper!")


if __name__ == "__main__":
    unittest.main()
