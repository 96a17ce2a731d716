"""Pure map builders: frames in, GeoJSON / folium layers out. Imports no Streamlit.

What the Map page does with them (see also geo/selection.py)::

    base = maps.base_map(bounds=..., outline=maps.outline_features(...))   # stable
    scale = maps.color_scale(metric=metric, values=kpis)
    fc = maps.area_features(geometries=geoms, values=kpis, metric=metric, level=level,
                            lang="zh", version=ds.version, scale=scale)
    group = maps.choropleth_layer(features=fc, name=f"{level}-{metric}", tooltip=...)
    st_folium(base, feature_group_to_add=[group, ...], returned_objects=[...], key="map")

Why it is fast (issue 3, "Fast"):

* the fill colour is computed in Python and sent as a feature property; ONE JavaScript
  style function reads ``feature.properties.fill`` (folium's ``style_function`` instead
  calls Python per feature and emits a ``switch`` with one ``case`` per feature);
* boundaries are simplified per level keeping shared borders (geo/simplify.py) and
  quantised to 5 decimals (~1 m); the simplified geometry of a level is computed once per
  (data version, level, CRS) and kept in a small in-process cache;
* the layer travels to the browser *packed*: columnar properties (keys once, not per
  feature), fill colours as indexes into a palette, and rings as integer deltas in units
  of 1e-5 degree; a 40-line decoder in the layer script rebuilds a plain GeoJSON
  FeatureCollection before ``L.geoJson(...).addData``, so Leaflet, the tooltip and
  ``st_folium``'s ``last_active_drawing`` see ordinary features;
* the map is created with ``prefer_canvas=True``: one canvas instead of one SVG path per
  polygon;
* the base map is stable (same script every run, so ``st_folium`` never remounts it);
  choropleth, outlines and cases go through ``feature_group_to_add``, which streamlit-folium
  swaps in place.

Every layer script also records ``window.gridpulse.layers[name] = {count, added, painted}``
(``painted`` two animation frames after the data was added) and ``window.gridpulse.last``,
for browser tests and the benchmark.

Offline: nothing here loads from a CDN. :func:`base_map` preloads the vendored
Leaflet.markercluster and Leaflet.heat files (streamlit-folium loads scripts only when the
map is first mounted, so a case layer switched on later could not load its plugin) and
passes the map through :func:`geo.offline.use_local_assets`; no ``folium.Icon``, no branca
colormap: legends come from :class:`Scale` and are drawn by the page.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import folium
import folium.plugins
import numpy as np
import polars as pl
import shapely
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

from data_layer.domain import metrics
from data_layer.domain.labels import lookup
from geo.crs import to_gcj02, wgs84_to_gcj02
from geo.offline import DEFAULT_BASE_URL, LOCAL_ASSETS, use_local_assets
from geo.simplify import DECIMALS, LEVELS, quantize, simplify_level

__all__ = [
    "BASE_LAYERS",
    "CASES_PANE",
    "LegendEntry",
    "OUTLINE_PANE",
    "Scale",
    "area_features",
    "base_layer_crs",
    "base_map",
    "case_heat_layer",
    "case_points_layer",
    "choropleth_layer",
    "clear_geometry_cache",
    "color_scale",
    "dissolved_features",
    "feature_payload",
    "flags_low_volume",
    "legend_layer",
    "level_geometries",
    "outline_features",
    "outline_layer",
    "view_for_bounds",
]


# --------------------------------------------------------------------------------------- #
# texts: the shared string tables, read without Streamlit (data_layer.domain.labels)
# --------------------------------------------------------------------------------------- #
def _text(key: str, lang: str) -> str:
    """Map labels from the one string table (assets/i18n/map.toml, section [maptext])."""
    return lookup("maptext", key, language=lang)


# --------------------------------------------------------------------------------------- #
# colour scales
# --------------------------------------------------------------------------------------- #
# ColorBrewer palettes (colorbrewer2.org, Cynthia Brewer, Apache-2.0 licensed colours)
RDYLGN_5: Final = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
GNYLRD_5: Final = tuple(reversed(RDYLGN_5))
REDS_4: Final = ("#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
REDS_ZERO: Final = "#fff5f0"
BLUES_5: Final = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
GREENS_5: Final = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
YLORRD_5: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_VALUE_COLOR: Final = "#eeeeee"
LOW_VOLUME_COLOR: Final = "#bdbdbd"


@dataclass(frozen=True)
class _ScaleSpec:
    method: str  # "bands" (fixed breaks) | "quantiles" | "zero_quantiles" (0 is its own class)
    palette: tuple[str, ...]
    breaks: tuple[float, ...] = ()


# Fixed bands where the metric has a governance meaning; quantiles for volumes.
_SPECS: Final[Mapping[str, _ScaleSpec]] = {
    # closure: <90%, 90-95%, 95-98%, 98-99%, >=99% (published district figures run ~99.9%)
    "closure_rate": _ScaleSpec("bands", RDYLGN_5, (0.90, 0.95, 0.98, 0.99)),
    "on_time_rate": _ScaleSpec("bands", RDYLGN_5, (0.90, 0.95, 0.98, 0.99)),
    "satisfaction_rate": _ScaleSpec("bands", RDYLGN_5, (0.85, 0.90, 0.95, 0.98)),
    "response_rate": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 0.98)),
    # lower is better
    "rework_rate": _ScaleSpec("bands", GNYLRD_5, (0.01, 0.03, 0.05, 0.10)),
    # coverage: the standard is 100% ("一格一专职"), so 100% is its own top class
    "full_time_coverage": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 1.0)),
    "party_org_coverage": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 1.0)),
    "property_coverage": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 1.0)),
    "size_standard_rate": _ScaleSpec("bands", RDYLGN_5, (0.60, 0.75, 0.90, 1.0)),
    "wish_fulfilment_rate": _ScaleSpec("bands", RDYLGN_5, (0.50, 0.70, 0.85, 0.95)),
    # standard >= 18 community workers per 10,000 residents
    "workers_per_10k": _ScaleSpec("bands", RDYLGN_5, (12.0, 15.0, 18.0, 24.0)),
    # counts where 0 is the goal: 0 is its own (near-white) class, then quantiles in reds
    "overdue_open": _ScaleSpec("zero_quantiles", REDS_4),
    "at_risk": _ScaleSpec("zero_quantiles", REDS_4),
    # durations: longer is worse
    "hours_to_close_median": _ScaleSpec("quantiles", YLORRD_5),
    "hours_to_close_p90": _ScaleSpec("quantiles", YLORRD_5),
    # volunteer volumes: more is better, but not judged red/green
    "volunteer_hours": _ScaleSpec("quantiles", GREENS_5),
    "volunteer_hours_per_1k": _ScaleSpec("quantiles", GREENS_5),
    "activities": _ScaleSpec("quantiles", GREENS_5),
    "party_members_reported": _ScaleSpec("quantiles", GREENS_5),
}
_DEFAULT_SPEC: Final = _ScaleSpec("quantiles", BLUES_5)  # neutral volumes (reported, per 1k ...)


def _spec(metric: str) -> _ScaleSpec:
    if metric in _SPECS:
        return _SPECS[metric]
    m = metrics.METRICS[metric]
    if m.kind == "rate" and m.higher_is_better is not None:
        return _ScaleSpec("quantiles", RDYLGN_5 if m.higher_is_better else GNYLRD_5)
    return _DEFAULT_SPEC


def flags_low_volume(metric: str) -> bool:
    """Whether areas of ``metric`` are greyed as low volume (denominator < 20).

    Only rates over sampled events are: case rates (denominators are case counts) and the
    micro-wish fulfilment rate. Coverage rates are a census of grids/compounds (a grid's
    full-time coverage is 0% or 100% over a denominator of 1, and that is a fact, not a
    small sample), and per-1,000 ratios have population-sized denominators.
    """
    m = metrics.METRICS[metric]
    return m.kind == "rate" and m.group in ("cases", "volunteer")


@dataclass(frozen=True)
class LegendEntry:
    color: str
    label: str


@dataclass(frozen=True)
class Scale:
    """A classed colour scale for one metric.

    Class ``i`` holds values ``breaks[i-1] <= v < breaks[i]`` (class 0 everything below
    ``breaks[0]``, the last class everything at or above ``breaks[-1]``).
    ``method`` is ``"bands"`` (fixed breaks), ``"quantiles"`` (breaks at the 20/40/60/80 %
    quantiles of the values shown, low-volume areas excluded) or ``"zero_quantiles"``
    (0 is a class of its own, quantiles of the positive values above it).
    """

    metric: str
    method: str
    breaks: tuple[float, ...]
    colors: tuple[str, ...]
    labels: tuple[str, ...]
    no_value: LegendEntry
    low_volume: LegendEntry | None = None

    @property
    def entries(self) -> tuple[LegendEntry, ...]:
        """Legend rows, lowest class first, then low volume (if used) and no value."""
        rows = [LegendEntry(c, lab) for c, lab in zip(self.colors, self.labels, strict=True)]
        if self.low_volume is not None:
            rows.append(self.low_volume)
        rows.append(self.no_value)
        return tuple(rows)

    def color(self, value: float | None, *, low: bool = False) -> str:
        """Fill colour of one value."""
        return self.colors_for([value], [low])[0]

    def classes(self, values: Iterable[float | None]) -> np.ndarray:
        """Class index of each value; -1 for no value."""
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        idx = np.searchsorted(np.asarray(self.breaks, dtype=np.float64), arr, side="right")
        return np.where(np.isnan(arr), -1, idx)

    def colors_for(
        self, values: Iterable[float | None], low: Iterable[bool] | None = None
    ) -> list[str]:
        """Fill colour of each value: class colour, low-volume grey or no-value grey."""
        idx = self.classes(values)
        lows = np.zeros(len(idx), dtype=bool) if low is None else np.asarray(list(low), dtype=bool)
        palette = np.array([*self.colors, self.no_value.color], dtype=object)
        out = palette[np.where(idx < 0, len(self.colors), idx)]
        if self.low_volume is not None:
            out = np.where(lows & (idx >= 0), self.low_volume.color, out)
        return out.tolist()

    def to_html(self, *, title: str = "") -> str:
        """The legend as a small HTML block (inline styles) for ``st.markdown``."""
        from html import escape

        rows = "".join(
            '<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
            f'<span style="display:inline-block;width:18px;height:12px;background:{e.color};'
            'border:1px solid #999"></span>'
            f"<span>{escape(e.label)}</span></div>"
            for e in self.entries
        )
        head = (
            f"<div style='font-weight:600;margin-bottom:4px'>{escape(title)}</div>" if title else ""
        )
        return f'<div class="gridpulse-legend" style="font-size:0.85rem">{head}{rows}</div>'


def _fmt_break(metric: str, x: float) -> str:
    m = metrics.METRICS[metric]
    if m.kind == "rate":
        pct = round(x * 100, 1)
        return f"{pct:g}%"
    if m.kind == "count":
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{round(x, 1):g}"


def _band_labels(metric: str, breaks: Sequence[float], *, integer: bool) -> list[str]:
    f = lambda x: _fmt_break(metric, x)  # noqa: E731
    if not breaks:
        return ["—"]
    labels = [f"< {f(breaks[0])}" if not integer else _int_range(None, breaks[0], metric)]
    for lo, hi in zip(breaks[:-1], breaks[1:], strict=True):
        labels.append(_int_range(lo, hi, metric) if integer else f"{f(lo)} – {f(hi)}")
    top = breaks[-1]
    if metrics.METRICS[metric].kind == "rate" and top >= 1.0:
        labels.append(f(top))  # "100%"
    else:
        labels.append(f"≥ {f(top)}")
    return labels


def _int_range(lo: float | None, hi: float, metric: str) -> str:
    f = lambda x: _fmt_break(metric, x)  # noqa: E731
    if lo is None:
        return f"< {f(hi)}"
    last = hi - 1
    return f(lo) if last <= lo else f"{f(lo)} – {f(last)}"


def _quantile_breaks(values: np.ndarray, k: int, *, integer: bool) -> list[float]:
    if values.size == 0:
        return []
    qs = np.quantile(values, np.linspace(0, 1, k + 1)[1:-1])
    if integer:
        qs = np.ceil(qs)
    lo = float(values.min())
    out: list[float] = []
    for q in qs:
        q = float(q)
        if q > lo and (not out or q > out[-1]):
            out.append(q)
    return out


def _spread(palette: Sequence[str], n: int) -> tuple[str, ...]:
    if n >= len(palette):
        return tuple(palette)
    if n <= 1:
        return (palette[len(palette) // 2],)
    idx = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return tuple(palette[i] for i in idx)


def _values_and_low(
    metric: str, values: Any, low_volume: Iterable[bool] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Metric values as float array (NaN = no value) and the low-volume mask."""
    if isinstance(values, pl.DataFrame):
        frame = values
        vals = frame[metric].cast(pl.Float64).to_numpy() if metric in frame.columns else None
        if vals is None:
            raise KeyError(f"values frame has no column {metric!r}")
        if low_volume is None:
            low = _low_mask(metric, frame)
        else:
            low = np.asarray(list(low_volume), dtype=bool)
    else:
        if isinstance(values, pl.Series):
            vals = values.cast(pl.Float64).to_numpy()
        else:
            vals = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        low = (
            np.zeros(len(vals), dtype=bool)
            if low_volume is None
            else np.asarray(list(low_volume), dtype=bool)
        )
    return np.asarray(vals, dtype=np.float64), low


def _low_mask(metric: str, frame: pl.DataFrame) -> np.ndarray:
    m = metrics.METRICS[metric]
    if not flags_low_volume(metric) or m.denominator not in frame.columns:
        return np.zeros(frame.height, dtype=bool)
    den = frame[m.denominator].to_list()
    return np.array([metrics.is_low_volume(d) for d in den], dtype=bool)


def color_scale(
    *,
    metric: str,
    values: Any,
    low_volume: Iterable[bool] | None = None,
    lang: str = "zh",
) -> Scale:
    """Build the colour scale of ``metric`` for the values shown.

    Parameters
    ----------
    metric : str
        A key of :data:`data_layer.domain.metrics.METRICS`.
    values : polars.DataFrame, polars.Series or sequence of numbers
        The kpis frame (then the low-volume mask comes from the metric's denominator
        column, see :func:`flags_low_volume`) or the plain values (None = no value).
    low_volume : iterable of bool, optional
        Low-volume mask when ``values`` is not a frame (or to override it).
    lang : {"zh", "en"}
        Language of the low-volume / no-value legend labels.

    Returns
    -------
    Scale
        Fixed bands for metrics with a governance meaning (closure rates: < 90 %,
        90-95 %, 95-98 %, 98-99 %, >= 99 %, red to green; coverage rates with 100 % as the
        top class; rework rate green to red; community workers around the standard of
        18), quantile classes otherwise (5 classes of the values shown, low-volume areas
        left out; counts whose goal is 0 have 0 as a class of its own). Low-volume and
        no-value areas are grey.
    """
    spec = _spec(metric)
    m = metrics.METRICS[metric]
    vals, low = _values_and_low(metric, values, low_volume)
    integer = m.kind == "count"
    if spec.method == "bands":
        breaks = list(spec.breaks)
        colors = tuple(spec.palette)
        labels = _band_labels(metric, breaks, integer=False)
    else:
        keep = ~np.isnan(vals)
        if len(low) == len(vals):
            keep &= ~low
        usable = vals[keep]
        if spec.method == "zero_quantiles":
            positive = usable[usable > 0]
            qb = _quantile_breaks(positive, len(spec.palette), integer=integer)
            lowest = float(positive.min()) if positive.size else 1.0
            if integer:
                lowest = max(1.0, math.ceil(lowest))
            breaks = [lowest, *[b for b in qb if b > lowest]] if positive.size else [1.0]
            colors = (REDS_ZERO, *_spread(spec.palette, len(breaks)))
            labels = ["0", *_band_labels(metric, breaks, integer=integer)[1:]]
        else:
            breaks = _quantile_breaks(usable, len(spec.palette), integer=integer)
            colors = _spread(spec.palette, len(breaks) + 1)
            if breaks:
                labels = _band_labels(metric, breaks, integer=integer)
            else:
                only = usable[0] if usable.size else None
                labels = [metrics.format_value(metric, only) if only is not None else "—"]
    low_entry = (
        LegendEntry(
            LOW_VOLUME_COLOR,
            _text("low_volume", lang) + f"（< {metrics.MIN_DENOMINATOR}）"
            if lang == "zh"
            else _text("low_volume", lang) + f" (< {metrics.MIN_DENOMINATOR})",
        )
        if flags_low_volume(metric)
        else None
    )
    return Scale(
        metric=metric,
        method=spec.method,
        breaks=tuple(float(b) for b in breaks),
        colors=tuple(colors),
        labels=tuple(labels),
        no_value=LegendEntry(NO_VALUE_COLOR, _text("no_value", lang)),
        low_volume=low_entry,
    )


# --------------------------------------------------------------------------------------- #
# geometry: simplified, quantised, cached per (version, level, crs)
# --------------------------------------------------------------------------------------- #
_Q: Final = 10**DECIMALS  # integer units per degree on the wire


class _Geometry(dict):
    """A GeoJSON geometry dict that also carries its packed wire form (see module doc)."""

    __slots__ = ("packed",)


@dataclass
class _LevelGeometry:
    index: dict[str, int]
    geometries: list[_Geometry | None]
    bounds: tuple[float, float, float, float]
    boxes: np.ndarray  # (n, 4) west, south, east, north of each area (NaN: no geometry)
    shapes: np.ndarray  # the simplified, quantised shapely geometries (same order)
    key: Hashable | None = None  # cache key (None: not cached)
    dissolved: _Geometry | None = None  # lazily: the union of all areas


_CACHE: OrderedDict[Hashable, _LevelGeometry] = OrderedDict()
_CACHE_MAX: Final = 12
_CACHE_LOCK = threading.Lock()


# Finished FeatureCollections and their packed payloads, for reruns with the same data
# (a live refresh with nothing new): (level cache key, metric, lang, scale, selection,
# fingerprint of the values) -> fc, and id(fc) -> (fc, payload).
_FEATURES_MEMO: OrderedDict[Hashable, dict] = OrderedDict()
_PAYLOAD_MEMO: OrderedDict[int, tuple[dict, str]] = OrderedDict()
_MEMO_MAX: Final = 16


def _memo_get(memo: OrderedDict, key: Hashable) -> Any:
    with _CACHE_LOCK:
        hit = memo.get(key)
        if hit is not None:
            memo.move_to_end(key)
        return hit


def _memo_put(memo: OrderedDict, key: Hashable, value: Any) -> None:
    with _CACHE_LOCK:
        memo[key] = value
        memo.move_to_end(key)
        while len(memo) > _MEMO_MAX:
            memo.popitem(last=False)


def clear_geometry_cache() -> None:
    """Forget every cached simplified geometry and memoised layer (tests, free memory)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _FEATURES_MEMO.clear()
        _PAYLOAD_MEMO.clear()


def level_geometries(tables: Mapping[str, pl.DataFrame], *, level: str) -> pl.DataFrame:
    """``code`` and ``geometry`` (WKB) of every area of ``level``.

    ``tables`` is a :class:`data_layer.storage.source.Dataset` (or any mapping of table name to
    frame). Pass the result, unfiltered, to :func:`area_features`: the kpis frame selects
    the areas drawn, so the simplification is done once per level, not per filter.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    table = {"street": "streets", "community": "communities", "grid": "grids"}[level]
    return tables[table].select(pl.col(f"{level}_code").alias("code"), pl.col("geometry"))


def _pack_arrays(geoms: np.ndarray) -> list[str | None]:
    """Packed wire form of each (quantised) polygonal geometry; ``None`` for missing ones."""
    out: list[str | None] = [None] * len(geoms)
    present = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not present.any():
        return out
    idx_present = np.nonzero(present)[0]
    polys, poly_feat = shapely.get_parts(geoms[present], return_index=True)
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    ints = np.rint(coords * _Q).astype(np.int64)
    n_rings = len(rings)
    starts = np.searchsorted(coord_ring, np.arange(n_rings), side="left")
    ends = np.searchsorted(coord_ring, np.arange(n_rings), side="right")
    deltas = np.empty_like(ints)
    deltas[1:] = ints[1:] - ints[:-1]
    deltas[starts] = ints[starts]  # first vertex of each ring absolute
    flat = deltas.reshape(-1)
    ring_txt: list[str] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        # drop the closing vertex (repeats the first); the decoder closes the ring
        ring_txt.append("[" + ",".join(map(str, flat[2 * s : 2 * (e - 1)].tolist())) + "]")
    poly_txt: list[list[str]] = [[] for _ in range(len(polys))]
    for r, p in enumerate(ring_poly.tolist()):
        poly_txt[p].append(ring_txt[r])
    feat_txt: list[list[str]] = [[] for _ in range(len(idx_present))]
    for p, f in enumerate(poly_feat.tolist()):
        feat_txt[f].append("[" + ",".join(poly_txt[p]) + "]")
    for k, i in enumerate(idx_present.tolist()):
        out[i] = "[" + ",".join(feat_txt[k]) + "]"
    return out


def _pack_geometry_dict(geom: Mapping[str, Any] | None) -> str | None:
    """Packed wire form of a plain GeoJSON (Multi)Polygon dict (slow path)."""
    if not geom:
        return None
    if geom["type"] == "Polygon":
        polys = [geom["coordinates"]]
    elif geom["type"] == "MultiPolygon":
        polys = geom["coordinates"]
    else:
        raise ValueError(f"only Polygon/MultiPolygon geometries can be drawn, got {geom['type']}")
    parts = []
    for poly in polys:
        rings = []
        for ring in poly:
            pts = [(round(x * _Q), round(y * _Q)) for x, y, *_ in ring]
            if len(pts) > 1 and pts[0] == pts[-1]:
                pts = pts[:-1]
            flat: list[int] = []
            px = py = 0
            for j, (x, y) in enumerate(pts):
                if j == 0:
                    flat += [x, y]
                else:
                    flat += [x - px, y - py]
                px, py = x, y
            rings.append("[" + ",".join(map(str, flat)) + "]")
        parts.append("[" + ",".join(rings) + "]")
    return "[" + ",".join(parts) + "]"


def _build_level(
    geometries: pl.DataFrame, *, level: str, crs: str, tolerance_m: float | None
) -> _LevelGeometry:
    codes = geometries["code"].cast(pl.String).to_list()
    wkb = geometries["geometry"].to_numpy()
    geoms = shapely.from_wkb(wkb)
    simple = simplify_level(geometries=geoms, level=level, tolerance_m=tolerance_m, decimals=None)
    if crs == "gcj02":
        import geopandas as gpd

        simple = np.asarray(to_gcj02(gpd.GeoSeries(simple, crs="EPSG:4326")).array, dtype=object)
    elif crs != "wgs84":
        raise ValueError(f"crs must be 'wgs84' or 'gcj02', got {crs!r}")
    simple = quantize(geometries=simple, decimals=DECIMALS)
    texts = shapely.to_geojson(simple)
    packed = _pack_arrays(simple)
    out: list[_Geometry | None] = []
    for t, p in zip(texts, packed, strict=True):
        if t is None or p is None:
            out.append(None)
            continue
        g = _Geometry(json.loads(t))
        g.packed = p
        out.append(g)
    b = shapely.total_bounds(simple)
    return _LevelGeometry(
        index={c: i for i, c in enumerate(codes)},
        geometries=out,
        bounds=tuple(float(x) for x in b),  # type: ignore[arg-type]
        boxes=shapely.bounds(simple),
        shapes=simple,
    )


def _level_geometry(
    geometries: pl.DataFrame,
    *,
    level: str,
    version: Hashable | None,
    crs: str,
    tolerance_m: float | None,
) -> _LevelGeometry:
    if version is None:
        return _build_level(geometries, level=level, crs=crs, tolerance_m=tolerance_m)
    codes = geometries["code"]
    # the caller's version token, plus a cheap fingerprint of the rows in case a caller
    # passes a subset under the same token
    key = (version, level, crs, tolerance_m, geometries.height, hash(tuple(codes.to_list())))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        built = _build_level(geometries, level=level, crs=crs, tolerance_m=tolerance_m)
        built.key = key
        _CACHE[key] = built
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)
        return built


# --------------------------------------------------------------------------------------- #
# features
# --------------------------------------------------------------------------------------- #
def area_features(
    *,
    geometries: pl.DataFrame,
    values: pl.DataFrame,
    metric: str,
    level: str,
    lang: str = "zh",
    version: Hashable | None = None,
    crs: str = "wgs84",
    scale: Scale | None = None,
    tolerance_m: float | None = None,
    selected: Iterable[str] = (),
) -> dict:
    """A compact GeoJSON FeatureCollection of the areas in ``values``, coloured by ``metric``.

    Parameters
    ----------
    geometries : polars.DataFrame
        ``code`` and ``geometry`` (WKB, WGS 84) of every area of ``level`` — pass the whole
        level (:func:`level_geometries`), not the filtered areas: the simplified geometry
        is cached per ``(version, level, crs)`` and ``values`` picks the areas drawn.
    values : polars.DataFrame
        The :func:`data_layer.queries.figures.kpis` frame (``by=level``): ``code``, ``name``, the
        metric and its numerator/denominator columns. Areas without geometry are skipped.
    metric : str
        Key of :data:`data_layer.domain.metrics.METRICS`.
    level : {"street", "community", "grid"}
        Level of the areas (picks the simplification tolerance; copied to each feature's
        ``properties.level`` for the click handling).
    lang : {"zh", "en"}
        Language of the low-volume note.
    version : hashable, optional
        The dataset's version token (``Dataset.version``); ``None`` disables the cache.
    crs : {"wgs84", "gcj02"}
        ``"gcj02"`` shifts the geometry for an AMap (高德) base layer
        (:func:`base_layer_crs`).
    scale : Scale, optional
        The colour scale; by default ``color_scale(metric=metric, values=values)``. Pass
        the one the page draws as legend so both agree.
    tolerance_m : float, optional
        Override the level's simplification tolerance (metres).
    selected : iterable of str
        Codes of areas to outline as selected (e.g. the grid chosen by a click):
        ``properties.selected = true``, drawn with a thick dark border.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...], "bbox": [w, s, e, n]}``; each
        feature has ``id`` = code and properties ``code``, ``name``, ``level``, ``value``
        (display text of :func:`data_layer.domain.metrics.format_value`, with the low-volume
        note appended when low), ``fraction`` (``"70,897 / 70,970"``, rates and ratios
        only), ``low`` (bool, only for metrics that flag low volume) and ``fill`` (hex
        colour). No datetime values. With a ``version`` the result is memoised (same
        version, level, metric, scale, selection and values → the very same dict, so a
        rerun with unchanged data costs a lookup): treat it as read-only.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    m = metrics.METRICS[metric]
    cached = _level_geometry(
        geometries, level=level, version=version, crs=crs, tolerance_m=tolerance_m
    )
    scale = scale or color_scale(metric=metric, values=values, lang=lang)
    cols = ["code", "name", metric]
    has_fraction = m.is_rate and m.numerator in values.columns and m.denominator in values.columns
    if has_fraction:
        cols += [m.numerator, m.denominator]
    chosen = set(selected)
    memo_key = None
    if cached.key is not None:
        extra = [m.denominator] if m.denominator in values.columns else []
        used = values.select(list(dict.fromkeys([*cols, *extra])))
        memo_key = (
            cached.key,
            metric,
            lang,
            scale,
            tuple(sorted(chosen)),
            used.height,
            hash(tuple(used.hash_rows().to_list())),
        )
        hit = _memo_get(_FEATURES_MEMO, memo_key)
        if hit is not None:
            return hit
    rows = values.select(cols).rows()
    low = _low_mask(metric, values)
    fills = scale.colors_for((r[2] for r in rows), low)
    flag_low = flags_low_volume(metric)
    note = f"（{_text('low_volume', lang)}）" if lang == "zh" else f" ({_text('low_volume', lang)})"
    features = []
    drawn: list[int] = []
    for i, row in enumerate(rows):
        code = row[0]
        j = cached.index.get(code)
        geom = cached.geometries[j] if j is not None else None
        if geom is None:
            continue
        drawn.append(j)
        value = row[2]
        if isinstance(value, float) and math.isnan(value):
            value = None
        text = metrics.format_value(metric, value)
        props: dict[str, Any] = {
            "code": code,
            "name": row[1] if row[1] is not None else code,
            "level": level,
            "value": text + note if (flag_low and low[i] and value is not None) else text,
        }
        if has_fraction:
            props["fraction"] = metrics.format_fraction(row[3], row[4])
        if flag_low:
            props["low"] = bool(low[i])
        props["fill"] = fills[i]
        if code in chosen:
            props["selected"] = True
        features.append({"type": "Feature", "id": code, "properties": props, "geometry": geom})
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if features:
        fc["bbox"] = _bbox(cached, drawn)  # bounds of the areas drawn, not the whole level
    if memo_key is not None:
        _memo_put(_FEATURES_MEMO, memo_key, fc)
    return fc


def outline_features(
    *,
    geometries: pl.DataFrame,
    level: str,
    codes: Iterable[str] | None = None,
    version: Hashable | None = None,
    crs: str = "wgs84",
    tolerance_m: float | None = None,
) -> dict:
    """Boundaries only (properties ``code`` and ``level``), for :func:`outline_layer`.

    ``codes`` selects areas (default: all rows of ``geometries``). To draw street outlines
    over grids, pass ``tolerance_m=simplify.TOLERANCE_M["grid"]`` so the outline follows
    the grids' edges closely.
    """
    cached = _level_geometry(
        geometries, level=level, version=version, crs=crs, tolerance_m=tolerance_m
    )
    wanted = list(cached.index) if codes is None else list(codes)
    features = []
    drawn: list[int] = []
    for code in wanted:
        j = cached.index.get(code)
        geom = cached.geometries[j] if j is not None else None
        if geom is None:
            continue
        drawn.append(j)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "level": level},
                "geometry": geom,
            }
        )
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if features:
        fc["bbox"] = _bbox(cached, drawn)
    return fc


def dissolved_features(
    *,
    geometries: pl.DataFrame,
    level: str,
    version: Hashable | None = None,
    crs: str = "wgs84",
    tolerance_m: float | None = None,
    code: str = "all",
) -> dict:
    """One feature: the outer boundary of all areas of ``geometries`` (e.g. the district
    outline from its streets), for :func:`base_map`'s ``outline``. Cached with the level."""
    cached = _level_geometry(
        geometries, level=level, version=version, crs=crs, tolerance_m=tolerance_m
    )
    if cached.dissolved is None:
        shapes = np.array(
            [g for g in cached.shapes if g is not None and not g.is_empty], dtype=object
        )
        if shapes.size == 0:
            return {"type": "FeatureCollection", "features": []}
        union = quantize(geometries=[shapely.coverage_union_all(shapes)], decimals=DECIMALS)[0]
        g = _Geometry(json.loads(shapely.to_geojson(union)))
        g.packed = _pack_arrays(np.array([union], dtype=object))[0]
        cached.dissolved = g
    geom = cached.dissolved
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": code, "properties": {"code": code}, "geometry": geom}
        ],
        "bbox": list(cached.bounds),
    }


def _bbox(cached: _LevelGeometry, idx: Sequence[int]) -> list[float]:
    boxes = cached.boxes[np.asarray(idx, dtype=np.int64)]
    return [
        float(np.nanmin(boxes[:, 0])),
        float(np.nanmin(boxes[:, 1])),
        float(np.nanmax(boxes[:, 2])),
        float(np.nanmax(boxes[:, 3])),
    ]


def feature_payload(features: Mapping[str, Any]) -> str:
    """The packed wire form of a FeatureCollection (what :func:`choropleth_layer` embeds).

    A JSON object: ``n`` features, ``cols`` (property columns: name → list, one entry per
    feature, ``null`` where absent), ``bools`` (names of 0/1 columns), ``consts``
    (properties equal on every feature), ``palette`` + ``fill`` (fill colours as palette
    indexes), ``geom`` (per feature: polygons → rings → flat integer list ``x0, y0, dx1,
    dy1, ...`` in units of 1e-5 degree, closing vertex dropped) and ``q`` (units per
    degree). ``len(feature_payload(fc).encode())`` is the payload size the benchmark
    reports. ``"</"`` is escaped so the text can sit in an HTML ``<script>``.
    The payload of a FeatureCollection memoised by :func:`area_features` is memoised too
    (treat both as read-only).
    """
    memo = _memo_get(_PAYLOAD_MEMO, id(features))
    if memo is not None and memo[0] is features:
        return memo[1]
    text = _pack_collection(features)
    if any(features is fc for fc in list(_FEATURES_MEMO.values())):
        _memo_put(_PAYLOAD_MEMO, id(features), (features, text))  # type: ignore[arg-type]
    return text


def _pack_collection(features: Mapping[str, Any]) -> str:
    feats = list(features.get("features", ()))
    n = len(feats)
    keys: dict[str, None] = {}
    for f in feats:
        for k in f.get("properties") or {}:
            keys[k] = None
    keys.pop("fill", None)
    consts: dict[str, Any] = {}
    cols: dict[str, list[Any]] = {}
    bools: list[str] = []
    for k in keys:
        col = [(f.get("properties") or {}).get(k) for f in feats]
        if n and all(c == col[0] for c in col) and col[0] is not None and k != "code":
            consts[k] = col[0]
            continue
        if any(isinstance(c, bool) for c in col):
            bools.append(k)
            col = [None if c is None else int(bool(c)) for c in col]
        cols[k] = col
    palette: dict[str, int] = {}
    fill_idx = []
    for f in feats:
        c = (f.get("properties") or {}).get("fill")
        if c is None:
            fill_idx.append(-1)
        else:
            fill_idx.append(palette.setdefault(c, len(palette)))
    geoms = []
    for f in feats:
        g = f.get("geometry")
        packed = getattr(g, "packed", None) if isinstance(g, _Geometry) else None
        geoms.append(packed if packed is not None else (_pack_geometry_dict(g) or "null"))
    head = json.dumps(
        {
            "n": n,
            "q": _Q,
            "consts": consts,
            "bools": bools,
            "cols": cols,
            "palette": list(palette),
            "fill": fill_idx,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    text = head[:-1] + ',"geom":[' + ",".join(geoms) + "]}"
    return text.replace("</", "<\\/")


# --------------------------------------------------------------------------------------- #
# folium layers
# --------------------------------------------------------------------------------------- #
OUTLINE_PANE: Final = "gridpulseOutlines"
CASES_PANE: Final = "gridpulseCases"

_RUNTIME_JS: Final = """
window.gridpulse = window.gridpulse || {layers: {}};
window.gridpulse.decode = window.gridpulse.decode || function (p) {
    var feats = new Array(p.n), keys = Object.keys(p.cols), bools = {}, i, k;
    for (i = 0; i < p.bools.length; i++) { bools[p.bools[i]] = true; }
    for (i = 0; i < p.n; i++) {
        var props = Object.assign({}, p.consts);
        for (k = 0; k < keys.length; k++) {
            var v = p.cols[keys[k]][i];
            if (v !== null && v !== undefined) { props[keys[k]] = bools[keys[k]] ? v === 1 : v; }
        }
        if (p.fill[i] >= 0) { props.fill = p.palette[p.fill[i]]; }
        var g = p.geom[i], polys = [];
        if (g !== null) {
            for (var a = 0; a < g.length; a++) {
                var rings = [];
                for (var b = 0; b < g[a].length; b++) {
                    var r = g[a][b], out = [], x = 0, y = 0;
                    for (var c = 0; c < r.length; c += 2) {
                        x += r[c]; y += r[c + 1];
                        out.push([x / p.q, y / p.q]);
                    }
                    if (out.length) { out.push(out[0]); }
                    rings.push(out);
                }
                polys.push(rings);
            }
        }
        feats[i] = {
            type: "Feature", id: props.code, properties: props,
            geometry: g === null ? null : (polys.length === 1
                ? {type: "Polygon", coordinates: polys[0]}
                : {type: "MultiPolygon", coordinates: polys})
        };
    }
    return {type: "FeatureCollection", features: feats};
};
window.gridpulse.need = window.gridpulse.need || function (test, js, css, done) {
    var g = window.gridpulse;
    g.loading = g.loading || {};
    if (test()) { done(); return; }
    css.forEach(function (href) {
        if (!document.querySelector('link[href="' + href + '"]')) {
            var l = document.createElement("link");
            l.rel = "stylesheet"; l.href = href;
            document.head.appendChild(l);
        }
    });
    var i = 0;
    (function next() {
        if (i >= js.length) { done(); return; }
        var src = js[i++];
        if (!g.loading[src]) {
            g.loading[src] = new Promise(function (resolve, reject) {
                var s = document.createElement("script");
                s.src = src; s.onload = resolve; s.onerror = reject;
                document.head.appendChild(s);
            });
        }
        g.loading[src].then(next, function () { console.error("gridpulse: cannot load " + src); });
    })();
};
// streamlit-folium adds the layers, then moves the view to the one the page asked for:
// adding the areas after that (a microtask: once the component's synchronous render is
// done) projects and draws them once, not at the base map's view and again at the new one.
window.gridpulse.afterView = window.gridpulse.afterView || function (fn) {
    Promise.resolve().then(fn);
};
window.gridpulse.ready = window.gridpulse.ready || function (name, count) {
    var rec = {count: count, added: performance.now(), painted: null};
    window.gridpulse.layers[name] = rec;
    L.Util.requestAnimFrame(function () {
        L.Util.requestAnimFrame(function () {
            rec.painted = performance.now();
            window.gridpulse.last = name;
        });
    });
};
"""


class _RenderedText(Element):
    """Text that is already rendered: the figure shows it as it is."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _TextMacro(MacroElement):
    """A MacroElement whose rendered macros go into the figure as plain text.

    branca's ``MacroElement.render`` wraps each rendered macro in ``Element(text)``, which
    compiles the text as a new Jinja template. For a layer that embeds its packed payload
    (~100 KB for a district) that cost ~40 ms per layer, and st_folium renders every layer
    twice per script run: ~90 ms before the map could be sent to the browser. The macros
    of this module produce finished JavaScript with nothing left for Jinja, so the text
    goes in as it is. Subclasses keep folium's own ``render`` steps above this one
    (``Layer`` still adds the ``addTo`` statement, ``JSCSSMixin`` its links).
    """

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                getattr(figure, part).add_child(
                    _RenderedText(macro(self, kwargs)), name=self.get_name()
                )
        for element in self._children.values():
            element.render(**kwargs)


class _FillGeoJson(folium.GeoJson, _TextMacro):
    """GeoJson whose style reads ``feature.properties.fill`` in one JS function.

    Embeds the packed payload of :func:`feature_payload` and decodes it in the browser.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        """
        + _RUNTIME_JS
        + """
        var {{ this.get_name() }} = L.geoJson(null, {
            style: function (feature) {
                var s = Object.assign({}, {{ this.base_style|tojson }});
                var p = feature.properties || {};
                if (p.fill) { s.fillColor = p.fill; }
                if (p.low) { Object.assign(s, {{ this.low_style|tojson }}); }
                if (p.selected) { Object.assign(s, {{ this.selected_style|tojson }}); }
                return s;
            },
            ...{{ this.options|tojavascript }}
        });
        {%- if this.highlight_style %}
        // one pair of listeners on the group (child events bubble up), not two per feature
        {{ this.get_name() }}.on({
            mouseover: function (e) {
                e.layer.setStyle({{ this.highlight_style|tojson }});
                if (e.layer.bringToFront) { e.layer.bringToFront(); }
            },
            mouseout: function (e) { {{ this.get_name() }}.resetStyle(e.layer); }
        });
        {%- endif %}
        var {{ this.get_name() }}_packed = {{ this.payload }};
        window.gridpulse.afterView(function () {
            {{ this.get_name() }}.addData(window.gridpulse.decode({{ this.get_name() }}_packed));
            window.gridpulse.ready({{ this.layer_key|tojson }}, {{ this.feature_count }});
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict,
        *,
        layer_key: str,
        base_style: Mapping[str, Any],
        low_style: Mapping[str, Any] | None = None,
        selected_style: Mapping[str, Any] | None = None,
        highlight_style: Mapping[str, Any] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(data, name=name, **kwargs)
        self._name = "GeoJson"
        self.layer_key = layer_key
        self.base_style = dict(base_style)
        self.low_style = dict(low_style or {})
        self.selected_style = dict(selected_style or {})
        self.highlight_style = dict(highlight_style) if highlight_style else None
        self.feature_count = len(data.get("features", ()))
        self.payload = feature_payload(data)

    def _get_self_bounds(self) -> list[list[float | None]]:
        bbox = self.data.get("bbox")
        if bbox:
            return [[bbox[1], bbox[0]], [bbox[3], bbox[2]]]
        return [[None, None], [None, None]]


_CHORO_STYLE: Final = {
    "color": "#ffffff",
    "weight": 0.8,
    "opacity": 1.0,
    "fillOpacity": 0.78,
    "fillColor": NO_VALUE_COLOR,
}
_LOW_STYLE: Final = {"dashArray": "3 3", "color": "#888888", "fillOpacity": 0.6}
_HIGHLIGHT_STYLE: Final = {"weight": 3, "color": "#222222", "fillOpacity": 0.9}
_SELECTED_STYLE: Final = {"weight": 3.5, "color": "#1f1f1f", "dashArray": None}


def _default_tooltip(fc: Mapping[str, Any], lang: str) -> list[tuple[str, str]]:
    first = fc["features"][0]["properties"] if fc.get("features") else {}
    return [(k, _text(k, lang)) for k in ("name", "value", "fraction", "code") if k in first]


def choropleth_layer(
    *,
    features: dict,
    name: str,
    tooltip: Sequence[tuple[str, str]] | None = None,
    lang: str = "zh",
    style: Mapping[str, Any] | None = None,
    highlight: Mapping[str, Any] | None = None,
    show: bool = True,
) -> folium.FeatureGroup:
    """The filled areas, coloured by ``properties.fill``, for ``feature_group_to_add``.

    Parameters
    ----------
    features : dict
        From :func:`area_features`.
    name : str
        Layer name; also the key of ``window.gridpulse.layers`` (use e.g.
        ``f"{level}:{metric}"``).
    tooltip : sequence of (property, label), optional
        Tooltip rows (GeoJsonTooltip), e.g. ``[("name", "社区"), ("value", "办结率"),
        ("fraction", "结案数 / 应结案数"), ("code", "编码")]``. Default: name, value,
        fraction (when present) and code with generic labels in ``lang``.
    style, highlight : mapping, optional
        Leaflet path options overriding the defaults (white 0.8 px borders, fill opacity
        0.78; hover: 3 px dark border). Low-volume areas get a dashed grey border.
    show : bool
        Whether the layer starts visible.

    Returns
    -------
    folium.FeatureGroup
        Pass it (in a list) as ``st_folium(..., feature_group_to_add=...)``.
    """
    group = folium.FeatureGroup(name=name, show=show)
    gj = _FillGeoJson(
        features,
        layer_key=name,
        base_style={**_CHORO_STYLE, **(style or {})},
        low_style=_LOW_STYLE,
        selected_style=_SELECTED_STYLE,
        highlight_style={**_HIGHLIGHT_STYLE, **(highlight or {})},
        name=name,
    )
    if features.get("features"):
        rows = list(tooltip) if tooltip is not None else _default_tooltip(features, lang)
        first = features["features"][0]["properties"]
        rows = [(k, label) for k, label in rows if k in first]
        if rows:
            folium.GeoJsonTooltip(
                fields=[k for k, _ in rows],
                aliases=[label for _, label in rows],
                sticky=True,
                labels=True,
            ).add_to(gj)
    gj.add_to(group)
    return group


class _Legend(_TextMacro):
    """The colour legend as a Leaflet control that comes and goes with its feature group."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = new (L.Layer.extend({
            onAdd: function (map) {
                var html = {{ this.html|tojson }};
                this._control = L.control({position: {{ this.position|tojson }}});
                this._control.onAdd = function () {
                    var box = L.DomUtil.create("div", "gridpulse-legend-box");
                    box.style.cssText = {{ this.box_style|tojson }};
                    box.innerHTML = html;
                    L.DomEvent.disableClickPropagation(box);
                    L.DomEvent.disableScrollPropagation(box);
                    return box;
                };
                this._control.addTo(map);
            },
            onRemove: function () {
                if (this._control) { this._control.remove(); this._control = null; }
            }
        }))();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    box_style: Final = (
        "background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;"
        "box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.35 sans-serif;color:#222"
    )

    def __init__(self, html: str, position: str):
        super().__init__()
        self._name = "Legend"
        self.html = html
        self.position = position


def legend_layer(
    *, scale: Scale, title: str = "", name: str = "legend", position: str = "bottomright"
) -> folium.FeatureGroup:
    """The legend of ``scale`` drawn inside the map, for ``feature_group_to_add``.

    A Leaflet control rather than a Streamlit element beside the map: it stays with the
    map on a projector and in a screenshot, and the page loads no HTML-markdown code for
    it. It is replaced with the other layers when the metric changes.
    """
    group = folium.FeatureGroup(name=name, control=False)
    _Legend(scale.to_html(title=title), position).add_to(group)
    return group


def outline_layer(
    *,
    features: dict,
    name: str,
    color: str = "#333333",
    weight: float = 2.2,
    opacity: float = 0.9,
    dash_array: str | None = None,
) -> folium.FeatureGroup:
    """Boundaries of a higher level over the choropleth: no fill, thicker, not interactive.

    Drawn in the :data:`OUTLINE_PANE` pane (created by :func:`base_map`, above the
    choropleth, ignores the mouse), so clicks and tooltips reach the areas below.
    """
    group = folium.FeatureGroup(name=name)
    style: dict[str, Any] = {
        "fill": False,
        "color": color,
        "weight": weight,
        "opacity": opacity,
    }
    if dash_array:
        style["dashArray"] = dash_array
    _FillGeoJson(
        features,
        layer_key=name,
        base_style=style,
        name=name,
        interactive=False,
        pane=OUTLINE_PANE,
    ).add_to(group)
    return group


# --------------------------------------------------------------------------------------- #
# cases
# --------------------------------------------------------------------------------------- #
_CLUSTER_JS: Final = (
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js"
)
_CLUSTER_CSS: Final = (
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",
)
_HEAT_JS: Final = "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js"


def _local(url: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/{LOCAL_ASSETS[url]}"


class _CasePoints(_TextMacro):
    """Circle markers from one JSON array; optionally in a marker cluster group.

    Leaflet.markercluster is loaded on demand from the app (``gridpulse.need``):
    streamlit-folium loads a map's scripts only when it first mounts the map, and this
    layer usually arrives later through ``feature_group_to_add``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        """
        + _RUNTIME_JS
        + """
        var {{ this.get_name() }} = L.featureGroup();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        window.gridpulse.need(
            function () { return {{ 'typeof L.markerClusterGroup === "function"' if this.cluster else 'true' }}; },
            {{ this.js|tojson }}, {{ this.css|tojson }},
            function () {
                var rows = {{ this.rows }};
                var open = {{ this.open_style|tojson }}, overdue = {{ this.overdue_style|tojson }};
                var fresh = {{ this.new_style|tojson }};
                var markers = new Array(rows.length);
                for (var i = 0; i < rows.length; i++) {
                    var r = rows[i];
                    var opts = Object.assign({pane: {{ this.pane|tojson }}}, r[2] ? overdue : open);
                    if (r[4]) { Object.assign(opts, fresh); }
                    opts.gpOverdue = r[2] === 1;
                    var m = L.circleMarker([r[0], r[1]], opts);
                    if (r[3]) { m.bindTooltip(r[3]); }
                    markers[i] = m;
                }
                {%- if this.cluster %}
                var group = L.markerClusterGroup({
                    chunkedLoading: true,
                    showCoverageOnHover: false,
                    maxClusterRadius: {{ this.cluster_radius }},
                    iconCreateFunction: function (cluster) {
                        var ms = cluster.getAllChildMarkers(), n = ms.length, o = 0;
                        for (var j = 0; j < ms.length; j++) { if (ms[j].options.gpOverdue) { o++; } }
                        var size = n < 10 ? "small" : (n < 100 ? "medium" : "large");
                        var style = o ? ' style="background-color:rgba(215,25,28,0.85);color:#fff"' : "";
                        return new L.DivIcon({
                            html: "<div" + style + "><span>" + n + "</span></div>",
                            className: "marker-cluster marker-cluster-" + size,
                            iconSize: new L.Point(40, 40)
                        });
                    }
                });
                group.addLayers(markers);
                {{ this.get_name() }}.addLayer(group);
                {%- else %}
                for (var k = 0; k < markers.length; k++) { {{ this.get_name() }}.addLayer(markers[k]); }
                {%- endif %}
                window.gridpulse.ready({{ this.layer_key|tojson }}, rows.length);
            }
        );
        {% endmacro %}
        """
    )

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
        self.rows = rows
        self.layer_key = layer_key
        self.cluster = cluster
        self.cluster_radius = int(cluster_radius)
        self.pane = CASES_PANE
        self.js = [_local(_CLUSTER_JS, base_url)] if cluster else []
        self.css = [_local(u, base_url) for u in _CLUSTER_CSS] if cluster else []
        self.open_style = {
            "radius": 5,
            "color": "#ffffff",
            "weight": 1,
            "fillColor": "#2b83ba",
            "fillOpacity": 0.9,
        }
        self.overdue_style = {
            "radius": 6,
            "color": "#ffffff",
            "weight": 1,
            "fillColor": "#d7191c",
            "fillOpacity": 0.95,
        }
        self.new_style = {"color": "#ffd700", "weight": 3, "radius": 8}


class _CaseHeat(_TextMacro):
    """A Leaflet.heat layer; the plugin is loaded on demand like :class:`_CasePoints`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        """
        + _RUNTIME_JS
        + """
        var {{ this.get_name() }} = L.featureGroup();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        window.gridpulse.need(
            function () { return typeof L.heatLayer === "function"; },
            {{ this.js|tojson }}, [],
            function () {
                var data = {{ this.data }};
                {{ this.get_name() }}.addLayer(L.heatLayer(data, {{ this.options|tojson }}));
                window.gridpulse.ready({{ this.layer_key|tojson }}, data.length);
            }
        );
        {% endmacro %}
        """
    )

    def __init__(self, data: str, *, layer_key: str, options: Mapping[str, Any], base_url: str):
        super().__init__()
        self._name = "CaseHeat"
        self.data = data
        self.layer_key = layer_key
        self.options = dict(options)
        self.js = [_local(_HEAT_JS, base_url)]


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
    frame = cases.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null())
    frame = frame.with_columns(
        _bool_column(frame, overdue_column).alias("__overdue"),
        _bool_column(frame, new_column).alias("__new"),
    )
    if max_points is not None and frame.height > max_points:
        frame = frame.sort(["__new", "__overdue"], descending=True).head(max_points)
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
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    group = folium.FeatureGroup(name=name)
    _CasePoints(text, layer_key=name, cluster=cluster, base_url=base_url).add_to(group)
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
    frame = cases.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null())
    lon, lat = _case_lonlat(frame, crs)
    if weight_column and weight_column in frame.columns:
        w = frame[weight_column].cast(pl.Float64).fill_null(1.0).to_numpy()
        data = np.column_stack([lat, lon, w]).tolist()
    else:
        data = np.column_stack([lat, lon]).tolist()
    text = json.dumps(data, separators=(",", ":"))
    group = folium.FeatureGroup(name=name)
    _CaseHeat(
        text,
        layer_key=name,
        options={"radius": radius, "blur": blur, "minOpacity": min_opacity, "maxZoom": max_zoom},
        base_url=base_url,
    ).add_to(group)
    return use_local_assets(group, base_url=base_url)


# --------------------------------------------------------------------------------------- #
# base map
# --------------------------------------------------------------------------------------- #
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


def base_layer_crs(base_layer: str, *, tile_crs: str | None = None) -> str:
    """The CRS the feature builders must use over ``base_layer`` ("wgs84" or "gcj02").

    ``tile_crs`` overrides it for a ``custom`` tile server that serves GCJ-02 tiles.
    """
    if base_layer not in BASE_LAYERS:
        raise ValueError(f"base_layer must be one of {', '.join(BASE_LAYERS)}, got {base_layer!r}")
    if tile_crs is not None:
        if tile_crs not in ("wgs84", "gcj02"):
            raise ValueError(f"tile_crs must be 'wgs84' or 'gcj02', got {tile_crs!r}")
        return tile_crs
    return BASE_LAYERS[base_layer].crs


class _PluginAssets(JSCSSMixin, _TextMacro):
    """Loads the vendored Leaflet.markercluster and Leaflet.heat with the base map."""

    default_js = [*folium.plugins.MarkerCluster.default_js, *folium.plugins.HeatMap.default_js]
    default_css = list(folium.plugins.MarkerCluster.default_css)
    _template = Template("{% macro script(this, kwargs) %}{% endmacro %}")

    def __init__(self) -> None:
        super().__init__()
        self._name = "PluginAssets"


class _Background(_TextMacro):
    """The plain background colour and a metric-only scale bar."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.getContainer().style.background = {{ this.color|tojson }};
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, color: str):
        super().__init__()
        self._name = "Background"
        self.color = color


class _NoMountRerun(_TextMacro):
    """Stops streamlit-folium (0.27) from rerunning the whole script once per page load.

    When the map mounts, the component compares its click state with the ``default`` value
    sent from Python and reports it to Streamlit if they differ. Python's default has
    ``last_object_clicked_count: None`` but the browser starts the counter at ``0``, so
    every page load (and every viewer) cost one extra script run, sent while the polygons
    were being drawn. Starting the counter at ``null`` makes the two equal; the first click
    still counts as 1 (``null + 1``), so clicks are recognised as before. The map script
    runs after the component has set up ``__GLOBAL_DATA__`` and before it first reports.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        if (window.__GLOBAL_DATA__ && window.__GLOBAL_DATA__.last_object_clicked_count === 0) {
            window.__GLOBAL_DATA__.last_object_clicked_count = null;
        }
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "NoMountRerun"


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
        The district outline (:func:`outline_features`), drawn below everything.
    plugins : bool, default False
        Preload the vendored marker-cluster and heat plugins with the map. Not needed for
        the case layers of this module (they load them on demand); only for other folium
        plugin layers passed later through ``feature_group_to_add`` (streamlit-folium
        loads a map's scripts only when it first mounts it).
    base_url : str
        Where ``assets/vendor`` is served (:func:`geo.offline.static_base_url`).

    Returns
    -------
    folium.Map
        Canvas rendering (``prefer_canvas``), ``max_zoom`` set (no tile layer to take it
        from), panes :data:`OUTLINE_PANE` and :data:`CASES_PANE`, already passed through
        :func:`geo.offline.use_local_assets`.

    Raises
    ------
    ValueError
        For an unknown base layer, or a missing key / tile URL.
    """
    spec = BASE_LAYERS.get(base_layer)
    if spec is None:
        raise ValueError(f"base_layer must be one of {', '.join(BASE_LAYERS)}, got {base_layer!r}")
    center, zoom = view_for_bounds(bounds, width=width, height=height, max_zoom=max_zoom)
    m = folium.Map(
        location=list(center),
        zoom_start=zoom,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,  # folium's scale bar also shows miles; a metric one is added below
        max_zoom=max_zoom,
        min_zoom=min_zoom,
        zoom_snap=0.5,
    )
    m.options["max_zoom"] = max_zoom  # MarkerCluster needs it when there is no tile layer
    # jQuery serves only folium's Popup/keep_in_front, which these maps do not use: one
    # script less to load, one after the other, before the map can draw.
    m.default_js = [(n, u) for n, u in m.default_js if "jquery" not in u.lower()]
    _Background(background).add_to(m)
    _NoMountRerun().add_to(m)
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
    folium.map.CustomPane(OUTLINE_PANE, z_index=450, pointer_events=False).add_to(m)
    folium.map.CustomPane(CASES_PANE, z_index=460, pointer_events=True).add_to(m)
    if plugins:
        _PluginAssets().add_to(m)
    if outline is not None and outline.get("features"):
        _FillGeoJson(
            outline,
            layer_key="base-outline",
            base_style={
                "color": outline_color,
                "weight": 2.5,
                "opacity": 1.0,
                "fill": True,
                "fillColor": "#ffffff",
                "fillOpacity": 0.6,
            },
            name="base-outline",
            interactive=False,
        ).add_to(m)
    return use_local_assets(m, base_url=base_url)
