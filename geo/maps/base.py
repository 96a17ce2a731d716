"""The base map: stable (the same script every run, so ``st_folium`` never remounts it),
offline-ready, canvas-rendered, with an optional tile layer and the scope's outline.

The choropleth, outlines and cases go through ``st_folium(feature_group_to_add=...)``,
which streamlit-folium swaps in place; the view moves with ``st_folium(center=...,
zoom=...)`` (:func:`view_for_bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import folium
import folium.plugins
from folium.elements import JSCSSMixin
from folium.template import Template

from geo.maps.areas import FillAreas
from geo.maps.panes import add_panes
from geo.offline import DEFAULT_BASE_URL, use_local_assets
from geo.scripts import ScriptCall, TextMacro

__all__ = ["BASE_LAYERS", "base_layer_crs", "base_map", "view_for_bounds"]


@dataclass(frozen=True)
class _BaseLayer:
    crs: str  # coordinates the tiles expect: "wgs84" or "gcj02"
    urls: tuple[str, ...] = ()
    subdomains: str | None = None
    attribution: str = ""
    max_native_zoom: int = 18


BASE_LAYERS: Final[Mapping[str, _BaseLayer]] = {
    "none": _BaseLayer(crs="wgs84"),
    # 天地图: CGCS2000 ~= WGS 84; vector map + annotation, Web Mercator ("_w") tiles
    "tianditu": _BaseLayer(
        crs="wgs84",
        urls=(
            "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
            "&TILECOL={x}&tk={key}",
            "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
            "&TILECOL={x}&tk={key}",
        ),
        subdomains="01234567",
        attribution="© 天地图 / 国家地理信息公共服务平台",
    ),
    # 高德 AMap: GCJ-02 — geometry must be shifted (crs="gcj02" in the builders)
    "amap": _BaseLayer(
        crs="gcj02",
        urls=(
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}",
        ),
        subdomains="1234",
        attribution="© 高德地图 AutoNavi",
    ),
    "custom": _BaseLayer(crs="wgs84"),
}
"""Base layers: ``none`` (plain background, default), ``tianditu`` (needs a key),
``amap`` (GCJ-02) and ``custom`` (an intranet tile URL template)."""

_OUTLINE_STYLE: Final = {
    "weight": 2.5,
    "opacity": 1.0,
    "fill": True,
    "fillColor": "#ffffff",
    "fillOpacity": 0.6,
}


def base_layer_crs(base_layer: str, *, tile_crs: str | None = None) -> str:
    """The CRS the feature builders must use over ``base_layer`` ("wgs84" or "gcj02").

    ``tile_crs`` overrides it for a ``custom`` tile server that serves GCJ-02 tiles.
    """
    _spec(base_layer)
    if tile_crs is not None:
        if tile_crs not in ("wgs84", "gcj02"):
            raise ValueError(f"tile_crs must be 'wgs84' or 'gcj02', got {tile_crs!r}")
        return tile_crs
    return BASE_LAYERS[base_layer].crs


def _spec(base_layer: str) -> _BaseLayer:
    spec = BASE_LAYERS.get(base_layer)
    if spec is None:
        raise ValueError(f"base_layer must be one of {', '.join(BASE_LAYERS)}, got {base_layer!r}")
    return spec


class _PluginAssets(JSCSSMixin, TextMacro):
    """Loads the vendored Leaflet.markercluster and Leaflet.heat with the base map."""

    default_js = [*folium.plugins.MarkerCluster.default_js, *folium.plugins.HeatMap.default_js]
    default_css = list(folium.plugins.MarkerCluster.default_css)
    _template = Template("{% macro script(this, kwargs) %}{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "PluginAssets"


class _Background(ScriptCall):
    """The plain background colour and a metric-only scale bar."""

    scripts = ("background",)
    function = "background"

    def __init__(self, color: str):
        super().__init__()
        self._name = "Background"
        self.config = {"color": color}


class _NoMountRerun(ScriptCall):
    """Stops streamlit-folium from rerunning the script once per page load
    (assets/js/no_mount_rerun.js says how)."""

    scripts = ("no_mount_rerun",)
    function = "noMountRerun"

    def __init__(self) -> None:
        super().__init__()
        self._name = "NoMountRerun"
        self.config = {}


def view_for_bounds(
    bounds: Sequence[float],
    *,
    width: int = 900,
    height: int = 600,
    padding: int = 20,
    max_zoom: int = 18,
    min_zoom: int = 3,
    zoom_step: float = 0.5,
) -> tuple[tuple[float, float], float]:
    """``((lat, lon), zoom)`` that fits ``bounds`` (west, south, east, north) in a map
    of ``width`` x ``height`` pixels (Web Mercator, 256 px tiles) — for ``st_folium``'s
    ``center``/``zoom`` arguments, which move the view without remounting the map. The
    zoom is a multiple of ``zoom_step`` (the base map snaps to half levels).
    """
    west, south, east, north = (float(b) for b in bounds)

    def merc_y(lat: float) -> float:
        lat = max(min(lat, 85.0511), -85.0511)
        s = math.sin(math.radians(lat))
        return 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)

    dx = max((east - west) / 360.0, 1e-12)
    dy = max(abs(merc_y(south) - merc_y(north)), 1e-12)
    w = max(width - 2 * padding, 1)
    h = max(height - 2 * padding, 1)
    fit = min(math.log2(w / (256 * dx)), math.log2(h / (256 * dy)))
    zoom = math.floor(fit / zoom_step) * zoom_step
    zoom = max(min_zoom, min(max_zoom, zoom))
    if float(zoom).is_integer():
        zoom = int(zoom)
    center = (round((south + north) / 2, 6), round((west + east) / 2, 6))
    return center, zoom


def base_map(
    *,
    bounds: Sequence[float],
    base_layer: str = "none",
    tile_url: str | None = None,
    tianditu_key: str | None = None,
    tile_attribution: str | None = None,
    outline: dict | None = None,
    outline_color: str = "#555555",
    background: str = "#f2f3f5",
    width: int = 900,
    height: int = 600,
    max_zoom: int = 18,
    min_zoom: int = 5,
    plugins: bool = False,
    base_url: str = DEFAULT_BASE_URL,
) -> folium.Map:
    """A stable, offline-ready base map: build it the same way every run.

    Parameters
    ----------
    bounds : (west, south, east, north)
        Extent of the whole scope (e.g. ``fc["bbox"]`` of the district outline). Keep it
        constant while the user drills down (move the view with ``st_folium(center=...,
        zoom=...)``, see :func:`view_for_bounds`): a changed map script remounts the
        component (flicker, lost view).
    base_layer : {"none", "tianditu", "amap", "custom"}
        ``none`` (default): no tiles, a plain ``background`` and the ``outline``.
        ``tianditu`` needs ``tianditu_key``; ``amap`` tiles are GCJ-02, so build the
        features with ``crs=base_layer_crs("amap")``; ``custom`` needs ``tile_url`` (an
        intranet template with ``{z}/{x}/{y}``).
    outline : dict, optional
        The district outline (``dissolved_features``), drawn below everything.
    plugins : bool, default False
        Preload the vendored marker-cluster and heat plugins with the map. Not needed for
        the case layers of geo/maps/cases.py (they load them on demand); only for other
        folium plugin layers passed later through ``feature_group_to_add``
        (streamlit-folium loads a map's scripts only when it first mounts it).
    base_url : str
        Where ``assets/vendor`` is served (:func:`geo.offline.static_base_url`).

    Returns
    -------
    folium.Map
        Canvas rendering (``prefer_canvas``), ``max_zoom`` set (no tile layer to take it
        from), panes ``OUTLINE_PANE`` and ``CASES_PANE``, already passed through
        :func:`geo.offline.use_local_assets`.

    Raises
    ------
    ValueError
        For an unknown base layer, or a missing key / tile URL.
    """
    spec = _spec(base_layer)
    m = _empty_map(bounds, width=width, height=height, max_zoom=max_zoom, min_zoom=min_zoom)
    _Background(background).add_to(m)
    _NoMountRerun().add_to(m)
    _add_tiles(
        m,
        base_layer=base_layer,
        spec=spec,
        tile_url=tile_url,
        tianditu_key=tianditu_key,
        tile_attribution=tile_attribution,
        max_zoom=max_zoom,
    )
    add_panes(m)
    if plugins:
        _PluginAssets().add_to(m)
    if outline is not None and outline.get("features"):
        FillAreas(
            outline,
            layer_key="base-outline",
            base_style={"color": outline_color, **_OUTLINE_STYLE},
            name="base-outline",
            interactive=False,
        ).add_to(m)
    return use_local_assets(m, base_url=base_url)


def _empty_map(
    bounds: Sequence[float], *, width: int, height: int, max_zoom: int, min_zoom: int
) -> folium.Map:
    """The map itself: no tiles, canvas, the view that fits ``bounds``, no jQuery."""
    center, zoom = view_for_bounds(bounds, width=width, height=height, max_zoom=max_zoom)
    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # folium's scale bar also shows miles; a metric one is added
        max_zoom=max_zoom,
        min_zoom=min_zoom,
        zoom_snap=0.5,
    )
    m.options["max_zoom"] = max_zoom  # MarkerCluster needs it when there is no tile layer
    # jQuery serves only folium's Popup/keep_in_front, which these maps do not use: one
    # script less to load, one after the other, before the map can draw.
    m.default_js = [(n, u) for n, u in m.default_js if "jquery" not in u.lower()]
    return m


def _add_tiles(
    m: folium.Map,
    *,
    base_layer: str,
    spec: _BaseLayer,
    tile_url: str | None,
    tianditu_key: str | None,
    tile_attribution: str | None,
    max_zoom: int,
) -> None:
    """The tile layer(s) of ``base_layer`` (none for ``"none"``)."""
    if base_layer == "tianditu":
        if not tianditu_key:
            raise ValueError("base_layer 'tianditu' needs tianditu_key (天地图 key)")
        for i, url in enumerate(spec.urls):
            folium.TileLayer(
                tiles=url.replace("{key}", tianditu_key),
                attr=spec.attribution,
                subdomains=spec.subdomains,
                max_zoom=max_zoom,
                max_native_zoom=spec.max_native_zoom,
                name=f"tianditu-{i}",
                overlay=i > 0,
                control=False,
            ).add_to(m)
    elif base_layer == "amap":
        folium.TileLayer(
            tiles=spec.urls[0],
            attr=spec.attribution,
            subdomains=spec.subdomains,
            max_zoom=max_zoom,
            max_native_zoom=spec.max_native_zoom,
            name="amap",
            control=False,
        ).add_to(m)
    elif base_layer == "custom":
        if not tile_url:
            raise ValueError(
                "base_layer 'custom' needs tile_url (e.g. http://tiles.intranet/{z}/{x}/{y}.png)"
            )
        folium.TileLayer(
            tiles=tile_url,
            attr=tile_attribution or "tiles",
            max_zoom=max_zoom,
            name="custom",
            control=False,
        ).add_to(m)
