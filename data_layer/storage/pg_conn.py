"""Connections to the live source, and its errors in the words the user needs.

A database URL may carry a password: ``redact`` is the only form of it that goes into a
message, a log line or the screen.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg

from data_layer.storage.source import DataError

CONNECT_TIMEOUT_S = 5


class DatabaseUnavailable(DataError):
    """The database cannot be reached (down, refused, timed out): worth retrying."""


def redact(url: str) -> str:
    """``url`` without its password (``postgresql://user:***@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def check_url(url: str) -> str:
    """``url`` if it names a PostgreSQL database, else a DataError saying the form."""
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        raise DataError(
            f"数据库地址应为 postgresql://… / the database URL must look like "
            f"postgresql://user@host:5432/dbname, got {redact(url)!r}"
        )
    return url


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection; an unreachable server raises ``DatabaseUnavailable``."""
    try:
        return psycopg.connect(
            check_url(url),
            autocommit=autocommit,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name="gridpulse",
        )
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc


def unavailable(url: str, exc: BaseException) -> DatabaseUnavailable:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUnavailable(f"无法连接数据库 / cannot reach the database {redact(url)}: {first}")


@contextlib.contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection]:
    """One connection and one transaction: committed when the block ends, rolled back on any
    exception (a lost connection included: nothing half-written stays)."""
    conn = connect(url)
    try:
        with conn.transaction():
            yield conn
    except psycopg.OperationalError as exc:
        raise unavailable(url, exc) from exc
    finally:
        conn.close()
