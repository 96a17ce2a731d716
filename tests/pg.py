"""The tests' own PostgreSQL + PostGIS (one server per test session).

``pg_server`` (session): ``initdb`` into a fresh folder under /tmp, a free loopback port, the
unix socket in that folder, fsync off; as root the server runs as ``nobody``
(``data_layer.storage.pg_local``). A template database with PostGIS and the GridPulse schema is
made once; ``pg_url`` gives each test its own copy of it (``CREATE DATABASE … TEMPLATE``), so
tests never see each other's rows.

Missing PostgreSQL binaries or PostGIS skip the tests, or fail them when ``CI=true`` (the same
policy as the browser tests).
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from data_layer.storage import migrate
from data_layer.storage.pg_local import LocalServer, LocalServerError, local_server

TEMPLATE = "gp_template"
_serial = itertools.count()


def _unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where PostgreSQL must be there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalServer]:
    # Not pytest's tmp_path: its folders are private to root, and the server runs as nobody.
    directory = Path(tempfile.mkdtemp(prefix="gridpulse-pg-"))
    try:
        server = local_server(directory)
        server.init()
        server.start(durable=False)
    except LocalServerError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        _unavailable(str(exc))
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{TEMPLATE}" TEMPLATE "gridpulse"')
        migrate.migrate(server.url(TEMPLATE))
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: LocalServer) -> Iterator[str]:
    """The URL of a fresh database with the GridPulse schema and no rows."""
    yield from _fresh_database(pg_server, template=TEMPLATE)


@pytest.fixture
def pg_empty_url(pg_server: LocalServer) -> Iterator[str]:
    """A fresh database with PostGIS but no GridPulse schema (for ``db init``)."""
    yield from _fresh_database(pg_server, template="gridpulse")


def _fresh_database(server: LocalServer, *, template: str) -> Iterator[str]:
    name = f"t{os.getpid()}_{next(_serial)}"
    admin = server.url("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield server.url(name)
    if server.running():  # dropped afterwards (FORCE: a test may leave a reader connected)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
