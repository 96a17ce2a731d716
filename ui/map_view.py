"""The grid map as a Streamlit widget, shared by the Map page and the Overview.

Assembles what the map shows (area rows and legend from data_layer/queries/map_values.py
and map_legend.py), builds the stable base map and the changing layers (the legend is one
of them, drawn inside the map) with geo/maps, and turns clicks into filter changes with
geo/selection.py.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import polars as pl
import streamlit as st
from streamlit_folium import st_folium

import data_layer.settings
from data_layer.domain import areas
from data_layer.domain.filters import Filter
from data_layer.queries.map_legend import color_scale
from data_layer.queries.map_values import area_rows, tooltip_rows
from geo import maps
from geo.maps.features import AREA_COLUMNS
from geo.selection import RETURNED_OBJECTS, Selection, apply_click, effective_level
from geo.simplify import TOLERANCE_M
from ui import state
from ui.i18n import lang, metric_formula, metric_label, t

if TYPE_CHECKING:
    import datetime as dt

    import folium

    from data_layer.storage.source import Dataset

GRID_PARAM = "grid"  # URL key of the grid a click selected (the map page keeps it)
MAX_FEATURES = 5_000
MAP_WIDTH_HINT = 760  # a conservative map column width; only sets the initial zoom (fit the areas)


BOUNDARY_TABLES = ("streets", "communities", "grids")


def geometry_version(ds: Dataset) -> tuple:
    """The part of the data version the map's geometry depends on: the boundary tables'
    stamps. A live feed or an import of cases makes a new data version every few seconds
    without touching a boundary; keyed by the whole version, every live refresh simplified
    and packed every boundary again (issue #16)."""
    kept = tuple(
        stamp
        for stamp in ds.version
        if isinstance(stamp, tuple) and stamp and stamp[0] in BOUNDARY_TABLES
    )
    return kept or ds.version


def base_layer_settings() -> dict:
    """Base map from the environment: none (default), tianditu, amap or custom."""
    return dataclasses.asdict(data_layer.settings.base_map())


def warm_geometry(ds: Dataset) -> None:
    """Simplify and pack what a first map of the whole ``ds`` draws — the streets' outline,
    the areas of the level of detail and their outlines one level up — into the geometry
    cache (``state.preload``: at province ~0.5-1 s that the first page no longer waits for).
    The cache is per level, so a map of fewer areas of that level finds it too."""
    crs = maps.base_layer_crs(base_layer_settings()["base_layer"])
    version = geometry_version(ds)
    streets = maps.level_geometries(ds, level="street")
    maps.dissolved_features(geometries=streets, level="street", version=version, crs=crs)
    counts = {level: maps.level_geometries(ds, level=level).height for level in areas.LEVELS}
    level = effective_level(Selection(level="community"), counts=counts, max_features=MAX_FEATURES)
    no_rows = pl.DataFrame(schema=dict.fromkeys(AREA_COLUMNS, pl.String))
    geometries = maps.level_geometries(ds, level=level)
    maps.area_features(geometries=geometries, areas=no_rows, level=level, version=version, crs=crs)
    if level != "street":
        outline = "street" if level == "community" else "community"
        maps.outline_features(
            geometries=maps.level_geometries(ds, level=outline),
            level=outline,
            codes=[],
            version=version,
            crs=crs,
            tolerance_m=TOLERANCE_M[level],
        )


def grid_map(
    flt: Filter,
    selection: Selection,
    *,
    metric: str,
    cases_layer: str = "none",
    key: str,
    height: int = 620,
) -> None:
    """Draw the map of ``selection`` coloured by ``metric``; a click drills down.

    Call it inside a fragment that refreshes: the base map is the same every run, the
    layers change only when the data or the choice changes, so the map does not remount.
    """
    window = state.window(flt)
    since = st.session_state.get(f"_{key}_last_as_of")
    ds = state.dataset()
    level = _level_shown(flt, selection)
    values = state.kpis(flt, by=level, win=window)
    with state.working("spinner.map"):  # the geometry of a new data version: simplified once
        settings = base_layer_settings()
        crs = maps.base_layer_crs(settings["base_layer"])
        streets = maps.level_geometries(ds, level="street")
        district = maps.dissolved_features(
            geometries=streets, level="street", version=geometry_version(ds), crs=crs
        )
        base = maps.base_map(bounds=district["bbox"], outline=district, height=height, **settings)
        scale = color_scale(metric=metric, values=values, lang=lang())
        features = maps.area_features(
            geometries=maps.level_geometries(ds, level=level),
            areas=area_rows(values=values, metric=metric, scale=scale, lang=lang()),
            level=level,
            version=geometry_version(ds),
            crs=crs,
            selected=[selection.grid] if selection.grid else [],
        )
        layers = [
            maps.choropleth_layer(
                features=features, name=f"{level}:{metric}", tooltip=tooltip_rows(lang())
            )
        ]
        if level != "street":
            layers.append(_outline_layer(ds, values=values, level=level, crs=crs))
        points = None
        if cases_layer != "none":
            points = state.case_points(flt, win=window, since=since)
            layers.append(_case_layer(points, kind=cases_layer, crs=crs))
        layers.append(maps.legend_layer(scale=scale, title=metric_label(metric)))
        center, zoom = maps.view_for_bounds(
            features.get("bbox") or district["bbox"], width=MAP_WIDTH_HINT, height=height
        )

    returned = st_folium(
        base,
        key=key,
        center=center,
        zoom=zoom,
        height=height,
        use_container_width=True,
        feature_group_to_add=layers,
        returned_objects=list(RETURNED_OBJECTS),
    )
    _notes(metric, points=points, cases_layer=cases_layer, since=since)
    st.session_state[f"_{key}_last_as_of"] = window.as_of
    _follow_click(returned, selection=selection, level=level, key=key)


def _level_shown(flt: Filter, selection: Selection) -> str:
    """The level drawn (level of detail), with a note when it is not the one asked for."""
    counts = state.area_counts(flt)
    level = effective_level(selection, counts=counts, max_features=MAX_FEATURES)
    if level != selection.level:
        st.info(
            t(
                "map.lod",
                level=t(f"map.level.{selection.level}"),
                n=counts[selection.level],
                shown=t(f"map.level.{level}"),
            )
        )
    return level


def _outline_layer(
    ds: Dataset, *, values: pl.DataFrame, level: str, crs: str
) -> folium.FeatureGroup:
    """The boundaries of the areas one level up, over the areas of ``level``."""
    outline_level = "street" if level == "community" else "community"
    outlines = maps.outline_features(
        geometries=maps.level_geometries(ds, level=outline_level),
        level=outline_level,
        codes=values["code"]
        .str.slice(0, 9 if outline_level == "street" else 12)
        .unique()
        .to_list(),
        version=geometry_version(ds),
        crs=crs,
        tolerance_m=TOLERANCE_M[level],
    )
    return maps.outline_layer(features=outlines, name=f"{outline_level}-outlines")


def _case_layer(points: pl.DataFrame, *, kind: str, crs: str) -> folium.FeatureGroup:
    """Open cases as points (new ones ringed) or as a heat map."""
    if kind == "points":
        return maps.case_points_layer(cases=points, name="cases", new_column="new", crs=crs)
    return maps.case_heat_layer(cases=points, name="case-heat", crs=crs)


def _notes(
    metric: str, *, points: pl.DataFrame | None, cases_layer: str, since: dt.datetime | None
) -> None:
    """The metric's definition and the case counts under the map; new cases announced."""
    label, formula = metric_label(metric), metric_formula(metric)
    notes = [
        formula if formula.startswith(label) else t("map.definition", label=label, formula=formula)
    ]
    if points is not None:
        notes.append(t("map.open_cases", n=points.height, overdue=int(points["overdue"].sum())))
        if cases_layer == "points":
            notes.append(t("map.case_layer_note"))
    st.caption(" · ".join(notes))
    fresh = int(points["new"].sum()) if points is not None and since else 0
    if fresh:
        st.success(t("map.new_cases", n=fresh))


def _follow_click(
    returned: dict[str, Any] | None, *, selection: Selection, level: str, key: str
) -> None:
    """A click on an area drills down: a grid goes to the URL, other levels to the filter."""
    click = apply_click(
        returned=returned,
        selection=selection,
        last_token=st.session_state.get(f"_{key}_click"),
        shown_level=level,
    )
    st.session_state[f"_{key}_click"] = click.token
    if click.changed:
        new = click.selection
        if new.grid:
            st.query_params[GRID_PARAM] = new.grid
            st.rerun(scope="app")
        st.session_state[state.SessionKey.MAP_LEVEL] = new.level
        state.request_areas(streets=new.streets, communities=new.communities)
