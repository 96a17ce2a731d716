"""Our map build for the benchmark: geo/maps + st_folium with a stable base map.

* stable base map (tiles none, plain background, district outline, Canvas rendering);
* the choropleth and the street outlines go through ``feature_group_to_add``;
* simplified + quantised geometry cached per (data version, level), colour as a feature
  property, packed payload;
* level of detail: at most ``$BENCH_MAX_FEATURES`` (5,000) polygons — a province shows
  communities until a street is chosen (``$BENCH_LEVEL`` is the level asked for: grid);
* ``returned_objects`` limited to what the click handling needs; a click drills down
  (geo/selection.py), as on the Map page;
* the legend drawn inside the map (a Leaflet control in its own feature group), as on
  the Map page.

``$BENCH_CONTROLS``: ``none`` (default) — the map alone, like the naive page; ``bottom`` —
the breadcrumb, a caption and the metric radio (the repaint measure clicks it) below the
map; ``top`` — the radio above the map.
"""

from __future__ import annotations

import os

import streamlit as st
from streamlit_folium import st_folium

from bench import _common
from data_layer.queries.map_legend import color_scale
from data_layer.queries.map_values import area_rows, tooltip_rows
from geo import maps
from geo.selection import RETURNED_OBJECTS, Selection, apply_click, breadcrumb, effective_level
from geo.simplify import TOLERANCE_M

METRIC_OPTIONS = ["closure_rate", "on_time_rate"]
# The metric radio (for the repaint measure) goes below the map: above it, the browser
# fetches the radio's lazily loaded widget code (nine files) before the map component's,
# which delays the first paint by ~0.25 s on a 2-core machine (measured: top 2.00 s,
# bottom 1.73 s, none 1.64 s, empty page 1.40 s). none | bottom | top
CONTROLS = os.environ.get("BENCH_CONTROLS", "none")

st.set_page_config(page_title="bench: our map", layout="wide")
if CONTROLS == "top":
    metric = st.radio("metric", METRIC_OPTIONS, horizontal=True, key="metric")
else:  # the widget is drawn below the map; its value from the last run
    metric = st.session_state.get("metric", METRIC_OPTIONS[0])

ds = _common.dataset()
selection = st.session_state.get(
    "selection", Selection(level=os.environ.get("BENCH_LEVEL", "grid"))
)
counts = _common.area_counts() if not selection.streets else {"grid": 0, "community": 0}
level = effective_level(
    selection, counts=counts, max_features=int(os.environ.get("BENCH_MAX_FEATURES", "5000"))
)
values = _common.kpis(level, selection.streets, selection.communities)

streets = maps.level_geometries(ds, level="street")
district = maps.dissolved_features(geometries=streets, level="street", version=ds.version)
base = maps.base_map(
    bounds=district["bbox"], outline=district, width=_common.MAP_WIDTH, height=_common.MAP_HEIGHT
)

scale = color_scale(metric=metric, values=values)
features = maps.area_features(
    geometries=maps.level_geometries(ds, level=level),
    areas=area_rows(values=values, metric=metric, scale=scale),
    level=level,
    version=ds.version,
    selected=[selection.grid] if selection.grid else [],
)
layers = [
    maps.choropleth_layer(features=features, name=f"{level}:{metric}", tooltip=tooltip_rows("zh"))
]
if level != "street":
    outlines = maps.outline_features(
        geometries=streets, level="street", version=ds.version, tolerance_m=TOLERANCE_M[level]
    )
    layers.append(maps.outline_layer(features=outlines, name="street-outlines"))
layers.append(maps.legend_layer(scale=scale, title=metric))

center, zoom = maps.view_for_bounds(
    features.get("bbox") or district["bbox"], width=_common.MAP_WIDTH, height=_common.MAP_HEIGHT
)
returned = st_folium(
    base,
    key="map",
    center=center,
    zoom=zoom,
    width=_common.MAP_WIDTH,
    height=_common.MAP_HEIGHT,
    feature_group_to_add=layers,
    returned_objects=list(RETURNED_OBJECTS),
)
click = apply_click(
    returned=returned,
    selection=selection,
    last_token=st.session_state.get("click_token"),
    shown_level=level,
)
st.session_state["click_token"] = click.token
if click.changed:
    st.session_state["selection"] = click.selection
    st.rerun()
names = {
    **dict(zip(ds["streets"]["street_code"], ds["streets"]["name"], strict=True)),
    **dict(zip(ds["communities"]["community_code"], ds["communities"]["name"], strict=True)),
}
if CONTROLS != "none":
    st.caption(" › ".join(c.name for c in breadcrumb(selection, names=names)))
    st.caption(f"ours: {len(features['features'])} {level} areas")
if CONTROLS == "bottom":
    st.radio("metric", METRIC_OPTIONS, horizontal=True, key="metric")
