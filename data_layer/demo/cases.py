"""Demo cases (案事件): how many per day, category and source, who reported them, where and what.

Cases are generated fully vectorised with numpy, day by day in chunks of whole days; large
scales stream ``cases.parquet`` through a pyarrow ``ParquetWriter`` (one row group per chunk)
into a temporary file that is renamed over the old one, like ``source.write_tables`` does.
Every event time is at or before ``end`` (the last second of the anchor day); events that would
happen later are null, so the data looks like a live system read at the end of that day.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from data_layer.demo.case_life import life_cycle, satisfaction, seen_at, updated_at
from data_layer.demo.case_model import (
    CAT,
    CAT_SHARE,
    HOURS,
    ROAD_SHARE,
    SEASON,
    SRC,
    SRC_GIVEN_CAT,
    TEMPLATES,
    WEEKDAY,
)
from data_layer.demo.draws import cdf_pick
from data_layer.demo.geometry import Triangles, points_in, triangulate
from data_layer.demo.names import person_names, phones
from data_layer.demo.reference import City
from data_layer.demo.timeline import HOUR, dt_series, epoch, holiday_factor, season
from data_layer.domain import schema
from data_layer.storage.source import table_path, write_tables

_ROW_GROUP = 250_000  # rows per Parquet row group when cases are streamed in chunks


def case_cells(*, total: int, days: list[dt.date], seed: int) -> np.ndarray:
    """Poisson case counts per (day, category, source), about ``total`` in all."""
    rng = np.random.default_rng([seed, 3])
    nd = len(days)
    seasonal = season(days, SEASON)  # (cat, day)
    dow = np.array([d.weekday() for d in days])
    weekday = WEEKDAY[:, dow]  # (src, day)
    holiday = holiday_factor(days)
    trend = np.linspace(0.9, 1.1, nd)
    share = CAT_SHARE[:, None] * SRC_GIVEN_CAT  # (cat, src)
    w = (
        share[None, :, :]
        * seasonal.T[:, :, None]
        * weekday.T[:, None, :]
        * (holiday * trend)[:, None, None]
    )
    lam = total * w / w.sum()
    return rng.poisson(lam)  # (day, cat, src)


def write_cases(
    out: Path,
    *,
    city: City,
    days: list[dt.date],
    cells: np.ndarray,
    seed: int,
    sla_s: np.ndarray,
    end: int,
    chunk_cases: int,
    report: Callable[[str, float], None],
) -> int:
    """Generate the cases of ``cells`` in chunks of whole days and write ``cases.parquet``.

    Each chunk has its own random stream, so a chunk's cases do not depend on the chunk size
    of the ones before it. Returns the number of rows written.
    """
    day_starts = np.array([epoch(d) for d in days], dtype=np.int64)
    per_day = cells.sum(axis=(1, 2))
    total = int(per_day.sum())
    bounds = _chunk_bounds(per_day, chunk_cases)
    n_chunks = len(bounds) - 1
    tri = triangulate(city.grid_geoms)
    flat_counts = cells.reshape(-1)
    n_cs = cells.shape[1] * cells.shape[2]

    def chunk(k: int) -> pl.DataFrame:
        lo, hi = bounds[k], bounds[k + 1]
        cell_idx = np.repeat(np.arange(lo * n_cs, hi * n_cs), flat_counts[lo * n_cs : hi * n_cs])
        d, rest = np.divmod(cell_idx, n_cs)
        c, s = np.divmod(rest, cells.shape[2])
        return _cases_chunk(
            city,
            tri,
            np.random.default_rng([seed, 100, k]),
            day_starts=day_starts,
            day_dates=days,
            day=d,
            cat=c,
            src=s,
            sla_s=sla_s,
            end=end,
        )

    if n_chunks == 1:
        report("生成案事件 / cases", 0.2)
        cases = chunk(0)
        write_tables(out, {"cases": cases})
        return cases.height
    return _stream_chunks(out, chunk=chunk, n_chunks=n_chunks, total=total, report=report)


def _chunk_bounds(per_day: np.ndarray, chunk_cases: int) -> list[int]:
    """Day indices that cut the days into chunks of about ``chunk_cases`` cases each."""
    bounds = [0]
    acc = 0
    for i, c in enumerate(per_day):
        acc += int(c)
        if acc >= chunk_cases and i + 1 < len(per_day):
            bounds.append(i + 1)
            acc = 0
    bounds.append(len(per_day))
    return bounds


def _stream_chunks(
    out: Path,
    *,
    chunk: Callable[[int], pl.DataFrame],
    n_chunks: int,
    total: int,
    report: Callable[[str, float], None],
) -> int:
    """Write the chunks one row group each into a temporary file, then rename it over
    ``cases.parquet``: only one chunk is in memory at a time."""
    import pyarrow.parquet as pq

    final = table_path(out, "cases")
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    writer = None
    done = 0
    try:
        for k in range(n_chunks):
            report(f"生成案事件 / cases {k + 1}/{n_chunks}", 0.2 + 0.72 * done / max(total, 1))
            frame = chunk(k)
            table = frame.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
            else:
                table = table.cast(writer.schema)
            writer.write_table(table, row_group_size=_ROW_GROUP)
            done += frame.height
            del frame, table
        writer.close()
        writer = None
        os.replace(tmp, final)
        report("写入案事件 / cases written", 0.92)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    return done


def _cases_chunk(
    city: City,
    tri: Triangles,
    rng: np.random.Generator,
    *,
    day_starts: np.ndarray,
    day_dates: list[dt.date],
    day: np.ndarray,
    cat: np.ndarray,
    src: np.ndarray,
    sla_s: np.ndarray,
    end: int,
) -> pl.DataFrame:
    """The cases of one chunk of days; ``day``/``cat``/``src`` give one entry per case."""
    n = day.size
    if n == 0:
        return schema.empty("cases")
    day, cat, src, reported = _reported(rng, day_starts=day_starts, day=day, cat=cat, src=src)
    g = rng.choice(city.grid_weight.size, n, p=city.grid_weight)
    life = life_cycle(city, rng, g=g, cat=cat, src=src, reported=reported, sla=sla_s[cat])
    seen = seen_at(life, end=end)
    rating, rated = satisfaction(rng, life=life, seen=seen, src=src)
    names, phone_numbers = _reporters(city, rng, g=g, src=src)
    desc = _descriptions(city, rng, g=g, cat=cat)
    lon, lat = points_in(tri, g, rng)
    frame = pl.DataFrame(
        [
            _case_ids(day, day_dates=day_dates),
            city.grids["grid_code"].gather(pl.Series(g)).alias("grid_code"),
            pl.Series("category", np.array(CAT)[cat]),
            pl.Series("source", np.array(SRC)[src]),
            dt_series("reported_at", life.reported),
            dt_series("registered_at", life.registered, seen.reg_ok),
            pl.Series("rejected", life.rejected),
            dt_series("dispatched_at", life.dispatched, seen.disp_ok),
            pl.Series("handling_unit", city.units.names)
            .gather(pl.Series(life.unit))
            .alias("handling_unit"),
            dt_series("handled_at", seen.handled, seen.handled_ok),
            dt_series("verified_at", life.verified, seen.ver_ok),
            dt_series("closed_at", life.closed, seen.closed_ok),
            dt_series("due_at", life.due, seen.live),
            pl.Series("postponed", life.postponed & seen.live),
            pl.Series("rework_count", seen.rework.astype(np.int32)),
            pl.Series("satisfaction", np.array(schema.SATISFACTION)[rating]),
            pl.Series("lon", lon),
            pl.Series("lat", lat),
            names.alias("reporter_name"),
            phone_numbers.alias("reporter_phone"),
            desc.alias("description"),
            dt_series("updated_at", updated_at(life, seen)),
        ]
    )
    frame = frame.with_columns(
        pl.when(pl.Series(seen.live))
        .then(pl.col("handling_unit"))
        .otherwise(None)
        .alias("handling_unit"),
        pl.when(pl.Series(rated))
        .then(pl.col("satisfaction"))
        .otherwise(None)
        .alias("satisfaction"),
        # not registered yet at the end of the anchor day: the decision is still open (null)
        pl.when(pl.Series(seen.reg_ok)).then(pl.col("rejected")).otherwise(None).alias("rejected"),
    )
    return schema.conform("cases", frame)


def _reported(
    rng: np.random.Generator,
    *,
    day_starts: np.ndarray,
    day: np.ndarray,
    cat: np.ndarray,
    src: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Report times by the source's hours of the day; the cases sorted by them."""
    n = day.size
    hour = cdf_pick(rng.random(n), HOURS, src)
    reported = day_starts[day] + hour * HOUR + rng.integers(0, HOUR, n)
    order = np.lexsort((rng.random(n), reported))
    return day[order], cat[order], src[order], reported[order]


def _case_ids(day: np.ndarray, *, day_dates: list[dt.date]) -> pl.Series:
    """AJ + report date + a six-digit number per day, from 1 (the cases are sorted)."""
    seq = np.arange(day.size) - np.searchsorted(day, day, side="left") + 1
    day_str = pl.Series([d.strftime("%Y%m%d") for d in day_dates]).gather(day)
    case_id = pl.lit("AJ") + day_str + pl.Series(seq).cast(pl.String).str.zfill(6)
    return pl.select(case_id.alias("case_id")).to_series()


def _reporters(
    city: City, rng: np.random.Generator, *, g: np.ndarray, src: np.ndarray
) -> tuple[pl.Series, pl.Series]:
    """Reporter name and phone; a grid worker's cases carry the grid's worker."""
    n = g.size
    gw = src == 0
    names = person_names(rng, n)
    phone_numbers = phones(rng, n)
    g_s = pl.Series(g)
    names = pl.select(
        pl.when(pl.Series(gw)).then(city.grid_worker_name.gather(g_s)).otherwise(names)
    ).to_series()
    phone_numbers = pl.select(
        pl.when(pl.Series(gw)).then(city.grid_worker_phone.gather(g_s)).otherwise(phone_numbers)
    ).to_series()
    return names, phone_numbers


def _descriptions(
    city: City, rng: np.random.Generator, *, g: np.ndarray, cat: np.ndarray
) -> pl.Series:
    """Place (a road near the grid, its facility or one of its compounds, maybe a building)
    followed by a template text of the category."""
    n = g.size
    t_idx = np.zeros(n, dtype=np.int64)
    t_flat: list[tuple[bool, str]] = []
    for ci, c in enumerate(CAT):
        tmpl = TEMPLATES[c]
        m = cat == ci
        t_idx[m] = len(t_flat) + rng.integers(0, len(tmpl), int(m.sum()))
        t_flat += tmpl
    t_uses_b = np.array([b for b, _ in t_flat])[t_idx]
    t_text = pl.Series([s for _, s in t_flat]).gather(t_idx)
    road = (rng.random(n) < ROAD_SHARE[cat]) | (
        (city.grid_place_kind[g] == 0) & (city.compound_count[g] == 0)
    )
    ded = city.grid_place_kind[g] == 1
    cp_idx = city.compound_offset[g] + (
        rng.random(n) * np.maximum(city.compound_count[g], 1)
    ).astype(np.int64)
    cp_idx = np.minimum(cp_idx, max(city.compounds.height - 1, 0))
    cp_name = (
        city.compounds["name"].gather(cp_idx) if city.compounds.height else pl.Series([""] * n)
    )
    building = pl.Series(rng.integers(1, 31, n)).cast(pl.String) + "栋"
    g_s = pl.Series(g)
    return (
        pl.DataFrame(
            {
                "road": road,
                "ded": ded,
                "b": t_uses_b,
                "road_name": city.grid_road.gather(g_s),
                "fac": city.grid_facility.gather(g_s),
                "cp": cp_name,
                "bld": building,
                "text": t_text,
            }
        )
        .select(
            pl.concat_str(
                [
                    pl.when(pl.col("road"))
                    .then(pl.col("road_name") + "附近")
                    .when(pl.col("ded"))
                    .then(pl.col("fac"))
                    .otherwise(pl.col("cp")),
                    pl.when(pl.col("b") & ~pl.col("road"))
                    .then(pl.col("bld"))
                    .otherwise(pl.lit("")),
                    pl.col("text"),
                ]
            )
        )
        .to_series()
    )
