"""The one YAML loader of the project: safe, line-aware, and strict about duplicate keys.

PyYAML keeps the last of two equal keys silently; a suite or config with ``prompt:``
twice would run with a prompt its author did not mean. Every YAML file the project reads
(suites, serving suites, the models config, simulator configs) goes through here, so a
duplicate key is an error naming its line and the first one's.
"""

from __future__ import annotations

from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A dict that knows the 1-based line of itself and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class _UniqueLoader(yaml.SafeLoader):
    """SafeLoader whose mappings reject duplicate keys (plain dicts)."""


class _LineLoader(_UniqueLoader):
    """Mappings come back as LineDict."""


def _pairs(loader: yaml.SafeLoader, node: yaml.MappingNode) -> list[tuple[Any, Any, int]]:
    loader.flatten_mapping(node)  # merge keys (<<) first: an override there is no duplicate
    seen: dict[Any, int] = {}
    out = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.get(key)
        except TypeError:  # an unhashable key: SafeLoader's own error names it
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found unhashable key",
                key_node.start_mark) from None
        if first is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})",
                key_node.start_mark)
        seen[key] = line
        out.append((key, loader.construct_object(value_node, deep=True), line))
    return out


def _construct_line_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key, value, line in _pairs(loader, node):
        result[key] = value
        result.key_lines[str(key)] = line
    return result


def _construct_mapping(loader: _UniqueLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    return {key: value for key, value, _ in _pairs(loader, node)}


_UniqueLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                            _construct_line_mapping)


def load(text: str) -> Any:
    """Parse YAML; mappings come back as LineDict. Raises yaml.YAMLError."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with duplicate keys rejected (plain dicts)."""
    return yaml.load(text, Loader=_UniqueLoader)  # noqa: S506 - SafeLoader subclass


def error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line a YAML error points at, when it says."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def error_text(exc: yaml.YAMLError) -> str:
    """The problem alone (``duplicate key 'prompt' (first at line 3)``), without the marks."""
    return str(getattr(exc, "problem", None) or exc)
