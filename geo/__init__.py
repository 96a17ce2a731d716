"""Geometry for GridPulse: CRS conversion, boundary checks, simplification, map builders. Imports no Streamlit."""
