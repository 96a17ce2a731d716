"""Grid-coverage queries (网格覆盖): a snapshot of the reference tables in scope.

Grid kinds, party organisation, property service, grids without a full-time worker and
grid sizes against the 300–500 standard. No period: coverage is what the tables hold — the
current division, or with ``as_of`` the division at that time (a frozen meeting from before a
re-division keeps its grids; docs/import.md).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_layer.domain import metrics, schema
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries.figures import scoped_grids
from data_layer.queries.frames import zero_filled
from data_layer.storage.source import Dataset


def grid_kinds(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.DataFrame:
    """Basic vs dedicated grids: grids, households, population, full- and part-time workers,
    grids without a full-time worker."""
    counts = (
        scoped_grids(ds, flt, scope, as_of=as_of)
        .group_by("kind")
        .agg(
            pl.len().cast(pl.Int64).alias("grids"),
            pl.col("households").sum().cast(pl.Int64).alias("households"),
            pl.col("population").sum().cast(pl.Int64).alias("population"),
            pl.col("full_time_workers").sum().cast(pl.Int64).alias("full_time_workers"),
            pl.col("part_time_workers").sum().cast(pl.Int64).alias("part_time_workers"),
            (pl.col("full_time_workers").fill_null(0) < 1)
            .sum()
            .cast(pl.Int64)
            .alias("without_full_time"),
        )
    )
    return zero_filled(schema.GRID_KINDS, counts, key="kind").collect()


def party_orgs(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.DataFrame:
    """Grids by party organisation (branch / group / none) and kind."""
    counts = (
        scoped_grids(ds, flt, scope, as_of=as_of)
        .with_columns(pl.col("party_org").fill_null("none"))
        .group_by("party_org")
        .agg(
            pl.len().cast(pl.Int64).alias("grids"),
            (pl.col("kind") == "basic").sum().cast(pl.Int64).alias("basic_grids"),
            (pl.col("kind") == "dedicated").sum().cast(pl.Int64).alias("dedicated_grids"),
        )
    )
    return zero_filled(schema.PARTY_ORGS, counts, key="party_org").collect()


def property_modes(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.DataFrame:
    """Compounds and their households by property mode (专业化 / 自治型 / 兜底型 / none)."""
    grids = scoped_grids(ds, flt, scope, as_of=as_of).select("grid_code")
    counts = (
        ds.lazy("compounds")
        .join(grids, on="grid_code", how="semi")
        .with_columns(pl.col("property_mode").fill_null("none"))
        .group_by("property_mode")
        .agg(
            pl.len().cast(pl.Int64).alias("compounds"),
            pl.col("households").sum().cast(pl.Int64).alias("households"),
        )
    )
    return zero_filled(schema.PROPERTY_MODES, counts, key="property_mode").collect()


def _grid_list(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.LazyFrame:
    """Grids in scope with their community and street names."""
    communities = ds.lazy("communities").select(
        "community_code", pl.col("name").alias("community_name")
    )
    streets = ds.lazy("streets").select("street_code", pl.col("name").alias("street_name"))
    return (
        scoped_grids(ds, flt, scope, as_of=as_of)
        .join(communities, on="community_code", how="left")
        .join(streets, on="street_code", how="left")
    )


def grids_without_full_time(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.DataFrame:
    """Basic grids with no full-time grid worker (the gap in 专职网格员配备率)."""
    return (
        _grid_list(ds, flt, scope, as_of=as_of)
        .filter((pl.col("kind") == "basic") & ~(pl.col("full_time_workers") >= 1).fill_null(False))
        .select(
            "grid_code",
            pl.col("name").alias("grid_name"),
            "community_name",
            "street_name",
            "households",
            "population",
            "full_time_workers",
            "part_time_workers",
            "party_org",
        )
        .sort("grid_code")
        .collect()
    )


def grids_without_party_org(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.DataFrame:
    """Grids with no party branch or group (the gap in 网格党组织覆盖率)."""
    return (
        _grid_list(ds, flt, scope, as_of=as_of)
        .filter(~pl.col("party_org").is_in(["branch", "group"]).fill_null(False))
        .select("grid_code", pl.col("name").alias("grid_name"), "community_name", "kind")
        .sort("grid_code")
        .collect()
    )


def grid_sizes(
    ds: Dataset, flt: Filter, scope: Scope, *, as_of: dt.datetime | None = None
) -> pl.DataFrame:
    """Households of every basic grid against the 300–500 standard (``size``: below /
    within / above)."""
    h = pl.col("households")
    return (
        _grid_list(ds, flt, scope, as_of=as_of)
        .filter(pl.col("kind") == "basic")
        .select(
            "grid_code",
            pl.col("name").alias("grid_name"),
            "community_name",
            "households",
            pl.when(h < metrics.GRID_HOUSEHOLDS_MIN)
            .then(pl.lit("below"))
            .when(h > metrics.GRID_HOUSEHOLDS_MAX)
            .then(pl.lit("above"))
            .otherwise(pl.lit("within"))
            .alias("size"),
        )
        .sort("grid_code")
        .collect()
    )
