"""The live feed: new cases arrive, open cases move one stage per tick, writes are atomic."""

from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import polars as pl
import shapely

from data_layer.cli import main
from data_layer.demo import simulate
from data_layer.storage.source import open_dataset, table_path

NOW = dt.datetime(2025, 4, 1, 10, 0)


def test_tick_adds_cases_inside_their_grid(tiny_dir):
    before = pl.read_parquet(table_path(tiny_dir, "cases")).height
    result = simulate.tick(
        tiny_dir, per_minute=120, interval_s=10, rng=np.random.default_rng(1), now=NOW
    )
    cases = pl.read_parquet(table_path(tiny_dir, "cases"))
    assert result.new_cases > 0 and cases.height == before + result.new_cases
    fresh = cases.filter(pl.col("reported_at") == NOW)
    assert fresh.height == result.new_cases
    assert fresh["case_id"].n_unique() == fresh.height
    assert fresh["rejected"].null_count() == fresh.height  # not yet registered
    grids = pl.read_parquet(table_path(tiny_dir, "grids")).select("grid_code", "geometry")
    joined = fresh.join(grids, on="grid_code")
    polys = shapely.from_wkb(joined["geometry"].to_numpy())
    assert shapely.contains_xy(polys, joined["lon"].to_numpy(), joined["lat"].to_numpy()).all()


def test_open_cases_move_one_stage_at_a_time():
    from fixtures_tiny import tiny_tables

    cases = tiny_tables()["cases"]
    rng = np.random.default_rng(0)
    stages = ["registered_at", "dispatched_at", "handled_at", "verified_at", "closed_at"]
    for step in range(60):
        now = NOW + dt.timedelta(minutes=step)
        previous = cases
        cases, _ = simulate.advance(cases, now=now, rng=rng, sla_hours={"environment": 48})
        before_set = previous.select(
            [pl.col(s).is_not_null().cast(pl.Int8).alias(s) for s in stages]
        ).sum_horizontal()
        after_set = cases.select(
            [pl.col(s).is_not_null().cast(pl.Int8).alias(s) for s in stages]
        ).sum_horizontal()
        assert ((after_set - before_set) <= 1).all()
    # after an hour of ticks every case has moved on to closed (or was rejected)
    open_ = cases.filter(pl.col("closed_at").is_null() & (pl.col("rejected") == False))  # noqa: E712
    assert open_.height <= 2
    ordered = cases.drop_nulls("closed_at").filter(pl.col("dispatched_at").is_not_null())
    assert (ordered["closed_at"] >= ordered["dispatched_at"]).all()


def test_readers_never_see_a_half_written_file(tiny_dir):
    errors: list[Exception] = []
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                open_dataset(tiny_dir)
            except Exception as exc:  # noqa: BLE001 - any failure is what we look for
                errors.append(exc)

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        rng = np.random.default_rng(3)
        for step in range(25):
            simulate.tick(
                tiny_dir,
                per_minute=60,
                interval_s=10,
                rng=rng,
                now=NOW + dt.timedelta(seconds=10 * step),
            )
    finally:
        stop.set()
        reader.join()
    assert not errors


def test_simulate_command_runs_bounded(capsys, tiny_dir):
    assert (
        main(
            [
                "simulate",
                "--data",
                str(tiny_dir),
                "--ticks",
                "2",
                "--interval",
                "0",
                "--per-minute",
                "600",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.count("new,") == 2


def test_simulate_keeps_a_demo_directory_a_demo_one_but_an_import_ends_it(tiny_dir, tmp_path):
    from fixtures_tiny import G1

    from data_layer.auth.demo import demo_users
    from data_layer.ingest import run_import
    from data_layer.storage import origin

    origin.mark_demo(tiny_dir, scale="tiny", seed=1, anchor=dt.date(2025, 3, 31))
    rng = np.random.default_rng(4)
    simulate.tick(tiny_dir, per_minute=120, interval_s=10, rng=rng, now=NOW)
    assert origin.is_demo(tiny_dir) and demo_users(tiny_dir)  # the demo accounts survive
    src = tmp_path / "one.csv"
    src.write_text(
        f"事件编号,所属网格,事件类型,来源,上报时间,状态\nN1,{G1},环境卫生,网格员上报,2025-03-01 08:05,已受理\n",
        encoding="utf-8",
    )
    (result,) = run_import(tiny_dir, cases=src)
    assert result.imported == 1 and not origin.is_demo(tiny_dir)
    simulate.tick(tiny_dir, per_minute=120, interval_s=10, rng=rng, now=NOW)
    assert not origin.is_demo(tiny_dir) and demo_users(tiny_dir) == {}  # not a demo again
