"""GridPulse's server entry: ``streamlit run serve.py`` (every launcher starts this file).

It serves ``app.py`` exactly as ``streamlit run app.py`` does (the same ``.streamlit/config.toml``,
command-line options, health, static files, uploads, media, st.login) through Streamlit's ASGI
mode (``st.App``), and adds one route of its own: ``/_gp/session``, which sets and clears the
session cookie (``ui/web_session.py``, docs/security.md). It lives beside ``app.py`` because it
is the server's entry, not a page or a layer: nothing imports it (docs/architecture.md).
"""

import streamlit as st

from ui import web_session

web_session.check_settings()  # a set but unusable GRIDPULSE_SESSION_SECRET stops the start

app = st.App("app.py", routes=web_session.routes())
