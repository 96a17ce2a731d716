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
