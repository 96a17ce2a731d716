"""The areas imported cases are matched against: grid polygons for point-in-polygon, and join
tables that find a grid, community or street from the names a file gives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely

from data_layer.ingest.readers import ROW


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
    community_info: pl.DataFrame  # community_code → _c_street
    grid_by_name: pl.DataFrame  # _gname → _by_name (first), _by_name_n (how many)
    grid_by_community_code: pl.DataFrame  # (_ccode, _gname) → _by_cc, where unique
    grid_by_community_name: pl.DataFrame  # (_cname, _gname) → _by_cn, where unique
    community_by_name: pl.DataFrame  # _cname → _cn_code (first), _cn_n (how many)
    community_by_street_code: pl.DataFrame  # (_scode, _cname) → _cs_code, where unique
    community_by_street_name: pl.DataFrame  # (_sname, _cname) → _csn_code, where unique
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
        c = ref.communities.join(
            ref.streets.select("street_code", pl.col("name").alias("street_name")),
            on="street_code",
            how="left",
        )
        return cls(
            community_info=ref.communities.select(
                "community_code", pl.col("street_code").alias("_c_street")
            ),
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
            grid_by_community_code=_unique_within(
                g, "community_code", "_ccode", "grid_code", "_gname", "_by_cc"
            ),
            grid_by_community_name=_unique_within(
                g, "community_name", "_cname", "grid_code", "_gname", "_by_cn"
            ),
            community_by_name=ref.communities.group_by("name")
            .agg(pl.col("community_code").first(), pl.len().alias("n"))
            .select(
                pl.col("name").alias("_cname"),
                pl.col("community_code").alias("_cn_code"),
                pl.col("n").alias("_cn_n"),
            ),
            community_by_street_code=_unique_within(
                c, "street_code", "_scode", "community_code", "_cname", "_cs_code"
            ),
            community_by_street_name=_unique_within(
                c, "street_name", "_sname", "community_code", "_cname", "_csn_code"
            ),
            street_by_name=ref.streets.group_by("name")
            .agg(pl.col("street_code").first())
            .select(pl.col("name").alias("_sname"), pl.col("street_code").alias("_sn_code")),
            known_communities=list(set(ref.communities["community_code"].to_list())),
            known_streets=list(set(ref.streets["street_code"].to_list())),
        )


def _unique_within(
    frame: pl.DataFrame, by: str, alias: str, code: str, name_alias: str, out: str
) -> pl.DataFrame:
    """(parent, name) → code, for names unique within their parent (a grid in its
    community, a community in its street)."""
    return (
        frame.group_by(by, "name")
        .agg(pl.col(code).first(), pl.len().alias("n"))
        .filter(pl.col("n") == 1)
        .select(
            pl.col(by).alias(alias),
            pl.col("name").alias(name_alias),
            pl.col(code).alias(out),
        )
    )


# --------------------------------------------------------------------------------------------
# the areas a row states (cases and the reference tables alike)
# --------------------------------------------------------------------------------------------


def excel_code(codes: pl.Series) -> pl.Series:
    """Excel turns codes into numbers ("360102001001001.0"): the digits again."""
    return codes.str.replace(r"^(\d+)\.0+$", "${1}")


def stated_areas(raw: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Grid / community / street codes and the grid name as stated. A code typed into a name
    column (所属社区 = 360102001001) counts as the code, and ``raw`` loses it as a name."""
    gname = raw["grid_name"]
    gname_is_code = gname.str.contains(r"^\d{15}$").fill_null(False)
    cname_code = raw["community_name"].str.contains(r"^\d{12}$").fill_null(False)
    sname_code = raw["street_name"].str.contains(r"^\d{9}$").fill_null(False)
    grid_code = excel_code(raw["grid_code"])
    stated = {
        "grid_code": pl.select(
            pl.when(grid_code.is_not_null()).then(grid_code).when(gname_is_code).then(gname)
        ).to_series(),
        "grid_name": pl.select(pl.when(~gname_is_code).then(gname)).to_series(),
        "community_code": pl.select(
            pl.coalesce(
                excel_code(raw["community_code"]),
                pl.when(cname_code).then(raw["community_name"]),
            )
        ).to_series(),
        "street_code": pl.select(
            pl.coalesce(
                excel_code(raw["street_code"]), pl.when(sname_code).then(raw["street_name"])
            )
        ).to_series(),
    }
    raw = raw.with_columns(
        pl.when(~cname_code).then(pl.col("community_name")).alias("community_name"),
        pl.when(~sname_code).then(pl.col("street_name")).alias("street_name"),
    )
    return raw, stated


def match_by_code_or_name(
    raw: pl.DataFrame, stated: dict[str, pl.Series], names: AreaNames
) -> pl.DataFrame:
    """The stated areas joined to the name tables; ``_grid``: the grid a known code names,
    else the grid a name names (unique within the stated community, or in the district);
    ``_cs_code`` / ``_csn_code``: the community a name names within the stated street."""
    g = pl.DataFrame(
        {
            ROW: raw[ROW],
            "_gcode": stated["grid_code"],
            "_gname": stated["grid_name"],
            "_ccode": stated["community_code"],
            "_cname": raw["community_name"],
            "_scode": stated["street_code"],
            "_sname": raw["street_name"],
        }
    )
    g = (
        g.join(names.grid_by_name, on="_gname", how="left", maintain_order="left")
        .join(
            names.grid_by_community_code, on=["_ccode", "_gname"], how="left", maintain_order="left"
        )
        .join(
            names.grid_by_community_name, on=["_cname", "_gname"], how="left", maintain_order="left"
        )
        .join(names.community_by_name, on="_cname", how="left", maintain_order="left")
        .join(
            names.community_by_street_code,
            on=["_scode", "_cname"],
            how="left",
            maintain_order="left",
        )
        .join(
            names.community_by_street_name,
            on=["_sname", "_cname"],
            how="left",
            maintain_order="left",
        )
        .join(names.street_by_name, on="_sname", how="left", maintain_order="left")
        .join(
            names.grid_info.select(
                pl.col("grid_code").alias("_gcode"), pl.lit(True).alias("_gknown")
            ),
            on="_gcode",
            how="left",
            maintain_order="left",
        )
    )
    by_name = pl.when(pl.col("_by_name_n") == 1).then(pl.col("_by_name"))
    return g.with_columns(
        pl.when(pl.col("_gcode").is_not_null())
        .then(pl.when(pl.col("_gknown")).then(pl.col("_gcode")))
        .otherwise(pl.coalesce("_by_cc", "_by_cn", by_name))
        .alias("_grid")
    )
