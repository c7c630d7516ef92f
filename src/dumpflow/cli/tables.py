"""Terminal tables that never cut a number: columns take their content's width, the one text
column takes what is left, and when the terminal is too narrow whole columns are dropped
(least important first) instead of squeezing digits out of a cell."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table

PADDING = 1  # right padding of every cell
COLUMN_GAP = PADDING + 1  # padding + the box's blank column separator
MIN_TEXT_WIDTH = 16  # narrower than this, the text column goes before the others do


@dataclass(frozen=True, slots=True)
class Column:
    """``keep`` orders what survives a narrow terminal (higher stays longer); ``text`` marks
    the single column that may be shortened (with an ellipsis) instead of dropped."""

    name: str
    keep: int = 5
    right: bool = False
    text: bool = False


def printable(text: str) -> str:
    """Control characters (a key or an AWS message may carry ANSI escapes or newlines) shown
    as ``\\xNN`` instead of acting on the operator's terminal."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _natural(column: Column, cells: list[str]) -> int:
    return max([cell_len(column.name), *(cell_len(c) for c in cells)])


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> Table:
    """A borderless table of ``rows`` at most ``width`` wide (dropping columns if needed)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    cells = [[row[i] for row in rows] for i in range(len(columns))]
    shown = list(range(len(columns)))

    def fixed_width(indexes: list[int]) -> int:
        widths = [_natural(columns[i], cells[i]) for i in indexes if not columns[i].text]
        return sum(widths) + COLUMN_GAP * max(len(indexes) - 1, 0) + PADDING

    def text_room(indexes: list[int]) -> int:
        return width - fixed_width(indexes)

    while True:
        has_text = any(columns[i].text for i in shown)
        needed = MIN_TEXT_WIDTH if has_text else 0
        if text_room(shown) >= needed or len(shown) <= 1:
            break
        droppable = sorted(shown, key=lambda i: (columns[i].keep, -i))
        shown.remove(droppable[0])

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, PADDING, 0, 0))
    room = text_room(shown)
    for i in shown:
        column = columns[i]
        natural = _natural(column, cells[i])
        if column.text:
            size = max(min(natural, room), len(column.name))
            table.add_column(column.name, overflow="ellipsis", no_wrap=True, width=size)
        else:
            table.add_column(
                column.name,
                justify="right" if column.right else "left",
                no_wrap=True,
                width=natural,
            )
    for row in rows:
        table.add_row(*(escape(row[i]) for i in shown))
    return table
