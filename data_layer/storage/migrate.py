"""Versioned schema migrations of the live source (``migrations/NNNN_name.sql``).

``python -m data_layer db init --db URL`` applies the migrations the database has not had
yet, in order, in one transaction under an advisory lock, and records each in
``gridpulse.schema_version`` with a checksum of its text. Running it again changes nothing.
A migration whose text changed after it was applied is refused: the schema would no longer
be what the file says.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from data_layer.storage.pg_schema import MIGRATION_LOCK, SCHEMA, SCHEMA_VERSION
from data_layer.storage.source import DataError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in version order; numbers must run 1, 2, 3 … without a gap."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise DataError(f"migration file name must be NNNN_name.sql: {path.name}")
        found.append(Migration(int(match[1]), path.stem, path.read_text(encoding="utf-8")))
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise DataError(f"migrations must be numbered 1..n without gaps: {numbers}")
    return found


def applied(conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
    """version → (name, checksum) of the migrations the database has had ({} for none)."""
    exists = conn.execute("SELECT to_regclass(%s)", (SCHEMA_VERSION,)).fetchone()[0]
    if exists is None:
        return {}
    rows = conn.execute(f"SELECT version, name, checksum FROM {SCHEMA_VERSION}").fetchall()
    return {version: (name, checksum) for version, name, checksum in rows}


def migrate(url: str, *, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Bring the schema up to the newest migration; returns the names applied now."""
    wanted = migrations(directory)
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION} ("
            " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = applied(conn)
        _refuse_drift(done, wanted)
        newer = sorted(set(done) - {m.version for m in wanted})
        if newer:
            raise DataError(
                f"数据库的结构版本比本程序新 / the database has schema version {max(newer)}, "
                f"this GridPulse knows up to {len(wanted)}: upgrade GridPulse"
            )
        names = []
        for migration in wanted:
            if migration.version in done:
                continue
            conn.execute(migration.sql)
            conn.execute(
                f"INSERT INTO {SCHEMA_VERSION} (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            names.append(migration.name)
    return names


def _refuse_drift(done: dict[int, tuple[str, str]], wanted: list[Migration]) -> None:
    for migration in wanted:
        if migration.version in done and done[migration.version][1] != migration.checksum:
            raise DataError(
                f"迁移文件已被修改 / migration {migration.name} changed after it was applied; "
                "restore the file and add a new migration for the change"
            )


def schema_version(conn: psycopg.Connection) -> int:
    """The newest applied migration (0: none, the database is not initialised)."""
    return max(applied(conn), default=0)


def require_current(conn: psycopg.Connection) -> None:
    """Raise a DataError unless every migration of this GridPulse has been applied."""
    have, want = schema_version(conn), len(migrations())
    if have < want:
        raise DataError(
            f"数据库结构版本 {have}，需要 {want} / the database schema is at version {have}, "
            f"needs {want}: run `python -m data_layer db init --db URL`"
        )
