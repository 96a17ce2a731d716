"""The closed loop (案件办结's funnel) of the settled history: stage counts and median stage
hours, exactly, in about 5 bytes a case.

A settled case's funnel flags and stage hours (``metrics.funnel_flags``) are final (its
settle day counts every stage time, ``history``). Per report day the base keeps the funnel
counts of its settled cases, and for each timed stage (立案 … 结案) a histogram of their
stage hours over ``BUCKETS`` value ranges (``edges``: quantiles of the stage's values), all
cumulative over days, so a window of days is a difference of two rows. Each case carries
its bucket per stage (one byte: ``NULL`` reached with no time, ``NONE`` not reached or not
in the base). A median is the k-th value of the window's cases: the histograms (with the
exact rest added and the cases taken off the base removed) say which bucket holds it and
its rank there; the bucket's own cases — the window's rows with that byte, about
1/``BUCKETS`` of them — are read back from the case index and their hours computed by
``metrics`` as the scan computes them, so the value is the scan's to the bit. A bucket of
one value (a heavy tie gets one of its own) needs no read at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from data_layer.domain import metrics
from data_layer.queries import hours_order

STAGES = metrics.FUNNEL_STAGES[1:-1]  # the stages with a time spent (立案 … 结案)
COUNTS = (*metrics.FUNNEL_STAGES, "rejected")  # the counts of the funnel's row …
_COUNTED = (*(f"_stage_{s}" for s in metrics.FUNNEL_STAGES), "rejected")  # … of these flags
BUCKETS = 254
NULL = 254  # reached, without a stage time (a missing earlier time)
NONE = 255  # not reached, or not in the base
_SAMPLE = 200_000  # values the edges are taken from


@dataclass(frozen=True)
class StageHours:
    first_day: int  # day number of the first row of the cumulative arrays
    counts: np.ndarray  # (days + 1, len(COUNTS)): settled cases reported before each day
    hist: dict[str, np.ndarray]  # per stage (days + 1, 255), cumulative like ``counts``
    edges: dict[str, np.ndarray]  # per stage: bucket b is [edges[b-1], edges[b]) (±inf ends)
    codes: dict[str, np.ndarray]  # per stage, per case-index row: its bucket (uint8)

    def days(self, first: int, last: int) -> tuple[int, int]:
        """The rows of the cumulative arrays whose difference is days ``first``..``last``."""
        size = self.counts.shape[0] - 1
        return (
            int(np.clip(first - self.first_day, 0, size)),
            int(np.clip(last + 1 - self.first_day, 0, size)),
        )


def flags(frame: pl.LazyFrame, *, as_of) -> pl.LazyFrame:
    """``frame`` with the funnel's per-case columns at ``as_of``: ``_stage_<stage>``,
    ``_stage_hours_<stage>`` and ``rejected``."""
    return (
        frame.with_columns(metrics.case_flags(as_of=as_of))
        .with_columns(metrics.funnel_flags(as_of=as_of))
        .select(
            *(f"_stage_{s}" for s in metrics.FUNNEL_STAGES),
            *(f"_stage_hours_{s}" for s in STAGES),
            (pl.col("rejected") == True).fill_null(False).alias("rejected"),  # noqa: E712
        )
    )


def _edges(values: np.ndarray) -> np.ndarray:
    """Interior bucket edges: quantiles of a sample, a value repeated among them given a
    bucket of its own (``[v, nextafter(v))``), at most ``BUCKETS`` - 1 of them."""
    if values.size == 0:
        return np.empty(0)
    sample = np.sort(values[:: max(values.size // _SAMPLE, 1)])
    points = BUCKETS - 1
    while True:
        cut = sample[(np.arange(1, points + 1) * sample.size) // (points + 1)]
        uniq, times = np.unique(cut, return_counts=True)
        edges = np.unique(np.concatenate([uniq, np.nextafter(uniq[times > 1], np.inf)]))
        if edges.size <= BUCKETS - 1:
            return edges
        points -= max(points // 8, 1)


def _bucket(edges: np.ndarray, hours: pl.Series) -> np.ndarray:
    """The byte of each reached case's hours (null: ``NULL``)."""
    values = hours.fill_null(np.nan).to_numpy()
    code = np.searchsorted(edges, values, side="right").astype(np.uint8)
    code[np.isnan(values)] = NULL
    return code


def _cumulative(day: np.ndarray, column: np.ndarray, days: int, width: int) -> np.ndarray:
    """Per day (rows) and ``column`` value, the cases of the days before (a zero row first):
    a window is ``cum[hi] - cum[lo]``."""
    flat = np.bincount(day * width + column.astype(np.int64), minlength=days * width)
    out = np.zeros((days + 1, width), dtype=np.int64)
    np.cumsum(flat.reshape(days, width), axis=0, out=out[1:])
    return out


def build(cases: pl.DataFrame, settle_day: np.ndarray, *, day: int, at) -> StageHours:
    """The funnel of the cases settled by base day ``day`` (base time ``at``): ``cases`` is
    the case index's frame, ``settle_day`` each row's."""
    in_base = pl.Series(settle_day <= day) & cases["community_code"].is_not_null()
    report_day = cases["reported_at"].dt.date().cast(pl.Int32).filter(in_base)
    first = day if report_day.is_empty() else int(report_day.min())
    days = max((day if report_day.is_empty() else int(report_day.max())) - first + 1, 1)
    rows = np.flatnonzero(in_base.to_numpy())
    at_day = (report_day.to_numpy() - first).astype(np.int64)
    # one stage at a time: a few columns of 10M cases at once, not all of them
    flagged = flags(cases.lazy(), as_of=at).filter(pl.lit(in_base))
    counted = flagged.select(_COUNTED).collect()
    counts = np.zeros((days + 1, len(COUNTS)), dtype=np.int64)
    for i, name in enumerate(_COUNTED):
        per_day = np.bincount(at_day, counted[name].to_numpy(), minlength=days)
        counts[1:, i] = np.cumsum(per_day.astype(np.int64))
    del counted
    hist, edges, codes = {}, {}, {}
    for stage in STAGES:
        frame = flagged.select(f"_stage_{stage}", f"_stage_hours_{stage}").collect()
        reached = frame[f"_stage_{stage}"].to_numpy()
        hours = _part(frame, stage)
        edges[stage] = _edges(hours.drop_nulls().to_numpy())
        code = np.full(cases.height, NONE, dtype=np.uint8)
        code[rows[reached]] = _bucket(edges[stage], hours)
        codes[stage] = code
        hist[stage] = _cumulative(at_day[reached], code[rows[reached]], days, NONE)
    return StageHours(first_day=first, counts=counts, hist=hist, edges=edges, codes=codes)


def _hours(cases: pl.DataFrame, stage: str, rows: np.ndarray, *, at) -> np.ndarray:
    """The stage hours of settled, reached cases at ``rows`` (``metrics.funnel_flags``'
    expression, as the scan computes it; only its two time columns are read back)."""
    name = f"_stage_hours_{stage}"
    (expr,) = [e for e in metrics.funnel_flags(as_of=at) if e.meta.output_name() == name]
    frame = cases.select(list(dict.fromkeys(expr.meta.root_names())))[rows]
    return frame.select(expr).to_series().to_numpy()


def _part(frame: pl.DataFrame, stage: str) -> pl.Series:
    return frame[f"_stage_hours_{stage}"].filter(frame[f"_stage_{stage}"])


def funnel_row(
    built: StageHours,
    cases: pl.DataFrame,
    settle_day: np.ndarray,
    *,
    rows: tuple[int, int],
    first: int,
    last: int,
    day: int,
    at,
    exact: pl.DataFrame,
    taken: pl.DataFrame,
) -> dict:
    """``metrics.funnel_aggregations``' row for the cases of index rows ``rows`` (a report
    window of days ``first``..``last``): the base's settled cases of those days, settled
    by ``day`` too, plus ``exact`` (the rest flagged at the as-of, ``flags``) minus ``taken``
    (the rest's cases the base counted, flagged at the base time ``at``)."""
    lo, hi = built.days(first, last)
    counts = built.counts[hi] - built.counts[lo]
    row = {
        name: int(counts[i] + exact[column].sum() - taken[column].sum())
        for i, (name, column) in enumerate(zip(COUNTS, _COUNTED, strict=True))
    }
    for stage in STAGES:
        row[f"{stage}_hours"] = _median(
            built,
            cases,
            settle_day,
            stage=stage,
            hist=built.hist[stage][hi] - built.hist[stage][lo],
            rows=rows,
            day=day,
            at=at,
            exact=_part(exact, stage),
            taken=_part(taken, stage),
        )
    return row


def _median(
    built: StageHours,
    cases: pl.DataFrame,
    settle_day: np.ndarray,
    *,
    stage: str,
    hist: np.ndarray,
    rows: tuple[int, int],
    day: int,
    at,
    exact: pl.Series,
    taken: pl.Series,
) -> float | None:
    """polars' median of the stage's hours over the selection (``funnel_row``)."""
    edges = built.edges[stage]
    added = _bucket(edges, exact)
    hist = (
        hist
        + np.bincount(added, minlength=NONE)
        - np.bincount(_bucket(edges, taken), minlength=NONE)
    )
    count, nulls = int(hist[:NULL].sum()), int(hist[NULL])
    if count == 0:
        return None
    below = np.cumsum(hist[:NULL]) - hist[:NULL]
    added_values = exact.fill_null(np.nan).to_numpy()
    found: dict[int, np.ndarray] = {}

    def bucket_values(b: int) -> np.ndarray:
        if b not in found:
            mine = added_values[added == b]
            if 0 < b < edges.size and edges[b] == np.nextafter(edges[b - 1], np.inf):
                values = np.full(hist[b], edges[b - 1])  # a bucket of one value
            else:
                lo, hi = rows
                at_rows = lo + np.flatnonzero(built.codes[stage][lo:hi] == b)
                at_rows = at_rows[settle_day[at_rows] <= day]
                settled = _hours(cases, stage, at_rows, at=at)
                values = np.concatenate([settled, mine])
            found[b] = np.sort(values)
        return found[b]

    def ranked(k: np.ndarray) -> np.ndarray:
        out = np.empty(k.size)
        for i, rank in enumerate(k.tolist()):
            b = int(np.searchsorted(below + hist[:NULL], rank, side="right"))
            out[i] = bucket_values(b)[rank - below[b]]
        return out

    value = hours_order.quantile(np.array([count]), np.array([nulls]), ranked, 0.5)[0]
    return float(value)
