"""案件办结 Case closure: the closed loop, trend, categories and sources, handling units,
time to close, overdue and due-soon lists."""

import streamlit as st

from data_layer.domain.filters import Filter, Window
from data_layer.queries.cases import COMPARISONS, comparison_window
from data_layer.settings import min_denominator
from ui import charts, queries, state
from ui.downloads import Col, iso_day, table
from ui.i18n import t
from ui.widgets import kpi_row, no_cases_notice, page_header, url_radio

EVERY, COMPARE = "every", "compare"  # the trend controls in the URL
URL_KEYS = (EVERY, COMPARE)
KPIS = ["reported", "closure_rate", "on_time_rate", "overdue_open", "in_progress", "at_risk"]
KPIS_2 = [
    "rework_rate",
    "satisfaction_rate",
    "response_rate",
    "hours_to_close_median",
    "hours_to_close_p90",
]
BREAKDOWN_COLS = [
    "reported",
    "due",
    "closed",
    "closure_rate",
    "on_time_rate",
    "overdue_open",
    "hours_to_close_median",
    "hours_to_close_p90",
]
UNIT_COLS = [
    "reported",
    "due",
    "closed",
    "on_time_rate",
    "rework_rate",
    "satisfaction_rate",
    "overdue_open",
    "at_risk",
    "hours_to_close_median",
    "low_volume",
]


def _funnel(flt: Filter, window: Window) -> None:
    st.subheader(t("cases.funnel"))
    st.caption(t("cases.funnel.help"))
    funnel = queries.case_funnel(flt, window=window)
    left, right = st.columns([3, 2])
    with left:
        charts.show(charts.funnel(funnel), key="cases_funnel_chart")
    with right:
        table(
            funnel,
            [
                Col("stage", codes="stage"),
                Col("count", t("chart.count"), fmt="{:,.0f}"),
                Col("share", fmt="{:.1%}"),
                Col("drop_off", fmt="{:,.0f}"),
                Col("median_hours", fmt="{:,.1f}"),
            ],
            key="cases_funnel",
            name="case_funnel",
            flt=flt,
            window=window,
        )


def _trend_controls(window: Window) -> tuple[str, str]:
    c1, c2, _ = st.columns([1, 2, 2])
    with c1:
        every = url_radio(
            t("cases.trend.every"),
            ["month", "week"],
            param=EVERY,
            key="cases_every",
            default="week" if window.days <= 92 else "month",  # a month or a quarter: weekly points
            format_func=lambda e: t(f"every.{e}"),
        )
    with c2:
        compare = url_radio(
            t("cases.trend.compare"),
            list(COMPARISONS),
            param=COMPARE,
            key="cases_compare",
            default=list(COMPARISONS)[0],
            format_func=lambda c: t(f"compare.{c}"),
        )
    return every, compare


def _trend(flt: Filter, window: Window) -> None:
    st.subheader(t("cases.trend"))
    every, compare = _trend_controls(window)
    trend = queries.case_trend(flt, window=window, every=every, compare=compare)
    other = comparison_window(window, compare)
    compare_label = t(f"compare.{compare}") if other else None
    if other:
        st.caption(
            t(
                "cases.trend.compare_window",
                start=other.start,
                end=other.end,
                as_of=other.as_of.isoformat(sep=" ", timespec="minutes"),
            )
        )
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('cases.trend.counts')}**")
        charts.show(
            charts.trend(trend, ["reported", "closed"], compare_label=compare_label),
            key="cases_trend_counts",
        )
    with right:
        st.markdown(f"**{t('cases.trend.rates')}**")
        charts.show(
            charts.trend(
                trend, ["closure_rate", "on_time_rate"], compare_label=compare_label, rates=True
            ),
            key="cases_trend_rates",
        )
    with st.expander(t("cases.trend.table")):
        cols = [
            Col("bucket", fmt=iso_day),
            Col("reported"),
            Col("due"),
            Col("closed"),
            Col("closure_rate"),
            Col("on_time_rate"),
        ]
        if other:
            cols += [
                Col(
                    f"cmp_{k}",
                    f"{t('col.bucket_compare')} · {Col(k).header()}",
                    fmt="{:.1%}" if k.endswith("rate") else "{:,.0f}",
                )
                for k in ("reported", "closed", "closure_rate", "on_time_rate")
            ]
        table(
            trend,
            cols,
            key="cases_trend",
            name=f"case_trend_{every}_{compare}",
            flt=flt,
            window=window,
        )


def _breakdown(flt: Filter, window: Window) -> None:
    st.subheader(t("cases.breakdown"))
    tabs = st.tabs([t("cases.breakdown.category"), t("cases.breakdown.source")])
    for tab, by in zip(tabs, ["category", "source"], strict=True):
        with tab:
            frame = queries.case_breakdown(flt, window=window, by=by)
            left, right = st.columns(2)
            with left:
                charts.show(
                    charts.grouped_bars(
                        frame,
                        code_column="code",
                        code_kind=by,
                        keys=["reported", "closed", "overdue_open"],
                    ),
                    key=f"cases_{by}_counts",
                )
            with right:
                charts.show(
                    charts.grouped_bars(
                        frame,
                        code_column="code",
                        code_kind=by,
                        keys=["closure_rate", "on_time_rate"],
                    ),
                    key=f"cases_{by}_rates",
                )
            cols = [Col("code", t(f"col.{by}"), codes=by), *(Col(k) for k in BREAKDOWN_COLS)]
            if by == "category":
                cols.append(Col("sla_hours"))
            table(frame, cols, key=f"cases_{by}", name=f"cases_by_{by}", flt=flt, window=window)


def _units(flt: Filter, window: Window) -> None:
    st.subheader(t("cases.units"))
    st.caption(t("cases.units.help", n=min_denominator()))
    units = queries.unit_scorecard(flt, window=window)
    if units.is_empty():
        st.info(t("an.empty.section"))
        return
    table(
        units,
        [Col("handling_unit", t("col.unit")), *(Col(k) for k in UNIT_COLS)],
        key="cases_units",
        name="handling_units",
        height=420,
        flt=flt,
        window=window,
    )


def _close_time(flt: Filter, window: Window) -> None:
    st.subheader(t("cases.close_time"))
    stats = queries.close_time_stats(flt, window=window)
    if stats.is_empty():
        st.info(t("an.empty.section"))
        return
    st.caption(t("chart.box_help"))
    charts.show(charts.close_time_box(stats), key="cases_close_time")
    table(
        stats,
        [
            Col("category", t("col.category"), codes="category"),
            Col("closed"),
            Col("hours_to_close_p10"),
            Col("hours_to_close_q1"),
            Col("hours_to_close_median"),
            Col("hours_to_close_q3"),
            Col("hours_to_close_p90"),
            Col("sla_hours"),
        ],
        key="cases_close_time_table",
        name="time_to_close",
        flt=flt,
        window=window,
    )


def _open_lists(flt: Filter, window: Window) -> None:
    st.subheader(t("cases.lists"))
    st.caption(t("cases.lists.help"))
    overdue = queries.open_cases(flt, window=window, kind="overdue")
    at_risk = queries.open_cases(flt, window=window, kind="at_risk")
    tabs = st.tabs(
        [
            t("cases.lists.overdue", n=f"{overdue.height:,}"),
            t("cases.lists.at_risk", n=f"{at_risk.height:,}"),
        ]
    )
    for tab, frame, kind, hours in zip(
        tabs,
        [overdue, at_risk],
        ["overdue", "at_risk"],
        ["hours_overdue", "hours_left"],
        strict=True,
    ):
        with tab:
            if frame.is_empty():
                st.info(t("an.empty.list"))
                continue
            table(
                frame,
                [
                    Col("case_id"),
                    Col("street_name", t("col.street")),
                    Col("community_name", t("col.community")),
                    Col("grid_name", t("col.grid")),
                    Col("category", t("col.category"), codes="category"),
                    Col("source", t("col.source"), codes="source"),
                    Col("handling_unit", t("col.unit")),
                    Col("reported_at"),
                    Col("due_at"),
                    Col(hours),
                    Col("reporter_name"),
                    Col("reporter_phone"),
                ],
                key=f"cases_{kind}",
                name=f"{kind}_cases",
                height=420,
                flt=flt,
                window=window,
            )


def body() -> None:
    flt = state.current_filter()
    current, previous, window = state.headline_pair(flt)
    if not page_header(t("cases.title"), window, current):
        return
    st.subheader(t("cases.kpis"))
    kpi_row(KPIS, current, previous, window.previous())
    kpi_row(KPIS_2, current, previous, window.previous())
    if not (current["reported"] or current["due"]):
        no_cases_notice(flt, window, current, empty="an.empty.cases")
        return
    _funnel(flt, window)
    _trend(flt, window)
    _breakdown(flt, window)
    _units(flt, window)
    _close_time(flt, window)
    _open_lists(flt, window)


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
