"""The app's own CSS (``assets/css/app.css``): drawn once per run by app.py, before the page.

Only layout fixes of Streamlit defaults live there (a KPI name wraps instead of being cut);
the meeting's projector styles stay with the meeting page.
"""

from __future__ import annotations

from functools import cache

import streamlit as st

from data_layer.settings import APP_CSS


@cache
def _css() -> str:
    return APP_CSS.read_text(encoding="utf-8")


def apply() -> None:
    """Add the stylesheet to this run's page (no visible element)."""
    st.html(f"<style>{_css()}</style>")
