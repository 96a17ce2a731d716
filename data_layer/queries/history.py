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
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.domain import metrics, schema
from data_layer.queries import case_index, hours_order
from data_layer.storage.source import Dataset

# Below this many cases the case index alone answers within the targets; the history's
# build would cost more than it saves.
MIN_ROWS = 1_000_000
_MEMO_KEY = "settled_history"
START_DELAY_S = 3.0  # before the first background build of a dataset
# settle times kept per data version: today's and the 较上期 as-ofs; the breakdowns by key
# ask for the current window only
_KEEP = {"areas": 3, "keys": 1}
AREA_LEVELS = (None, "street", "community")
KEYS = hours_order.KEYS
COUNTS = metrics.CASE_COUNT_COLUMNS


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

    def tail_between(self, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """The tail rows reported in ``start``..``end`` (a slice; callers apply the exact
        predicate)."""
        lo = int(np.searchsorted(self.tail_reported_us, case_index.micros(start), side="left"))
        hi = int(np.searchsorted(self.tail_reported_us, case_index.micros(end), side="right"))
        return self.tail.slice(lo, max(hi - lo, 0))


def _day_counts(
    flagged: pl.LazyFrame, day: pl.Expr, areas: hours_order.Areas, *, key: str | None = None
) -> _Days:
    """Settled counts per (day, community) — or, with a ``key`` column, per (day, value of
    the key) over the whole dataset: one category, source or unit a day."""
    groups = ["community_code"] if key is None else [key]
    frame = (
        flagged.group_by(day.alias("day"), *groups).agg(metrics.case_count_aggregations()).collect()
    )
    # a community's (a unit's, …) cases of one day: small counts, kept small (summed as Int64)
    small = frame.height == 0 or frame["reported"].max() < 2**16
    frame = frame.with_columns(
        pl.col(COUNTS).cast(pl.UInt16 if small else pl.UInt32), pl.col("day").cast(pl.Int32)
    )
    if key is None:
        frame = frame.with_columns(
            pl.Series("community", areas.community_index(frame["community_code"]))
        ).drop("community_code")
        groups = ["community"]
    frame = frame.sort("day", *groups).select("day", *groups, *COUNTS)
    return _Days(frame=frame, days=frame["day"].to_numpy())


# a date's ordinal: polars counts days from 1970-01-01, Python from 0001-01-01
_EPOCH = dt.date(1970, 1, 1).toordinal()
_REPORT_DAY = pl.col("reported_at").dt.date().cast(pl.Int32) + _EPOCH
_ASSESSMENT_DAY = pl.min_horizontal("closed_at", "due_at").dt.date().cast(pl.Int32) + _EPOCH


def _flagged_settled(ds: Dataset, at: dt.datetime) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """(the settled cases flagged at ``at``, the others) of the case index in scope."""
    cases = case_index.case_index(ds).cases.lazy().filter(pl.col("community_code").is_not_null())
    settled = _settled(at)
    return cases.filter(settled).with_columns(metrics.case_flags(as_of=at)), cases.filter(~settled)


def _build_counts(ds: Dataset, at: dt.datetime) -> Counts:
    flagged, rest = _flagged_settled(ds, at)
    areas = hours_order.areas(ds)
    tail = rest.collect()
    return Counts(
        at=at,
        by_report=_day_counts(flagged, _REPORT_DAY, areas),
        by_assessment=_day_counts(flagged.filter(pl.col("_due")), _ASSESSMENT_DAY, areas),
        tail=tail,
        tail_reported_us=case_index.times_us(tail["reported_at"]),
    )


@dataclass(frozen=True)
class KeyCounts:
    """The settled counts at one settle time per (day, value of a key column) over the whole
    dataset, by report day and by assessment day: what the breakdowns by category, source
    and handling unit of an unlimited scope add up (a street's or community's breakdown
    takes the index path: its cases are few; per street the counts would take ~200 MB at
    province)."""

    by_report: dict[str, _Days]
    by_assessment: dict[str, _Days]


def _build_key_counts(ds: Dataset, at: dt.datetime) -> KeyCounts:
    flagged, _ = _flagged_settled(ds, at)
    areas = hours_order.areas(ds)
    due = flagged.filter(pl.col("_due"))
    return KeyCounts(
        by_report={k: _day_counts(flagged, _REPORT_DAY, areas, key=k) for k in KEYS},
        by_assessment={k: _day_counts(due, _ASSESSMENT_DAY, areas, key=k) for k in KEYS},
    )


_PARTS = {"areas", "keys"}  # Counts, KeyCounts


class _Served:
    """The settled histories of one dataset: a few ``Counts`` (and ``KeyCounts``, built only
    when a breakdown asks) by settle time, least recently used dropped, built on first use
    or — ``background`` — by one worker thread while the case index answers (a province
    build takes seconds; the figures are the same)."""

    def __init__(self, ds: Dataset, *, background: bool) -> None:
        self._ds = ds
        self._background = background
        self._items: OrderedDict[tuple[dt.datetime, str], Counts | KeyCounts] = OrderedDict()
        self._lock = threading.Lock()
        self._wanted: list[tuple[dt.datetime, str]] = []
        self._worker: threading.Thread | None = None
        self._started: float | None = None

    def get(self, at: dt.datetime, part: str = "areas"):
        item = (at, part)
        with self._lock:
            if item in self._items:
                self._items.move_to_end(item)
                return self._items[item]
            if self._background:
                if item not in self._wanted:
                    self._wanted.append(item)
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._work, name="settled-history", daemon=True
                    )
                    self._worker.start()
                return None
            return self._keep(item, self._build(item))

    def _build(self, item: tuple[dt.datetime, str]) -> Counts | KeyCounts:
        at, part = item
        if part == "keys":
            return _build_key_counts(self._ds, at)
        hours_order.hours_order(self._ds)  # the hours statistics read it with the counts
        return _build_counts(self._ds, at)

    def _keep(self, item: tuple[dt.datetime, str], built: Counts | KeyCounts):
        self._items[item] = built
        for part in _PARTS:
            kept = [key for key in self._items if key[1] == part]
            for key in kept[: max(len(kept) - _KEEP[part], 0)]:
                del self._items[key]
        return built

    def _work(self) -> None:
        if self._started is None:  # let the first page paint before the build takes the cores
            self._started = time.monotonic()
            time.sleep(START_DELAY_S)
        while True:
            with self._lock:
                if not self._wanted:
                    self._worker = None
                    return
                item = self._wanted[0]
            built = self._build(item)
            with self._lock:
                self._wanted.remove(item)
                self._keep(item, built)

    def wait(self, timeout: float | None = None) -> None:
        """Until the background builds asked for so far are done (tests, benchmarks)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)


def serve(ds: Dataset, *, background: bool) -> None:
    """Let the case queries of ``ds`` use the settled history, when it holds ``MIN_ROWS``
    cases or more: built on first use, or (``background``) in a worker thread while the case
    index answers. A dataset not served never builds one (the CLI's one-off queries, a live
    feed's versions of a few seconds)."""
    if ds["cases"].height >= MIN_ROWS:
        ds.memo(_MEMO_KEY, lambda ds: _Served(ds, background=background))


def ready(ds: Dataset, at: dt.datetime) -> Counts | None:
    """The settled history of ``ds`` at ``at``; None when ``ds`` is not served or it is not
    built yet (a background build of it is then under way)."""
    served = ds.memoised(_MEMO_KEY)
    return None if served is None else served.get(at)


def ready_keys(ds: Dataset, at: dt.datetime) -> tuple[Counts, KeyCounts] | None:
    """The history at ``at`` with its counts per key column, or None (as ``ready``)."""
    served = ds.memoised(_MEMO_KEY)
    if served is None:
        return None
    counts, keys = served.get(at), served.get(at, "keys")
    return None if counts is None or keys is None else (counts, keys)


def wait(ds: Dataset, timeout: float | None = None) -> None:
    served = ds.memoised(_MEMO_KEY)
    if served is not None:
        served.wait(timeout)


def settled_counts(
    ds: Dataset,
    counts: Counts,
    *,
    basis_days: str,
    first: dt.date,
    last: dt.date,
    communities: pl.Series | None,
    by_day: bool,
    by_area: bool,
) -> pl.DataFrame:
    """COUNTS (Int64) of the settled cases of ``counts`` of days ``first``..``last`` — by
    report day or (``basis_days`` = "assessment") assessment day — of the ``communities``
    (None: all), summed per day (``by_day``: ``period_time``, the day at midnight) and per
    community (``by_area``: ``community_code`` and ``street_code``), or in one row."""
    days = counts.by_report if basis_days == "report" else counts.by_assessment
    frame = days.between(first, last)
    areas = hours_order.areas(ds)
    allowed = areas.allowed(communities)
    if allowed is not None:
        frame = frame.filter(pl.Series(allowed[frame["community"].to_numpy()]))
    keys = [name for name, wanted in (("day", by_day), ("community", by_area)) if wanted]
    sums = pl.col(COUNTS).sum().cast(pl.Int64)
    frame = frame.group_by(keys).agg(sums) if keys else frame.select(sums)
    columns = []
    if by_day:
        epoch = dt.date(1970, 1, 1).toordinal()
        columns.append(
            (pl.col("day") - epoch)
            .cast(pl.Date)
            .cast(schema.Datetime)
            .alias(case_index.PERIOD_TIME)
        )
    if by_area:
        community = frame["community"].to_numpy()
        columns += [
            areas.communities.gather(community).alias("community_code"),
            areas.streets.gather(areas.street_of[community]).alias("street_code"),
        ]
    return frame.with_columns(columns).drop(keys)


def key_counts(
    counts: KeyCounts, *, key: str, basis_days: str, first: dt.date, last: dt.date
) -> pl.DataFrame:
    """``key`` and COUNTS (Int64) of the settled cases of days ``first``..``last`` (by
    report or assessment day)."""
    days = (counts.by_report if basis_days == "report" else counts.by_assessment)[key]
    return days.between(first, last).group_by(key).agg(pl.col(COUNTS).sum().cast(pl.Int64))
