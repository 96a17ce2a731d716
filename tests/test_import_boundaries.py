"""Boundary import: zipped Shapefile with a .cpg, GeoJSON in GCJ-02, GeoPackage, CRS rules,
repairs, levels without the levels above, hierarchy checks."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import polars as pl
import pytest
import shapely

from data_layer.ingest import run_import
from data_layer.storage.source import DataError, open_dataset, signature
from geo.china_offsets import wgs84_to_gcj02

# a small real-looking district near Nanchang: 1 street, 2 communities, 4 grids (WGS 84)
X0, Y0, D = 115.90, 28.68, 0.01
S = "360102001"
COMMS = [S + "001", S + "002"]
GRIDS = [COMMS[0] + "001", COMMS[0] + "002", COMMS[1] + "001", COMMS[1] + "002"]


def grid_boxes():
    return [shapely.box(X0 + i * D, Y0, X0 + (i + 1) * D, Y0 + D) for i in range(4)]


def grids_gdf():
    return gpd.GeoDataFrame(
        {
            "网格编码": GRIDS,
            "网格名称": [f"第{i + 1}网格" for i in range(4)],
            "所属社区": ["东湖社区", "东湖社区", "西湖社区", "西湖社区"],
            "户数": [350, 420, 300, 500],
        },
        geometry=grid_boxes(),
        crs="EPSG:4326",
    )


def zipped_shapefile(tmp_path, gdf, *, encoding="GBK", prj=True, cpg=True):
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    gdf.to_file(folder / "grids.shp", encoding=encoding, engine="pyogrio")
    if cpg:
        (folder / "grids.cpg").write_text(encoding)
    else:
        (folder / "grids.cpg").unlink(missing_ok=True)
    if not prj:
        (folder / "grids.prj").unlink()
    out = tmp_path / "grids.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    return out


def test_zipped_shapefile_with_cpg_into_an_empty_directory(tmp_path):
    data = tmp_path / "data"
    src = zipped_shapefile(tmp_path, grids_gdf())
    (r,) = run_import(data, boundaries=src, level="grid")
    assert (r.read, r.imported, r.rejected) == (4, 4, 0) and r.reconciled
    ds = open_dataset(data)
    assert ds["grids"]["grid_code"].to_list() == GRIDS
    assert ds["grids"]["name"].to_list()[0] == "第1网格"  # GBK attributes decoded via .cpg
    assert ds["grids"]["households"].to_list() == [350, 420, 300, 500]
    # the levels above were created by dissolving, and named from the file
    comms = ds["communities"].sort("community_code")
    assert comms["community_code"].to_list() == COMMS
    assert comms["name"].to_list() == ["东湖社区", "西湖社区"]
    assert ds["streets"]["street_code"].to_list() == [S]
    assert any("created 2 community" in n for n in r.notes)
    assert not [w for w in r.warnings if "overlap" in w or "gap" in w]


def test_geojson_in_gcj02_is_converted_to_wgs84(tmp_path):
    gdf = grids_gdf()
    shifted = gdf.copy()
    shifted["geometry"] = [
        shapely.transform(g, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
        for g in gdf.geometry
    ]
    src = tmp_path / "grids_amap.geojson"
    src.write_text(shifted.to_json(), encoding="utf-8")
    (r,) = run_import(tmp_path / "data", boundaries=src, level="grid", crs="gcj02")
    assert r.imported == 4
    got = shapely.from_wkb(open_dataset(tmp_path / "data")["grids"]["geometry"].to_numpy())
    for a, b in zip(got, gdf.geometry, strict=True):
        assert shapely.hausdorff_distance(a, b) < 1e-7  # back on WGS 84 to ~1 cm
    assert r.detected["crs"] == "gcj02"


def test_shapefile_without_crs_needs_crs(tmp_path):
    src = zipped_shapefile(tmp_path, grids_gdf(), prj=False)
    with pytest.raises(DataError, match="--crs"):
        run_import(tmp_path / "data", boundaries=src, level="grid")
    (r,) = run_import(tmp_path / "data", boundaries=src, level="grid", crs="cgcs2000")
    assert r.imported == 4


def test_projected_geopackage(tmp_path):
    gdf = grids_gdf().to_crs("EPSG:4547")  # CGCS2000 / 3-degree GK CM 114E
    src = tmp_path / "grids.gpkg"
    gdf.to_file(src, engine="pyogrio")
    (r,) = run_import(tmp_path / "data", boundaries=src, level="grid")
    assert r.imported == 4 and r.detected["crs"] == "EPSG:4547"
    b = shapely.total_bounds(
        shapely.from_wkb(open_dataset(tmp_path / "data")["grids"]["geometry"].to_numpy())
    )
    assert b == pytest.approx([X0, Y0, X0 + 4 * D, Y0 + D], abs=1e-6)


def test_bad_features_are_rejected_or_repaired_and_reported(tmp_path):
    gdf = grids_gdf()
    bowtie = shapely.Polygon(
        [(X0 + 3 * D, Y0), (X0 + 4 * D, Y0 + D), (X0 + 4 * D, Y0), (X0 + 3 * D, Y0 + D)]
    )
    extra = gpd.GeoDataFrame(
        {
            "网格编码": ["12345", GRIDS[0], COMMS[1] + "003", None],
            "网格名称": ["坏编码", "重复", "自交", "无编码"],
            "所属社区": [None] * 4,
            "户数": [1] * 4,
        },
        geometry=[grid_boxes()[0], grid_boxes()[0], bowtie, grid_boxes()[1]],
        crs="EPSG:4326",
    )
    src = tmp_path / "grids.geojson"
    src.write_text(pd_concat(gdf, extra).to_json(), encoding="utf-8")
    before = signature(tmp_path / "data") if (tmp_path / "data").exists() else ()
    (r,) = run_import(tmp_path / "data", boundaries=src, level="grid")
    assert r.read == 8 and r.reconciled
    rejected = r.report.filter(pl.col("severity") == "rejected")
    got = dict(zip(rejected["row"], rejected["reason"], strict=True))
    assert {k: v for k, v in got.items() if k != 7} == {
        5: "bad_code",
        6: "duplicate_id",
        8: "missing_code",
    }
    # the bow-tie: make_valid changes its area a lot (two triangles) → either repaired or refused, always reported
    assert r.report.filter(pl.col("row") == 7).height >= 1
    assert before == ()


def pd_concat(a, b):
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), crs=a.crs)


def test_overlap_and_grid_outside_its_community_are_warnings_or_strict_errors(tmp_path):
    data = tmp_path / "data"
    run_import(data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid")
    moved = gpd.GeoDataFrame(
        {"网格编码": [GRIDS[1]], "网格名称": ["第2网格"]},
        geometry=[shapely.box(X0 + 1.5 * D, Y0, X0 + 2.5 * D, Y0 + D)],
        crs="EPSG:4326",
    )
    src = tmp_path / "moved.geojson"
    src.write_text(moved.to_json(), encoding="utf-8")
    stamp = signature(data)
    with pytest.raises(DataError, match="strict"):
        run_import(data, boundaries=src, level="grid", strict=True)
    assert signature(data) == stamp
    (r,) = run_import(data, boundaries=src, level="grid")
    kinds = " ".join(r.warnings)
    assert "overlap" in kinds and "outside" in kinds
    assert r.updated == 1 and r.imported == 1
    # attributes not in the file keep their values
    assert (
        open_dataset(data)["grids"].filter(pl.col("grid_code") == GRIDS[1])["households"].item()
        == 420
    )


def test_boundaries_then_cases_in_one_version(tmp_path):
    data = tmp_path / "data"
    cases = tmp_path / "c.csv"
    cases.write_text(
        "事件编号,经度,纬度,上报时间,事件类型,来源\nK1,115.915,28.685,2025-03-01 08:00,环境,网格员\n",
        encoding="utf-8",
    )
    b, c = run_import(
        data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid", cases=cases
    )
    assert b.imported == 4 and c.imported == 1
    assert open_dataset(data)["cases"]["grid_code"].to_list() == [GRIDS[1]]
    assert len([p for p in (data / "versions").iterdir()]) == 1


def test_geojson_outside_china_means_wrong_crs(tmp_path):
    gdf = grids_gdf().to_crs("EPSG:3857")
    src = tmp_path / "m.geojson"
    doc = json.loads(gdf.to_json())
    doc.pop("crs", None)
    src.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataError, match="crs"):
        run_import(tmp_path / "data", boundaries=src, level="grid")
