"""The case index: what every case selection of a query needs, built once per data version.

A query selects cases by a time window (reported in it, or assessed in it) and by areas.
Scanning all cases for that costs the whole table per call (10M rows at province scale);
the index turns both into cheap steps, with the same rows as the scan:

* ``cases`` — the cases table ordered by ``reported_at`` (a stable sort, so a table that is
  already in that order — the generator's, an import's — is kept as is, sharing its
  memory), with the ``community_code`` and ``street_code`` of each case's grid attached once
  (null when the grid or its community is not in the reference tables: such a case is in
  no scope, as the scan's inner join says);
* reported in a window → a contiguous slice of ``cases`` (binary search on ``reported_at``);
* assessed in a window → the rows whose ``min(closed_at, due_at)`` falls in it, found by
  binary search in that order (``assessment_order``, built when that basis is first asked
  for), read back in table order.

On a live feed each pull makes a new data version; when the source says how its cases
changed (``storage.source.CaseDelta``: rows changed in place, new rows after the old) and the
previous version's index was built, the new index is that one updated — the changed rows
overwritten at their places, the new ones appended when they were reported no earlier than
the last — which is exactly what a build would give; anything else is built afresh.

The exact predicates of ``figures`` are still applied to the rows the index hands out, so
the index only narrows what is scanned; it never decides a metric (docs/architecture.md,
"The fast path").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.domain.areas import DIGITS
from data_layer.storage.source import CaseDelta, Dataset

# The time that put a case in the window: ``reported_at`` for the cases reported in it,
# the assessment time for the cases assessed in it.
PERIOD_TIME = "period_time"
_MEMO_KEY = "case_index"
_ASSESSMENT_KEY = _MEMO_KEY + ":assessment"
_STEP_KEY = _MEMO_KEY + ":step"
SETTLE_ROWS = 100_000
EXTRA_ROWS = 500_000
_NULL = np.iinfo(np.int64).max  # sorts after every time
COMMUNITY_DIGITS, STREET_DIGITS = DIGITS["community"], DIGITS["street"]


@dataclass(frozen=True)
class CaseIndex:
    cases: pl.DataFrame
    reported_us: np.ndarray  # reported_at in µs, ascending (nulls last as _NULL)
    # For an update (``_updated``): the table row of each index row and its inverse (None:
    # the table was already in order, row i is table row i), and the reference tables the
    # area codes were read from.
    order: np.ndarray | None = None
    where: np.ndarray | None = None
    areas_of: tuple[pl.DataFrame, pl.DataFrame] | None = None
    # Rows before ``settled`` are left as they are by an update; those after it (fewer than
    # SETTLE_ROWS) are re-derived by the next one, so the frame gains no chunk per pull.
    settled: int = 0

    def reported_between(self, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """Rows with ``start <= reported_at <= end``: a zero-copy slice (callers still
        apply their exact predicate)."""
        lo = int(np.searchsorted(self.reported_us, micros(start), side="left"))
        hi = int(np.searchsorted(self.reported_us, micros(end), side="right"))
        return self.cases.slice(lo, max(hi - lo, 0))

    def reported_until(self, end: dt.datetime) -> pl.DataFrame:
        hi = int(np.searchsorted(self.reported_us, micros(end), side="right"))
        return self.cases.slice(0, hi)


@dataclass(frozen=True)
class AssessmentOrder:
    """Row positions of ``CaseIndex.cases`` ordered by ``min(closed_at, due_at)`` — built
    only when the assessment basis (按考核时间) is first asked for."""

    rows: np.ndarray
    times_us: np.ndarray  # that time in µs, ascending along ``rows``
    # After updates (``_updated_assessment``): which of ``rows`` are still in place (by row;
    # None: all), and the rows placed anew since, in the same form — so an update costs the
    # changes, not a copy of the whole order. ``extra`` is folded in when it grows large.
    current: np.ndarray | None = None
    extra_rows: np.ndarray | None = None
    extra_times_us: np.ndarray | None = None

    def rows_between(self, start: dt.datetime, end: dt.datetime) -> np.ndarray:
        """The index rows with ``start <= min(closed_at, due_at) <= end``, in no order."""
        lo = int(np.searchsorted(self.times_us, micros(start), side="left"))
        hi = int(np.searchsorted(self.times_us, micros(end), side="right"))
        rows = self.rows[lo:hi]
        if self.current is not None:
            rows = rows[self.current[rows]]
        if self.extra_rows is not None and self.extra_rows.size:
            lo = int(np.searchsorted(self.extra_times_us, micros(start), side="left"))
            hi = int(np.searchsorted(self.extra_times_us, micros(end), side="right"))
            rows = np.concatenate([rows, self.extra_rows[lo:hi]])
        return rows

    def assessable_between(
        self, cases: pl.DataFrame, start: dt.datetime, end: dt.datetime
    ) -> pl.LazyFrame:
        """Rows with ``start <= min(closed_at, due_at) <= end`` (a superset of the cases
        assessed in the window: callers apply the exact predicate), in table order."""
        rows = self.rows_between(start, end)
        if rows.size == 0:
            return cases.clear().lazy()
        first, last = int(rows.min()), int(rows.max())
        mask = np.zeros(last - first + 1, dtype=bool)
        mask[rows - first] = True
        return cases.slice(first, last - first + 1).lazy().filter(pl.lit(pl.Series(mask)))


def micros(value: dt.datetime) -> int:
    """A naive datetime as µs since the epoch, like polars' Datetime("us") physical value."""
    delta = value - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def times_us(series: pl.Series) -> np.ndarray:
    return series.dt.cast_time_unit("us").to_physical().fill_null(_NULL).to_numpy()


def _area_codes(ds: Dataset, cases: pl.DataFrame) -> list[pl.Series]:
    """The community and street code of each case's grid, as the scan's inner joins of the
    grids and communities tables give them (null: grid or community unknown)."""
    grids = ds["grids"].select("grid_code", "community_code")
    communities = ds["communities"].select("community_code", "street_code")
    areas = grids.join(communities, on="community_code")
    grid = cases["grid_code"]
    nested = (
        areas.height == grids.height
        and (areas["community_code"] == areas["grid_code"].str.slice(0, COMMUNITY_DIGITS)).all()
        and (areas["street_code"] == areas["community_code"].str.slice(0, STREET_DIGITS)).all()
        and grids["grid_code"].is_unique().all()
        and communities["community_code"].is_unique().all()
    )
    if nested:
        # The codes nest (DESIGN §3: the community code is the grid code's prefix, the
        # street code the community's): read them off the grid code — for the cases of a
        # known grid; the rest are in no area.
        known = grid.is_in(areas["grid_code"].implode())
        return [
            pl.select(
                pl.when(pl.lit(known)).then(pl.lit(grid).str.slice(0, digits)).alias(name)
            ).to_series()
            for name, digits in (
                ("community_code", COMMUNITY_DIGITS),
                ("street_code", STREET_DIGITS),
            )
        ]
    community = dict(zip(areas["grid_code"], areas["community_code"], strict=True))
    street = dict(zip(areas["grid_code"], areas["street_code"], strict=True))
    return [
        grid.replace_strict(community, default=None, return_dtype=pl.String).alias(
            "community_code"
        ),
        grid.replace_strict(street, default=None, return_dtype=pl.String).alias("street_code"),
    ]


def build(ds: Dataset) -> CaseIndex:
    """The index of ``ds`` (see the module docstring); ``case_index`` memoises it."""
    cases = ds["cases"]
    order = where = None
    if not cases["reported_at"].is_sorted(nulls_last=True):
        order = np.argsort(times_us(cases["reported_at"]), kind="stable")
        where = np.empty_like(order)
        where[order] = np.arange(order.size)
        cases = cases[order]
    cases = cases.with_columns(_area_codes(ds, cases))
    return CaseIndex(
        cases=cases,
        reported_us=times_us(cases["reported_at"]),
        order=order,
        where=where,
        areas_of=(ds["grids"], ds["communities"]),
        settled=cases.height,
    )


def _updated(ds: Dataset, old: CaseIndex, delta: CaseDelta) -> tuple[CaseIndex, int] | None:
    """``old`` (the previous version's index) brought up to ``ds`` by ``delta``, and the first
    index row placed anew (rows before it kept their places); None when the change is not
    one an update can follow (then ``build``).

    It is what ``build`` gives: ``build`` sorts the table stably by report time, i.e. by
    (report time, table row); the old rows keep their times and table rows, and the new ones
    come after every old row in the table, so each goes after the old rows reported no later
    than it, and the rows before the first such place keep theirs."""
    table = ds["cases"]
    n0 = delta.previous_height
    if (
        old.areas_of is None
        or old.areas_of[0] is not ds["grids"]
        or old.areas_of[1] is not ds["communities"]
        or old.cases.height != n0
        or table.height != n0 + delta.appended
    ):
        return None
    changed = np.asarray(delta.changed, dtype=np.int64)
    at = changed if old.order is None else old.where[changed]  # their rows in the index
    if "reported_at" in delta.columns and not np.array_equal(
        old.reported_us[at], times_us(table["reported_at"].gather(changed))
    ):
        return None  # a case moved in time: its place in the index changes
    # the old rows, brought up to date in place
    columns = [c for c in delta.columns if c in old.cases.columns]
    if old.order is None:  # the table is the index: only the area codes are the index's own
        codes = [
            pl.concat(
                [old.cases[name].slice(0, old.settled), new], rechunk=False
            )  # re-derived after ``settled``: one chunk per SETTLE_ROWS, not one per pull
            for name, new in zip(
                ("community_code", "street_code"),
                _area_codes(ds, table.slice(old.settled, n0 - old.settled)),
                strict=True,
            )
        ]
        head = table.slice(0, n0).with_columns(codes)
    else:
        head = old.cases.with_columns(
            _scattered(old.cases[c], at, table[c].gather(changed)) for c in columns
        )
    if "grid_code" in columns and changed.size:
        codes = _area_codes(ds, table[changed])
        head = head.with_columns(_scattered(head[s.name], at, s) for s in codes)
    tail = table.slice(n0)
    k = tail.height
    if k == 0:
        return dataclasses.replace(old, cases=head), n0
    tail_us = times_us(tail["reported_at"])
    fresh = tail.with_columns(_area_codes(ds, tail))
    first_place = int(np.searchsorted(old.reported_us, tail_us.min(), side="right"))
    settled = old.settled
    if old.order is None and first_place == n0 and bool(np.all(np.diff(tail_us) >= 0)):
        # new cases reported after every known one, in table order: still the table's order
        if n0 + k - settled >= SETTLE_ROWS:
            settled = n0 + k
        index = CaseIndex(
            cases=pl.concat([head, fresh], rechunk=False),
            reported_us=np.concatenate([old.reported_us, tail_us]),
            areas_of=old.areas_of,
            settled=settled,
        )
        return index, n0
    # Otherwise the rows from ``start`` on (the old ones there, then the new ones in table
    # order) are sorted stably again: the same (report time, table row) order.
    start = min(first_place, settled)
    region_us = np.concatenate([old.reported_us[start:], tail_us])
    by_time = np.argsort(region_us, kind="stable")
    region = pl.concat([head.slice(start), fresh])[by_time]
    before = np.arange(n0, dtype=np.int64) if old.order is None else old.order
    region_rows = np.concatenate([before[start:], np.arange(n0, n0 + k, dtype=np.int64)])[by_time]
    where = np.empty(n0 + k, dtype=np.int64)
    where[:n0] = np.arange(n0, dtype=np.int64) if old.where is None else old.where
    where[region_rows] = np.arange(start, n0 + k, dtype=np.int64)
    index = CaseIndex(
        cases=pl.concat([head.slice(0, start), region], rechunk=False),
        reported_us=np.concatenate([old.reported_us[:start], region_us[by_time]]),
        order=np.concatenate([before[:start], region_rows]),
        where=where,
        areas_of=old.areas_of,
        settled=n0 + k if n0 + k - start >= SETTLE_ROWS else start,
    )
    return index, start


def _scattered(column: pl.Series, at: np.ndarray, values: pl.Series) -> pl.Series:
    """``column`` with ``values`` at ``at`` (a copy: the old version is still read)."""
    column = column.clone()
    if at.size:
        column.scatter(at, values)
    return column


def _updated_assessment(
    index: CaseIndex, old: AssessmentOrder, at: np.ndarray, start: int
) -> AssessmentOrder:
    """``old`` with the rows at ``at`` (old index rows whose times may have changed) and the
    index rows from ``start`` on (placed anew by ``_updated``) placed by their times now.
    Only which rows fall in a time range is ever read (``assessable_between`` reads them back
    in table order), so ties need no order. The old entries of those rows are marked out of
    place (``current``, one byte a row), the new ones kept in the small ``extra`` order."""
    cases = index.cases
    n = cases.height
    moved = np.unique(np.concatenate([at[at < start], np.arange(start, n, dtype=np.int64)]))
    if moved.size == 0:
        return old
    current = np.ones(n, dtype=bool)
    if old.current is not None:
        current[: old.current.size] = old.current
    current[moved] = False
    extra_rows = np.empty(0, np.int64) if old.extra_rows is None else old.extra_rows
    extra_times = np.empty(0, np.int64) if old.extra_times_us is None else old.extra_times_us
    marked = np.zeros(n, dtype=bool)
    marked[moved] = True
    keep = ~marked[extra_rows]
    extra_rows, extra_times = extra_rows[keep], extra_times[keep]
    picked = cases[moved]
    new_times = np.minimum(times_us(picked["closed_at"]), times_us(picked["due_at"]))
    by_time = np.argsort(new_times, kind="stable")
    new_rows, new_times = moved[by_time], new_times[by_time]
    places = np.searchsorted(extra_times, new_times, side="right")
    extra_rows = np.insert(extra_rows, places, new_rows)
    extra_times = np.insert(extra_times, places, new_times)
    if extra_rows.size > EXTRA_ROWS:  # fold in: one full merge every EXTRA_ROWS changes
        rows, times = old.rows[current[old.rows]], old.times_us[current[old.rows]]
        places = np.searchsorted(times, extra_times, side="right")
        return AssessmentOrder(
            rows=np.insert(rows, places, extra_rows),
            times_us=np.insert(times, places, extra_times),
        )
    return AssessmentOrder(
        rows=old.rows,
        times_us=old.times_us,
        current=current,
        extra_rows=extra_rows,
        extra_times_us=extra_times,
    )


@dataclass(frozen=True)
class IndexStep:
    """How an updated index's rows relate to the previous version's (what the settled
    history needs to follow a pull, ``history_follow``): small arrays, no old frame whole.

    Rows before ``start`` kept their places; the old rows from ``start`` on are at
    ``region[i - start]`` now. ``changed_old`` / ``changed_new``: the changed cases' rows
    before and after (``changed_rows``: their old version, as the old index had them);
    ``appended``: the new cases' rows."""

    start: int
    previous_height: int
    region: np.ndarray
    changed_old: np.ndarray
    changed_new: np.ndarray
    changed_rows: pl.DataFrame
    appended: np.ndarray


def _step(old: CaseIndex, index: CaseIndex, delta: CaseDelta, start: int) -> IndexStep:
    changed = np.asarray(delta.changed, dtype=np.int64)
    n0 = delta.previous_height

    def new_rows(table_rows: np.ndarray) -> np.ndarray:
        return table_rows if index.where is None else index.where[table_rows]

    old_table_rows = np.arange(start, n0, dtype=np.int64)
    if old.order is not None:
        old_table_rows = old.order[start:]
    at = changed if old.where is None else old.where[changed]
    return IndexStep(
        start=start,
        previous_height=n0,
        region=new_rows(old_table_rows),
        changed_old=at,
        changed_new=new_rows(changed),
        changed_rows=old.cases[at],
        appended=new_rows(np.arange(n0, n0 + delta.appended, dtype=np.int64)),
    )


def _build_or_update(ds: Dataset) -> CaseIndex:
    basis = ds.take_basis()
    if basis is not None:
        memo, delta = basis
        old = memo.get(_MEMO_KEY)
        updated = _updated(ds, old, delta) if old is not None else None
        if updated is not None:
            index, start = updated
            step = _step(old, index, delta, start)
            ds.memo(_STEP_KEY, lambda _: step)
            old_order = memo.get(_ASSESSMENT_KEY)
            if old_order is not None:
                changed = np.asarray(delta.changed, dtype=np.int64)
                at = changed if old.order is None else old.where[changed]
                if {"closed_at", "due_at"} & set(delta.columns) or start < index.cases.height:
                    order = _updated_assessment(index, old_order, at, start)
                else:
                    order = old_order
                ds.memo(_ASSESSMENT_KEY, lambda _: order)
            return index
    return build(ds)


def _build_assessment_order(ds: Dataset) -> AssessmentOrder:
    cases = case_index(ds).cases
    times = np.minimum(times_us(cases["closed_at"]), times_us(cases["due_at"]))
    rows = np.argsort(times, kind="stable")
    return AssessmentOrder(rows=rows, times_us=times[rows])


def case_index(ds: Dataset) -> CaseIndex:
    """The case index of ``ds``, built (or updated from the previous version's) on first use
    and kept with the dataset."""
    return ds.memo(_MEMO_KEY, _build_or_update)


def step(ds: Dataset) -> IndexStep | None:
    """How ``case_index(ds)`` was updated from the previous version's (None: built)."""
    case_index(ds)
    return ds.memoised(_STEP_KEY)


def assessment_order(ds: Dataset) -> AssessmentOrder:
    """The assessment-time order of ``case_index(ds).cases``, built on first use."""
    return ds.memo(_ASSESSMENT_KEY, _build_assessment_order)
