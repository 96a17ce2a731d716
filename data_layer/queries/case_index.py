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

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.domain.areas import DIGITS
from data_layer.storage.source import CaseDelta, Dataset

_MEMO_KEY = "case_index"
_ASSESSMENT_KEY = _MEMO_KEY + ":assessment"
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

    def reported_between(self, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """Rows with ``start <= reported_at <= end``: a zero-copy slice (callers still
        apply their exact predicate)."""
        lo = int(np.searchsorted(self.reported_us, _us(start), side="left"))
        hi = int(np.searchsorted(self.reported_us, _us(end), side="right"))
        return self.cases.slice(lo, max(hi - lo, 0))

    def reported_until(self, end: dt.datetime) -> pl.DataFrame:
        hi = int(np.searchsorted(self.reported_us, _us(end), side="right"))
        return self.cases.slice(0, hi)


@dataclass(frozen=True)
class AssessmentOrder:
    """Row positions of ``CaseIndex.cases`` ordered by ``min(closed_at, due_at)`` — built
    only when the assessment basis (按考核时间) is first asked for."""

    rows: np.ndarray
    times_us: np.ndarray  # that time in µs, ascending along ``rows``

    def assessable_between(
        self, cases: pl.DataFrame, start: dt.datetime, end: dt.datetime
    ) -> pl.LazyFrame:
        """Rows with ``start <= min(closed_at, due_at) <= end`` (a superset of the cases
        assessed in the window: callers apply the exact predicate), in table order."""
        lo = int(np.searchsorted(self.times_us, _us(start), side="left"))
        hi = int(np.searchsorted(self.times_us, _us(end), side="right"))
        rows = self.rows[lo:hi]
        if rows.size == 0:
            return cases.clear().lazy()
        first, last = int(rows.min()), int(rows.max())
        mask = np.zeros(last - first + 1, dtype=bool)
        mask[rows - first] = True
        return cases.slice(first, last - first + 1).lazy().filter(pl.lit(pl.Series(mask)))


def _us(value: dt.datetime) -> int:
    """A naive datetime as µs since the epoch, like polars' Datetime("us") physical value."""
    delta = value - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _times_us(series: pl.Series) -> np.ndarray:
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
        order = np.argsort(_times_us(cases["reported_at"]), kind="stable")
        where = np.empty_like(order)
        where[order] = np.arange(order.size)
        cases = cases[order]
    cases = cases.with_columns(_area_codes(ds, cases))
    return CaseIndex(
        cases=cases,
        reported_us=_times_us(cases["reported_at"]),
        order=order,
        where=where,
        areas_of=(ds["grids"], ds["communities"]),
    )


def _updated(ds: Dataset, old: CaseIndex, delta: CaseDelta) -> CaseIndex | None:
    """``old`` (the previous version's index) brought up to ``ds`` by ``delta``, or None when
    the change is not one an update can follow (then ``build``)."""
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
        old.reported_us[at], _times_us(table["reported_at"].gather(changed))
    ):
        return None  # a case moved in time: its place in the index changes
    tail = table.slice(n0)
    tail_us = _times_us(tail["reported_at"])
    if tail_us.size and (np.any(np.diff(tail_us) < 0) or (n0 and tail_us[0] < old.reported_us[-1])):
        return None  # new cases reported before the last known one
    columns = [c for c in delta.columns if c in old.cases.columns]
    if old.order is None:
        head = table.slice(0, n0).with_columns(
            old.cases["community_code"], old.cases["street_code"]
        )
    else:
        head = old.cases.with_columns(
            _scattered(old.cases[c], at, table[c].gather(changed)) for c in columns
        )
    if "grid_code" in columns and changed.size:
        codes = _area_codes(ds, table[changed])
        head = head.with_columns(_scattered(head[s.name], at, s) for s in codes)
    cases = head
    if tail.height:
        cases = pl.concat([head, tail.with_columns(_area_codes(ds, tail))], rechunk=False)
    grown = np.arange(n0, n0 + tail.height, dtype=np.int64)
    return CaseIndex(
        cases=cases,
        reported_us=np.concatenate([old.reported_us, tail_us]),
        order=None if old.order is None else np.concatenate([old.order, grown]),
        where=None if old.where is None else np.concatenate([old.where, grown]),
        areas_of=old.areas_of,
    )


def _scattered(column: pl.Series, at: np.ndarray, values: pl.Series) -> pl.Series:
    """``column`` with ``values`` at ``at`` (a copy: the old version is still read)."""
    column = column.clone()
    if at.size:
        column.scatter(at, values)
    return column


def _updated_assessment(
    index: CaseIndex, old: AssessmentOrder, at: np.ndarray, n0: int
) -> AssessmentOrder:
    """``old`` with the rows at ``at`` (index rows whose times may have changed) and the rows
    from ``n0`` on (new) placed by their times now. Only which rows fall in a time range is
    ever read (``assessable_between`` reads them back in table order), so ties need no order."""
    cases = index.cases
    moved = np.unique(np.concatenate([at, np.arange(n0, cases.height, dtype=np.int64)]))
    if moved.size == 0:
        return old
    marked = np.zeros(cases.height, dtype=bool)
    marked[moved] = True
    keep = ~marked[old.rows]
    rows, times = old.rows[keep], old.times_us[keep]
    picked = cases[moved]
    new_times = np.minimum(_times_us(picked["closed_at"]), _times_us(picked["due_at"]))
    by_time = np.argsort(new_times, kind="stable")
    new_rows, new_times = moved[by_time], new_times[by_time]
    places = np.searchsorted(times, new_times, side="right")
    return AssessmentOrder(
        rows=np.insert(rows, places, new_rows), times_us=np.insert(times, places, new_times)
    )


def _build_or_update(ds: Dataset) -> CaseIndex:
    basis = ds.take_basis()
    if basis is not None:
        memo, delta = basis
        old = memo.get(_MEMO_KEY)
        index = _updated(ds, old, delta) if old is not None else None
        if index is not None:
            old_order = memo.get(_ASSESSMENT_KEY)
            if old_order is not None:
                changed = np.asarray(delta.changed, dtype=np.int64)
                at = changed if old.order is None else old.where[changed]
                if {"closed_at", "due_at"} & set(delta.columns) or delta.appended:
                    order = _updated_assessment(index, old_order, at, delta.previous_height)
                else:
                    order = old_order
                ds.memo(_ASSESSMENT_KEY, lambda _: order)
            return index
    return build(ds)


def _build_assessment_order(ds: Dataset) -> AssessmentOrder:
    cases = case_index(ds).cases
    times = np.minimum(_times_us(cases["closed_at"]), _times_us(cases["due_at"]))
    rows = np.argsort(times, kind="stable")
    return AssessmentOrder(rows=rows, times_us=times[rows])


def case_index(ds: Dataset) -> CaseIndex:
    """The case index of ``ds``, built (or updated from the previous version's) on first use
    and kept with the dataset."""
    return ds.memo(_MEMO_KEY, _build_or_update)


def assessment_order(ds: Dataset) -> AssessmentOrder:
    """The assessment-time order of ``case_index(ds).cases``, built on first use."""
    return ds.memo(_ASSESSMENT_KEY, _build_assessment_order)
