"""Terminal tables that fit the terminal: long names abbreviated, extra columns wrapped.

The key columns (suite, model, variant...) lead every line; when the table is wider than
the terminal, the widest key columns are abbreviated in the middle (``bedrock:us.a...
20251101-v1:0``: the provider and the version stay readable) down to three fifths of the width, and the
figure columns that still do not fit go to further blocks under the same keys. Only the
terminal is abbreviated: summary.json and the CSV files keep every name and figure whole.
"""

from __future__ import annotations

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


def _column(values: Sequence[str], width: int) -> list[str]:
    """The column's cells cut to ``width``, widened until distinct names stay distinct."""
    full = max(len(v) for v in values)
    while width < full:
        cut = [abbreviate(v, width) for v in values]
        if len(set(cut)) == len(set(values)):
            return cut
        width += 1
    return list(values)


def _key_widths(widths: list[int], keys: int, budget: int, headers: Sequence[str]) -> list[int]:
    """Shrink the widest key column one character at a time until the keys fit ``budget``."""
    widths = list(widths)
    floor = [max(MIN_KEY_WIDTH, len(headers[i])) for i in range(keys)]
    while sum(widths[:keys]) + len(GAP) * keys > budget:
        candidates = [i for i in range(keys) if widths[i] > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
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
              left: int | None = None) -> FittedTable:
    """Render ``cells`` (a header row, then rows) in at most ``width`` columns where it can.

    ``keys``: leading columns repeated on every block; ``left``: how many leading columns
    are left-aligned (default: the keys), the others are right-aligned.
    """
    left = keys if left is None else left
    columns = len(cells[0])
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    total = sum(widths) + len(GAP) * (columns - 1)
    abbreviated = False
    table = [list(row) for row in cells]
    if total > width and keys:
        budget = max(width * 3 // 5, width - (sum(widths[keys:]) + len(GAP) * (columns - keys - 1)))
        shrunk = _key_widths(widths, keys, budget, cells[0])
        for i in range(keys):
            if shrunk[i] < widths[i]:
                column = _column([row[i] for row in table[1:]], shrunk[i])
                for row, value in zip(table[1:], column, strict=True):
                    row[i] = value
                widths[i] = max(len(row[i]) for row in table)
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
