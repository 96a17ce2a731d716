"""The briefing as a PowerPoint file (python-pptx): native text and tables, the map as a PNG.

Reads a ``briefing.Briefing`` (the same model the screen shows) and the map image made by
``documents.static_map``; places everything where ``briefing_layout`` says, so the PPTX and the
PDF look alike.

The font is embedded the way PowerPoint embeds fonts (ECMA-376 Part 1, PresentationML
``p:embeddedFontLst``), which python-pptx has no API for: after the slides are built, the
project's font (``briefing_fonts``) is subset to the characters on the slides plus printable
ASCII, wrapped as Embedded OpenType (``eot``) and added as the part ``/ppt/fonts/font1.fntdata``
(``application/x-fontdata``) with a font relationship from the presentation part, and
``p:embeddedFontLst`` names it; every run names the same family as its Latin, East Asian and
complex-script typeface. PowerPoint reads embedded fonts, so the slides show in it on a
machine without Chinese fonts; suites that do not (LibreOffice 7.4, 25.2) substitute a face of
their own (the runs ask for a GB 2312, variable-pitch sans). See docs/meeting.md, "Font".
"""

from __future__ import annotations

import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.opc.package import Part
from pptx.opc.packuri import PackURI
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from documents.briefing import Briefing
from documents.eot import eot_header, font_to_eot
from documents.fonts import PPTX_BASE_CHARS, PPTX_FONT, subset_font
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

MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
FONT_PARTNAME = "/ppt/fonts/font1.fntdata"
FONT_CONTENT_TYPE = "application/x-fontdata"
# The children of p:presentation that follow p:embeddedFontLst (ECMA-376 CT_Presentation)
_AFTER_FONTS = ("p:custShowLst", "p:photoAlbum", "p:custDataLst", "p:kinsoku")
_AFTER_FONTS += ("p:defaultTextStyle", "p:modifyVerifier", "p:extLst")


def _rgb(hex_color: str) -> RGBColor:
    return RGBColor.from_string(hex_color.lstrip("#"))


def _font(run, *, size: float, color: str = INK, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = _rgb(color)
    rpr = run._r.get_or_add_rPr()
    for tag in ("a:latin", "a:ea", "a:cs"):  # in schema order, after the colour fill
        for el in rpr.findall(qn(tag)):
            rpr.remove(el)
        rpr.append(rpr.makeelement(qn(tag), PPTX_FONT))


def _box(slide, box, lines, *, align=PP_ALIGN.LEFT, anchor=MSO_ANCHOR.TOP):
    """A text box; ``lines`` = [(text, size, color, bold)]."""
    x, y, w, h = box
    shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    for side in ("margin_left", "margin_right", "margin_top", "margin_bottom"):
        setattr(frame, side, Inches(0.04))
    for i, (text, size, color, bold) in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.alignment = align
        run = paragraph.add_run()
        run.text = text
        _font(run, size=size, color=color, bold=bold)
    return shape


def _card(slide, box, fig: Figure) -> None:
    x, y, w, h = box
    shape = slide.shapes.add_shape(
        MSO_SHAPE.ROUNDED_RECTANGLE, Inches(x), Inches(y), Inches(w), Inches(h)
    )
    shape.adjustments[0] = 0.08
    shape.fill.solid()
    shape.fill.fore_color.rgb = _rgb(CARD)
    shape.line.fill.background()
    shape.shadow.inherit = False
    value_size = max(20.0, min(40.0, h * 16))
    lines = [(fig.label, 14, MUTED, False), (fig.value, value_size, INK, True)]
    lines.append((f"= {fig.fraction}" if fig.fraction else " ", 12, MUTED, False))
    if fig.delta:
        lines.append((fig.delta, 12, delta_color(fig), False))
    _box(slide, (x + 0.12, y + 0.06, w - 0.24, h - 0.12), lines, anchor=MSO_ANCHOR.MIDDLE)


def _table(slide, box, table: Table, font: float) -> None:
    x, y, w, h = box
    _box(slide, (x, y, w, 0.38), [(table.title, font + 3, INK, True)])
    if not table.rows:
        _box(slide, (x, y + TABLE_TITLE_H, w, 0.5), [(table.empty, font + 1, MUTED, False)])
        return
    n_rows = len(table.rows) + 1
    fit = fit_table(box, table=table, font=font)
    font = fit.font
    shape = slide.shapes.add_table(
        n_rows,
        len(table.columns),
        Inches(x),
        Inches(fit.top),
        Inches(w),
        Inches(sum(fit.row_heights)),
    )
    grid_table = shape.table
    for i, width in enumerate(fit.widths):
        grid_table.columns[i].width = Inches(width)
    for r in range(n_rows):
        grid_table.rows[r].height = Inches(fit.row_heights[r])
        for c in range(len(table.columns)):
            text = table.columns[c] if r == 0 else table.rows[r - 1][c]
            cell = grid_table.cell(r, c)
            cell.margin_left = cell.margin_right = Inches(CELL_PAD_X / 2)
            cell.margin_top = cell.margin_bottom = Inches(CELL_PAD_Y / 2)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            cell.fill.solid()
            cell.fill.fore_color.rgb = _rgb(
                "#374151" if r == 0 else ("#ffffff" if r % 2 else "#f3f4f6")
            )
            paragraph = cell.text_frame.paragraphs[0]
            numeric = r > 0 and c < len(table.numeric) and table.numeric[c]
            paragraph.alignment = PP_ALIGN.RIGHT if numeric else PP_ALIGN.LEFT
            run = paragraph.add_run()
            run.text = text
            _font(run, size=font, color="#ffffff" if r == 0 else INK, bold=r == 0)
    if table.note:
        _box(slide, (x, fit.note_y, w, TABLE_NOTE_H), [(table.note, font - 1, MUTED, False)])


def _embed_font(deck) -> None:
    """Embed the subset of the font that the slides' text needs (see the module docstring)."""
    text = PPTX_BASE_CHARS + "".join(
        t.text or "" for slide in deck.slides for t in slide._element.iter(qn("a:t"))
    )
    eot = font_to_eot(subset_font(text))
    part = Part(PackURI(FONT_PARTNAME), FONT_CONTENT_TYPE, deck.part.package, eot)
    r_id = deck.part.relate_to(part, RT.FONT)
    presentation = deck.part._element
    for old in presentation.findall(qn("p:embeddedFontLst")):
        presentation.remove(old)
    font_list = presentation.makeelement(qn("p:embeddedFontLst"), {})
    entry = font_list.makeelement(qn("p:embeddedFont"), {})
    panose = eot_header(eot)["panose"].hex().upper()
    entry.append(entry.makeelement(qn("p:font"), {**PPTX_FONT, "panose": panose}))
    entry.append(entry.makeelement(qn("p:regular"), {qn("r:id"): r_id}))
    font_list.append(entry)
    presentation.insert_element_before(font_list, *_AFTER_FONTS)
    presentation.set("embedTrueTypeFonts", "1")
    presentation.set("saveSubsetFonts", "1")  # the font holds only the characters used


def pptx_bytes(briefing: Briefing, *, map_png: bytes | None) -> bytes:
    """The seven slides as a .pptx file."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(WIDTH), Inches(HEIGHT)
    # the template's size says screen4x3; a 16:9 deck of this size is a custom size
    deck.part._element.find(qn("p:sldSz")).attrib.pop("type", None)
    blank = deck.slide_layouts[6]
    total = len(briefing.slides)
    deck.core_properties.title = f"{briefing.title} · {briefing.period_label}"
    deck.core_properties.subject = briefing.footer
    deck.core_properties.author = "GridPulse"
    for slide_model in briefing.slides:
        slide = deck.slides.add_slide(blank)
        _box(slide, TITLE_BOX, [(slide_model.title, 30, INK, True)], anchor=MSO_ANCHOR.MIDDLE)
        rule = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *(Inches(v) for v in RULE_BOX))
        rule.fill.solid()
        rule.fill.fore_color.rgb = _rgb(ACCENT)
        rule.line.fill.background()
        if slide_model.subtitle:
            _box(slide, SUBTITLE_BOX, [(slide_model.subtitle, 13, MUTED, False)])
        for block in layout(slide_model):
            if block.kind == "figures":
                for box, fig in zip(
                    grid(block.box, len(block.payload), block.cols), block.payload, strict=True
                ):
                    _card(slide, box, fig)
            elif block.kind == "table":
                _table(slide, block.box, block.payload, block.font)
            elif block.kind == "notes":
                lines = [(f"• {line}", block.font, MUTED, False) for line in block.payload]
                if lines:
                    _box(slide, block.box, lines)
            elif block.kind == "map" and map_png:
                x, y, w, h = block.box
                picture = slide.shapes.add_picture(io.BytesIO(map_png), Inches(x), Inches(y))
                scale = min(Inches(w) / picture.width, Inches(h) / picture.height)
                picture.width, picture.height = (
                    int(picture.width * scale),
                    int(picture.height * scale),
                )
        x, y, w, h = FOOTER_BOX
        _box(slide, (x, y, w - 1.0, h), [(briefing.footer, 10, MUTED, False)])
        _box(
            slide,
            (x + w - 1.0, y, 1.0, h),
            [(f"{slide_model.number} / {total}", 10, MUTED, False)],
            align=PP_ALIGN.RIGHT,
        )
    _embed_font(deck)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()
