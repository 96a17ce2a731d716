"""志愿服务 Volunteer activity: teams, activities and hours, in-service party members,
the micro-wish funnel, most and least active communities."""

import streamlit as st

from data_layer.domain.filters import Filter, Window
from data_layer.domain.formatting import DASH
from ui import charts, queries, state
from ui.downloads import Col, metric_downloads, table
from ui.i18n import t
from ui.widgets import kpi_row, metric_table, page_header

URL_KEYS: tuple[str, ...] = ()  # no controls of its own in the URL
KPIS = [
    "activities",
    "volunteer_hours",
    "volunteer_hours_per_1k",
    "party_members_reported",
    "wishes_collected",
    "wish_fulfilment_rate",
]


def _days(value) -> str:
    return DASH if value is None else f"{value:,.1f}"


def _teams(flt: Filter, summary: dict) -> None:
    st.subheader(t("volunteer.teams"))
    teams = queries.volunteer_teams(flt)
    st.caption(
        t(
            "volunteer.teams.total",
            teams=f"{summary['teams']:,}",
            members=f"{summary['team_members']:,}",
        )
    )
    charts.show(
        charts.grouped_bars(
            teams, code_column="kind", code_kind="team_kind", keys=["team_members"], height=340
        ),
        key="volunteer_teams_chart",
    )
    table(
        teams,
        [Col("kind", t("col.kind"), codes="team_kind"), Col("teams"), Col("team_members")],
        key="volunteer_teams",
        name="volunteer_teams",
        flt=flt,
        window=None,
    )


def _activities(flt: Filter, window: Window, current: dict) -> None:
    st.subheader(t("volunteer.activities"))
    kinds = queries.activities_by_kind(flt, window=window)
    if not current["activities"]:
        st.info(t("an.empty.activities"))
    else:
        charts.show(
            charts.grouped_bars(
                kinds,
                code_column="kind",
                code_kind="activity_kind",
                keys=["volunteer_hours"],
                horizontal=True,
                height=340,
            ),
            key="volunteer_kinds_chart",
        )
    table(
        kinds,
        [
            Col("kind", t("col.kind"), codes="activity_kind"),
            Col("activities"),
            Col("volunteer_hours"),
            Col("participants"),
        ],
        key="volunteer_kinds",
        name="activities_by_kind",
        flt=flt,
        window=window,
    )


def _wishes(flt: Filter, window: Window, current: dict, summary: dict) -> None:
    st.subheader(t("volunteer.wishes"))
    wishes = queries.wish_funnel(flt, window=window)
    st.caption(
        t(
            "volunteer.wishes.days",
            claim=_days(summary["wish_days_to_claim_median"]),
            fulfil=_days(summary["wish_days_to_fulfil_median"]),
        )
    )
    if not current["wishes_collected"]:
        st.info(t("an.empty.section"))
    else:
        charts.show(
            charts.simple_funnel(wishes, label_prefix="wish_stage."),
            key="volunteer_wishes_chart",
        )
    table(
        wishes,
        [
            Col("stage", codes="wish_stage"),
            Col("count", t("chart.count"), fmt="{:,.0f}"),
            Col("share", t("col.share_collected"), fmt="{:.1%}"),
            Col("median_days", fmt="{:,.1f}"),
        ],
        key="volunteer_wishes",
        name="micro_wish_funnel",
        flt=flt,
        window=window,
    )


def _party(flt: Filter, window: Window, summary: dict) -> None:
    st.subheader(t("volunteer.party"))
    party = queries.party_reports(flt, window=window)
    st.caption(
        t(
            "volunteer.party.total",
            members=f"{summary['party_members_reported']:,}",
            posts=f"{summary['posts_claimed']:,}",
        )
    )
    table(
        party,
        [
            Col("name", t("col.community")),
            Col("party_members_reported"),
            Col("posts_claimed"),
            Col("community_code", t("col.code")),
        ],
        key="volunteer_party",
        name="party_member_reports",
        height=360,
        flt=flt,
        window=window,
    )


def _most_and_least_active(flt: Filter, window: Window) -> None:
    st.subheader(t("volunteer.active"))
    st.caption(t("volunteer.active.help"))
    active = queries.most_and_least_active(flt, window=window)
    if active.is_empty():
        st.info(t("an.empty.section"))
        return
    charts.show(charts.active_bars(active), key="volunteer_active_chart")
    table(
        active,
        [
            Col("group", codes="active_group"),
            Col("name", t("col.community")),
            Col("volunteer_hours_per_1k"),
            Col("volunteer_hours"),
            Col("activities"),
            Col("population", fmt="{:,.0f}"),
            Col("code", t("col.code")),
        ],
        key="volunteer_active",
        name="most_least_active_communities",
        flt=flt,
        window=window,
    )


def _communities(flt: Filter, window: Window) -> None:
    st.subheader(t("volunteer.table"))
    st.caption(t("overview.table.help"))
    communities = state.kpis(flt, by="community", win=window)
    metric_table(communities, group="volunteer", key="volunteer_communities")
    metric_downloads(
        communities,
        group="volunteer",
        name="volunteer_by_community",
        key="volunteer_communities_dl",
        flt=flt,
        window=window,
    )


def body() -> None:
    flt = state.current_filter()
    current, previous, window = state.headline_pair(flt)
    if not page_header(t("volunteer.title"), window, current):
        return
    summary = queries.volunteer_summary(flt, window=window).row(0, named=True)
    st.subheader(t("volunteer.kpis"))
    kpi_row(KPIS, current, previous, window.previous())
    left, right = st.columns(2)
    with left:
        _teams(flt, summary)
    with right:
        _activities(flt, window, current)
    left, right = st.columns(2)
    with left:
        _wishes(flt, window, current, summary)
    with right:
        _party(flt, window, summary)
    _most_and_least_active(flt, window)
    _communities(flt, window)


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
