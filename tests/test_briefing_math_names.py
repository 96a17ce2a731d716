"""Issue 14, hole 8: a ``$…$`` in an area name is text, not matplotlib mathtext.

An area named ``$x_{$`` made the static map raise in ``savefig`` (mathtext parse error), and
with it the briefing of the whole district. The briefing of the tiny district with every
street, community and grid named like mathtext builds its map, PPTX and PDF, and the names
come out as they were written.
"""

from __future__ import annotations

import io

import polars as pl
import pytest
from fixtures_tiny import AS_OF, S1, tiny_tables
from PIL import Image

from data_layer.domain.scope import Scope
from data_layer.storage.source import Dataset
from documents.briefing import build_briefing
from documents.meeting import Meeting
from documents.pdf_writer import pdf_bytes
from documents.pptx_writer import pptx_bytes
from documents.static_map import choropleth_png

FRAC = r"$\frac{1}{0}$"  # mathtext would divide by zero
OPEN = "$x_{$"  # not even valid mathtext: the parser raised
NAMES = (FRAC, OPEN)


def _math_named(frame: pl.DataFrame) -> pl.DataFrame:
    names = [f"{NAMES[i % 2]}{i}" for i in range(frame.height)]
    return frame.with_columns(pl.Series("name", names))


@pytest.fixture(scope="module")
def math_district() -> Dataset:
    tables = tiny_tables()
    for table in ("streets", "communities", "grids"):
        tables[table] = _math_named(tables[table])
    return Dataset(tables=tables)


@pytest.fixture(scope="module")
def briefing(math_district):
    meeting = Meeting.for_month(2025, 3, as_of=AS_OF, streets=(S1,))
    return build_briefing(math_district, meeting, Scope.everything())


@pytest.fixture(scope="module")
def map_png(math_district, briefing) -> bytes:
    return choropleth_png(math_district, briefing.map_values)


def test_the_static_map_draws_mathtext_names(map_png):
    image = Image.open(io.BytesIO(map_png))
    assert image.format == "PNG" and image.width > 300
    assert len(image.convert("RGB").getcolors(maxcolors=1_000_000)) > 10  # areas drawn


def test_every_text_artist_is_plain_text(math_district, briefing, monkeypatch):
    """The names, the legend, the north arrow and the scale bar: none is parsed as math."""
    import matplotlib.pyplot as plt

    shown: list[tuple[str, bool]] = []
    close = plt.close

    def record(fig) -> None:
        (ax,) = fig.axes  # the axis itself is switched off: its labels are never drawn
        legend = ax.get_legend()
        for text in (*ax.texts, legend.get_title(), *legend.get_texts()):
            shown.append((text.get_text(), text.get_parse_math()))
        close(fig)

    monkeypatch.setattr(plt, "close", record)
    choropleth_png(math_district, briefing.map_values)
    texts = [text for text, _ in shown]
    assert any(text.startswith(FRAC) for text in texts) and any(t.startswith(OPEN) for t in texts)
    assert len(texts) > 6  # names, north arrow, scale bar, legend title and rows
    assert [text for text, math in shown if math] == []


def test_pptx_and_pdf_build_and_carry_the_names(briefing, map_png):
    from pptx import Presentation
    from pypdf import PdfReader

    assert briefing.scope_label == f"{FRAC}0"  # the street of the meeting
    deck = Presentation(io.BytesIO(pptx_bytes(briefing, map_png=map_png)))
    assert len(deck.slides) == 7
    texts = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                texts.append(shape.text_frame.text)
            if shape.has_table:
                texts += [cell.text for row in shape.table.rows for cell in row.cells]
            if shape.shape_type == 13:  # picture: the map
                assert shape.image.blob == map_png
    assert briefing.scope_label in "\n".join(texts)
    reader = PdfReader(io.BytesIO(pdf_bytes(briefing, map_png=map_png)))
    assert len(reader.pages) == 7
    assert briefing.scope_label in "\n".join(page.extract_text() for page in reader.pages)
