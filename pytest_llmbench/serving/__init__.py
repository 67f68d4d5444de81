"""Serving load benchmarks: scenarios, the load generator, metrics, harness checks.

Plain Python (no pytest): the plugin turns each (model x scenario point) of a
``kind: serving`` suite into one test.
"""

from __future__ import annotations
