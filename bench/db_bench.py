"""Live-source benchmark (issue 15, "Speed"): ``python bench/db_bench.py [--first 1000000]
[--working-set 2000000] [--db URL]``.

Starts a private PostgreSQL + PostGIS (``data_layer.storage.pg_local``, fsync on) unless
``--db`` names one, loads the tiny demo district's reference tables and ``--first`` cases
(the demo's cases repeated under new ids), then times:

- ``db load``: COPY of the cases (rows/s);
- the first pull of the working set (``PostgresReader.pull()``, every table): target ≤ 10 s
  for 1,000,000 cases;
- an incremental pull that brings 1,000 changed cases (500 updated, 500 new) into a working set
  of ``--working-set`` cases: target ≤ 300 ms for 10,000,000. Two patterns: the changes hit
  the newest cases (a live system: new reports and open cases moving on) or cases anywhere.

The default working set is 2,000,000, not 10,000,000: loading 10M cases takes several minutes
and ~6 GB here (pass ``--working-set 10000000`` for the target figure). Timings are only
comparable on a quiet machine; the load average at the start is printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import psycopg  # noqa: E402

from data_layer import demo, settings  # noqa: E402
from data_layer.storage import migrate, pg_admin, pg_write  # noqa: E402
from data_layer.storage.pg_conn import transaction  # noqa: E402
from data_layer.storage.pg_local import LocalServerError, local_server  # noqa: E402
from data_layer.storage.postgres import PostgresReader  # noqa: E402

FIRST_TARGET_S = 10.0
INCREMENTAL_TARGET_MS = 300.0
CHANGED = 1_000


def many_cases(base: pl.DataFrame, n: int) -> pl.DataFrame:
    """``n`` cases: copies of the demo's, each copy's ids after the previous copy's, so the key
    order (a whole read's order) is this frame's order and its tail holds the newest cases, as
    with ids that grow with time."""
    copies = -(-n // base.height)
    width = len(str(copies))
    frames = [
        base.with_columns(case_id=f"{i:0{width}d}-" + pl.col("case_id")) for i in range(copies)
    ]
    return pl.concat(frames).head(n)


def load_cases(url: str, cases: pl.DataFrame) -> float:
    started = time.perf_counter()
    with transaction(url) as conn:
        pg_write.writer_lock(conn, wait_s=30)
        pg_write.replace_table(conn, "cases", cases)
    return time.perf_counter() - started


def change(url: str, cases: pl.DataFrame, *, where: str, rng: np.random.Generator) -> None:
    """500 updated and 500 new cases, stamped now (as a live writer does)."""
    half = CHANGED // 2
    if where == "newest":
        picked = cases.tail(half * 4).sample(half, seed=int(rng.integers(1 << 31)))
    else:
        picked = cases.sample(half, seed=int(rng.integers(1 << 31)))
    with psycopg.connect(url) as conn:
        now = conn.execute("SELECT now()").fetchone()[0]
    now = now.astimezone(settings.TIMEZONE).replace(tzinfo=None)
    updated = picked.with_columns(pl.col("rework_count") + 1, updated_at=pl.lit(now))
    stamp = f"{time.time_ns()}"
    new = picked.with_columns(pl.col("case_id") + f"-new{stamp}", updated_at=pl.lit(now))
    with transaction(url) as conn:
        pg_write.upsert(conn, "cases", pl.concat([updated, new]))


def timed_pull(reader: PostgresReader, previous):
    started = time.perf_counter()
    snapshot = reader.pull(previous)
    snapshot.dataset  # noqa: B018 - the Dataset the app serves is part of the refresh
    return snapshot, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=int, default=1_000_000, help="cases for the first load")
    parser.add_argument(
        "--working-set", type=int, default=2_000_000, help="cases for the incremental pulls"
    )
    parser.add_argument("--runs", type=int, default=5, help="incremental pulls per pattern")
    parser.add_argument("--db", help="an existing database (its gridpulse tables are replaced!)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    scratch = Path(tempfile.mkdtemp(prefix="gridpulse-db-bench-"))
    # the server's own folder: its user must be able to enter it (scratch is private to us)
    server_dir = Path(tempfile.mkdtemp(prefix="gridpulse-db-bench-pg-"))
    server = None
    try:
        url = args.db
        if url is None:
            try:
                server = local_server(server_dir)
                server.init()
                server.start()
            except LocalServerError as exc:
                print(f"live-source benchmark skipped: {exc}")
                return 0
            url = server.url()
        migrate.migrate(url)
        demo.generate(out=scratch / "demo", scale="tiny", seed=1, anchor=dt.date(2025, 6, 30))
        pg_admin.load(url, scratch / "demo")
        base = pl.read_parquet(scratch / "demo" / "cases.parquet")
        report(url, base, args)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(server_dir, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def report(url: str, base: pl.DataFrame, args: argparse.Namespace) -> None:
    first = many_cases(base, args.first)
    seconds = load_cases(url, first)
    print(
        f"db load (COPY)   {first.height:>12,} cases  {seconds:7.2f} s  {first.height / seconds:>10,.0f} rows/s"
    )
    reader = PostgresReader(url, lookback=dt.timedelta(0))
    snapshot, seconds = timed_pull(reader, None)
    ok = "ok" if seconds <= FIRST_TARGET_S else "SLOW"
    print(
        f"first load       {snapshot.cases.height:>12,} cases  {seconds:7.2f} s  "
        f"{snapshot.cases.height / seconds:>10,.0f} rows/s  (target ≤ {FIRST_TARGET_S:.0f} s: {ok})"
    )
    if args.working_set != args.first:
        big = many_cases(base, args.working_set)
        load_cases(url, big)
        snapshot, _ = timed_pull(reader, snapshot)
    else:
        big = first
    rng = np.random.default_rng(3)
    for where in ("newest", "anywhere"):
        times = []
        for _ in range(args.runs):
            change(url, big, where=where, rng=rng)
            snapshot, seconds = timed_pull(reader, snapshot)
            assert snapshot.changed_rows == CHANGED, snapshot.changed_rows
            times.append(seconds * 1000)
        median = float(np.median(times))
        ok = "ok" if median <= INCREMENTAL_TARGET_MS else "SLOW"
        print(
            f"refresh {where:<8} {CHANGED:>6,} into {snapshot.cases.height:>12,}  median "
            f"{median:7.1f} ms  {CHANGED / median * 1000:>10,.0f} rows/s  "
            f"(target ≤ {INCREMENTAL_TARGET_MS:.0f} ms: {ok})  runs {', '.join(f'{t:.0f}' for t in times)}"
        )
    reader.close()


if __name__ == "__main__":
    sys.exit(main())
