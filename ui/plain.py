"""Data and URL text as plain text where Streamlit renders Markdown or plotly renders HTML.

Streamlit reads Markdown in st.markdown/caption/title/header/subheader/info/success/
warning/error, in the labels of widgets, metrics, buttons, expanders and tabs, in radio
options and in every cell of st.table; plotly reads a subset of HTML (``<a href>``, ``<b>``,
``<br>`` …) in tick labels, legends and hover text. An area name, an imported header or a
``?grid=`` value written as ``[x](http://evil)`` or ``![i](http://evil/i.png)`` would put a
link or a remote image inside a trusted page. Every such text goes through one of the two
functions here; text the app writes itself (i18n strings, formatted numbers) does not.
"""

from __future__ import annotations

import html
import re
from typing import Final

import pandas as pd

__all__ = ["plain", "plain_html", "plain_table"]

# Everything Streamlit's Markdown (CommonMark + GFM + math + directives + emoji shortcodes)
# gives a meaning: emphasis, code, links and images, headings, lists, tables, strikethrough,
# HTML and entities, ``$math$``, ``:red[…]``/``:material/…:``, and the ``.``/``:``/``@`` of
# bare URLs, domains and e-mail addresses that GFM turns into links.
_MARKDOWN: Final = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&@])")
_LINE_BREAKS: Final = re.compile(r"[\r\n]+")  # a new line could start a heading, a list …


def plain(text: object) -> str:
    """``text`` for Streamlit's Markdown, so that it shows exactly as written (on one line).

    Each Markdown control character gets a backslash (CommonMark shows a backslash-escaped
    ASCII punctuation character as the character itself); line breaks become spaces, and
    leading and trailing blanks go (four leading spaces would start a code block).
    """
    return _MARKDOWN.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)).strip())


def plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for ``st.table``: the text of every cell, column header and index label
    escaped with :func:`plain` (st.table renders all of them as Markdown)."""
    out = frame.map(_plain_cell)
    out.columns = [_plain_cell(c) for c in frame.columns]
    out.index = pd.Index([_plain_cell(i) for i in frame.index], name=_plain_cell(frame.index.name))
    return out


def _plain_cell(value: object) -> object:
    """Text escaped; numbers, dates and missing values left to st.table's own formatting."""
    return plain(value) if isinstance(value, str) else value


def plain_html(text: object) -> str:
    """``text`` for plotly's labels and hover text: ``<``, ``>`` and ``&`` as entities, which
    plotly shows as the characters. Quotes stay: with no ``<`` left no tag can hold them, and
    plotly knows no ``&quot;``."""
    return html.escape(str(text), quote=False)
