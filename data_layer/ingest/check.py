"""Validation of a data directory: schema, keys, references, codes, values, geometry.

``check_dataset`` returns every problem found (it does not stop at the first), each with a
message that names the table, the column and example keys, so a data clerk can fix the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_layer.domain import schema
from data_layer.domain.areas import DIGITS, KEY, LEVELS, PARENT, TABLE
from data_layer.storage.source import Dataset

# (child table, column, parent table, parent key, nullable)
REFERENCES = [
    ("communities", "street_code", "streets", "street_code", False),
    ("grids", "community_code", "communities", "community_code", False),
    ("compounds", "grid_code", "grids", "grid_code", False),
    ("cases", "grid_code", "grids", "grid_code", False),
    ("volunteer_teams", "community_code", "communities", "community_code", False),
    ("activities", "team_id", "volunteer_teams", "team_id", True),
    ("activities", "community_code", "communities", "community_code", False),
    ("activities", "grid_code", "grids", "grid_code", True),
    ("party_reports", "community_code", "communities", "community_code", False),
    ("wishes", "community_code", "communities", "community_code", False),
]

DOMAINS = [
    ("grids", "kind", schema.GRID_KINDS),
    ("grids", "party_org", schema.PARTY_ORGS),
    ("compounds", "property_mode", schema.PROPERTY_MODES),
    ("cases", "satisfaction", schema.SATISFACTION),
    ("cases", "category", schema.CATEGORIES),
    ("cases", "source", schema.SOURCES),
]

# (table, earlier column, later column): the loop runs forward; the importer rejects a row
# that breaks one of these (``case_rules.time_order``)
TIME_ORDER = [
    ("cases", "reported_at", "registered_at"),
    ("cases", "registered_at", "dispatched_at"),
    ("cases", "dispatched_at", "handled_at"),
    ("cases", "reported_at", "closed_at"),
    ("wishes", "created_at", "claimed_at"),
    ("wishes", "claimed_at", "fulfilled_at"),
]
# (table, earlier column, later column): inconsistent, but the row is still usable — the
# importer keeps it with a warning (``case_rules.time_warnings``), ``check`` lists it
TIME_WARNINGS = [
    ("cases", "reported_at", "updated_at"),  # updated before it was created
    ("cases", "closed_at", "updated_at"),  # updated before it was closed
    ("cases", "handled_at", "verified_at"),  # verified before it was handled
    ("cases", "verified_at", "closed_at"),  # closed before it was verified
]


def out_of_order(earlier: str, later: str) -> pl.Expr:
    """True where ``later`` lies before ``earlier`` (null where either is missing): the rule
    of ``TIME_ORDER`` and ``TIME_WARNINGS``, for a stored table and an import batch alike."""
    return pl.col(later) < pl.col(earlier)


@dataclass(frozen=True)
class Problem:
    table: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}: {self.message}"


def _examples(values: list, limit: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" … (+{len(values) - limit})" if len(values) > limit else "")


def check_dataset(ds: Dataset, *, geometry: bool = True) -> list[Problem]:
    """All problems of a dataset whose files already match the schema (``open_dataset``)."""
    problems: list[Problem] = []
    for table, key in schema.KEYS.items():
        frame = ds[table]
        nulls = frame[key].null_count()
        if nulls:
            problems.append(Problem(table, key, f"{nulls} 行缺少主键 / rows without a key"))
        dupes = frame.filter(pl.col(key).is_duplicated())[key].unique().sort().to_list()
        if dupes:
            problems.append(Problem(table, key, f"主键重复 / duplicate keys: {_examples(dupes)}"))

    for child, column, parent, parent_key, nullable in REFERENCES:
        values = ds[child][column]
        if not nullable and values.null_count():
            problems.append(Problem(child, column, f"{values.null_count()} 行为空 / empty values"))
        unknown = (
            ds[child]
            .filter(
                pl.col(column).is_not_null()
                & ~pl.col(column).is_in(ds[parent][parent_key].implode())
            )[column]
            .unique()
            .sort()
            .to_list()
        )
        if unknown:
            problems.append(
                Problem(
                    child,
                    column,
                    f"{len(unknown)} 个编码在 {parent} 中不存在 / unknown codes: {_examples(unknown)}",
                )
            )

    problems += _check_codes(ds)
    for table, column, allowed in DOMAINS:
        bad = ds[table].filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(list(allowed)))[
            column
        ]
        if bad.len():
            problems.append(
                Problem(
                    table,
                    column,
                    f"未知取值 / unknown values {_examples(bad.unique().sort().to_list())}; 允许 / allowed: {', '.join(allowed)}",
                )
            )
    for table, earlier, later in TIME_ORDER + TIME_WARNINGS:
        key = schema.KEYS[table]
        bad = ds[table].filter(out_of_order(earlier, later))[key].to_list()
        if bad:
            problems.append(
                Problem(
                    table,
                    later,
                    f"早于 {earlier} / before {earlier}: {len(bad)} 行, e.g. {_examples(bad)}",
                )
            )

    if geometry:
        problems += _check_geometry(ds)
    return problems


def _check_codes(ds: Dataset) -> list[Problem]:
    """Code lengths and nesting: street 9 digits, community 12 = street + 3, grid = community + 3."""
    problems = []
    rules = [
        (TABLE[level], KEY[level], DIGITS[level], KEY[PARENT[level]] if PARENT[level] else None)
        for level in LEVELS
    ]
    for table, column, length, parent in rules:
        frame = ds[table]
        bad_format = frame.filter(~pl.col(column).str.contains(rf"^\d{{{length}}}$"))[
            column
        ].to_list()
        if bad_format:
            problems.append(
                Problem(
                    table,
                    column,
                    f"应为 {length} 位数字 / must be {length} digits: {_examples(bad_format)}",
                )
            )
        if parent:
            bad_nesting = frame.filter(~pl.col(column).str.starts_with(pl.col(parent)))[
                column
            ].to_list()
            if bad_nesting:
                problems.append(
                    Problem(
                        table,
                        column,
                        f"编码未以上级编码开头 / code does not start with its {parent}: {_examples(bad_nesting)}",
                    )
                )
    return problems


def _check_geometry(ds: Dataset) -> list[Problem]:
    from geo import boundaries  # geometry checks are optional for callers that skip them

    # the current division: a retired grid overlaps the grids that replaced it, by design
    current = {
        t: ds[t].filter(pl.col("retired_at").is_null()) for t in ("streets", "communities", "grids")
    }
    found = boundaries.check_hierarchy(**current)
    tables = {
        "district": "streets",
        "street": "streets",
        "community": "communities",
        "grid": "grids",
    }
    return [Problem(tables.get(p.level, p.level), "geometry", p.message) for p in found]
