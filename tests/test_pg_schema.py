"""The live source's SQL schema: migrations, its match with the Parquet schema, db init/status."""

from __future__ import annotations

import psycopg
import pytest

from data_layer.cli import main
from data_layer.domain import schema
from data_layer.storage import migrate
from data_layer.storage.pg_conn import redact
from data_layer.storage.source import DataError

# polars dtype of data_layer.domain.schema → the PostgreSQL type the migration must declare
SQL_TYPES = {
    "String": "text",
    "Int32": "integer",
    "Float64": "double precision",
    "Boolean": "boolean",
    "Datetime": "timestamp without time zone",
    "Date": "date",
    "Binary": "geometry",
}


def test_db_init_creates_the_schema_once_and_is_idempotent(capsys, pg_empty_url):
    assert main(["db", "init", "--db", pg_empty_url]) == 0
    assert "applied 0001_init" in capsys.readouterr().out
    assert main(["db", "init", "--db", pg_empty_url]) == 0
    assert "schema is up to date" in capsys.readouterr().out
    with psycopg.connect(pg_empty_url) as conn:
        assert migrate.schema_version(conn) == len(migrate.migrations())


def test_every_table_has_the_columns_and_types_of_the_parquet_schema(pg_url):
    with psycopg.connect(pg_url) as conn:
        for table, columns in schema.TABLES.items():
            rows = conn.execute(
                "SELECT column_name, data_type, udt_name FROM information_schema.columns "
                "WHERE table_schema = 'gridpulse' AND table_name = %s ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            got = [(name, udt if kind == "USER-DEFINED" else kind) for name, kind, udt in rows]
            want = [(c, SQL_TYPES[dtype.base_type().__name__]) for c, dtype in columns.items()]
            assert got == want, table


def test_geometry_is_postgis_in_wgs84_and_cases_have_the_watermark_index(pg_url):
    with psycopg.connect(pg_url) as conn:
        srids = conn.execute(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'gridpulse'"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'gridpulse' AND tablename = 'cases'"
        ).fetchall()
    assert sorted(srids) == [("communities", 4326), ("grids", 4326), ("streets", 4326)]
    assert any("(updated_at)" in row[0] for row in indexes)


def test_a_migration_changed_after_it_was_applied_is_refused(tmp_path, pg_empty_url):
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE gridpulse.a (x int);")
    assert migrate.migrate(pg_empty_url, directory=tmp_path) == ["0001_first"]
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE gridpulse.b (x int);")
    assert migrate.migrate(pg_empty_url, directory=tmp_path) == ["0002_second"]
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE gridpulse.a (x bigint);")
    with pytest.raises(DataError, match="0001_first changed after it was applied"):
        migrate.migrate(pg_empty_url, directory=tmp_path)


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, pg_empty_url):
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE gridpulse.a (x int);")
    (tmp_path / "0002_broken.sql").write_text("CREATE TABLE gridpulse.b (x nosuchtype);")
    with pytest.raises(psycopg.errors.UndefinedObject):
        migrate.migrate(pg_empty_url, directory=tmp_path)
    with psycopg.connect(pg_empty_url) as conn:
        assert conn.execute("SELECT to_regclass('gridpulse.a')").fetchone()[0] is None


def test_migration_files_must_be_numbered_without_gaps(tmp_path):
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0003_c.sql").write_text("")
    with pytest.raises(DataError, match="without gaps"):
        migrate.migrations(tmp_path)


def test_status_of_an_empty_schema_and_of_an_uninitialised_database(capsys, pg_url, pg_empty_url):
    assert main(["db", "status", "--db", pg_url]) == 0
    out = capsys.readouterr().out
    newest = len(migrate.migrations())
    assert f"schema version {newest} (this GridPulse: {newest})" in out
    assert "cases                       0 rows" in out
    assert "last refresh: never" in out
    assert main(["db", "status", "--db", pg_empty_url]) == 0
    assert "schema version 0" in capsys.readouterr().out


def test_reading_an_uninitialised_database_says_to_run_db_init(capsys, pg_empty_url):
    assert main(["kpis", "--db", pg_empty_url]) == 2
    assert "db init" in capsys.readouterr().err


def test_an_unreachable_database_is_one_clear_line_without_the_password(capsys):
    url = "postgresql://gridpulse:secret@127.0.0.1:1/gridpulse"
    assert main(["db", "status", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the database" in err and "secret" not in err
    assert redact(url) in err
    assert main(["kpis", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "cannot read the database" in err and "secret" not in err


def test_a_url_that_is_not_postgresql_is_refused(capsys):
    assert main(["db", "status", "--db", "mysql://x@y/z"]) == 2
    assert "postgresql://" in capsys.readouterr().err
