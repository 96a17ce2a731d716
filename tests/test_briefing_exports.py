"""The briefing files: PPTX (python-pptx) and PDF (fpdf2) open, carry the Chinese titles and
the same figures as ``python -m data_layer kpis``; the static map; the shipped CJK font."""

from __future__ import annotations

import io
import re

import pytest
from fixtures_tiny import AS_OF, S1, cli_kpis
from PIL import Image
from pptx.oxml.ns import qn

from data_layer.domain.formatting import format_fraction, format_value
from data_layer.domain.scope import Scope
from data_layer.settings import FONTS_DIR
from documents.briefing import build_briefing
from documents.fonts import FONT_PATH
from documents.meeting import Meeting
from documents.pdf_writer import pdf_bytes
from documents.pptx_writer import pptx_bytes
from documents.static_map import choropleth_png

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TITLES = [
    "核心指标",
    "各社区办结率",
    "红黑榜",
    "交办事项",
    "网格覆盖短板",
    "志愿服务与微心愿",
    "数据说明",
]
CHECKED = ["reported", "closure_rate", "on_time_rate", "overdue_open", "satisfaction_rate"]
CHECKED += ["response_rate", "full_time_coverage", "party_org_coverage", "wish_fulfilment_rate"]
MEETINGS = [
    Meeting.for_month(2025, 3, as_of=AS_OF),
    Meeting.for_month(2025, 3, as_of=AS_OF, streets=(S1,)),
]


def cli_metrics(data_dir, capsys, meeting: Meeting) -> dict:
    streets = ["--street", *meeting.streets] if meeting.streets else []
    return cli_kpis(
        data_dir, capsys, *streets, start=meeting.start, end=meeting.end, as_of=meeting.as_of
    )


def expected_texts(cli: dict) -> list[str]:
    out = []
    for key in CHECKED:
        out.append(format_value(key, cli[key]["value"]))
        if "numerator" in cli[key]:
            out.append(format_fraction(cli[key]["numerator"], cli[key]["denominator"]))
    return out


@pytest.fixture(scope="module")
def map_png():
    from fixtures_tiny import tiny_dataset

    ds = tiny_dataset()
    briefing = build_briefing(ds, MEETINGS[0], Scope.everything())
    return choropleth_png(ds, briefing.map_values)


def test_static_map_is_a_png_with_room_for_the_legend(map_png):
    image = Image.open(io.BytesIO(map_png))
    assert image.format == "PNG" and image.width > image.height > 300
    # coloured (not an empty frame): more than a few distinct colours
    assert len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 10


@pytest.mark.parametrize("meeting", MEETINGS, ids=["all", "street"])
def test_pptx_opens_with_seven_slides_the_titles_and_the_cli_figures(
    tiny, tiny_dir, capsys, map_png, meeting
):
    from pptx import Presentation

    briefing = build_briefing(tiny, meeting, Scope.everything())
    deck = Presentation(io.BytesIO(pptx_bytes(briefing, map_png=map_png)))
    assert len(deck.slides) == 7
    assert deck.slide_width / deck.slide_height == pytest.approx(16 / 9, abs=1e-3)
    size = deck.part._element.find(qn("p:sldSz"))
    assert size.get("type") in (None, "custom")  # not the template's "screen4x3"
    texts, tables, pictures = [], 0, 0
    for slide in deck.slides:
        page = []
        for shape in slide.shapes:
            if shape.has_text_frame:
                page.append(shape.text_frame.text)
            if shape.has_table:
                tables += 1
                page += [cell.text for row in shape.table.rows for cell in row.cells]
            if shape.shape_type == 13:  # picture
                pictures += 1
        texts.append("\n".join(page))
    for title, page in zip(TITLES, texts, strict=True):
        assert title in page
    everything = "\n".join(texts)
    for text in expected_texts(cli_metrics(tiny_dir, capsys, meeting)):
        assert text in texts[0] or text in everything, text
    assert pictures == 1 and tables >= 5
    assert "138****1234" in texts[3] and not PHONE.search(everything)
    assert briefing.period_label in everything and briefing.scope_label in everything


@pytest.mark.parametrize("meeting", MEETINGS, ids=["all", "street"])
def test_pdf_text_has_the_chinese_titles_and_the_cli_figures(
    tiny, tiny_dir, capsys, map_png, meeting
):
    from pypdf import PdfReader

    briefing = build_briefing(tiny, meeting, Scope.everything())
    data = pdf_bytes(briefing, map_png=map_png)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 7
    pages = [page.extract_text() for page in reader.pages]
    for title, page in zip(TITLES, pages, strict=True):
        assert title in page
    for text in expected_texts(cli_metrics(tiny_dir, capsys, meeting)):
        assert text in "\n".join(pages), text
    assert f"数据截至 {meeting.as_of:%Y-%m-%d %H:%M}" in pages[0]
    assert "138****1234" in pages[3] and not PHONE.search("\n".join(pages))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
        if "/BaseFont" in font.get_object()
    }
    assert any("GridPulse" in name for name in fonts), fonts  # our font, embedded


def test_english_pdf(tiny, map_png):
    from pypdf import PdfReader

    briefing = build_briefing(tiny, MEETINGS[0], Scope.everything(), lang="en")
    pages = [
        p.extract_text() for p in PdfReader(io.BytesIO(pdf_bytes(briefing, map_png=map_png))).pages
    ]
    assert "Headline figures" in pages[0] and "About the data" in pages[6]


def test_the_project_ships_its_cjk_font_with_the_licence():
    from fontTools.ttLib import TTFont

    font = TTFont(str(FONT_PATH))
    cmap = font.getBestCmap()
    for char in "网格治理驾驶舱联席会议办结率红黑榜微心愿—·（）≥":
        assert ord(char) in cmap, char
    assert "glyf" in font  # TrueType outlines: every PDF writer can embed them
    licence = (FONTS_DIR / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Noto Sans CJK SC" in (FONTS_DIR / "README.md").read_text(encoding="utf-8")
