"""The accounts table of the live source (``gridpulse.users``, migration 0003).

Rows travel as the records of ``DIR/_auth/users.json`` (``auth.users`` turns them into
accounts), so both stores hold exactly the same fields. A change is one transaction under
the accounts lock (``USERS_LOCK``, a transaction-level advisory lock): read every row, let the
caller change them, write back only the rows that differ. Two replicas signing in or an
operator's ``users … --db`` therefore never overwrite each other's change.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

import psycopg

from data_layer.storage.pg_conn import connect, transaction, unavailable
from data_layer.storage.pg_schema import SCHEMA, USERS_LOCK
from data_layer.storage.source import DataError

USERS = f"{SCHEMA}.users"
_COLUMNS = (
    "username",
    "display_name",
    "role",
    "streets",
    "communities",
    "rights",
    "password_hash",
    "failures",
    "locked_until",
)


def _select(conn: psycopg.Connection) -> dict[str, dict]:
    try:
        rows = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM {USERS}").fetchall()
    except psycopg.errors.UndefinedTable as exc:
        raise schema_behind() from exc
    return {row[0]: _record(row) for row in rows}


def schema_behind() -> DataError:
    """The database predates the accounts and audit tables (schema 3)."""
    return DataError(
        "数据库中没有账号表 / the database has no accounts table (schema 3): "
        "run `python -m data_layer db init --db URL`"
    )


def read_records(url: str) -> dict[str, dict]:
    """Every stored account's record by user name (one short read-only query)."""
    conn = connect(url, autocommit=True)
    try:
        return _select(conn)
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc
    finally:
        conn.close()


@contextlib.contextmanager
def editing(url: str) -> Iterator[dict[str, dict]]:
    """The records, to change in place; written back (only what differs) when the block ends
    normally, all in one transaction. An exception leaves the table as it was."""
    with transaction(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (USERS_LOCK,))
        records = _select(conn)
        before = {name: dict(rec) for name, rec in records.items()}
        yield records
        gone = [name for name in before if name not in records]
        if gone:
            conn.execute(f"DELETE FROM {USERS} WHERE username = ANY(%s)", (gone,))
        for name, rec in records.items():
            if before.get(name) != rec:
                _upsert(conn, name, rec)


def _upsert(conn: psycopg.Connection, name: str, rec: dict) -> None:
    values = [name, *(_value(c, rec.get(c)) for c in _COLUMNS[1:])]
    names = ", ".join(_COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    updates = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
    conn.execute(
        f"INSERT INTO {USERS} ({names}, changed_at) VALUES ({marks}, now()) "
        f"ON CONFLICT (username) DO UPDATE SET {updates}, changed_at = now()",
        values,
    )


def _value(column: str, value):
    if column in ("streets", "communities", "rights"):
        return sorted(value or ())
    if column == "locked_until":
        return dt.datetime.fromisoformat(value) if value else None
    if column == "failures":
        return int(value or 0)
    return value


def _record(row: tuple) -> dict:
    rec = dict(zip(_COLUMNS[1:], row[1:], strict=True))
    for column in ("streets", "communities", "rights"):
        rec[column] = sorted(rec[column] or ())
    locked = rec["locked_until"]
    rec["locked_until"] = locked.astimezone(dt.UTC).isoformat() if locked else None
    return rec
