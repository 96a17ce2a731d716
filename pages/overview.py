"""总览 Overview: headline KPI cards and every metric per community."""

import streamlit as st

from geo.selection import Selection
from ui import state
from ui.i18n import t
from ui.map_view import grid_map
from ui.widgets import kpi_row, metric_table, no_cases_notice

URL_KEYS: tuple[str, ...] = ()  # no controls of its own in the URL
HEADLINE = [
    "reported",
    "closure_rate",
    "on_time_rate",
    "overdue_open",
    "in_progress",
    "satisfaction_rate",
]
HEADLINE_2 = ["full_time_coverage", "party_org_coverage", "volunteer_hours"]


def body() -> None:
    flt = state.current_filter()
    st.title(t("app.title"))
    headline(flt)
    window = state.window(flt)
    if not state.kpis(flt, win=window)["grids"][0]:
        return
    st.subheader(t("overview.table"))
    st.caption(t("overview.table.help"))
    frame = state.kpis(flt, by="community", win=window)
    tabs = st.tabs([t("group.cases"), t("group.coverage"), t("group.volunteer")])
    for tab, group in zip(tabs, ["cases", "coverage", "volunteer"], strict=True):
        with tab:
            metric_table(frame, group=group, key=f"overview_{group}")


def headline(flt) -> None:
    """KPI cards; refreshed by themselves every interval while the view is live."""

    @st.fragment(run_every=state.refresh_interval(flt))
    def live() -> None:
        current, previous, window = state.headline_pair(flt)
        st.caption(
            t(
                "window.caption",
                start=window.start,
                end=window.end,
                as_of=window.as_of.isoformat(sep=" ", timespec="seconds"),
            )
        )
        if not current["grids"]:
            st.warning(t("empty.filter"))
            return
        no_cases_notice(flt, window, current)
        st.subheader(t("overview.kpis"))
        kpi_row(HEADLINE, current, previous, window.previous())
        kpi_row(HEADLINE_2, current, previous, window.previous())
        st.subheader(t("overview.map"))
        level = "grid" if flt.communities else "community"
        selection = Selection(level=level, streets=flt.streets, communities=flt.communities)
        grid_map(flt, selection, metric="closure_rate", key="overview_map", height=460)

    live()


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
