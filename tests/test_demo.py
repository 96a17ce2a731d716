"""The demo-city generator: determinism, geometry, time line and realism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely

from data_layer import demo
from data_layer.demo import scales
from data_layer.domain import schema
from data_layer.storage.source import load_sla_hours, open_dataset
from geo.boundaries import check_hierarchy

ANCHOR = dt.date(2026, 3, 15)
END = dt.datetime(2026, 3, 15, 23, 59, 59)
EVENTS = ["reported_at", "registered_at", "dispatched_at", "handled_at", "verified_at", "closed_at"]


def read(out: Path) -> dict[str, pl.DataFrame]:
    return {t: pl.read_parquet(out / f"{t}.parquet") for t in schema.TABLES}


@pytest.fixture(scope="session")
def tiny_demo(tmp_path_factory) -> tuple[Path, dict[str, int], list[tuple[str, float]]]:
    out = tmp_path_factory.mktemp("tiny")
    calls: list[tuple[str, float]] = []
    rows = demo.generate(
        out=out, scale="tiny", seed=7, anchor=ANCHOR, progress=lambda s, f: calls.append((s, f))
    )
    return out, rows, calls


@pytest.fixture(scope="session")
def district_demo(tmp_path_factory) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("district")
    demo.generate(out=out, scale="district", seed=42, anchor=ANCHOR)
    return read(out)


@pytest.fixture(params=["tiny", "district"])
def tables(request, tiny_demo, district_demo) -> dict[str, pl.DataFrame]:
    return read(tiny_demo[0]) if request.param == "tiny" else district_demo


# --- API -------------------------------------------------------------------------------------------


def test_scales_are_described():
    assert list(scales.SCALES) == ["tiny", "district", "city", "province"]
    for spec in scales.SCALES.values():
        assert spec["description"] and spec["grids"] > 0 and spec["cases"] > 0
    assert scales.SCALES["district"]["grids"] == 800
    assert scales.SCALES["province"]["cases"] == 10_000_000


def test_unknown_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        demo.generate(out=tmp_path, scale="planet")


def test_rows_progress_and_schema(tiny_demo):
    out, rows, calls = tiny_demo
    assert list(rows) == list(schema.TABLES)
    data = open_dataset(out)  # the app's reader accepts the directory
    for table, cols in schema.TABLES.items():
        frame = pl.read_parquet(out / f"{table}.parquet")
        assert frame.schema == pl.Schema(cols), table
        assert frame.height == rows[table] == data[table].height
        assert frame[schema.KEYS[table]].is_unique().all(), table
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] == 1.0
    assert all(isinstance(s, str) and s for s, _ in calls)
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind


# --- determinism -----------------------------------------------------------------------------------


def test_same_seed_and_anchor_give_identical_tables(tiny_demo, tmp_path):
    demo.generate(out=tmp_path, scale="tiny", seed=7, anchor=ANCHOR)
    first, again = read(tiny_demo[0]), read(tmp_path)
    for table in schema.TABLES:
        assert first[table].equals(again[table]), table


def test_different_seed_gives_different_tables(tiny_demo, tmp_path):
    demo.generate(out=tmp_path, scale="tiny", seed=8, anchor=ANCHOR)
    first, other = read(tiny_demo[0]), read(tmp_path)
    assert not first["cases"].equals(other["cases"])
    assert first["grids"]["geometry"].to_list() != other["grids"]["geometry"].to_list()


def test_moving_the_anchor_keeps_the_city(tiny_demo, tmp_path):
    demo.generate(out=tmp_path, scale="tiny", seed=7, anchor=ANCHOR + dt.timedelta(days=30))
    first, later = read(tiny_demo[0]), read(tmp_path)
    for table in ("streets", "communities", "grids", "compounds"):
        assert first[table].equals(later[table]), table
    assert later["cases"]["reported_at"].max() > first["cases"]["reported_at"].max()


def test_chunked_writer_matches_schema(tmp_path, monkeypatch):
    """Big scales stream cases in chunks through a ParquetWriter; same schema, one row group each."""
    monkeypatch.setitem(
        scales.SPECS,
        "tiny",
        scales.Spec(
            districts=1, streets=2, communities=6, grids=40, cases=3_000, chunk_cases=1_000
        ),
    )
    rows = demo.generate(out=tmp_path, scale="tiny", seed=7, anchor=ANCHOR)
    cases = pl.read_parquet(tmp_path / "cases.parquet")
    assert cases.schema == pl.Schema(schema.CASES)
    assert cases.height == rows["cases"]
    assert cases["case_id"].is_unique().all()
    assert cases["reported_at"].is_sorted()
    assert not list(tmp_path.glob(".*tmp*"))


# --- geometry ----------------------------------------------------------------------------------------


def test_geometry_is_a_nested_partition(tables):
    s, c, g = tables["streets"], tables["communities"], tables["grids"]
    assert check_hierarchy(streets=s, communities=c, grids=g, tolerance=1.0) == []
    for frame in (s, c, g):
        geoms = shapely.from_wkb(frame["geometry"].to_list())
        assert (shapely.get_type_id(geoms) == 3).all()  # single Polygons
        assert shapely.is_valid(geoms).all()
        assert (shapely.area(geoms) > 0).all()


def test_codes_are_nested(tables):
    s, c, g = tables["streets"], tables["communities"], tables["grids"]
    assert s["street_code"].str.contains(r"^\d{9}$").all()
    assert c["community_code"].str.contains(r"^\d{12}$").all()
    assert g["grid_code"].str.contains(r"^\d{15}$").all()
    assert (c["community_code"].str.slice(0, 9) == c["street_code"]).all()
    assert (g["grid_code"].str.slice(0, 12) == g["community_code"]).all()
    assert c["street_code"].is_in(s["street_code"].implode()).all()
    assert g["community_code"].is_in(c["community_code"].implode()).all()
    assert tables["compounds"]["grid_code"].is_in(g["grid_code"].implode()).all()
    assert tables["cases"]["grid_code"].is_in(g["grid_code"].implode()).all()


def test_case_points_lie_in_their_grid(tables):
    g = tables["grids"]
    cases = tables["cases"]
    geoms = dict(
        zip(g["grid_code"].to_list(), shapely.from_wkb(g["geometry"].to_list()), strict=True)
    )
    polys = np.array([geoms[code] for code in cases["grid_code"].to_list()], dtype=object)
    inside = shapely.contains_xy(polys, cases["lon"].to_numpy(), cases["lat"].to_numpy())
    assert inside.all(), f"{(~inside).sum()} points outside their grid"


# --- time line ---------------------------------------------------------------------------------------


def test_events_are_ordered_and_not_after_the_anchor_day(tables):
    c = tables["cases"]
    for col in EVENTS + ["updated_at"]:
        assert c[col].max() <= END, col
    assert c["reported_at"].null_count() == 0
    for a, b in zip(EVENTS, EVENTS[1:], strict=False):
        bad = c.filter(pl.col(b).is_not_null() & (pl.col(a).is_null() | (pl.col(b) < pl.col(a))))
        assert bad.height == 0, f"{b} before {a} or without it"
    latest = c.select(pl.max_horizontal(EVENTS)).to_series()
    assert (latest == c["updated_at"]).all()


def test_rejected_and_deadlines(tables):
    c = tables["cases"]
    sla = load_sla_hours()
    # rejected: true = 不予立案, false = 立案, null = not decided yet (not registered yet)
    assert (c["rejected"].is_null() == c["registered_at"].is_null()).all()
    rej = c.filter(pl.col("rejected"))
    assert rej["registered_at"].null_count() == 0
    for col in (
        "dispatched_at",
        "handled_at",
        "closed_at",
        "due_at",
        "handling_unit",
        "satisfaction",
    ):
        assert rej[col].null_count() == rej.height, col
    live = c.filter(~pl.col("rejected") & pl.col("registered_at").is_not_null())
    assert live["due_at"].null_count() == 0
    assert live["handling_unit"].null_count() == 0
    hours = live.select(
        ((pl.col("due_at") - pl.col("registered_at")).dt.total_seconds() / 3600).alias("h"),
        "category",
        "postponed",
    )
    expected = pl.Series([sla[x] for x in hours["category"].to_list()], dtype=pl.Float64)
    assert ((hours["h"] == expected) | hours["postponed"]).all()
    assert (hours.filter(pl.col("postponed"))["h"] > expected.filter(hours["postponed"])).all()
    # closed cases were handled and verified; satisfaction only for closed cases
    closed = c.filter(pl.col("closed_at").is_not_null())
    assert closed["handled_at"].null_count() == 0 and closed["verified_at"].null_count() == 0
    assert (
        c.filter(pl.col("satisfaction").is_not_null() & pl.col("closed_at").is_null()).height == 0
    )
    assert set(c["satisfaction"].drop_nulls().unique()) <= set(schema.SATISFACTION)
    assert set(c["category"].unique()) <= set(schema.CATEGORIES)
    assert set(c["source"].unique()) <= set(schema.SOURCES)


def test_volunteer_tables_are_in_time_and_consistent(tables):
    w = tables["wishes"]
    assert w["created_at"].max() <= END
    assert w.filter(pl.col("claimed_at") < pl.col("created_at")).height == 0
    assert (
        w.filter(
            pl.col("fulfilled_at").is_not_null()
            & (pl.col("claimed_at").is_null() | (pl.col("fulfilled_at") < pl.col("claimed_at")))
        ).height
        == 0
    )
    assert (w["claimer_kind"].is_null() == w["claimed_at"].is_null()).all()
    a = tables["activities"]
    assert a["date"].max() <= ANCHOR
    assert a["team_id"].is_in(tables["volunteer_teams"]["team_id"].implode()).all()
    grids = tables["grids"].select("grid_code", "community_code")
    joined = a.filter(pl.col("grid_code").is_not_null()).join(grids, on="grid_code", suffix="_g")
    assert (joined["community_code"] == joined["community_code_g"]).all()
    assert tables["party_reports"]["reported_on"].max() <= ANCHOR


# --- realism (district scale) ---------------------------------------------------------------------


def test_reference_tables_look_like_a_real_district(district_demo):
    district = district_demo
    g, c, cp = district["grids"], district["communities"], district["compounds"]
    assert 750 <= g.height <= 850 and 55 <= c.height <= 65 and district["streets"].height == 8
    basic = g.filter(pl.col("kind") == "basic")
    assert 0.85 <= basic.height / g.height <= 0.90
    assert 0.03 <= (basic["full_time_workers"] == 0).mean() <= 0.06
    outside = 1 - basic["households"].is_between(300, 500).mean()
    assert 0.04 <= outside <= 0.09
    orgs = g["party_org"].value_counts().to_dict(as_series=False)
    share = dict(zip(orgs["party_org"], np.array(orgs["count"]) / g.height, strict=True))
    assert share["branch"] > 0.5 and share["group"] > 0.1 and 0 < share["none"] < 0.08
    ratio = (g["population"] / g["households"]).filter(g["households"] > 0)
    assert ratio.min() >= 2.39 and ratio.max() <= 3.01
    sums = g.group_by("community_code").agg(
        pl.col("households").sum().alias("hh"), pl.col("population").sum().alias("pop")
    )
    joined = c.join(sums, on="community_code")
    assert (joined["households"] == joined["hh"]).all() and (
        joined["population"] == joined["pop"]
    ).all()
    per10k = c["community_workers"] / c["population"] * 10_000
    assert 0.7 <= (per10k >= 18).mean() <= 0.97  # most meet the standard, some fall short
    assert c["service_center_m2"].min() >= 300
    per_grid = cp.height / basic.height
    assert 2.5 <= per_grid <= 3.5
    modes = cp["property_mode"].value_counts().to_dict(as_series=False)
    m = dict(zip(modes["property_mode"], np.array(modes["count"]) / cp.height, strict=True))
    assert (
        m["professional"] > 0.6
        and m["self_managed"] > 0.03
        and m["fallback"] > 0.03
        and 0 < m["none"] < 0.05
    )
    area_km2 = (
        shapely.area(shapely.from_wkb(district["streets"]["geometry"].to_list())).sum()
        * 97_700
        * 110_860
        / 1e6
    )
    assert 30 <= area_km2 <= 60


def test_cases_look_like_a_real_district(district_demo):
    district = district_demo
    c = district["cases"]
    assert 55_000 <= c.height <= 65_000
    assert 0.02 <= c["rejected"].mean() <= 0.04
    reg = c.filter(~pl.col("rejected") & pl.col("registered_at").is_not_null())
    resp = reg.select(
        ((pl.col("dispatched_at") - pl.col("reported_at")) <= pl.duration(hours=24))
        .fill_null(False)
        .mean()
    ).item()
    assert 0.90 <= resp <= 0.97
    closed = reg.filter(pl.col("closed_at").is_not_null())
    assert 0.03 <= (closed["rework_count"] > 0).mean() <= 0.06
    old = reg.filter(pl.col("reported_at") < END - dt.timedelta(days=60))
    assert 0.98 <= old["closed_at"].is_not_null().mean() <= 0.999
    open_ = reg.filter(pl.col("closed_at").is_null())
    overdue = open_.filter(pl.col("due_at") < END)
    at_risk = open_.filter(
        (pl.col("due_at") >= END) & (pl.col("due_at") < END + dt.timedelta(hours=24))
    )
    not_due = open_.filter(pl.col("due_at") >= END)
    assert overdue.height > 20 and at_risk.height > 0 and not_due.height > at_risk.height
    assert 0.005 <= reg["postponed"].mean() <= 0.03
    on_time = (
        reg.filter(pl.col("closed_at").is_not_null())
        .select((pl.col("closed_at") <= pl.col("due_at")).mean())
        .item()
    )
    assert 0.85 <= on_time <= 0.97
    rated = closed["satisfaction"].drop_nulls()
    assert 0.6 <= rated.len() / closed.height <= 0.95
    assert (rated == "satisfied").mean() > 0.8 and 0 < (rated == "dissatisfied").mean() < 0.08
    # working hours, weekdays, summer environment, Spring Festival trough
    hours = c["reported_at"].dt.hour()
    assert ((hours >= 8) & (hours < 18)).mean() > 0.7
    wd = c["reported_at"].dt.weekday()
    assert (wd <= 5).sum() / 5 > 1.3 * (wd >= 6).sum() / 2
    month = c["reported_at"].dt.month()
    env = c["category"] == "environment"
    assert env.filter(month == 7).mean() > env.filter(month == 1).mean() + 0.05
    per_day = c.group_by(pl.col("reported_at").dt.date().alias("d")).len()
    sf = per_day.filter(pl.col("d").is_between(dt.date(2025, 1, 28), dt.date(2025, 2, 2)))[
        "len"
    ].mean()
    assert sf < 0.7 * per_day["len"].mean()
    # people and words
    assert c["reporter_phone"].str.contains(r"^1[358]\d{9}$").all()
    assert c["reporter_name"].str.len_chars().is_between(2, 3).all()
    assert c["description"].str.len_chars().min() >= 8
    assert c["lon"].is_between(115.7, 116.1).all() and c["lat"].is_between(28.5, 28.9).all()


def test_weak_communities_and_units_stand_out(district_demo):
    district = district_demo
    c = district["cases"].filter(~pl.col("rejected") & pl.col("registered_at").is_not_null())
    due = c.filter(pl.col("due_at") < END)
    rate = (pl.col("closed_at") <= pl.col("due_at")).fill_null(False).mean().alias("on_time")
    by_comm = (
        due.join(district["grids"].select("grid_code", "community_code"), on="grid_code")
        .group_by("community_code")
        .agg(rate)
    )
    median = by_comm["on_time"].median()
    weak = by_comm.filter(pl.col("on_time") < median - 0.15)
    assert 2 <= weak.height <= 8
    by_unit = due.group_by("handling_unit").agg(rate, pl.len()).filter(pl.col("len") >= 200)
    assert by_unit.filter(pl.col("on_time") < by_unit["on_time"].median() - 0.15).height >= 2


def test_volunteers_and_wishes_look_real(district_demo):
    district = district_demo
    teams = district["volunteer_teams"]
    per_comm = teams.group_by("community_code").len()["len"]
    assert per_comm.min() >= 1 and per_comm.max() <= 3
    assert teams["name"].str.ends_with("志愿服务队").all()
    assert (teams["kind"] == "party_member").sum() == district["communities"].height
    w = district["wishes"]
    fulfilled = w["fulfilled_at"].is_not_null().mean()
    assert 0.4 <= fulfilled <= 0.6
    recent = w.filter(pl.col("created_at") > END - dt.timedelta(days=5))
    assert recent["fulfilled_at"].null_count() == recent.height
    assert district["party_reports"].height > 1000
    a = district["activities"]
    assert a["hours"].min() > 0 and (a["hours"] >= a["participants"]).all()
