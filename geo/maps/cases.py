"""Case layers: open cases as (clustered) circle markers, or as a heat map.

Both plugins (Leaflet.markercluster, Leaflet.heat) are loaded on demand from the app's
vendored copies (``gridpulse.need`` in assets/js/runtime.js): streamlit-folium loads a
map's scripts only when it first mounts the map, and these layers usually arrive later
through ``feature_group_to_add``.
"""

from __future__ import annotations

import json
from typing import Final

import folium
import numpy as np
import polars as pl

from geo.china_offsets import wgs84_to_gcj02
from geo.maps.panes import CASES_PANE
from geo.maps.payload import script_safe
from geo.offline import DEFAULT_BASE_URL, LOCAL_ASSETS, use_local_assets
from geo.scripts import ScriptCall
from geo.simplify import DECIMALS

__all__ = ["case_heat_layer", "case_points_layer"]

_CLUSTER_JS: Final = (
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js"
)
_CLUSTER_CSS: Final = (
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",
)
_HEAT_JS: Final = "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js"

_OPEN_STYLE: Final = {
    "radius": 5,
    "color": "#ffffff",
    "weight": 1,
    "fillColor": "#2b83ba",
    "fillOpacity": 0.9,
}
_OVERDUE_STYLE: Final = {
    "radius": 6,
    "color": "#ffffff",
    "weight": 1,
    "fillColor": "#d7191c",
    "fillOpacity": 0.95,
}
_NEW_STYLE: Final = {"color": "#ffd700", "weight": 3, "radius": 8}


def _local(url: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/{LOCAL_ASSETS[url]}"


class _CasePoints(ScriptCall):
    """Circle markers from one JSON array; optionally in a marker cluster group."""

    scripts = ("runtime", "case_points")
    function = "casePoints"

    def __init__(
        self,
        rows: str,
        *,
        layer_key: str,
        cluster: bool,
        base_url: str,
        cluster_radius: int = 50,
    ):
        super().__init__()
        self._name = "CasePoints"
        self.payload = rows
        self.config = {
            "layerKey": layer_key,
            "cluster": cluster,
            "clusterRadius": int(cluster_radius),
            "pane": CASES_PANE,
            "js": [_local(_CLUSTER_JS, base_url)] if cluster else [],
            "css": [_local(u, base_url) for u in _CLUSTER_CSS] if cluster else [],
            "openStyle": _OPEN_STYLE,
            "overdueStyle": _OVERDUE_STYLE,
            "newStyle": _NEW_STYLE,
        }


class _CaseHeat(ScriptCall):
    """A Leaflet.heat layer; the plugin is loaded on demand like :class:`_CasePoints`."""

    scripts = ("runtime", "case_heat")
    function = "caseHeat"

    def __init__(self, points: str, *, layer_key: str, options: dict, base_url: str):
        super().__init__()
        self._name = "CaseHeat"
        self.payload = points
        self.config = {
            "layerKey": layer_key,
            "js": [_local(_HEAT_JS, base_url)],
            "options": options,
        }


def case_points_layer(
    *,
    cases: pl.DataFrame,
    name: str = "cases",
    cluster: bool = True,
    overdue_column: str = "overdue",
    label_column: str | None = None,
    new_column: str | None = None,
    crs: str = "wgs84",
    max_points: int | None = 20_000,
    base_url: str = DEFAULT_BASE_URL,
) -> folium.FeatureGroup:
    """Open cases as circle markers, overdue ones red, clustered at low zoom.

    Parameters
    ----------
    cases : polars.DataFrame
        ``lon``, ``lat`` (WGS 84), a boolean ``overdue_column``, optionally a text
        ``label_column`` (tooltip; never personal data) and a boolean ``new_column``
        (cases that arrived since the viewer's last refresh: gold ring). Rows with no
        coordinates are skipped. Other columns (datetimes included) are ignored.
    name : str
        Layer name and ``window.gridpulse.layers`` key.
    cluster : bool
        Cluster with Leaflet.markercluster (clusters containing an overdue case are red).
    crs : {"wgs84", "gcj02"}
        ``"gcj02"`` for an AMap base layer.
    max_points : int or None
        Keep at most this many points, new and overdue ones first (the browser slows down
        past a few tens of thousands of markers; use :func:`case_heat_layer` beyond).
    base_url : str
        Where ``assets/vendor`` is served; the cluster plugin is loaded from there when
        the layer is first shown.

    Returns
    -------
    folium.FeatureGroup
        For ``st_folium(..., feature_group_to_add=[...])``.
    """
    frame = _located(cases)
    frame = frame.with_columns(
        _bool_column(frame, overdue_column).alias("__overdue"),
        _bool_column(frame, new_column).alias("__new"),
    )
    if max_points is not None and frame.height > max_points:
        frame = frame.sort(["__new", "__overdue"], descending=True).head(max_points)
    group = folium.FeatureGroup(name=name)
    _CasePoints(
        _point_rows(frame, label_column=label_column, crs=crs),
        layer_key=name,
        cluster=cluster,
        base_url=base_url,
    ).add_to(group)
    return use_local_assets(group, base_url=base_url)


def case_heat_layer(
    *,
    cases: pl.DataFrame,
    name: str = "case-heat",
    weight_column: str | None = None,
    crs: str = "wgs84",
    radius: int = 14,
    blur: int = 18,
    min_opacity: float = 0.3,
    max_zoom: int = 16,
    base_url: str = DEFAULT_BASE_URL,
) -> folium.FeatureGroup:
    """A heat layer (Leaflet.heat) of case locations; ``weight_column`` weights points
    (e.g. 3 for overdue cases). The plugin is loaded on demand from ``base_url``."""
    frame = _located(cases)
    lon, lat = _case_lonlat(frame, crs)
    if weight_column and weight_column in frame.columns:
        w = frame[weight_column].cast(pl.Float64).fill_null(1.0).to_numpy()
        data = np.column_stack([lat, lon, w]).tolist()
    else:
        data = np.column_stack([lat, lon]).tolist()
    group = folium.FeatureGroup(name=name)
    _CaseHeat(
        json.dumps(data, separators=(",", ":")),
        layer_key=name,
        options={"radius": radius, "blur": blur, "minOpacity": min_opacity, "maxZoom": max_zoom},
        base_url=base_url,
    ).add_to(group)
    return use_local_assets(group, base_url=base_url)


def _located(cases: pl.DataFrame) -> pl.DataFrame:
    """The cases that have coordinates."""
    return cases.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null())


def _point_rows(frame: pl.DataFrame, *, label_column: str | None, crs: str) -> str:
    """``[[lat, lon, overdue, label, new], ...]`` as JSON text for the script."""
    lon, lat = _case_lonlat(frame, crs)
    labels = (
        frame[label_column].cast(pl.String).to_list()
        if label_column and label_column in frame.columns
        else [None] * frame.height
    )
    rows = [
        [la, lo, int(o), lab, int(n)]
        for la, lo, o, lab, n in zip(
            lat.tolist(),
            lon.tolist(),
            frame["__overdue"].to_list(),
            labels,
            frame["__new"].to_list(),
            strict=True,
        )
    ]
    return script_safe(json.dumps(rows, ensure_ascii=False, separators=(",", ":")))


def _case_lonlat(cases: pl.DataFrame, crs: str) -> tuple[np.ndarray, np.ndarray]:
    lon = cases["lon"].cast(pl.Float64).to_numpy()
    lat = cases["lat"].cast(pl.Float64).to_numpy()
    if crs == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
        lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
    elif crs != "wgs84":
        raise ValueError(f"crs must be 'wgs84' or 'gcj02', got {crs!r}")
    return np.round(lon, DECIMALS), np.round(lat, DECIMALS)


def _bool_column(frame: pl.DataFrame, column: str | None) -> pl.Series:
    if column and column in frame.columns:
        return frame[column].cast(pl.Boolean).fill_null(False)
    return pl.Series([False] * frame.height, dtype=pl.Boolean)
