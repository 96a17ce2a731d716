"""Live-refresh benchmark of the case index (issue 16, "the live refresh costs the server
≤ 300 ms CPU per interval"): ``python bench/index_refresh.py [--scale province|district]``.

A live pull makes a new data version, and every version needs the case index
(``data_layer.queries.case_index``) and, for 按考核时间, its assessment order. This times,
in CPU seconds of the whole process (``time.process_time``: every polars thread counts) and
wall seconds, for one pull that brings ``--changed`` cases (80 % open cases moving on — the
newest ones, as on a live feed — and 20 % new ones):

- ``apply``: the live working set taking the rows in (``CaseSet.apply``, what the
  PostgreSQL source does after its query; the query itself is timed by bench/db_bench.py);
- ``index build`` / ``assessment build``: building both from scratch on the new version;
- ``index update`` / ``assessment update``: the same, updated from the previous version's
  (the path a pull takes);
- ``parquet reload``: what the Parquet source pays for a new version (every table read again,
  ``open_dataset(serving=True)``) before it builds the index from scratch.

Two patterns for the new cases: ``append`` (reported after every known case) and ``late``
(reported up to 10 minutes before the newest known case: clocks and queues disagree).
The cases are held in ``case_id`` order, as a whole read of the database gives them. Reads
``bench/data-<scale>`` (symlink or ``python -m data_layer demo --scale province --out
bench/data-province``); nothing is written there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from data_layer.queries import case_index  # noqa: E402
from data_layer.storage.case_set import CaseSet  # noqa: E402
from data_layer.storage.source import Dataset, open_dataset  # noqa: E402

BUDGET_S = 0.300


def timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    value = fn()
    return value, time.process_time() - cpu, time.perf_counter() - wall


def pull_rows(cases: pl.DataFrame, n: int, tick: int, pattern: str) -> pl.DataFrame:
    """``n`` rows of one pull: open cases among the newest closed now, and new cases."""
    newest = cases["reported_at"].max()
    now = newest + dt.timedelta(minutes=1)
    want = n * 4 // 5
    recent = cases.tail(200_000)
    open_ = recent.filter(pl.col("closed_at").is_null())
    moving = open_.sample(min(want, open_.height), seed=tick).with_columns(
        pl.coalesce("handled_at", pl.lit(now)).alias("handled_at"),
        pl.lit(now).alias("closed_at"),
        pl.lit("satisfied").alias("satisfaction"),
        pl.lit(now).alias("updated_at"),
    )
    if moving.height < want:  # too few open cases (a small district): others are reworked
        others = recent.join(moving.select("case_id"), on="case_id", how="anti")
        reworked = others.sample(want - moving.height, seed=tick).with_columns(
            pl.col("rework_count") + 1, pl.lit(now).alias("updated_at")
        )
        moving = pl.concat([moving, reworked])
    k = n - moving.height
    shift = (
        pl.duration(seconds=pl.int_range(0, k))
        if pattern == "append"
        else -pl.duration(seconds=(pl.int_range(0, k) * 7919) % 600)
    )
    new = (
        cases.tail(k)
        .with_columns(
            (pl.lit(f"LIVE{tick:04d}-") + pl.int_range(0, k).cast(pl.String)).alias("case_id"),
            (pl.lit(now if pattern == "append" else newest) + shift).alias("reported_at"),
            *(
                pl.lit(None, dtype=cases.schema[c]).alias(c)
                for c in ("registered_at", "dispatched_at", "handled_at", "verified_at")
            ),
            pl.lit(None, dtype=cases.schema["closed_at"]).alias("closed_at"),
            pl.lit(now).alias("updated_at"),
        )
        .select(cases.columns)
    )
    return pl.concat([moving, new])


def one_pull(current: Dataset, held: CaseSet, rows: pl.DataFrame, pattern: str, figures: dict):
    """Time one pull of ``rows`` into ``held``; the new version and working set."""
    (new, changed), cpu, wall = timed(
        lambda: held.apply(changed=rows, deleted=pl.Series([], dtype=pl.String))
    )
    assert changed == rows.height and new.delta is not None, (changed, new.delta)
    figures.setdefault(f"{pattern}: apply", []).append((cpu, wall))
    tables = {**current.tables, "cases": new.frame}
    scratch = Dataset(tables=tables)
    for name, fn in (
        ("index build", lambda: case_index.build(scratch)),
        ("assessment build", lambda: case_index._build_assessment_order(scratch)),
    ):
        _, cpu, wall = timed(fn)
        figures.setdefault(f"{pattern}: {name}", []).append((cpu, wall))
    following = Dataset(tables=tables, _basis={"memo": current._memo, "cases": new.delta})
    builds = []
    original = case_index.build
    case_index.build = lambda d: builds.append(1) or original(d)
    try:
        _, cpu, wall = timed(lambda: case_index.case_index(following))
    finally:
        case_index.build = original
    assert not builds, "the index was rebuilt, not updated"
    figures.setdefault(f"{pattern}: index + assessment update", []).append((cpu, wall))
    return following, new


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="province")
    parser.add_argument("--changed", type=int, default=1_000)
    parser.add_argument("--ticks", type=int, default=3, help="pulls per pattern")
    args = parser.parse_args()
    data = ROOT / "bench" / f"data-{args.scale}"
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    ds, cpu, wall = timed(lambda: open_dataset(data, serving=True))
    print(
        f"parquet reload     {ds['cases'].height:>11,} cases  cpu {cpu:6.3f} s  wall {wall:6.3f} s"
    )
    del ds
    ds = open_dataset(data)  # the working set holds every column
    held = CaseSet.of(ds["cases"].sort("case_id"))
    tables = {**ds.tables, "cases": held.frame}
    del ds
    current = Dataset(tables=tables)
    _, cpu, wall = timed(lambda: case_index.case_index(current))
    print(f"first index build  cpu {cpu:6.3f} s  wall {wall:6.3f} s")
    case_index.assessment_order(current)
    figures: dict[str, list[tuple[float, float]]] = {}
    for pattern in ("append", "late"):
        for tick in range(args.ticks):
            seed = tick + 100 * (pattern == "late")
            rows = pull_rows(current["cases"], args.changed, seed, pattern)
            current, held = one_pull(current, held, rows, pattern, figures)
    for name, runs in figures.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(
            f"{name:<34} median cpu {cpu * 1000:8.1f} ms  wall {wall * 1000:8.1f} ms  "
            f"runs cpu {', '.join(f'{c * 1000:.0f}' for c, _ in runs)} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
