import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bank import withdraw  # noqa: E402


class WithdrawTest(unittest.TestCase):
    def test_valid(self):
        self.assertEqual(withdraw(100, 30), 70)
        self.assertEqual(withdraw(10.5, 0.5), 10.0)

    def test_type(self):
        for amount in ("5", None, True, [1]):
            with self.subTest(amount=amount), self.assertRaises(TypeError):
                withdraw(100, amount)

    def test_positive(self):
        for amount in (0, -1, -0.01):
            with self.subTest(amount=amount), self.assertRaises(ValueError):
                withdraw(100, amount)

    def test_insufficient(self):
        with self.assertRaisesRegex(ValueError, "insufficient funds"):
            withdraw(10, 11)
