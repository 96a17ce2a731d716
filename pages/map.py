"""网格地图 Map: grid boundaries coloured by a metric, drill-down, live case layer."""

from __future__ import annotations

import os

import streamlit as st
from streamlit_folium import st_folium

from geo import maps
from geo.selection import RETURNED_OBJECTS, Selection, apply_click, breadcrumb, effective_level
from geo.simplify import TOLERANCE_M
from ui import state
from ui.i18n import lang, metric_formula, metric_label, t
from ui.widgets import kpi_row

MAP_METRICS = [
    "closure_rate",
    "on_time_rate",
    "overdue_open",
    "satisfaction_rate",
    "reported_per_1k_households",
    "full_time_coverage",
    "party_org_coverage",
    "property_coverage",
    "volunteer_hours_per_1k",
]
LEVELS = ["street", "community", "grid"]
CASE_LAYERS = ["none", "points", "heat"]
MAP_KPIS = ["reported", "closure_rate", "on_time_rate", "overdue_open", "at_risk"]
MAP_HEIGHT = 620
MAP_WIDTH_HINT = 1000  # about the map column on a 1600 px screen; only sets the initial zoom
MAX_FEATURES = 5_000
PREFS = "_map_prefs"


def seed_controls() -> None:
    """Map controls come from the URL (shared link), else from the last visit, else defaults."""
    prefs = st.session_state.setdefault(
        PREFS, {"metric": "closure_rate", "level": "community", "cases": "none"}
    )
    for key, options in (("metric", MAP_METRICS), ("level", LEVELS), ("cases", CASE_LAYERS)):
        widget = f"map_{key}"
        if widget in st.session_state:
            continue
        from_url = st.query_params.get(key)
        st.session_state[widget] = from_url if from_url in options else prefs[key]


def controls() -> tuple[str, str, str]:
    seed_controls()
    left, middle, right = st.columns([3, 3, 3])
    metric = left.selectbox(
        t("map.metric"), MAP_METRICS, key="map_metric", format_func=metric_label
    )
    level = (
        middle.segmented_control(
            t("map.level"), LEVELS, key="map_level", format_func=lambda v: t(f"map.level.{v}")
        )
        or "community"
    )
    cases = (
        right.segmented_control(
            t("map.cases"), CASE_LAYERS, key="map_cases", format_func=lambda v: t(f"map.cases.{v}")
        )
        or "none"
    )
    st.session_state[PREFS] = {"metric": metric, "level": level, "cases": cases}
    st.query_params.update({"metric": metric, "level": level, "cases": cases})
    return metric, level, cases


def breadcrumb_bar(selection: Selection) -> None:
    """全区 › street › community: each crumb but the last goes back up."""
    crumbs = breadcrumb(selection, names=state.area_names(), root=t("map.root"))
    with st.container(horizontal=True, gap="small"):
        for i, crumb in enumerate(crumbs):
            last = i == len(crumbs) - 1
            icon = ":material/chevron_right:" if i else ":material/home:"
            if st.button(crumb.name, key=f"crumb_{i}", disabled=last, type="tertiary", icon=icon):
                streets = (
                    selection.streets if crumb.level in ("street", "community", "grid") else ()
                )
                communities = selection.communities if crumb.level in ("community", "grid") else ()
                st.session_state["map_level"] = {"all": "street", "street": "community"}.get(
                    crumb.level, "grid"
                )
                st.query_params.pop("grid", None)
                state.request_areas(streets=streets, communities=communities)


def base_layer_settings() -> dict:
    """Base map from the environment: none (default), tianditu, amap or custom."""
    return {
        "base_layer": os.environ.get("GRIDPULSE_BASEMAP", "none"),
        "tile_url": os.environ.get("GRIDPULSE_TILE_URL") or None,
        "tianditu_key": os.environ.get("GRIDPULSE_TIANDITU_KEY") or None,
    }


def draw_map(flt, selection: Selection, metric: str, cases_layer: str) -> None:
    """KPIs and the map; refreshed by themselves while the view is live."""

    @st.fragment(run_every=state.refresh_interval(flt))
    def live() -> None:
        window = state.window(flt)
        since = st.session_state.get("_map_last_as_of")
        interval = state.refresh_interval(flt)
        status = (
            t("map.live", seconds=int(interval.total_seconds())) if interval else t("map.frozen")
        )
        st.caption(f"{t('map.as_of', time=window.as_of.strftime('%Y-%m-%d %H:%M:%S'))} · {status}")
        current, previous, _ = state.headline_pair(flt)
        kpi_row(MAP_KPIS, current, previous, window.previous())

        ds = state.dataset()
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
        values = state.kpis(flt, by=level, win=window)
        settings = base_layer_settings()
        crs = maps.base_layer_crs(settings["base_layer"])
        streets = maps.level_geometries(ds, level="street")
        district = maps.dissolved_features(
            geometries=streets, level="street", version=ds.version, crs=crs
        )
        base = maps.base_map(
            bounds=district["bbox"], outline=district, height=MAP_HEIGHT, plugins=True, **settings
        )
        scale = maps.color_scale(metric=metric, values=values, lang=lang())
        features = maps.area_features(
            geometries=maps.level_geometries(ds, level=level),
            values=values,
            metric=metric,
            level=level,
            lang=lang(),
            version=ds.version,
            crs=crs,
            scale=scale,
            selected=[selection.grid] if selection.grid else [],
        )
        layers = [maps.choropleth_layer(features=features, name=f"{level}:{metric}", lang=lang())]
        if level != "street":
            outline_level = "street" if level == "community" else "community"
            outlines = maps.outline_features(
                geometries=maps.level_geometries(ds, level=outline_level),
                level=outline_level,
                codes=values["code"]
                .str.slice(0, 9 if outline_level == "street" else 12)
                .unique()
                .to_list(),
                version=ds.version,
                crs=crs,
                tolerance_m=TOLERANCE_M[level],
            )
            layers.append(maps.outline_layer(features=outlines, name=f"{outline_level}-outlines"))
        points = None
        if cases_layer != "none":
            points = state.case_points(flt, win=window, since=since)
            if cases_layer == "points":
                layers.append(
                    maps.case_points_layer(cases=points, name="cases", new_column="new", crs=crs)
                )
            else:
                layers.append(maps.case_heat_layer(cases=points, name="case-heat", crs=crs))
        center, zoom = maps.view_for_bounds(
            features.get("bbox") or district["bbox"], height=MAP_HEIGHT
        )

        map_col, legend_col = st.columns([5, 1])
        with map_col:
            returned = st_folium(
                base,
                key="grid_map",
                center=center,
                zoom=zoom,
                height=MAP_HEIGHT,
                use_container_width=True,
                feature_group_to_add=layers,
                returned_objects=list(RETURNED_OBJECTS),
            )
        with legend_col:
            st.markdown(f"**{metric_label(metric)}**", help=metric_formula(metric))
            st.markdown(scale.to_html(), unsafe_allow_html=True)
            if points is not None:
                st.caption(
                    t("map.open_cases", n=points.height, overdue=int(points["overdue"].sum()))
                )
                st.caption(t("map.case_layer_note"))
                fresh = int(points["new"].sum()) if since else 0
                if fresh:
                    st.success(t("map.new_cases", n=fresh))
        st.session_state["_map_last_as_of"] = window.as_of

        click = apply_click(
            returned=returned,
            selection=selection,
            last_token=st.session_state.get("_map_click"),
            shown_level=level,
        )
        st.session_state["_map_click"] = click.token
        if click.changed:
            new = click.selection
            if new.grid:
                st.query_params["grid"] = new.grid
                st.rerun(scope="app")
            st.session_state["map_level"] = new.level
            state.request_areas(streets=new.streets, communities=new.communities)

    live()


def body() -> None:
    flt = state.current_filter()
    st.title(t("map.title"))
    metric, level, cases_layer = controls()
    grid = st.query_params.get("grid")
    selection = Selection(level=level, streets=flt.streets, communities=flt.communities, grid=grid)
    breadcrumb_bar(selection)
    if grid:
        st.caption(t("map.grid_selected", name=state.area_names().get(grid, grid), code=grid))
    st.caption(t("map.hint"))
    draw_map(flt, selection, metric, cases_layer)


body()
