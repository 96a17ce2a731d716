"""Widgets shared by pages: KPI cards and metric tables. Layout only, no data logic."""

from __future__ import annotations

import pandas as pd
import polars as pl
import streamlit as st

from data_layer.domain import url_values
from data_layer.domain.filters import Window
from data_layer.domain.formatting import (
    DASH,
    format_change,
    format_fraction,
    format_value,
    is_unchanged,
    number_format,
)
from data_layer.domain.metrics import METRICS
from ui.i18n import lang, metric_formula, metric_label, t


def kpi_card(
    key: str, current: dict, previous: dict | None, previous_window: Window | None
) -> None:
    """One KPI: value, numerator/denominator, change against the previous period, formula on hover."""
    metric = METRICS[key]
    help_text = metric_formula(key)
    if previous_window is not None and previous is not None:
        help_text += "\n\n" + t(
            "kpi.vs_previous", start=previous_window.start, end=previous_window.end
        )
    delta = (
        None
        if previous is None
        else format_change(key, current.get(key), previous.get(key), lang=lang())
    )
    unchanged = delta is not None and is_unchanged(delta)
    delta_color = {True: "normal", False: "inverse", None: "off"}[metric.higher_is_better]
    with st.container(border=True):
        st.metric(
            metric_label(key),
            format_value(key, current.get(key)),
            delta=delta,
            delta_color="off" if unchanged else delta_color,
            delta_arrow="off" if unchanged else "auto",
            delta_description=t("kpi.vs_previous_short") if delta is not None else None,
            help=help_text,
        )
        if metric.is_rate:
            st.caption(
                format_fraction(current.get(metric.numerator), current.get(metric.denominator))
            )
        else:
            st.caption("\u00a0")


def kpi_row(
    keys: list[str], current: dict, previous: dict | None, previous_window: Window | None
) -> None:
    for column, key in zip(st.columns(len(keys)), keys, strict=True):
        with column:
            snapshot = METRICS[key].group == "coverage"  # coverage is a snapshot: no period change
            kpi_card(key, current, None if snapshot else previous, previous_window)


def metric_table(frame: pl.DataFrame, *, group: str, key: str) -> None:
    """A sortable table of areas × the metrics of ``group``.

    Rates stay numeric (so sorting works) and are followed by a "num / den" column;
    a rate without a denominator shows "—".
    """
    data: dict[str, list] = {
        t("col.name"): frame["name"].to_list(),
        t("col.code"): frame["code"].to_list(),
    }
    formats: dict[str, object] = {}
    config: dict[str, object] = {}
    for metric_key, metric in METRICS.items():
        if metric.group != group:
            continue
        label = metric_label(metric_key)
        data[label] = frame[metric_key].to_list()
        formats[label] = number_format(metric_key)
        config[label] = st.column_config.Column(help=metric_formula(metric_key))
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
    table = pd.DataFrame(data)
    styler = table.style.format(formats, na_rep=DASH)
    st.dataframe(
        styler, hide_index=True, column_config=config, key=key, width="stretch", placeholder=DASH
    )


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
