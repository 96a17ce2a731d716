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
from data_layer.storage.source import Dataset

_MEMO_KEY = "case_index"
_NULL = np.iinfo(np.int64).max  # sorts after every time
COMMUNITY_DIGITS, STREET_DIGITS = DIGITS["community"], DIGITS["street"]


@dataclass(frozen=True)
class CaseIndex:
    cases: pl.DataFrame
    reported_us: np.ndarray  # reported_at in µs, ascending (nulls last as _NULL)

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
    if not cases["reported_at"].is_sorted(nulls_last=True):
        cases = cases.sort("reported_at", maintain_order=True, nulls_last=True)
    cases = cases.with_columns(_area_codes(ds, cases))
    return CaseIndex(cases=cases, reported_us=_times_us(cases["reported_at"]))


def _build_assessment_order(ds: Dataset) -> AssessmentOrder:
    cases = case_index(ds).cases
    times = np.minimum(_times_us(cases["closed_at"]), _times_us(cases["due_at"]))
    rows = np.argsort(times, kind="stable")
    return AssessmentOrder(rows=rows, times_us=times[rows])


def case_index(ds: Dataset) -> CaseIndex:
    """The case index of ``ds``, built on first use and kept with the dataset."""
    return ds.memo(_MEMO_KEY, build)


def assessment_order(ds: Dataset) -> AssessmentOrder:
    """The assessment-time order of ``case_index(ds).cases``, built on first use."""
    return ds.memo(_MEMO_KEY + ":assessment", _build_assessment_order)
