"""Which shard a process is, and which items each shard gets (plain functions)."""

from __future__ import annotations

import random

import pytest

from pytest_llmbench.errors import ConfigError
from pytest_llmbench.suites.partition import Shard, assign, shard_from_env, shared_run_id


def test_every_group_lands_in_exactly_one_shard_and_costs_balance() -> None:
    rng = random.Random(1)
    groups = [(f"case:s/{i}", rng.choice([10, 20, 400])) for i in range(1000)]
    placed = assign(groups, 4)
    assert set(placed) == {key for key, _ in groups} and set(placed.values()) == {0, 1, 2, 3}
    loads = [sum(c for k, c in groups if placed[k] == i) for i in range(4)]
    assert max(loads) - min(loads) <= 400  # at most one largest group apart (LPT)


def test_assignment_ignores_the_order_groups_arrive_in() -> None:
    groups = [(f"case:s/{i}", float(i % 7)) for i in range(200)]
    shuffled = groups[:]
    random.Random(3).shuffle(shuffled)
    assert assign(groups, 3) == assign(shuffled, 3)


@pytest.mark.parametrize(("env", "expected"), [
    ({"LLMBENCH_SHARD": "2/4"}, Shard(2, 4, "$LLMBENCH_SHARD")),
    ({"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "3"},
     Shard(2, 4, "$SLURM_ARRAY_TASK_ID")),
    ({"JOB_COMPLETION_INDEX": "1", "LLMBENCH_SHARD_COUNT": "8"},
     Shard(1, 8, "$JOB_COMPLETION_INDEX")),
    ({}, None),
])
def test_shard_from_scheduler_variables(env: dict[str, str], expected: Shard | None) -> None:
    assert shard_from_env(env) == expected


@pytest.mark.parametrize("text", ["4/4", "-1/2", "1", "a/b", "0/0", "1/2/3"])
def test_bad_shard_is_one_line_naming_the_source(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^--llmbench-shard .*INDEX/COUNT"):
        Shard.parse(text)


def test_kubernetes_index_without_a_count_is_an_error() -> None:
    with pytest.raises(ConfigError, match="LLMBENCH_SHARD_COUNT"):
        shard_from_env({"JOB_COMPLETION_INDEX": "0"})


def test_shared_run_id_from_the_job() -> None:
    assert shared_run_id({"SLURM_ARRAY_JOB_ID": "77"}) == "slurm-77"
    assert shared_run_id({"GITHUB_RUN_ID": "9", "GITHUB_RUN_ATTEMPT": "2"}) == "gh-9-2"
    assert shared_run_id({"LLMBENCH_RUN_ID": "nightly", "SLURM_ARRAY_JOB_ID": "1"}) == "nightly"
    assert shared_run_id({}) is None


def test_shard_folders_sort_in_index_order() -> None:
    names = [Shard(i, 12).folder_suffix for i in range(12)]
    assert names == sorted(names) and names[3] == "shard-03-of-12"
