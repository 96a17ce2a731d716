"""Plotly charts of the analytics pages: one theme, one colour per metric, exact hovers.

Figures are built from collected frames (no polars expressions: the numbers come from
data_layer.queries) and shown with :func:`show`. The theme is readable on a
projector (16 px text, thick lines) and uses a CJK font family, so Chinese labels render
in the browser and in exported images. Each metric keeps its colour on every page
(``METRIC_COLORS``); a comparison period is drawn in the same colour, faint and dashed.
Plotly reads a subset of HTML (``<a href>``, ``<b>`` …) in tick labels and hover text, so
names of areas and units go through :func:`ui.plain.plain_html` first.

Each builder is ``ui.cached.per_frame``: a warm view of the same query result (same data
version, filter, scope, period) and language gets the figure built before instead of
validating every trace again (issue #16). A figure is shared by every session, so it goes to
:func:`show` as it is; change a builder, not its figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import streamlit as st

from data_layer.domain.formatting import format_fraction, format_value
from data_layer.domain.metrics import FUNNEL_STAGES, metric_def
from ui.cached import per_frame
from ui.i18n import code_label, metric_label, t
from ui.plain import plain_html

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"WenQuanYi Micro Hei", "Heiti SC", sans-serif'
)
FONT_SIZE = 16

# One colour per metric, everywhere in the app.
METRIC_COLORS: dict[str, str] = {
    # case volumes and the closed loop
    "reported": "#2563eb",  # blue
    "registered": "#0ea5e9",  # sky
    "dispatched": "#6366f1",  # indigo
    "handled": "#a855f7",  # purple
    "verified": "#64748b",  # slate
    "closed": "#16a34a",  # green
    "rated": "#ca8a04",  # dark amber
    "due": "#475569",
    # case rates
    "closure_rate": "#047857",  # emerald
    "on_time_rate": "#0d9488",  # teal
    "satisfaction_rate": "#eab308",  # amber
    "response_rate": "#0284c7",
    "rework_rate": "#be185d",  # magenta
    "overdue_open": "#dc2626",  # red
    "at_risk": "#f97316",  # orange
    "hours_to_close_median": "#92400e",  # brown
    "hours_to_close_p90": "#b45309",
    "sla_hours": "#dc2626",
    # coverage
    "full_time_coverage": "#1d4ed8",
    "party_org_coverage": "#b91c1c",
    "size_standard_rate": "#7c3aed",
    "property_coverage": "#0f766e",
    "workers_per_10k": "#9333ea",
    "households": "#6b7280",
    # volunteer
    "activities": "#0891b2",
    "volunteer_hours": "#65a30d",  # lime
    "volunteer_hours_per_1k": "#4d7c0f",
    "participants": "#84cc16",
    "party_members_reported": "#c2410c",
    "posts_claimed": "#ea580c",
    "teams": "#0e7490",
    "team_members": "#22d3ee",
    "wishes_collected": "#db2777",
    "wishes_claimed": "#f472b6",
    "wishes_fulfilled": "#9d174d",
    "wish_fulfilment_rate": "#9d174d",
    # ranking
    "ranking_score": "#334155",
}
# Codes drawn as categories (grid kinds, party organisation, property modes, sizes).
CODE_COLORS: dict[str, str] = {
    "basic": "#2563eb",
    "dedicated": "#f59e0b",
    "branch": "#b91c1c",
    "group": "#f87171",
    "none": "#9ca3af",
    "professional": "#0f766e",
    "self_managed": "#14b8a6",
    "fallback": "#99f6e4",
    "below": "#f59e0b",
    "within": "#16a34a",
    "above": "#dc2626",
}
RED, GREEN, GREY = "#dc2626", "#16a34a", "#9ca3af"
COMPARE_OPACITY = 0.4


def color(key: str) -> str:
    return METRIC_COLORS.get(key, "#334155")


# The trace types these charts draw, and the parts of plotly_white's layout they never use
# (3-D, polar, ternary and geo subplots). plotly copies and validates the whole template
# into every figure (twice: the default template at go.Figure(), then ours): with all of
# plotly_white that was ~100 ms of server CPU per chart and 7.5 KB of template per chart
# message; trimmed and made the default, ~6 ms and 2.5 KB (issue #16). A chart of another
# trace type still works (plotly's own defaults); add its type here to theme it.
TRACE_TYPES = ("bar", "box", "funnel", "histogram", "scatter")
_UNUSED_LAYOUT = ("geo", "polar", "scene", "ternary")


def _template() -> go.layout.Template:
    base = pio.templates["plotly_white"]
    template = go.layout.Template(
        data={k: v for k, v in base.data.to_plotly_json().items() if k in TRACE_TYPES},
        layout={k: v for k, v in base.layout.to_plotly_json().items() if k not in _UNUSED_LAYOUT},
    )
    template.layout.font = {"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#1f2937"}
    template.layout.title = {"font": {"size": FONT_SIZE + 4}}
    template.layout.hoverlabel = {"font": {"family": FONT_FAMILY, "size": FONT_SIZE}}
    template.layout.legend = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
    template.layout.margin = {"l": 10, "r": 10, "t": 40, "b": 10}
    template.layout.separators = ".,"
    template.layout.xaxis = {"automargin": True, "gridcolor": "#e5e7eb"}
    template.layout.yaxis = {"automargin": True, "gridcolor": "#e5e7eb", "rangemode": "tozero"}
    return template


TEMPLATE = "gridpulse"
pio.templates[TEMPLATE] = _template()
pio.templates.default = TEMPLATE  # applied once, when a figure is made


def _layout(fig: go.Figure, *, height: int = 380, **kw) -> go.Figure:
    """Size and layout options; the theme is already there (the default template)."""
    fig.update_layout(height=height, **kw)
    return fig


def show(fig: go.Figure, *, key: str) -> None:
    """Draw a figure full width with the app theme (not Streamlit's) and no plotly logo."""
    st.plotly_chart(
        fig,
        theme=None,
        key=key,
        config={
            "displaylogo": False,
            "responsive": True,
            "modeBarButtonsToRemove": ["lasso2d", "select2d"],
        },
    )


def _value_text(key: str, values: Sequence) -> list[str]:
    return [format_value(key, v) for v in values]


# -- case closure --------------------------------------------------------------------------


@per_frame
def funnel(frame: pl.DataFrame) -> go.Figure:
    """上报 → … → 评价 with counts, share of reported, drop-off and median hours on hover."""
    stages = frame["stage"].to_list()
    labels = [t(f"stage.{s}") for s in stages]
    hover = []
    for row in frame.iter_rows(named=True):
        lines = [f"<b>{t('stage.' + row['stage'])}</b>", f"{t('chart.count')}: {row['count']:,}"]
        if row["share"] is not None:
            lines.append(f"{t('chart.share')}: {row['share']:.1%}")
        if row["drop_off"] is not None:
            lines.append(f"{t('chart.drop_off')}: {row['drop_off']:,}")
        if row["rejected"] is not None:
            lines.append(t("cases.funnel.rejected", n=f"{row['rejected']:,}"))
        if row["median_hours"] is not None:
            lines.append(
                f"{t('chart.median_hours')}: {row['median_hours']:,.1f} {t('chart.hours')}"
            )
        hover.append("<br>".join(lines))
    fig = go.Figure(
        go.Funnel(
            y=labels,
            x=frame["count"].to_list(),
            textinfo="value+percent initial",
            texttemplate="%{value:,} (%{percentInitial:.1%})",
            marker={"color": [color(s) for s in stages if s in FUNNEL_STAGES]},
            hovertext=hover,
            hoverinfo="text",
            connector={"line": {"color": "#d1d5db"}},
        )
    )
    return _layout(fig, height=420, showlegend=False)


@per_frame
def trend(
    frame: pl.DataFrame,
    keys: Sequence[str],
    *,
    compare_label: str | None,
    rates: bool = False,
) -> go.Figure:
    """Lines per metric over ``bucket``; ``cmp_<key>`` as a faint dashed line when present.

    Rates hover with their numerator / denominator.
    """
    fig = go.Figure()
    x = frame["bucket"].to_list()
    for key in keys:
        metric = metric_def(key)
        for prefix, faint in (("", False), ("cmp_", True)):
            column = prefix + key
            if column not in frame.columns or (faint and compare_label is None):
                continue
            values = frame[column].to_list()
            name = metric_label(key) + (
                t("chart.compare_suffix", label=compare_label) if faint else ""
            )
            texts = _value_text(key, values)
            if metric.is_rate:
                nums = frame[prefix + metric.numerator].to_list()
                dens = frame[prefix + metric.denominator].to_list()
                texts = [
                    f"{v} = {format_fraction(n, d)}"
                    for v, n, d in zip(texts, nums, dens, strict=True)
                ]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=values,
                    name=name,
                    mode="lines+markers",
                    line={
                        "color": color(key),
                        "width": 2 if faint else 3.5,
                        "dash": "dash" if faint else "solid",
                    },
                    marker={"size": 5 if faint else 8},
                    opacity=COMPARE_OPACITY if faint else 1.0,
                    customdata=texts,
                    hovertemplate=f"{name}<br>%{{x|%Y-%m-%d}}: %{{customdata}}<extra></extra>",
                    connectgaps=False,
                )
            )
    weekly = len(x) > 1 and (x[1] - x[0]).days < 28
    fig.update_xaxes(
        title=t("chart.period"),
        tickformat="%Y-%m-%d",
        tick0=x[0] if x else None,
        dtick=7 * 86_400_000 * max(1, len(x) // 12) if weekly else f"M{max(1, len(x) // 12)}",
    )
    if rates:
        fig.update_yaxes(title=t("chart.rate"), tickformat=".0%", range=[0, 1.05])
    else:
        fig.update_yaxes(title=t("chart.count"), tickformat=",")
    return _layout(fig, hovermode="x unified")


@per_frame
def grouped_bars(
    frame: pl.DataFrame,
    *,
    code_column: str,
    code_kind: str | None,
    keys: Sequence[str],
    horizontal: bool = False,
    height: int = 380,
    labels: Sequence[str] | None = None,
    reference: tuple[float, str] | None = None,
    sort: bool = False,
) -> go.Figure:
    """One bar per metric key for each code (category, source, kind…), metric colours.

    ``code_kind`` is the i18n section of the codes (``category``, ``source``…), ``code.*``
    kinds of analytics.toml (``grid_kind``…) or None for names shown as they are.
    ``reference`` draws a dashed line (value, label), e.g. a standard; bars below it are
    faint. ``sort`` orders the bars by the first metric, highest first.
    """
    codes = frame[code_column].to_list()
    if labels is None:
        labels = [_code_text(code_kind, c) for c in codes]
    labels = [plain_html(label) for label in labels]  # names of areas and units are data
    order = list(range(len(codes)))
    if sort:  # by the first metric, highest first (areas without a value last)
        first = frame[keys[0]].to_list()
        order.sort(key=lambda i: (first[i] is None, -(first[i] or 0)))
        labels = [labels[i] for i in order]
    many = len(codes) > 20
    fig = go.Figure()
    for key in keys:
        values = [frame[key].to_list()[i] for i in order]
        metric = metric_def(key)
        texts = _value_text(key, values)
        if (
            metric.is_rate
            and metric.numerator in frame.columns
            and metric.denominator in frame.columns
        ):
            nums = [frame[metric.numerator].to_list()[i] for i in order]
            dens = [frame[metric.denominator].to_list()[i] for i in order]
            texts = [
                f"{v} = {format_fraction(n, d)}" for v, n, d in zip(texts, nums, dens, strict=True)
            ]
        marker: dict = {"color": color(key)}
        if reference is not None and len(keys) == 1:
            # below the standard: same colour, faint
            marker["opacity"] = [1.0 if (v or 0) >= reference[0] else 0.4 for v in values]
        axis = (
            {"y": labels, "x": values, "orientation": "h"}
            if horizontal
            else {"x": labels, "y": values}
        )
        fig.add_trace(
            go.Bar(
                **axis,
                name=metric_label(key),
                marker=marker,
                customdata=texts,
                text=_value_text(key, values) if len(keys) == 1 and not many else None,
                textposition="auto" if len(keys) == 1 and not many else "none",
                textangle=0,
                hovertemplate=f"%{{{'y' if horizontal else 'x'}}}<br>{metric_label(key)}: %{{customdata}}<extra></extra>",
            )
        )
    if reference is not None:
        value, label = reference
        line = {
            "line_dash": "dash",
            "line_color": "#111827",
            "line_width": 2,
            "annotation_text": label,
        }
        (fig.add_vline(x=value, **line) if horizontal else fig.add_hline(y=value, **line))
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    if all(metric_def(k).kind == "rate" for k in keys):
        fig.update_layout(**{("xaxis" if horizontal else "yaxis"): {"tickformat": ".0%"}})
    return _layout(fig, height=height, barmode="group", showlegend=len(keys) > 1)


def _code_text(kind: str | None, code) -> str:
    """A code's label; names (``kind`` None) and missing codes shown as they are."""
    if kind is None or code is None:
        return str(code)
    return code_label(kind, code)


@per_frame
def code_bars(
    frame: pl.DataFrame, *, code_column: str, code_kind: str, key: str, height: int = 320
) -> go.Figure:
    """Counts per code (grid kind, party organisation, property mode) in the codes' colours."""
    codes = frame[code_column].to_list()
    values = frame[key].to_list()
    texts = _value_text(key, values)
    total = sum(v or 0 for v in values)
    shares = [f"{(v or 0) / total:.1%}" if total else "—" for v in values]
    fig = go.Figure(
        go.Bar(
            x=[_code_text(code_kind, c) for c in codes],
            y=values,
            marker_color=[CODE_COLORS.get(c, "#64748b") for c in codes],
            text=[f"{v} ({s})" for v, s in zip(texts, shares, strict=True)],
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            customdata=list(zip(texts, shares, strict=True)),
            hovertemplate=f"%{{x}}<br>{metric_label(key)}: %{{customdata[0]}} (%{{customdata[1]}})<extra></extra>",
        )
    )
    fig.update_yaxes(title=metric_label(key), tickformat=",")
    return _layout(fig, height=height, showlegend=False)


@per_frame
def close_time_box(stats: pl.DataFrame) -> go.Figure:
    """Hours to close per category from precomputed quantiles, deadline as a red diamond."""
    fig = go.Figure()
    cats = stats["category"].to_list()
    labels = [code_label("category", c) for c in cats]
    fig.add_trace(
        go.Box(
            x=labels,
            q1=stats["hours_to_close_q1"].to_list(),
            median=stats["hours_to_close_median"].to_list(),
            q3=stats["hours_to_close_q3"].to_list(),
            lowerfence=stats["hours_to_close_p10"].to_list(),
            upperfence=stats["hours_to_close_p90"].to_list(),
            name=metric_label("hours_to_close_median"),
            marker_color=color("hours_to_close_median"),
            fillcolor="rgba(146, 64, 14, 0.25)",
            line={"width": 2.5},
            hoverinfo="skip",
        )
    )
    hover = [
        "<br>".join(
            [
                f"<b>{code_label('category', r['category'])}</b>",
                f"{metric_label('closed')}: {r['closed']:,}",
                f"P10: {r['hours_to_close_p10']:,.1f}",
                f"P25: {r['hours_to_close_q1']:,.1f}",
                f"{t('chart.median_hours')}: {r['hours_to_close_median']:,.1f}",
                f"P75: {r['hours_to_close_q3']:,.1f}",
                f"P90: {r['hours_to_close_p90']:,.1f}",
                f"{t('chart.sla')}: {format_value('sla_hours', r['sla_hours'])}",
            ]
        )
        for r in stats.iter_rows(named=True)
    ]
    # an invisible point per box carries the exact numbers on hover
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=stats["hours_to_close_median"].to_list(),
            mode="markers",
            marker={"size": 30, "opacity": 0},
            hovertext=hover,
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=stats["sla_hours"].to_list(),
            mode="markers",
            name=t("chart.sla"),
            marker={
                "symbol": "diamond",
                "size": 16,
                "color": color("sla_hours"),
                "line": {"width": 1, "color": "#fff"},
            },
            hovertemplate=f"%{{x}}<br>{t('chart.sla')}: %{{y:,}} {t('chart.hours')}<extra></extra>",
        )
    )
    fig.update_yaxes(title=t("chart.hours"), tickformat=",")
    return _layout(fig, height=420)


@per_frame
def households_histogram(frame: pl.DataFrame, *, low: int, high: int) -> go.Figure:
    """Households per basic grid, coloured by below / within / above the standard band."""
    fig = go.Figure()
    for size in ("below", "within", "above"):
        part = frame.filter(pl.col("size") == size)["households"].to_list()
        if not part:
            continue
        fig.add_trace(
            go.Histogram(
                x=part,
                xbins={"size": 25},
                name=t(f"code.size.{size}"),
                marker_color=CODE_COLORS[size],
                hovertemplate=f"{t('code.size.' + size)}<br>{metric_label('households')}: %{{x}}<br>{t('col.grids')}: %{{y}}<extra></extra>",
            )
        )
    fig.add_vrect(x0=low, x1=high, fillcolor=GREEN, opacity=0.08, line_width=0)
    for x in (low, high):
        fig.add_vline(x=x, line_dash="dash", line_color="#111827", line_width=2)
    fig.update_xaxes(title=metric_label("households"), tickformat=",")
    fig.update_yaxes(title=t("col.grids"))
    return _layout(fig, barmode="stack")


@per_frame
def simple_funnel(frame: pl.DataFrame, *, label_prefix: str) -> go.Figure:
    """A short funnel (micro-wishes) in the metrics' colours, median days on hover."""
    stages = frame["stage"].to_list()
    hover = []
    for row in frame.iter_rows(named=True):
        lines = [
            f"<b>{t(label_prefix + row['stage'])}</b>",
            f"{t('chart.count')}: {row['count']:,}",
        ]
        if row["share"] is not None:
            lines.append(f"{row['share']:.1%}")
        if row.get("median_days") is not None:
            lines.append(f"{t('col.median_days')}: {row['median_days']:,.1f}")
        hover.append("<br>".join(lines))
    fig = go.Figure(
        go.Funnel(
            y=[t(label_prefix + s) for s in stages],
            x=frame["count"].to_list(),
            texttemplate="%{value:,} (%{percentInitial:.1%})",
            marker={"color": [color(s) for s in stages]},
            hovertext=hover,
            hoverinfo="text",
        )
    )
    return _layout(fig, height=300, showlegend=False)


@per_frame
def score_bars(frame: pl.DataFrame) -> go.Figure:
    """Composite score of every ranked area, best on top; hover shows the rank."""
    names = [plain_html(name) for name in frame["name"].to_list()]
    scores = frame["ranking_score"].to_list()
    ranks = frame["rank"].to_list()
    fig = go.Figure(
        go.Bar(
            y=names,
            x=scores,
            orientation="h",
            marker_color=color("ranking_score"),
            text=[f"{s:.1f}" for s in scores],
            textposition="auto",
            customdata=ranks,
            hovertemplate=f"%{{y}}<br>{metric_label('ranking_score')}: %{{x:.1f}}<br>{t('col.rank')}: %{{customdata}}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    # the scores of a district sit close together: start the axis near the lowest score
    low = min((v for v in scores if v is not None), default=0.0)
    fig.update_xaxes(title=metric_label("ranking_score"), range=[max(0.0, low - 5), 100.5])
    return _layout(fig, height=max(300, 28 * len(names) + 80), showlegend=False)


@per_frame
def active_bars(frame: pl.DataFrame, *, key: str = "volunteer_hours_per_1k") -> go.Figure:
    """Most active (solid) and least active (faint) communities by ``key``, one bar each."""
    fig = go.Figure()
    for group, opacity in (("most", 1.0), ("least", 0.45)):
        rows = [r for r in frame.iter_rows(named=True) if r["group"] == group]
        if not rows:
            continue
        values = [r[key] for r in rows]
        fig.add_trace(
            go.Bar(
                y=[plain_html(r["name"]) for r in rows],
                x=values,
                orientation="h",
                name=t(f"code.active_group.{group}"),
                marker={"color": color(key), "opacity": opacity},
                text=_value_text(key, values),
                textposition="auto",
                customdata=[
                    (
                        format_value(key, r[key]),
                        format_value("volunteer_hours", r["volunteer_hours"]),
                        format_value("activities", r["activities"]),
                    )
                    for r in rows
                ],
                hovertemplate=(
                    f"%{{y}}<br>{metric_label(key)}: %{{customdata[0]}}"
                    f"<br>{metric_label('volunteer_hours')}: %{{customdata[1]}}"
                    f"<br>{metric_label('activities')}: %{{customdata[2]}}<extra></extra>"
                ),
            )
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=metric_label(key), tickformat=",")
    return _layout(fig, height=max(300, 34 * frame.height + 100))
