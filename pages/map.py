"""网格地图 Map: grid boundaries coloured by a metric, drill-down, live case layer."""

from __future__ import annotations

import streamlit as st

from data_layer.domain import url_values
from data_layer.domain.areas import DIGITS
from geo.selection import Selection, breadcrumb
from ui import state
from ui.i18n import metric_label, t
from ui.map_view import GRID_PARAM, grid_map
from ui.plain import plain
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
PREFS = "_map_prefs"  # the controls of the last visit (session)
METRIC, LEVEL, CASES = "metric", "level", "cases"  # the controls in the URL
URL_KEYS = (METRIC, LEVEL, CASES, GRID_PARAM)
WIDGETS = {METRIC: "map_metric", LEVEL: state.SessionKey.MAP_LEVEL, CASES: "map_cases"}


def seed_controls() -> None:
    """Map controls come from the URL (shared link), else from the last visit, else defaults."""
    prefs = st.session_state.setdefault(
        PREFS, {METRIC: "closure_rate", LEVEL: "community", CASES: "none"}
    )
    for key, options in ((METRIC, MAP_METRICS), (LEVEL, LEVELS), (CASES, CASE_LAYERS)):
        widget = WIDGETS[key]
        if widget in st.session_state:
            continue
        from_url = url_values.one_choice(st.query_params.get_all(key), options)
        st.session_state[widget] = from_url or prefs[key]


def controls() -> tuple[str, str, str]:
    seed_controls()
    left, middle, right = st.columns([3, 3, 3])
    metric = left.selectbox(
        t("map.metric"), MAP_METRICS, key=WIDGETS[METRIC], format_func=metric_label
    )
    level = (
        middle.segmented_control(
            t("map.level"), LEVELS, key=WIDGETS[LEVEL], format_func=lambda v: t(f"map.level.{v}")
        )
        or "community"
    )
    cases = (
        right.segmented_control(
            t("map.cases"),
            CASE_LAYERS,
            key=WIDGETS[CASES],
            format_func=lambda v: t(f"map.cases.{v}"),
        )
        or "none"
    )
    chosen = {METRIC: metric, LEVEL: level, CASES: cases}
    st.session_state[PREFS] = chosen
    st.query_params.update(chosen)
    return metric, level, cases


def url_grid() -> str | None:
    """The grid a link selected: a code of a known grid, else none (and off the URL)."""
    grid = url_values.one_code(st.query_params.get_all(GRID_PARAM))
    if grid is not None and len(grid) == DIGITS["grid"] and grid in state.area_names():
        return grid
    st.query_params.pop(GRID_PARAM, None)
    return None


def breadcrumb_bar(selection: Selection) -> None:
    """全区 › street › community: each crumb but the last goes back up."""
    crumbs = breadcrumb(selection, names=state.area_names(), root=t("map.root"))
    with st.container(horizontal=True, gap="small"):
        for i, crumb in enumerate(crumbs):
            last = i == len(crumbs) - 1
            icon = ":material/chevron_right:" if i else ":material/home:"
            label = plain(crumb.name)  # area names are data: never Markdown
            if st.button(label, key=f"crumb_{i}", disabled=last, type="tertiary", icon=icon):
                streets = (
                    selection.streets if crumb.level in ("street", "community", "grid") else ()
                )
                communities = selection.communities if crumb.level in ("community", "grid") else ()
                st.session_state[WIDGETS[LEVEL]] = {"all": "street", "street": "community"}.get(
                    crumb.level, "grid"
                )
                st.query_params.pop(GRID_PARAM, None)
                state.request_areas(streets=streets, communities=communities)


def live_map(flt, selection: Selection, metric: str, cases_layer: str) -> None:
    """KPIs and the map, refreshed by themselves while the view is live."""

    @st.fragment(run_every=state.refresh_interval(flt))
    def live() -> None:
        window = state.window(flt)
        interval = state.refresh_interval(flt)
        status = (
            t("map.live", seconds=int(interval.total_seconds())) if interval else t("map.frozen")
        )
        st.caption(f"{t('map.as_of', time=window.as_of.strftime('%Y-%m-%d %H:%M:%S'))} · {status}")
        current, previous, _ = state.headline_pair(flt)
        kpi_row(MAP_KPIS, current, previous, window.previous())
        grid_map(
            flt,
            selection,
            metric=metric,
            cases_layer=cases_layer,
            key="grid_map",
            height=MAP_HEIGHT,
        )

    live()


def body() -> None:
    flt = state.current_filter()
    st.title(t("map.title"))
    metric, level, cases_layer = controls()
    grid = url_grid()
    selection = Selection(level=level, streets=flt.streets, communities=flt.communities, grid=grid)
    breadcrumb_bar(selection)
    if grid:
        name = state.area_names().get(grid, grid)  # the URL's value when it names no grid
        st.caption(t("map.grid_selected", name=plain(name), code=plain(grid)))
    st.caption(t("map.hint"))
    live_map(flt, selection, metric, cases_layer)


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
