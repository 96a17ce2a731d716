"""The fast path (the case index) gives exactly the frames of the exact path (a full scan).

Every query of the Overview, Map and 案件办结 pages is run both ways — on the hand-made
district, on a shuffled copy of it with cases of unknown grids, and on a generated district
— over many random filters, as-ofs, bases and role scopes, and the frames must be equal:
same rows, same order, same values (``check_exact``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import numpy as np
import polars as pl
import pytest
from fixtures_tiny import AS_OF, G2, tiny_tables
from polars.testing import assert_frame_equal

from data_layer import demo
from data_layer.demo import simulate
from data_layer.domain import schema
from data_layer.domain.filters import PERIODS, Filter
from data_layer.domain.scope import Scope
from data_layer.queries import case_index, cases, figures
from data_layer.storage.case_set import CaseSet
from data_layer.storage.source import DataError, Dataset, open_dataset

ANCHOR = dt.date(2026, 6, 30)


def page_queries(ds: Dataset, flt: Filter, scope: Scope, window) -> dict:
    """What the pages ask for one filter (bench/queries.py times the same list)."""
    return {
        "kpis": lambda: figures.kpis(ds, flt, scope, window=window),
        "kpis_previous": lambda: figures.kpis(ds, flt, scope, window=window.previous()),
        **{
            f"kpis_{level}": (
                lambda level=level: figures.kpis(ds, flt, scope, by=level, window=window)
            )
            for level in ("street", "community", "grid")
        },
        "case_points": lambda: figures.case_points(
            ds, flt, scope, window=window, since=window.as_of - dt.timedelta(hours=6)
        ),
        "latest_month": lambda: figures.latest_month_with_cases(ds, flt, scope, as_of=window.as_of),
        "case_funnel": lambda: cases.case_funnel(ds, flt, scope, window=window),
        **{
            f"case_trend_{every}_{compare}": (
                lambda every=every, compare=compare: cases.case_trend(
                    ds, flt, scope, window=window, every=every, compare=compare
                )
            )
            for every in ("week", "month")
            for compare in cases.COMPARISONS
        },
        "breakdown_category": lambda: cases.case_breakdown(
            ds, flt, scope, window=window, by="category", sla_hours={}
        ),
        "breakdown_source": lambda: cases.case_breakdown(
            ds, flt, scope, window=window, by="source", sla_hours={}
        ),
        "unit_scorecard": lambda: cases.unit_scorecard(ds, flt, scope, window=window),
        "close_time_stats": lambda: cases.close_time_stats(
            ds, flt, scope, window=window, sla_hours={}
        ),
        "open_overdue": lambda: cases.open_cases(ds, flt, scope, window=window, kind="overdue"),
        "open_at_risk": lambda: cases.open_cases(ds, flt, scope, window=window, kind="at_risk"),
    }


def assert_same(ds: Dataset, flt: Filter, scope: Scope, window) -> None:
    fast = {k: q() for k, q in page_queries(ds, flt, scope, window).items()}
    with figures.exact_path():
        exact = {k: q() for k, q in page_queries(ds, flt, scope, window).items()}
    for key, frame in fast.items():
        if isinstance(frame, pl.DataFrame):
            try:
                assert_frame_equal(frame, exact[key], check_exact=True)
            except AssertionError as exc:
                raise AssertionError(f"{key} {flt} {window}: {exc}") from None
        else:
            assert frame == exact[key], (key, flt, window)


def random_filter(rng: random.Random, ds: Dataset, as_of: dt.datetime) -> tuple[Filter, Scope]:
    streets = ds["streets"]["street_code"].to_list()
    communities = ds["communities"]["community_code"].to_list()
    period = rng.choice(PERIODS)
    start = end = None
    if period == "custom":
        start = (as_of - dt.timedelta(days=rng.randint(0, 500))).date()
        end = start + dt.timedelta(days=rng.randint(0, 120))
    flt = Filter(
        streets=tuple(rng.sample(streets, rng.choice([0, 0, 1, 2][: len(streets) + 1]))),
        communities=tuple(rng.sample(communities, rng.choice([0, 0, 0, 1]))),
        period=period,
        start=start,
        end=end,
        categories=tuple(rng.sample(schema.CATEGORIES, rng.choice([0, 0, 0, 1, 2]))),
        sources=tuple(rng.sample(schema.SOURCES, rng.choice([0, 0, 0, 1]))),
        as_of=as_of,
        basis=rng.choice(["report", "assessment"]),
    )
    scope = rng.choice(
        [
            Scope.everything(),
            Scope(streets=frozenset(rng.sample(streets, 1))),
            Scope(communities=frozenset(rng.sample(communities, 2)), personal_data=True),
        ]
    )
    return flt, scope


def random_as_of(rng: random.Random, first: dt.datetime, last: dt.datetime) -> dt.datetime:
    span = (last - first).total_seconds()
    moment = first + dt.timedelta(seconds=rng.uniform(-0.05, 1.1) * span)
    # on the minute like the live views, or to the second like a meeting's frozen time
    return moment.replace(microsecond=0, second=rng.choice([0, moment.second]))


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Dataset:
    out = tmp_path_factory.mktemp("district")
    demo.generate(out=out, scale="district", seed=11, anchor=ANCHOR)
    return open_dataset(out)


def shuffled_tiny() -> Dataset:
    """The hand-made district with its cases out of time order, and two more cases: one of
    a grid that is not in the reference tables, one without a report time."""
    tables = dict(tiny_tables())
    cases_ = tables["cases"]
    extra = cases_.head(2).with_columns(
        pl.Series("case_id", ["X-unknown-grid", "X-no-report-time"]),
        pl.Series("grid_code", ["999999999999999", cases_["grid_code"][0]]),
        pl.Series("reported_at", [cases_["reported_at"][0], None], dtype=schema.Datetime),
    )
    tables["cases"] = pl.concat([cases_, extra]).sample(fraction=1.0, shuffle=True, seed=5)
    return Dataset(tables=tables)


def redivided_tiny() -> Dataset:
    """The hand-made district re-divided on 15 March: grid G2 retired, a new grid G2N of the
    same community took its cases (``case_moves``), one case kept under the retired grid."""
    tables = dict(tiny_tables())
    moved_at = dt.datetime(2025, 3, 15, 12, 0)
    grids = tables["grids"]
    old = grids.filter(pl.col("grid_code") == G2)
    new = old.with_columns(
        pl.lit(G2[:-3] + "009").alias("grid_code"),
        pl.lit(moved_at).cast(schema.Datetime).alias("valid_from"),
    )
    grids = grids.with_columns(
        pl.when(pl.col("grid_code") == G2)
        .then(pl.lit(moved_at))
        .otherwise(pl.col("retired_at"))
        .cast(schema.Datetime)
        .alias("retired_at")
    )
    tables["grids"] = pl.concat([grids, new], how="vertical_relaxed").select(grids.columns)
    cases_ = tables["cases"]
    in_old = cases_.filter(pl.col("grid_code") == G2)["case_id"].to_list()
    movers = in_old[1:] if len(in_old) > 1 else in_old
    tables["case_moves"] = schema.conform(
        "case_moves",
        pl.DataFrame(
            {
                "move_id": [f"{c}@{moved_at:%Y%m%d}" for c in movers],
                "case_id": movers,
                "from_grid_code": [G2] * len(movers),
                "to_grid_code": [G2[:-3] + "009"] * len(movers),
                "moved_at": [moved_at] * len(movers),
            }
        ),
    )
    tables["cases"] = cases_.with_columns(
        pl.when(pl.col("case_id").is_in(movers))
        .then(pl.lit(G2[:-3] + "009"))
        .otherwise(pl.col("grid_code"))
        .alias("grid_code")
    )
    return Dataset(tables=tables)


def test_index_orders_cases_by_report_time_and_keeps_every_row():
    ds = shuffled_tiny()
    index = case_index.case_index(ds)
    assert index.cases.height == ds["cases"].height
    assert index.cases["reported_at"].is_sorted(nulls_last=True)
    assert case_index.case_index(ds) is index  # built once per dataset
    unknown = index.cases.filter(pl.col("case_id") == "X-unknown-grid")
    assert unknown["community_code"].to_list() == [None]


@pytest.mark.parametrize(
    "make", [lambda: Dataset(tables=tiny_tables()), shuffled_tiny, redivided_tiny]
)
def test_fast_path_equals_exact_path_on_the_tiny_district(make):
    ds = make()
    rng = random.Random(16)
    first = dt.datetime(2025, 1, 1)
    for _ in range(16):
        as_of = rng.choice([AS_OF, random_as_of(rng, first, AS_OF + dt.timedelta(days=20))])
        flt, scope = random_filter(rng, ds, as_of)
        assert_same(ds, flt, scope, flt.window())


def test_fast_path_equals_exact_path_on_a_generated_district(district):
    rng = random.Random(1216)
    reported = district["cases"]["reported_at"]
    first, last = reported.min(), reported.max()
    for i in range(16):
        as_of = random_as_of(rng, first, last)
        flt, scope = random_filter(rng, district, as_of)
        if i % 3 == 0:  # the live views' own filters: no category, source or scope limits
            flt = dataclasses.replace(flt, categories=(), sources=(), communities=())
            scope = Scope.everything()
        assert_same(district, flt, scope, flt.window())


def test_serving_dataset_leaves_the_unread_columns_on_disk(tiny_dir):
    full = open_dataset(tiny_dir)
    served = open_dataset(tiny_dir, serving=True)
    assert set(full["cases"].columns) - set(served["cases"].columns) == {
        "description",
        "updated_at",
    }
    flt = Filter(period="custom", start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31), as_of=AS_OF)
    assert_same(served, flt, Scope.everything(), flt.window())
    assert_frame_equal(
        figures.kpis(served, flt, Scope.everything(), by="community"),
        figures.kpis(full, flt, Scope.everything(), by="community"),
    )


def test_serving_dataset_still_refuses_a_cases_file_without_description(tiny_dir):
    path = tiny_dir / "cases.parquet"
    pl.read_parquet(path).drop("description").write_parquet(path)
    with pytest.raises(DataError, match="description"):
        open_dataset(tiny_dir, serving=True)


# -- the live feed: the index of a new version updated from the previous one's ---------------


def next_version(ds: Dataset, held: CaseSet, changed: pl.DataFrame, deleted=()) -> tuple:
    """The version a live pull makes (``storage.postgres.Snapshot.dataset``): the cases
    ``held.apply`` gives, with the previous version's memo and the delta as its basis."""
    new, _ = held.apply(changed=changed, deleted=pl.Series(list(deleted), dtype=pl.String))
    tables = {**ds.tables, "cases": new.frame}
    basis = {"memo": ds._memo, "cases": new.delta} if new.delta is not None else {}
    return Dataset(tables=tables, _basis=basis), new


def assert_index_as_built(ds: Dataset) -> None:
    """The memoised (updated) index is exactly what a build from scratch gives."""
    index, order = case_index.case_index(ds), case_index.assessment_order(ds)
    fresh = case_index.build(Dataset(tables=ds.tables))
    assert_frame_equal(index.cases, fresh.cases, check_exact=True)
    assert np.array_equal(index.reported_us, fresh.reported_us)
    rebuilt = case_index._build_assessment_order(Dataset(tables=ds.tables))
    # the entries in place and those placed anew since; ties may list their rows in another
    # order: only the set in a time range is read
    rows, times = order.rows, order.times_us
    if order.current is not None:
        rows, times = rows[order.current[rows]], times[order.current[rows]]
    if order.extra_rows is not None:
        rows = np.concatenate([rows, order.extra_rows])
        times = np.concatenate([times, order.extra_times_us])
    mine, theirs = np.lexsort((rows, times)), np.lexsort((rebuilt.rows, rebuilt.times_us))
    assert np.array_equal(times[mine], rebuilt.times_us[theirs])
    assert np.array_equal(rows[mine], rebuilt.rows[theirs])


def assert_updated(ds: Dataset, monkeypatch) -> None:
    """The index of ``ds`` (and its assessment order) come from the previous version's."""
    with monkeypatch.context() as m:
        m.setattr(case_index, "build", lambda _: pytest.fail("index rebuilt"))
        m.setattr(case_index, "_build_assessment_order", lambda _: pytest.fail("order rebuilt"))
        case_index.case_index(ds), case_index.assessment_order(ds)


def tiny_changes(cases_: pl.DataFrame) -> pl.DataFrame:
    """A pull's rows: two cases closed, one moved to another grid, three new ones (one of an
    unknown grid): reported with the last known case, after it, and a day before it."""
    open_ = cases_.filter(pl.col("closed_at").is_null()).head(2)
    closed = open_.with_columns(
        pl.coalesce("due_at", "reported_at").alias("closed_at"),
        pl.lit("basic").alias("satisfaction"),
    )
    other_grid = (
        cases_.filter(pl.col("grid_code") != G2).head(1).with_columns(pl.lit(G2).alias("grid_code"))
    )
    last = cases_["reported_at"].max()
    new = cases_.head(3).with_columns(
        pl.Series("case_id", ["N1", "N2", "N3"]),
        pl.Series("grid_code", [G2, "999999999999999", G2]),
        pl.Series(
            "reported_at", [last, last + dt.timedelta(hours=1), last - dt.timedelta(days=1)]
        ).cast(schema.Datetime),
        pl.lit(None, dtype=schema.Datetime).alias("closed_at"),
    )
    return pl.concat([closed, other_grid, new])


@pytest.mark.parametrize("settle_rows", [100_000, 4])
@pytest.mark.parametrize("order_by", ["case_id", "reported_at"])
def test_fast_path_equals_exact_path_after_incremental_updates(order_by, settle_rows, monkeypatch):
    monkeypatch.setattr(case_index, "SETTLE_ROWS", settle_rows)
    monkeypatch.setattr(case_index, "EXTRA_ROWS", settle_rows)  # 4: folded in on the way
    tables = dict(tiny_tables())
    held = CaseSet.of(tables["cases"].sort(order_by, nulls_last=True))
    ds = Dataset(tables={**tables, "cases": held.frame})
    case_index.case_index(ds), case_index.assessment_order(ds)
    rng = random.Random(61)
    for step in range(3):
        changes = tiny_changes(ds["cases"]).with_columns(
            pl.col("case_id") + ("" if step == 0 else f"-{step}")
        )
        if step:  # the new ones are new again, the changed ones keep their ids
            changes = pl.concat([tiny_changes(ds["cases"]).head(3), changes.tail(3)])
        ds, held = next_version(ds, held, changes)
        assert held.delta is not None and held.delta.appended == 3
        assert_updated(ds, monkeypatch)
        assert_index_as_built(ds)
        for _ in range(6):
            as_of = rng.choice([AS_OF, AS_OF + dt.timedelta(days=rng.randint(0, 3))])
            flt, scope = random_filter(rng, ds, as_of)
            assert_same(ds, flt, scope, flt.window())


def test_a_change_the_index_cannot_follow_rebuilds_it(monkeypatch):
    builds = []
    build = case_index.build
    monkeypatch.setattr(case_index, "build", lambda ds: builds.append(1) or build(ds))
    tables = dict(tiny_tables())
    held = CaseSet.of(tables["cases"].sort("case_id"))
    ds = Dataset(tables={**tables, "cases": held.frame})
    first = case_index.case_index(ds)
    cases_ = ds["cases"]
    # a case reported earlier than it was (its place in time changes) and a deletion: each
    # is rebuilt, and still agrees with a build
    moved = cases_.head(1).with_columns(pl.col("reported_at") - dt.timedelta(days=40))
    for changed, deleted in ((moved, ()), (cases_.clear(), [cases_["case_id"][3]])):
        ds, held = next_version(ds, held, changed, deleted)
        before = len(builds)
        assert case_index.case_index(ds) is not first
        assert len(builds) == before + 1  # built, not updated
        assert_index_as_built(ds)
        flt = Filter(period="this_year", as_of=AS_OF, basis="assessment")
        assert_same(ds, flt, Scope.everything(), flt.window())


def test_fast_path_equals_exact_path_after_live_ticks_on_a_generated_district(
    district, monkeypatch
):
    rng = np.random.default_rng(7)
    grids = district["grids"].filter(pl.col("retired_at").is_null())
    held = CaseSet.of(district["cases"].sort("case_id"))
    ds = Dataset(tables={**district.tables, "cases": held.frame})
    case_index.case_index(ds), case_index.assessment_order(ds)
    now = district["cases"]["reported_at"].max()
    for tick in range(3):
        now += dt.timedelta(minutes=5)
        advanced, _ = simulate.advance(ds["cases"], now=now, rng=rng, sla_hours={})
        fresh = simulate.new_cases(grids=grids, n=40, now=now, rng=rng, serial_start=tick * 40)
        if tick:  # some arrive late: reported up to an hour before the newest known case
            late = pl.Series(rng.integers(0, 3600, fresh.height) * 1_000_000).cast(
                pl.Duration("us")
            )
            fresh = fresh.with_columns(pl.col("reported_at") - late)
        changed = advanced.join(ds["cases"], on=list(schema.CASES), how="anti", nulls_equal=True)
        ds, held = next_version(ds, held, pl.concat([changed, fresh]))
        assert held.delta is not None and held.delta.appended == 40
        assert_updated(ds, monkeypatch)
        assert_index_as_built(ds)
        r = random.Random(tick)
        for basis in ("report", "assessment"):
            flt = Filter(period=r.choice(PERIODS[:3]), as_of=now, basis=basis)
            assert_same(ds, flt, Scope.everything(), flt.window())
