"""Reference: a bare st_folium map (one polygon, no data) — the fixed cost of the
streamlit-folium component itself (lazy component chunk, iframe, its bundle, Leaflet)."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from geo.offline import use_local_assets

st.set_page_config(page_title="bench: bare st_folium map", layout="wide")
m = folium.Map(location=[28.7, 115.9], zoom_start=12, tiles=None)
m.options["max_zoom"] = 18
folium.GeoJson(
    {
        "type": "Feature",
        "properties": {"code": "x", "name": "x"},
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[115.9, 28.7], [115.91, 28.7], [115.91, 28.71], [115.9, 28.7]]],
        },
    }
).add_to(m)
use_local_assets(m)
st_folium(m, width=1100, height=650, returned_objects=[])
