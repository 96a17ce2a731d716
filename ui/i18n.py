"""UI strings in the session's language (Chinese by default, English switch).

The tables themselves are read by ``data_layer.domain.labels`` (assets/i18n/*.toml).
"""

from __future__ import annotations

import streamlit as st

from data_layer.domain.labels import DEFAULT_LANG, LANGS, lookup, strings
from ui.state import SessionKey

__all__ = [
    "LANGS",
    "code_label",
    "lang",
    "lookup",
    "metric_formula",
    "metric_label",
    "strings",
    "t",
]


def lang() -> str:
    value = st.session_state.get(SessionKey.LANG, DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, **fmt) -> str:
    """A UI string in the current language, formatted with ``fmt``."""
    text = lookup("ui", key, language=lang())
    return text.format(**fmt) if fmt else text


def metric_label(key: str) -> str:
    return lookup("metric", key, language=lang())


def metric_formula(key: str) -> str:
    return lookup("formula", key, language=lang())


def code_label(kind: str, code: str) -> str:
    """Label of a stable code, e.g. ``code_label("category", "dispute")`` → 矛盾纠纷."""
    return lookup(kind, code, language=lang())
