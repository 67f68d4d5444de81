"""Run lifecycle: resume, response cache and record/replay, budget, live progress, watch."""

from __future__ import annotations
