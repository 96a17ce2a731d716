"""A meeting (联席会议) as a frozen choice — period (a month, a quarter or a custom range),
streets, basis (统计口径) and as-of — with its URL form, so the same link shows the same
numbers later; and the names a briefing of it is given (period label, file name)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from data_layer.domain import url_values
from data_layer.domain.filters import BASES, DEFAULT_BASIS, Filter, Window, now_local
from data_layer.domain.labels import text

KINDS = ("month", "quarter", "custom")
URL_KEYS = (
    "mt_period",
    "mt_month",
    "mt_quarter",
    "mt_from",
    "mt_to",
    "mt_street",
    "mt_basis",
    "mt_as_of",
)


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def quarter_range(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    start, _ = month_range(year, 3 * quarter - 2)
    _, end = month_range(year, 3 * quarter)
    return start, end


@dataclass(frozen=True)
class Meeting:
    """A meeting's frozen view: whole days ``start``..``end``, streets (empty = whole
    district), the basis (统计口径, ``filters.BASES``), everything counted as known at
    ``as_of``."""

    kind: str
    start: dt.date
    end: dt.date
    as_of: dt.datetime
    streets: tuple[str, ...] = ()
    basis: str = DEFAULT_BASIS

    @classmethod
    def for_month(
        cls, year: int, month: int, *, as_of: dt.datetime, streets=(), basis: str = DEFAULT_BASIS
    ) -> Meeting:
        start, end = month_range(year, month)
        return cls("month", start, end, as_of, tuple(streets), basis)

    @classmethod
    def for_quarter(
        cls, year: int, quarter: int, *, as_of: dt.datetime, streets=(), basis: str = DEFAULT_BASIS
    ) -> Meeting:
        start, end = quarter_range(year, quarter)
        return cls("quarter", start, end, as_of, tuple(streets), basis)

    @classmethod
    def default(
        cls, *, now: dt.datetime, streets: Sequence[str] = (), basis: str = DEFAULT_BASIS
    ) -> Meeting:
        """The month before ``now``, frozen at ``now`` (floored to the minute)."""
        as_of = now.replace(second=0, microsecond=0)
        last = as_of.date().replace(day=1) - dt.timedelta(days=1)
        return cls.for_month(last.year, last.month, as_of=as_of, streets=streets, basis=basis)

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def quarter(self) -> str:
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    def filter(self) -> Filter:
        """The shared ``Filter`` of this meeting (a custom period, frozen)."""
        return Filter(
            streets=self.streets,
            period="custom",
            start=self.start,
            end=self.end,
            as_of=self.as_of,
            basis=self.basis,
        )

    def window(self) -> Window:
        return self.filter().window()

    def with_streets(self, streets: Sequence[str]) -> Meeting:
        return Meeting(self.kind, self.start, self.end, self.as_of, tuple(streets), self.basis)

    def with_basis(self, basis: str) -> Meeting:
        return Meeting(self.kind, self.start, self.end, self.as_of, self.streets, basis)

    def to_query_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {"mt_period": self.kind}
        if self.kind == "month":
            params["mt_month"] = self.month
        elif self.kind == "quarter":
            params["mt_quarter"] = self.quarter
        else:
            params["mt_from"], params["mt_to"] = self.start.isoformat(), self.end.isoformat()
        if self.streets:
            params["mt_street"] = list(self.streets)
        params["mt_basis"] = self.basis  # always: a frozen link keeps its 统计口径
        params["mt_as_of"] = self.as_of.isoformat(timespec="minutes")
        return params

    @classmethod
    def from_query_params(
        cls, params: Mapping[str, str | Sequence[str]], *, dropped: list[str] | None = None
    ) -> Meeting | None:
        """Parse the URL; None when it carries no valid meeting (no, a malformed or an
        out-of-range as-of). Keys whose values were unusable are appended to ``dropped``.

        Like ``Filter.from_query_params`` this never raises, and every day and the as-of lie
        within ``url_values.date_bounds``: a shared link with a typo falls back to the
        default meeting (the month before its as-of).
        """
        notes = [] if dropped is None else dropped
        today = now_local().date()
        lo, hi = url_values.date_bounds(today=today)
        first_at, last_at = url_values.time_bounds(today=today)
        as_of = url_values.one_datetime(params.get("mt_as_of"), lo=first_at, hi=last_at)
        if as_of is None:
            if url_values.given(params.get("mt_as_of")):
                notes.append("mt_as_of")
            return None
        streets = url_values.codes(params.get("mt_street"))
        basis = url_values.one_choice(params.get("mt_basis"), BASES) or DEFAULT_BASIS
        kind = url_values.one_choice(params.get("mt_period"), KINDS) or "month"
        years = range(lo.year, hi.year + 1)
        if kind == "month":
            days = _month(url_values.first(params.get("mt_month")), years=years)
        elif kind == "quarter":
            days = _quarter(url_values.first(params.get("mt_quarter")), years=years)
        else:
            start, end = (
                url_values.one_date(params.get(key), lo=lo, hi=hi) for key in ("mt_from", "mt_to")
            )
            days = tuple(sorted((start, end))) if start and end else None
        if days is None or not (lo <= days[0] and days[1] <= hi):
            # as-of given but the period is not: the month before as-of
            period_keys = [k for k in URL_KEYS if k not in ("mt_street", "mt_as_of", "mt_basis")]
            if any(url_values.given(params.get(key)) for key in period_keys):
                notes.append("mt_period")
            return cls.default(now=as_of, streets=streets, basis=basis)
        return cls(kind, days[0], days[1], as_of, streets, basis)


def _month(text: str | None, *, years: range) -> tuple[dt.date, dt.date] | None:
    """First and last day of the month ``YYYY-MM``; None unless it is one in ``years``."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text or "", re.ASCII)
    if not match or int(match[1]) not in years or not 1 <= int(match[2]) <= 12:
        return None
    return month_range(int(match[1]), int(match[2]))


def _quarter(text: str | None, *, years: range) -> tuple[dt.date, dt.date] | None:
    """First and last day of the quarter ``YYYY-Qn``; None unless it is one in ``years``."""
    match = re.fullmatch(r"(\d{4})-?Q([1-4])", (text or "").upper(), re.ASCII)
    if not match or int(match[1]) not in years:
        return None
    return quarter_range(int(match[1]), int(match[2]))


def month_choices(as_of: dt.datetime, n: int = 24) -> list[str]:
    """``YYYY-MM`` of the as-of month and the ``n - 1`` before it, newest first."""
    year, month = as_of.year, as_of.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def quarter_choices(as_of: dt.datetime, n: int = 8) -> list[str]:
    year, quarter = as_of.year, (as_of.month - 1) // 3 + 1
    out = []
    for _ in range(n):
        out.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return out


def file_stem(meeting: Meeting) -> str:
    """``联席会议简报_<scope>_<period>_asof-<time>`` (safe on Windows and Linux)."""
    scope = "all" if not meeting.streets else "street-" + "+".join(meeting.streets[:3])
    if len(meeting.streets) > 3:
        scope += f"+{len(meeting.streets) - 3}more"
    period = {
        "month": meeting.month,
        "quarter": meeting.quarter,
        "custom": f"{meeting.start:%Y%m%d}-{meeting.end:%Y%m%d}",
    }[meeting.kind]
    return f"gridpulse_briefing_{scope}_{period}_asof-{meeting.as_of:%Y%m%d-%H%M}"


def period_label(meeting: Meeting, *, lang: str) -> str:
    if meeting.kind == "month":
        name = text(
            "meeting.period.month_name",
            lang=lang,
            year=meeting.start.year,
            month=meeting.start.month,
        )
    elif meeting.kind == "quarter":
        name = text(
            "meeting.period.quarter_name",
            lang=lang,
            year=meeting.start.year,
            quarter=(meeting.start.month - 1) // 3 + 1,
        )
    else:
        name = text("meeting.period.custom_name", lang=lang)
    return text("meeting.period.label", lang=lang, name=name, start=meeting.start, end=meeting.end)
