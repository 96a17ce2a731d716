"""The briefing as a PDF (fpdf2): real text in an embedded CJK font, native tables, the map.

Same model and same layout as the PPTX (``briefing_layout``), one 16:9 page per slide. The
project's own font (assets/fonts/, a subset of Noto Sans CJK SC, SIL OFL 1.1) is embedded
and subset by fpdf2 with a ToUnicode map, so Chinese text prints on any machine and can be
searched, copied and extracted (the tests read it back with pypdf).
"""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import TextMode, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from documents.briefing import Briefing
from documents.fonts import FONT_PATH
from documents.layout import (
    ACCENT,
    CARD,
    CELL_PAD_X,
    CELL_PAD_Y,
    FOOTER_BOX,
    HEIGHT,
    INK,
    MUTED,
    RULE_BOX,
    SUBTITLE_BOX,
    TABLE_NOTE_H,
    TABLE_TITLE_H,
    TITLE_BOX,
    WIDTH,
    delta_color,
    fit_table,
    grid,
    layout,
)
from documents.slides import Figure, Table

MIME = "application/pdf"
FONT = "GridPulseSans"


def _hex(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


class _Pdf(FPDF):
    def __init__(self, lang: str) -> None:
        super().__init__(orientation="L", unit="in", format=(HEIGHT, WIDTH))
        self.wrap = WrapMode.CHAR if lang == "zh" else WrapMode.WORD
        self.add_font(FONT, "", str(FONT_PATH))
        self.add_font(FONT, "B", str(FONT_PATH))  # one weight shipped: bold is drawn stroked
        self.set_auto_page_break(False)
        self.set_margins(0.5, 0.3, 0.5)

    def write_box(self, box, text: str, *, size: float, color: str = INK, bold=False, align="L"):
        x, y, w, h = box
        self.set_font(FONT, "", size)
        self.set_text_color(*_hex(color))
        if bold:
            self.text_mode = TextMode.FILL_STROKE
            self.set_draw_color(*_hex(color))
            self.set_line_width(size / 72 / 40)
        self.set_xy(x, y)
        self.multi_cell(
            w,
            size / 72 * 1.35,
            text,
            align=align,
            wrapmode=self.wrap,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.text_mode = TextMode.FILL
        return self.get_y()


def _card(pdf: _Pdf, box, fig: Figure) -> None:
    x, y, w, h = box
    pdf.set_fill_color(*_hex(CARD))
    pdf.rect(x, y, w, h, style="F", round_corners=True, corner_radius=0.08)
    value_size = max(20.0, min(40.0, h * 16))
    lines = [(fig.label, 14, MUTED, False), (fig.value, value_size, INK, True)]
    lines.append((f"= {fig.fraction}" if fig.fraction else "", 12, MUTED, False))
    if fig.delta:
        lines.append((fig.delta, 12, delta_color(fig), False))
    height = sum(size / 72 * 1.35 for _, size, _, _ in lines)
    cursor = y + max(0.06, (h - height) / 2)
    for text, size, color, bold in lines:
        cursor = pdf.write_box(
            (x + 0.14, cursor, w - 0.28, size / 72 * 1.35), text, size=size, color=color, bold=bold
        )


def _table(pdf: _Pdf, box, table: Table, font: float) -> None:
    x, y, w, h = box
    pdf.write_box((x, y, w, 0.38), table.title, size=font + 3, bold=True)
    if not table.rows:
        pdf.write_box((x, y + TABLE_TITLE_H, w, 0.5), table.empty, size=font + 1, color=MUTED)
        return
    fit = fit_table(box, table=table, font=font)
    font, top = fit.font, fit.top
    pdf.set_font(FONT, "", font)
    pdf.set_text_color(*_hex(INK))
    pdf.set_draw_color(*_hex("#d1d5db"))
    pdf.set_line_width(0.005)
    pdf.set_left_margin(x)
    pdf.set_fill_color(*_hex("#f3f4f6"))
    pdf.set_xy(x, top)
    aligns = [
        "RIGHT" if i < len(table.numeric) and table.numeric[i] else "LEFT"
        for i in range(len(table.columns))
    ]
    with pdf.table(
        width=w,
        col_widths=fit.widths,
        align="LEFT",
        line_height=fit.line_h,
        min_row_height=min(fit.row_heights),  # the air the PPTX rows get too
        text_align=aligns,
        headings_style=FontFace(color=(255, 255, 255), fill_color=_hex("#374151")),
        cell_fill_color=_hex("#f3f4f6"),
        cell_fill_mode="ROWS",
        padding=(CELL_PAD_Y / 2, CELL_PAD_X / 2),
        wrapmode=pdf.wrap,
        first_row_as_headings=True,
    ) as grid_table:
        for values in (table.columns, *table.rows):
            row = grid_table.row()
            for value in values:
                row.cell(value)
    pdf.set_left_margin(0.5)
    if table.note:
        pdf.write_box(  # below the grid even when a cell wrapped onto a second line
            (x, max(fit.note_y, pdf.get_y() + 0.04), w, TABLE_NOTE_H),
            table.note,
            size=font - 1,
            color=MUTED,
        )


def pdf_bytes(briefing: Briefing, *, map_png: bytes | None) -> bytes:
    """The seven slides as a PDF, one landscape 16:9 page each."""
    pdf = _Pdf(briefing.lang)
    pdf.set_title(f"{briefing.title} · {briefing.period_label}")
    pdf.set_subject(briefing.footer)
    pdf.set_author("GridPulse")
    pdf.set_creator("GridPulse 网格治理驾驶舱")
    pdf.set_lang("zh-CN" if briefing.lang == "zh" else "en")
    total = len(briefing.slides)
    for slide in briefing.slides:
        pdf.add_page()
        pdf.write_box(TITLE_BOX, slide.title, size=30, bold=True)
        pdf.set_fill_color(*_hex(ACCENT))
        pdf.rect(*RULE_BOX, style="F")
        if slide.subtitle:
            pdf.write_box(SUBTITLE_BOX, slide.subtitle, size=13, color=MUTED)
        for block in layout(slide):
            if block.kind == "figures":
                for box, fig in zip(
                    grid(block.box, len(block.payload), block.cols), block.payload, strict=True
                ):
                    _card(pdf, box, fig)
            elif block.kind == "table":
                _table(pdf, block.box, block.payload, block.font)
            elif block.kind == "notes":
                x, y, w, h = block.box
                for line in block.payload:
                    y = (
                        pdf.write_box((x, y, w, h), f"• {line}", size=block.font, color=MUTED)
                        + 0.04
                    )
            elif block.kind == "map" and map_png:
                x, y, w, h = block.box
                pdf.image(io.BytesIO(map_png), x=x, y=y, w=w, h=h, keep_aspect_ratio=True)
        x, y, w, h = FOOTER_BOX
        pdf.write_box((x, y, w - 1.0, h), briefing.footer, size=10, color=MUTED)
        pdf.write_box(
            (x + w - 1.0, y, 1.0, h), f"{slide.number} / {total}", size=10, color=MUTED, align="R"
        )
    return bytes(pdf.output())
