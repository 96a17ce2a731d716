"""A static choropleth of one metric by community, as a PNG — no browser, no tiles.

The meeting briefing (PPTX, PDF and the projector slide) needs the map as a picture. This
module draws the communities in scope with geopandas/matplotlib in the same colour classes as
the live map (``data_layer.queries.map_legend.color_scale``), with the street offices outlined, a legend, a north
arrow and a scale bar. Text uses the CJK font the project ships (assets/fonts/), so Chinese
labels render on any machine.

Every text artist is drawn with ``parse_math=False``: matplotlib otherwise reads ``$…$`` as
mathtext, and an area named ``$x_{$`` made ``savefig`` raise, which took down the briefing of
the whole district. Names are data, shown as they are.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

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


def _projected(geoms, lon0: float, lat0: float):
    import geopandas as gpd

    frame = gpd.GeoDataFrame(geometry=list(geoms), crs="EPSG:4326")
    # azimuthal equidistant around the district: true north up, metres, no distortion here
    return frame.to_crs(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m")


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    power = 10 ** math.floor(math.log10(target)) if target > 0 else 1
    for step in (1, 2, 5, 10):
        if step * power >= target:
            return step * power
    return 10 * power


def choropleth_png(
    tables: Mapping[str, pl.DataFrame],
    values: pl.DataFrame,
    *,
    metric: str = "closure_rate",
    lang: str = "zh",
    width_in: float = 8.0,
    height_in: float = 6.0,
    dpi: int = 150,
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

    Returns
    -------
    bytes
        A PNG image.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    family = matplotlib_family()
    scale = color_scale(metric=metric, values=values, lang=lang)
    m = metrics.METRICS[metric]
    geometry = maps.level_geometries(tables, level="community").join(
        values.select("code", "name", metric, *([m.denominator] if m.is_rate else [])),
        on="code",
        how="inner",
    )
    fig, ax = plt.subplots(figsize=(width_in, height_in), dpi=dpi)
    ax.set_axis_off()
    if geometry.is_empty():
        ax.text(
            0.5, 0.5, "—", ha="center", va="center", fontsize=24, family=family, parse_math=False
        )
        return _png(fig, plt)
    areas, centre = _draw_areas(ax, geometry, metric=metric, scale=scale)
    _draw_streets(ax, tables, codes=geometry["code"], centre=centre)
    if len(areas) <= MAX_LABELS:
        _draw_names(ax, areas, names=geometry["name"].to_list(), family=family)
    _draw_frame_arrow_and_scale_bar(ax, areas, lang=lang, family=family)
    _draw_legend(ax, scale, lang=lang, family=family)
    return _png(fig, plt)


def _draw_areas(ax, geometry: pl.DataFrame, *, metric: str, scale: maps.Scale):
    """The communities in their class colours; returns them projected, and the centre."""
    shapes = shapely.from_wkb(geometry["geometry"].to_list())
    bounds = shapely.total_bounds(shapes)
    centre = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    areas = _projected(shapes, *centre)
    areas["color"] = scale.colors_for(geometry[metric].to_list(), low_volume_mask(geometry, metric))
    areas.plot(ax=ax, color=areas["color"], edgecolor="#ffffff", linewidth=0.8)
    return areas, centre


def _draw_streets(
    ax, tables: Mapping[str, pl.DataFrame], *, codes: pl.Series, centre: tuple[float, float]
) -> None:
    """The street offices of the communities outlined, the district's edge thicker."""
    street_codes = codes_of(codes, level="street").unique().to_list()
    streets = maps.level_geometries(tables, level="street").filter(
        pl.col("code").is_in(street_codes)
    )
    if not streets.is_empty():
        outline = _projected(shapely.from_wkb(streets["geometry"].to_list()), *centre)
        outline.boundary.plot(ax=ax, color="#374151", linewidth=1.4)
        district = shapely.union_all(outline.geometry.to_numpy())
        ax.plot(*_boundary_xy(district), color="#111827", linewidth=2.2)


def _draw_names(ax, areas, *, names: list[str], family: str) -> None:
    for point, name in zip(areas.geometry.representative_point(), names, strict=True):
        ax.annotate(
            name,
            (point.x, point.y),
            ha="center",
            va="center",
            fontsize=7 if len(areas) > 15 else 9,
            family=family,
            color="#111827",
            parse_math=False,
        )


def _draw_frame_arrow_and_scale_bar(ax, areas, *, lang: str, family: str) -> None:
    """Fit the view to the areas (with a margin), then the north arrow and the scale bar."""
    minx, miny, maxx, maxy = areas.total_bounds
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


def _draw_legend(ax, scale: maps.Scale, *, lang: str, family: str) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=e.color, edgecolor="#6b7280", label=e.label) for e in scale.entries]
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
