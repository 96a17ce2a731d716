"""The settled history: what no later as-of can change, counted once per data version.

A case is *settled* from its settle time ``S`` on when every per-case flag of
``metrics.case_flags`` is the same at every as-of from ``S`` on: ``S`` is its report time
if it was never registered (rejected, or undecided), the latest of its report, registration,
dispatch and closing times if it was registered and closed; a case still open has none.
The case counts of a window seen at ``as_of`` are (issue 16, docs/architecture.md "The
settled history"):

* the cases settled by the base time ``B`` (``Base.at``, the start of today or of the data's
  last day) — their flags evaluated once at ``B`` and summed per community and day
  (``Base.by_report`` by report day, ``by_assessment`` by assessment day), so a window adds
  up days;
* minus those of them that were not settled yet at the start of the as-of's day ``C``
  (an as-of before ``B``: a 较上期 period, a frozen meeting) — their final flags;
* plus the *rest*: every case of the window not settled at ``min(C, B)`` (open ones, those
  touched on the as-of day, those settled after ``C``), flagged exactly by ``metrics`` at
  the as-of, as the scan would.

Every case a window counts is in exactly one of the settled part and the rest, so the sum is
the scan's. Which cases are the rest is read off each case's settle day (``settle_day``,
the first midnight from which it is settled), one small integer a case: one pass over the
window's part of the index. ``figures`` composes the three parts; ``hours_order`` gives the
order statistics.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from data_layer.domain import metrics
from data_layer.domain.filters import now_local
from data_layer.queries import case_index, hours_order, stage_hours
from data_layer.storage.source import Dataset

log = logging.getLogger(__name__)

# Below this many cases the case index alone answers within the targets; the history's
# build would cost more than it saves.
MIN_ROWS = 1_000_000
# … nor for a window of fewer cases (本月 at province: 0.4M): the index's slice is quicker
MIN_WINDOW_ROWS = 1_000_000
START_DELAY_S = 3.0  # before the background build of a dataset
IDLE_POLL_S = 0.25  # how often a background build waiting for an idle server looks again
_MEMO_KEY = "settled_history"
AREA_LEVELS = (None, "street", "community")
KEYS = hours_order.KEYS
COUNTS = metrics.CASE_COUNT_COLUMNS
NEVER = np.iinfo(np.int32).max  # the settle day of a case that is not settled
SETTLE_DAY = "_settle_day"
_EPOCH = dt.date(1970, 1, 1)


def day_number(value: dt.date | dt.datetime) -> int:
    """Days since 1970-01-01 (polars' physical ``Date``)."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return (day - _EPOCH).days


def settle_day(as_of: dt.datetime) -> int:
    """The day number of the as-of's midnight: a case is settled at it when its settle day
    is not later."""
    return day_number(as_of)


def base_time(cases: pl.DataFrame) -> dt.datetime:
    """``B``: the start of today, or of the data's last report day if that is earlier (an
    export of last year): the latest midnight the live views' as-ofs are not before."""
    latest = cases["reported_at"].max()
    today = now_local()
    moment = today if latest is None else min(latest, today)
    return dt.datetime.combine(moment.date(), dt.time())


_STAGE_TIMES = [t for t in metrics.STAGE_TIME_COLUMN.values() if t is not None]


def _settle_day_expr() -> pl.Expr:
    """The first midnight (day number) from which a case's flags — and its funnel flags and
    stage hours (``metrics.funnel_flags``: every stage time) — are final; null: never."""
    c = pl.col
    moment = (
        pl.when(c("rejected").is_null() | (c("rejected") == True))  # noqa: E712
        .then(c("reported_at"))
        .when(c("closed_at").is_not_null() & c("reported_at").is_not_null())
        .then(pl.max_horizontal(_STAGE_TIMES))
    )
    late = (moment != moment.dt.truncate("1d")).cast(pl.Int32)
    return moment.dt.date().cast(pl.Int32) + late


@dataclass(frozen=True)
class _Days:
    """Counts per (day, group), sorted by day: a window of days is a slice. ``months``: the
    same counts per (calendar month, group) — its ``day`` the month's first day — so a
    window's totals add up a few rows per group a month instead of one a day."""

    frame: pl.DataFrame
    days: np.ndarray
    months: _Days | None = None

    def between(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        lo = int(np.searchsorted(self.days, np.int32(day_number(first)), side="left"))
        hi = int(np.searchsorted(self.days, np.int32(day_number(last)), side="right"))
        return self.frame.slice(lo, max(hi - lo, 0))

    def totals(self, first: dt.date, last: dt.date) -> pl.DataFrame:
        """Rows (group, COUNTS) whose sums per group are the counts of days
        ``first``..``last``: the months wholly in them, the days before and after those."""
        group = self.frame.columns[1]
        lo = _month_after(first, inclusive=True)  # the first whole month's first day
        hi = (last + dt.timedelta(days=1)).replace(day=1)  # the day after the last whole one
        if self.months is None or lo >= hi:
            return self.between(first, last).drop("day")
        parts = [
            self.between(first, lo - dt.timedelta(days=1)),
            self.months.between(lo, hi - dt.timedelta(days=1)),
            self.between(hi, last),
        ]
        return pl.concat([p.select(group, *COUNTS) for p in parts], how="vertical_relaxed")


def _month_after(day: dt.date, *, inclusive: bool) -> dt.date:
    """The first day of the first month that starts on ``day`` (``inclusive``) or after it."""
    if inclusive and day.day == 1:
        return day
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def by_month(frame: pl.DataFrame, group: str) -> pl.DataFrame:
    """Counts per (day, ``group``) summed per (month, group): ``day`` the month's first day."""
    month = pl.col("day").cast(pl.Date).dt.truncate("1mo").cast(pl.Int32)
    return frame.group_by(month, group).agg(pl.col(COUNTS).sum().cast(pl.Int64))


def _with_months(frame: pl.DataFrame, group: str) -> _Days:
    """A sorted (day, group) frame of counts, with its months."""
    months = _small(by_month(frame, group).sort("day", group).select(frame.columns))
    return _Days(
        frame=frame,
        days=frame["day"].to_numpy(),
        months=_Days(frame=months, days=months["day"].to_numpy()),
    )


def _small(frame: pl.DataFrame) -> pl.DataFrame:
    """Counts kept small: UInt16 when they fit (summed as Int64)."""
    small = frame.height == 0 or max(frame[c].max() for c in COUNTS) < 2**16
    return frame.with_columns(pl.col(COUNTS).cast(pl.UInt16 if small else pl.UInt32))


def _day_counts(flagged: pl.LazyFrame, day: pl.Expr, group: str) -> pl.LazyFrame:
    return flagged.group_by(day.dt.date().cast(pl.Int32).alias("day"), group).agg(
        metrics.case_count_aggregations()
    )


def _days(frame: pl.DataFrame, group: str, areas: hours_order.Areas) -> _Days:
    # a community's (a unit's, …) cases of one day: small counts, kept small (summed as Int64)
    frame = _small(frame)
    if group == "community_code":
        frame = frame.with_columns(
            pl.Series("community", areas.community_index(frame["community_code"]))
        ).drop("community_code")
        group = "community"
    frame = frame.sort("day", group).select("day", group, *COUNTS)
    return _with_months(frame, group)


_REPORTED = pl.col("reported_at")
_ASSESSED = pl.min_horizontal("closed_at", "due_at")  # a due case's assessment time, final


@dataclass
class Base:
    """The settled history of a dataset at its base time ``at``."""

    at: dt.datetime
    day: int  # ``at``'s day number
    settle_day: np.ndarray  # per case-index row (``NEVER``: not settled)
    by_report: _Days  # settled-by-``at`` counts per (report day, community)
    by_assessment: _Days  # … of the due ones per (assessment day, community)
    # counts per (day, key value) over the whole dataset, built when a breakdown first asks
    keys: dict[str, tuple[_Days, _Days]] | None = None
    # the cases not settled at ``at`` (in index order, with their settle day), and their
    # report times: what every window at a live as-of counts exactly
    after: pl.DataFrame | None = None
    after_reported_us: np.ndarray | None = None
    stages: stage_hours.StageHours | None = None  # the funnel's counts and stage hours
    # the rests of the last few earlier as-of days (``rest``): a 较上期 period asks for
    # the same one from every query, all day
    rests: dict = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _build_base(ds: Dataset) -> Base:
    hours_order.hours_order(ds)  # the hours statistics are read with the counts
    index = case_index.case_index(ds)
    at = base_time(index.cases)
    day = day_number(at)
    days = index.cases.select(_settle_day_expr().fill_null(NEVER)).to_series().to_numpy()
    flagged = (
        index.cases.lazy()
        .with_columns(pl.Series(SETTLE_DAY, days))
        .filter(pl.col("community_code").is_not_null() & (pl.col(SETTLE_DAY) <= day))
        .with_columns(metrics.case_flags(as_of=at))
    )
    by_report, by_assessment = pl.collect_all(
        [
            _day_counts(flagged, _REPORTED, "community_code"),
            _day_counts(flagged.filter(pl.col("_due")), _ASSESSED, "community_code"),
        ]
    )
    areas = hours_order.areas(ds)
    after = np.flatnonzero(days > day)
    rest_ = (
        index.cases[after]
        .with_columns(pl.Series(SETTLE_DAY, days[after]))
        .filter(pl.col("community_code").is_not_null())
    )
    return Base(
        at=at,
        day=day,
        settle_day=days.astype(np.int32),
        by_report=_days(by_report, "community_code", areas),
        by_assessment=_days(by_assessment, "community_code", areas),
        after=rest_,
        after_reported_us=case_index.times_us(rest_["reported_at"]),
        stages=stage_hours.build(index.cases, days, day=day, at=at),
    )


def _build_keys(ds: Dataset, base: Base) -> dict[str, tuple[_Days, _Days]]:
    flagged = (
        case_index.case_index(ds)
        .cases.lazy()
        .with_columns(pl.Series(SETTLE_DAY, base.settle_day))
        .filter(pl.col("community_code").is_not_null() & (pl.col(SETTLE_DAY) <= base.day))
        .with_columns(metrics.case_flags(as_of=base.at))
    )
    due = flagged.filter(pl.col("_due"))
    frames = pl.collect_all(
        [_day_counts(flagged, _REPORTED, k) for k in KEYS]
        + [_day_counts(due, _ASSESSED, k) for k in KEYS]
    )
    areas = hours_order.areas(ds)
    days = [_days(f, k, areas) for f, k in zip(frames, KEYS + KEYS, strict=True)]
    return {k: (days[i], days[i + len(KEYS)]) for i, k in enumerate(KEYS)}


class _Served:
    """The settled history of one dataset: built on first use or — ``background`` — by a
    worker thread while the case index answers (a province build takes seconds; the figures
    are the same). The counts per key are built the first time a breakdown asks."""

    def __init__(
        self,
        ds: Dataset,
        *,
        background: bool,
        previous: _Served | None = None,
        idle: Callable[[], bool] | None = None,
    ) -> None:
        self._ds = ds
        self._background = background
        self._idle = idle
        self._base: Base | None = None
        # a background build makes the counts per key too: the first breakdown of a period
        # would otherwise wait for them (2-5 s at province, 56 MB; issue #16)
        self._keys_wanted = background
        self._lock = threading.RLock()
        self._worker: threading.Thread | None = None
        # a live feed's previous version, until this one has followed its history
        self._previous = previous

    def get(self, *, keys: bool = False) -> Base | None:
        with self._lock:
            if self._follow_locked():
                return None  # the previous version's is being built: follow it when done
            base = self._base
            if base is not None and (not keys or base.keys is not None):
                return base
            self._keys_wanted |= keys
            if not self._background:
                self._complete()
                return self._base
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="settled-history", daemon=True
                )
                self._worker.start()
            return None

    # -- a live feed: following the previous version (``history_follow``) ---------------

    def current(self) -> Base | None:
        """The history, followed from the previous version's if it can be; never builds."""
        with self._lock:
            self._follow_locked()
            return self._base

    def pending(self) -> bool:
        """Whether a build is under way here or for a version this one follows."""
        previous = self._previous
        return self._worker is not None or (previous is not None and previous.pending())

    def _follow_locked(self) -> bool:
        """Follow the previous version's history once it is there (then let go of that
        version); True while it is still being built (wait for it: a build of this version
        would finish no sooner)."""
        previous = self._previous
        if previous is None or self._base is not None:
            return False
        base = previous.current()
        if base is None and previous.pending():
            return True
        self._previous = None
        if base is not None:
            from data_layer.queries import history_follow  # it builds on this module

            self._base = history_follow.follow(self._ds, previous._ds, base)
            self._keys_wanted |= previous._keys_wanted
        return False

    def _complete(self) -> None:
        if self._base is None:
            self._base = _build_base(self._ds)
        if self._keys_wanted and self._base.keys is None:
            self._base.keys = _build_keys(self._ds, self._base)

    def _wait_to_start(self) -> None:
        """The first page paints first; then, with ``idle``, wait until the server has no
        page to run: a province build takes 2 cores for ~10 s (issue #16)."""
        if self._base is not None:
            return
        time.sleep(START_DELAY_S)
        while self._idle is not None and not self._idle():
            time.sleep(IDLE_POLL_S)

    def _work(self) -> None:
        self._wait_to_start()
        while True:
            with self._lock:
                done = self._base is not None and (not self._keys_wanted or self._base.keys)
                if done:
                    self._worker = None
                    return
                base = self._base
            started = time.perf_counter()
            built = _build_base(self._ds) if base is None else base
            based = time.perf_counter()
            keys = _build_keys(self._ds, built) if self._keys_wanted else None
            log.info(
                "settled history of %d cases built in %.1f s (counts per key %.1f s)",
                self._ds["cases"].height,
                based - started,
                time.perf_counter() - based,
            )
            with self._lock:
                self._base = built
                if keys is not None:
                    built.keys = keys

    def wait(self, timeout: float | None = None) -> None:
        """Until the background build asked for so far is done (tests, benchmarks)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)


def serve(ds: Dataset, *, background: bool, idle: Callable[[], bool] | None = None) -> None:
    """Let the case queries of ``ds`` use the settled history, when it holds ``MIN_ROWS``
    cases or more: built on first use, or (``background``) in a worker thread while the case
    index answers — started ``START_DELAY_S`` after the first use and, given ``idle``, once
    ``idle()`` says the server has no work in flight (the app passes its script runs). A
    live feed's version (its case index updated from the previous version's) follows the
    previous version's history instead (``history_follow``). A dataset not served never
    builds one (the CLI's one-off queries)."""
    if ds["cases"].height >= MIN_ROWS:
        served = ds.memo(
            _MEMO_KEY,
            lambda ds: _Served(ds, background=background, previous=_previous_served(ds), idle=idle),
        )
        served.current()  # a live version follows the previous one's history now


def _previous_served(ds: Dataset) -> _Served | None:
    """The previous version's served history (a live feed's pull), while ``ds`` has not
    taken its basis yet."""
    memo = ds.previous_memo()
    served = None if memo is None else memo.get(_MEMO_KEY)
    return served if isinstance(served, _Served) else None


def ready(ds: Dataset, *, keys: bool = False) -> Base | None:
    """The settled history of ``ds`` (with its counts per key column, ``keys``); None when
    ``ds`` is not served or it is not built yet (a background build is then under way)."""
    served = ds.memoised(_MEMO_KEY)
    return None if served is None else served.get(keys=keys)


def wait(ds: Dataset, timeout: float | None = None) -> None:
    served = ds.memoised(_MEMO_KEY)
    if served is not None:
        served.wait(timeout)


def live(base: Base, as_of: dt.datetime) -> bool:
    """Whether ``as_of`` is on or after the base's day: then the rest of every window is
    among the cases not settled at the base time, none of which the base counted."""
    return settle_day(as_of) >= base.day


def rest(
    ds: Dataset, base: Base, *, basis: str, first: dt.date, last: dt.date, as_of: dt.datetime
) -> pl.LazyFrame:
    """The cases a window of days ``first``..``last`` at ``as_of`` must count exactly — not
    settled at the as-of's midnight or at the base time — reported in those days (or
    assessed in them: ``min(closed_at, due_at)``), with ``SETTLE_DAY``: callers apply the
    window's exact predicate to count them, and take off the base's counts those settled
    by ``base.at``."""
    start = dt.datetime.combine(first, dt.time())
    end = dt.datetime.combine(last, dt.time.max)
    day = min(settle_day(as_of), base.day)
    if live(base, as_of):  # the cases not settled at the base, kept
        if basis != "report":
            return base.after.lazy()
        lo = int(np.searchsorted(base.after_reported_us, case_index.micros(start), side="left"))
        hi = int(np.searchsorted(base.after_reported_us, case_index.micros(end), side="right"))
        return base.after.slice(lo, max(hi - lo, 0)).lazy()
    key = (basis, first, last, day)
    with base.lock:
        found = base.rests.pop(key, None)
        if found is None:
            found = _earlier_rest(ds, base, basis=basis, start=start, end=end, day=day)
        base.rests[key] = found  # the most recent last
        while len(base.rests) > REST_DAYS:
            base.rests.pop(next(iter(base.rests)))
    return found.lazy()


# Earlier as-of rests kept (``Base.rests``): the 较上期 of a page under either basis, and
# another page's. Each is the few unsettled cases of a window: ~60k rows (~15 MB) for 本年
# at province, a gather of every column that costs ~0.1 s.
REST_DAYS = 4


def _earlier_rest(
    ds: Dataset, base: Base, *, basis: str, start: dt.datetime, end: dt.datetime, day: int
) -> pl.DataFrame:
    index = case_index.case_index(ds)
    if basis == "report":
        lo = int(np.searchsorted(index.reported_us, case_index.micros(start), side="left"))
        hi = int(np.searchsorted(index.reported_us, case_index.micros(end), side="right"))
        rows = lo + np.flatnonzero(base.settle_day[lo:hi] > day)
    else:
        rows = case_index.assessment_order(ds).rows_between(start, end)
        rows = np.sort(rows[base.settle_day[rows] > day])
    return (
        index.cases[rows]
        .with_columns(pl.Series(SETTLE_DAY, base.settle_day[rows]))
        .filter(pl.col("community_code").is_not_null())
    )


def base_part(base: Base, *, basis: str, first: dt.date, last: dt.date) -> pl.Expr:
    """Which rows of ``rest`` the base counted in a window of days ``first``..``last``: settled
    by ``base.at`` and (by assessment) due then, assessed in those days."""
    counted = pl.col(SETTLE_DAY) <= base.day
    if basis == "report":
        return counted
    assessed = metrics.assessment_time(as_of=base.at).dt.date()  # null: not due then
    return counted & assessed.is_between(first, last).fill_null(False)


def settled_counts(
    ds: Dataset,
    base: Base,
    *,
    basis_days: str,
    first: dt.date,
    last: dt.date,
    communities: pl.Series | None,
    by_day: bool,
    by_area: bool,
) -> pl.DataFrame:
    """COUNTS (Int64) of the base's settled cases of days ``first``..``last`` — by report day
    or (``basis_days`` = "assessment") assessment day — of the ``communities`` (None: all),
    summed per day (``by_day``: ``period_time``, the day at midnight) and per community
    (``by_area``: ``community_code`` and ``street_code``), or in one row."""
    days = base.by_report if basis_days == "report" else base.by_assessment
    frame = days.between(first, last) if by_day else days.totals(first, last)
    areas = hours_order.areas(ds)
    allowed = areas.allowed(communities)
    if allowed is not None:
        frame = frame.filter(pl.Series(allowed[frame["community"].to_numpy()]))
    keys = [name for name, wanted in (("day", by_day), ("community", by_area)) if wanted]
    sums = pl.col(COUNTS).sum().cast(pl.Int64)
    frame = frame.group_by(keys).agg(sums) if keys else frame.select(sums)
    columns = []
    if by_day:
        columns.append(
            pl.col("day").cast(pl.Date).cast(pl.Datetime("us")).alias(case_index.PERIOD_TIME)
        )
    if by_area:
        community = frame["community"].to_numpy()
        columns += [
            areas.communities.gather(community).alias("community_code"),
            areas.streets.gather(areas.street_of[community]).alias("street_code"),
        ]
    return frame.with_columns(columns).drop(keys)


def key_counts(
    base: Base, *, key: str, basis_days: str, first: dt.date, last: dt.date
) -> pl.DataFrame:
    """``key`` and COUNTS (Int64) of the base's settled cases of days ``first``..``last`` (by
    report or assessment day), over the whole dataset."""
    by_report, by_assessment = base.keys[key]
    days = by_report if basis_days == "report" else by_assessment
    return days.totals(first, last).group_by(key).agg(pl.col(COUNTS).sum().cast(pl.Int64))
