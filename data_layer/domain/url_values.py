"""Values read from a URL, parsed defensively: a crafted or mistyped link never raises, and
what it yields is always within bounds.

Everything a page reads from ``st.query_params`` goes through these functions (the filter,
the meeting, the slide, the map's and the analysis pages' controls). ``raw`` is what the
query string gives for one key: a string (``st.query_params.get``), a list of strings
(``get_all``) or None. Values that cannot be used are dropped — never repaired into another
value — and the caller falls back to its default; dates and times must lie in the sane range
of :func:`date_bounds`, so period arithmetic (the previous period, a month's end) can never
leave the calendar.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from data_layer.settings import TIMEZONE

Raw = str | Sequence[str] | None

MAX_TEXT = 64  # longest single value considered (codes, choices, ISO dates); longer: dropped
MAX_VALUES = 200  # most values kept for one key (streets, communities, categories, sources)
MAX_DIGITS = 9  # an integer in a URL (a slide number) has at most this many digits
EARLIEST = dt.date(2000, 1, 1)  # no grid-governance record is older
AHEAD = dt.timedelta(days=366)  # nor more than a year in the future (a planned meeting)
_CODE = re.compile(r"[0-9A-Za-z_-]{1,40}", re.ASCII)
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}", re.ASCII)


def date_bounds(*, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a URL date may name."""
    return EARLIEST, today + AHEAD


def time_bounds(*, today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first and last instant a URL time (an as-of) may name."""
    lo, hi = date_bounds(today=today)
    return dt.datetime.combine(lo, dt.time()), dt.datetime.combine(hi, dt.time(23, 59, 59))


def values(raw: Raw, *, limit: int = MAX_VALUES) -> tuple[str, ...]:
    """The distinct non-empty values of one key, comma-separated parts split, in order.

    A part longer than ``MAX_TEXT`` is dropped; at most ``limit`` values are kept.
    """
    given = [] if raw is None else [raw] if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for value in given:
        for part in str(value).split(","):
            part = part.strip()
            if part and len(part) <= MAX_TEXT and part not in out:
                out.append(part)
                if len(out) >= limit:
                    return tuple(out)
    return tuple(out)


def first(raw: Raw) -> str | None:
    """The first usable value of one key."""
    got = values(raw, limit=1)
    return got[0] if got else None


def given(raw: Raw) -> bool:
    """Whether the URL has any text for the key (usable or not): a dropped value is noted."""
    given_values = [] if raw is None else [raw] if isinstance(raw, str) else list(raw)
    return any(str(value).strip(" ,") for value in given_values)


def codes(raw: Raw) -> tuple[str, ...]:
    """Codes (areas, categories, sources): ASCII letters, digits, ``_`` and ``-`` only."""
    return tuple(v for v in values(raw) if _CODE.fullmatch(v))


def one_code(raw: Raw) -> str | None:
    got = codes(raw)
    return got[0] if got else None


def one_choice(raw: Raw, options: Sequence[str]) -> str | None:
    """The value if it is one of ``options``, else None."""
    value = first(raw)
    return value if value in options else None


def one_int(raw: Raw, *, lo: int, hi: int) -> int | None:
    """A whole number of ASCII digits, clamped into ``lo..hi``; None when there is none.

    ``int()`` alone would take ``²`` for a digit-like character and raise, or grind through
    a number thousands of digits long.
    """
    value = first(raw)
    if value is None or not _DIGITS.fullmatch(value):
        return None
    return min(max(int(value), lo), hi)


def one_date(raw: Raw, *, lo: dt.date, hi: dt.date) -> dt.date | None:
    """An ISO date within ``lo..hi``; None when missing, malformed or out of range."""
    value = first(raw)
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    return day if lo <= day <= hi else None


def one_datetime(raw: Raw, *, lo: dt.datetime, hi: dt.datetime) -> dt.datetime | None:
    """An ISO date-time as naive local time (Asia/Shanghai, like the data) within ``lo..hi``,
    to the second (as links write it).

    A time with an offset is converted to local time; None when missing, malformed or out of
    range.
    """
    value = first(raw)
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(TIMEZONE).replace(tzinfo=None)
    except (ValueError, OverflowError):  # overflow: an offset pushed it past year 1 or 9999
        return None
    moment = moment.replace(microsecond=0)
    return moment if lo <= moment <= hi else None
