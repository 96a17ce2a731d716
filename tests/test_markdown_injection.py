"""Issue 14, hole 3: text from the URL and area names are shown as text, not as Markdown.

``?grid=[x](http://evil)![i](http://evil/i.png)`` showed a link and a remote image in the
map page's caption, and area names went into captions, breadcrumb buttons, slide tables and
the meeting's footer as Markdown. Here every street, community, grid and handling unit of
the tiny district has a Markdown name; each element Streamlit renders as Markdown is rendered
with a CommonMark parser (markdown-it-py), which must find no link and no image, and the
names must read exactly as written.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import polars as pl
import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, C1, G1, S1, tiny_tables
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from data_layer.storage.source import write_tables

ROOT = Path(__file__).resolve().parent.parent
MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
EVIL = "[x](http://evil)![i](http://evil/i.png)"
STREETS = ["**东湖**[点我](http://evil/s)", "![图](http://evil/s.png)西湖"]
COMMUNITIES = [
    "[一社区](http://evil/c)",
    ":red[二社区] $x^2$ <b>粗</b>",
    "# 三社区 `代码`",
    "www.evil.com 四社区",
]
GRIDS = [
    "![网格](http://evil/g.png)",
    "[网格2](javascript:alert(1))",
    "网格3 | 表格 | *斜*",
    "1. 网格4",
    "> 网格5 ~~删~~",
]
UNIT = "[区城管局](http://evil/u)"
FROZEN = {"as_of": AS_OF.isoformat(), "period": "custom", "from": "2025-03-01", "to": "2025-03-31"}
MARCH = {"mt_period": "month", "mt_month": "2025-03", "mt_as_of": AS_OF.isoformat()}


@pytest.fixture
def markdown_dir(tmp_path) -> Path:
    tables = tiny_tables()
    for table, names in (("streets", STREETS), ("communities", COMMUNITIES), ("grids", GRIDS)):
        tables[table] = tables[table].with_columns(pl.Series("name", names))
    tables["cases"] = tables["cases"].with_columns(pl.lit(UNIT).alias("handling_unit"))
    out = tmp_path / "markdown"
    write_tables(out, tables)
    return out


def shown(markdown: str) -> str:
    """What a reader sees of ``markdown``; fails on a link or an image."""
    html = MD.render(markdown)
    assert "<a " not in html and "<img" not in html, markdown
    return unescape(re.sub(r"<[^>]+>", "", html)).strip()


def markdown_texts(at: AppTest) -> list[str]:
    """Everything of the page that Streamlit renders as Markdown."""
    texts = [
        e.value
        for kind in ("title", "header", "subheader", "caption", "markdown")
        for e in getattr(at, kind)
    ]
    texts += [
        e.value for kind in ("success", "info", "warning", "error") for e in getattr(at, kind)
    ]
    texts += [
        e.label for kind in ("button", "metric", "selectbox", "radio") for e in getattr(at, kind)
    ]
    for table in at.table:
        frame = table.value
        texts += [str(c) for c in frame.columns] + [str(i) for i in frame.index]
        texts += [v for row in frame.itertuples(index=False) for v in row if isinstance(v, str)]
    return texts


def everything_shown(at: AppTest) -> str:
    return "\n".join(shown(text) for text in markdown_texts(at))


def run(monkeypatch, data_dir: Path, params: dict, page: str) -> AppTest:
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    sign_in(at, data_dir, role="data_admin")
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(str(ROOT / "pages" / page))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_a_grid_link_is_shown_as_text(monkeypatch, tiny_dir):
    """The link's value is shown as the text it is, or (a page that keeps only known grids)
    dropped from the URL and not shown at all; never as a link or an image."""
    at = run(monkeypatch, tiny_dir, {**FROZEN, "grid": EVIL}, "map.py")
    everything_shown(at)
    captions = [c.value for c in at.caption if "已选网格" in c.value]
    if not captions:
        assert "grid" not in at.query_params
        return
    (caption,) = captions
    assert shown(caption) == f"已选网格：{EVIL}（{EVIL}）"
    assert not re.search(r"(?<!\\)[\[\]()!:.]", caption)  # no Markdown character left bare


def test_area_names_on_the_map_page_are_text(monkeypatch, markdown_dir):
    params = {**FROZEN, "street": S1, "community": C1, "level": "grid", "grid": G1}
    at = run(monkeypatch, markdown_dir, params, "map.py")
    crumbs = [shown(b.label) for b in at.button if str(b.key).startswith("crumb_")]
    assert crumbs == ["全区", STREETS[0], COMMUNITIES[0], GRIDS[0]]
    assert f"已选网格：{GRIDS[0]}（{G1}）" in everything_shown(at)


def test_meeting_slides_show_names_as_text(monkeypatch, markdown_dir):
    at = run(monkeypatch, markdown_dir, {**MARCH, "mt_street": S1}, "meeting.py")
    assert f" · {STREETS[0]} · " in everything_shown(at)  # "frozen: period · scope · as of"
    at.button(key="mt_present").click().run()
    seen = []
    for slide in range(7):
        if slide:
            at.button(key="mt_next").click().run()
        assert not at.exception, [e.message for e in at.exception]
        text = everything_shown(at)
        assert STREETS[0] in text  # the footer names the scope on every slide
        seen.append(text)
    everything = "\n".join(seen)
    assert UNIT in everything  # overdue cases by handling unit
    assert GRIDS[0] in everything and COMMUNITIES[0] in everything  # where the cases are
    assert GRIDS[1] in everything and COMMUNITIES[1] in everything  # no full-time worker
    assert f"统计范围：{STREETS[0]}" in seen[-1]


def test_an_imported_header_is_a_label_as_written(monkeypatch, tiny_dir):
    header = "[联系人](http://evil/h)"
    csv = f"事件编号,所属网格,{header}\nW1,{G1},张三\n".encode()
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(str(ROOT / "pages" / "import_data.py"), default_timeout=60)
    sign_in(at, tiny_dir, role="data_admin")
    at.run()
    at.file_uploader[0].set_value(("cases.csv", csv, "text/csv"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert header in [shown(s.label) for s in at.selectbox]
    everything_shown(at)
