"""Filter periods and the Filter ↔ URL round trip."""

import datetime as dt

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from data_layer.domain.filters import BASES, PERIODS, Filter, Window
from data_layer.queries.cases import comparison_dates

NOW = dt.datetime(2026, 11, 29, 10, 30)


def test_presets_run_up_to_the_as_of_day():
    w = Filter(period="this_month").window(now=NOW)
    assert (w.start, w.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 29))
    w = Filter(period="this_quarter").window(now=NOW)
    assert (w.start, w.end) == (dt.date(2026, 10, 1), dt.date(2026, 11, 29))
    w = Filter(period="this_year").window(now=NOW)
    assert w.start == dt.date(2026, 1, 1)
    w = Filter(period="last_12_months").window(now=NOW)
    assert (w.start, w.end) == (dt.date(2025, 11, 30), dt.date(2026, 11, 29))
    w = Filter(period="last_7_days").window(now=NOW)
    assert (w.start, w.end, w.days) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29), 7)
    w = Filter(period="last_30_days").window(now=NOW)
    assert (w.start, w.end, w.days) == (dt.date(2026, 10, 31), dt.date(2026, 11, 29), 30)


def test_live_views_default_to_the_last_30_days():
    # 2 December: the default is not the two-day-old month but 3 November – 2 December,
    # compared with the 30 days before (4 October – 2 November, seen on 2 November)
    now = dt.datetime(2026, 12, 2, 10, 30)
    window = Filter().window(now=now)
    assert Filter().period == Filter.from_query_params({}).period == "last_30_days"
    assert (window.start, window.end) == (dt.date(2026, 11, 3), dt.date(2026, 12, 2))
    assert comparison_dates(window) == (dt.date(2026, 10, 4), dt.date(2026, 11, 2))
    assert window.previous().as_of == dt.datetime(2026, 11, 2, 10, 30)
    assert "period" not in Filter().to_query_params()
    assert Filter(period="this_month").to_query_params() == {"period": "this_month"}


def test_window_end_time_is_capped_at_as_of():
    w = Filter(period="custom", start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30)).window(
        now=NOW
    )
    assert w.end_time == NOW
    w = Filter(period="custom", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)).window(
        now=NOW
    )
    assert w.end_time == dt.datetime(2026, 10, 31, 23, 59, 59, 999999)


def test_frozen_as_of_wins_over_now():
    frozen = dt.datetime(2026, 3, 31, 18, 0)
    assert Filter(as_of=frozen).window(now=NOW).as_of == frozen


def test_malformed_url_falls_back_to_defaults():
    flt = Filter.from_query_params(
        {"period": "nonsense", "from": "2026-13-01", "as_of": "yesterday"}
    )
    assert flt == Filter()
    assert Filter.from_query_params({"period": "custom", "from": "2026-01-01"}) == Filter()
    assert Filter.from_query_params({"basis": "nonsense"}) == Filter()
    assert Filter.from_query_params({"basis": ["", "x", "assessment"]}).basis == "report"


def test_basis_in_the_url():
    assert Filter().basis == "report" and "basis" not in Filter().to_query_params()
    flt = Filter(basis="assessment", period="last_7_days")
    assert flt.to_query_params() == {"basis": "assessment", "period": "last_7_days"}
    assert Filter.from_query_params({"basis": "assessment"}).basis == "assessment"


def test_comma_separated_and_repeated_values_both_work():
    a = Filter.from_query_params({"street": "360102001,360102002"})
    b = Filter.from_query_params({"street": ["360102001", "360102002"]})
    assert a == b and a.streets == ("360102001", "360102002")


codes = st.lists(st.from_regex(r"\A[0-9]{9}\Z"), max_size=3, unique=True).map(tuple)
# within the dates a URL may name (url_values.date_bounds: 2000-01-01 .. a year from today)
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=NOW.date())


@st.composite
def filters(draw):
    period = draw(st.sampled_from(PERIODS))
    start = end = None
    if period == "custom":
        start, end = sorted((draw(dates), draw(dates)))
    as_of = draw(
        st.none()
        | st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=NOW).map(
            lambda d: d.replace(microsecond=0)
        )
    )
    return Filter(
        streets=draw(codes),
        communities=draw(codes),
        period=period,
        start=start,
        end=end,
        categories=tuple(
            draw(st.lists(st.sampled_from(["dispute", "environment", "property"]), unique=True))
        ),
        sources=tuple(
            draw(st.lists(st.sampled_from(["grid_worker", "hotline_12345"]), unique=True))
        ),
        as_of=as_of,
        basis=draw(st.sampled_from(BASES)),
    )


@given(filters())
def test_url_round_trip(flt):
    assert Filter.from_query_params(flt.to_query_params()) == flt


# --- the previous period ("较上期") ----------------------------------------------------- #
def _window(start: str, end: str, as_of: str) -> Window:
    return Window(
        start=dt.date.fromisoformat(start),
        end=dt.date.fromisoformat(end),
        as_of=dt.datetime.fromisoformat(as_of),
    )


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # a month's meeting frozen after the month: September, as-of the same lag after its end
        (
            ("2026-10-01", "2026-10-31", "2026-11-29T13:45"),
            ("2026-09-01", "2026-09-30", "2026-10-29T13:45"),
        ),
        # this month to date: the same days of last month, same day and time
        (
            ("2026-11-01", "2026-11-29", "2026-11-29T13:45"),
            ("2026-10-01", "2026-10-29", "2026-10-29T13:45"),
        ),
        # March to date on the 31st: all of February, clamped to its last day
        (
            ("2024-03-01", "2024-03-31", "2024-03-31T09:00"),
            ("2024-02-01", "2024-02-29", "2024-02-29T09:00"),
        ),
        # a quarter: the previous quarter
        (
            ("2026-07-01", "2026-09-30", "2026-10-05T09:00"),
            ("2026-04-01", "2026-06-30", "2026-07-05T09:00"),
        ),
        # the first quarter: the last quarter of the year before
        (
            ("2026-01-01", "2026-03-31", "2026-04-01T08:00"),
            ("2025-10-01", "2025-12-31", "2026-01-01T08:00"),
        ),
        # this year to date: the same dates a year earlier
        (
            ("2026-01-01", "2026-11-29", "2026-11-29T09:00"),
            ("2025-01-01", "2025-11-29", "2025-11-29T09:00"),
        ),
        # any other range: the same number of days just before, as-of moved as many days
        (
            ("2026-11-10", "2026-11-19", "2026-11-29T09:00"),
            ("2026-10-31", "2026-11-09", "2026-11-19T09:00"),
        ),
        (
            ("2025-11-30", "2026-11-29", "2026-11-29T09:00"),
            ("2024-11-30", "2025-11-29", "2025-11-29T09:00"),
        ),
    ],
)
def test_previous_period(window, expected) -> None:
    prev = _window(*window).previous()
    assert (prev.start, prev.end, prev.as_of) == (
        dt.date.fromisoformat(expected[0]),
        dt.date.fromisoformat(expected[1]),
        dt.datetime.fromisoformat(expected[2]),
    )


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # 近7天 on 2 December 10:30: 26 Nov – 2 Dec, compared with 19–25 Nov up to 10:30
        ("last_7_days", ("2026-11-19", "2026-11-25", "2026-11-25T10:30")),
        # 近30天: 3 Nov – 2 Dec, compared with 4 Oct – 2 Nov up to 10:30
        ("last_30_days", ("2026-10-04", "2026-11-02", "2026-11-02T10:30")),
        # 本月 two days old: 1–2 November up to 10:30 (the calendar rule, unchanged)
        ("this_month", ("2026-11-01", "2026-11-02", "2026-11-02T10:30")),
    ],
)
def test_running_presets_compare_the_same_elapsed_days(period, expected) -> None:
    now = dt.datetime(2026, 12, 2, 10, 30)
    window = Filter(period=period).window(now=now)
    prev = window.previous()
    assert (prev.start, prev.end, prev.as_of) == (
        dt.date.fromisoformat(expected[0]),
        dt.date.fromisoformat(expected[1]),
        dt.datetime.fromisoformat(expected[2]),
    )
    assert prev.end_time - prev.start_time == window.end_time - window.start_time


def test_comparison_dates_say_what_was_compared() -> None:
    now = dt.datetime(2026, 12, 2, 10, 30)
    assert comparison_dates(Filter(period="this_month").window(now=now)) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 2),
    )
    # a whole month chosen while it runs: its previous month is counted up to the same day
    december = Filter(period="custom", start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 31))
    window = december.window(now=now)
    assert (window.previous().start, window.previous().end) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    assert comparison_dates(window) == (dt.date(2026, 11, 1), dt.date(2026, 11, 2))
    assert comparison_dates(window, "last_year") == (dt.date(2025, 12, 1), dt.date(2025, 12, 2))
    assert comparison_dates(window, "none") is None
    # a finished period: its previous one whole
    october = _window("2026-10-01", "2026-10-31", "2026-11-29T13:45")
    assert comparison_dates(october) == (dt.date(2026, 9, 1), dt.date(2026, 9, 30))


@given(
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 1, 1)),
    st.integers(min_value=1, max_value=400),
    st.integers(min_value=0, max_value=400),
    st.times(),
)
def test_a_running_range_is_compared_with_as_many_elapsed_days(start, days, elapsed, time):
    """Any non-calendar range seen while it runs: both sides count the same stretch of time."""
    end = start + dt.timedelta(days=days - 1)
    as_of = dt.datetime.combine(start + dt.timedelta(days=min(elapsed, days - 1)), time)
    window = Window(start=start, end=end, as_of=as_of)
    assume(window.calendar_unit is None)
    prev = window.previous()
    assert prev.end_time - prev.start_time == window.end_time - window.start_time
    assert prev.last_day - prev.start == window.last_day - window.start
