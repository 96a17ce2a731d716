"""Where things go on a briefing slide, shared by the PPTX and the PDF writer.

A slide is 13.333 × 7.5 inches (16:9). ``layout`` turns a ``slides.Slide`` into blocks
(figure cards, tables, notes, the map) with boxes in inches, so both files put the same
content in the same place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from documents.slides import Figure, Slide

WIDTH, HEIGHT = 13.333, 7.5
MARGIN = 0.5
TITLE_BOX = (MARGIN, 0.2, WIDTH - 2 * MARGIN, 0.64)
RULE_BOX = (MARGIN, 0.86, 1.2, 0.05)
SUBTITLE_BOX = (MARGIN, 0.95, WIDTH - 2 * MARGIN, 0.4)
FOOTER_BOX = (MARGIN, 7.02, WIDTH - 2 * MARGIN, 0.32)
ACCENT = "#b91c1c"  # party red, the title rule
INK, MUTED, CARD = "#111827", "#4b5563", "#f3f4f6"
GOOD, BAD, NEUTRAL = "#15803d", "#b91c1c", "#4b5563"


@dataclass(frozen=True)
class Block:
    kind: str  # figures | table | notes | map
    box: tuple[float, float, float, float]  # x, y, w, h in inches
    payload: Any
    cols: int = 1
    font: float = 12.0  # points


def layout(slide: Slide) -> list[Block]:
    f, t, n = slide.figures, slide.tables, slide.notes
    if slide.key == "headline":
        return [
            Block("figures", (0.5, 1.5, 12.33, 4.7), f, cols=4),
            Block("notes", (0.5, 6.35, 12.33, 0.55), n, font=13),
        ]
    if slide.key == "map":
        return [
            Block("map", (0.5, 1.4, 7.5, 5.5), None),
            Block("figures", (8.2, 1.45, 4.63, 1.45), f, cols=1),
            Block("table", (8.2, 3.05, 4.63, 3.8), t[0], font=12),
        ]
    if slide.key == "ranking":
        return [
            Block("table", (0.5, 1.4, 6.05, 2.75), t[0], font=12),
            Block("table", (6.78, 1.4, 6.05, 2.75), t[1], font=12),
            Block("table", (0.5, 4.3, 7.6, 2.6), t[2], font=12),
            Block("notes", (8.35, 4.3, 4.48, 2.6), n, font=11),
        ]
    if slide.key == "overdue":
        return [
            Block("figures", (0.5, 1.45, 3.7, 1.45), f, cols=2),
            Block("table", (0.5, 3.05, 3.7, 3.4), t[0], font=11),
            Block("table", (4.4, 1.45, 8.43, 5.0), t[1], font=10.5),
            Block("notes", (0.5, 6.5, 12.33, 0.4), n, font=11),
        ]
    if slide.key == "coverage":
        return [
            Block("figures", (0.5, 1.45, 12.33, 1.5), f, cols=4),
            Block("table", (0.5, 3.15, 6.05, 3.75), t[0], font=12),
            Block("table", (6.78, 3.15, 6.05, 3.75), t[1], font=12),
        ]
    if slide.key == "volunteer":
        return [
            Block("figures", (0.5, 1.4, 12.33, 2.95), f, cols=5),
            Block("table", (0.5, 4.5, 12.33, 2.4), t[0], font=12),
        ]
    # notes (数据说明)
    return [
        Block("notes", (0.5, 1.45, 4.5, 5.45), n, font=12),
        Block("table", (5.2, 1.45, 7.63, 5.45), t[0], font=9),
    ]


def grid(box: tuple[float, float, float, float], count: int, cols: int, gap: float = 0.15):
    """Boxes of ``count`` cards in ``cols`` columns filling ``box``."""
    x, y, w, h = box
    rows = max(1, -(-count // cols))
    cw = (w - gap * (cols - 1)) / cols
    ch = (h - gap * (rows - 1)) / rows
    return [
        (x + (i % cols) * (cw + gap), y + (i // cols) * (ch + gap), cw, ch) for i in range(count)
    ]


def delta_color(figure: Figure) -> str:
    if not figure.delta or figure.delta.startswith("±") or figure.higher_is_better is None:
        return NEUTRAL
    up = figure.delta.startswith("+")
    return GOOD if up == figure.higher_is_better else BAD


CELL_PAD_X = 0.12  # inches of a column's width that are cell padding, left and right
CELL_PAD_Y = 0.04  # inches of a row's height that are cell padding, top and bottom
LINE = 1.45  # line height, in font sizes


def text_ems(text: str) -> float:
    """Width of ``text`` in ems: CJK characters one em, others about half."""
    return sum(1.0 if ord(c) > 0x2E80 else 0.56 for c in text)


def column_widths(table, total: float, font: float) -> list[float]:
    """Column widths in inches: each column's natural width (its longest text at ``font``
    points, CJK characters one em, others about half), shrinking only the widest columns
    (whose text then wraps) when the natural widths do not fit ``total``; spare room is
    shared out in proportion."""

    pad = CELL_PAD_X
    natural = [
        max([text_ems(table.columns[i]) * 0.9] + [text_ems(r[i]) for r in table.rows]) * font / 72
        + pad
        for i in range(len(table.columns))
    ]
    if sum(natural) <= total:
        spare = total - sum(natural)
        return [w + spare * w / sum(natural) for w in natural]
    widths = list(natural)
    fixed: set[int] = set()
    while True:  # water-filling: columns narrower than a fair share keep their width
        free = [i for i in range(len(widths)) if i not in fixed]
        share = (total - sum(widths[i] for i in fixed)) / len(free)
        small = [i for i in free if natural[i] <= share]
        if not small:
            for i in free:
                widths[i] = share
            return widths
        fixed.update(small)


TABLE_TITLE_H = 0.42  # the table's title line, above the grid
TABLE_NOTE_H = 0.32  # the note line below the grid
MIN_TABLE_FONT = 7.0  # points; a table never gets smaller than this to fit its box


@dataclass(frozen=True)
class TableFit:
    font: float  # points
    widths: tuple[float, ...]  # inches, per column
    row_heights: tuple[float, ...]  # inches, per grid row (header first)
    top: float  # inches, top of the grid
    note_y: float  # inches, top of the note line

    @property
    def line_h(self) -> float:
        """Height of one text line in a cell, inches."""
        return self.font * LINE / 72


def _lines(texts, widths, font: float, *, header: bool) -> int:
    """Lines the longest-wrapping cell of a row needs at ``font`` points."""
    need = 1
    for text, width in zip(texts, widths, strict=True):
        ems = text_ems(text) * (0.9 if header else 1.0)
        usable = max(width - CELL_PAD_X, 0.1)
        need = max(need, math.ceil(ems * font / 72 / usable - 1e-9))
    return need


def fit_table(box: tuple[float, float, float, float], *, table, font: float) -> TableFit:
    """Font, column widths and row heights so the table's title, its grid (wrapped cells
    included) and its note fit in ``box``. Rows get two line heights of room when there
    is space, then shrink to their text, then the font shrinks (not below
    :data:`MIN_TABLE_FONT`). The note always starts below the last row."""
    x, y, w, h = box
    top = y + TABLE_TITLE_H
    room = h - TABLE_TITLE_H - (TABLE_NOTE_H if table.note else 0.0)
    rows = [table.columns, *table.rows]
    size = font
    while True:
        widths = column_widths(table, w, size)
        line_h = size * LINE / 72
        tight = [
            _lines(r, widths, size, header=i == 0) * line_h + CELL_PAD_Y for i, r in enumerate(rows)
        ]
        if sum(tight) <= room or size <= MIN_TABLE_FONT:
            break
        size = max(size - 0.5, MIN_TABLE_FONT)
    roomy = size * 2.0 / 72  # a one-line row with air, when the box has room for it
    spare = room - sum(tight)
    heights = [max(t, min(roomy, t + spare / len(rows))) if spare > 0 else t for t in tight]
    return TableFit(
        font=size,
        widths=tuple(widths),
        row_heights=tuple(heights),
        top=top,
        note_y=top + sum(heights) + 0.04,
    )
