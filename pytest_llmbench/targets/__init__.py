"""Targets: the servers a run benchmarks, started as Docker containers or local processes,
or reached at a URL; plus the GPU inventory. Plain Python, no pytest.

See docs/targets.md.
"""

from __future__ import annotations

from pytest_llmbench.targets.base import Endpoint, TargetError, TargetUnavailable
from pytest_llmbench.targets.spec import TargetSpec, parse_targets

__all__ = ["Endpoint", "TargetError", "TargetSpec", "TargetUnavailable", "parse_targets"]
