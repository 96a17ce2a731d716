"""``db load`` and ``db status``: a data directory into the database, and what the database holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from data_layer import settings
from data_layer.domain import schema
from data_layer.storage import migrate, pg_write
from data_layer.storage.pg_conn import transaction
from data_layer.storage.pg_schema import TABLE_CHANGES, TOMBSTONES, WRITES, qualified
from data_layer.storage.source import open_dataset

LOAD_LOCK_WAIT_S = 30.0


def load(url: str, data_dir: Path | str, *, if_empty: bool = False) -> dict[str, int] | None:
    """Replace every table with the data directory's, in one transaction (TRUNCATE + COPY):
    readers see the old data until the commit, then reload whole. Returns rows per table, or
    None when ``if_empty`` and the database already has data (nothing is written)."""
    ds = open_dataset(data_dir)
    with transaction(url) as conn:
        migrate.require_current(conn)
        pg_write.writer_lock(conn, wait_s=LOAD_LOCK_WAIT_S)
        if if_empty and _has_rows(conn):
            return None
        for table in schema.TABLES:
            pg_write.replace_table(conn, table, ds[table])
        conn.execute(f"TRUNCATE {TOMBSTONES}")  # a whole load has no deleted cases to report
        counts = {table: ds[table].height for table in schema.TABLES}
        pg_write.record_write(
            conn, kind="load", detail=f"{Path(data_dir).resolve()}: {counts['cases']:,} cases"
        )
    return counts


def prune_tombstones(url: str, *, keep_days: int) -> int:
    """Delete the tombstones of cases deleted more than ``keep_days`` ago; returns how many.

    A reader whose last pull is older than that would no longer see those deletions by
    watermark, so when any tombstone goes the cases counter is bumped as well: every reader,
    live or coming back, reloads cases whole once (a full load of 1M cases takes seconds), and
    none keeps a deleted case.
    """
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    with transaction(url) as conn:
        migrate.require_current(conn)
        pg_write.writer_lock(conn, wait_s=LOAD_LOCK_WAIT_S)
        gone = conn.execute(
            f"DELETE FROM {TOMBSTONES} WHERE deleted_at < now() - make_interval(days => %s)",
            (keep_days,),
        ).rowcount
        if gone:
            pg_write.note_change(conn, "cases")
        pg_write.record_write(
            conn, kind="prune", detail=f"{gone:,} tombstone(s) older than {keep_days} days"
        )
    return gone


def _has_rows(conn) -> bool:
    return any(
        conn.execute(f"SELECT EXISTS (SELECT 1 FROM {qualified(t)})").fetchone()[0]
        for t in schema.TABLES
    )


@dataclass(frozen=True)
class TableStatus:
    table: str
    rows: int
    counter: int | None
    changed_at: dt.datetime | None


@dataclass(frozen=True)
class Status:
    schema_version: int
    migrations: int  # known to this GridPulse
    tables: list[TableStatus]
    newest_case_update: dt.datetime | None
    tombstones: int
    writes: list[tuple[str, dt.datetime, str]]  # kind, when, detail

    def lines(self) -> list[str]:
        out = [f"schema version {self.schema_version} (this GridPulse: {self.migrations})"]
        if self.schema_version < self.migrations:
            out.append("  pending migrations: run `python -m data_layer db init --db URL`")
        for t in self.tables:
            changed = f"  changed {_local(t.changed_at)}" if t.changed_at else ""
            out.append(f"{t.table:<16} {t.rows:>12,} rows  counter {t.counter}{changed}")
        newest = f"{self.newest_case_update:%Y-%m-%d %H:%M:%S}" if self.newest_case_update else "-"
        out.append(f"cases: newest updated_at {newest}, {self.tombstones:,} tombstone(s)")
        if not self.writes:
            out.append("last refresh: never (run `db load`)")
        for kind, at, detail in self.writes:
            out.append(f"last {kind}: {_local(at)}  {detail}")
        return out


def _local(at: dt.datetime) -> str:
    return f"{at.astimezone(settings.TIMEZONE):%Y-%m-%d %H:%M:%S}"


def status(url: str) -> Status:
    """Schema version, rows and change counters per table, the newest case update and the last
    write of each kind (the last refresh of the data)."""
    with transaction(url) as conn:
        version = migrate.schema_version(conn)
        known = len(migrate.migrations())
        if version == 0:
            return Status(0, known, [], None, 0, [])
        changes = {
            name: (counter, at)
            for name, counter, at in conn.execute(
                f"SELECT table_name, counter, changed_at FROM {TABLE_CHANGES}"
            ).fetchall()
        }
        tables = []
        for table in schema.TABLES:
            rows = conn.execute(f"SELECT count(*) FROM {qualified(table)}").fetchone()[0]
            counter, at = changes.get(table, (None, None))
            tables.append(TableStatus(table, rows, counter, at))
        newest = conn.execute(f"SELECT max(updated_at) FROM {qualified('cases')}").fetchone()[0]
        tombstones = conn.execute(f"SELECT count(*) FROM {TOMBSTONES}").fetchone()[0]
        writes = conn.execute(f"SELECT kind, at, detail FROM {WRITES} ORDER BY at DESC").fetchall()
    return Status(version, known, tables, newest, tombstones, [tuple(w) for w in writes])
