"""Case-closure queries (案件办结): the closed loop, trend, categories and sources, handling
units, time to close, overdue and due-soon lists.

Each query takes a ``Dataset``, the ``Filter``, the role ``Scope`` and a ``Window`` (the
filter's own when none is given), composes the named expressions of ``metrics`` over
the cases the filter's basis selects (``figures.case_counts`` / ``figures.basis_cases``)
and collects once. Figures agree with ``figures.kpis`` for the
same arguments (the tests check it); personal data leaves this module masked unless the
scope allows it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_layer.domain import metrics, schema
from data_layer.domain.filters import Filter, Window
from data_layer.domain.privacy import mask_personal
from data_layer.domain.scope import Scope
from data_layer.queries import figures
from data_layer.storage.source import Dataset, load_sla_hours

COMPARISONS = ("previous", "last_year", "none")
BUCKETS = {"week": "1w", "month": "1mo"}
TREND_COLUMNS = ("reported", "due", "closed", "closed_on_time", "closure_rate", "on_time_rate")
OPEN_LIST_COLUMNS = (
    "case_id",
    "street_name",
    "community_name",
    "grid_name",
    "category",
    "source",
    "handling_unit",
    "reported_at",
    "due_at",
)


def _flagged(cases: pl.LazyFrame, window: Window) -> pl.LazyFrame:
    return cases.with_columns(metrics.case_flags(as_of=window.as_of))


# -- comparison windows ----------------------------------------------------------------------


def _shift_years(value, years: int):
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


def comparison_window(window: Window, compare: str) -> Window | None:
    """The window a trend is compared with.

    ``previous``: ``Window.previous`` (the previous calendar month/quarter/year over the same
    days, or the range of equal length just before); ``last_year``: the same dates and as_of
    one year earlier; ``none``: no comparison.
    """
    if compare == "previous":
        return window.previous()
    if compare == "last_year":
        return Window(
            start=_shift_years(window.start, -1),
            end=_shift_years(window.end, -1),
            as_of=_shift_years(window.as_of, -1),
        )
    if compare == "none":
        return None
    raise ValueError(f"compare must be one of {COMPARISONS}, got {compare!r}")


def comparison_dates(window: Window, compare: str = "previous") -> tuple[dt.date, dt.date] | None:
    """First and last day the comparison counts, for a card's 较上期 (11-01 至 11-02).

    The last day is the comparison's as-of day while it runs on (a running period is
    compared with the same elapsed days), so the dates say what was really compared.
    None for ``compare="none"``.
    """
    other = comparison_window(window, compare)
    return None if other is None else (other.start, other.last_day)


# -- the closed loop -------------------------------------------------------------------------


def case_funnel(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """The closed loop 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 → 评价.

    One row per stage (``metrics.FUNNEL_STAGES``): ``count`` (cases that reached it by
    as_of), ``share`` of reported, ``drop_off`` (reached the stage before but not this one:
    at 立案 the rejected and not-yet-registered cases, later the cases still open at the
    stage before, at 评价 the closed cases without a rating), ``rejected`` (立案 row only)
    and ``median_hours`` spent reaching the stage from the one before. The funnel follows
    the cases reported in the window whatever the basis (each stage is a subset of the one
    before), so under the assessment basis its 结案 is not the KPI ``closed``.
    """
    window = window or flt.window()
    row = figures.settled_funnel(ds, flt, scope, window)
    if row is None:
        row = (
            _flagged(figures.cases_in_window(ds, flt, scope, window), window)
            .with_columns(metrics.funnel_flags(as_of=window.as_of))
            .select(metrics.funnel_aggregations())
            .collect()
            .row(0, named=True)
        )
    stages = list(metrics.FUNNEL_STAGES)
    counts = [int(row[s] or 0) for s in stages]
    reported = counts[0]
    return pl.DataFrame(
        {
            "stage": stages,
            "count": counts,
            "share": [c / reported if reported else None for c in counts],
            "drop_off": [None, *(a - b for a, b in zip(counts[:-1], counts[1:], strict=True))],
            "rejected": [int(row["rejected"] or 0) if s == "registered" else None for s in stages],
            "median_hours": [row.get(f"{s}_hours") for s in stages],
        },
        schema={
            "stage": pl.String,
            "count": pl.Int64,
            "share": pl.Float64,
            "drop_off": pl.Int64,
            "rejected": pl.Int64,
            "median_hours": pl.Float64,
        },
    )


# -- trend -----------------------------------------------------------------------------------


def _trend_counts(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window, bucket: pl.Expr
) -> pl.LazyFrame:
    counts = figures.case_counts(ds, flt, scope, window, by=[bucket], with_hours=False)
    return metrics.add_rates(counts).select("bucket", *TREND_COLUMNS)


def case_trend(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    every: str = "month",
    compare: str = "previous",
) -> pl.DataFrame:
    """Reported, closed, closure and on-time rate per week or month, with a comparison.

    ``bucket`` is the first day of the week (Monday) or month of each case's
    ``figures.PERIOD_TIME`` (its report; under the assessment basis, for the due-side
    counts, its assessment), or the window's first day for a week or month that began
    before the window. The comparison window's cases are moved onto this window's time
    line (by the distance between the two starts) before bucketing, so ``cmp_<column>`` of
    a bucket is the same stretch of the previous period or of last year. Rates of both use
    their own window's as_of.
    """
    window = window or flt.window()
    if every not in BUCKETS:
        raise ValueError(f"every must be one of {tuple(BUCKETS)}, got {every!r}")
    step = BUCKETS[every]
    first = pl.lit(window.start, dtype=pl.Date)

    def bucket(times: pl.Expr) -> pl.Expr:
        # a week or month that began before the window is labelled by the window's start
        return pl.max_horizontal(times.dt.truncate(step).dt.date(), first).alias("bucket")

    period_time = pl.col(figures.PERIOD_TIME)
    result = _trend_counts(ds, flt, scope, window=window, bucket=bucket(period_time))
    other = comparison_window(window, compare)
    if other is not None:
        # the comparison's cases moved onto this window's time line
        if compare == "last_year":
            shifted = period_time.dt.offset_by("1y")
        else:
            shifted = period_time + pl.duration(days=(window.start - other.start).days)
        cmp = _trend_counts(ds, flt, scope, window=other, bucket=bucket(shifted)).rename(
            {c: f"cmp_{c}" for c in TREND_COLUMNS}
        )
        result = result.join(cmp, on="bucket", how="full", coalesce=True)
    frame = result.sort("bucket").collect()
    count_cols = [c for c in frame.columns if c.removeprefix("cmp_") in metrics.CASE_COUNT_COLUMNS]
    return frame.with_columns(pl.col(count_cols).fill_null(0))


# -- categories, sources, handling units -----------------------------------------------------


def _with_sla(
    frame: pl.LazyFrame, *, column: str, sla_hours: dict[str, int] | None
) -> pl.LazyFrame:
    sla = sla_hours if sla_hours is not None else load_sla_hours()
    return frame.with_columns(
        pl.col(column).replace_strict(sla, default=None, return_dtype=pl.Int64).alias("sla_hours")
    )


def case_breakdown(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    by: str = "category",
    sla_hours: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Case metrics per category or source, every code in the filter (zero rows included).

    Columns: ``code``, the case count columns, every case rate, median/p90 hours to close,
    ``low_volume`` (``metrics.is_low_volume`` of due) and, by category, ``sla_hours``.
    """
    window = window or flt.window()
    codes = {"category": schema.CATEGORIES, "source": schema.SOURCES}
    if by not in codes:
        raise ValueError(f"by must be 'category' or 'source', got {by!r}")
    chosen = flt.categories if by == "category" else flt.sources
    wanted = [c for c in codes[by] if not chosen or c in chosen]
    base = pl.LazyFrame({"code": wanted}, schema={"code": pl.String})
    counts = figures.case_counts(ds, flt, scope, window, by=[pl.col(by).alias("code")])
    frame = base.join(counts, on="code", how="left", maintain_order="left").with_columns(
        pl.col(metrics.CASE_COUNT_COLUMNS).fill_null(0)
    )
    frame = metrics.add_rates(frame).with_columns(
        metrics.is_low_volume(pl.col("due")).alias("low_volume")
    )
    if by == "category":
        frame = _with_sla(frame, column="code", sla_hours=sla_hours)
    return frame.collect()


def unit_scorecard(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None
) -> pl.DataFrame:
    """承办单位 scorecard: volume, on-time, rework, satisfaction, overdue per handling unit.

    Cases with no handling unit (not dispatched) are left out. Sorted by open overdue
    cases, then volume. ``low_volume`` flags units with too few due cases
    (``metrics.is_low_volume``: their rates are not comparable).
    """
    window = window or flt.window()
    counts = figures.case_counts(ds, flt, scope, window, by=[pl.col("handling_unit")])
    return (
        metrics.add_rates(counts.filter(pl.col("handling_unit").is_not_null()))
        .with_columns(metrics.is_low_volume(pl.col("due")).alias("low_volume"))
        .sort(["overdue_open", "registered", "handling_unit"], descending=[True, True, False])
        .collect()
    )


def close_time_stats(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    sla_hours: dict[str, int] | None = None,
) -> pl.DataFrame:
    """Hours from report to close per category (closed cases): min, p10, q1, median, q3,
    p90, max, and the category deadline ``sla_hours`` (counted from registration, so it
    marks the target, not an exact cut). Categories without closed cases are left out.
    The closed cases are those of the KPI ``closed`` under the filter's basis.
    """
    window = window or flt.window()
    order = {code: i for i, code in enumerate(schema.CATEGORIES)}
    stats = figures.hours_distribution(ds, flt, scope, window, key="category")
    return (
        _with_sla(stats, column="category", sla_hours=sla_hours)
        .with_columns(
            pl.col("category")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_order")
        )
        .sort("_order")
        .drop("_order")
        .collect()
    )


# -- overdue and due-soon lists --------------------------------------------------------------


def _name_tables(ds: Dataset) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame]:
    grids = ds.lazy("grids").select("grid_code", pl.col("name").alias("grid_name"))
    communities = ds.lazy("communities").select(
        "community_code", pl.col("name").alias("community_name")
    )
    streets = ds.lazy("streets").select("street_code", pl.col("name").alias("street_name"))
    return grids, communities, streets


def open_cases(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    kind: str = "overdue",
) -> pl.DataFrame:
    """超期 (``kind="overdue"``) or 临期 (``"at_risk"``) cases, as counted by the KPIs.

    Columns: case, street/community/grid names, category, source, unit, report and due
    times, ``hours_overdue`` (overdue, longest first) or ``hours_left`` (at risk, soonest
    first), and the reporter's name and phone — masked (张*, 138****1234) unless the scope
    may see personal data. Overdue cases follow the filter's basis, at-risk ones the cases
    reported in the window (``metrics.REPORT_TIME_COLUMNS``), like their KPI counts.
    """
    window = window or flt.window()
    if kind not in ("overdue", "at_risk"):
        raise ValueError(f"kind must be 'overdue' or 'at_risk', got {kind!r}")
    flag, hours = (
        ("_overdue_open", metrics.hours_overdue_expr(as_of=window.as_of))
        if kind == "overdue"
        else ("_at_risk", metrics.hours_left_expr(as_of=window.as_of))
    )
    grids, communities, streets = _name_tables(ds)
    cases = (
        figures.basis_cases(ds, flt, scope, window, open_only=True)
        if kind == "overdue"
        else figures.cases_in_window(ds, flt, scope, window, open_only=True)
    )
    lf = (
        _flagged(cases, window)
        .filter(pl.col(flag))
        .with_columns(hours)
        .join(grids, on="grid_code", how="left")
        .join(communities, on="community_code", how="left")
        .join(streets, on="street_code", how="left")
        .select(*OPEN_LIST_COLUMNS, hours.meta.output_name(), "reporter_name", "reporter_phone")
        # ties by case id: the same list whichever path (scan, index, history) found it
        .sort([hours.meta.output_name(), "case_id"], descending=[kind == "overdue", False])
    )
    return mask_personal(lf, allowed=scope.personal_data).collect()
