"""Table schemas of the data directory (DESIGN §3).

One dict per table, column name → polars dtype, in the documented column order.
Times are timezone-naive local time (Asia/Shanghai); geometry is WKB in EPSG:4326.
"""

from __future__ import annotations

import polars as pl

Datetime = pl.Datetime("us")
# When an area of the division came and went (docs/import.md, re-division): null valid_from =
# from the start, null retired_at = current. An area retired at T is not in the division at T.
LIFETIME = {"valid_from": Datetime, "retired_at": Datetime}

STREETS = {
    "street_code": pl.String,
    "name": pl.String,
    "district": pl.String,
    "geometry": pl.Binary,
    **LIFETIME,
}
COMMUNITIES = {
    "community_code": pl.String,
    "street_code": pl.String,
    "name": pl.String,
    "households": pl.Int32,
    "population": pl.Int32,
    "community_workers": pl.Int32,
    "service_center_m2": pl.Float64,
    "geometry": pl.Binary,
    **LIFETIME,
}
GRIDS = {
    "grid_code": pl.String,
    "community_code": pl.String,
    "name": pl.String,
    "kind": pl.String,  # basic | dedicated
    "households": pl.Int32,
    "population": pl.Int32,
    "full_time_workers": pl.Int32,
    "part_time_workers": pl.Int32,
    "party_org": pl.String,  # branch | group | none
    "geometry": pl.Binary,
    **LIFETIME,
}
COMPOUNDS = {
    "compound_id": pl.String,
    "grid_code": pl.String,
    "name": pl.String,
    "households": pl.Int32,
    "property_mode": pl.String,  # professional | self_managed | fallback | none
}
CASES = {
    "case_id": pl.String,
    "grid_code": pl.String,
    "category": pl.String,
    "source": pl.String,
    "reported_at": Datetime,
    "registered_at": Datetime,
    "rejected": pl.Boolean,
    "dispatched_at": Datetime,
    "handling_unit": pl.String,
    "handled_at": Datetime,
    "verified_at": Datetime,
    "closed_at": Datetime,
    "due_at": Datetime,
    "postponed": pl.Boolean,
    "rework_count": pl.Int32,
    "satisfaction": pl.String,  # satisfied | basic | dissatisfied | null
    "lon": pl.Float64,
    "lat": pl.Float64,
    "reporter_name": pl.String,
    "reporter_phone": pl.String,
    "description": pl.String,
    "updated_at": Datetime,
}
# A re-division (import --boundaries --replace) moves the cases of a retired grid to the grid
# that now holds their point: one row per move, so the grid of a case at any past as_of is known.
CASE_MOVES = {
    "move_id": pl.String,  # case_id@moved_at
    "case_id": pl.String,
    "from_grid_code": pl.String,
    "to_grid_code": pl.String,
    "moved_at": Datetime,
}
VOLUNTEER_TEAMS = {
    "team_id": pl.String,
    "community_code": pl.String,
    "name": pl.String,
    "kind": pl.String,
    "members": pl.Int32,
}
ACTIVITIES = {
    "activity_id": pl.String,
    "team_id": pl.String,
    "community_code": pl.String,
    "grid_code": pl.String,
    "date": pl.Date,
    "hours": pl.Float64,  # volunteer service hours of the activity (person-hours)
    "participants": pl.Int32,
    "kind": pl.String,
}
PARTY_REPORTS = {
    "member_id": pl.String,
    "unit": pl.String,
    "community_code": pl.String,
    "reported_on": pl.Date,
    "posts_claimed": pl.Int32,
}
WISHES = {
    "wish_id": pl.String,
    "community_code": pl.String,
    "created_at": Datetime,
    "claimed_at": Datetime,
    "fulfilled_at": Datetime,
    "claimer_kind": pl.String,
}

TABLES: dict[str, dict[str, pl.DataType]] = {
    "streets": STREETS,
    "communities": COMMUNITIES,
    "grids": GRIDS,
    "compounds": COMPOUNDS,
    "cases": CASES,
    "volunteer_teams": VOLUNTEER_TEAMS,
    "activities": ACTIVITIES,
    "party_reports": PARTY_REPORTS,
    "wishes": WISHES,
    "case_moves": CASE_MOVES,
}

KEYS = {
    "streets": "street_code",
    "communities": "community_code",
    "grids": "grid_code",
    "compounds": "compound_id",
    "cases": "case_id",
    "volunteer_teams": "team_id",
    "activities": "activity_id",
    "party_reports": "member_id",
    "wishes": "wish_id",
    "case_moves": "move_id",
}

# Added after data directories were first written: a file without them is read with the
# columns null (an area valid always, never retired) and a missing table is read empty.
LATER_COLUMNS: dict[str, tuple[str, ...]] = {
    "streets": ("valid_from", "retired_at"),
    "communities": ("valid_from", "retired_at"),
    "grids": ("valid_from", "retired_at"),
}
LATER_TABLES = ("case_moves",)

# Stable codes (labels live in assets/i18n/core.toml).
GRID_KINDS = ("basic", "dedicated")
PARTY_ORGS = ("branch", "group", "none")
PROPERTY_MODES = ("professional", "self_managed", "fallback", "none")
SATISFACTION = ("satisfied", "basic", "dissatisfied")
CATEGORIES = (
    "dispute",  # 矛盾纠纷
    "safety_hazard",  # 安全隐患
    "environment",  # 环境卫生
    "property",  # 物业管理
    "municipal",  # 市政设施
    "livelihood",  # 民生服务
    "other",  # 其他
)
SOURCES = (
    "grid_worker",  # 网格员上报
    "hotline_12345",  # 12345 热线
    "resident_order",  # 居民点单
    "micro_wish",  # 微心愿
    "party_member",  # 在职党员
)

TEAM_KINDS = ("party_member", "youth", "elderly", "professional", "women")
ACTIVITY_KINDS = (
    "cleanup",
    "elderly_care",
    "publicity",
    "patrol",
    "health",
    "legal",
    "education",
    "culture",
)
CLAIMER_KINDS = ("party_member", "enterprise", "volunteer", "social_org")


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select a table's columns in schema order, cast to the schema dtypes.

    Raises ``KeyError`` naming the missing columns, so a wrong file fails loudly.
    """
    schema = TABLES[table]
    later = [c for c in LATER_COLUMNS.get(table, ()) if c not in frame.columns]
    if later:
        frame = frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in later)
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise KeyError(f"{table}: missing columns {', '.join(missing)}")
    return frame.select(pl.col(c).cast(t) for c, t in schema.items())


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the table's schema."""
    return pl.DataFrame(schema=TABLES[table])
