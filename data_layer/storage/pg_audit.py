"""The audit log in the live source: ``gridpulse.audit_events`` (migration 0003), append-only.

The same events as the file log (``storage.audit``), with the same interface (``record``,
``read_events``), so the app and the CLI write to whichever their source is. A trigger refuses
UPDATE, DELETE and TRUNCATE of the table: the app only ever inserts. Each event is one INSERT
in its own transaction, committed before ``record`` returns. It holds no personal data: callers
pass user names, codes, file kinds and filters, never reporter names or phones.
"""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg.types.json import Jsonb

from data_layer.domain.filters import Filter
from data_layer.storage.audit import ACTIONS, Event
from data_layer.storage.pg_conn import connect, unavailable
from data_layer.storage.pg_schema import SCHEMA
from data_layer.storage.pg_users import schema_behind

AUDIT_EVENTS = f"{SCHEMA}.audit_events"


class PgAuditLog:
    def __init__(self, url: str) -> None:
        self.url = url

    def record(
        self,
        *,
        user: str,
        role: str | None,
        action: str,
        target: str | None = None,
        filter: Filter | None = None,
        result: str = "ok",
        now: dt.datetime | None = None,
    ) -> None:
        """Insert one event (committed when this returns)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        ts = now or dt.datetime.now(dt.UTC)
        if ts.tzinfo is None:
            raise ValueError("audit times must carry a timezone")
        params = filter.to_query_params() if filter is not None else None
        conn = connect(self.url, autocommit=True)
        try:
            conn.execute(
                f"INSERT INTO {AUDIT_EVENTS} (ts, user_name, role, action, target, filter, result)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    ts,
                    user,
                    role,
                    action,
                    target,
                    Jsonb(params) if params is not None else None,
                    result,
                ),
            )
        except psycopg.errors.UndefinedTable as exc:
            raise schema_behind() from exc
        except psycopg.OperationalError as exc:
            raise unavailable(self.url, exc) from exc
        finally:
            conn.close()

    def read_events(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events oldest first; ``since`` ≤ ts < ``until``; with ``limit`` the newest ones."""
        where, args = [], []
        for clause, value in (
            ("user_name = %s", user),
            ("action = %s", action),
            ("ts >= %s", since),
            ("ts < %s", until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = f"SELECT ts, user_name, role, action, target, filter, result FROM {AUDIT_EVENTS}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts DESC, event_id DESC"
        if limit:
            sql += " LIMIT %s"
            args.append(int(limit))
        conn = connect(self.url, autocommit=True)
        try:
            rows = conn.execute(sql, args).fetchall()
        except psycopg.errors.UndefinedTable as exc:
            raise schema_behind() from exc
        except psycopg.OperationalError as exc:
            raise unavailable(self.url, exc) from exc
        finally:
            conn.close()
        return [
            Event(ts=ts, user=u, role=r, action=a, target=t, filter=f, result=res or "")
            for ts, u, r, a, t, f, res in reversed(rows)
        ]
