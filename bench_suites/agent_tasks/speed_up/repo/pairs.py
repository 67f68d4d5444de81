"""Pairs of numbers that add up to a target."""


def count_pairs(numbers, target):
    """How many index pairs i < j have numbers[i] + numbers[j] == target."""
    count = 0
    for i in range(len(numbers)):
        for j in range(i + 1, len(numbers)):
            if numbers[i] + numbers[j] == target:
                count += 1
    return count
