"""The Streamlit boundary: strings, cached loaders and widgets shared by app.py and pages/.

data_layer/ and geo/ stay free of Streamlit; this package is where they meet it
(docs/architecture.md explains why it is a folder of its own).
"""

from data_layer.domain import logging_filter

# Logs carry no personal data. Whichever script Streamlit runs first (app.py, or a page for a
# deep link) imports ui, so this is the app's start; a second call does nothing.
logging_filter.install()
