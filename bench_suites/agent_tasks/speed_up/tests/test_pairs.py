import random
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pairs import count_pairs  # noqa: E402


def brute_force(numbers, target):
    return sum(1 for i in range(len(numbers)) for j in range(i + 1, len(numbers))
               if numbers[i] + numbers[j] == target)


class CountPairsTest(unittest.TestCase):
    def test_small_cases(self):
        self.assertEqual(count_pairs([], 3), 0)
        self.assertEqual(count_pairs([3], 6), 0)
        self.assertEqual(count_pairs([1, 2, 3, 4], 5), 2)
        self.assertEqual(count_pairs([2, 2, 2, 2], 4), 6)
        self.assertEqual(count_pairs([-1, 1, 0, 0, 5], 0), 2)

    def test_matches_brute_force(self):
        rng = random.Random(7)
        for size in (10, 57, 200):
            numbers = [rng.randrange(-20, 20) for _ in range(size)]
            for target in (-3, 0, 1, 19):
                self.assertEqual(count_pairs(numbers, target), brute_force(numbers, target))

    def test_input_left_unchanged(self):
        numbers = [5, 1, 4, 1]
        count_pairs(numbers, 5)
        self.assertEqual(numbers, [5, 1, 4, 1])


if __name__ == "__main__":
    unittest.main()
