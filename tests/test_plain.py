"""ui.plain: data and URL text escaped for Streamlit's Markdown and plotly's HTML.

The Markdown is checked by rendering it with a CommonMark parser (markdown-it-py, tables and
strikethrough on, as in GitHub-flavoured Markdown): whatever the text, the escaped form
renders as one paragraph holding exactly that text, with no link, image, emphasis or HTML.
"""

from __future__ import annotations

import re

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from ui.plain import plain, plain_html, plain_table

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

HOSTILE = [
    "[x](http://evil)![i](http://evil/i.png)",
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    '"><svg onload=window.__pwned=3>',
    "**粗体** _斜体_ `代码` ~~删除~~",
    "# 标题",
    "1. 列表",
    "- 列表",
    "> 引用",
    "| a | b |",
    ":red[红] :material/home: :smile:",
    "$x^2$ $$y$$",
    "www.evil.com http://evil.com a@evil.com <http://evil.com>",
    "&lt;b&gt; &amp;",
    "反斜杠 \\[x\\](y)",
    "    四个空格",
    "第一行\n# 第二行\r\n- 第三行",
]
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))


def rendered(markdown: str) -> str:
    return MD.render(markdown)


def as_paragraph(text: str) -> str:
    """What the text shows as: one paragraph of the text itself (on one line)."""
    shown = " ".join(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")).strip()
    return f"<p>{escapeHtml(shown)}</p>\n" if shown else ""


def test_hostile_text_renders_as_itself():
    for text in HOSTILE:
        html = rendered(plain(text))
        assert html == as_paragraph(text), text
        assert "<a" not in html and "<img" not in html and "<strong" not in html


@given(TEXT)
def test_any_text_renders_as_itself(text):
    html = rendered(plain(text))
    # runs of blanks around a line break collapse the way HTML shows them anyway
    assert " ".join(html.split()) == " ".join(as_paragraph(text).split())


@given(TEXT)
def test_dropping_the_escapes_gives_the_text_back(text):
    one_line = re.sub(r"[\r\n]+", " ", text).strip()
    assert re.sub(r"\\(.)", r"\1", plain(text)) == one_line


def test_plain_text_is_left_alone():
    assert plain("东湖街道一社区第1网格") == "东湖街道一社区第1网格"
    assert plain(360102001001) == "360102001001"


def test_table_cells_headers_and_index_are_escaped_numbers_kept():
    frame = pd.DataFrame({"社区": ["[x](http://evil)", "二社区"], "得分 *": [1.5, None]})
    out = plain_table(frame.set_index("社区"))
    assert list(out.columns) == [plain("得分 *")]
    assert list(out.index) == [plain("[x](http://evil)"), "二社区"]
    assert out.iloc[0, 0] == 1.5 and pd.isna(out.iloc[1, 0])


def test_plotly_text_is_entity_escaped():
    assert plain_html('<a href="http://evil">x</a> & y') == (
        '&lt;a href="http://evil"&gt;x&lt;/a&gt; &amp; y'
    )
    assert plain_html("东湖街道") == "东湖街道"
