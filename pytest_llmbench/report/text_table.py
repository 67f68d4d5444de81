"""Terminal tables that fit the terminal: extra columns wrapped, long names abbreviated.

The key columns (suite, model, variant...) lead every line; figure columns that do not fit
go to further blocks under the same keys. When the keys alone take more than three fifths
of the width, the prefix a key column's names share is dropped (``...opus-4-5-20251101-
v1:0``), then the widest key columns are cut in the middle (the tail keeps a version),
the model last. Only the terminal is abbreviated: summary.json and the CSV files keep every
name and figure whole.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

GAP = "  "
ELLIPSIS = "..."  # ASCII, as pytest trims its own lines
MIN_KEY_WIDTH = 12


@dataclass
class FittedTable:
    lines: list[str]
    abbreviated: bool  # a name was shortened: say where the full ones are


def abbreviate(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut in the middle (the tail keeps a model
    name's version)."""
    if len(text) <= width:
        return text
    room = width - len(ELLIPSIS)
    if room < 2:
        return text[:width]
    head = room * 2 // 5
    return text[:head] + ELLIPSIS + text[-(room - head):]


def _drop_common_prefix(values: Sequence[str]) -> list[str]:
    """``...opus-4-5-20251101-v1:0`` and ``...haiku-4-5-20251001-v1:0`` for two
    ``bedrock:us.anthropic.claude-*`` models: the part they share says nothing (cut at a
    separator, so words stay whole)."""
    distinct = sorted(set(values))
    if len(distinct) < 2:
        return list(values)
    prefix = os.path.commonprefix(distinct)
    cut = max(prefix.rfind(sep) for sep in ".-_/:@") + 1
    if cut <= len(ELLIPSIS) + 1 or any(len(v) <= cut for v in distinct):
        return list(values)
    return [ELLIPSIS + v[cut:] for v in values]


def _column(values: Sequence[str], width: int) -> list[str]:
    """The column's cells cut to ``width``, widened until distinct names stay distinct."""
    values = _drop_common_prefix(values)
    full = max(len(v) for v in values)
    while width < full:
        cut = [abbreviate(v, width) for v in values]
        if len(set(cut)) == len(set(values)):
            return cut
        width += 1
    return list(values)


def _key_widths(widths: list[int], keys: int, budget: int, headers: Sequence[str],
                last: int | None) -> list[int]:
    """Shrink the widest key column one character at a time until the keys fit ``budget``;
    column ``last`` (the model) only when the others are at their floor."""
    widths = list(widths)
    floor = [max(MIN_KEY_WIDTH, len(headers[i])) for i in range(keys)]
    while sum(widths[:keys]) + len(GAP) * keys > budget:
        candidates = [i for i in range(keys) if widths[i] > floor[i]]
        if not candidates:
            break
        first = [i for i in candidates if i != last] or candidates
        widest = max(first, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _blocks(widths: list[int], keys: int, width: int) -> list[list[int]]:
    """The figure columns grouped so that keys + group fit ``width`` (at least one each)."""
    key_width = sum(widths[:keys]) + len(GAP) * keys
    blocks: list[list[int]] = [[]]
    used = key_width
    for index in range(keys, len(widths)):
        need = widths[index] + len(GAP)
        if blocks[-1] and used + need - len(GAP) > width:
            blocks.append([])
            used = key_width
        blocks[-1].append(index)
        used += need
    return blocks


def fit_table(cells: Sequence[Sequence[str]], keys: int, width: int,
              left: int | None = None, last: int | None = None) -> FittedTable:
    """Render ``cells`` (a header row, then rows) in at most ``width`` columns where it can.

    ``keys``: leading columns repeated on every block; ``left``: how many leading columns
    are left-aligned (default: the keys), the others are right-aligned; ``last``: the key
    column cut last (the model).
    """
    left = keys if left is None else left
    columns = len(cells[0])
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    total = sum(widths) + len(GAP) * (columns - 1)
    abbreviated = False
    table = [list(row) for row in cells]

    def set_column(i: int, values: list[str]) -> None:
        for row, value in zip(table[1:], values, strict=True):
            row[i] = value
        widths[i] = max(len(row[i]) for row in table)

    def keys_width() -> int:
        return sum(widths[:keys]) + len(GAP) * keys

    budget = max(width * 3 // 5, width - (total - keys_width() + len(GAP)))
    if total > width and keys and keys_width() > budget:
        for i in range(keys):  # first what every name of a column shares
            shorter = _drop_common_prefix([row[i] for row in table[1:]])
            if max(len(v) for v in shorter) < widths[i]:
                set_column(i, shorter)
                abbreviated = True
        shrunk = _key_widths(widths, keys, budget, cells[0], last)
        for i in range(keys):
            if shrunk[i] < widths[i]:
                set_column(i, _column([row[i] for row in table[1:]], shrunk[i]))
                abbreviated = True
    room = width - sum(widths[:keys]) - len(GAP) * keys
    for i in range(keys, columns):  # a figure wider than the room left: cut (a list of names)
        if widths[i] > room >= MIN_KEY_WIDTH:
            for row in table[1:]:
                row[i] = abbreviate(row[i], room)
            widths[i] = max(len(row[i]) for row in table)
            abbreviated = True
    blocks = _blocks(widths, keys, width) if keys < columns else [[]]
    lines: list[str] = []
    for number, block in enumerate(blocks):
        if number:
            lines.append("")
        indexes = [*range(keys), *block]
        for row_number, row in enumerate(table):
            lines.append(GAP.join(row[i].ljust(widths[i]) if i < left else
                                  row[i].rjust(widths[i]) for i in indexes).rstrip())
            if row_number == 0:
                lines.append(GAP.join("-" * widths[i] for i in indexes))
    return FittedTable(lines, abbreviated)


__all__ = ["FittedTable", "abbreviate", "fit_table"]
