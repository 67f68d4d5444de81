"""The project's YAML loader, for suites: line-aware mappings, duplicate keys rejected.

It lives in ``pytest_llmbench.config`` (which imports nothing upward, and reads the models
config with it); this module keeps the short names the suite loaders use.
"""

from __future__ import annotations

from pytest_llmbench.config import LineDict
from pytest_llmbench.config import load_yaml as load
from pytest_llmbench.config import safe_load_yaml as safe_load
from pytest_llmbench.config import yaml_error_line as error_line
from pytest_llmbench.config import yaml_error_text as error_text

__all__ = ["LineDict", "error_line", "error_text", "load", "safe_load"]
