"""The PostgreSQL source gives the same Dataset as the Parquet source, and keeps it current:
changed cases by the updated_at watermark, deletions by tombstones, tables by change counter."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import psycopg
import pytest
from fixtures_tiny import AS_OF, G1, G2, MARCH, S1

from data_layer import demo, settings
from data_layer.cli import main
from data_layer.domain import schema
from data_layer.storage import pg_admin
from data_layer.storage.postgres import CASE_ORDER, PostgresReader, read_dataset
from data_layer.storage.source import open_dataset

MARCH_ARGS = ["--from", MARCH[0].isoformat(), "--to", MARCH[1].isoformat()]


def kpis_output(capsys, *args: str) -> str:
    assert main(["kpis", *args, "--format", "json"]) == 0
    return capsys.readouterr().out


def db_now_local(url: str) -> dt.datetime:
    with psycopg.connect(url) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]
    return now.astimezone(settings.TIMEZONE).replace(tzinfo=None)


def sql(url: str, statement: str, params: tuple = ()) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(statement, params)


def test_every_table_reads_back_equal_dtypes_values_and_order(tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    parquet, db = open_dataset(tiny_dir), read_dataset(pg_url)
    assert list(db.tables) == list(schema.TABLES)
    for table in schema.TABLES:
        assert db[table].schema == parquet[table].schema, table
        # a full read of the database is in key order; the cases in report order
        order = list(CASE_ORDER) if table == "cases" else schema.KEYS[table]
        assert db[table].equals(parquet[table].sort(order, nulls_last=True)), table
    assert [v[0] for v in db.version] == list(schema.TABLES) and db.data_dir is None


@pytest.mark.parametrize("by", [[], ["--by", "street"], ["--by", "community"], ["--by", "grid"]])
def test_kpis_db_prints_byte_identical_json_on_the_tiny_district(capsys, tiny_dir, pg_url, by):
    pg_admin.load(pg_url, tiny_dir)
    args = [*MARCH_ARGS, "--as-of", AS_OF.isoformat(), "--street", S1, *by]
    from_parquet = kpis_output(capsys, "--data", str(tiny_dir), *args)
    from_db = kpis_output(capsys, "--db", pg_url, *args)
    assert from_db == from_parquet
    rows = json.loads(from_db)
    assert len(rows) == {"": 1, "street": 1, "community": 3, "grid": 4}[by[-1] if by else ""]
    if not by:  # the hand-computed closure rate of test_metrics is in there
        assert rows[0]["metrics"]["closure_rate"]["numerator"] == 4


def test_kpis_db_prints_byte_identical_json_on_a_tiny_demo(capsys, tmp_path, pg_url):
    out = tmp_path / "demo"
    demo.generate(out=out, scale="tiny", seed=7, anchor=dt.date(2025, 6, 30))
    pg_admin.load(pg_url, out)
    for args in (
        ["--period", "this_year", "--as-of", "2025-06-30T18:00"],
        ["--period", "last_12_months", "--as-of", "2025-06-30T18:00", "--by", "grid"],
        [
            "--from",
            "2025-04-01",
            "--to",
            "2025-06-30",
            "--as-of",
            "2025-06-15T09:00",
            "--by",
            "community",
        ],
    ):
        assert kpis_output(capsys, "--db", pg_url, *args) == kpis_output(
            capsys, "--data", str(out), *args
        )


def test_check_db_finds_the_same_as_check_data(capsys, tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    code_data = main(["check", "--data", str(tiny_dir), "--no-geometry"])
    lines_data = capsys.readouterr().out.splitlines()[:-1]
    code_db = main(["check", "--db", pg_url, "--no-geometry"])
    lines_db = capsys.readouterr().out.splitlines()[:-1]
    assert (code_db, lines_db) == (code_data, lines_data)


# -- incremental pulls ------------------------------------------------------------------------


@pytest.fixture
def loaded(tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    reader = PostgresReader(pg_url, lookback=dt.timedelta(seconds=60))
    yield pg_url, reader, reader.pull()
    reader.close()


def test_a_pull_with_nothing_changed_keeps_the_revision_and_the_frames(loaded):
    _, reader, first = loaded
    again = reader.pull(first)
    assert (again.revision, again.changed_rows) == (first.revision, 0)
    assert again.tables["grids"] is first.tables["grids"]  # not read again
    assert again.dataset["cases"].equals(first.dataset["cases"])


def test_changed_and_new_cases_come_in_by_the_watermark(loaded):
    url, reader, first = loaded
    now = db_now_local(url)
    sql(
        url,
        "UPDATE gridpulse.cases SET rework_count = 7, updated_at = %s WHERE case_id = 'c1'",
        (now,),
    )
    sql(
        url,
        "INSERT INTO gridpulse.cases (case_id, grid_code, category, source, reported_at, updated_at)"
        " VALUES ('n1', %s, 'environment', 'grid_worker', %s, %s)",
        (G2, now, now),
    )
    pulled = reader.pull(first)
    cases = pulled.dataset["cases"]
    assert pulled.revision == first.revision + 1 and pulled.changed_rows == 2
    assert cases.height == first.dataset["cases"].height + 1
    assert cases.filter(pl.col("case_id") == "c1")["rework_count"].to_list() == [7]
    assert cases.filter(pl.col("case_id") == "n1")["grid_code"].to_list() == [G2]
    assert cases.schema == schema.CASES
    assert pulled.watermark == now
    # the rows inside the look-back are read again next time, and are no change
    assert reader.pull(pulled).revision == pulled.revision


def test_a_case_updated_with_an_old_stamp_inside_the_lookback_is_still_seen(loaded):
    """A writer whose transaction began before the previous pull commits after it: its
    updated_at is older than the watermark, and the look-back catches it."""
    url, reader, first = loaded
    now = db_now_local(url)
    sql(url, "UPDATE gridpulse.cases SET updated_at = %s WHERE case_id = 'c2'", (now,))
    moved = reader.pull(first)
    late = now - dt.timedelta(seconds=30)  # inside the 60 s look-back
    sql(
        url,
        "UPDATE gridpulse.cases SET rework_count = 3, updated_at = %s WHERE case_id = 'c3'",
        (late,),
    )
    pulled = reader.pull(moved)
    assert pulled.dataset["cases"].filter(pl.col("case_id") == "c3")["rework_count"].item() == 3


def test_deleted_cases_leave_by_tombstone_and_come_back_when_inserted_again(loaded):
    url, reader, first = loaded
    sql(url, "DELETE FROM gridpulse.cases WHERE case_id IN ('c1', 'c2')")
    with psycopg.connect(url) as conn:
        tombstones = conn.execute("SELECT case_id FROM gridpulse.case_tombstones ORDER BY 1")
        assert tombstones.fetchall() == [("c1",), ("c2",)]
    gone = reader.pull(first)
    ids = set(gone.dataset["cases"]["case_id"].to_list())
    assert "c1" not in ids and "c2" not in ids
    assert gone.changed_rows == 2 and gone.dataset["cases"].height == first.cases.height - 2
    now = db_now_local(url)
    sql(
        url,
        "INSERT INTO gridpulse.cases (case_id, grid_code, updated_at) VALUES ('c1', %s, %s)",
        (G1, now),
    )
    with psycopg.connect(url) as conn:
        left = conn.execute("SELECT case_id FROM gridpulse.case_tombstones").fetchall()
    assert left == [("c2",)]  # the re-inserted case's tombstone is gone
    back = reader.pull(gone)
    assert "c1" in set(back.dataset["cases"]["case_id"].to_list())


def test_a_reference_table_is_read_again_only_when_its_counter_moves(loaded):
    url, reader, first = loaded
    sql(url, "UPDATE gridpulse.grids SET name = '新名字' WHERE grid_code = %s", (G1,))
    pulled = reader.pull(first)
    assert pulled.counters["grids"] == first.counters["grids"] + 1
    assert pulled.dataset["grids"].filter(pl.col("grid_code") == G1)["name"].item() == "新名字"
    assert pulled.tables["communities"] is first.tables["communities"]
    assert pulled.revision == first.revision + 1


def test_a_bulk_write_of_cases_makes_the_next_pull_read_them_whole(loaded, tiny_dir):
    url, reader, first = loaded
    # an old updated_at, far outside the look-back: only the counter can announce it
    sql(
        url,
        "UPDATE gridpulse.cases SET rework_count = 9 WHERE case_id = 'c4';"
        "SELECT gridpulse.note_change('cases')",
    )
    pulled = reader.pull(first)
    assert pulled.dataset["cases"].filter(pl.col("case_id") == "c4")["rework_count"].item() == 9


def test_a_case_stamped_in_the_future_does_not_carry_the_watermark_past_now(loaded):
    url, reader, first = loaded
    now = db_now_local(url)
    future = now + dt.timedelta(days=30)
    sql(url, "UPDATE gridpulse.cases SET updated_at = %s WHERE case_id = 'c5'", (future,))
    pulled = reader.pull(first)
    assert now <= pulled.watermark < future
    sql(
        url,
        "UPDATE gridpulse.cases SET rework_count = 5, updated_at = %s WHERE case_id = 'c6'",
        (db_now_local(url),),
    )
    assert (
        reader.pull(pulled)
        .dataset["cases"]
        .filter(pl.col("case_id") == "c6")["rework_count"]
        .item()
        == 5
    )


def test_pruning_old_tombstones_makes_every_reader_reload_cases_and_keeps_recent_ones(
    loaded, capsys
):
    """A reader that last pulled before a pruned tombstone could not see that deletion by
    watermark any more: pruning bumps the cases counter, so it reloads whole instead."""
    url, reader, first = loaded
    sql(url, "DELETE FROM gridpulse.cases WHERE case_id IN ('c1', 'c2')")
    sql(
        url,
        "UPDATE gridpulse.case_tombstones SET deleted_at = now() - interval '40 days' "
        "WHERE case_id = 'c1'",
    )
    assert main(["db", "prune", "--db", url, "--keep-days", "30"]) == 0
    assert "pruned 1 tombstone(s) older than 30 days" in capsys.readouterr().out
    with psycopg.connect(url) as conn:
        left = conn.execute("SELECT case_id FROM gridpulse.case_tombstones").fetchall()
    assert left == [("c2",)]
    pulled = reader.pull(first)  # a reader that has not pulled since before both deletes
    assert pulled.counters["cases"] == first.counters["cases"] + 1
    ids = set(pulled.dataset["cases"]["case_id"].to_list())
    assert not ids & {"c1", "c2"} and pulled.dataset["cases"].height == first.cases.height - 2
    # nothing old left: a second prune removes nothing and leaves the counter alone
    assert pg_admin.prune_tombstones(url, keep_days=30) == 0
    assert reader.pull(pulled).counters["cases"] == pulled.counters["cases"]
    status = "\n".join(pg_admin.status(url).lines())
    assert "last prune:" in status and "1 tombstone(s)" in status
