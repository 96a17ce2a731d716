"""A live feed for the demo district: new cases arrive, open ones move through the loop.

``python -m data_layer simulate --data DIR`` writes a new version of the cases every few
seconds (``storage.versions``), so the live map can be watched — and tested — on the demo
data. Each tick reads the current cases and commits the changed copy under the one writer
lock, so an import committed while the simulator runs is never overwritten; a simulated demo
directory stays a demo one (its marker is kept), an imported one stays imported. New cases are reported "now" (local time) in a random grid, at a point inside it; open
cases advance one stage of 上报 → 立案 → 派遣 → 处置 → 核查 → 结案 with a small chance per tick.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import shapely

from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.storage import versions
from data_layer.storage.source import load_sla_hours, open_dataset, table_path

# Chance per tick that an open case moves to its next stage.
ADVANCE_P = 0.15
CATEGORY_SHARE = {
    "dispute": 0.05,
    "safety_hazard": 0.13,
    "environment": 0.28,
    "property": 0.16,
    "municipal": 0.15,
    "livelihood": 0.14,
    "other": 0.09,
}
SOURCE_SHARE = {
    "grid_worker": 0.55,
    "hotline_12345": 0.25,
    "resident_order": 0.1,
    "micro_wish": 0.04,
    "party_member": 0.06,
}
UNITS = ["区城管局", "区住建局", "区市场监管局", "区生态环境分局", "区应急管理局", "物业公司"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙胡朱高林何郭罗")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英")
DESCRIPTIONS = {
    "dispute": "邻里因噪音问题发生纠纷，需调解",
    "safety_hazard": "楼道堆放杂物，存在消防安全隐患",
    "environment": "小区垃圾未及时清运，影响环境卫生",
    "property": "电梯故障停运，物业未及时维修",
    "municipal": "路灯损坏，夜间照明不足",
    "livelihood": "独居老人需要上门送餐服务",
    "other": "居民反映其他问题，需核实处理",
}


@dataclass
class TickResult:
    at: dt.datetime
    new_cases: int
    advanced: int
    total: int


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> list[str]:
    keys = list(shares)
    p = np.array([shares[k] for k in keys], dtype=float)
    return list(rng.choice(keys, size=n, p=p / p.sum()))


def _point_in(poly, rng: np.random.Generator) -> tuple[float, float]:
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(200):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            return float(x), float(y)
    point = poly.representative_point()
    return point.x, point.y


def new_cases(
    *, grids: pl.DataFrame, n: int, now: dt.datetime, rng: np.random.Generator, serial_start: int
) -> pl.DataFrame:
    """``n`` freshly reported cases (not yet registered: deadlines are set at 立案) in random grids."""
    if n == 0:
        return schema.empty("cases")
    picked = rng.choice(
        grids.height,
        size=n,
        p=(grids["households"].cast(pl.Float64) / grids["households"].sum()).to_numpy(),
    )
    geoms = shapely.from_wkb(grids["geometry"].to_numpy()[picked])
    categories = _pick(rng, CATEGORY_SHARE, n)
    points = [_point_in(g, rng) for g in geoms]
    rows = {
        "case_id": [f"AJ{now:%Y%m%d}9{serial_start + i:05d}" for i in range(n)],
        "grid_code": grids["grid_code"].to_numpy()[picked].tolist(),
        "category": categories,
        "source": _pick(rng, SOURCE_SHARE, n),
        "reported_at": [now] * n,
        "registered_at": [None] * n,
        "rejected": [None] * n,
        "dispatched_at": [None] * n,
        "handling_unit": [None] * n,
        "handled_at": [None] * n,
        "verified_at": [None] * n,
        "closed_at": [None] * n,
        "due_at": [None] * n,
        "postponed": [False] * n,
        "rework_count": [0] * n,
        "satisfaction": [None] * n,
        "lon": [p[0] for p in points],
        "lat": [p[1] for p in points],
        "reporter_name": [
            rng.choice(SURNAMES) + "".join(rng.choice(GIVEN, size=rng.integers(1, 3)))
            for _ in range(n)
        ],
        "reporter_phone": [
            f"1{rng.choice(['38', '39', '58', '59', '86', '87'])}{rng.integers(0, 10**8):08d}"
            for _ in range(n)
        ],
        "description": [DESCRIPTIONS[c] for c in categories],
        "updated_at": [now] * n,
    }
    return pl.DataFrame(rows, schema=schema.CASES)


def advance(
    cases: pl.DataFrame, *, now: dt.datetime, rng: np.random.Generator, sla_hours: dict[str, int]
) -> tuple[pl.DataFrame, int]:
    """Move a random share of open cases exactly one stage on; returns the frame and the count.

    All conditions read the frame as it was before the tick, so no case skips a stage.
    """
    c = pl.col
    undecided = c("rejected").is_null()
    open_case = c("closed_at").is_null() & (undecided | (c("rejected") == False))  # noqa: E712
    frame = cases.with_columns(
        pl.Series("_roll", rng.random(cases.height)),
        pl.Series("_roll2", rng.random(cases.height)),
        pl.Series("_unit", rng.choice(UNITS, size=cases.height)),
        pl.Series(
            "_rating",
            rng.choice(
                ["satisfied", "satisfied", "satisfied", "basic", "dissatisfied"], size=cases.height
            ),
        ),
    )
    moving = open_case & (c("_roll") < ADVANCE_P) & (c("reported_at") <= now)
    frame = frame.with_columns(moving.alias("_m"))
    m, now_lit = c("_m"), pl.lit(now, dtype=schema.Datetime)
    deadline = now_lit + pl.duration(
        hours=c("category").replace_strict(sla_hours, default=168, return_dtype=pl.Int64)
    )
    decide = m & undecided
    reject = decide & (c("_roll2") < 0.03)
    dispatch = m & (c("rejected") == False) & c("dispatched_at").is_null()  # noqa: E712
    handle = m & c("dispatched_at").is_not_null() & c("handled_at").is_null()
    verify = m & c("handled_at").is_not_null() & c("verified_at").is_null()
    close = m & c("verified_at").is_not_null() & c("closed_at").is_null()

    def stamp(when: pl.Expr, column: str, value: pl.Expr) -> pl.Expr:
        return pl.when(when).then(value).otherwise(c(column)).alias(column)

    frame = frame.with_columns(
        stamp(decide, "rejected", reject),
        stamp(decide, "registered_at", now_lit),
        stamp(decide & ~reject, "due_at", deadline),
        stamp(dispatch, "dispatched_at", now_lit),
        stamp(dispatch, "handling_unit", c("_unit")),
        stamp(handle, "handled_at", now_lit),
        stamp(verify, "verified_at", now_lit),
        stamp(close, "closed_at", now_lit),
        stamp(close & (c("_roll2") < 0.8), "satisfaction", c("_rating")),
        stamp(m, "updated_at", now_lit),
    )
    moved = int(frame["_m"].sum())
    return frame.drop("_roll", "_roll2", "_unit", "_rating", "_m"), moved


def tick(
    data_dir: Path,
    *,
    per_minute: float,
    interval_s: float,
    rng: np.random.Generator,
    now: dt.datetime | None = None,
) -> TickResult:
    """One simulation step: read the current cases, add new ones, advance open ones, and
    commit them as a new version — all under the writer lock (it waits for a running import,
    then builds on the version that import made)."""
    now = now or now_local()
    sla = load_sla_hours()
    with versions.staging(data_dir, wait_s=None) as stage:
        cases = pl.read_parquet(table_path(stage.previous, "cases"))
        grids = (  # new cases arrive in the current division only
            schema.conform("grids", pl.read_parquet(table_path(stage.previous, "grids")))
            .filter(pl.col("retired_at").is_null())
            .select("grid_code", "households", "geometry")
        )
        cases, moved = advance(schema.conform("cases", cases), now=now, rng=rng, sla_hours=sla)
        n_new = int(rng.poisson(per_minute * interval_s / 60.0))
        # Simulated ids are AJ<yyyymmdd>9<nnnnn>; continue after today's last one (unique ids).
        prefix = f"AJ{now:%Y%m%d}9"
        serial = cases.filter(pl.col("case_id").str.starts_with(prefix)).height
        fresh = new_cases(grids=grids, n=n_new, now=now, rng=rng, serial_start=serial)
        cases = pl.concat([cases, fresh], how="vertical")
        schema.conform("cases", cases).write_parquet(
            stage.table_file("cases"), compression="zstd", statistics=True
        )
        stage.commit(
            {"at": now.isoformat(), "by": "simulate", "new_cases": n_new, "advanced": moved},
            keep_demo=True,
        )
    return TickResult(at=now, new_cases=n_new, advanced=moved, total=cases.height)


def run(
    data_dir: Path,
    *,
    per_minute: float = 6.0,
    interval_s: float = 10.0,
    ticks: int | None = None,
    seed: int | None = None,
    report: Callable[[TickResult], None] | None = None,
) -> int:
    """Run ``ticks`` steps (forever when None), ``interval_s`` apart. Returns steps done."""
    open_dataset(data_dir)  # fail early, with the usual clear message, on a bad directory
    rng = np.random.default_rng(seed)
    return run_steps(
        lambda: tick(data_dir, per_minute=per_minute, interval_s=interval_s, rng=rng),
        interval_s=interval_s,
        ticks=ticks,
        report=report,
    )


def run_steps(
    step: Callable[[], TickResult],
    *,
    interval_s: float,
    ticks: int | None,
    report: Callable[[TickResult], None] | None,
) -> int:
    """Call ``step`` ``ticks`` times (forever when None), ``interval_s`` apart; the loop of
    both simulators (data directory and database). Returns steps done."""
    done = 0
    while ticks is None or done < ticks:
        started = time.monotonic()
        result = step()
        done += 1
        if report:
            report(result)
        if ticks is not None and done >= ticks:
            break
        time.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    return done
