"""The naive map build — the reference of the benchmark (issue 3). Keep it naive.

One ``folium.GeoJson`` of every grid straight from a GeoDataFrame (full-precision
coordinates, every property), coloured by a Python ``style_function`` (folium turns it
into a per-feature ``switch`` in the browser), SVG rendering, and ``st_folium`` with its
default ``returned_objects`` (every pan/zoom reruns the script). Only
``use_local_assets`` is added, or nothing would draw offline.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from bench import _common
from data_layer.domain.formatting import format_value
from data_layer.queries.map_legend import color_scale
from geo.offline import use_local_assets

st.set_page_config(page_title="bench: naive map", layout="wide")
metric = st.radio("metric", ["closure_rate", "on_time_rate"], horizontal=True, key="metric")

ds = _common.dataset()
values = _common.kpis("grid")
grids = ds["grids"].select("grid_code", "geometry")
frame = values.select("code", "name", metric, "closed", "due").join(
    grids.rename({"grid_code": "code"}), on="code", how="inner"
)
gdf = gpd.GeoDataFrame(
    frame.drop("geometry").to_pandas(),
    geometry=shapely.from_wkb(frame["geometry"].to_numpy()),
    crs="EPSG:4326",
)
gdf["value"] = [format_value(metric, v) for v in gdf[metric]]
scale = color_scale(metric=metric, values=values)

minx, miny, maxx, maxy = gdf.total_bounds
m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=12, tiles=None)
m.options["max_zoom"] = 18
folium.GeoJson(
    gdf,
    name="grids",
    style_function=lambda f: {
        "fillColor": scale.color(f["properties"][metric]),
        "color": "#ffffff",
        "weight": 0.8,
        "fillOpacity": 0.78,
    },
    highlight_function=lambda f: {"weight": 3, "color": "#222222"},
    tooltip=folium.GeoJsonTooltip(
        fields=["name", "value", "code"], aliases=["名称", "数值", "编码"]
    ),
).add_to(m)
m.fit_bounds([[miny, minx], [maxy, maxx]])
use_local_assets(m)
st_folium(m, width=_common.MAP_WIDTH, height=_common.MAP_HEIGHT)
st.caption(f"naive: {len(gdf)} grids")
