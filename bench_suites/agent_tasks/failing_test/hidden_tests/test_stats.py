import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stats import mean, median  # noqa: E402


class StatsTest(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([1, 2, 3]), 2)

    def test_median_odd(self):
        self.assertEqual(median([3, 1, 2]), 2)

    def test_median_even(self):
        self.assertEqual(median([4, 1, 3, 2]), 2.5)

    def test_median_even_unsorted_floats(self):
        self.assertEqual(median([10.0, 0.0]), 5.0)
        self.assertEqual(median([5, 1, 9, 7, 3, 11]), 6)
