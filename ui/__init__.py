"""The Streamlit boundary: strings, cached loaders and widgets shared by app.py and pages/.

data_layer/ and geo/ stay free of Streamlit; this package is where they meet it
(docs/architecture.md explains why it is a folder of its own).
"""
