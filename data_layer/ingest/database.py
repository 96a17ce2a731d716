"""``import --db``: the same import, validated the same way, written to the live database.

The import runs exactly as into a data directory (``run_import``), against a copy of the
database's current tables in a temporary directory; what it changed is then written to the
database in one transaction, under the writer lock held from the copy to the commit, so no
other GridPulse writer (another import, ``simulate --db``) changes the tables in between.
Cases are written by row (upsert, delete) and their change counter is bumped: imported rows
carry the file's ``updated_at``, which may be old, so readers reload cases whole rather than
miss them by the watermark (docs/live-source.md).
"""

from __future__ import annotations

import tempfile

from data_layer.domain import schema
from data_layer.ingest import run_import
from data_layer.ingest.report import ImportResult
from data_layer.storage import migrate, pg_write
from data_layer.storage.pg_conn import redact, transaction
from data_layer.storage.postgres import read_dataset
from data_layer.storage.source import Dataset, open_dataset, write_tables

LOCK_WAIT_S = 30.0
_VERSION_NOTE = "版本 / version "  # run_import's note naming the temporary directory's version


def import_into_database(url: str, **options) -> list[ImportResult]:
    """``run_import`` (same keyword options) with the database as the data; nothing is written
    on a dry run, when no row could be imported, or on any error."""
    with transaction(url) as conn:
        migrate.require_current(conn)
        pg_write.writer_lock(conn, wait_s=LOCK_WAIT_S)
        before = read_dataset(url)
        with tempfile.TemporaryDirectory(prefix="gridpulse-db-import-") as tmp:
            write_tables(tmp, before.tables)
            results = run_import(tmp, **options)
            for result in results:
                result.notes = [n for n in result.notes if not n.startswith(_VERSION_NOTE)]
            if options.get("dry_run") or not any(r.imported for r in results):
                return results
            after = open_dataset(tmp)
        note = _write_changes(conn, before, after)
        pg_write.record_write(conn, kind="import", detail="; ".join(r.summary() for r in results))
    for result in results:
        result.notes.append(f"数据库 / database {redact(url)}: {note}")
    return results


def _write_changes(conn, before: Dataset, after: Dataset) -> str:
    """Write each table's difference; returns what was written, for the import's notes."""
    written = []
    for table in schema.TABLES:
        inserted, updated, deleted = pg_write.write_difference(
            conn, table, before=before[table], after=after[table]
        )
        if inserted or updated or deleted:
            written.append(f"{table} +{inserted:,} ~{updated:,} -{deleted:,}")
            if table == "cases":
                pg_write.note_change(conn, "cases")
    return ", ".join(written) or "no change"
