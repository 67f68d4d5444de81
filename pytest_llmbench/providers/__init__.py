"""Providers: one module per API family, registered by name behind one protocol."""

from __future__ import annotations
