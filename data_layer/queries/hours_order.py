"""Hours to close, median and p90, exactly, without a sort per query.

An order statistic cannot be added up like a count, so the settled history (``history``)
keeps the closed cases themselves, sorted once per data version by (group, hours): overall,
within each street, within each community (``Order``). A query marks the cases it selects
in that order — reported (or assessed) in the window and closed by the as-of — and the
k-th marked case of a group holds its k-th smallest hours: a few sequential passes over
small integer columns, no sort, no scatter.

The marks are decided on whole days (``report_day``, ``closed_day``, ``assessed_day``,
kept in each order's sequence so the pass reads memory in order); a case whose day is the
window's last day or the as-of's day is decided on its exact times, as the scan decides
it. The interpolation is polars' (``quantile``): the values are those of
``pl.Expr.median`` and ``quantile(…, interpolation="linear")`` over the same cases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from data_layer.domain import metrics
from data_layer.queries import case_index
from data_layer.storage.source import Dataset

_MEMO_KEY = "hours_order"
_EPOCH = dt.date(1970, 1, 1)
LEVELS = (None, "street", "community")
KEYS = ("category", "source", "handling_unit")  # the other groups the case pages ask for


@dataclass(frozen=True)
class Areas:
    """The communities of the case index (sorted codes) and the street of each."""

    communities: pl.Series
    streets: pl.Series
    street_of: np.ndarray  # street index of each community index

    def community_index(self, codes: pl.Series) -> np.ndarray:
        """The index of each (known) community code."""
        return codes.cast(pl.Enum(self.communities)).to_physical().cast(pl.Int32).to_numpy()

    def allowed(self, codes: pl.Series | None) -> np.ndarray | None:
        """A mask over community indexes (None: every community)."""
        if codes is None:
            return None
        mask = np.zeros(self.communities.len(), dtype=bool)
        mask[self.community_index(codes.filter(codes.is_in(self.communities.implode())))] = True
        return mask

    def group_allowed(self, level: str | None, allowed: np.ndarray) -> np.ndarray | None:
        """``allowed`` as a mask over the groups of ``level`` when it takes whole groups
        (None: it splits a group, so each case must be checked)."""
        if level == "community":
            return allowed
        if level is None:
            return None
        streets = np.zeros(self.streets.len(), dtype=bool)
        streets[self.street_of[allowed]] = True
        return streets if np.array_equal(streets[self.street_of], allowed) else None

    def codes(self, level: str | None, groups: np.ndarray, scope_code: str) -> pl.Series:
        """The ``code`` of each group index of ``level``."""
        if level is None:
            return pl.Series("code", [scope_code] * groups.size, dtype=pl.String)
        names = self.communities if level == "community" else self.streets
        return names.gather(groups).alias("code")


def areas(ds: Dataset) -> Areas:
    """The communities and streets of ``ds``'s case index, found on first use."""
    return ds.memo(_MEMO_KEY + ":areas", lambda ds: _areas_of(case_index.case_index(ds).cases))


def _areas_of(cases: pl.DataFrame) -> Areas:
    pairs = (
        cases.lazy()
        .select("community_code", "street_code")
        .drop_nulls()
        .unique()
        .sort("community_code")
        .collect()
    )
    streets = pairs["street_code"].unique().sort()
    street_of = pairs["street_code"].cast(pl.Enum(streets)).to_physical().cast(pl.Int32)
    return Areas(
        communities=pairs["community_code"], streets=streets, street_of=street_of.to_numpy()
    )


@dataclass(frozen=True)
class Order:
    """The closed cases ordered by (group, hours), with what a selection reads, in order."""

    closed: np.ndarray  # the place of each in ``HoursOrder``'s arrays
    starts: np.ndarray  # group g is [starts[g], starts[g + 1])
    report_day: np.ndarray
    closed_day: np.ndarray  # the day of max(closed_at, registered_at): closed from then on
    assessed_day: np.ndarray  # the day of min(closed_at, due_at)
    community: np.ndarray | None  # community index (for scopes that split a group)


@dataclass(frozen=True)
class HoursOrder:
    areas: Areas
    case_rows: np.ndarray  # the case-index row of each closed case
    hours: np.ndarray  # its hours to close
    orders: dict[str | None, Order]
    # per key column (category, source, handling unit): its values (sorted) and, along
    # ``orders[None]``, each case's value as an index into them (-1: null)
    keys: dict[str, tuple[pl.Series, np.ndarray]]
    # a key of many values (``_FEW_CODES``: the handling unit) also has an order of its own
    # by (value, hours): group 0 the null value, group i + 1 value i (no ``community``)
    key_orders: dict[str, Order] = field(default_factory=dict)


def _days(times: pl.Series, dtype) -> np.ndarray:
    return (times.dt.date().cast(pl.Int32)).to_numpy().astype(dtype)


def _build(ds: Dataset) -> HoursOrder:
    cases = case_index.case_index(ds).cases
    areas_ = areas(ds)
    values = {k: cases[k].drop_nulls().unique().sort() for k in KEYS}
    c = pl.col
    closed = (
        cases.lazy()
        .with_row_index("row")
        .filter(
            (c("rejected") == False)  # noqa: E712 - null: never registered
            & c("closed_at").is_not_null()
            & c("reported_at").is_not_null()
            & c("community_code").is_not_null()
        )
        .select(
            pl.col("row").cast(pl.Int64),
            "community_code",
            # the key columns as their index into the sorted values (-1: null), not strings
            *(
                pl.col(k).cast(pl.Enum(values[k])).to_physical().cast(pl.Int32).fill_null(-1)
                for k in KEYS
            ),
            "reported_at",
            pl.max_horizontal("closed_at", "registered_at").alias("closed"),
            pl.min_horizontal("closed_at", "due_at").alias("assessed"),
            metrics.hours_to_close().alias("hours"),
        )
        .collect()
    )
    community = areas_.community_index(closed["community_code"])
    days = pl.concat([closed[n].dt.date().cast(pl.Int32) for n in ("reported_at", "closed")])
    fits = days.len() == 0 or (days.min() > -(2**15) and days.max() < 2**15)
    day_type = np.int16 if fits else np.int32
    columns = {
        "report_day": _days(closed["reported_at"], day_type),
        "closed_day": _days(closed["closed"], day_type),
        "assessed_day": _days(closed["assessed"], day_type),
    }
    hours = closed["hours"].to_numpy()
    rows = closed["row"].to_numpy()
    # by hours, then within each group by that order: one float sort, two integer ones
    overall = closed["hours"].arg_sort().to_numpy()
    rank = np.empty(hours.size, dtype=np.int64)
    rank[overall] = np.arange(hours.size)

    def grouped(groups: np.ndarray | None, size: int, *, with_community: bool) -> Order:
        if groups is None:
            order, starts = overall, np.array([0, hours.size])
        else:
            order = pl.Series(groups.astype(np.int64) * hours.size + rank).arg_sort().to_numpy()
            starts = np.searchsorted(groups[order], np.arange(size + 1))
        return Order(
            closed=order.astype(np.int32),
            starts=starts,
            **{name: values[order] for name, values in columns.items()},
            community=community[order].astype(np.int16) if with_community else None,
        )

    orders = {
        None: grouped(None, 1, with_community=True),
        "community": grouped(community, areas_.communities.len(), with_community=False),
        "street": grouped(areas_.street_of[community], areas_.streets.len(), with_community=True),
    }
    key_orders = {
        key: grouped(closed[key].to_numpy() + 1, values[key].len() + 1, with_community=False)
        for key in KEYS
        if values[key].len() > _FEW_CODES
    }
    case_rows = rows.astype(np.int32 if rows.size < 2**31 else np.int64)
    keys = {}
    for key in KEYS:  # the key of each case along the overall order, as a small code
        small = np.int16 if values[key].len() < 2**15 else np.int32
        keys[key] = (values[key], closed[key].to_numpy()[overall].astype(small))
    return HoursOrder(
        areas=areas_,
        case_rows=case_rows,
        hours=hours,
        orders=orders,
        keys=keys,
        key_orders=key_orders,
    )


def hours_order(ds: Dataset) -> HoursOrder:
    """The closed cases of ``ds`` by hours to close (any as-of), built on first use."""
    return ds.memo(_MEMO_KEY, _build)


def _day(value: dt.datetime) -> int:
    return (value.date() - _EPOCH).days


def _marked(
    built: HoursOrder,
    order: Order,
    index: case_index.CaseIndex,
    *,
    basis: str,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
) -> np.ndarray:
    """Which cases of ``order`` the statistics are over (a mask in its sequence): closed by
    ``as_of`` and reported in ``start``..``end`` — or (``basis`` "assessment") assessed in
    it and reported by ``as_of``. Whole days decide; the last day's and the as-of day's
    cases are decided on their exact times."""
    first, last, today = _day(start), _day(end), _day(as_of)
    day = order.report_day if basis == "report" else order.assessed_day
    # in place, into two masks: each new temporary of 10M costs its page faults
    # (a test every case passes — all closed by the as-of's day, at a live as-of — is skipped)
    within = np.greater_equal(day, first)
    work = np.less_equal(day, last)
    within &= work
    if day.size and order.closed_day.max() > today:
        np.less_equal(order.closed_day, today, out=work)
        within &= work
    edge = np.equal(order.closed_day, today)
    if end != dt.datetime.combine(end.date(), dt.time.max):  # the last day is cut short
        np.equal(day, last, out=work)
        edge |= work
    if basis == "assessment":
        if day.size and order.report_day.max() > today:
            np.less_equal(order.report_day, today, out=work)
            within &= work
        np.equal(order.report_day, today, out=work)
        edge |= work
    edge &= within
    check = np.flatnonzero(edge)
    if check.size:
        rows = built.case_rows[order.closed[check]]
        within[check] = _exact(index, rows, basis=basis, end=end, as_of=as_of)
    return within


def _exact(
    index: case_index.CaseIndex,
    at: np.ndarray,
    *,
    basis: str,
    end: dt.datetime,
    as_of: dt.datetime,
) -> np.ndarray:
    """The exact test of the cases at case-index rows ``at`` (within by their days)."""
    rows = index.cases.select("reported_at", "registered_at", "closed_at", "due_at")[at]
    closed = case_index.times_us(rows.select(pl.max_horizontal("closed_at", "registered_at"))[:, 0])
    ok = closed <= case_index.micros(as_of)
    reported = case_index.times_us(rows["reported_at"])
    if basis == "report":
        return ok & (reported <= case_index.micros(end))
    assessed = case_index.times_us(rows.select(pl.min_horizontal("closed_at", "due_at"))[:, 0])
    return ok & (assessed <= case_index.micros(end)) & (reported <= case_index.micros(as_of))


def quantile(count: np.ndarray, nulls: np.ndarray, ranked, q: float) -> np.ndarray:
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


def _selection(
    built: HoursOrder,
    order: Order,
    ds: Dataset,
    *,
    basis: str,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
    allowed: np.ndarray | None,
    whole: np.ndarray | None,
) -> np.ndarray:
    """The places along ``order`` of the selected closed cases, ascending."""
    marked = _marked(
        built, order, case_index.case_index(ds), basis=basis, start=start, end=end, as_of=as_of
    )
    if allowed is not None and whole is None:
        marked &= allowed[order.community]
    return np.flatnonzero(marked)


def _stats(
    count: np.ndarray, nulls: np.ndarray, ranked, quantiles: dict[str, float]
) -> list[pl.Series]:
    return [
        pl.Series(name, quantile(count, nulls, ranked, q), dtype=pl.Float64)
        for name, q in quantiles.items()
    ]


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
    (None: one ``scope_code`` row) with a selected closed case, of the ``communities`` (None:
    all). ``nulls`` (``code``, ``nulls``): the selected cases of each group that are not
    closed, which polars' quantile of the scan counts in (``quantile``)."""
    built = hours_order(ds)
    order = built.orders[level]
    groups = np.arange(order.starts.size - 1)
    allowed = built.areas.allowed(communities)
    whole = None if allowed is None else built.areas.group_allowed(level, allowed)
    flat = _selection(
        built,
        order,
        ds,
        basis=basis,
        start=start,
        end=end,
        as_of=as_of,
        allowed=allowed,
        whole=whole,
    )
    if whole is not None:
        groups = groups[whole]
    bounds = np.searchsorted(flat, order.starts)
    base, count = bounds[groups], bounds[groups + 1] - bounds[groups]
    has = count > 0
    groups, base, count = groups[has], base[has], count[has]
    frame = pl.DataFrame(built.areas.codes(level, groups, scope_code)).join(
        nulls, on="code", how="left", maintain_order="left"
    )
    z = frame["nulls"].fill_null(0).to_numpy().astype(np.int64)

    def ranked(k: np.ndarray) -> np.ndarray:
        return built.hours[order.closed[flat[base + k]]]

    return frame.select("code").with_columns(
        _stats(count, z, ranked, {"hours_to_close_median": 0.5, "hours_to_close_p90": 0.9})
    )


def _by_code(selected: np.ndarray, codes: int) -> np.ndarray:
    """The places of ``selected`` grouped by code, each code's in their order (a stable
    radix sort): for a key of many values in a scope that splits its order's groups."""
    return np.argsort(selected, kind="stable")


# A key of at most this many values (category, source) is read off the overall order a
# value at a time; one of more (the handling unit) has an order of its own (``key_orders``).
_FEW_CODES = 16
_BLOCK = 1 << 14  # the overall order in blocks: a value's k-th case is found in its block


@dataclass(frozen=True)
class _Blocks:
    """Per value (``codes``' index, null first), how many marked cases of that value each
    block of ``_BLOCK`` places of the order holds, cumulated: the k-th is then read in
    its block only (no list of the marked places, no sort)."""

    marked: np.ndarray
    codes: np.ndarray
    values: np.ndarray  # the code of each row of ``cumulated``
    cumulated: np.ndarray  # (values, blocks): marked cases up to the end of each block

    @classmethod
    def of(cls, marked: np.ndarray, codes: np.ndarray, values: np.ndarray) -> _Blocks:
        full = marked.size // _BLOCK * _BLOCK
        rows = []
        eq = np.empty(marked.size, dtype=bool)
        for code in values:
            np.equal(codes, code, out=eq)
            eq &= marked
            sums = eq[:full].reshape(-1, _BLOCK).view(np.uint8).sum(axis=1, dtype=np.int64)
            rows.append(np.append(sums, np.count_nonzero(eq[full:])))
        sums = np.array(rows, dtype=np.int64) if rows else np.zeros((0, 1), dtype=np.int64)
        cumulated = np.cumsum(sums, axis=1)
        return cls(marked=marked, codes=codes, values=values, cumulated=cumulated)

    def counts(self) -> np.ndarray:
        return self.cumulated[:, -1] if self.cumulated.shape[1] else np.zeros(len(self.values))

    def places(self, rows: np.ndarray, ranks: np.ndarray) -> np.ndarray:
        """The place of the ``ranks[i]``-th marked case (0-based) of value row ``rows[i]``."""
        out = np.empty(rows.size, dtype=np.int64)
        for i, (row, rank) in enumerate(zip(rows.tolist(), ranks.tolist(), strict=True)):
            cumulated = self.cumulated[row]
            block = int(np.searchsorted(cumulated, rank, side="right"))
            before = int(cumulated[block - 1]) if block else 0
            lo = block * _BLOCK
            hi = min(lo + _BLOCK, self.marked.size)
            hits = np.flatnonzero((self.codes[lo:hi] == self.values[row]) & self.marked[lo:hi])
            out[i] = lo + hits[rank - before]
        return out


def key_stats(
    ds: Dataset,
    *,
    key: str,
    basis: str,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
    communities: pl.Series | None,
    nulls: pl.DataFrame | None,
    quantiles: dict[str, float],
) -> pl.DataFrame:
    """Per value of ``key`` (a column of ``KEYS``; null too) with a selected closed case:
    ``key``, ``closed`` (their count) and the ``quantiles`` (name → q) of their hours to
    close. ``nulls`` (``key``, ``nulls``) as for ``hours_stats``; None: no nulls (a
    selection of closed cases only)."""
    built = hours_order(ds)
    values, codes = built.keys[key]
    allowed = built.areas.allowed(communities)
    own = built.key_orders.get(key)
    order = own if own is not None and allowed is None else built.orders[None]
    marked = _marked(
        built,
        order,
        case_index.case_index(ds),
        basis=basis,
        start=start,
        end=end,
        as_of=as_of,
    )
    if allowed is not None:
        marked &= allowed[order.community]
    if order is own:  # groups of the key's own order: 0 null, i + 1 value i
        flat = np.flatnonzero(marked)
        bounds = np.searchsorted(flat, order.starts)
        first, sizes = bounds[:-1], np.diff(bounds)
        present = np.flatnonzero(sizes)
        first, count = first[present], sizes[present]

        def place(k: np.ndarray) -> np.ndarray:
            return flat[first + k]

    elif values.len() <= _FEW_CODES:  # a value at a time along the overall order
        null = -1 if codes.size and codes.min() < 0 else 0  # the null value only if held
        blocks = _Blocks.of(marked, codes, np.arange(null, values.len(), dtype=codes.dtype))
        sizes = blocks.counts()
        rows = np.flatnonzero(sizes)
        present, count = rows + null + 1, sizes[rows]  # 0: null, then the values' indexes

        def place(k: np.ndarray) -> np.ndarray:
            return blocks.places(rows, k)

    else:  # a scope that splits the key's order: its selected cases sorted by value
        flat = np.flatnonzero(marked)
        selected = codes[flat] + 1  # 0: null, then the values' indexes
        by_code = _by_code(selected, values.len() + 1)
        sizes = np.bincount(selected, minlength=values.len() + 1)
        present = np.flatnonzero(sizes)
        first, count = (np.cumsum(sizes) - sizes)[present], sizes[present]

        def place(k: np.ndarray) -> np.ndarray:
            return flat[by_code[first + k]]

    names = pl.Series(
        key, [None if c == 0 else values[int(c) - 1] for c in present], dtype=values.dtype
    )
    frame = pl.DataFrame([names, pl.Series("closed", count, dtype=pl.Int64)])
    if nulls is not None:
        frame = frame.join(nulls, on=key, how="left", maintain_order="left", nulls_equal=True)
        z = frame["nulls"].fill_null(0).to_numpy().astype(np.int64)
        frame = frame.drop("nulls")
    else:
        z = np.zeros(present.size, dtype=np.int64)

    def ranked(k: np.ndarray) -> np.ndarray:
        return built.hours[order.closed[place(k)]]

    return frame.with_columns(_stats(count, z, ranked, quantiles))
