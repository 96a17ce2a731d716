"""Writers of the live source: db load, import --db and simulate --db, each one transaction
under the writer lock, and what the live reader sees of them."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import polars as pl
import psycopg
import pytest
from test_import_cases import good_rows, write_csv

from data_layer.cli import main
from data_layer.demo import simulate_db
from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.storage import pg_admin, pg_write
from data_layer.storage.pg_conn import transaction
from data_layer.storage.pg_schema import WRITER_LOCK
from data_layer.storage.postgres import CASE_ORDER, PostgresReader, read_dataset
from data_layer.storage.source import DataError, open_dataset

TINY_CASES = 12  # tests/fixtures_tiny.py


def rows_of(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM gridpulse.{table}").fetchone()[0]


# -- db load -----------------------------------------------------------------------------------


def test_db_load_copies_every_table_and_records_the_refresh(capsys, tiny_dir, pg_url):
    assert main(["db", "load", "--data", str(tiny_dir), "--db", pg_url]) == 0
    assert f"cases {TINY_CASES}," in capsys.readouterr().out
    for table, frame in open_dataset(tiny_dir).tables.items():
        assert rows_of(pg_url, table) == frame.height, table
    assert main(["db", "status", "--db", pg_url]) == 0
    out = capsys.readouterr().out
    assert "last load:" in out and f"{TINY_CASES} cases" in out


def test_db_load_if_empty_leaves_a_loaded_database_alone(capsys, tiny_dir, pg_url):
    assert main(["db", "load", "--data", str(tiny_dir), "--db", pg_url]) == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute("DELETE FROM gridpulse.cases WHERE case_id = 'c1'")
    capsys.readouterr()
    assert main(["db", "load", "--data", str(tiny_dir), "--db", pg_url, "--if-empty"]) == 0
    assert "nothing loaded" in capsys.readouterr().out
    assert rows_of(pg_url, "cases") == TINY_CASES - 1


def test_a_load_that_fails_half_way_changes_nothing(monkeypatch, tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    before = read_dataset(pg_url)
    real = pg_write.replace_table

    def failing(conn, table, frame):
        if table == "activities":  # after streets … cases have been replaced
            raise RuntimeError("disk full")
        real(conn, table, frame.head(1))

    monkeypatch.setattr(pg_write, "replace_table", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        pg_admin.load(pg_url, tiny_dir)
    after = read_dataset(pg_url)
    for table in schema.TABLES:
        assert after[table].equals(before[table]), table


def test_a_second_writer_waits_then_is_told_another_one_is_writing(tiny_dir, pg_url):
    with psycopg.connect(pg_url) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
        with pytest.raises(DataError, match="another import, load or simulation"):
            with transaction(pg_url) as conn:
                pg_write.writer_lock(conn, wait_s=0.2)


# -- import --db -------------------------------------------------------------------------------


def test_import_db_validates_like_a_data_directory_and_writes_the_same_rows(
    capsys, tmp_path, tiny_dir, pg_url
):
    pg_admin.load(pg_url, tiny_dir)
    rows = good_rows(3) + [["BAD1", "999", "环境卫生", "网格员上报", "2025/3/1 8:05", *[""] * 8]]
    path = write_csv(tmp_path / "cases.csv", rows)
    report = tmp_path / "report.csv"
    args = ["import", "--cases", str(path), "--report", str(report)]
    assert main([*args, "--db", pg_url]) == 0
    out_db = capsys.readouterr().out
    assert main([*args, "--data", str(tiny_dir)]) == 0
    out_dir = capsys.readouterr().out
    summary = [line for line in out_db.splitlines() if line.startswith("cases:")]
    assert summary == [line for line in out_dir.splitlines() if line.startswith("cases:")]
    assert "导入 imported 3 + 拒绝 rejected 1" in summary[0]
    assert "database" in out_db and "cases +3 ~0 -0" in out_db and "version" not in out_db
    db, parquet = read_dataset(pg_url), open_dataset(tiny_dir)
    assert db["cases"].equals(parquet["cases"].sort(list(CASE_ORDER), nulls_last=True))
    assert report.is_file()


def test_import_db_again_is_idempotent_and_a_dry_run_writes_nothing(
    capsys, tmp_path, tiny_dir, pg_url
):
    pg_admin.load(pg_url, tiny_dir)
    path = write_csv(tmp_path / "cases.csv", good_rows(2))
    assert main(["import", "--cases", str(path), "--db", pg_url, "--dry-run"]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert rows_of(pg_url, "cases") == TINY_CASES
    assert main(["import", "--cases", str(path), "--db", pg_url]) == 0
    capsys.readouterr()
    first = read_dataset(pg_url)["cases"]
    assert main(["import", "--cases", str(path), "--db", pg_url]) == 0
    out = capsys.readouterr().out
    assert "更新 updated 2" in out and "no change" in out
    assert read_dataset(pg_url)["cases"].equals(first)


def test_imported_cases_reach_a_running_reader_even_with_old_timestamps(tmp_path, tiny_dir, pg_url):
    """The file's cases are stamped 2025-03 (older than any watermark): the import bumps the
    cases counter, so the reader reloads cases whole instead of missing them."""
    pg_admin.load(pg_url, tiny_dir)
    reader = PostgresReader(pg_url, lookback=dt.timedelta(0))
    try:
        first = reader.pull()
        path = write_csv(tmp_path / "cases.csv", good_rows(2, prefix="OLD"))
        assert main(["import", "--cases", str(path), "--db", pg_url]) == 0
        after = reader.pull(first)
    finally:
        reader.close()
    assert {"OLD0", "OLD1"} <= set(after.dataset["cases"]["case_id"].to_list())
    assert after.revision == first.revision + 1


def test_import_db_into_an_uninitialised_database_says_db_init(capsys, tmp_path, pg_empty_url):
    path = write_csv(tmp_path / "cases.csv", good_rows(1))
    assert main(["import", "--cases", str(path), "--db", pg_empty_url]) == 2
    assert "db init" in capsys.readouterr().err


# -- simulate --db -----------------------------------------------------------------------------


def test_simulate_db_moves_open_cases_on_and_adds_new_ones_seen_by_the_watermark(tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    with psycopg.connect(pg_url) as conn:  # open every case again, so there is work to do
        conn.execute("UPDATE gridpulse.cases SET closed_at = NULL, rejected = false")
        conn.execute("SELECT gridpulse.note_change('cases')")
    reader = PostgresReader(pg_url, lookback=dt.timedelta(seconds=5))
    try:
        first = reader.pull()
        now = now_local().replace(microsecond=0)
        result = simulate_db.tick(
            pg_url, per_minute=600, interval_s=1, rng=np.random.default_rng(3), now=now
        )
        after = reader.pull(first)
    finally:
        reader.close()
    assert result.new_cases > 0 and result.advanced > 0
    assert result.total == TINY_CASES + result.new_cases == rows_of(pg_url, "cases")
    cases = after.dataset["cases"]
    stamped = cases.filter(pl.col("updated_at") == now)
    assert stamped.height == result.new_cases + result.advanced
    fresh = cases.filter(pl.col("case_id").str.starts_with(f"AJ{now:%Y%m%d}9"))
    assert fresh.height == result.new_cases
    assert set(fresh["grid_code"].to_list()) <= set(read_dataset(pg_url)["grids"]["grid_code"])
    # only the changed rows came in: the reader did not reload the whole table
    assert after.changed_rows == result.new_cases + result.advanced


def test_simulate_db_waits_for_a_long_import_instead_of_giving_up(tiny_dir, pg_url):
    """A tick waits for the writer lock past its interval (it used to give up after one
    interval, and the live feed ended), then runs once the other writer lets go."""
    pg_admin.load(pg_url, tiny_dir)
    results: dict[str, object] = {}

    def ticker() -> None:
        try:
            results["tick"] = simulate_db.tick(
                pg_url, per_minute=600, interval_s=0.1, rng=np.random.default_rng(4)
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            results["error"] = exc

    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
        thread = threading.Thread(target=ticker)
        thread.start()
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline
            and not holder.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone()[0]
        ):
            time.sleep(0.05)  # the tick is queued for the lock
        time.sleep(1.5)  # longer than the one second it waited before
        assert thread.is_alive() and not results, results
        holder.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
    thread.join(60)
    assert "error" not in results, results.get("error")
    assert results["tick"].total == TINY_CASES + results["tick"].new_cases


def test_simulate_db_command_runs_bounded(capsys, tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    argv = ["simulate", "--db", pg_url, "--ticks", "2", "--interval", "0.1", "--seed", "1"]
    assert main([*argv, "--per-minute", "1200"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("cases" in line for line in lines)


def test_simulate_db_reads_open_cases_whose_first_rows_have_no_times_yet(tiny_dir, pg_url):
    """At province scale the first hundred open rows may all lack a stage time (a column of
    nulls so far) and a later one have it: the open cases are read with their table's types,
    not types guessed from the first rows (the live feed died on it at 10M cases)."""
    pg_admin.load(pg_url, tiny_dir)
    cases = read_dataset(pg_url)["cases"]
    template = cases.head(1)
    blank = {"closed_at": None, "handled_at": None, "verified_at": None, "rejected": False}
    unstaged = pl.concat(
        [template.with_columns(pl.lit(f"ZZ{i:05d}").alias("case_id")) for i in range(150)]
    ).with_columns(pl.lit(v, dtype=cases[c].dtype).alias(c) for c, v in blank.items())
    handled = unstaged.head(1).with_columns(
        pl.lit("ZZ99999").alias("case_id"),
        pl.col("reported_at").alias("handled_at"),
    )
    with transaction(pg_url) as conn:
        conn.execute(
            "UPDATE gridpulse.cases SET closed_at = NULL, handled_at = NULL, verified_at = NULL"
        )
        pg_write.upsert(conn, "cases", unstaged)
        pg_write.upsert(conn, "cases", handled)  # the last row read, with a time set
    result = simulate_db.tick(pg_url, per_minute=60, interval_s=1, rng=np.random.default_rng(4))
    assert result.total == TINY_CASES + 151 + result.new_cases == rows_of(pg_url, "cases")
