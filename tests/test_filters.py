"""Filter periods and the Filter ↔ URL round trip."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from data_layer.filters import PERIODS, Filter

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


def test_window_end_time_is_capped_at_as_of():
    w = Filter(period="custom", start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 30)).window(now=NOW)
    assert w.end_time == NOW
    w = Filter(period="custom", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31)).window(now=NOW)
    assert w.end_time == dt.datetime(2026, 10, 31, 23, 59, 59, 999999)


def test_frozen_as_of_wins_over_now():
    frozen = dt.datetime(2026, 3, 31, 18, 0)
    assert Filter(as_of=frozen).window(now=NOW).as_of == frozen


def test_malformed_url_falls_back_to_defaults():
    flt = Filter.from_query_params({"period": "nonsense", "from": "2026-13-01", "as_of": "yesterday"})
    assert flt == Filter()
    assert Filter.from_query_params({"period": "custom", "from": "2026-01-01"}) == Filter()


def test_comma_separated_and_repeated_values_both_work():
    a = Filter.from_query_params({"street": "360102001,360102002"})
    b = Filter.from_query_params({"street": ["360102001", "360102002"]})
    assert a == b and a.streets == ("360102001", "360102002")


codes = st.lists(st.from_regex(r"\A[0-9]{9}\Z"), max_size=3, unique=True).map(tuple)
dates = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))


@st.composite
def filters(draw):
    period = draw(st.sampled_from(PERIODS))
    start = end = None
    if period == "custom":
        start, end = sorted((draw(dates), draw(dates)))
    as_of = draw(st.none() | st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)).map(lambda d: d.replace(microsecond=0)))
    return Filter(
        streets=draw(codes),
        communities=draw(codes),
        period=period,
        start=start,
        end=end,
        categories=tuple(draw(st.lists(st.sampled_from(["dispute", "environment", "property"]), unique=True))),
        sources=tuple(draw(st.lists(st.sampled_from(["grid_worker", "hotline_12345"]), unique=True))),
        as_of=as_of,
    )


@given(filters())
def test_url_round_trip(flt):
    assert Filter.from_query_params(flt.to_query_params()) == flt
