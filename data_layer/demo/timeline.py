"""The demo time line: the days covered, holidays and seasons, office hours, datetime columns.

Times are seconds since 1970-01-01 00:00 of naive local time (Asia/Shanghai wall clock).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

DAY = 86_400
HOUR = 3_600

# 春节 (Spring Festival) dates; other years fall back to 5 February.
_SPRING_FESTIVAL = {
    2019: (2, 5),
    2020: (1, 25),
    2021: (2, 12),
    2022: (2, 1),
    2023: (1, 22),
    2024: (2, 10),
    2025: (1, 29),
    2026: (2, 17),
    2027: (2, 6),
    2028: (1, 26),
    2029: (2, 13),
    2030: (2, 3),
    2031: (1, 23),
    2032: (2, 11),
    2033: (1, 31),
    2034: (2, 19),
    2035: (2, 8),
}


def epoch(d: dt.date) -> int:
    """Seconds of a naive local midnight since 1970-01-01 00:00 (naive)."""
    return int(np.datetime64(d, "s").astype(np.int64))


def days_up_to(anchor: dt.date, years: int) -> list[dt.date]:
    """The ``years`` years of days that end on the anchor day (inclusive)."""
    try:
        start = anchor.replace(year=anchor.year - years)
    except ValueError:  # 29 February
        start = anchor.replace(year=anchor.year - years, day=28)
    start += dt.timedelta(days=1)
    return [start + dt.timedelta(days=i) for i in range((anchor - start).days + 1)]


def spring_festival(year: int) -> dt.date:
    m, d = _SPRING_FESTIVAL.get(year, (2, 5))
    return dt.date(year, m, d)


def holiday_factor(days: list[dt.date]) -> np.ndarray:
    """Fewer cases around Spring Festival (a trough from eve to day 4, ramps a week either
    side) and in the National Day week."""
    out = np.ones(len(days))
    for i, d in enumerate(days):
        for y in (d.year - 1, d.year, d.year + 1):
            off = (d - spring_festival(y)).days
            if -1 <= off <= 4:
                f = 0.45
            elif -8 < off < -1:
                f = 0.45 + 0.55 * (-1 - off) / 7.0
            elif 4 < off < 12:
                f = 0.45 + 0.55 * (off - 4) / 7.0
            else:
                f = 1.0
            out[i] = min(out[i], f)
        if d.month == 10 and d.day <= 7:
            out[i] *= 0.7
    return out


def season(days: list[dt.date], monthly: np.ndarray) -> np.ndarray:
    """Daily multipliers interpolated between mid-month values; monthly is (k, 12)."""
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    mid = (np.arange(12) + 0.5) * 365.0 / 12.0
    xs = np.r_[mid[-1] - 365.0, mid, mid[0] + 365.0]
    return np.stack([np.interp(doy, xs, np.r_[m[-1], m, m[0]]) for m in monthly])


def daytime(t: np.ndarray, start: int, end: int, rng: np.random.Generator) -> np.ndarray:
    """Move times outside [start, end) seconds-of-day to the next opening plus a little."""
    sod = t % DAY
    day0 = t - sod
    jitter = rng.integers(0, 90 * 60, t.size)
    out = t.copy()
    early = sod < start
    late = sod >= end
    out[early] = day0[early] + start + jitter[early]
    out[late] = day0[late] + DAY + start + jitter[late]
    return out


def dt_series(name: str, sec: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    """A microsecond Datetime column from seconds; entries where ``valid`` is false are null."""
    arr = sec.astype("datetime64[s]").astype("datetime64[us]")
    if valid is not None:
        arr[~valid] = np.datetime64("NaT")
    return pl.Series(name, arr)
