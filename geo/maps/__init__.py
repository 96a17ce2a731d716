"""Pure map builders: frames in, GeoJSON / folium layers out. Imports no Streamlit, and
nothing of the figures: every label, value text, colour and legend is *given*.

What the Map page does with them (ui/map_view.py; the area rows and the legend come from
data_layer/queries/map_values.py and map_legend.py)::

    base = maps.base_map(bounds=..., outline=maps.dissolved_features(...))   # stable
    fc = maps.area_features(geometries=maps.level_geometries(ds, level=level),
                            areas=rows, level=level, version=ds.version)
    group = maps.choropleth_layer(features=fc, name=f"{level}:{metric}", tooltip=...)
    legend = maps.legend_layer(scale=scale, title=...)
    st_folium(base, feature_group_to_add=[group, legend, ...], returned_objects=[...])

The modules, one concern each:

==============  ==========================================================================
colours.py      palettes, :class:`Scale` (a given classed scale) and its legend rows
geometry.py     per-level simplified, quantised geometry; the in-process caches, one lock
payload.py      the packed wire form of a FeatureCollection
features.py     FeatureCollections: filled areas from given rows, outlines, the scope outline
areas.py        area layers: choropleth, outlines, legend
cases.py        case layers: circle markers (clustered), heat
base.py         the stable base map, base layers, the view that fits an extent
panes.py        the map's own panes
==============  ==========================================================================

The JavaScript lives in ``assets/js/`` (geo/scripts.py embeds it).

Why it is fast (issue 3, "Fast"):

* the fill colour is a feature property; ONE JavaScript style function reads it;
* boundaries are simplified per level keeping shared borders and quantised to ~1 m, once
  per (data version, level, CRS);
* the layer travels *packed* (columnar properties, palette indexes, integer deltas) and a
  small decoder rebuilds plain GeoJSON in the browser;
* the map is created with ``prefer_canvas=True``: one canvas, not one SVG path per polygon;
* the base map is stable, so ``st_folium`` never remounts it; the layers go through
  ``feature_group_to_add``, which streamlit-folium swaps in place.

Every layer script also records ``window.gridpulse.layers[name] = {count, added, painted}``
(``painted`` two animation frames after the data was added) and ``window.gridpulse.last``,
for browser tests and the benchmark.

Offline: nothing here loads from a CDN. The case layers load the vendored plugins on demand;
every map and layer passes through :func:`geo.offline.use_local_assets`; no
``folium.Icon``, no branca colormap: legends come from :class:`Scale`.
"""

from geo.maps.areas import choropleth_layer, legend_layer, outline_layer
from geo.maps.base import BASE_LAYERS, base_layer_crs, base_map, view_for_bounds
from geo.maps.cases import case_heat_layer, case_points_layer
from geo.maps.colours import LOW_VOLUME_COLOR, NO_VALUE_COLOR, LegendEntry, Scale
from geo.maps.features import area_features, dissolved_features, feature_payload, outline_features
from geo.maps.geometry import clear_geometry_cache, level_geometries
from geo.maps.panes import CASES_PANE, OUTLINE_PANE

__all__ = [
    "BASE_LAYERS",
    "CASES_PANE",
    "LOW_VOLUME_COLOR",
    "NO_VALUE_COLOR",
    "OUTLINE_PANE",
    "LegendEntry",
    "Scale",
    "area_features",
    "base_layer_crs",
    "base_map",
    "case_heat_layer",
    "case_points_layer",
    "choropleth_layer",
    "clear_geometry_cache",
    "dissolved_features",
    "feature_payload",
    "legend_layer",
    "level_geometries",
    "outline_features",
    "outline_layer",
    "view_for_bounds",
]
