"""The KPIs and what every query builds on: areas in scope, records in the window.

``kpis`` composes the metric expressions of ``metrics`` over the tables of a ``Dataset``
for a Filter and a Scope, and collects at the end, so callers get plain frames. The
page-family queries (``cases``, ``coverage``, ``volunteer``, ``ranking``) start from the
same scoped areas and window selections, so their figures agree with the KPIs.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import polars as pl

from data_layer.domain import areas, metrics
from data_layer.domain.filters import BASES, Filter, Window
from data_layer.domain.scope import Scope
from data_layer.queries import case_index, history, hours_order, stage_hours
from data_layer.storage.source import Dataset

SCOPE_CODE = "all"

# The exact reference path: every case selection scans the whole cases table (the
# evaluation the fast path must agree with; tests and bench/queries.py switch it on).
_EXACT = contextvars.ContextVar("gridpulse_exact_path", default=False)


@contextlib.contextmanager
def exact_path() -> Iterator[None]:
    """Within this block, queries select cases by scanning the whole table (no index)."""
    token = _EXACT.set(True)
    try:
        yield
    finally:
        _EXACT.reset(token)


# -- areas in scope ----------------------------------------------------------------------


def scoped_communities(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    as_of: dt.datetime | None = None,
    retired: bool = False,
) -> pl.LazyFrame:
    """Communities the filter and the role scope select (no geometry): those of the division
    at ``as_of`` (None: the current one), or every one ever (``retired``).

    Both the street and the community limits of the scope apply: a community account sees
    its communities only, whatever street or community the filter names.
    """
    lf = ds.lazy("communities").drop("geometry")
    if not retired:
        lf = lf.filter(areas.in_division(as_of))
    streets = scope.allowed_streets(flt.streets)
    if streets is not None:
        lf = lf.filter(pl.col("street_code").is_in(list(streets)))
    communities = scope.allowed_communities(flt.communities)
    if communities is not None:
        lf = lf.filter(pl.col("community_code").is_in(list(communities)))
    return lf


def scoped_grids(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    as_of: dt.datetime | None = None,
    retired: bool = False,
) -> pl.LazyFrame:
    """Grids in scope, with their community and street codes (no geometry): those of the
    division at ``as_of`` (None: the current one), or every one ever (``retired``)."""
    lf = ds.lazy("grids").drop("geometry")
    if not retired:
        lf = lf.filter(areas.in_division(as_of))
    return lf.join(
        scoped_communities(ds, flt, scope, as_of=as_of, retired=retired).select(
            "community_code", "street_code"
        ),
        on="community_code",
        how="inner",
    )


def area_names(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    level: str,
    as_of: dt.datetime | None = None,
    with_retired_cases: bool = False,
) -> pl.DataFrame:
    """code, name and parent codes of every area of ``level`` in scope, sorted by code: the
    division at ``as_of`` (None: the current one) and, ``with_retired_cases``, the areas
    retired by then that still hold cases (kept under them by a re-division); ``retired``
    tells them apart."""
    communities = scoped_communities(ds, flt, scope, as_of=as_of, retired=with_retired_cases)
    if level == "street":
        codes = communities.select("street_code").unique()
        lf = ds.lazy("streets").drop("geometry").join(codes, on="street_code", how="semi")
        if not with_retired_cases:
            lf = lf.filter(areas.in_division(as_of))
        lf = lf.select(pl.col("street_code").alias("code"), "name", *_LIFETIME)
    elif level == "community":
        lf = communities.select(
            pl.col("community_code").alias("code"), "name", "street_code", *_LIFETIME
        )
    else:
        lf = scoped_grids(ds, flt, scope, as_of=as_of, retired=with_retired_cases).select(
            pl.col("grid_code").alias("code"),
            "name",
            "community_code",
            "street_code",
            "kind",
            *_LIFETIME,
        )
    current = areas.in_division(as_of)
    if with_retired_cases:
        lf = lf.filter(_came(as_of))
        if _any_retired(ds, level=level, as_of=as_of):
            held = (
                grid_at(ds.lazy("cases"), ds, as_of=as_of)
                .select(areas.codes_of(pl.col("grid_code"), level=level).alias("code"))
                .unique()
                .collect()["code"]
            )
            lf = lf.filter(current | pl.col("code").is_in(held.to_list()))
        else:
            lf = lf.filter(current)
    return lf.with_columns((~current).alias("retired")).drop(*_LIFETIME).sort("code").collect()


def _came(as_of: dt.datetime | None) -> pl.Expr:
    """Areas that existed at ``as_of`` (retired or not): not added by a later re-division."""
    if as_of is None:
        return pl.lit(True)
    return pl.col("valid_from").is_null() | (
        pl.col("valid_from") <= pl.lit(as_of, dtype=pl.Datetime("us"))
    )


def _any_retired(ds: Dataset, *, level: str, as_of: dt.datetime | None) -> bool:
    """Whether any area of ``level`` is retired at ``as_of`` (cheap: most data never is)."""
    return not ds[areas.TABLE[level]].filter(~areas.in_division(as_of) & _came(as_of)).is_empty()


_LIFETIME = ("valid_from", "retired_at")


def street_options(ds: Dataset, scope: Scope) -> pl.DataFrame:
    """Streets a user may pick: code and name."""
    return area_names(ds, Filter(), scope, level="street")


def community_options(ds: Dataset, scope: Scope, *, streets: tuple[str, ...]) -> pl.DataFrame:
    """Communities of the chosen streets (all in scope if none chosen)."""
    return area_names(ds, Filter(streets=streets), scope, level="community")


# -- cases in the window ------------------------------------------------------------------


# The time that put a case in the window (``case_index.PERIOD_TIME``): group expressions
# may use it (trend buckets), so one grouping works for both selections.
PERIOD_TIME = case_index.PERIOD_TIME


def grid_at(cases: pl.LazyFrame, ds: Dataset, *, as_of: dt.datetime | None) -> pl.LazyFrame:
    """``cases`` with ``grid_code`` the grid each case was under at ``as_of``: a case moved by
    a re-division after ``as_of`` counts under the grid it left (``case_moves``), so a frozen
    meeting keeps its figures. None: the current grid."""
    later = _moves_after(ds, as_of)
    if later is None:
        return cases
    first = (
        later.sort("moved_at")
        .unique("case_id", keep="first", maintain_order=True)
        .select("case_id", pl.col("from_grid_code").alias("_grid_then"))
    )
    return (
        cases.join(first.lazy(), on="case_id", how="left")
        .with_columns(pl.coalesce("_grid_then", "grid_code").alias("grid_code"))
        .drop("_grid_then")
    )


def _moves_after(ds: Dataset, as_of: dt.datetime | None) -> pl.DataFrame | None:
    """The case moves of re-divisions after ``as_of`` (None when there are none)."""
    moves = ds.tables.get("case_moves")
    if as_of is None or moves is None or moves.is_empty():
        return None
    later = moves.filter(pl.col("moved_at") > pl.lit(as_of, dtype=pl.Datetime("us")))
    return None if later.is_empty() else later


def _scoped_cases(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    where: pl.Expr,
    as_of: dt.datetime,
    rows: Callable[[case_index.CaseIndex], pl.DataFrame | pl.LazyFrame] | None = None,
) -> pl.LazyFrame:
    """Cases of scoped grids, category and source that satisfy ``where``, each under the grid
    it was in at ``as_of``. Every grid counts, retired ones too: the cases a re-division kept
    under a retired grid still count in its community (docs/import.md).

    ``rows`` narrows the cases scanned (a window's slice of the case index); ``where`` still
    decides. The exact path (``exact_path``, and any as-of before a re-division moved cases)
    scans the whole table and joins it with the scoped grids; the fast path filters the
    index's rows, which carry their grid's community and street already, by the scoped
    communities: the same rows and columns (docs/architecture.md, "The fast path").
    """
    if _EXACT.get() or _moves_after(ds, as_of) is not None:
        grids = scoped_grids(ds, flt, scope, retired=True).select(
            "grid_code", "community_code", "street_code"
        )
        lf = _by_codes(ds.lazy("cases").filter(where), flt)
        return grid_at(lf, ds, as_of=as_of).join(grids, on="grid_code", how="inner")
    index = case_index.case_index(ds)
    lf = (rows(index) if rows is not None else index.cases).lazy().filter(where)
    lf = _by_codes(lf, flt)
    if (
        scope.allowed_streets(flt.streets) is None
        and scope.allowed_communities(flt.communities) is None
    ):
        return lf.filter(pl.col("community_code").is_not_null())
    codes = scoped_communities(ds, flt, scope, retired=True).select("community_code").collect()
    return lf.filter(pl.col("community_code").is_in(codes.to_series().implode()))


def _by_codes(lf: pl.LazyFrame, flt: Filter) -> pl.LazyFrame:
    if flt.categories:
        lf = lf.filter(pl.col("category").is_in(list(flt.categories)))
    if flt.sources:
        lf = lf.filter(pl.col("source").is_in(list(flt.sources)))
    return lf


def _open_rows(ds: Dataset, window: Window, basis: str) -> pl.DataFrame | None:
    """The cases the settled history says a window must count exactly, when it is built:
    every case open at the as-of is among them (a settled case is closed by then, or never
    registered)."""
    base = history.ready(ds)
    if base is None:
        return None
    rest = history.rest(
        ds, base, basis=basis, first=window.start, last=window.last_day, as_of=window.as_of
    )
    return rest.drop(history.SETTLE_DAY).collect()


def cases_in_window(
    ds: Dataset, flt: Filter, scope: Scope, window: Window, *, open_only: bool = False
) -> pl.LazyFrame:
    """Cases of scoped grids, category and source, reported within the window; with
    ``open_only`` only the registered ones not closed at ``as_of`` (the open-case lists).

    The window ends at the end of its last day or at ``as_of``, whichever is earlier:
    a case reported after ``as_of`` was not known then. ``PERIOD_TIME`` = ``reported_at``.
    """
    start, end = window.start_time, window.end_time
    where = metrics.reported_between(start, end)
    rows = lambda index: index.reported_between(start, end)  # noqa: E731
    if open_only:
        where = where & metrics.open_at(as_of=window.as_of) & metrics.registered(window.as_of)
        found = _open_rows(ds, window, "report")
        if found is not None:
            rows = lambda index: found  # noqa: E731
    return _scoped_cases(ds, flt, scope, where=where, as_of=window.as_of, rows=rows).with_columns(
        pl.col("reported_at").alias(PERIOD_TIME)
    )


def cases_assessed_in_window(
    ds: Dataset, flt: Filter, scope: Scope, window: Window, *, open_only: bool = False
) -> pl.LazyFrame:
    """Registered cases of scoped grids, category and source assessed within the window
    (按考核时间: at ``min(closed_at, due_at)``, as known at ``as_of``), whenever reported;
    with ``open_only`` only those not closed at ``as_of``.

    Every one of them is due; a case open with its deadline ahead is not assessed yet.
    ``PERIOD_TIME`` = the assessment time.
    """
    assessed = metrics.assessment_time(as_of=window.as_of)
    where = metrics.assessed_between(window.start_time, window.end_time, as_of=window.as_of)

    def rows(index: case_index.CaseIndex) -> pl.DataFrame | pl.LazyFrame:
        return case_index.assessment_order(ds).assessable_between(
            index.cases, window.start_time, window.end_time
        )

    if open_only:
        where = where & metrics.open_at(as_of=window.as_of)
        found = _open_rows(ds, window, "assessment")
        if found is not None:
            rows = lambda index: found  # noqa: E731
    return _scoped_cases(ds, flt, scope, where=where, as_of=window.as_of, rows=rows).with_columns(
        assessed.alias(PERIOD_TIME)
    )


def basis_cases(
    ds: Dataset, flt: Filter, scope: Scope, window: Window, *, open_only: bool = False
) -> pl.LazyFrame:
    """The cases the filter's basis selects for the due-side figures (docs/metrics.md)."""
    if flt.basis == "report":
        return cases_in_window(ds, flt, scope, window, open_only=open_only)
    if flt.basis == "assessment":
        return cases_assessed_in_window(ds, flt, scope, window, open_only=open_only)
    raise ValueError(f"basis must be one of {BASES}, got {flt.basis!r}")


def case_counts(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    window: Window,
    *,
    by: Sequence[pl.Expr] = (),
    with_hours: bool = True,
) -> pl.LazyFrame:
    """Case counts and (``with_hours``) hours to close per ``by`` group under the filter's
    basis.

    ``by`` are expressions over the cases (they may use ``PERIOD_TIME``, by its date only:
    the settled history knows days); none gives one row. ``metrics.REPORT_TIME_COLUMNS`` always count the cases reported in the window;
    the other columns count the cases ``basis_cases`` selects. Under the assessment basis
    a group present in only one of the two selections gets zeros in the other's counts.
    Where it applies the settled history answers (``_settled_case_counts``), with the
    same frame.
    """
    settled = _settled_case_counts(ds, flt, scope, window, by=by, with_hours=with_hours)
    if settled is not None:
        return settled
    keys = [e.meta.output_name() for e in by]

    def counts(cases: pl.LazyFrame) -> pl.LazyFrame:
        return metrics.case_counts(
            cases.with_columns(by), by=keys, as_of=window.as_of, with_hours=with_hours
        )

    reported = counts(cases_in_window(ds, flt, scope, window))
    if flt.basis == "report":
        return reported
    columns = reported.collect_schema().names()
    assessed = counts(basis_cases(ds, flt, scope, window)).drop(metrics.REPORT_TIME_COLUMNS)
    intake = reported.select(*keys, *metrics.REPORT_TIME_COLUMNS)
    joined = (
        intake.join(assessed, on=keys, how="full", coalesce=True)
        if keys
        else intake.join(assessed, how="cross")
    )
    return joined.select(columns).with_columns(pl.col(metrics.CASE_COUNT_COLUMNS).fill_null(0))


# What the settled history's day counts carry: a ``by`` over these only can be answered
# from them (the day stands for the period time: buckets of weeks or months, also shifted
# by whole days or years, are those of the day).
_HISTORY_COLUMNS = frozenset({PERIOD_TIME, "community_code", "street_code"})


def _history_level(by: Sequence[pl.Expr]) -> str | None | bool:
    """The area level ``by`` groups by (None: the scope row), or False for another ``by``."""
    for level in history.AREA_LEVELS:
        if len(by) == 1 and by[0].meta.eq(_group_key(level)):
            return level
    return False


def _settled_case_counts(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    window: Window,
    *,
    by: Sequence[pl.Expr],
    with_hours: bool,
) -> pl.LazyFrame | None:
    """``case_counts`` through the settled history (``history``): the settled cases' counts
    added up by day, the rest of the window flagged exactly, the hours statistics read off
    the closed cases' order (``hours_order``). None where it does not apply — a dataset not
    served, a category or source filter, a ``by`` it does not know, an as-of before a
    re-division moved cases, the exact path — and ``case_counts`` answers, with the same
    frame."""
    if (
        _EXACT.get()
        or flt.categories
        or flt.sources
        or not by
        or _moves_after(ds, window.as_of) is not None
    ):
        return None
    key = _history_key(by)
    if key is not None and with_hours:
        return _settled_key_counts(ds, flt, scope, window, key=key, name=by[0].meta.output_name())
    level = _history_level(by) if with_hours else None
    if level is False or any(set(e.meta.root_names()) - _HISTORY_COLUMNS for e in by):
        return None
    base = history.ready(ds) if _long_window(ds, window) else None
    if base is None:
        return None
    communities = _limited_communities(ds, flt, scope)
    keys = [e.meta.output_name() for e in by]
    roots = {name for e in by for name in e.meta.root_names()}

    def side(basis: str) -> pl.LazyFrame:
        settled = history.settled_counts(
            ds,
            base,
            basis_days=basis,
            first=window.start,
            last=window.last_day,
            communities=communities,
            by_day=PERIOD_TIME in roots,
            by_area=bool(roots - {PERIOD_TIME}),
        )
        return _sum_parts(
            settled.lazy()
            .with_columns(by)
            .group_by(keys)
            .agg(pl.col(metrics.CASE_COUNT_COLUMNS).sum()),
            _rest_parts(ds, base, basis, window, communities, by=by),
            keys=keys,
        )

    counts = _both_bases(side, flt, keys)
    if level is None and with_hours:  # one row for the scope, cases or not (as the scan)
        counts = (
            pl.LazyFrame({"code": [SCOPE_CODE]})
            .join(counts, on="code", how="left")
            .with_columns(pl.col(metrics.CASE_COUNT_COLUMNS).fill_null(0))
        )
    if not with_hours:
        return counts.select(*keys, *metrics.CASE_COUNT_COLUMNS)
    counts = counts.collect()
    hours = hours_order.hours_stats(
        ds,
        level=level,
        basis=flt.basis,
        start=window.start_time,
        end=window.end_time,
        as_of=window.as_of,
        communities=communities,
        scope_code=SCOPE_CODE,
        nulls=_not_closed(counts, "code", flt.basis),
    )
    return (
        counts.lazy()
        .join(hours.lazy(), on="code", how="left")
        .select("code", *metrics.CASE_COUNT_COLUMNS, "hours_to_close_median", "hours_to_close_p90")
    )


def _long_window(ds: Dataset, window: Window) -> bool:
    """Whether the window reports enough cases for the settled history to pay: below
    ``history.MIN_WINDOW_ROWS`` the index's slice is quicker than the history's fixed costs
    (the hours order is marked whole)."""
    rows = case_index.case_index(ds).reported_between(window.start_time, window.end_time)
    return rows.height >= history.MIN_WINDOW_ROWS


def _history_key(by: Sequence[pl.Expr]) -> str | None:
    """The key column of ``history.KEYS`` that ``by`` groups by as it is (maybe renamed)."""
    if len(by) != 1:
        return None
    bare = by[0].meta.undo_aliases()
    return next((k for k in history.KEYS if bare.meta.eq(pl.col(k))), None)


def _limited_communities(ds: Dataset, flt: Filter, scope: Scope) -> pl.Series | None:
    """The community codes the filter and scope allow, or None when nothing limits them."""
    if (
        scope.allowed_streets(flt.streets) is None
        and scope.allowed_communities(flt.communities) is None
    ):
        return None
    return (
        scoped_communities(ds, flt, scope, retired=True)
        .select("community_code")
        .collect()
        .to_series()
    )


def _rest_parts(
    ds: Dataset,
    base: history.Base,
    basis: str,
    window: Window,
    communities: pl.Series | None,
    *,
    by: Sequence[pl.Expr],
) -> list[pl.LazyFrame]:
    """The counts that correct the settled history's for the window (``history``): the
    cases it must count exactly, flagged at the as-of, and minus those of them the base
    counted (settled after the as-of's midnight but by the base time), with their final
    flags. Grouped by ``by`` (``PERIOD_TIME``: the report or assessment time)."""
    start, end, as_of = window.start_time, window.end_time, window.as_of
    rest = history.rest(
        ds, base, basis=basis, first=window.start, last=window.last_day, as_of=as_of
    )
    if communities is not None:
        rest = rest.filter(pl.col("community_code").is_in(communities.implode()))
    if basis == "report":
        where, time = metrics.reported_between(start, end), pl.col("reported_at")
        final = pl.col("reported_at")
    else:
        where = metrics.assessed_between(start, end, as_of=as_of)
        time = metrics.assessment_time(as_of=as_of)
        final = pl.min_horizontal("closed_at", "due_at")
    keys = [e.meta.output_name() for e in by]

    def counted(rows: pl.LazyFrame, at: dt.datetime, period: pl.Expr) -> pl.LazyFrame:
        return (
            rows.with_columns(period.alias(PERIOD_TIME))
            .with_columns(metrics.case_flags(as_of=at))
            .with_columns(by)
            .group_by(keys)
            .agg(metrics.case_count_aggregations())
        )

    exact = counted(rest.filter(where), as_of, time)
    if history.live(base, as_of):  # none of the rest is the base's: one flag pass
        return [exact]
    counted_by_base = rest.filter(
        history.base_part(base, basis=basis, first=window.start, last=window.last_day)
    )
    return [
        exact,
        counted(counted_by_base, base.at, final).with_columns(-pl.col(metrics.CASE_COUNT_COLUMNS)),
    ]


def _sum_parts(settled: pl.LazyFrame, rest: list[pl.LazyFrame], *, keys: list[str]) -> pl.LazyFrame:
    """The parts' counts added per group; a group left with no case (each case adds one to
    ``reported``) is no group of the scan."""
    return (
        pl.concat([settled, *rest])
        .group_by(keys)
        .agg(pl.col(metrics.CASE_COUNT_COLUMNS).sum())
        .filter(pl.col("reported") > 0)
    )


def _both_bases(
    side: Callable[[str], pl.LazyFrame],
    flt: Filter,
    keys: list[str],
    *,
    with_hours: Callable[[pl.LazyFrame], pl.LazyFrame] | None = None,
) -> pl.LazyFrame:
    """The basis side's counts (``with_hours`` adds its hours columns) and, under the
    assessment basis, the report side's intake columns joined on — as ``case_counts`` joins
    the two selections (a null key of each side stays a row of its own)."""
    counts = side(flt.basis)
    if with_hours is not None:
        counts = with_hours(counts)
    if flt.basis == "report":
        return counts
    intake = side("report").select(*keys, *metrics.REPORT_TIME_COLUMNS)
    return intake.join(
        counts.drop(metrics.REPORT_TIME_COLUMNS), on=keys, how="full", coalesce=True
    ).with_columns(pl.col(metrics.CASE_COUNT_COLUMNS).fill_null(0))


def _not_closed(counts: pl.DataFrame, key: str, basis: str) -> pl.DataFrame:
    """Per group, the selected cases that are not closed: what polars' quantile of the scan
    counts as nulls (``hours_order.quantile``)."""
    selected = pl.col("reported" if basis == "report" else "due")
    return counts.select(key, (selected - pl.col("closed")).alias("nulls"))


def _settled_key_counts(
    ds: Dataset, flt: Filter, scope: Scope, window: Window, *, key: str, name: str
) -> pl.LazyFrame | None:
    """``case_counts`` by a key column (category, source, handling unit; output ``name``)
    through the settled history's counts per key: None when the filter or scope limits the
    areas (their cases are few: the index path is quick there)."""
    if _limited_communities(ds, flt, scope) is not None:
        return None
    base = history.ready(ds, keys=True) if _long_window(ds, window) else None
    if base is None:
        return None

    def side(basis: str) -> pl.LazyFrame:
        settled = history.key_counts(
            base, key=key, basis_days=basis, first=window.start, last=window.last_day
        )
        rest = _rest_parts(ds, base, basis, window, None, by=[pl.col(key)])
        return _sum_parts(settled.lazy(), rest, keys=[key])

    def with_hours(counts: pl.LazyFrame) -> pl.LazyFrame:
        counts = counts.collect()
        hours = hours_order.key_stats(
            ds,
            key=key,
            basis=flt.basis,
            start=window.start_time,
            end=window.end_time,
            as_of=window.as_of,
            communities=None,
            nulls=_not_closed(counts, key, flt.basis),
            quantiles={"hours_to_close_median": 0.5, "hours_to_close_p90": 0.9},
        ).drop("closed")
        return counts.lazy().join(hours.lazy(), on=key, how="left", nulls_equal=True)

    return _both_bases(side, flt, [key], with_hours=with_hours).select(
        pl.col(key).alias(name),
        *metrics.CASE_COUNT_COLUMNS,
        "hours_to_close_median",
        "hours_to_close_p90",
    )


def settled_funnel(ds: Dataset, flt: Filter, scope: Scope, window: Window) -> dict | None:
    """``metrics.funnel_aggregations``' row over the cases reported in the window, through
    the settled history (``stage_hours``): None where it does not apply — as for
    ``_settled_key_counts``, and a scope or filter that limits the areas (their cases are
    few: the index path is quick there) — and ``cases.case_funnel`` scans, with the same
    row."""
    if (
        _EXACT.get()
        or flt.categories
        or flt.sources
        or _moves_after(ds, window.as_of) is not None
        or _limited_communities(ds, flt, scope) is not None
    ):
        return None
    base = history.ready(ds) if _long_window(ds, window) else None
    if base is None or base.stages is None:
        return None
    start, end, as_of = window.start_time, window.end_time, window.as_of
    rest = history.rest(
        ds, base, basis="report", first=window.start, last=window.last_day, as_of=as_of
    )
    taken = rest.filter(
        history.base_part(base, basis="report", first=window.start, last=window.last_day)
    )
    parts = [stage_hours.flags(rest.filter(metrics.reported_between(start, end)), as_of=as_of)]
    if not history.live(base, as_of):  # else none of the rest is the base's
        parts.append(stage_hours.flags(taken, as_of=base.at))
    exact, *taken = pl.collect_all(parts)
    taken = taken[0] if taken else exact.clear()
    index = case_index.case_index(ds)
    lo = int(np.searchsorted(index.reported_us, case_index.micros(start), side="left"))
    hi = int(np.searchsorted(index.reported_us, case_index.micros(end), side="right"))
    return stage_hours.funnel_row(
        base.stages,
        index.cases,
        base.settle_day,
        rows=(lo, hi),
        first=history.day_number(window.start),
        last=history.day_number(window.last_day),
        day=min(history.settle_day(as_of), base.day),
        at=base.at,
        exact=exact,
        taken=taken,
    )


def hours_distribution(
    ds: Dataset, flt: Filter, scope: Scope, window: Window, *, key: str
) -> pl.LazyFrame:
    """``metrics.hours_to_close_distribution`` per ``key`` value over the closed cases of the
    filter's basis: from the settled history's hours order where it applies (no category or
    source filter, a scope of whole streets, no re-division after the as-of), else by the
    scan of the window's cases."""
    if not (
        _EXACT.get() or flt.categories or flt.sources or _moves_after(ds, window.as_of) is not None
    ):
        communities = _limited_communities(ds, flt, scope)
        if _long_window(ds, window) and history.ready(ds) is not None:
            return hours_order.key_stats(
                ds,
                key=key,
                basis=flt.basis,
                start=window.start_time,
                end=window.end_time,
                as_of=window.as_of,
                communities=communities,
                nulls=None,  # closed cases only
                quantiles=metrics.HOURS_TO_CLOSE_QUANTILES,
            ).lazy()
    return (
        basis_cases(ds, flt, scope, window)
        .with_columns(metrics.case_flags(as_of=window.as_of))
        .filter(pl.col("_closed"))
        .group_by(key)
        .agg(metrics.hours_to_close_distribution())
    )


def latest_month_with_cases(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    """The latest calendar month (first day, last day) that has cases in scope, or None.

    For "the chosen period has no cases, but the data has some elsewhere" (an imported
    export of last year): the month of the latest case the filter's basis would select —
    reported, or assessed — as known at ``as_of``. Areas, categories and sources of ``flt``
    apply; its period does not.
    """
    if flt.basis == "assessment":
        time = metrics.assessment_time(as_of=as_of)
    else:
        time = pl.col("reported_at")
    known = time <= pl.lit(as_of, dtype=pl.Datetime("us"))
    latest = (
        _scoped_cases(
            ds,
            flt,
            scope,
            where=known.fill_null(False),
            as_of=as_of,
            rows=(lambda index: index.reported_until(as_of)) if flt.basis != "assessment" else None,
        )
        .select(time.max().alias("latest"))
        .collect()
        .item()
    )
    if latest is None:
        return None
    first = latest.date().replace(day=1)
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - dt.timedelta(days=1)


def activities_in_window(ds: Dataset, window: Window) -> pl.LazyFrame:
    """Volunteer activities held in the window (by ``date``)."""
    return ds.lazy("activities").filter(pl.col("date").is_between(window.start, window.last_day))


def party_reports_in_window(ds: Dataset, window: Window) -> pl.LazyFrame:
    """Party-member report-ins of the window (by ``reported_on``)."""
    return ds.lazy("party_reports").filter(
        pl.col("reported_on").is_between(window.start, window.last_day)
    )


def wishes_in_window(ds: Dataset, window: Window) -> pl.LazyFrame:
    """Micro-wishes created in the window (by ``created_at``)."""
    return ds.lazy("wishes").filter(
        pl.col("created_at").is_between(window.start_time, window.end_time)
    )


# -- KPIs -------------------------------------------------------------------------------


def _group_key(level: str | None) -> pl.Expr:
    if level is None:
        return pl.lit(SCOPE_CODE).alias("code")
    return pl.col(areas.KEY[level]).alias("code")


def kpis(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    by: str | None = None,
    window: Window | None = None,
) -> pl.DataFrame:
    """Every metric of DESIGN §2 with numerators and denominators.

    With ``by`` one row per area of that level in scope — also areas with no cases —
    else one row for the whole scope. Columns: ``level``, ``code``, ``name``, the count
    columns of ``metrics``, and one column per metric key (rates null on a 0 denominator).

    The steps: the rows (``_kpi_rows``), the counts of each family keyed by ``code``
    (cases: ``case_counts``; coverage: ``_coverage_counts``; volunteers:
    ``_volunteer_counts``), joined onto the rows, then the rates (``_with_rates``).
    """
    if by is not None and by not in areas.LEVELS:
        raise ValueError(f"by must be one of {areas.LEVELS}, got {by!r}")
    window = window or flt.window()
    key = _group_key(by)
    # coverage counts the division at as_of: a retired grid is no longer a grid to staff
    grids = scoped_grids(ds, flt, scope, as_of=window.as_of).with_columns(key)
    parts = [
        case_counts(ds, flt, scope, window, by=[key]),
        *_coverage_counts(ds, grids),
        *_volunteer_counts(ds, flt, scope, window, by=by, grids=grids),
    ]
    result = _kpi_rows(ds, flt, scope, by=by, as_of=window.as_of).lazy()
    for part in parts:
        result = result.join(part, on="code", how="left")
    return _with_rates(result, by=by).sort("code").collect()


def _kpi_rows(
    ds: Dataset, flt: Filter, scope: Scope, *, by: str | None, as_of: dt.datetime
) -> pl.DataFrame:
    """One row per area of ``by`` in scope at ``as_of`` (``code``, ``name``, ``retired``:
    also the retired areas that still hold cases), or the one scope row."""
    if by is None:
        return pl.DataFrame(
            {"code": [SCOPE_CODE], "name": [None], "retired": [False]},
            schema={"code": pl.String, "name": pl.String, "retired": pl.Boolean},
        )
    return area_names(ds, flt, scope, level=by, as_of=as_of, with_retired_cases=True).select(
        "code", "name", "retired"
    )


def _coverage_counts(ds: Dataset, grids: pl.LazyFrame) -> list[pl.LazyFrame]:
    """Grid coverage, households and grid population, and compounds, per ``code``."""
    grid_part = grids.group_by("code").agg(
        *metrics.grid_coverage_aggregations(),
        pl.col("households").sum().cast(pl.Int64).alias("households"),
        pl.col("population").sum().cast(pl.Int64).alias("grid_population"),
    )
    compounds = (
        ds.lazy("compounds")
        .join(grids.select("grid_code", "code"), on="grid_code", how="inner")
        .group_by("code")
        .agg(metrics.compound_aggregations())
    )
    return [grid_part, compounds]


def _volunteer_counts(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    window: Window,
    *,
    by: str | None,
    grids: pl.LazyFrame,
) -> list[pl.LazyFrame]:
    """Activities per ``code``; above the grid level also the community tables (workers and
    population, party reports, wishes), which cannot be split by grid."""
    activities_lf = activities_in_window(ds, window)
    if by == "grid":
        return [
            activities_lf.join(grids.select("grid_code", "code"), on="grid_code", how="inner")
            .group_by("code")
            .agg(metrics.activity_aggregations())
        ]
    communities = scoped_communities(ds, flt, scope, as_of=window.as_of).with_columns(
        _group_key(by)
    )
    community_keys = communities.select("community_code", "code")

    def per_code(frame: pl.LazyFrame, aggregations: list[pl.Expr]) -> pl.LazyFrame:
        return (
            frame.join(community_keys, on="community_code", how="inner")
            .group_by("code")
            .agg(aggregations)
        )

    return [
        communities.group_by("code").agg(
            pl.col("community_workers").sum().cast(pl.Int64).alias("community_workers"),
            pl.col("population").sum().cast(pl.Int64).alias("population"),
        ),
        per_code(activities_lf, metrics.activity_aggregations()),
        per_code(party_reports_in_window(ds, window), metrics.party_report_aggregations()).select(
            "code", "party_members_reported"
        ),
        per_code(
            wishes_in_window(ds, window), metrics.wish_aggregations(as_of=window.as_of)
        ).select("code", "wishes_collected", "wishes_claimed", "wishes_fulfilled"),
    ]


def _with_rates(result: pl.LazyFrame, *, by: str | None) -> pl.LazyFrame:
    """Counts absent from a part as 0, the population of the level, every rate, the metrics
    a level cannot carry (e.g. wishes per grid) present but null, ``level`` first."""
    if by == "grid":
        result = result.rename({"grid_population": "population"})
    else:
        result = result.drop("grid_population")
    names = result.collect_schema().names()
    result = result.with_columns(pl.col([c for c in _ZERO_WHEN_ABSENT if c in names]).fill_null(0))
    result = metrics.add_rates(result)
    names = result.collect_schema().names()
    absent = [
        k
        for m in metrics.METRICS.values()
        for k in (m.key, m.numerator, m.denominator)
        if k and k not in names
    ]
    result = result.with_columns(
        *(pl.lit(None, dtype=pl.Float64).alias(k) for k in dict.fromkeys(absent)),
        pl.lit(by or "scope").alias("level"),
    )
    first = ["level", "code", "name"]
    return result.select(first + [c for c in result.collect_schema().names() if c not in first])


_COMMUNITY_ONLY_COUNTS = (
    "party_members_reported",
    "wishes_collected",
    "wishes_claimed",
    "wishes_fulfilled",
)
_ZERO_WHEN_ABSENT = (
    *metrics.CASE_COUNT_COLUMNS,
    "grids",
    "basic_grids",
    "basic_grids_full_time",
    "grids_party_org",
    "basic_grids_size_ok",
    "households",
    "compounds",
    "compounds_with_property",
    "community_workers",
    "population",
    "activities",
    "volunteer_hours",
    "participants",
    *_COMMUNITY_ONLY_COUNTS,
)


def headline(ds: Dataset, flt: Filter, scope: Scope, *, window: Window | None = None) -> dict:
    """The whole-scope KPI row as a dict (what the KPI cards show)."""
    return kpis(ds, flt, scope, window=window).row(0, named=True)


# -- case points for the map ------------------------------------------------------------


def case_points(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    since: dt.datetime | None = None,
) -> pl.DataFrame:
    """Open cases of the window at ``as_of`` as map points.

    Open = reported in the window (whatever the basis: an open case not yet due has no
    assessment time), not rejected and not closed by ``as_of``. Columns:
    ``case_id``, ``lon``, ``lat``, ``category``, ``overdue`` (the KPI's 超期未结 flag) and
    ``new`` (reported after ``since``: arrived since the viewer's last refresh). No personal data.
    """
    window = window or flt.window()
    as_of = pl.lit(window.as_of, dtype=pl.Datetime("us"))
    closed = pl.col("closed_at").is_not_null() & (pl.col("closed_at") <= as_of)
    rejected = pl.col("rejected").fill_null(False) & (
        pl.col("registered_at").is_null() | (pl.col("registered_at") <= as_of)
    )
    since_lit = pl.lit(since or window.as_of, dtype=pl.Datetime("us"))
    return (
        cases_in_window(ds, flt, scope, window)
        .with_columns(metrics.case_flags(as_of=window.as_of))
        .filter(~closed & ~rejected & pl.col("lon").is_not_null() & pl.col("lat").is_not_null())
        .select(
            "case_id",
            "lon",
            "lat",
            "category",
            pl.col("_overdue_open").alias("overdue"),
            (pl.col("reported_at") > since_lit).alias("new"),
        )
        .sort("case_id")
        .collect()
    )
