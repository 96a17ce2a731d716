"""The PostgreSQL source: the live database read into the same ``Dataset`` as the Parquet source.

Reading goes through polars over ADBC (``pl.read_database`` on an ``adbc_driver_postgresql``
connection: Arrow straight from PostgreSQL's binary COPY, docs/live-source.md says why ADBC),
with geometry as WKB (``ST_AsBinary``). Every pull runs in one read-only REPEATABLE READ
transaction, so all tables of one pull come from the same moment.

A first pull reads every table whole. Later pulls (``PostgresReader.pull(previous)``) re-read
a table only when its change counter in ``gridpulse.table_changes`` moved, and bring cases in
incrementally: the rows whose ``updated_at`` is at or after the watermark minus a look-back
(late commits, clock skew), and the ids in ``gridpulse.case_tombstones`` deleted since the
previous pull. A bulk write of cases (``db load``, ``import --db``) bumps the cases counter
instead, which makes the next pull read cases whole.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import polars as pl

from data_layer import settings
from data_layer.domain import schema
from data_layer.storage.case_set import CaseSet
from data_layer.storage.pg_conn import DatabaseUnavailable, check_url, redact
from data_layer.storage.pg_schema import (
    SCHEMA_VERSION,
    TABLE_CHANGES,
    TOMBSTONES,
    select_sql,
)
from data_layer.storage.source import DataError, Dataset

REFERENCE = tuple(t for t in schema.TABLES if t != "cases")
NOT_INITIALISED = (
    "数据库尚未初始化 / the database has no GridPulse schema: run "
    "`python -m data_layer db init --db URL` (and `db load` to fill it)"
)


@dataclass(frozen=True)
class Snapshot:
    """The working set after one pull: what the app serves until the next one."""

    label: str  # the database, password removed
    tables: Mapping[str, pl.DataFrame]  # the eight tables other than cases
    cases: CaseSet
    counters: Mapping[str, int]  # table_changes.counter of each table, as read
    watermark: dt.datetime  # cases: updated_at (naive local time) seen up to
    tomb_watermark: dt.datetime  # tombstones: deleted_at (aware) seen up to
    revision: int  # +1 whenever the data changed
    changed_rows: int  # rows this pull changed (tables re-read count whole)
    stamps: Mapping[str, int]  # per table: when it last changed in this working set (ns)
    # The previous snapshot's Dataset memo and the cases' delta since, handed to this
    # snapshot's Dataset (``Dataset.take_basis``): its case index is updated, not rebuilt.
    basis: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def dataset(self) -> Dataset:
        tables = {t: self.cases.frame if t == "cases" else self.tables[t] for t in schema.TABLES}
        # The shape of the Parquet signature, (table, stamp ns, size): it changes whenever a
        # table does, and the briefing shows the newest stamp as the data version.
        version = tuple((t, self.stamps[t], tables[t].height) for t in schema.TABLES)
        basis = {k: self.basis.pop(k) for k in list(self.basis)}
        return Dataset(tables=tables, version=version, _basis=basis)


# A full read of the cases comes in report order, as the case index keeps them: in key order
# the index would hold a sorted copy of every column (+3.6 GB at 10M cases). The key only
# breaks ties. The other tables come in key order.
CASE_ORDER = ("reported_at", schema.KEYS["cases"])


class PostgresReader:
    """Pulls from one database over one ADBC connection, reopened after any failure."""

    def __init__(self, url: str, *, lookback: dt.timedelta | None = None) -> None:
        self.url = check_url(url)
        self.label = redact(url)
        if lookback is None:
            lookback = dt.timedelta(seconds=settings.live_refresh().lookback_seconds)
        self.lookback = lookback
        self._conn: adbc.Connection | None = None

    def pull(self, previous: Snapshot | None = None) -> Snapshot:
        """A new snapshot: everything (``previous`` None) or what changed since ``previous``.

        Raises
        ------
        DatabaseUnavailable
            The server cannot be reached or the connection broke (worth retrying).
        DataError
            The database has no (or an older) GridPulse schema.
        """
        try:
            with self._read_only() as conn:
                return self._pull(conn, previous)
        except adbc_driver_manager.ProgrammingError as exc:
            self.close()
            raise DataError(f"{NOT_INITIALISED} ({_first_line(exc)})") from exc
        except adbc_driver_manager.Error as exc:
            self.close()
            raise DatabaseUnavailable(
                f"无法读取数据库 / cannot read the database {self.label}: {_first_line(exc)}"
            ) from exc

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(adbc_driver_manager.Error):
                self._conn.close()
            self._conn = None

    # -- one pull ------------------------------------------------------------------------------

    def _pull(self, conn: adbc.Connection, previous: Snapshot | None) -> Snapshot:
        meta = _read(conn, f"SELECT table_name, counter FROM {TABLE_CHANGES}")
        counters = dict(zip(meta["table_name"].to_list(), meta["counter"].to_list(), strict=True))
        now = _read(conn, "SELECT now() AS now")["now"][0]  # the snapshot's moment (aware)
        stamp = time.time_ns()
        tables, stamps, reread = {}, {}, 0
        for table in REFERENCE:
            if previous is not None and previous.counters.get(table) == counters.get(table):
                tables[table], stamps[table] = previous.tables[table], previous.stamps[table]
            else:
                tables[table], stamps[table] = _rows(conn, table).sort(schema.KEYS[table]), stamp
                reread += tables[table].height
        cases, changed, watermark = self._cases(conn, previous, counters, now)
        unchanged = previous is not None and cases is previous.cases
        stamps["cases"] = previous.stamps["cases"] if unchanged else stamp
        changed += reread
        basis = {}
        served = previous.__dict__.get("dataset") if previous is not None else None
        if served is not None and not unchanged and cases.delta is not None:
            # Only when the previous version was served (its index may be built) and the
            # cases came from ``apply`` on its cases.
            basis = {"memo": served._memo, "cases": cases.delta}
        return Snapshot(
            label=self.label,
            tables=tables,
            cases=cases,
            counters=counters,
            watermark=watermark,
            tomb_watermark=now,
            revision=0 if previous is None else previous.revision + (1 if changed else 0),
            changed_rows=changed,
            stamps=stamps,
            basis=basis,
        )

    def _cases(
        self,
        conn: adbc.Connection,
        previous: Snapshot | None,
        counters: Mapping[str, int],
        now: dt.datetime,
    ) -> tuple[CaseSet, int, dt.datetime]:
        """(the cases, how many rows changed, the new watermark): whole when there is no
        previous pull or the cases counter moved, else by watermark and tombstones."""
        now_local = now.astimezone(settings.TIMEZONE).replace(tzinfo=None)
        if previous is None or previous.counters.get("cases") != counters.get("cases"):
            full = _rows(conn, "cases").sort(list(CASE_ORDER), nulls_last=True)
            return CaseSet.of(full), full.height, _cap(full["updated_at"].max(), now_local)
        rows = _rows(
            conn,
            "cases",
            where="updated_at >= $1::timestamp",
            params=[previous.watermark - self.lookback],
        )
        gone = _read(
            conn,
            f"SELECT case_id FROM {TOMBSTONES} WHERE deleted_at >= $1::timestamptz",
            [previous.tomb_watermark - self.lookback],
        )
        cases, changed = previous.cases.apply(changed=rows, deleted=gone["case_id"].cast(pl.String))
        newest = rows["updated_at"].max() if rows.height else None
        return (
            cases,
            changed,
            max(previous.watermark, _cap(newest or previous.watermark, now_local)),
        )

    @contextlib.contextmanager
    def _read_only(self) -> Iterator[adbc.Connection]:
        conn = self._connection()
        cursor = conn.cursor()
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(adbc_driver_manager.Error):
                cursor.execute("ROLLBACK")
            raise
        else:
            cursor.execute("COMMIT")
        finally:
            cursor.close()

    def _connection(self) -> adbc.Connection:
        if self._conn is None:
            conn = adbc.connect(self.url, autocommit=True)
            try:
                _require_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn


def read_dataset(url: str) -> Dataset:
    """Every table of the database, read once (the CLI's ``--db``)."""
    reader = PostgresReader(url)
    try:
        return reader.pull().dataset
    finally:
        reader.close()


def _require_schema(conn: adbc.Connection) -> None:
    from data_layer.storage.migrate import migrations

    found = _read(conn, f"SELECT to_regclass('{SCHEMA_VERSION}') IS NOT NULL AS ok")
    if not found["ok"][0]:
        raise DataError(NOT_INITIALISED)
    have = _read(conn, f"SELECT coalesce(max(version), 0) AS v FROM {SCHEMA_VERSION}")["v"][0]
    want = len(migrations())
    if have < want:
        raise DataError(
            f"数据库结构版本 {have}，需要 {want} / the database schema is at version {have}, "
            f"needs {want}: run `python -m data_layer db init --db URL`"
        )


def _rows(
    conn: adbc.Connection, table: str, *, where: str = "", params: Sequence | None = None
) -> pl.DataFrame:
    """The table's rows (those matching ``where``) in the table's schema."""
    try:
        return schema.conform(table, _read(conn, select_sql(table, where=where), params))
    except (KeyError, pl.exceptions.PolarsError) as exc:  # e.g. a platform view of wrong types
        raise DataError(f"{table} 格式不符 / {table} has the wrong columns: {exc}") from exc


def _read(conn: adbc.Connection, sql: str, parameters: Sequence | None = None) -> pl.DataFrame:
    options = {"parameters": list(parameters)} if parameters is not None else None
    return pl.read_database(sql, connection=conn, execute_options=options)


def _cap(newest: dt.datetime | None, now_local: dt.datetime) -> dt.datetime:
    # A case stamped in the future (a wrong clock upstream) must not carry the watermark past
    # now, or every case updated between now and then would be missed.
    return now_local if newest is None else min(newest, now_local)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
