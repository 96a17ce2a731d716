"""Scratch app for the offline-map smoke test: 3 GeoJson polygons via st_folium.

Set OFFLINE_MAP_USE_LOCAL=0 to skip ``use_local_assets`` (the map then needs the
public CDNs and, offline, does not draw: the negative control).
Set OFFLINE_MAP_LAYERS=full to add a MarkerCluster (default Leaflet marker icons,
one popup) and a HeatMap, so their plugins' files are exercised too.
``static`` next to this script is a symlink to assets/vendor, like the app's.
"""

from __future__ import annotations

import os

import folium
import folium.plugins
import streamlit as st
from streamlit_folium import st_folium

from geo.offline import use_local_assets

COLORS = ["#1a9850", "#fee08b", "#d73027"]

features = [
    {
        "type": "Feature",
        "properties": {"name": f"网格 {i + 1}", "cases": 10 * (i + 1)},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [116.30 + 0.05 * i, 39.90],
                    [116.34 + 0.05 * i, 39.90],
                    [116.34 + 0.05 * i, 39.94],
                    [116.30 + 0.05 * i, 39.94],
                    [116.30 + 0.05 * i, 39.90],
                ]
            ],
        },
    }
    for i in range(3)
]

st.set_page_config(page_title="offline map smoke", layout="wide")
st.title("Offline map smoke test")

m = folium.Map(location=[39.92, 116.37], zoom_start=12, tiles=None)
m.options["max_zoom"] = 18  # no tile layer to take it from; MarkerCluster needs it
folium.GeoJson(
    {"type": "FeatureCollection", "features": features},
    name="grids",
    style_function=lambda f: {
        "fillColor": COLORS[f["properties"]["cases"] // 10 - 1],
        "color": "#333333",
        "weight": 2,
        "fillOpacity": 0.7,
    },
    tooltip=folium.GeoJsonTooltip(fields=["name", "cases"], aliases=["网格", "案件"]),
).add_to(m)

if os.environ.get("OFFLINE_MAP_LAYERS") == "full":
    cluster = folium.plugins.MarkerCluster(name="cases").add_to(m)
    for i in range(5):
        folium.Marker([39.955 + 0.0005 * i, 116.33 + 0.0005 * i]).add_to(cluster)
    folium.Marker([39.89, 116.45], popup=folium.Popup("<b>案件</b> 0001")).add_to(cluster)
    folium.plugins.HeatMap(
        [[39.905 + 0.002 * i, 116.43 + 0.001 * i, 1.0] for i in range(20)],
        name="heat",
        radius=20,
    ).add_to(m)

if os.environ.get("OFFLINE_MAP_USE_LOCAL", "1") != "0":
    use_local_assets(m)

st_folium(m, height=500, width=900, returned_objects=[], key="smoke_map")
st.caption("map rendered")
