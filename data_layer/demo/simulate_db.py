"""``simulate --db``: the demo district's live feed, written to the live database.

The same steps as ``simulate`` on a data directory (new cases reported now, open ones moved one
stage on), but only the open cases are read and only the rows that changed are written: one
transaction per tick under the writer lock, each changed row stamped ``updated_at = now``, which
is how the live reader's watermark finds them (docs/live-source.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import polars as pl

from data_layer.demo.simulate import TickResult, advance, new_cases, run_steps
from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.storage import migrate, pg_write
from data_layer.storage.pg_conn import transaction
from data_layer.storage.pg_schema import qualified, select_sql
from data_layer.storage.source import DataError, load_sla_hours

OPEN = "closed_at IS NULL AND (rejected IS NULL OR NOT rejected)"


def tick(
    url: str,
    *,
    per_minute: float,
    interval_s: float,
    rng: np.random.Generator,
    now: dt.datetime | None = None,
) -> TickResult:
    """One step: advance open cases, report new ones, upsert what changed, in one transaction.

    It waits for the writer lock as long as a running import or load holds it (as a tick on a
    data directory does): giving up after one interval ended the live feed behind any import
    longer than that."""
    now = now or now_local()
    with transaction(url) as conn:
        pg_write.writer_lock(conn, wait_s=None)
        # the table's types, not types guessed from the first rows: at province the first
        # hundred open cases may all lack a stage time that a later one has
        open_cases = schema.conform(
            "cases",
            pl.read_database(
                select_sql("cases", where=OPEN),
                conn,
                schema_overrides=dict(schema.TABLES["cases"]),
            ),
        )
        grids = pl.read_database(
            f"SELECT grid_code, households, ST_AsBinary(geometry) AS geometry "
            f"FROM {qualified('grids')} WHERE retired_at IS NULL ORDER BY grid_code",
            conn,
            schema_overrides={
                "grid_code": pl.String,
                "households": pl.Int32,
                "geometry": pl.Binary,
            },
        )
        if grids.is_empty():
            raise DataError("数据库中没有网格 / the database has no grids: run `db load` first")
        advanced, moved = advance(open_cases, now=now, rng=rng, sla_hours=load_sla_hours())
        changed = advanced.join(open_cases, on=list(schema.CASES), how="anti", nulls_equal=True)
        n_new = int(rng.poisson(per_minute * interval_s / 60.0))
        # Simulated ids are AJ<yyyymmdd>9<nnnnn>; continue after today's last one.
        prefix = f"AJ{now:%Y%m%d}9"
        serial = conn.execute(
            f"SELECT count(*) FROM {qualified('cases')} WHERE case_id LIKE %s", (prefix + "%",)
        ).fetchone()[0]
        fresh = new_cases(grids=grids, n=n_new, now=now, rng=rng, serial_start=serial)
        pg_write.upsert(conn, "cases", pl.concat([changed, fresh]))
        total = conn.execute(f"SELECT count(*) FROM {qualified('cases')}").fetchone()[0]
        pg_write.record_write(
            conn, kind="simulate", detail=f"+{n_new} new, {moved} moved on, {total:,} cases"
        )
    return TickResult(at=now, new_cases=n_new, advanced=moved, total=total)


def run(
    url: str,
    *,
    per_minute: float = 6.0,
    interval_s: float = 10.0,
    ticks: int | None = None,
    seed: int | None = None,
    report: Callable[[TickResult], None] | None = None,
) -> int:
    """Run ``ticks`` steps (forever when None), ``interval_s`` apart. Returns steps done."""
    with transaction(url) as conn:  # fail early, with the usual clear message
        migrate.require_current(conn)
    rng = np.random.default_rng(seed)
    return run_steps(
        lambda: tick(url, per_minute=per_minute, interval_s=interval_s, rng=rng),
        interval_s=interval_s,
        ticks=ticks,
        report=report,
    )
