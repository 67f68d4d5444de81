"""The benchmark the harness times (the whole command, from outside): count_pairs on
3,000 numbers. It prints the count, so a run that skipped the work is visible."""

import random

from pairs import count_pairs

rng = random.Random(2024)
numbers = [rng.randrange(-500, 500) for _ in range(3000)]
print("pairs", count_pairs(numbers, 37))
