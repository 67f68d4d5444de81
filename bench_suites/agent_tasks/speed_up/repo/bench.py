"""The benchmark the harness times (the whole command, from outside): count_pairs on
3,000 numbers. The harness sets LLMBENCH_PERF_SEED (the same for the starting tree and
every solution, unknown in advance), and each timed run must print what the starting
tree printed: a count right only for one input is not a speedup."""

import os
import random

from pairs import count_pairs

rng = random.Random(int(os.environ.get("LLMBENCH_PERF_SEED", "2024")))
numbers = [rng.randrange(-500, 500) for _ in range(3000)]
print("pairs", count_pairs(numbers, 37))
