"""The session cookie's server side in the live source (``gridpulse.web_sessions``, migration
0004): one row per cookie, shared by every replica. Each call is one short statement."""

from __future__ import annotations

import datetime as dt

import psycopg

from data_layer.storage.pg_conn import connect, unavailable
from data_layer.storage.pg_schema import SCHEMA
from data_layer.storage.source import DataError

SESSIONS = f"{SCHEMA}.web_sessions"


def schema_behind() -> DataError:
    return DataError(
        "数据库中没有会话表 / the database has no sessions table (schema 4): "
        "run `python -m data_layer db init --db URL`"
    )


def _run(url: str, sql: str, params: tuple) -> list[tuple]:
    conn = connect(url, autocommit=True)
    try:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else []
    except psycopg.errors.UndefinedTable as exc:
        raise schema_behind() from exc
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc
    finally:
        conn.close()


def open_session(
    url: str, sid: str, username: str, issued_at: dt.datetime, *, prune_before: dt.datetime
) -> None:
    """Add a session, and drop the ones issued before ``prune_before`` (past any lifetime)."""
    _run(url, f"DELETE FROM {SESSIONS} WHERE issued_at < %s", (prune_before,))
    _run(
        url,
        f"INSERT INTO {SESSIONS} (sid, user_name, issued_at, last_seen) VALUES (%s, %s, %s, %s)",
        (sid, username, issued_at, issued_at),
    )


def get(url: str, sid: str) -> tuple | None:
    """(user_name, issued_at, last_seen, revoked_at) of ``sid``, or None."""
    rows = _run(
        url,
        f"SELECT user_name, issued_at, last_seen, revoked_at FROM {SESSIONS} WHERE sid = %s",
        (sid,),
    )
    return rows[0] if rows else None


def touch(url: str, sid: str, now: dt.datetime) -> None:
    _run(
        url,
        f"UPDATE {SESSIONS} SET last_seen = greatest(last_seen, %s) "
        "WHERE sid = %s AND revoked_at IS NULL",
        (now, sid),
    )


def revoke(url: str, sid: str, now: dt.datetime) -> None:
    _run(
        url,
        f"UPDATE {SESSIONS} SET revoked_at = coalesce(revoked_at, %s) WHERE sid = %s",
        (now, sid),
    )
