"""The baseline of the benchmark: an empty Streamlit page."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="bench: empty page", layout="wide")
st.title("empty page")
st.caption("ready")
