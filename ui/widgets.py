"""Widgets shared by pages: KPI cards and metric tables. Layout only, no data logic."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pyarrow as pa
import streamlit as st

from data_layer.domain import url_values
from data_layer.domain.filters import Filter, Window
from data_layer.domain.formatting import (
    DASH,
    column_format,
    format_fraction,
    format_value,
    number_format,
)
from data_layer.domain.metrics import METRICS
from data_layer.settings import min_denominator
from documents.slides import figure
from ui import state
from ui.cached import derived
from ui.i18n import area_names, lang, metric_formula, metric_label, t

# Rates over due cases: their row also shows how registered cases split into due + in progress.
_DUE_RATES = ("closure_rate", "on_time_rate")


def _day(day, *, year: int) -> str:
    """11-01 in the year the figures are seen in, else the whole date (2009-12-01)."""
    return f"{day:%m-%d}" if day.year == year else day.isoformat()


def kpi_card(
    key: str, current: dict, previous: dict | None, previous_window: Window | None
) -> None:
    """One KPI: value, numerator/denominator, change against the previous period stated with
    its dates (较上期 (11-01 至 11-02)), formula on hover. The figure is the briefing's
    (``documents.slides.figure``), so a card and a slide show the same change; a 样本少
    rate says so under it and its change is not coloured good or bad."""
    fig = figure(key, current, lang=lang(), previous=previous)
    help_text = fig.formula
    compared = None
    if previous_window is not None and previous is not None:
        # the days really compared: a running period against the same elapsed days
        compared = t(
            "kpi.compared",
            start=_day(previous_window.start, year=previous_window.as_of.year),
            end=_day(previous_window.last_day, year=previous_window.as_of.year),
        )
        help_text += "\n\n" + t(
            "kpi.vs_previous", start=previous_window.start, end=previous_window.last_day
        )
    if fig.low_volume:
        help_text += "\n\n" + t("kpi.low_volume.note", n=min_denominator())
    delta = fig.change  # the marker goes on the line below: a narrow card cuts the change off
    signed = delta is not None and delta[:1] in ("+", "-")  # ±0 gets no arrow and no colour
    # 样本少 and the days compared (none when there is no change to date)
    below = [t("kpi.low_volume")] if fig.low_volume else []
    if compared and delta is not None:
        below.append(compared)
    color = {True: "normal", False: "inverse", None: "off"}[fig.higher_is_better]
    with st.container(border=True):
        st.metric(
            fig.label,
            fig.value,
            delta=delta,
            delta_color=color if signed else "off",
            delta_arrow="auto" if signed else "off",
            help=help_text,
        )
        if below:
            st.caption(" · ".join(below))
        st.caption(fig.fraction if fig.fraction else "\u00a0")


def kpi_row(
    keys: list[str], current: dict, previous: dict | None, previous_window: Window | None
) -> None:
    """KPI cards side by side; a row with case figures states the filter's 统计口径 under it
    (and, with a rate over due cases, registered = due + in progress)."""
    for column, key in zip(st.columns(len(keys)), keys, strict=True):
        with column:
            snapshot = METRICS[key].group == "coverage"  # coverage is a snapshot: no period change
            kpi_card(key, current, None if snapshot else previous, previous_window)
    if any(METRICS[k].group == "cases" for k in keys):
        basis = state.current_filter().basis
        line = t("basis.stated", basis=t(f"basis.{basis}"))
        if any(k in _DUE_RATES for k in keys):
            identity = t(
                f"kpi.cases_identity.{basis}",
                registered=format_value("registered", current.get("registered")),
                due=format_value("due", current.get("due")),
                in_progress=format_value("in_progress", current.get("in_progress")),
            )
            line = f"{line} · {identity}"
        st.caption(line, help=t(f"basis.{basis}.note"))


def no_cases_notice(
    flt: Filter, window: Window, current: dict, *, empty: str = "empty.no_cases"
) -> None:
    """When the period has no cases, say so (``empty``); when the data has cases at other
    times (an imported export of last year), offer its latest month with cases in one click."""
    if current["reported"] or current["due"]:
        return
    latest = state.latest_month_with_cases(flt, win=window)
    if latest is None:
        st.info(t(empty))
        return
    start, end = latest
    key = "empty.no_cases_elsewhere" if flt.basis == "report" else "empty.no_assessed_elsewhere"
    st.info(t(key, basis=t(f"basis.{flt.basis}"), start=start, end=end))
    if st.button(
        t("empty.show_month", start=start, end=end),
        icon=":material/history:",
        key="show_latest_month",
    ):
        state.request_period(start=start, end=end)


def number_column(fmt: str, *, help: str | None = None) -> tuple:
    """(the ``column_format`` of ``fmt``, its ``st.column_config.NumberColumn``): the column
    keeps numbers and the browser formats them, as ``number_format`` would."""
    column = column_format(fmt)
    return column, st.column_config.NumberColumn(help=help, format=column.printf)


def metric_table(frame: pl.DataFrame, *, group: str, key: str) -> None:
    """A sortable table of areas × the metrics of ``group``.

    Rates stay numeric (so sorting works; shown in percent) and are followed by a
    "num / den" column; a rate without a denominator shows "—". Numbers are formatted
    by the browser from ``domain.formatting`` (``column_format``), not by a pandas Styler:
    marshalling a Styler cost ~7 % of a warm Overview view's server CPU (issue #16). The
    Arrow table is kept with the frame (``ui.cached.derived``): a warm view of a province
    (~1,800 communities) does not format every fraction again.
    """
    shown, config = derived(frame, ("metric_table", group, lang()), lambda: _table(frame, group))
    st.dataframe(
        shown,
        hide_index=True,
        column_config=config,
        key=key,
        width="stretch",
        placeholder=DASH,
    )


def _table(frame: pl.DataFrame, group: str) -> tuple[pa.Table | pd.DataFrame, dict]:
    """The metric table's data as ``st.dataframe`` sends it (the Arrow table Streamlit
    makes of the pandas frame: the same bytes) and its column config."""
    shown, config = _table_frame(frame, group)
    try:
        return pa.Table.from_pandas(shown), config
    except (pa.ArrowException, ValueError, TypeError, OverflowError):
        return shown, config  # Streamlit's own conversion fixes mixed columns


def _table_frame(frame: pl.DataFrame, group: str) -> tuple[pd.DataFrame, dict]:
    data: dict[str, list] = {
        t("col.name"): area_names(frame),
        t("col.code"): frame["code"].to_list(),
    }
    config: dict[str, object] = {}
    for metric_key, metric in METRICS.items():
        if metric.group != group:
            continue
        label = metric_label(metric_key)
        column, config[label] = number_column(
            number_format(metric_key), help=metric_formula(metric_key)
        )
        data[label] = column.scaled(frame[metric_key].to_list())
        if metric.is_rate:
            fraction = t("col.fraction", label=label)
            data[fraction] = [
                format_fraction(n, d)
                for n, d in zip(
                    frame[metric.numerator].to_list(),
                    frame[metric.denominator].to_list(),
                    strict=True,
                )
            ]
    return pd.DataFrame(data), config


def page_header(title: str, window: Window, current: dict) -> bool:
    """Title, the period/as-of line and the empty state; False when the filter matches nothing."""
    st.title(title)
    st.caption(
        t(
            "window.caption",
            start=window.start,
            end=window.end,
            as_of=window.as_of.isoformat(sep=" ", timespec="minutes"),
        )
    )
    if not current["grids"]:
        st.warning(t("empty.filter"))
        return False
    return True


def url_radio(
    label: str, options: list[str], *, param: str, key: str, default: str, **kwargs
) -> str:
    """A horizontal radio whose choice lives in the URL (``?param=``), so a copied link keeps it.

    The page must list ``param`` in its ``URL_KEYS``, or app.py drops it from the URL.
    """
    if key not in st.session_state:
        wanted = url_values.one_choice(st.query_params.get_all(param), options)
        st.session_state[key] = wanted or default
    value = st.radio(label, options, key=key, horizontal=True, **kwargs)
    if st.query_params.get(param) != value:
        st.query_params[param] = value
    return value
