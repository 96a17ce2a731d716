"""The settled history of a live feed's new version, followed from the previous version's.

A pull of the live source (``storage.case_set.CaseSet.apply``) changes a few hundred cases
of millions; building the history again (``history._build_base``, ``hours_order._build``)
costs seconds. When the case index was updated, not rebuilt (``case_index.step``: which
rows changed, which are new, where the old rows went), ``follow`` makes the new version's
history from the old one's, exactly as a build at the same base time would count:

* each changed case's **old version**, when the base counted it (settled by ``B``), leaves
  the base's day counts — its flags at ``B`` taken off, as the "settled after the as-of"
  correction does — and its **new version** (and each new case) joins them when it is
  settled by ``B``, or the rest (``Base.after``) when it is not;
* the settle days are the old ones where rows kept their place, computed anew for the
  changed rows and for the rows placed anew;
* in the hours order (``hours_order``) each changed case's old entry is taken out of the
  three orders (and the handling unit's, ``key_orders``) and its new one (when it is closed) put in at its place: arrays of the
  same form, so the queries read it as they read a built one;
* when the base time moves (midnight), the cases settled between the two base times move
  from the rest into the base's counts: their flags are final, so the counts are those
  a build at the new base time gives.

Anything it cannot follow (rows removed, a new community, category, source or unit, a day
outside the hours order's day type) gives None, and the history is built again in the
background while the case index answers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import numpy as np
import polars as pl

from data_layer.domain import metrics
from data_layer.queries import case_index, history, hours_order
from data_layer.storage.source import Dataset

_HOURS_KEY = "hours_order"
_AREAS_KEY = "hours_order:areas"
COUNTS = history.COUNTS
SETTLE_DAY = history.SETTLE_DAY
# the cases the hours order holds (``hours_order._build``): registered, closed, in an area
_IN_ORDER = (
    (pl.col("rejected") == False)  # noqa: E712 - null: never registered
    & pl.col("closed_at").is_not_null()
    & pl.col("reported_at").is_not_null()
    & pl.col("community_code").is_not_null()
).fill_null(False)


def follow(ds: Dataset, previous: Dataset, base: history.Base) -> history.Base | None:
    """The history of ``ds`` from ``previous``'s ``base`` (and hours order), when the case
    index of ``ds`` was updated from ``previous``'s; the hours order and areas are memoised
    on ``ds``. None: not followable (build instead)."""
    step = case_index.step(ds)
    order = previous.memoised(_HOURS_KEY)
    areas = previous.memoised(_AREAS_KEY)
    if step is None or order is None or areas is None:
        return None
    if step.previous_height != base.settle_day.size:
        return None
    cases = case_index.case_index(ds).cases
    touched = np.concatenate([step.changed_new, step.appended])
    fresh = cases[touched]
    if not _known(fresh, areas, order) or _memoised_otherwise(ds, areas):
        return None
    settle = np.empty(cases.height, dtype=np.int32)
    settle[: step.start] = base.settle_day[: step.start]
    settle[step.start :] = _settle_days(cases.slice(step.start))
    settle[touched] = _settle_days(fresh)
    old = step.changed_rows.with_columns(
        pl.Series(SETTLE_DAY, base.settle_day[step.changed_old], dtype=pl.Int32)
    )
    new = fresh.with_columns(pl.Series(SETTLE_DAY, settle[touched], dtype=pl.Int32))
    hours = _followed_order(order, step, old=old, new=new, rows=touched)
    if hours is None:
        return None
    followed = _counted(
        base, plus=_settled(new, base.day), minus=_settled(old, base.day), at=base.at, areas=areas
    )
    # the funnel's stage structures are not followed (its queries take the index path on a
    # followed version), and the earlier as-of rests were the previous version's cases
    followed = dataclasses.replace(
        followed, settle_day=settle, stages=None, rests={}, lock=threading.Lock()
    )
    at = history.base_time(cases)
    if at < base.at:
        return None
    if at > base.at:  # midnight passed: what settled since moves into the base
        day = history.day_number(at)
        moving = np.flatnonzero((settle > base.day) & (settle <= day))
        rows = cases[moving].with_columns(pl.Series(SETTLE_DAY, settle[moving]))
        followed = _counted(followed, plus=_settled(rows, day), minus=None, at=at, areas=areas)
        followed = dataclasses.replace(followed, at=at, day=day)
    ds.memo(_AREAS_KEY, lambda _: areas)
    ds.memo(_HOURS_KEY, lambda _: hours)
    return _with_after(followed, cases)


def _settle_days(frame: pl.DataFrame) -> np.ndarray:
    expr = history._settle_day_expr().fill_null(history.NEVER)
    return frame.select(expr).to_series().to_numpy().astype(np.int32)


def _settled(rows: pl.DataFrame, day: int) -> pl.DataFrame:
    """The ``rows`` a base at ``day`` counts."""
    return rows.filter(pl.col("community_code").is_not_null() & (pl.col(SETTLE_DAY) <= day))


def _known(fresh: pl.DataFrame, areas: hours_order.Areas, order: hours_order.HoursOrder) -> bool:
    """Whether every area and key value of the new rows is one the history knows."""
    communities = fresh["community_code"].drop_nulls()
    if not communities.is_in(areas.communities.implode()).all():
        return False
    for key, (values, _) in order.keys.items():
        if not fresh[key].drop_nulls().is_in(values.implode()).all():
            return False
    return True


def _memoised_otherwise(ds: Dataset, areas: hours_order.Areas) -> bool:
    """Whether ``ds`` already has areas of its own that differ (then build)."""
    mine = ds.memoised(_AREAS_KEY)
    return mine is not None and not mine.communities.equals(areas.communities)


def _with_after(base: history.Base, cases: pl.DataFrame) -> history.Base:
    """``base`` with its rest (``after``) read off the settle days, as a build reads it."""
    rows = np.flatnonzero(base.settle_day > base.day)
    after = (
        cases[rows]
        .with_columns(pl.Series(SETTLE_DAY, base.settle_day[rows], dtype=pl.Int32))
        .filter(pl.col("community_code").is_not_null())
    )
    return dataclasses.replace(
        base, after=after, after_reported_us=case_index.times_us(after["reported_at"])
    )


# -- the day counts -----------------------------------------------------------------------


def _counted(
    base: history.Base,
    *,
    plus: pl.DataFrame,
    minus: pl.DataFrame | None,
    at: dt.datetime,
    areas: hours_order.Areas,
) -> history.Base:
    """``base`` with the flags at ``at`` of the ``plus`` rows added to its day counts and
    those of the ``minus`` rows taken off (per community; per key value too when built)."""
    groups = ["community_code", *(base.keys or {})]
    parts = {g: _deltas(plus, minus, at=at, group=g, areas=areas) for g in groups}
    by_report, by_assessment = parts["community_code"]
    keys = None
    if base.keys is not None:
        keys = {
            k: (_plus(days[0], parts[k][0]), _plus(days[1], parts[k][1]))
            for k, days in base.keys.items()
        }
    return dataclasses.replace(
        base,
        by_report=_plus(base.by_report, by_report),
        by_assessment=_plus(base.by_assessment, by_assessment),
        keys=keys,
    )


def _deltas(
    plus: pl.DataFrame,
    minus: pl.DataFrame | None,
    *,
    at: dt.datetime,
    group: str,
    areas: hours_order.Areas,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Signed COUNTS (Int64) per (day, group) by report day and by assessment day."""

    def counts(rows: pl.DataFrame) -> list[pl.DataFrame]:
        flagged = rows.lazy().with_columns(metrics.case_flags(as_of=at))
        return pl.collect_all(
            [
                history._day_counts(flagged, history._REPORTED, group),
                history._day_counts(flagged.filter(pl.col("_due")), history._ASSESSED, group),
            ]
        )

    added = counts(plus)
    taken = counts(minus) if minus is not None else [f.clear() for f in added]
    out = []
    for a, t in zip(added, taken, strict=True):
        signed = pl.concat(
            [
                a.with_columns(pl.col(COUNTS).cast(pl.Int64)),
                t.with_columns(-pl.col(COUNTS).cast(pl.Int64)),
            ]
        )
        signed = signed.group_by("day", group).agg(pl.col(COUNTS).sum())
        if group == "community_code":
            community = pl.Series("community", areas.community_index(signed[group]))
            signed = signed.with_columns(community).drop(group)
        out.append(signed)
    return out[0], out[1]


def _plus(days: history._Days, delta: pl.DataFrame) -> history._Days:
    """``days`` with ``delta``'s signed counts added per (day, group): in place of the rows
    it has, new rows (sorted in) for the pairs it lacks; its months likewise."""
    if delta.is_empty():
        return days
    added = _plus_days(days, delta)
    months = (
        None
        if days.months is None
        else _plus_days(days.months, history.by_month(delta, days.frame.columns[1]))
    )
    return dataclasses.replace(added, months=months)


def _plus_days(days: history._Days, delta: pl.DataFrame) -> history._Days:
    group = days.frame.columns[1]
    wanted = np.unique(delta["day"].to_numpy())
    lo = np.searchsorted(days.days, wanted, side="left")
    hi = np.searchsorted(days.days, wanted, side="right")
    rows = np.concatenate(
        [np.arange(a, b) for a, b in zip(lo, hi, strict=True)] + [np.empty(0, np.int64)]
    )
    near = days.frame[rows.astype(np.int64)].select("day", group)
    near = near.with_columns(pl.Series("_row", rows, dtype=pl.Int64))
    delta = delta.with_columns(pl.col("day").cast(pl.Int32), pl.col(group).cast(near[group].dtype))
    joined = delta.join(near, on=["day", group], how="left", nulls_equal=True)
    hit = joined.filter(pl.col("_row").is_not_null())
    at = hit["_row"].to_numpy()
    columns = []
    for name in COUNTS:
        values = days.frame[name].to_numpy().astype(np.int64)
        values[at] += hit[name].to_numpy()
        columns.append(pl.Series(name, values))
    frame = days.frame.select("day", group).with_columns(columns)
    missing = joined.filter(pl.col("_row").is_null()).select(frame.columns)
    if not missing.is_empty():
        frame = pl.concat([frame, missing]).sort("day", group)
    low = min(frame[c].min() for c in COUNTS) if frame.height else 0
    if low < 0:
        raise ValueError("settled history: a count fell below zero")  # a bug, never data
    top = max(frame[c].max() for c in COUNTS) if frame.height else 0
    frame = frame.with_columns(pl.col(COUNTS).cast(pl.UInt16 if top < 2**16 else pl.UInt32))
    return history._Days(frame=frame, days=frame["day"].to_numpy())


# -- the hours order ----------------------------------------------------------------------


def _followed_order(
    built: hours_order.HoursOrder,
    step: case_index.IndexStep,
    *,
    old: pl.DataFrame,
    new: pl.DataFrame,
    rows: np.ndarray,
) -> hours_order.HoursOrder | None:
    """``built`` with the old entries of the changed cases taken out and the closed new
    versions (case-index ``rows``) put in; the case rows of the moved rows renumbered."""
    was = old.select(_IN_ORDER).to_series().to_numpy()
    going = old.filter(pl.Series(was))
    gone_rows = step.changed_old[was]
    gone_hours = going.select(metrics.hours_to_close()).to_series().to_numpy()
    entries = _entries(built, gone_rows, gone_hours)
    if entries is None:
        return None
    goes_in = new.select(_IN_ORDER).to_series().to_numpy()
    coming = new.filter(pl.Series(goes_in))
    n_old = built.hours.size
    ids = np.arange(n_old, n_old + coming.height, dtype=np.int64)
    hours = np.concatenate(
        [built.hours, coming.select(metrics.hours_to_close()).to_series().to_numpy()]
    )
    case_rows = built.case_rows.copy()
    moved = case_rows >= step.start
    case_rows[moved] = step.region[case_rows[moved] - step.start]
    case_rows = np.concatenate([case_rows, rows[goes_in].astype(case_rows.dtype)])
    day_type = built.orders[None].report_day.dtype
    values = _entry_values(coming, built, day_type)
    if values is None:
        return None
    community = built.areas.community_index(coming["community_code"])
    old_community = built.areas.community_index(going["community_code"])
    orders, keys = {}, dict(built.keys)
    for level, order in built.orders.items():
        groups, old_groups = (
            _groups(built.areas, level, community),
            _groups(built.areas, level, old_community),
        )
        places = _places(order, built.hours, entries, old_groups, gone_hours)
        orders[level], plan, by = _spliced(
            order, places, old_groups, ids, groups, hours, values, community
        )
        if level is None:  # the key codes run along the overall order
            for key, (names, codes) in built.keys.items():
                new_codes = coming[key].cast(pl.Enum(names)).to_physical().cast(pl.Int32)
                keys[key] = (names, plan.apply(codes, new_codes.fill_null(-1).to_numpy()[by]))
    key_orders = {}
    for key, order in built.key_orders.items():  # groups: 0 null, i + 1 value i
        names = built.keys[key][0]
        groups, old_groups = (
            frame[key].cast(pl.Enum(names)).to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
            + 1
            for frame in (coming, going)
        )
        places = _places(order, built.hours, entries, old_groups, gone_hours)
        key_orders[key], _, _ = _spliced(
            order, places, old_groups, ids, groups, hours, values, community
        )
    return hours_order.HoursOrder(
        areas=built.areas,
        case_rows=case_rows,
        hours=hours,
        orders=orders,
        keys=keys,
        key_orders=key_orders,
    )


def _entry_values(
    coming: pl.DataFrame, built: hours_order.HoursOrder, day_type
) -> dict[str, np.ndarray] | None:
    """The day columns of the new entries, as ``hours_order._build`` computes them."""
    times = coming.select(
        "reported_at",
        pl.max_horizontal("closed_at", "registered_at").alias("closed"),
        pl.min_horizontal("closed_at", "due_at").alias("assessed"),
    )
    out = {}
    limit = np.iinfo(day_type)
    for name, column in (
        ("report_day", "reported_at"),
        ("closed_day", "closed"),
        ("assessed_day", "assessed"),
    ):
        days = times[column].dt.date().cast(pl.Int32).to_numpy()
        if days.size and (days.min() < limit.min or days.max() > limit.max):
            return None
        out[name] = days.astype(day_type)
    return out


def _groups(areas: hours_order.Areas, level: str | None, community: np.ndarray) -> np.ndarray:
    if level is None:
        return np.zeros(community.size, dtype=np.int64)
    if level == "community":
        return community.astype(np.int64)
    return areas.street_of[community].astype(np.int64)


def _search(
    closed: np.ndarray,
    hours: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    values: np.ndarray,
    *,
    right: bool,
) -> np.ndarray:
    """Per value, the first place in ``lo``..``hi`` of ``closed`` whose hours are above it
    (``right``) or not below it: a binary search for all values at once."""
    lo, hi = lo.astype(np.int64).copy(), hi.astype(np.int64).copy()
    top = max(closed.size - 1, 0)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        at = hours[closed[np.minimum(mid, top)]] if closed.size else values
        after = (at <= values) if right else (at < values)
        lo = np.where(active & after, mid + 1, lo)
        hi = np.where(active & ~after, mid, hi)


def _entries(
    built: hours_order.HoursOrder, gone_rows: np.ndarray, gone_hours: np.ndarray
) -> np.ndarray | None:
    """The entry (index into ``hours``) of each case-index row of ``gone_rows``, found
    among its equals in hours in the overall order."""
    order = built.orders[None]
    zero, end = np.zeros(gone_rows.size, np.int64), np.full(gone_rows.size, order.closed.size)
    left = _search(order.closed, built.hours, zero, end, gone_hours, right=False)
    right = _search(order.closed, built.hours, zero, end, gone_hours, right=True)
    entries = np.empty(gone_rows.size, dtype=np.int64)
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        candidates = order.closed[a:b]
        hit = np.flatnonzero(built.case_rows[candidates] == gone_rows[i])
        if hit.size != 1:
            return None
        entries[i] = candidates[hit[0]]
    return entries


def _places(
    order: hours_order.Order,
    hours: np.ndarray,
    entries: np.ndarray,
    groups: np.ndarray,
    values: np.ndarray,
) -> np.ndarray:
    """The place of each entry along ``order`` (in its group, among its equals)."""
    lo, hi = order.starts[groups], order.starts[groups + 1]
    left = _search(order.closed, hours, lo, hi, values, right=False)
    right = _search(order.closed, hours, lo, hi, values, right=True)
    places = np.empty(entries.size, dtype=np.int64)
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        places[i] = a + int(np.flatnonzero(order.closed[a:b] == entries[i])[0])
    return places


def _spliced(
    order: hours_order.Order,
    places: np.ndarray,
    old_groups: np.ndarray,
    ids: np.ndarray,
    groups: np.ndarray,
    hours: np.ndarray,
    values: dict[str, np.ndarray],
    community: np.ndarray,
) -> tuple[hours_order.Order, _Plan, np.ndarray]:
    """``order`` without the entries at ``places`` and with the entries ``ids`` (of
    ``groups``) at their places by hours; the plan that did it (for the key codes along
    the overall order) and the permutation of the entries it puts them in."""
    size = order.starts.size - 1
    taken = np.bincount(old_groups, minlength=size)
    starts = order.starts - np.concatenate([[0], np.cumsum(taken)])
    lo, hi = starts[groups], starts[groups + 1]
    rest = np.delete(order.closed, places)  # the order less the gone, to place the new in
    at = _search(rest, hours, lo, hi, hours[ids], right=True)
    # by place, then group (an emptied group and the next one share a place), then hours
    by = np.lexsort((hours[ids], groups, at))
    at, ids, groups = at[by], ids[by], groups[by]
    plan = _Plan.of(np.sort(places), at, size=order.closed.size)
    added = np.bincount(groups, minlength=size)
    columns = {
        name: plan.apply(getattr(order, name), values[name][by])
        for name in ("report_day", "closed_day", "assessed_day")
    }
    communities = None
    if order.community is not None:
        communities = plan.apply(order.community, community[by])
    spliced = hours_order.Order(
        closed=plan.apply(order.closed, ids),
        starts=starts + np.concatenate([[0], np.cumsum(added)]),
        community=communities,
        **columns,
    )
    return spliced, plan, by


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Taking the elements at ``gone`` out of an array and putting new ones before the
    elements at ``at`` (places in the array less the gone, ascending): the runs of old
    elements to copy, so each array is copied once (``np.insert`` sorts and masks)."""

    runs: list[tuple[int, int, int]]  # (from, to) of the old array → at ``dst`` of the new
    put: np.ndarray  # the places of the new elements in the new array
    size: int

    @classmethod
    def of(cls, gone: np.ndarray, at: np.ndarray, *, size: int) -> _Plan:
        shifted = gone - np.arange(gone.size)
        source = at + np.searchsorted(shifted, at, side="right")  # ``at`` in the old array
        position = np.concatenate([source, gone])
        kind = np.concatenate([np.zeros(at.size, np.int8), np.ones(gone.size, np.int8)])
        runs, src, dst = [], 0, 0
        for k in np.lexsort((kind, position)).tolist():
            p = int(position[k])
            if p > src:
                runs.append((src, p, dst))
                dst += p - src
                src = p
            if kind[k]:
                src += 1  # a gone element: skipped
            else:
                dst += 1  # a new element's place
        if src < size:
            runs.append((src, size, dst))
        return cls(runs=runs, put=at + np.arange(at.size), size=size - gone.size + at.size)

    def apply(self, array: np.ndarray, values: np.ndarray) -> np.ndarray:
        if self.size == array.size and not self.put.size:
            return array
        out = np.empty(self.size, dtype=array.dtype)
        for lo, hi, dst in self.runs:
            out[dst : dst + hi - lo] = array[lo:hi]
        out[self.put] = values.astype(array.dtype)
        return out
