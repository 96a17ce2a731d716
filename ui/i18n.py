"""Labels in the session's language (Chinese by default, English switch).

The lookups themselves are ``data_layer.domain.labels``; this module only adds the language
the viewer chose.
"""

from __future__ import annotations

import streamlit as st

from data_layer.domain import labels
from ui.state import SessionKey


def lang() -> str:
    value = st.session_state.get(SessionKey.LANG, labels.DEFAULT_LANG)
    return value if value in labels.LANGS else labels.DEFAULT_LANG


def t(key: str, **fmt: object) -> str:
    """A UI string in the current language, formatted with ``fmt``."""
    return labels.text(key, lang=lang(), **fmt)


def metric_label(key: str) -> str:
    return labels.metric_label(key, lang=lang())


def metric_formula(key: str) -> str:
    return labels.metric_formula(key, lang=lang())


def code_label(kind: str, code: str) -> str:
    """Label of a stable code, e.g. ``code_label("category", "dispute")`` → 矛盾纠纷."""
    return labels.code_label(kind, code, lang=lang())


def one_language(pair: str) -> str:
    """A "中文 / English" label of the data layer in the current language."""
    return labels.one_language(pair, lang=lang())


def area_name(name: str | None, *, retired: bool, level: str) -> str | None:
    """An area's name, marked 已撤销网格 when a re-division retired it."""
    return labels.area_name(name, retired=retired, level=level, lang=lang())


def area_names(frame) -> list:
    """The ``name`` column of an area table (``kpis(by=…)``) as shown: a retired area marked."""
    if "retired" not in frame.columns or "level" not in frame.columns:
        return frame["name"].to_list()
    language = lang()  # once: a province table has ~1,800 rows, each a session-state read
    return [
        labels.area_name(n, retired=bool(r), level=lv, lang=language)
        for n, r, lv in zip(frame["name"], frame["retired"], frame["level"], strict=True)
    ]
