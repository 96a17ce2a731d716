"""Writing to the live source: COPY, upserts and deletes, under the writer lock.

Every writer (``db load``, ``import --db``, ``simulate --db``) works inside one transaction
(``pg_conn.transaction``) and first takes the writer lock (``writer_lock``), a transaction-level
advisory lock: the database's counterpart of the data directory's import lock. Readers are never
blocked by it; they see the old rows until the transaction commits.
"""

from __future__ import annotations

import polars as pl
import psycopg
import shapely

from data_layer.domain import schema
from data_layer.storage.pg_schema import (
    SCHEMA,
    WRITER_LOCK,
    WRITES,
    geometry_columns,
    qualified,
)
from data_layer.storage.source import DataError

COPY_BATCH_ROWS = 100_000  # rows per CSV chunk sent to COPY (bounds the memory of a load)
SRID = 4326


def writer_lock(conn: psycopg.Connection, *, wait_s: float | None) -> None:
    """Take the writer lock for this transaction, waiting at most ``wait_s`` seconds (``None``:
    as long as it takes). Waiters are served in the order they asked: PostgreSQL queues a
    lock request behind the earlier ones it conflicts with, so no writer is starved."""
    timeout_ms = 0 if wait_s is None else max(1, int(wait_s * 1000))  # 0: no timeout
    conn.execute(f"SET LOCAL lock_timeout = '{timeout_ms}ms'")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
    except psycopg.errors.LockNotAvailable as exc:
        raise DataError(
            "另一个写入正在进行 / another import, load or simulation is writing to this "
            "database; 请稍后再试。"
        ) from exc
    conn.execute("SET LOCAL lock_timeout = 0")


def _csv_ready(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The table's columns with geometry as hex EWKB carrying SRID 4326 (what PostGIS reads
    from text; plain WKB would arrive with SRID 0 and be refused by the typed column)."""
    frame = schema.conform(table, frame)
    columns = {}
    for column in geometry_columns(table):
        geoms = shapely.from_wkb(frame[column].to_numpy())
        ewkb = shapely.to_wkb(shapely.set_srid(geoms, SRID), hex=True, include_srid=True)
        columns[column] = pl.Series(column, ewkb, dtype=pl.String)
    return frame.with_columns(**columns) if columns else frame


def copy_into(conn: psycopg.Connection, target: str, table: str, frame: pl.DataFrame) -> None:
    """COPY ``frame`` (conformed to ``table``) into ``target`` (the table or a temp copy)."""
    ready = _csv_ready(table, frame)
    names = ", ".join(f'"{c}"' for c in ready.columns)
    with conn.cursor().copy(f"COPY {target} ({names}) FROM STDIN (FORMAT csv)") as copy:
        for part in ready.iter_slices(COPY_BATCH_ROWS):
            copy.write(part.write_csv(include_header=False))


def replace_table(conn: psycopg.Connection, table: str, frame: pl.DataFrame) -> None:
    """The table's rows become ``frame``'s (TRUNCATE + COPY: a whole load)."""
    conn.execute(f"TRUNCATE {qualified(table)}")
    copy_into(conn, qualified(table), table, frame)
    # Fresh statistics now, not when autovacuum gets to it: without them the planner scans
    # the whole cases table for the reader's `updated_at >= watermark` instead of the index.
    conn.execute(f"ANALYZE {qualified(table)}")
    note_change(conn, table)


def upsert(conn: psycopg.Connection, table: str, frame: pl.DataFrame) -> tuple[int, int]:
    """Insert new rows and overwrite existing ones by key; returns (inserted, updated)."""
    if frame.is_empty():
        return 0, 0
    key = schema.KEYS[table]
    staged = f"_gp_upsert_{table}"
    conn.execute(
        f"CREATE TEMP TABLE {staged} (LIKE {qualified(table)} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    copy_into(conn, staged, table, frame)
    columns = list(schema.TABLES[table])
    names = ", ".join(f'"{c}"' for c in columns)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != key)
    counts = conn.execute(
        f"WITH done AS (INSERT INTO {qualified(table)} ({names}) SELECT {names} FROM {staged} "
        f'ON CONFLICT ("{key}") DO UPDATE SET {updates} RETURNING (xmax = 0) AS inserted) '
        "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM done"
    ).fetchone()
    conn.execute(f"DROP TABLE {staged}")
    return int(counts[0]), int(counts[1])


def delete_keys(conn: psycopg.Connection, table: str, keys: list[str]) -> int:
    """Delete rows by key (deleted cases get a tombstone by trigger); returns the count."""
    if not keys:
        return 0
    key = schema.KEYS[table]
    done = conn.execute(f'DELETE FROM {qualified(table)} WHERE "{key}" = ANY(%s)', (list(keys),))
    return done.rowcount


def note_change(conn: psycopg.Connection, table: str) -> None:
    """Bump the table's change counter: every reader re-reads the table whole.

    The eight tables other than cases bump it by trigger as well; for cases only a bulk write
    calls this (a live writer sets ``updated_at`` instead, and readers pull by it).
    """
    conn.execute(f"SELECT {SCHEMA}.note_change(%s)", (table,))


def record_write(conn: psycopg.Connection, *, kind: str, detail: str) -> None:
    """Remember the last write of this kind (``db status`` shows it)."""
    conn.execute(
        f"INSERT INTO {WRITES} (kind, at, detail) VALUES (%s, now(), %s) "
        "ON CONFLICT (kind) DO UPDATE SET at = excluded.at, detail = excluded.detail",
        (kind, detail),
    )


def write_difference(
    conn: psycopg.Connection, table: str, *, before: pl.DataFrame, after: pl.DataFrame
) -> tuple[int, int, int]:
    """Make ``table`` go from ``before`` to ``after`` by rows: upsert the rows that are new or
    differ, delete the keys that are gone. Returns (inserted, updated, deleted)."""
    key = schema.KEYS[table]
    before, after = schema.conform(table, before), schema.conform(table, after)
    changed = after.join(before, on=list(schema.TABLES[table]), how="anti", nulls_equal=True)
    gone = before.select(key).join(after.select(key), on=key, how="anti")[key].to_list()
    deleted = delete_keys(conn, table, gone)
    inserted, updated = upsert(conn, table, changed)
    return inserted, updated, deleted
