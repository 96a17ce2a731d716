"""The areas imported cases are matched against: grid polygons for point-in-polygon, and join
tables that find a grid, community or street from the names a file gives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely


@dataclass
class Reference:
    """The areas cases are matched against (from the data directory, or the boundaries being
    imported in the same run)."""

    grids: pl.DataFrame  # grid_code, community_code, name
    communities: pl.DataFrame  # community_code, street_code, name
    streets: pl.DataFrame  # street_code, name
    polygons: np.ndarray
    tree: shapely.STRtree | None
    bbox: tuple[float, float, float, float] | None

    @classmethod
    def from_tables(cls, tables: dict[str, pl.DataFrame]) -> Reference:
        grids = tables["grids"]
        geoms = (
            shapely.from_wkb(grids["geometry"].to_numpy(), on_invalid="ignore")
            if grids.height
            else np.empty(0, dtype=object)
        )
        ok = (
            np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
            if len(geoms)
            else np.zeros(0, bool)
        )
        if "retired_at" in grids.columns and len(geoms):  # points land in the current division
            ok &= grids["retired_at"].is_null().to_numpy()
        tree = shapely.STRtree(geoms[ok]) if ok.any() else None
        bbox = tuple(shapely.total_bounds(geoms[ok]).tolist()) if ok.any() else None
        return cls(
            grids=grids.select("grid_code", "community_code", "name"),
            communities=tables["communities"].select("community_code", "street_code", "name"),
            streets=tables["streets"].select("street_code", "name"),
            polygons=np.flatnonzero(ok),
            tree=tree,
            bbox=bbox,
        )

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        """Grid code containing each point (lowest code on a shared edge), None outside."""
        out: list[str | None] = [None] * len(lon)
        if self.tree is None or len(lon) == 0:
            return out
        pts = shapely.points(lon, lat)
        p_idx, g_idx = self.tree.query(pts, predicate="intersects")
        codes = self.grids["grid_code"].to_list()
        for p, g in zip(p_idx.tolist(), g_idx.tolist(), strict=True):
            code = codes[self.polygons[g]]
            if out[p] is None or code < out[p]:
                out[p] = code
        return out


@dataclass(frozen=True)
class AreaNames:
    """Join tables on the stated names (columns prefixed ``_`` to join onto a batch)."""

    grid_info: pl.DataFrame  # grid_code → _g_comm, _g_street
    grid_by_name: pl.DataFrame  # _gname → _by_name (first), _by_name_n (how many)
    grid_by_community_code: pl.DataFrame  # (_ccode, _gname) → _by_cc, where unique
    grid_by_community_name: pl.DataFrame  # (_cname, _gname) → _by_cn, where unique
    community_by_name: pl.DataFrame  # _cname → _cn_code (first), _cn_n (how many)
    street_by_name: pl.DataFrame  # _sname → _sn_code (first)
    known_communities: list[str]
    known_streets: list[str]

    @classmethod
    def of(cls, ref: Reference) -> AreaNames:
        g = ref.grids.join(
            ref.communities.select(
                "community_code", pl.col("name").alias("community_name"), "street_code"
            ),
            on="community_code",
            how="left",
        )
        return cls(
            grid_info=g.select(
                "grid_code",
                pl.col("community_code").alias("_g_comm"),
                pl.col("street_code").alias("_g_street"),
            ),
            grid_by_name=g.group_by("name")
            .agg(pl.col("grid_code").first(), pl.len().alias("n"))
            .select(
                pl.col("name").alias("_gname"),
                pl.col("grid_code").alias("_by_name"),
                pl.col("n").alias("_by_name_n"),
            ),
            grid_by_community_code=_unique_grid_within(g, "community_code", "_ccode", "_by_cc"),
            grid_by_community_name=_unique_grid_within(g, "community_name", "_cname", "_by_cn"),
            community_by_name=ref.communities.group_by("name")
            .agg(pl.col("community_code").first(), pl.len().alias("n"))
            .select(
                pl.col("name").alias("_cname"),
                pl.col("community_code").alias("_cn_code"),
                pl.col("n").alias("_cn_n"),
            ),
            street_by_name=ref.streets.group_by("name")
            .agg(pl.col("street_code").first())
            .select(pl.col("name").alias("_sname"), pl.col("street_code").alias("_sn_code")),
            known_communities=list(set(ref.communities["community_code"].to_list())),
            known_streets=list(set(ref.streets["street_code"].to_list())),
        )


def _unique_grid_within(g: pl.DataFrame, by: str, alias: str, out: str) -> pl.DataFrame:
    """(community, grid name) → grid code, for names unique within their community."""
    return (
        g.group_by(by, "name")
        .agg(pl.col("grid_code").first(), pl.len().alias("n"))
        .filter(pl.col("n") == 1)
        .select(
            pl.col(by).alias(alias),
            pl.col("name").alias("_gname"),
            pl.col("grid_code").alias(out),
        )
    )
