"""志愿服务 Volunteer activity: teams, activities and hours, in-service party members,
the micro-wish funnel, most and least active communities."""

import streamlit as st

from data_layer.domain.formatting import DASH
from ui import charts, state
from ui.downloads import Col, metric_downloads, table
from ui.i18n import t
from ui.widgets import kpi_row, metric_table, page_header

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


def body() -> None:
    flt = state.current_filter()
    current, previous, window = state.headline_pair(flt)
    if not page_header(t("volunteer.title"), window, current):
        return
    table_args = {"flt": flt, "window": window}
    summary = state.analytics("volunteer_summary", flt, win=window).row(0, named=True)
    st.subheader(t("volunteer.kpis"))
    kpi_row(KPIS, current, previous, window.previous())

    left, right = st.columns(2)
    with left:
        st.subheader(t("volunteer.teams"))
        teams = state.analytics("volunteer_teams", flt)
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
    with right:
        st.subheader(t("volunteer.activities"))
        kinds = state.analytics("activities_by_kind", flt, win=window)
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
            **table_args,
        )

    left, right = st.columns(2)
    with left:
        st.subheader(t("volunteer.wishes"))
        wishes = state.analytics("wish_funnel", flt, win=window)
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
            **table_args,
        )
    with right:
        st.subheader(t("volunteer.party"))
        party = state.analytics("party_reports", flt, win=window)
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
            **table_args,
        )

    st.subheader(t("volunteer.active"))
    st.caption(t("volunteer.active.help"))
    active = state.analytics("most_and_least_active", flt, win=window)
    if active.is_empty():
        st.info(t("an.empty.section"))
    else:
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
            **table_args,
        )

    st.subheader(t("volunteer.table"))
    st.caption(t("overview.table.help"))
    communities = state.kpis(flt, by="community", win=window)
    metric_table(communities, group="volunteer", key="volunteer_communities")
    metric_downloads(
        communities,
        group="volunteer",
        name="volunteer_by_community",
        key="volunteer_communities_dl",
        **table_args,
    )


body()
