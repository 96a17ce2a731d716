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
  binary search in that order, read back in table order.

The exact predicates of ``figures`` are still applied to the rows the index hands out, so
the index only narrows what is scanned; it never decides a metric (docs/architecture.md,
"The fast path").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.storage.source import Dataset

_MEMO_KEY = "case_index"
_NULL = np.iinfo(np.int64).max  # sorts after every time


@dataclass(frozen=True)
class CaseIndex:
    cases: pl.DataFrame
    reported_us: np.ndarray  # reported_at in µs, ascending (nulls last as _NULL)
    assessed_order: np.ndarray  # row positions ordered by min(closed_at, due_at)
    assessed_us: np.ndarray  # that time in µs, ascending along ``assessed_order``

    def reported_between(self, start: dt.datetime, end: dt.datetime) -> pl.DataFrame:
        """Rows with ``start <= reported_at <= end`` and nothing far outside: a zero-copy
        slice (callers still apply their exact predicate)."""
        lo = int(np.searchsorted(self.reported_us, _us(start), side="left"))
        hi = int(np.searchsorted(self.reported_us, _us(end), side="right"))
        return self.cases.slice(lo, max(hi - lo, 0))

    def reported_until(self, end: dt.datetime) -> pl.DataFrame:
        hi = int(np.searchsorted(self.reported_us, _us(end), side="right"))
        return self.cases.slice(0, hi)

    def assessable_between(self, start: dt.datetime, end: dt.datetime) -> pl.LazyFrame:
        """Rows with ``start <= min(closed_at, due_at) <= end`` (a superset of the cases
        assessed in the window: callers apply the exact predicate), in table order."""
        lo = int(np.searchsorted(self.assessed_us, _us(start), side="left"))
        hi = int(np.searchsorted(self.assessed_us, _us(end), side="right"))
        rows = self.assessed_order[lo:hi]
        if rows.size == 0:
            return self.cases.clear().lazy()
        first, last = int(rows.min()), int(rows.max())
        mask = np.zeros(last - first + 1, dtype=bool)
        mask[rows - first] = True
        return self.cases.slice(first, last - first + 1).lazy().filter(pl.lit(pl.Series(mask)))


def _us(value: dt.datetime) -> int:
    """A naive datetime as µs since the epoch, like polars' Datetime("us") physical value."""
    delta = value - dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _times_us(series: pl.Series) -> np.ndarray:
    return series.dt.cast_time_unit("us").to_physical().fill_null(_NULL).to_numpy()


def build(ds: Dataset) -> CaseIndex:
    """The index of ``ds`` (see the module docstring); ``case_index`` memoises it."""
    cases = ds["cases"]
    if not cases["reported_at"].is_sorted(nulls_last=True):
        cases = cases.sort("reported_at", maintain_order=True, nulls_last=True)
    # grid → community → street, as the scan's inner joins of grids and communities
    areas = (
        ds["grids"]
        .select("grid_code", "community_code")
        .join(ds["communities"].select("community_code", "street_code"), on="community_code")
    )
    community = dict(zip(areas["grid_code"], areas["community_code"], strict=True))
    street = dict(zip(areas["grid_code"], areas["street_code"], strict=True))
    grid = pl.col("grid_code")
    cases = cases.with_columns(
        grid.replace_strict(community, default=None, return_dtype=pl.String).alias(
            "community_code"
        ),
        grid.replace_strict(street, default=None, return_dtype=pl.String).alias("street_code"),
    )
    assessed = _times_us(cases.select(pl.min_horizontal("closed_at", "due_at")).to_series())
    order = np.argsort(assessed, kind="stable")
    return CaseIndex(
        cases=cases,
        reported_us=_times_us(cases["reported_at"]),
        assessed_order=order,
        assessed_us=assessed[order],
    )


def case_index(ds: Dataset) -> CaseIndex:
    """The case index of ``ds``, built on first use and kept with the dataset."""
    return ds.memo(_MEMO_KEY, build)
