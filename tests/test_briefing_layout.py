"""Where tables go on a briefing slide: rows (wrapped cells included) and the note under a
table fit its box, so nothing is drawn over anything else."""

from __future__ import annotations

import pytest

from documents.layout import (
    CELL_PAD_Y,
    LINE,
    MIN_TABLE_FONT,
    TABLE_NOTE_H,
    TABLE_TITLE_H,
    _lines,
    fit_table,
)
from documents.slides import Table

RANKING_UNITS_BOX = (0.5, 4.3, 7.6, 2.6)  # the handling-unit table of the 红黑榜 slide
OVERDUE_UNITS_BOX = (0.5, 3.05, 3.7, 3.4)  # the narrow by-unit table of the 交办 slide


def table(rows: int, *, name: str = "区住建局", note: str = "另有 3 个单位未列出。") -> Table:
    return Table(
        "承办单位",
        ("承办单位", "超期件数", "最长超期（小时）", "超期中位数（小时）"),
        tuple((name, "3", "650", "634") for _ in range(rows)),
        (False, True, True, True),
        note=note,
    )


@pytest.mark.parametrize("rows", [1, 6, 10, 25])
@pytest.mark.parametrize("name", ["区住建局", "永塘街道综合执法队"])
@pytest.mark.parametrize("box", [RANKING_UNITS_BOX, OVERDUE_UNITS_BOX])
def test_title_grid_and_note_fit_the_box(rows, name, box) -> None:
    fit = fit_table(box, table=table(rows, name=name), font=12)
    x, y, w, h = box
    assert fit.top == pytest.approx(y + TABLE_TITLE_H)
    assert sum(fit.widths) == pytest.approx(w)
    assert len(fit.row_heights) == rows + 1
    if fit.font > MIN_TABLE_FONT:  # could shrink enough: everything inside the box
        assert fit.note_y + TABLE_NOTE_H <= y + h + 0.05
    assert fit.note_y >= fit.top + sum(fit.row_heights)  # the note starts below the grid
    # every row has room for its text, wrapped lines included
    t = table(rows, name=name)
    for i, (texts, height) in enumerate(zip([t.columns, *t.rows], fit.row_heights, strict=True)):
        lines = _lines(texts, fit.widths, fit.font, header=i == 0)
        assert height >= lines * fit.font * LINE / 72 + CELL_PAD_Y - 1e-9


def test_roomy_table_keeps_its_font_and_rows_with_air() -> None:
    fit = fit_table((0.5, 1.4, 6.05, 4.0), table=table(5), font=12)
    assert fit.font == 12
    assert fit.row_heights == pytest.approx([12 * 2 / 72] * 6)


def test_wrapped_names_shrink_the_font_until_the_rows_fit() -> None:
    # "永塘街道综合执法队" (9 ems) wraps in a 3.7 in table at 11 pt; ten such rows do not fit
    fit = fit_table(OVERDUE_UNITS_BOX, table=table(10, name="永塘街道综合执法队"), font=11)
    assert MIN_TABLE_FONT <= fit.font < 11
    x, y, w, h = OVERDUE_UNITS_BOX
    assert fit.note_y + TABLE_NOTE_H <= y + h + 0.05


def test_a_table_without_note_uses_the_room_of_the_note() -> None:
    with_note = fit_table(OVERDUE_UNITS_BOX, table=table(12), font=11)
    without = fit_table(OVERDUE_UNITS_BOX, table=table(12, note=""), font=11)
    assert without.font >= with_note.font
    assert sum(without.row_heights) >= sum(with_note.row_heights)
