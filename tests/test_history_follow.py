"""The settled history of a live feed follows each pull (``queries.history_follow``).

Versions are made as the live source makes them (``CaseSet.apply`` → a ``Dataset`` with the
previous version's memo as its basis, ``test_fast_figures.next_version``), without a
database. Each version's history must be *followed*, not built, and be what a build at
the same base time gives (the day counts, the rest, the settle days, the hours order), and
every page query must give the exact scan's frames (``assert_same``) at as-ofs around the
base, both bases, with changes to open cases, corrections of settled ones, new cases (of
today and of long ago), a midnight passing, and deletes (not followed: built again).
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import polars as pl
import pytest
from fixtures_tiny import AS_OF, tiny_tables
from polars.testing import assert_frame_equal
from test_fast_figures import assert_same, next_version, random_filter, tiny_changes

from data_layer import demo
from data_layer.demo import simulate
from data_layer.domain import schema
from data_layer.domain.filters import PERIODS, Filter
from data_layer.domain.scope import Scope
from data_layer.queries import case_index, history, hours_order
from data_layer.storage.case_set import CaseSet
from data_layer.storage.source import Dataset, open_dataset


@pytest.fixture(autouse=True)
def history_on(monkeypatch):
    monkeypatch.setattr(history, "MIN_ROWS", 0)
    monkeypatch.setattr(history, "MIN_WINDOW_ROWS", 0)
    monkeypatch.setattr(history, "START_DELAY_S", 0.0)


def at_base(monkeypatch, at: dt.datetime) -> None:
    monkeypatch.setattr(history, "base_time", lambda cases: at)


def first_version(order_by: str = "case_id") -> tuple[Dataset, CaseSet]:
    tables = dict(tiny_tables())
    held = CaseSet.of(tables["cases"].sort(order_by, nulls_last=True))
    ds = Dataset(tables={**tables, "cases": held.frame})
    history.serve(ds, background=False)
    assert history.ready(ds) is not None
    return ds, held


def followed(ds: Dataset, monkeypatch) -> history.Base:
    """The history of ``ds``, which must come from the previous version's."""
    with monkeypatch.context() as m:
        m.setattr(history, "_build_base", lambda _: pytest.fail("history built, not followed"))
        m.setattr(hours_order, "_build", lambda _: pytest.fail("hours order built"))
        history.serve(ds, background=False)
        base = history.ready(ds)
    assert base is not None
    return base


def corrections(cases_: pl.DataFrame, serial: int) -> pl.DataFrame:
    """Changes to settled cases — a closing time moved earlier with a rework, a closed
    case reopened, a rejected case registered after all — and new cases: one of long ago,
    settled at once, one of the last day, open."""
    c = pl.col
    closed = cases_.filter(c("closed_at").is_not_null() & (c("rejected") == False))  # noqa: E712
    rejected = cases_.filter(c("rejected") == True)  # noqa: E712
    pick = closed.sample(2, seed=serial)
    earlier = pick.head(1).with_columns(
        pl.max_horizontal(
            c("closed_at") - dt.timedelta(hours=1), "reported_at", "registered_at", "dispatched_at"
        ).alias("closed_at"),
        (c("rework_count") + 1).alias("rework_count"),
    )
    reopened = pick.tail(1).with_columns(
        pl.lit(None, dtype=schema.Datetime).alias("closed_at"),
        pl.lit(None, dtype=pl.String).alias("satisfaction"),
    )
    registered = rejected.head(1).with_columns(
        pl.lit(False).alias("rejected"), c("reported_at").alias("registered_at")
    )
    old = closed.sample(2, seed=serial + 1).with_columns(
        pl.Series("case_id", [f"OLD{serial}", f"NEW{serial}"]),
        pl.Series(
            "reported_at", [AS_OF - dt.timedelta(days=100), AS_OF - dt.timedelta(hours=3)]
        ).cast(schema.Datetime),
    )
    old = old.with_columns(
        pl.when(c("case_id").str.starts_with("OLD"))
        .then(c("reported_at") + dt.timedelta(hours=5))
        .alias("closed_at"),
        c("reported_at").alias("registered_at"),
        c("reported_at").alias("dispatched_at"),
        (c("reported_at") + dt.timedelta(days=3)).alias("due_at"),
    )
    return pl.concat([earlier, reopened, registered, old], how="vertical_relaxed")


def assert_as_built(ds: Dataset, base: history.Base) -> None:
    """The followed history is what a build of ``ds`` at the same base time gives."""
    built = history._build_base(Dataset(tables=ds.tables))
    assert (base.at, base.day) == (built.at, built.day)
    assert np.array_equal(base.settle_day, built.settle_day)
    for mine, theirs in (
        (base.by_report, built.by_report),
        (base.by_assessment, built.by_assessment),
    ):
        nonzero = pl.any_horizontal(pl.col(history.COUNTS) > 0)
        assert_frame_equal(
            mine.frame.filter(nonzero).cast({c: pl.Int64 for c in history.COUNTS}),
            theirs.frame.cast({c: pl.Int64 for c in history.COUNTS}),
            check_exact=True,
        )
    assert_frame_equal(base.after, built.after, check_exact=True)
    assert np.array_equal(base.after_reported_us, built.after_reported_us)
    mine, theirs = hours_order.hours_order(ds), hours_order._build(Dataset(tables=ds.tables))
    for level, order in theirs.orders.items():
        assert_order_equal(mine, mine.orders[level], theirs, order)
    for key, (values, codes) in theirs.keys.items():
        my_values, my_codes = mine.keys[key]
        assert my_values.equals(values)
        entries = mine.case_rows[mine.orders[None].closed]
        by_row = np.argsort(entries)
        their_rows = theirs.case_rows[theirs.orders[None].closed]
        assert np.array_equal(my_codes[by_row], codes[np.argsort(their_rows)])


def assert_order_equal(mine, order, theirs, their_order) -> None:
    """Same groups, same hours sequence; the same cases with the same days (ties may
    stand in another order)."""
    assert np.array_equal(order.starts, their_order.starts)
    assert np.array_equal(mine.hours[order.closed], theirs.hours[their_order.closed])

    def table(built, o) -> pl.DataFrame:
        columns = {
            "row": built.case_rows[o.closed].astype(np.int64),
            "hours": built.hours[o.closed],
            "report_day": o.report_day,
            "closed_day": o.closed_day,
            "assessed_day": o.assessed_day,
        }
        if o.community is not None:
            columns["community"] = o.community
        return pl.DataFrame(columns).sort("row")

    assert_frame_equal(table(mine, order), table(theirs, their_order), check_exact=True)


@pytest.mark.parametrize("order_by", ["case_id", "reported_at"])
@pytest.mark.parametrize("days", [0, 1, 45, -3, -400])
def test_the_history_follows_each_pull_exactly(order_by, days, monkeypatch):
    at_base(monkeypatch, dt.datetime.combine(AS_OF.date(), dt.time()) - dt.timedelta(days=days))
    ds, held = first_version(order_by)
    rng = random.Random(1616 + days)
    for step in range(3):
        changes = pl.concat(
            [
                tiny_changes(ds["cases"]).with_columns(pl.col("case_id") + f"-{step}"),
                corrections(ds["cases"], step),
            ],
            how="vertical_relaxed",
        )
        changes = changes.unique("case_id", keep="last", maintain_order=True)
        ds, held = next_version(ds, held, changes)
        assert held.delta is not None
        base = followed(ds, monkeypatch)
        assert_as_built(ds, base)
        for _ in range(5):
            as_of = rng.choice([AS_OF, AS_OF + dt.timedelta(hours=rng.randint(0, 80))])
            flt, scope = random_filter(rng, ds, as_of)
            flt = Filter(**{**flt.__dict__, "categories": (), "sources": ()})
            assert_same(ds, flt, scope, flt.window())


def test_midnight_moves_the_base_with_what_settled_meanwhile(monkeypatch):
    midnight = dt.datetime.combine(AS_OF.date(), dt.time())
    at_base(monkeypatch, midnight - dt.timedelta(days=2))
    ds, held = first_version()
    assert history.ready(ds, keys=True).keys is not None  # the counts per key follow too
    for step, later in enumerate((1, 2)):
        at_base(monkeypatch, midnight - dt.timedelta(days=2) + dt.timedelta(days=later))
        changes = tiny_changes(ds["cases"]).with_columns(pl.col("case_id") + f"-{step}")
        ds, held = next_version(ds, held, changes)
        base = followed(ds, monkeypatch)
        assert base.at == midnight - dt.timedelta(days=2) + dt.timedelta(days=later)
        assert base.keys is not None
        assert_as_built(ds, base)
        keys = history._build_keys(Dataset(tables=ds.tables), base)
        for key, (report, assessed) in keys.items():
            for mine, theirs in zip(base.keys[key], (report, assessed), strict=True):
                nonzero = pl.any_horizontal(pl.col(history.COUNTS) > 0)
                assert_frame_equal(
                    mine.frame.filter(nonzero).cast({c: pl.Int64 for c in history.COUNTS}),
                    theirs.frame.cast({c: pl.Int64 for c in history.COUNTS}),
                    check_exact=True,
                )
        for basis in ("report", "assessment"):
            for as_of in (AS_OF, AS_OF - dt.timedelta(days=30)):
                flt = Filter(period="this_year", as_of=as_of, basis=basis)
                assert_same(ds, flt, Scope.everything(), flt.window())


def test_a_delete_is_not_followed_but_built_again_exactly(monkeypatch):
    at_base(monkeypatch, dt.datetime.combine(AS_OF.date(), dt.time()))
    ds, held = first_version()
    settled = ds["cases"].filter(pl.col("closed_at").is_not_null())["case_id"][0]
    ds, held = next_version(ds, held, ds["cases"].clear(), [settled])
    assert held.delta is None  # rows removed: the index is built again, so is the history
    history.serve(ds, background=False)
    assert case_index.step(ds) is None
    for basis in ("report", "assessment"):
        flt = Filter(period="this_year", as_of=AS_OF, basis=basis)
        assert_same(ds, flt, Scope.everything(), flt.window())
    assert history.ready(ds) is not None


def test_a_version_waits_for_the_previous_build_and_follows_it(monkeypatch):
    """Pulls during the first (background) build do not start builds of their own: each
    follows the previous version once its history is there, and lets go of it."""
    at_base(monkeypatch, dt.datetime.combine(AS_OF.date(), dt.time()))
    monkeypatch.setattr(history, "START_DELAY_S", 0.5)  # the build is under way meanwhile
    tables = dict(tiny_tables())
    held = CaseSet.of(tables["cases"].sort("case_id"))
    ds0 = Dataset(tables={**tables, "cases": held.frame})
    history.serve(ds0, background=True)
    assert history.ready(ds0) is None  # starts the build of the first version
    case_index.case_index(ds0)
    ds1, held = next_version(ds0, held, tiny_changes(ds0["cases"]))
    history.serve(ds1, background=True)
    assert history.ready(ds1) is None  # the index answers meanwhile, no second build
    assert ds1.memoised("settled_history")._previous is not None
    history.wait(ds0)
    base = followed(ds1, monkeypatch)
    assert ds1.memoised("settled_history")._previous is None
    assert_as_built(ds1, base)


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Dataset:
    out = tmp_path_factory.mktemp("district")
    demo.generate(out=out, scale="district", seed=16, anchor=dt.date(2026, 6, 30))
    return open_dataset(out)


def test_the_history_follows_live_ticks_on_a_generated_district(district, monkeypatch):
    """``simulate``'s ticks (new cases, open cases moved on and closed, some reported late)
    over a generated district: followed, as built, and the scan's figures."""
    rng = np.random.default_rng(16)
    grids = district["grids"].filter(pl.col("retired_at").is_null())
    now = district["cases"]["reported_at"].max()
    at_base(monkeypatch, dt.datetime.combine(now.date(), dt.time()))
    held = CaseSet.of(district["cases"].sort("case_id"))
    ds = Dataset(tables={**district.tables, "cases": held.frame})
    history.serve(ds, background=False)
    assert history.ready(ds, keys=True) is not None
    for tick in range(3):
        now += dt.timedelta(minutes=5)
        advanced, _ = simulate.advance(ds["cases"], now=now, rng=rng, sla_hours={})
        fresh = simulate.new_cases(grids=grids, n=40, now=now, rng=rng, serial_start=tick * 40)
        if tick:  # some arrive late: reported up to a day before the newest known case
            late = pl.Series(rng.integers(0, 86_400, fresh.height) * 1_000_000)
            fresh = fresh.with_columns(pl.col("reported_at") - late.cast(pl.Duration("us")))
        changed = advanced.join(ds["cases"], on=list(schema.CASES), how="anti", nulls_equal=True)
        ds, held = next_version(ds, held, pl.concat([changed, fresh]))
        base = followed(ds, monkeypatch)
        assert base.keys is not None
        assert_as_built(ds, base)
        r = random.Random(tick)
        for basis in ("report", "assessment"):
            for as_of in (now, now - dt.timedelta(days=r.randint(1, 400))):
                flt = Filter(period=r.choice(PERIODS[:3]), as_of=as_of, basis=basis)
                assert_same(ds, flt, Scope.everything(), flt.window())


def test_the_key_orders_and_the_months_follow_each_pull(monkeypatch):
    """With every key in an order of its own (``hours_order.key_orders``) and the day counts'
    months (``history._Days.months``): after each pull both are what a build gives."""
    monkeypatch.setattr(hours_order, "_FEW_CODES", -1)
    at_base(monkeypatch, dt.datetime.combine(AS_OF.date(), dt.time()) - dt.timedelta(days=1))
    ds, held = first_version()
    assert history.ready(ds, keys=True) is not None
    rng = random.Random(1617)
    for step in range(3):
        changes = pl.concat(
            [
                tiny_changes(ds["cases"]).with_columns(pl.col("case_id") + f"-k{step}"),
                corrections(ds["cases"], step),
            ],
            how="vertical_relaxed",
        ).unique("case_id", keep="last", maintain_order=True)
        ds, held = next_version(ds, held, changes)
        base = followed(ds, monkeypatch)
        assert_as_built(ds, base)
        mine, theirs = hours_order.hours_order(ds), hours_order._build(Dataset(tables=ds.tables))
        assert set(mine.key_orders) == set(theirs.key_orders) == set(hours_order.KEYS)
        for key, order in theirs.key_orders.items():
            assert_order_equal(mine, mine.key_orders[key], theirs, order)
        days = [
            base.by_report,
            base.by_assessment,
            *(d for pair in base.keys.values() for d in pair),
        ]
        for d in days:
            group = d.frame.columns[1]
            months = history.by_month(d.frame, group).filter(
                pl.any_horizontal(pl.col(history.COUNTS) != 0)
            )
            kept = d.months.frame.filter(pl.any_horizontal(pl.col(history.COUNTS) != 0))
            assert_frame_equal(
                kept.cast({c: pl.Int64 for c in history.COUNTS}),
                months.sort("day", group).select(kept.columns),
                check_exact=True,
            )
        for _ in range(3):
            as_of = rng.choice([AS_OF, AS_OF + dt.timedelta(hours=rng.randint(0, 80))])
            flt, scope = random_filter(rng, ds, as_of)
            flt = Filter(**{**flt.__dict__, "categories": (), "sources": ()})
            assert_same(ds, flt, scope, flt.window())
