"""The settled history: what no later as-of can change, counted once per data version.

A case is *settled* at a time ``C`` when every per-case flag of ``metrics.case_flags`` is the
same at every as-of from ``C`` on: it was never registered (rejected, or undecided), or it
was registered, dispatched and closed by ``C``. The KPI case counts of a window seen at
``as_of`` are then the sum of two parts (issue 16, docs/architecture.md "The settled
history"):

* the settled cases — their flags evaluated once (at ``C`` = the start of the as-of's day)
  and summed per community and day (``Counts``), so a window adds up days;
* the *tail* — the cases of the window not settled by ``C`` (open ones, and those touched
  on the as-of day) — flagged exactly by ``metrics`` at ``as_of``, as the scan would.

The hours to close (median, p90) are exact order statistics, which no sum can give. Each
closed case has one hours value and becomes "closed" at one time (``max(closed_at,
registered_at)``); ``ClosedHours`` keeps the closed cases sorted by hours — overall, within
each street and within each community — so a query marks the cases it selects (a window of
report or assessment time, closed by ``as_of``) and reads the k-th marked value of each group
off a running count: no sort per query. The interpolation is polars' (linear), so the
values are those of ``pl.Expr.median`` / ``quantile(…, "linear")``.

Only the whole-area KPIs use it (no category or source filter, no re-division after the
as-of, an as-of not before ``C``); anything else takes the case index's path, which gives
the same figures (``tests/test_fast_figures.py`` compares all three).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.domain import metrics
from data_layer.queries import case_index
from data_layer.storage.source import Dataset

# Below this many cases the case index alone answers within the targets; the history's
# build would cost more than it saves.
MIN_ROWS = 1_000_000
_MEMO_KEY = "settled_history"
_HOURS_KEY = _MEMO_KEY + ":hours"
_KEEP = 3  # settle times kept per data version (today's and the 较上期 as-of, …)
AREA_LEVELS = (None, "street", "community")
COUNTS = metrics.CASE_COUNT_COLUMNS
_AREA_COLUMN = {"street": "street_code", "community": "community_code"}


def applies(ds: Dataset) -> bool:
    """Whether queries of ``ds`` should use the settled history."""
    return ds["cases"].height >= MIN_ROWS


def settle_time(as_of: dt.datetime) -> dt.datetime:
    """``C`` for an as-of: the start of its day (so a day's history serves the whole day)."""
    return dt.datetime.combine(as_of.date(), dt.time())


def _settled(at: dt.datetime) -> pl.Expr:
    """Cases whose flags are final from ``at`` on (see the module docstring)."""
    c, t = pl.col, pl.lit(at, dtype=pl.Datetime("us"))
    by_then = [(c(name).is_null() | (c(name) <= t)) for name in ("registered_at", "dispatched_at")]
    closed = (c("rejected") == False) & (c("closed_at") <= t)  # noqa: E712
    never = c("rejected").is_null() | (c("rejected") == True)  # noqa: E712
    return ((c("reported_at") <= t) & (never | (closed & by_then[0] & by_then[1]))).fill_null(False)


# -- counts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Days:
    """Settled case counts per (day, community), sorted by day: a window of days is a slice."""

    frame: pl.DataFrame  # day (Int32 ordinal), community (Int32 index), COUNTS (UInt32)
    days: np.ndarray

    def between(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        lo = int(np.searchsorted(self.days, first.toordinal(), side="left"))
        hi = int(np.searchsorted(self.days, last.toordinal(), side="right"))
        return self.frame.slice(lo, max(hi - lo, 0))


@dataclass(frozen=True)
class Counts:
    """The settled history at one settle time ``at``."""

    at: dt.datetime
    by_report: _Days  # by report day
    by_assessment: _Days  # due (= closed) settled cases by assessment day
    tail: pl.DataFrame  # the index's rows not settled at ``at``, in report order
    tail_reported_us: np.ndarray


def _day_counts(flagged: pl.LazyFrame, day: pl.Expr, areas: _Areas) -> _Days:
    frame = (
        flagged.group_by(day.alias("day"), "community_code")
        .agg(e.cast(pl.UInt32) for e in metrics.case_count_aggregations())
        .collect()
    )
    frame = frame.with_columns(
        pl.col("day").cast(pl.Int32),
        areas.community_index(frame["community_code"]).alias("community"),
    ).drop("community_code")
    frame = frame.sort("day", "community").select("day", "community", *COUNTS)
    return _Days(frame=frame, days=frame["day"].to_numpy())


def _build_counts(ds: Dataset, at: dt.datetime) -> Counts:
    index = case_index.case_index(ds)
    cases = index.cases.lazy().filter(pl.col("community_code").is_not_null())
    settled = _settled(at)
    flagged = cases.filter(settled).with_columns(metrics.case_flags(as_of=at))
    areas = closed_hours(ds).areas
    # a date's ordinal: polars counts days from 1970-01-01, Python from 0001-01-01
    epoch = dt.date(1970, 1, 1).toordinal()
    by_report = _day_counts(flagged, pl.col("reported_at").dt.date().cast(pl.Int32) + epoch, areas)
    assessed = pl.min_horizontal("closed_at", "due_at").dt.date().cast(pl.Int32) + epoch
    by_assessment = _day_counts(flagged.filter(pl.col("_due")), assessed, areas)
    tail = cases.filter(~settled).collect()
    return Counts(
        at=at,
        by_report=by_report,
        by_assessment=by_assessment,
        tail=tail,
        tail_reported_us=case_index.times_us(tail["reported_at"]),
    )


def counts_at(ds: Dataset, at: dt.datetime) -> Counts:
    """The settled history of ``ds`` at ``at``, built on first use (the last ``_KEEP`` kept)."""
    kept: _Kept = ds.memo(_MEMO_KEY, lambda _: _Kept())
    return kept.get(at, lambda: _build_counts(ds, at))


class _Kept:
    """A few ``Counts`` by settle time, least recently used dropped; one build at a time."""

    def __init__(self) -> None:
        self._items: OrderedDict[dt.datetime, Counts] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, at: dt.datetime, build) -> Counts:
        with self._lock:
            if at not in self._items:
                self._items[at] = build()
                while len(self._items) > _KEEP:
                    self._items.popitem(last=False)
            self._items.move_to_end(at)
            return self._items[at]


# -- hours to close ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Areas:
    """The communities of the index (sorted codes) and the street of each."""

    communities: np.ndarray  # community codes, sorted (object)
    streets: np.ndarray  # street codes, sorted (object)
    street_of: np.ndarray  # street index of each community index

    def community_index(self, codes: pl.Series) -> pl.Series:
        return pl.Series(
            "community", np.searchsorted(self.communities, codes.to_numpy()), dtype=pl.Int32
        )

    def allowed(self, codes: pl.Series | None) -> np.ndarray | None:
        """A mask over community indexes (None: every community)."""
        if codes is None:
            return None
        mask = np.zeros(self.communities.size, dtype=bool)
        wanted = codes.drop_nulls().to_numpy()
        at = np.searchsorted(self.communities, wanted)
        ok = at < self.communities.size
        at, wanted = at[ok], wanted[ok]
        mask[at[self.communities[at] == wanted]] = True
        return mask


@dataclass(frozen=True)
class _Order:
    """Closed cases ordered by (group, hours): ``rows`` into ``ClosedHours``' arrays, and where
    each group starts (``starts[g]``..``starts[g + 1]``)."""

    rows: np.ndarray
    starts: np.ndarray


@dataclass(frozen=True)
class ClosedHours:
    """Every case that is registered-able and has a closing time, in case-index order."""

    areas: _Areas
    index_rows: np.ndarray  # its row in the case index (ascending)
    closed_us: np.ndarray  # when it counts as closed: max(closed_at, registered_at)
    assessed_us: np.ndarray  # its assessment time once closed: min(closed_at, due_at)
    hours: np.ndarray  # metrics' hours to close
    community: np.ndarray  # community index
    orders: dict[str | None, _Order]


def _build_hours(ds: Dataset) -> ClosedHours:
    index = case_index.case_index(ds)
    cases = index.cases
    communities = np.sort(cases["community_code"].drop_nulls().unique().to_numpy())
    pairs = (
        cases.lazy()
        .select("community_code", "street_code")
        .drop_nulls()
        .unique()
        .sort("community_code")
        .collect()
    )
    streets = np.sort(pairs["street_code"].unique().to_numpy())
    street_of = np.searchsorted(streets, pairs["street_code"].to_numpy())
    areas = _Areas(communities=communities, streets=streets, street_of=street_of)
    c = pl.col
    closed = (
        cases.lazy()
        .with_row_index("row")
        .filter(
            (c("rejected") == False)  # noqa: E712
            & c("closed_at").is_not_null()
            & c("community_code").is_not_null()
        )
        .select(
            "row",
            "community_code",
            pl.max_horizontal("closed_at", "registered_at").alias("closed"),
            pl.min_horizontal("closed_at", "due_at").alias("assessed"),
            metrics.hours_to_close().alias("hours"),
        )
        .collect()
    )
    community = areas.community_index(closed["community_code"]).to_numpy()
    hours = closed["hours"].to_numpy()
    ranks = pl.DataFrame(
        {"c": community, "s": street_of[community], "h": hours}, schema_overrides={"s": pl.Int32}
    )
    orders: dict[str | None, _Order] = {None: _Order(np.argsort(hours, kind="stable"), None)}
    for level, column, groups in (
        ("community", "c", communities.size),
        ("street", "s", streets.size),
    ):
        rows = ranks.select(pl.arg_sort_by(column, "h", maintain_order=True)).to_series().to_numpy()
        starts = np.searchsorted(ranks[column].to_numpy()[rows], np.arange(groups + 1))
        orders[level] = _Order(rows, starts)
    return ClosedHours(
        areas=areas,
        index_rows=closed["row"].to_numpy(),
        closed_us=case_index.times_us(closed["closed"]),
        assessed_us=case_index.times_us(closed["assessed"]),
        hours=hours,
        community=community,
        orders=orders,
    )


def closed_hours(ds: Dataset) -> ClosedHours:
    """The closed cases of ``ds`` by hours to close (any as-of), built on first use."""
    return ds.memo(_HOURS_KEY, _build_hours)


def _selected(
    hours: ClosedHours,
    index: case_index.CaseIndex,
    *,
    basis: str,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
    allowed: np.ndarray | None,
) -> np.ndarray:
    """Which closed cases a query's hours statistics are over (a mask on ``hours``' arrays):
    closed by ``as_of`` and, by ``basis``, reported in the window or assessed in it (and
    reported by ``as_of``), of an allowed community."""
    as_of_us = case_index.micros(as_of)
    if basis == "report":
        lo = int(np.searchsorted(index.reported_us, case_index.micros(start), side="left"))
        hi = int(np.searchsorted(index.reported_us, case_index.micros(end), side="right"))
        a = int(np.searchsorted(hours.index_rows, lo, side="left"))
        b = int(np.searchsorted(hours.index_rows, hi, side="left"))
        mask = np.zeros(hours.hours.size, dtype=bool)
        mask[a:b] = hours.closed_us[a:b] <= as_of_us
    else:
        known = int(np.searchsorted(index.reported_us, as_of_us, side="right"))
        assessed = hours.assessed_us
        mask = (
            (assessed >= case_index.micros(start))
            & (assessed <= case_index.micros(end))
            & (hours.closed_us <= as_of_us)
            & (hours.index_rows < known)
        )
    if allowed is not None:
        mask &= allowed[hours.community]
    return mask


def _quantile(count: np.ndarray, nulls: np.ndarray, ranked, q: float) -> np.ndarray:
    """polars' linear quantile of each group of ``count`` (> 0) values and ``nulls`` nulls:
    ``ranked(k)`` is the k-th smallest value (0-based) of each group. polars places the
    nulls first, so its fractional index — and the rounding of the interpolation — depends
    on them: ``(count - 1) * q + nulls``."""
    at = (count - 1) * q + nulls
    low = np.floor(at).astype(np.int64)
    top = np.ceil(at).astype(np.int64)
    lower, upper = ranked(low - nulls), ranked(top - nulls)
    out = (at - low) * (upper - lower) + lower
    return np.where(lower == upper, lower, out)


def hours_stats(
    ds: Dataset,
    *,
    level: str | None,
    basis: str,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
    communities: pl.Series | None,
    scope_code: str,
    nulls: pl.DataFrame,
) -> pl.DataFrame:
    """``code``, ``hours_to_close_median`` and ``hours_to_close_p90`` per group of ``level``
    (None: one ``scope_code`` row) with a selected closed case. ``nulls`` (``code``,
    ``nulls``): the selected cases of each group that are not closed, which polars' quantile
    of the scan counts in (``_quantile``)."""
    hours = closed_hours(ds)
    mask = _selected(
        hours,
        case_index.case_index(ds),
        basis=basis,
        start=start,
        end=end,
        as_of=as_of,
        allowed=hours.areas.allowed(communities),
    )
    order = hours.orders[level]
    marked = mask[order.rows]
    running = np.concatenate([[0], np.cumsum(marked, dtype=np.int64)])
    if level is None:
        starts = np.array([0, order.rows.size])
        codes = np.array([scope_code], dtype=object)
    else:
        starts = order.starts
        codes = hours.areas.communities if level == "community" else hours.areas.streets
    base = running[starts[:-1]]
    count = running[starts[1:]] - base
    has = count > 0
    groups = pl.DataFrame(
        {"code": pl.Series(codes[has], dtype=pl.String), "count": count[has], "base": base[has]}
    ).join(nulls, on="code", how="left", maintain_order="left")
    base, count = groups["base"].to_numpy(), groups["count"].to_numpy()
    z = groups["nulls"].fill_null(0).to_numpy().astype(np.int64)

    def ranked(k: np.ndarray) -> np.ndarray:
        # the first place whose running count reaches base + k + 1 holds the k-th value
        place = np.searchsorted(running, base + k + 1, side="left") - 1
        return hours.hours[order.rows[place]]

    return groups.select("code").with_columns(
        pl.Series("hours_to_close_median", _quantile(count, z, ranked, 0.5), dtype=pl.Float64),
        pl.Series("hours_to_close_p90", _quantile(count, z, ranked, 0.9), dtype=pl.Float64),
    )


def settled_counts(
    ds: Dataset,
    *,
    level: str | None,
    basis_days: str,
    first: dt.date,
    last: dt.date,
    at: dt.datetime,
    communities: pl.Series | None,
    scope_code: str,
) -> pl.DataFrame:
    """``code`` and COUNTS of the settled cases (at ``at``) of days ``first``..``last`` — by
    report day or (``basis_days`` = "assessment") assessment day — per group of ``level``."""
    counts = counts_at(ds, at)
    days = counts.by_report if basis_days == "report" else counts.by_assessment
    frame = days.between(first, last)
    areas = closed_hours(ds).areas
    allowed = areas.allowed(communities)
    if allowed is not None:
        frame = frame.filter(pl.Series(allowed)[frame["community"]] if frame.height else False)
    per_community = frame.group_by("community").agg(pl.col(COUNTS).sum().cast(pl.Int64))
    if level is None:
        code = np.full(per_community.height, scope_code, dtype=object)
    elif level == "community":
        code = areas.communities[per_community["community"].to_numpy()]
    else:
        code = areas.streets[areas.street_of[per_community["community"].to_numpy()]]
    return (
        per_community.with_columns(pl.Series("code", code, dtype=pl.String))
        .group_by("code")
        .agg(pl.col(COUNTS).sum())
    )


def tail_between(
    ds: Dataset, at: dt.datetime, start: dt.datetime, end: dt.datetime
) -> pl.DataFrame:
    """The tail rows (not settled at ``at``) reported in ``start``..``end`` (a slice; callers
    apply the exact predicate)."""
    counts = counts_at(ds, at)
    lo = int(np.searchsorted(counts.tail_reported_us, case_index.micros(start), side="left"))
    hi = int(np.searchsorted(counts.tail_reported_us, case_index.micros(end), side="right"))
    return counts.tail.slice(lo, max(hi - lo, 0))


def tail(ds: Dataset, at: dt.datetime) -> pl.DataFrame:
    return counts_at(ds, at).tail
