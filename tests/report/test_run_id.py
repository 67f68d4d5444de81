"""Run ids sort in the order runs started, even within one second."""

from __future__ import annotations

import re
import time

from pytest_llmbench.results.run_dir import new_run_id


def test_run_ids_started_milliseconds_apart_sort_in_start_order() -> None:
    ids = []
    for _ in range(20):
        ids.append(new_run_id())
        time.sleep(0.002)
    assert all(re.fullmatch(r"\d{8}-\d{6}\.\d{3}-[0-9a-f]{4}", run_id) for run_id in ids), ids
    assert sorted(ids) == ids and len(set(ids)) == len(ids)
