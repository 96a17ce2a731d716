"""The settled history (``queries.history``) gives exactly the frames of the exact path.

The history is switched on for small datasets here (``MIN_ROWS`` = 0) and its base time
moved at random, from long after the as-of (cases taken off the base) to long before it (a
long rest), so every part carries cases. Every query of the Overview, Map and 案件办结
pages (``test_fast_figures.page_queries``: the KPIs, 较上期, by street, community and grid,
the trend, the breakdowns, the scorecard, the time-to-close distribution, the open-case
lists, …) is compared with the full scan: same rows, same order, same values
(``check_exact``), both bases, role scopes and filters. The quantiles are checked against
polars' on random values too.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import polars as pl
import pytest
from fixtures_tiny import AS_OF, tiny_tables
from polars.testing import assert_frame_equal
from test_fast_figures import (
    assert_same,
    random_as_of,
    random_filter,
    redivided_tiny,
    shuffled_tiny,
)

from data_layer import demo
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import case_index, cases, figures, history, hours_order, stage_hours
from data_layer.storage.source import Dataset, open_dataset

ANCHOR = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def history_on(monkeypatch):
    monkeypatch.setattr(history, "MIN_ROWS", 0)
    monkeypatch.setattr(history, "MIN_WINDOW_ROWS", 0)
    monkeypatch.setattr(history, "START_DELAY_S", 0.0)


def served(ds: Dataset, *, background: bool = False) -> Dataset:
    history.serve(ds, background=background)
    return ds


def move_base(monkeypatch, ds: Dataset, rng: random.Random, as_of: dt.datetime) -> None:
    """A base time days to months before the as-of (a long rest of unsettled cases, and the
    cases settled between the two taken off the base) or after it (a 较上期 period, a
    frozen meeting): the history of ``ds`` rebuilt at it."""
    days = rng.choice([0, 0, 1, 7, 45, 200, -1, -3, -30, -400])
    at = dt.datetime.combine(as_of.date(), dt.time()) - dt.timedelta(days=days)
    monkeypatch.setattr(history, "base_time", lambda cases: at)
    ds._memo.pop("settled_history", None)
    served(ds)


def used(ds: Dataset) -> bool:
    """Whether a history was built for ``ds`` (the queries took it)."""
    kept = ds.memoised("settled_history")
    return kept is not None and kept._base is not None


@pytest.mark.parametrize(
    "make", [lambda: Dataset(tables=tiny_tables()), shuffled_tiny, redivided_tiny]
)
def test_history_equals_exact_path_on_the_tiny_district(make, monkeypatch):
    ds = served(make())
    rng = random.Random(1601)
    first = dt.datetime(2025, 1, 1)
    for _ in range(24):
        as_of = rng.choice([AS_OF, random_as_of(rng, first, AS_OF + dt.timedelta(days=20))])
        move_base(monkeypatch, ds, rng, as_of)
        flt, scope = random_filter(rng, ds, as_of)
        if rng.random() < 0.6:
            flt = Filter(**{**flt.__dict__, "categories": (), "sources": ()})
        assert_same(ds, flt, scope, flt.window())
    assert used(ds)


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Dataset:
    out = tmp_path_factory.mktemp("district")
    demo.generate(out=out, scale="district", seed=7, anchor=ANCHOR)
    with pytest.MonkeyPatch.context() as patch:  # before the autouse fixture runs
        patch.setattr(history, "MIN_ROWS", 0)
        return served(open_dataset(out, serving=True))


def test_history_equals_exact_path_on_a_generated_district(district, monkeypatch):
    rng = random.Random(16016)
    reported = district["cases"]["reported_at"]
    first, last = reported.min(), reported.max()
    for i in range(14):
        as_of = last if i < 3 else random_as_of(rng, first, last)
        move_base(monkeypatch, district, rng, as_of)
        flt, scope = random_filter(rng, district, as_of)
        flt = Filter(**{**flt.__dict__, "categories": (), "sources": ()})
        if i % 2 == 0:
            flt = Filter(**{**flt.__dict__, "communities": ()})
            scope = Scope.everything()
        assert_same(district, flt, scope, flt.window())
    assert used(district)


def test_a_category_filter_small_data_or_an_unserved_dataset_take_the_index_path(monkeypatch):
    ds = served(Dataset(tables=tiny_tables()))
    flt = Filter(period="this_year", as_of=AS_OF, categories=("dispute",))
    figures.kpis(ds, flt, Scope.everything())
    assert not used(ds)
    plain = Dataset(tables=tiny_tables())  # the CLI's: never served
    figures.kpis(plain, Filter(period="this_year", as_of=AS_OF), Scope.everything())
    assert not used(plain)
    monkeypatch.setattr(history, "MIN_ROWS", 10**9)
    small = served(Dataset(tables=tiny_tables()))
    figures.kpis(small, Filter(period="this_year", as_of=AS_OF), Scope.everything())
    assert not used(small)


def test_one_base_answers_every_as_of(monkeypatch):
    """A base at today's midnight answers a running month, last month's frozen meeting and
    a year ago (the 较上期 of 本年) alike: nothing more is built for them."""
    ds = served(Dataset(tables=tiny_tables()))
    monkeypatch.setattr(
        history, "base_time", lambda cases: dt.datetime.combine(AS_OF.date(), dt.time())
    )
    for as_of in (AS_OF, AS_OF - dt.timedelta(days=40), AS_OF - dt.timedelta(days=365)):
        flt = Filter(period="this_year", as_of=as_of, basis="assessment")
        assert_same(ds, flt, Scope.everything(), flt.window())
    base = history.ready(ds)
    assert base.at == dt.datetime.combine(AS_OF.date(), dt.time())


def test_a_background_build_answers_from_the_index_until_it_is_done():
    ds = served(Dataset(tables=tiny_tables()), background=True)
    flt = Filter(period="this_year", as_of=AS_OF, basis="assessment")
    before = figures.kpis(ds, flt, Scope.everything(), by="community")
    history.wait(ds)
    assert history.ready(ds) is not None
    after = figures.kpis(ds, flt, Scope.everything(), by="community")
    with figures.exact_path():
        exact = figures.kpis(ds, flt, Scope.everything(), by="community")
    assert_frame_equal(before, exact, check_exact=True)
    assert_frame_equal(after, exact, check_exact=True)


def test_a_background_build_makes_the_counts_per_key_before_a_breakdown_asks():
    """The app's background build also makes the breakdowns' counts: the first breakdown of a
    period must not wait for them on a page (issue #16). Built on first use (the CLI), they
    wait for a breakdown."""
    ds = served(Dataset(tables=tiny_tables()), background=True)
    history.ready(ds)  # the first use starts the worker
    history.wait(ds)
    assert history.ready(ds).keys is not None
    on_demand = served(Dataset(tables=tiny_tables()), background=False)
    assert history.ready(on_demand).keys is None
    assert history.ready(on_demand, keys=True).keys is not None


def _with_times(cases: pl.DataFrame, *, case_id: str, times: dict) -> pl.DataFrame:
    """``cases`` with one case's time columns set to ``times``."""
    return cases.with_columns(
        pl.when(pl.col("case_id") == case_id)
        .then(pl.lit(value, dtype=cases[name].dtype))
        .otherwise(pl.col(name))
        .alias(name)
        for name, value in times.items()
    )


def test_quantiles_are_polars_quantiles():
    """Medians and p90 of random groups — ties, sizes 1–2, and nulls (polars counts them in
    its fractional index) — read as ``hours_stats`` reads them, equal polars' to the bit."""
    rng = np.random.default_rng(16)
    for _ in range(400):
        n, nulls = int(rng.integers(1, 30)), int(rng.integers(0, 30))
        values = np.sort(np.round(rng.random(n) * rng.choice([1, 100, 1e4]), rng.integers(0, 6)))
        column = pl.Series([*values, *([None] * nulls)], dtype=pl.Float64).shuffle(seed=1)
        for q in (0.5, 0.9):
            got = hours_order.quantile(
                np.array([n]), np.array([nulls]), lambda k, values=values: values[k], q
            )[0]
            assert got == column.quantile(q, interpolation="linear"), (values, nulls, q)


def test_a_case_dispatched_after_it_closed_is_not_settled_before_its_dispatch():
    """Out-of-order stage times (a dispatch recorded after the closing, as imports bring
    them): the case's 24-hour response counts only from its dispatch, so it stays in the
    exact tail until then."""
    tables = dict(tiny_tables())
    cases_ = tables["cases"]
    closed = cases_.filter(pl.col("closed_at").is_not_null() & (pl.col("rejected") == False))  # noqa: E712
    case_id = closed["case_id"][0]
    day = closed["closed_at"][0].date()
    at = {
        "reported_at": dt.datetime.combine(day, dt.time(22)),
        "registered_at": dt.datetime.combine(day, dt.time(22, 10)),
        "closed_at": dt.datetime.combine(day, dt.time(23)),
        "dispatched_at": dt.datetime.combine(day, dt.time(23)) + dt.timedelta(hours=2),
    }
    tables["cases"] = _with_times(cases_, case_id=case_id, times=at)
    ds = served(Dataset(tables=tables))
    as_of = at["dispatched_at"] + dt.timedelta(hours=1)  # the next day, after the dispatch
    flt = Filter(period="custom", start=day, end=day, as_of=as_of)
    assert_same(ds, flt, Scope.everything(), flt.window())
    assert figures.kpis(ds, flt, Scope.everything())["responded_24h"][0] >= 1


def funnel_calls(monkeypatch) -> list:
    """The funnels the settled history answered (``stage_hours.funnel_row``), as they come."""
    calls = []
    row = stage_hours.funnel_row

    def counted(*args, **kwargs):
        calls.append(row(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(stage_hours, "funnel_row", counted)
    return calls


def assert_funnel_same(ds: Dataset, flt: Filter, window) -> None:
    fast = cases.case_funnel(ds, flt, Scope.everything(), window=window)
    with figures.exact_path():
        exact = cases.case_funnel(ds, flt, Scope.everything(), window=window)
    assert_frame_equal(fast, exact, check_exact=True)


@pytest.mark.parametrize("buckets", [2, 5, stage_hours.BUCKETS])
def test_the_funnel_from_the_history_equals_the_scan(district, monkeypatch, buckets):
    """Stage counts and the five median stage hours at live, past (a frozen meeting) and
    year-old (较上期) as-ofs, with the base moved: few buckets make each median a read of
    its bucket's cases, many make buckets of one value; both give the scan's row."""
    monkeypatch.setattr(stage_hours, "BUCKETS", buckets)
    calls = funnel_calls(monkeypatch)
    rng = random.Random(1616 + buckets)
    reported = district["cases"]["reported_at"]
    first, last = reported.min(), reported.max()
    for i in range(10):
        as_of = last if i < 2 else random_as_of(rng, first, last)
        move_base(monkeypatch, district, rng, as_of)
        period = rng.choice(["this_year", "this_quarter", "last_12_months", "this_month"])
        flt = Filter(period=period, as_of=as_of, basis=rng.choice(["report", "assessment"]))
        window = flt.window()
        assert_funnel_same(district, flt, window)
        assert_funnel_same(district, flt, window.previous())
    assert len(calls) >= 15
    assert any(row["handled_hours"] is not None for row in calls)


def test_a_case_handled_after_it_closed_is_not_settled_before_its_handling():
    """Out-of-order stage times (a handling recorded after the closing): the case's 处置
    hours exist only from its handling on, so its funnel is exact until then — a base
    built after the handling, asked at an as-of before it, must not count it as settled."""
    tables = dict(tiny_tables())
    cases_ = tables["cases"]
    closed = cases_.filter(pl.col("closed_at").is_not_null() & (pl.col("rejected") == False))  # noqa: E712
    case_id = closed["case_id"][0]
    day = closed["closed_at"][0].date()
    at = {
        "reported_at": dt.datetime.combine(day, dt.time(20)),
        "registered_at": dt.datetime.combine(day, dt.time(20, 10)),
        "dispatched_at": dt.datetime.combine(day, dt.time(20, 20)),
        "verified_at": dt.datetime.combine(day, dt.time(22)),
        "closed_at": dt.datetime.combine(day, dt.time(23)),
        "handled_at": dt.datetime.combine(day, dt.time(23)) + dt.timedelta(days=2),
    }
    tables["cases"] = _with_times(cases_, case_id=case_id, times=at)
    ds = Dataset(tables=tables)
    with pytest.MonkeyPatch.context() as patch:
        base = dt.datetime.combine(day, dt.time()) + dt.timedelta(days=5)
        patch.setattr(history, "base_time", lambda cases: base)
        served(ds)
        calls = funnel_calls(patch)
        as_of = dt.datetime.combine(day, dt.time(12)) + dt.timedelta(days=1)  # before handling
        flt = Filter(period="custom", start=day, end=day, as_of=as_of)
        assert_funnel_same(ds, flt, flt.window())
        assert_same(ds, flt, Scope.everything(), flt.window())
        assert calls  # the history answered


@pytest.fixture
def small_blocks_and_key_orders(monkeypatch):
    """Every key has an order of its own (``hours_order.key_orders``: in a scope that
    splits it, the radix path) or — ``_FEW_CODES`` back — is read a value at a time off
    blocks of 3 places, so both reads cross many blocks and groups on small data."""

    def rebuilt(ds: Dataset, few: int) -> None:
        monkeypatch.setattr(hours_order, "_FEW_CODES", few)
        monkeypatch.setattr(hours_order, "_BLOCK", 3)
        ds._memo.pop("hours_order", None)
        ds._memo.pop("settled_history", None)

    return rebuilt


@pytest.mark.parametrize("few", [-1, 10**6])
def test_key_orders_and_blocks_equal_the_exact_path(district, monkeypatch, few, request):
    rebuilt = request.getfixturevalue("small_blocks_and_key_orders")
    rng = random.Random(1616 + few)
    reported = district["cases"]["reported_at"]
    first, last = reported.min(), reported.max()
    rebuilt(district, few)
    built = hours_order.hours_order(district)
    assert set(built.key_orders) == (set(hours_order.KEYS) if few < 0 else set())
    for i in range(8):
        as_of = last if i < 2 else random_as_of(rng, first, last)
        move_base(monkeypatch, district, rng, as_of)
        flt, scope = random_filter(rng, district, as_of)
        flt = Filter(**{**flt.__dict__, "categories": (), "sources": ()})
        if i % 2 == 0:
            flt = Filter(**{**flt.__dict__, "communities": (), "streets": ()})
            scope = Scope.everything()
        assert_same(district, flt, scope, flt.window())
    district._memo.pop("hours_order", None)
    district._memo.pop("settled_history", None)


def test_a_key_order_groups_closed_cases_by_value_then_hours():
    """The tiny district's closed cases in the handling unit's own order: group 0 the null
    unit, group i + 1 the i-th unit, hours ascending within each (counted by hand from
    ``fixtures_tiny``: every closed case has a unit)."""
    ds = Dataset(tables=tiny_tables())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hours_order, "_FEW_CODES", 0)
        built = hours_order._build(ds)
    order = built.key_orders["handling_unit"]
    values, _ = built.keys["handling_unit"]
    sizes = np.diff(order.starts)
    assert sizes[0] == 0  # no closed case without a unit
    assert sizes.sum() == built.hours.size
    for g in range(1, values.len() + 1):
        hours = built.hours[order.closed[order.starts[g] : order.starts[g + 1]]]
        assert np.all(np.diff(hours) >= 0)
        rows = built.case_rows[order.closed[order.starts[g] : order.starts[g + 1]]]
        cases_ = case_index.case_index(ds).cases
        assert set(cases_["handling_unit"].gather(rows.astype(np.int64))) == {values[g - 1]}


def test_the_day_counts_add_up_whole_months_and_the_days_around_them():
    """``_Days.totals`` gives, per group, the sums ``between`` gives, for windows that start
    and end mid-month, on a month's first or last day, within one month, across a year."""
    days = [dt.date(2025, 11, 28) + dt.timedelta(days=i) for i in range(0, 100, 3)]
    frame = pl.DataFrame(
        {
            "day": [history.day_number(d) for d in days for _ in range(2)],
            "community": [g for _ in days for g in (0, 1)],
            **{
                c: [(i * 7 + k) % 5 for i in range(2 * len(days))]
                for k, c in enumerate(history.COUNTS)
            },
        },
        schema_overrides={"day": pl.Int32, "community": pl.Int32},
    )
    built = history._with_months(history._small(frame), "community")
    # hand-made: the months of the rows are 2025-11 (28th), 2025-12, 2026-01, 2026-02, 2026-03
    assert built.months.frame["day"].unique().to_list() == [
        history.day_number(d)
        for d in (
            dt.date(2025, 11, 1),
            dt.date(2025, 12, 1),
            dt.date(2026, 1, 1),
            dt.date(2026, 2, 1),
            dt.date(2026, 3, 1),
        )
    ]
    windows = [
        (dt.date(2025, 11, 1), dt.date(2026, 3, 31)),
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2025, 12, 2), dt.date(2026, 2, 27)),
        (dt.date(2025, 12, 30), dt.date(2026, 1, 2)),
        (dt.date(2026, 1, 5), dt.date(2026, 1, 20)),
        (dt.date(2026, 1, 31), dt.date(2026, 3, 1)),
        (dt.date(2024, 1, 1), dt.date(2027, 1, 1)),
    ]
    for first, last in windows:
        sums = pl.col(history.COUNTS).sum().cast(pl.Int64)
        want = built.between(first, last).group_by("community").agg(sums).sort("community")
        got = built.totals(first, last).group_by("community").agg(sums).sort("community")
        assert_frame_equal(got, want, check_exact=True)
    # one window by hand: 2025-12-02..2026-02-27 holds rows 2 .. 30 (days 4 .. 91 after 11-28)
    first, last = dt.date(2025, 12, 2), dt.date(2026, 2, 27)
    inside = [i for i, d in enumerate(days) if first <= d <= last]
    expected = sum(frame["reported"][2 * i] for i in inside)
    got = built.totals(first, last).filter(pl.col("community") == 0)["reported"].sum()
    assert got == expected
    assert history._month_after(dt.date(2026, 12, 1), inclusive=True) == dt.date(2026, 12, 1)
    assert history._month_after(dt.date(2026, 12, 1), inclusive=False) == dt.date(2027, 1, 1)
    assert history._month_after(dt.date(2026, 1, 31), inclusive=True) == dt.date(2026, 2, 1)


@pytest.mark.parametrize("few", [-1, 16])
def test_closed_cases_without_a_unit_keep_their_own_group(monkeypatch, few):
    """Two closed cases of the tiny district lose their handling unit: the null value is a
    group of its own in the unit's order and in the per-value blocks, and every figure is
    the scan's (a null group read as the first value would change that unit's hours)."""
    monkeypatch.setattr(hours_order, "_FEW_CODES", few)
    tables = dict(tiny_tables())
    cases_ = tables["cases"]
    closed = cases_.filter(pl.col("closed_at").is_not_null())["case_id"].to_list()[:2]
    tables["cases"] = cases_.with_columns(
        pl.when(pl.col("case_id").is_in(closed))
        .then(None)
        .otherwise(pl.col("handling_unit"))
        .alias("handling_unit")
    )
    ds = served(Dataset(tables=tables))
    built = hours_order.hours_order(ds)
    assert (built.keys["handling_unit"][1] < 0).sum() == 2
    for basis in ("report", "assessment"):
        for period in ("this_year", "last_30_days", "last_12_months"):
            flt = Filter(period=period, as_of=AS_OF, basis=basis)
            assert_same(ds, flt, Scope.everything(), flt.window())
    assert used(ds)
