"""Boundary checks on hand-made squares with known gaps, overlaps and strays."""

from __future__ import annotations

import geopandas as gpd
import polars as pl
import pytest
import shapely
from shapely.geometry import Polygon, box

from geo.boundaries import Problem, check_hierarchy, check_partition, from_wkb, local_crs


def kinds(problems: list[Problem]) -> list[tuple[str, str]]:
    return sorted((p.kind, p.code) for p in problems)


# --- check_partition in metres (crs=None) -------------------------------------------------------

PARENT = box(0, 0, 100, 100)
QUADS = [box(0, 50, 50, 100), box(50, 50, 100, 100), box(0, 0, 50, 50), box(50, 0, 100, 50)]
CODES = ["A", "B", "C", "D"]


def test_clean_partition_has_no_problems():
    assert (
        check_partition(parent=PARENT, children=QUADS, child_codes=CODES, tolerance=1.0, crs=None)
        == []
    )


def test_gap_is_found_with_parent_code_area_and_neighbours():
    kids = QUADS[:3] + [box(60, 0, 100, 50)]  # a 10 × 50 m strip missing
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, crs=None, parent_code="P"
    )
    assert kinds(problems) == [("gap", "P")]
    gap = problems[0]
    assert gap.area_m2 == pytest.approx(500.0)
    assert "D" in gap.message and "C" in gap.message  # the neighbours are named


def test_overlap_is_found_with_both_codes():
    kids = [box(0, 50, 60, 100), box(50, 50, 100, 100), QUADS[2], QUADS[3]]  # A and B share 10 × 50
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, crs=None
    )
    assert kinds(problems) == [("overlap", "A/B")]
    assert problems[0].area_m2 == pytest.approx(500.0)
    assert "A" in problems[0].message and "B" in problems[0].message


def test_child_outside_parent_is_found():
    kids = QUADS[:3] + [box(50, -20, 100, 50)]  # D pokes 20 m below the parent
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, crs=None
    )
    assert kinds(problems) == [("outside", "D")]
    assert problems[0].area_m2 == pytest.approx(1000.0)


def test_far_away_child_is_outside_and_leaves_a_gap():
    kids = QUADS[:3] + [box(500, 500, 550, 550)]
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, crs=None, parent_code="P"
    )
    assert kinds(problems) == [("gap", "P"), ("outside", "D")]


def test_tolerance_ignores_slivers():
    kids = QUADS[:3] + [box(50.01, 0, 100, 50)]  # 0.5 m² sliver
    assert (
        check_partition(parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, crs=None)
        == []
    )
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=0.1, crs=None
    )
    assert kinds(problems) == [("gap", "parent")]  # the default parent code


def test_invalid_empty_and_missing_geometry():
    bowtie = Polygon([(50, 0), (100, 50), (100, 0), (50, 50)])
    kids = [QUADS[0], Polygon(), None, bowtie]
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, crs=None
    )
    found = {(p.kind, p.code) for p in problems}
    assert {("empty", "B"), ("missing", "C"), ("invalid", "D")} <= found
    assert any(p.kind == "gap" for p in problems)  # what B, C and the bow-tie leave uncovered


def test_wrong_number_of_codes_is_an_error():
    with pytest.raises(ValueError):
        check_partition(parent=PARENT, children=QUADS, child_codes=CODES[:3], crs=None)


# --- geographic input: areas in m² via the local Gauss-Krüger zone ---------------------------------


def lonlat_box(x0, y0, x1, y1):
    """A box in metres around (115.9°E, 28.7°N), as lon/lat."""
    kx, ky = 1 / 97_700.0, 1 / 110_860.0
    return box(115.9 + x0 * kx, 28.7 + y0 * ky, 115.9 + x1 * kx, 28.7 + y1 * ky)


def test_geographic_gap_area_in_square_metres():
    parent = lonlat_box(0, 0, 1000, 1000)
    kids = [lonlat_box(0, 0, 1000, 500), lonlat_box(0, 500, 900, 1000)]  # 100 × 500 m missing
    problems = check_partition(parent=parent, children=kids, child_codes=["a", "b"], tolerance=1.0)
    assert kinds(problems) == [("gap", "parent")]
    assert problems[0].area_m2 == pytest.approx(50_000, rel=0.01)
    assert "115.9" in problems[0].message  # located in lon/lat


def test_geoseries_with_projected_crs_is_taken_as_metres():
    kids = gpd.GeoSeries(QUADS[:3] + [box(50, 0, 90, 50)], crs="EPSG:4548")
    problems = check_partition(
        parent=PARENT, children=kids, child_codes=CODES, tolerance=1.0, parent_code="P"
    )
    assert kinds(problems) == [("gap", "P")]
    assert problems[0].area_m2 == pytest.approx(500.0)


def test_local_crs_picks_the_gauss_kruger_zone():
    assert local_crs(115.9).to_epsg() == 4548  # CM 117°E
    assert local_crs(113.0).to_epsg() == 4547  # CM 114°E
    assert local_crs(10.0, 50.0).to_epsg() == 32632  # UTM outside China


# --- check_hierarchy on polars frames with WKB ------------------------------------------------------


def frames(streets, communities, grids):
    def wkb(geoms):
        return pl.Series([None if g is None else shapely.to_wkb(g) for g in geoms], dtype=pl.Binary)

    s = pl.DataFrame(
        {"street_code": [c for c, _ in streets], "geometry": wkb([g for _, g in streets])}
    )
    c = pl.DataFrame(
        {
            "community_code": [c for c, _, _ in communities],
            "street_code": [p for _, p, _ in communities],
            "geometry": wkb([g for _, _, g in communities]),
        }
    )
    g = pl.DataFrame(
        {
            "grid_code": [c for c, _, _ in grids],
            "community_code": [p for _, p, _ in grids],
            "geometry": wkb([g for _, _, g in grids]),
        }
    )
    return s, c, g


S1, S2 = "360102001", "360102002"
C1, C2, C3 = S1 + "001", S1 + "002", S2 + "001"


def clean_hierarchy():
    streets = [(S1, lonlat_box(0, 0, 1000, 1000)), (S2, lonlat_box(1000, 0, 2000, 1000))]
    communities = [
        (C1, S1, lonlat_box(0, 0, 500, 1000)),
        (C2, S1, lonlat_box(500, 0, 1000, 1000)),
        (C3, S2, lonlat_box(1000, 0, 2000, 1000)),
    ]
    grids = [
        (C1 + "001", C1, lonlat_box(0, 0, 500, 500)),
        (C1 + "002", C1, lonlat_box(0, 500, 500, 1000)),
        (C2 + "001", C2, lonlat_box(500, 0, 1000, 1000)),
        (C3 + "001", C3, lonlat_box(1000, 0, 1500, 1000)),
        (C3 + "002", C3, lonlat_box(1500, 0, 2000, 1000)),
    ]
    return streets, communities, grids


def test_clean_hierarchy_has_no_problems():
    s, c, g = frames(*clean_hierarchy())
    assert check_hierarchy(streets=s, communities=c, grids=g) == []
    district = lonlat_box(0, 0, 2000, 1000)
    assert check_hierarchy(streets=s, communities=c, grids=g, district=district) == []


def test_hierarchy_finds_gap_overlap_and_stray_with_codes():
    streets, communities, grids = clean_hierarchy()
    grids[0] = (C1 + "001", C1, lonlat_box(0, 0, 500, 400))  # gap of 500 × 100 m in C1
    communities[1] = (C2, S1, lonlat_box(450, 0, 1000, 1000))  # C2 overlaps C1 by 50 m
    grids[4] = (C3 + "002", C3, lonlat_box(1500, 0, 2100, 1000))  # pokes out of C3 (and S2)
    s, c, g = frames(streets, communities, grids)
    problems = check_hierarchy(streets=s, communities=c, grids=g)
    found = {(p.level, p.kind, p.code) for p in problems}
    assert ("community", "gap", C1) in found
    assert ("community", "overlap", f"{C1}/{C2}") in found
    assert ("community", "outside", C2) not in found  # C2 stays inside S1
    assert ("grid", "outside", C3 + "002") in found
    gap = next(p for p in problems if p.kind == "gap" and p.code == C1)
    assert gap.area_m2 == pytest.approx(50_000, rel=0.01)
    assert C1 + "001" in gap.message


def test_hierarchy_finds_code_problems():
    streets, communities, grids = clean_hierarchy()
    grids.append((C2 + "001", C2, lonlat_box(500, 0, 1000, 1000)))  # duplicate code
    grids.append(("360102009001001", "360102009001", lonlat_box(0, 0, 1, 1)))  # orphan
    grids[3] = (C1 + "099", C3, grids[3][2])  # does not extend its community code
    s, c, g = frames(streets, communities, grids)
    found = {(p.kind, p.code) for p in check_hierarchy(streets=s, communities=c, grids=g)}
    assert ("duplicate_code", C2 + "001") in found
    assert ("orphan", "360102009001001") in found
    assert ("bad_code", C1 + "099") in found


def test_hole_between_streets_without_district_outline():
    streets, communities, grids = clean_hierarchy()
    ring = lonlat_box(0, 0, 3000, 3000).difference(lonlat_box(1000, 1000, 2000, 2000))
    streets = [("360102001", ring)]
    communities = [(C1, S1, ring)]
    grids = [(C1 + "001", C1, ring)]
    s, c, g = frames(streets, communities, grids)
    problems = check_hierarchy(streets=s, communities=c, grids=g)
    assert [(p.level, p.kind) for p in problems] == [("district", "gap")]
    assert problems[0].area_m2 == pytest.approx(1_000_000, rel=0.01)


def test_streets_must_tile_a_given_district_outline():
    s, c, g = frames(*clean_hierarchy())
    district = lonlat_box(0, 0, 2200, 1100)  # 2,420,000 m²; the streets cover 2,000,000
    problems = check_hierarchy(streets=s, communities=c, grids=g, district=district)
    assert [(p.level, p.kind, p.code) for p in problems] == [("district", "gap", "district")]
    assert problems[0].area_m2 == pytest.approx(420_000, rel=0.01)
    assert S1 in problems[0].message and S2 in problems[0].message  # both streets touch it


def test_unusable_district_outline_is_reported_and_holes_are_still_found():
    ring = lonlat_box(0, 0, 3000, 3000).difference(lonlat_box(1000, 1000, 2000, 2000))
    s, c, g = frames([(S1, ring)], [(C1, S1, ring)], [(C1 + "001", C1, ring)])
    problems = check_hierarchy(streets=s, communities=c, grids=g, district=Polygon())
    assert [(p.level, p.kind, p.code) for p in problems] == [
        ("district", "empty", "district"),
        ("district", "gap", ""),  # the hole the streets enclose, as without an outline
    ]
    assert problems[1].area_m2 == pytest.approx(1_000_000, rel=0.01)


def test_from_wkb_decodes_polars_and_nulls():
    s, c, g = frames(*clean_hierarchy())
    g = g.with_columns(
        pl.when(pl.col("grid_code").str.ends_with("002"))
        .then(None)
        .otherwise(pl.col("geometry"))
        .alias("geometry")
    )
    gdf = from_wkb(g)
    assert isinstance(gdf, gpd.GeoDataFrame)
    assert gdf.crs.to_epsg() == 4326
    assert list(gdf["grid_code"]) == g["grid_code"].to_list()
    assert gdf.geometry.isna().sum() == 2
    assert gdf.geometry.iloc[0].geom_type == "Polygon"
    problems = check_hierarchy(streets=s, communities=c, grids=g)
    assert {("missing", C1 + "002"), ("missing", C3 + "002")} <= {
        (p.kind, p.code) for p in problems
    }
