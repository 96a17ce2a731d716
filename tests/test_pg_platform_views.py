"""A platform's own database mapped onto the schema with a view per table (docs/live-source.md,
"Mapping a platform's database"): the reader follows the platform's changes through the views."""

from __future__ import annotations

import datetime as dt

import polars as pl
import psycopg
import pytest
from fixtures_tiny import G1, G2

from data_layer import settings
from data_layer.storage import pg_admin
from data_layer.storage.postgres import PostgresReader

# The same statements as the example in docs/live-source.md.
PLATFORM = """
CREATE SCHEMA platform;
CREATE TABLE platform.event (
    event_no text PRIMARY KEY,
    wg_bm text,
    event_type text,
    report_time timestamp,
    finish_time timestamp,
    modify_time timestamp NOT NULL,
    is_deleted boolean NOT NULL DEFAULT false,
    delete_time timestamptz
);
CREATE INDEX event_modify_time ON platform.event (modify_time);
CREATE INDEX event_delete_time ON platform.event (delete_time) WHERE is_deleted;
CREATE TABLE platform.wg (wg_bm text PRIMARY KEY, sq_bm text, wg_mc text, hs integer);
"""
VIEWS = """
DROP TABLE gridpulse.cases, gridpulse.case_tombstones;
CREATE VIEW gridpulse.cases AS
SELECT event_no AS case_id,
       wg_bm AS grid_code,
       CASE event_type WHEN '环境卫生' THEN 'environment' WHEN '矛盾纠纷' THEN 'dispute'
                       ELSE 'other' END AS category,
       'grid_worker'::text AS source,
       report_time AS reported_at,
       report_time AS registered_at,
       false AS rejected,
       NULL::timestamp AS dispatched_at,
       NULL::text AS handling_unit,
       finish_time AS handled_at,
       finish_time AS verified_at,
       finish_time AS closed_at,
       report_time + interval '7 days' AS due_at,
       false AS postponed,
       0 AS rework_count,
       NULL::text AS satisfaction,
       NULL::double precision AS lon,
       NULL::double precision AS lat,
       NULL::text AS reporter_name,
       NULL::text AS reporter_phone,
       NULL::text AS description,
       modify_time AS updated_at
FROM platform.event WHERE NOT is_deleted;
CREATE VIEW gridpulse.case_tombstones AS
SELECT event_no AS case_id, delete_time AS deleted_at FROM platform.event WHERE is_deleted;

DROP TABLE gridpulse.grids;
CREATE VIEW gridpulse.grids AS
SELECT wg_bm AS grid_code, sq_bm AS community_code, wg_mc AS name, 'basic'::text AS kind,
       hs AS households, NULL::integer AS population, 1 AS full_time_workers,
       0 AS part_time_workers, 'branch'::text AS party_org,
       NULL::geometry(Geometry, 4326) AS geometry,
       NULL::timestamp AS valid_from, NULL::timestamp AS retired_at  -- schema 2: re-division
FROM platform.wg;
CREATE TRIGGER wg_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON platform.wg
    FOR EACH STATEMENT EXECUTE FUNCTION gridpulse.note_change_trigger('grids');
"""


def local_now(conn) -> dt.datetime:
    return (
        conn.execute("SELECT now()")
        .fetchone()[0]
        .astimezone(settings.TIMEZONE)
        .replace(tzinfo=None)
    )


@pytest.fixture
def platform(tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)  # the other tables stay GridPulse's own
    with psycopg.connect(pg_url) as conn:
        conn.execute(PLATFORM)
        now = local_now(conn)
        conn.execute(
            "INSERT INTO platform.event VALUES "
            "('E1', %s, '环境卫生', '2025-03-01 08:00', '2025-03-02 08:00', %s, false, NULL),"
            "('E2', %s, '矛盾纠纷', '2025-03-03 08:00', NULL, %s, false, NULL)",
            (G1, now, G2, now),
        )
        conn.execute(
            "INSERT INTO platform.wg VALUES (%s, %s, '一网格', 300), (%s, %s, '二网格', 400)",
            (G1, G1[:12], G2, G2[:12]),
        )
        conn.execute(VIEWS)
    reader = PostgresReader(pg_url, lookback=dt.timedelta(seconds=60))
    yield pg_url, reader
    reader.close()


def test_the_views_read_as_the_gridpulse_tables(platform):
    _, reader = platform
    ds = reader.pull().dataset
    cases = ds["cases"]
    assert cases["case_id"].to_list() == ["E1", "E2"]
    assert cases["category"].to_list() == ["environment", "dispute"]
    assert cases.filter(pl.col("case_id") == "E1")["closed_at"].item() == dt.datetime(2025, 3, 2, 8)
    assert ds["grids"]["name"].to_list() == ["一网格", "二网格"]


def test_platform_changes_come_through_the_watermark_the_flag_and_the_trigger(platform):
    url, reader = platform
    first = reader.pull()
    with psycopg.connect(url) as conn:
        now = local_now(conn)
        conn.execute(
            "UPDATE platform.event SET finish_time = %s, modify_time = %s WHERE event_no = 'E2'",
            (now, now),
        )
        conn.execute(
            "UPDATE platform.event SET is_deleted = true, delete_time = now() WHERE event_no = 'E1'"
        )
        conn.execute("UPDATE platform.wg SET wg_mc = '新一网格' WHERE wg_bm = %s", (G1,))
    pulled = reader.pull(first)
    cases = pulled.dataset["cases"]
    assert cases["case_id"].to_list() == ["E2"]
    assert cases["closed_at"].item() == now
    assert pulled.dataset["grids"]["name"].to_list() == ["新一网格", "二网格"]
    assert pulled.changed_rows == 2 + 2  # E2 changed, E1 gone; the 2 grids read again
