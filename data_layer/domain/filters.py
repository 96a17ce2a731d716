"""The shared filter, its period arithmetic and its URL form.

A ``Filter`` is what the sidebar sets and the URL carries. ``Filter.window()`` turns it into
a concrete ``Window`` (period start/end dates and the ``as_of`` time) for the metric queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from data_layer.domain import url_values
from data_layer.settings import TIMEZONE

PERIODS = (
    "this_month",
    "this_quarter",
    "this_year",
    "last_7_days",
    "last_30_days",
    "last_12_months",
    "custom",
)
# Live views open on the last 30 days, so the first days of a month do not look like a
# collapse (DESIGN §2); the meeting keeps its month or quarter.
DEFAULT_PERIOD = "last_30_days"
# Running presets of a fixed number of days, up to and including the as-of day.
LAST_DAYS = {"last_7_days": 7, "last_30_days": 30}
# 统计口径: which cases a period selects (docs/metrics.md, "Basis").
#   report     — cases reported in the period (按上报时间);
#   assessment — registered cases assessed in the period, at min(closed_at, due_at) (按考核时间).
BASES = ("report", "assessment")
DEFAULT_BASIS = "report"
_T = TypeVar("_T")


def now_local() -> dt.datetime:
    """Current local time (Asia/Shanghai) as a naive datetime, like the data."""
    return dt.datetime.now(TIMEZONE).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class Window:
    """A resolved period: whole days ``start``..``end`` (inclusive) seen at ``as_of``."""

    start: dt.date
    end: dt.date
    as_of: dt.datetime

    @property
    def start_time(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time())

    @property
    def end_time(self) -> dt.datetime:
        """The last instant that counts: end of the last day, or ``as_of`` if earlier."""
        return min(dt.datetime.combine(self.end, dt.time(23, 59, 59, 999999)), self.as_of)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def last_day(self) -> dt.date:
        """The last day that counts: ``end``, or the as-of day while the window runs on."""
        return self.end_time.date()

    @property
    def calendar_unit(self) -> str | None:
        """``month``, ``quarter`` or ``year`` when the window is (the part to date of) one
        calendar month, quarter or year; ``None`` for any other range."""
        s, e = self.start, self.end
        if s.day != 1 or e < s:
            return None
        if (e.year, e.month) == (s.year, s.month):
            return "month"
        if (
            e.year == s.year
            and s.month in (1, 4, 7, 10)
            and (e.month - 1) // 3 == (s.month - 1) // 3
        ):
            return "quarter"
        if e.year == s.year and s.month == 1:
            return "year"
        return None

    def previous(self) -> Window:
        """The period this one is compared with ("较上期").

        A calendar month, quarter or year (whole, or to date) is compared with the previous
        one over the same days: October with September, 1–29 November with 1–29 October,
        Q3 with Q2. Any other range (近7天, 近30天, a custom range) is compared with the range
        of the same number of days just before. ``as_of`` keeps the same place: the same day
        and time one period earlier while the window is still running, the same lag after
        the end once it is over, so cases of both periods had the same time to close and a
        running period is compared with the same elapsed days of the previous one.
        """
        unit = self.calendar_unit
        if unit is None:
            shift = dt.timedelta(days=self.days)
            return Window(start=self.start - shift, end=self.end - shift, as_of=self.as_of - shift)
        months = {"month": 1, "quarter": 3, "year": 12}[unit]
        start = _shift_months(self.start, -months)
        end = _shift_months(self.end, -months)
        if self.end == _month_end(self.end):  # a whole month ends on the last day of its month
            end = _month_end(end)
        if self.as_of.date() <= self.end:
            as_of = dt.datetime.combine(
                _shift_months(self.as_of.date(), -months), self.as_of.time()
            )
        else:
            as_of = self.as_of - (self.end - end)
        return Window(start=start, end=end, as_of=as_of)


def _month_end(day: dt.date) -> dt.date:
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _shift_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    first = dt.date(index // 12, index % 12 + 1, 1)
    return first.replace(day=min(day.day, _month_end(first).day))


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


class FilterParam:
    """The filter's URL keys: the query string of a shared link (``Filter.to_query_params``)."""

    STREET = "street"
    COMMUNITY = "community"
    PERIOD = "period"
    FROM = "from"
    TO = "to"
    CATEGORY = "category"
    SOURCE = "source"
    BASIS = "basis"
    AS_OF = "as_of"


@dataclass(frozen=True)
class Filter:
    """The one shared filter: area, period, basis, case category and source.

    Empty tuples mean "all". ``as_of`` None means live (the current time). ``basis`` is the
    统计口径 (``BASES``): which cases the period selects.
    """

    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    period: str = DEFAULT_PERIOD
    start: dt.date | None = None
    end: dt.date | None = None
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    as_of: dt.datetime | None = None
    basis: str = DEFAULT_BASIS

    def window(self, *, now: dt.datetime | None = None) -> Window:
        """Resolve the period against ``as_of`` (or ``now``).

        Presets run up to the as-of day ("to date"); a custom range is taken as given,
        with records after ``as_of`` still excluded by the metrics.
        """
        as_of = self.as_of or now or now_local()
        today = as_of.date()
        if self.period == "custom" and self.start and self.end:
            start, end = sorted((self.start, self.end))
            return Window(start=start, end=end, as_of=as_of)
        if self.period == "this_quarter":
            start = _quarter_start(today)
        elif self.period == "this_year":
            start = dt.date(today.year, 1, 1)
        elif self.period == "last_12_months":
            start = _shift_year(today, -1) + dt.timedelta(days=1)
        elif self.period in LAST_DAYS:
            start = today - dt.timedelta(days=LAST_DAYS[self.period] - 1)
        else:
            start = today.replace(day=1)
        return Window(start=start, end=today, as_of=as_of)

    def with_areas(self, *, streets: Sequence[str], communities: Sequence[str]) -> Filter:
        return replace(self, streets=tuple(streets), communities=tuple(communities))

    # URL form ---------------------------------------------------------------------------
    def to_query_params(self) -> dict[str, str | list[str]]:
        """The filter as URL query parameters; defaults are left out to keep URLs short."""
        params: dict[str, str | list[str]] = {}
        if self.streets:
            params[FilterParam.STREET] = list(self.streets)
        if self.communities:
            params[FilterParam.COMMUNITY] = list(self.communities)
        if self.period != DEFAULT_PERIOD:
            params[FilterParam.PERIOD] = self.period
        if self.period == "custom" and self.start and self.end:
            params[FilterParam.FROM] = self.start.isoformat()
            params[FilterParam.TO] = self.end.isoformat()
        if self.categories:
            params[FilterParam.CATEGORY] = list(self.categories)
        if self.sources:
            params[FilterParam.SOURCE] = list(self.sources)
        if self.basis != DEFAULT_BASIS:
            params[FilterParam.BASIS] = self.basis
        if self.as_of:
            params[FilterParam.AS_OF] = self.as_of.isoformat(timespec="seconds")
        return params

    @classmethod
    def from_query_params(
        cls, params: Mapping[str, str | Sequence[str]], *, dropped: list[str] | None = None
    ) -> Filter:
        """Parse URL query parameters; unknown, malformed or out-of-range values fall back to
        the defaults (``url_values``), and their keys are appended to ``dropped`` if given.

        A shared link with a typo must still open a working page, so nothing here raises, and
        no date or as-of lies outside ``url_values.date_bounds``.
        """
        today = now_local().date()
        lo, hi = url_values.date_bounds(today=today)
        first_at, last_at = url_values.time_bounds(today=today)
        notes = [] if dropped is None else dropped

        def noted(key: str, value: _T | None) -> _T | None:
            """``value``; ``key`` is noted when the URL has text for it that is unusable."""
            if value is None and url_values.given(params.get(key)):
                notes.append(key)
            return value

        period = noted(
            FilterParam.PERIOD, url_values.one_choice(params.get(FilterParam.PERIOD), PERIODS)
        )
        start, end = (
            noted(key, url_values.one_date(params.get(key), lo=lo, hi=hi))
            for key in (FilterParam.FROM, FilterParam.TO)
        )
        if period == "custom" and start and end:
            start, end = sorted((start, end))
        else:  # a custom period needs both days; the presets take none
            period = DEFAULT_PERIOD if period in (None, "custom") else period
            start = end = None
        basis = url_values.one_choice(params.get(FilterParam.BASIS), BASES) or DEFAULT_BASIS
        as_of = noted(
            FilterParam.AS_OF,
            url_values.one_datetime(params.get(FilterParam.AS_OF), lo=first_at, hi=last_at),
        )
        return cls(
            streets=url_values.codes(params.get(FilterParam.STREET)),
            communities=url_values.codes(params.get(FilterParam.COMMUNITY)),
            period=period,
            start=start,
            end=end,
            categories=url_values.codes(params.get(FilterParam.CATEGORY)),
            sources=url_values.codes(params.get(FilterParam.SOURCE)),
            as_of=as_of,
            basis=basis,
        )


def _shift_year(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
