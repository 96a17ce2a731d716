"""GridPulse data layer: schemas, sources, filters, metrics and queries. Imports no Streamlit."""
