"""Re-division (网格调整): ``import --boundaries F --level L --replace``.

The file is the new division of the parents it covers (the communities of a grid file, the
streets of a community file, the districts of a street file): areas of level ``L`` under those
parents that the file no longer has are *retired* (``retired_at`` = the import time), never
deleted, and so are their own children; areas the file adds there come into the division at the
import time (``valid_from``). Areas under parents the file does not cover are left alone, so a
district can send only the communities it re-divided (docs/import.md says why).

Cases of a retired grid are moved to the current grid holding their point (lon/lat, WGS 84)
where they have one; the others stay under the retired grid, which still counts in its
community. Each move is a row of ``case_moves``, so figures as of a time before the re-division
put the case under the grid it was in then (``queries.figures.grid_at``). No case is lost.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_layer.domain import labels, schema
from data_layer.domain.areas import DISTRICT_DIGITS, KEY, LEVELS, PARENT, TABLE, code_of
from data_layer.ingest.reference import Reference
from data_layer.ingest.report import FULL_REPORT_COLUMNS, message

CHILD = {PARENT[lv]: lv for lv in LEVELS if PARENT[lv]}  # street → community → grid
NOTE = "note"  # report severity of what a re-division did (not a problem)


@dataclass
class Redivision:
    """What a --replace import retired and added, per level."""

    retired: dict[str, list[str]] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)

    @property
    def retired_grids(self) -> list[str]:
        return self.retired.get("grid", [])


def _scope_of(code: str, *, level: str) -> str:
    """The parent a code's level is re-divided within (a street: its district)."""
    parent = PARENT[level]
    return code_of(code, level=parent) if parent else code[:DISTRICT_DIGITS]


def apply_replace(
    before: dict[str, pl.DataFrame],
    after: dict[str, pl.DataFrame],
    *,
    level: str,
    file_codes: list[str],
    now: dt.datetime,
) -> tuple[dict[str, pl.DataFrame], Redivision]:
    """``after`` (the tables with the file merged) with the level's areas the file no longer has
    retired, within the parents the file covers, and their children with them; the file's new
    areas there get ``valid_from`` = ``now``."""
    table, key = TABLE[level], KEY[level]
    old = before[table]
    covered = {_scope_of(c, level=level) for c in file_codes}
    in_file = set(file_codes)
    old_current = old.filter(pl.col("retired_at").is_null())
    old_codes = set(old[key].to_list())
    divided = {_scope_of(c, level=level) for c in old_current[key].to_list()}  # had a division
    gone = sorted(
        c
        for c in old_current[key].to_list()
        if c not in in_file and _scope_of(c, level=level) in covered
    )
    added = sorted(c for c in in_file - old_codes if _scope_of(c, level=level) in divided)
    tables = dict(after)
    t = pl.lit(now, dtype=schema.Datetime)
    tables[table] = tables[table].with_columns(
        pl.when(pl.col(key).is_in(gone))
        .then(t)
        .when(pl.col(key).is_in(sorted(in_file)))
        .then(None)  # an area the file names is current (a retired one comes back)
        .otherwise(pl.col("retired_at"))
        .alias("retired_at"),
        pl.when(pl.col(key).is_in(added))
        .then(t)
        .otherwise(pl.col("valid_from"))
        .alias("valid_from"),
    )
    result = Redivision(retired={level: gone}, added=added)
    parents, lv = gone, level
    while lv in CHILD and parents:  # a retired community takes its current grids with it
        lv = CHILD[lv]
        ctable, ckey, pkey = TABLE[lv], KEY[lv], KEY[PARENT[lv]]
        frame = tables[ctable]
        hit = pl.col(pkey).is_in(parents) & pl.col("retired_at").is_null()
        parents = sorted(frame.filter(hit)[ckey].to_list())
        tables[ctable] = frame.with_columns(
            pl.when(hit).then(t).otherwise(pl.col("retired_at")).alias("retired_at")
        )
        result.retired[lv] = parents
    return {n: schema.conform(n, f) for n, f in tables.items()}, result


def current_only(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The reference tables without retired areas (what the boundary checks look at)."""
    return {
        name: frame.filter(pl.col("retired_at").is_null())
        if "retired_at" in frame.columns
        else frame
        for name, frame in tables.items()
    }


# --------------------------------------------------------------------------------------------
# cases of retired grids
# --------------------------------------------------------------------------------------------


@dataclass
class Moves:
    """The cases of the retired grids: moved (``moves`` rows of ``case_moves``) or kept."""

    moves: pl.DataFrame
    kept: pl.DataFrame  # case_id, grid_code, why ("no_point" | "outside_grids")

    def report(self) -> pl.DataFrame:
        """One note row per case (row = null: cases are not features of the file)."""
        rows = [
            {
                "row": None,
                "column": "grid_code",
                "field": "case_id",
                "value": r["case_id"],
                "reason": "case_reassigned",
                "message": f"{message('case_reassigned')}: {r['from_grid_code']} → {r['to_grid_code']}",
                "severity": NOTE,
            }
            for r in self.moves.iter_rows(named=True)
        ] + [
            {
                "row": None,
                "column": "grid_code",
                "field": "case_id",
                "value": r["case_id"],
                "reason": "case_kept",
                "message": f"{message('case_kept')}: {_why(r['grid_code'], r['why'])}",
                "severity": NOTE,
            }
            for r in self.kept.iter_rows(named=True)
        ]
        return pl.DataFrame(rows, schema=FULL_REPORT_COLUMNS)


def plan_moves(
    cases: pl.DataFrame, tables: dict[str, pl.DataFrame], *, retired: list[str], now: dt.datetime
) -> Moves:
    """Where each case of a ``retired`` grid goes: the current grid whose boundary holds its
    point (as an imported case is located: the lowest code on a shared edge), or nowhere
    (kept: no point, or in no current grid)."""
    mine = cases.filter(pl.col("grid_code").is_in(retired)).select(
        "case_id", "grid_code", "lon", "lat"
    )
    has_point = pl.col("lon").is_not_null() & pl.col("lat").is_not_null()
    located = mine.filter(has_point)
    to = Reference.from_tables(tables).locate(located["lon"].to_numpy(), located["lat"].to_numpy())
    located = located.with_columns(pl.Series("to_grid_code", to, dtype=pl.String))
    moved = located.filter(pl.col("to_grid_code").is_not_null())
    stamp = now.isoformat(timespec="seconds")
    moves = moved.select(
        (pl.col("case_id") + f"@{stamp}").alias("move_id"),
        "case_id",
        pl.col("grid_code").alias("from_grid_code"),
        "to_grid_code",
        pl.lit(now, dtype=schema.Datetime).alias("moved_at"),
    ).sort("case_id")
    kept = pl.concat(
        [
            mine.filter(~has_point).select("case_id", "grid_code", why=pl.lit("no_point")),
            located.filter(pl.col("to_grid_code").is_null()).select(
                "case_id", "grid_code", why=pl.lit("outside_grids")
            ),
        ]
    ).sort("case_id")
    return Moves(moves=schema.conform("case_moves", moves), kept=kept)


def write_moved_cases(cases_file: Path, moves: pl.DataFrame) -> None:
    """Rewrite the cases table with the moved cases under their new grid (nothing else
    changes: same rows, same columns); atomically, as the file may be the one being read."""
    target = moves.select("case_id", pl.col("to_grid_code").alias("_to"))
    tmp = cases_file.with_name(f".{cases_file.name}.moved-{os.getpid()}")
    (
        pl.scan_parquet(cases_file)
        .join(target.lazy(), on="case_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce("_to", "grid_code").alias("grid_code"))
        .drop("_to")
        .sink_parquet(tmp, compression="zstd", statistics=True)
    )
    os.replace(tmp, cases_file)


def _why(grid: str, why: str) -> str:
    """ "G（没有坐标）/ G (no coordinates)": one slash between the languages (report.localise)."""
    zh, en = (labels.code_label("reason", why, lang=lang) for lang in ("zh", "en"))
    return f"{grid}（{zh}）/ {grid} ({en})"
