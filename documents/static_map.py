"""A static choropleth of one metric by community, as a PNG — no browser, no tiles.

The meeting briefing (PPTX, PDF and the projector slide) needs the map as a picture. This
module draws the communities in scope with matplotlib in the same colour classes as the live
map (``data_layer.queries.map_legend.color_scale``), with the street offices outlined, a
legend, a north arrow and a scale bar. Text uses the CJK font the project ships
(assets/fonts/), so Chinese labels render on any machine.

Drawing is split in two so that a re-render costs little (issue #16):

- :func:`outline` — the communities projected (azimuthal equidistant around them: true north
  up, metres) and turned into ready matplotlib paths, the street outlines and the district's
  edge, built once per boundary version and selection of communities (``geometry_version``)
  and kept in a small in-process cache;
- :func:`picture` — what the values make of it: the communities drawn, their names and class
  colours, the legend. Cheap, hashable: with the boundary version it determines the PNG, so
  the page caches the image by it (another meeting, as-of or viewer with the same colours
  reuses it).

The paths are those geopandas' ``GeoDataFrame.plot`` drew before (normalised rings, one
compound path per community, one PatchCollection; the outlines one LineCollection), without
the two full figure draws that ``.plot`` makes on the way, so the PNG is the same bytes as
before.

Every text artist is drawn with ``parse_math=False``: matplotlib otherwise reads ``$…$`` as
mathtext, and an area named ``$x_{$`` made ``savefig`` raise, which took down the briefing of
the whole district. Names are data, shown as they are.
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import shapely

from data_layer.domain import metrics
from data_layer.domain.areas import codes_of
from data_layer.domain.labels import lookup
from data_layer.queries.map_legend import color_scale
from data_layer.queries.map_values import low_volume_mask
from documents.fonts import matplotlib_family
from geo import maps

MAX_LABELS = 40  # community names are written on the map up to this many communities
AREA_EDGE = {"edgecolor": "#ffffff", "linewidth": 0.8}
STREET_EDGE = {"color": "#374151", "linewidth": 1.4}
DISTRICT_EDGE = {"color": "#111827", "linewidth": 2.2}
_OUTLINES_KEPT = 8


@dataclass(frozen=True)
class Picture:
    """Everything the PNG shows besides the boundaries: hashable, the image's cache key
    together with the boundary version."""

    metric: str
    lang: str
    codes: tuple[str, ...]  # the communities drawn, in drawing order
    names: tuple[str, ...]
    colors: tuple[str, ...]
    legend: tuple[tuple[str, str], ...]  # (colour, label) of each legend entry
    size: tuple[float, float, int]  # width and height in inches, dpi


@dataclass(frozen=True)
class Outline:
    """The projected communities and streets of one selection, ready to draw."""

    paths: tuple[Any, ...]  # matplotlib Path of each polygonal part drawn
    owners: np.ndarray  # the community (position in the selection) of each path
    points: tuple[tuple[float, float] | None, ...]  # label point of each community
    bounds: tuple[float, float, float, float]  # of the projected communities
    street_lines: tuple[np.ndarray, ...]  # street boundary segments
    district_xy: tuple[list[float], list[float]] | None


class _Memo:
    """A small least-recently-used mapping; a missing value is built once, under the lock
    (viewers' scripts run in threads)."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_or_build(self, key: Hashable, build) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = build()
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_OUTLINES = _Memo(_OUTLINES_KEPT)


def clear_outline_cache() -> None:
    """Forget the projected outlines (tests, free memory)."""
    _OUTLINES.clear()


def _projected(geoms, lon0: float, lat0: float) -> np.ndarray:
    import geopandas as gpd

    frame = gpd.GeoDataFrame(geometry=list(geoms), crs="EPSG:4326")
    # azimuthal equidistant around the district: true north up, metres, no distortion here
    crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
    return frame.to_crs(crs).geometry.to_numpy()


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    power = 10 ** math.floor(math.log10(target)) if target > 0 else 1
    for step in (1, 2, 5, 10):
        if step * power >= target:
            return step * power
    return 10 * power


def _selection(tables: Mapping[str, pl.DataFrame], values: pl.DataFrame, metric: str):
    """The communities drawn (``code``, ``geometry``, ``name``, the metric and its
    denominator), in drawing order."""
    m = metrics.METRICS[metric]
    return maps.level_geometries(tables, level="community").join(
        values.select("code", "name", metric, *([m.denominator] if m.is_rate else [])),
        on="code",
        how="inner",
    )


def picture(
    tables: Mapping[str, pl.DataFrame],
    values: pl.DataFrame,
    *,
    metric: str = "closure_rate",
    lang: str = "zh",
    width_in: float = 8.0,
    height_in: float = 6.0,
    dpi: int = 150,
) -> Picture:
    """What :func:`choropleth_png` draws of ``values``, boundaries aside (cheap: no drawing).

    Same parameters as :func:`choropleth_png`; equal pictures over the same boundaries make
    the same PNG.
    """
    return _picture(
        _selection(tables, values, metric),
        values,
        metric=metric,
        lang=lang,
        size=(float(width_in), float(height_in), int(dpi)),
    )


def _picture(
    geometry: pl.DataFrame,
    values: pl.DataFrame,
    *,
    metric: str,
    lang: str,
    size: tuple[float, float, int],
) -> Picture:
    scale = color_scale(metric=metric, values=values, lang=lang)
    colors = scale.colors_for(geometry[metric].to_list(), low_volume_mask(geometry, metric))
    return Picture(
        metric=metric,
        lang=lang,
        codes=tuple(geometry["code"].cast(pl.String).to_list()),
        names=tuple(str(n) for n in geometry["name"].to_list()),
        colors=tuple(str(c) for c in colors),
        legend=tuple((e.color, e.label) for e in scale.entries),
        size=size,
    )


def outline(
    tables: Mapping[str, pl.DataFrame],
    geometry: pl.DataFrame,
    *,
    geometry_version: Hashable | None = None,
) -> Outline:
    """The communities of ``geometry`` (``code``, ``geometry`` as WKB, WGS 84) projected and
    made into paths, with their streets' outlines; cached per ``geometry_version`` (the
    boundary tables' stamps; None: built, not cached) and the codes drawn."""
    if geometry_version is None:
        return _outline(tables, geometry)
    codes = tuple(geometry["code"].cast(pl.String).to_list())
    return _OUTLINES.get_or_build(
        (geometry_version, hash(codes), codes), lambda: _outline(tables, geometry)
    )


def _outline(tables: Mapping[str, pl.DataFrame], geometry: pl.DataFrame) -> Outline:
    from matplotlib.path import Path

    shapes = shapely.from_wkb(geometry["geometry"].to_list())
    bounds = shapely.total_bounds(shapes)
    centre = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    areas = _projected(shapes, *centre)
    paths, owners = [], []
    # as geopandas draws them: normalised, collections taken apart, one compound path of
    # exterior and holes per polygon or multipolygon
    for i, geom in enumerate(shapely.normalize(areas)):
        parts = geom.geoms if geom is not None and geom.geom_type.startswith("Geom") else [geom]
        for part in parts:
            if part is None or part.geom_type not in ("Polygon", "MultiPolygon"):
                continue
            rings = []
            for poly in getattr(part, "geoms", [part]):
                rings.append(Path(np.asarray(poly.exterior.coords)[:, :2], closed=True))
                rings.extend(Path(np.asarray(r.coords)[:, :2], closed=True) for r in poly.interiors)
            paths.append(Path.make_compound_path(*rings))
            owners.append(i)
    points = tuple(
        None if p is None or p.is_empty else (p.x, p.y) for p in shapely.point_on_surface(areas)
    )
    lines, district = _street_outline(tables, codes=geometry["code"], centre=centre)
    return Outline(
        paths=tuple(paths),
        owners=np.asarray(owners, dtype=np.int64),
        points=points,
        bounds=tuple(float(b) for b in shapely.total_bounds(areas)),  # type: ignore[arg-type]
        street_lines=lines,
        district_xy=district,
    )


def _street_outline(tables: Mapping[str, pl.DataFrame], *, codes: pl.Series, centre):
    """The boundary segments of the communities' street offices, and the district's edge."""
    street_codes = codes_of(codes, level="street").unique().to_list()
    streets = maps.level_geometries(tables, level="street").filter(
        pl.col("code").is_in(street_codes)
    )
    if streets.is_empty():
        return (), None
    projected = _projected(shapely.from_wkb(streets["geometry"].to_list()), *centre)
    boundaries = shapely.normalize(shapely.boundary(projected))
    lines = tuple(
        np.asarray(line.coords)[:, :2]
        for line in shapely.get_parts(boundaries)
        if line.geom_type in ("LineString", "LinearRing")
    )
    return lines, _boundary_xy(shapely.union_all(projected))


def choropleth_png(
    tables: Mapping[str, pl.DataFrame],
    values: pl.DataFrame,
    *,
    metric: str = "closure_rate",
    lang: str = "zh",
    width_in: float = 8.0,
    height_in: float = 6.0,
    dpi: int = 150,
    geometry_version: Hashable | None = None,
) -> bytes:
    """PNG of ``metric`` per community.

    Parameters
    ----------
    tables : mapping of table name to polars.DataFrame
        A ``Dataset``: the ``communities`` and ``streets`` geometries (WKB, WGS 84).
    values : polars.DataFrame
        ``queries.kpis(..., by="community")``: the communities drawn and their values
        (the rate's denominator column flags low volume, as on the live map).
    metric : str
        A key of ``data_layer.domain.metrics.METRICS``.
    lang : {"zh", "en"}
        Language of the legend and the north arrow.
    geometry_version : hashable, optional
        The boundary tables' version: the projected outlines are kept per version and
        selection (None: projected again).

    Returns
    -------
    bytes
        A PNG image.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    family = matplotlib_family()
    geometry = _selection(tables, values, metric)
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=dpi)
    ax.set_axis_off()
    if geometry.is_empty():
        ax.text(
            0.5, 0.5, "—", ha="center", va="center", fontsize=24, family=family, parse_math=False
        )
        return _png(fig, plt)
    pic = _picture(geometry, values, metric=metric, lang=lang, size=(width_in, height_in, dpi))
    shapes = outline(tables, geometry, geometry_version=geometry_version)
    _draw_areas(ax, shapes, colors=pic.colors)
    _draw_streets(ax, shapes)
    if len(pic.codes) <= MAX_LABELS:
        _draw_names(ax, shapes, names=pic.names, family=family)
    _draw_frame_arrow_and_scale_bar(ax, shapes.bounds, lang=lang, family=family)
    _draw_legend(ax, pic.legend, lang=lang, family=family)
    return _png(fig, plt)


def _draw_areas(ax, shapes: Outline, *, colors: tuple[str, ...]) -> None:
    """The communities in their class colours, white borders."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    if not shapes.paths:
        return
    face = [colors[i] for i in shapes.owners]
    patches = [PathPatch(path) for path in shapes.paths]
    ax.add_collection(PatchCollection(patches, facecolor=face, **AREA_EDGE), autolim=True)
    ax.set_aspect("equal")


def _draw_streets(ax, shapes: Outline) -> None:
    """The street offices of the communities outlined, the district's edge thicker."""
    from matplotlib.collections import LineCollection

    if shapes.street_lines:
        ax.add_collection(LineCollection(list(shapes.street_lines), **STREET_EDGE), autolim=True)
    if shapes.district_xy is not None:
        ax.plot(*shapes.district_xy, **DISTRICT_EDGE)


def _draw_names(ax, shapes: Outline, *, names: tuple[str, ...], family: str) -> None:
    for point, name in zip(shapes.points, names, strict=True):
        if point is None:
            continue
        ax.annotate(
            name,
            point,
            ha="center",
            va="center",
            fontsize=7 if len(names) > 15 else 9,
            family=family,
            color="#111827",
            parse_math=False,
        )


def _draw_frame_arrow_and_scale_bar(
    ax, bounds: tuple[float, float, float, float], *, lang: str, family: str
) -> None:
    """Fit the view to the areas (with a margin), then the north arrow and the scale bar."""
    minx, miny, maxx, maxy = bounds
    width, height = maxx - minx, maxy - miny
    pad = max(width, height) * 0.04
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")

    # north arrow (the projection is centred on the district: up is true north)
    ax.annotate(
        lookup("ui", "meeting.map.north", language=lang),
        xy=(0.96, 0.97),
        xytext=(0.96, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=12,
        family=family,
        parse_math=False,
        arrowprops={"facecolor": "#111827", "edgecolor": "#111827", "width": 4, "headwidth": 12},
    )
    # scale bar
    length = _nice_length(width)
    x0, y0 = minx, miny - pad * 0.6
    ax.plot([x0, x0 + length], [y0, y0], color="#111827", linewidth=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(
        x0 + length / 2,
        y0 + pad * 0.25,
        label,
        ha="center",
        va="bottom",
        fontsize=8,
        parse_math=False,
    )


def _draw_legend(ax, entries: tuple[tuple[str, str], ...], *, lang: str, family: str) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=color, edgecolor="#6b7280", label=label) for color, label in entries]
    legend = ax.legend(
        handles=handles,
        title=lookup("ui", "meeting.map.legend", language=lang),
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        prop={"family": family, "size": 10},
        title_fontproperties={"family": family, "size": 11},
    )
    legend._legend_box.align = "left"
    for text in (legend.get_title(), *legend.get_texts()):  # ax.legend takes no parse_math
        text.set_parse_math(False)


def _boundary_xy(geom):
    xs, ys = [], []
    for line in getattr(geom.boundary, "geoms", [geom.boundary]):
        x, y = line.xy
        xs += [*x, math.nan]
        ys += [*y, math.nan]
    return xs, ys


def _png(fig, plt) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()
