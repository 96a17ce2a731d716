"""Boundary import: zipped Shapefile with a .cpg, GeoJSON in GCJ-02, GeoPackage, CRS rules,
repairs, levels without the levels above, hierarchy checks."""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import geopandas as gpd
import numpy as np
import polars as pl
import pytest
import shapely
from polars.testing import assert_frame_equal

from data_layer.cli import main as cli_main
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.ingest import run_import
from data_layer.queries import figures
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


# --------------------------------------------------------------------------------------------
# the mapping file for boundaries, Shapefile names cut to 10 bytes, what a missing code says
# --------------------------------------------------------------------------------------------


def geojson(tmp_path, gdf, name="b.geojson"):
    src = tmp_path / name
    src.write_text(gdf.to_json(drop_id=True), encoding="utf-8")
    return src


def test_a_mapping_file_maps_boundary_attributes_per_level(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"adcode": GRIDS, "mc": ["甲", "乙", "丙", "丁"], "hh": [301, 302, 303, 304]},
        geometry=grid_boxes(),
        crs="EPSG:4326",
    )
    mapping = tmp_path / "m.toml"
    mapping.write_text(
        '[boundary_columns]\n"adcode" = "code"\n"MC" = "name"\n'
        '[boundary_columns.grid]\n"hh" = "households"\n'
        '[boundary_columns.community]\n"hh" = ""\n',
        encoding="utf-8",
    )
    (r,) = run_import(
        tmp_path / "d", boundaries=geojson(tmp_path, gdf), level="grid", mapping=mapping
    )
    assert (r.read, r.imported, r.rejected) == (4, 4, 0)
    assert r.detected["mapping"] == {"code": "adcode", "name": "mc", "households": "hh"}
    grids = open_dataset(tmp_path / "d")["grids"]
    assert grids["name"].to_list() == ["甲", "乙", "丙", "丁"]
    assert grids["households"].to_list() == [301, 302, 303, 304]


def test_an_unknown_boundary_field_names_the_known_ones(tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[boundary_columns]\n"adcode" = "gridcode"\n', encoding="utf-8")
    with pytest.raises(DataError, match="gridcode") as err:
        run_import(
            tmp_path / "d", boundaries=geojson(tmp_path, grids_gdf()), level="grid", mapping=mapping
        )
    assert "known boundary fields: code, name, parent_code" in str(err.value)
    assert "party_org" in str(err.value) and "full_time_workers" in str(err.value)


def test_shapefile_names_cut_to_10_characters_still_match(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "grid_code": GRIDS,
            "community_code": [c[:12] for c in GRIDS],
            "full_time_workers": [1, 0, 2, 1],
            "part_time_workers": [3, 2, 1, 0],
            "households": [350, 420, 300, 500],
        },
        geometry=grid_boxes(),
        crs="EPSG:4326",
    )
    src = zipped_shapefile(tmp_path, gdf, encoding="UTF-8")
    with zipfile.ZipFile(src) as zf:  # the real file has the cut names (GDAL cut them)
        assert {"community_", "full_time_", "part_time_"} <= set(gpd.read_file(src).columns), (
            zf.namelist()
        )
    (r,) = run_import(tmp_path / "d", boundaries=src, level="grid")
    assert r.imported == 4
    assert r.detected["mapping"]["parent_code"] == "community_"
    assert r.detected["mapping"]["full_time_workers"] == "full_time_"
    grids = open_dataset(tmp_path / "d")["grids"]
    assert grids["full_time_workers"].to_list() == [1, 0, 2, 1]
    assert grids["part_time_workers"].to_list() == [3, 2, 1, 0]


def test_a_mapped_name_cut_to_10_characters_matches_too(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"the_grid_code": GRIDS}, geometry=grid_boxes(), crs="EPSG:4326"
    )  # → the_grid_c in the .dbf
    mapping = tmp_path / "m.toml"
    mapping.write_text('[boundary_columns]\n"the_grid_code" = "code"\n', encoding="utf-8")
    src = zipped_shapefile(tmp_path, gdf, encoding="UTF-8")
    (r,) = run_import(tmp_path / "d", boundaries=src, level="grid", mapping=mapping)
    assert r.imported == 4 and r.detected["mapping"]["code"] == "the_grid_c"


def test_missing_code_says_which_names_were_looked_for_and_which_the_file_has(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"bianhao": GRIDS, "mc": list("abcd")}, geometry=grid_boxes(), crs="EPSG:4326"
    )
    (r,) = run_import(tmp_path / "d", boundaries=geojson(tmp_path, gdf), level="grid", dry_run=True)
    assert (r.imported, r.rejected) == (0, 4)
    msg = r.report.filter(pl.col("reason") == "missing_code")["message"][0]
    assert "looked for: grid_code, 网格编码" in msg and "wgdm" in msg
    assert "the file has: bianhao, mc" in msg
    assert '[boundary_columns] "<attribute>" = "code"' in msg


# --------------------------------------------------------------------------------------------
# re-division: --replace
# --------------------------------------------------------------------------------------------

NEW = COMMS[0] + "003"  # the new grid of 东湖社区: grids 1 and 2 merged
BEFORE = dt.datetime(2025, 3, 20, 12, 0)  # a frozen meeting's as_of, before the re-division
REDIVIDED = dt.datetime(2025, 4, 1, 12, 0)


def _cases_csv(tmp_path):
    # K1 in grid 1 with its point inside it, K2 in grid 2 without a point, K3 in grid 3
    # (西湖社区, not re-divided), K4 in grid 1 closed.
    src = tmp_path / "cases.csv"
    src.write_text(
        "事件编号,网格编码,经度,纬度,上报时间,办结时间,办理时限,事件类型,来源\n"
        f"K1,{GRIDS[0]},115.905,28.685,2025-03-01 08:00,,2025-03-05 08:00,环境卫生,网格员上报\n"
        f"K2,{GRIDS[1]},,,2025-03-02 08:00,,2025-03-06 08:00,环境卫生,网格员上报\n"
        f"K3,{GRIDS[2]},115.925,28.685,2025-03-03 08:00,,2025-03-30 08:00,环境卫生,网格员上报\n"
        f"K4,{GRIDS[0]},115.902,28.682,2025-03-04 08:00,2025-03-05 09:00,2025-03-08 08:00,环境卫生,网格员上报\n",
        encoding="utf-8",
    )
    return src


def _redivided_file(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"网格编码": [NEW], "网格名称": ["东湖社区新网格"], "户数": [770]},
        geometry=[shapely.box(X0, Y0, X0 + 2 * D, Y0 + D)],
        crs="EPSG:4326",
    )
    return geojson(tmp_path, gdf, "new.geojson")


@pytest.fixture
def redivided(tmp_path):
    """A district before and after 东湖社区 is re-divided (grids 1, 2 → one new grid)."""
    data = tmp_path / "data"
    run_import(data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid")
    run_import(data, cases=_cases_csv(tmp_path), now=REDIVIDED - dt.timedelta(days=2))
    before = open_dataset(data)
    (r,) = run_import(
        data, boundaries=_redivided_file(tmp_path), level="grid", replace=True, now=REDIVIDED
    )
    return before, open_dataset(data), r, data


def test_replace_retires_the_grids_the_file_no_longer_has_within_its_communities(redivided):
    before, after, r, _ = redivided
    grids = after["grids"].sort("grid_code")
    assert grids["grid_code"].to_list() == [*GRIDS[:2], NEW, *GRIDS[2:]]  # nothing deleted
    retired = dict(zip(grids["grid_code"], grids["retired_at"], strict=True))
    assert retired == {
        GRIDS[0]: REDIVIDED,
        GRIDS[1]: REDIVIDED,
        NEW: None,
        GRIDS[2]: None,
        GRIDS[3]: None,
    }
    assert grids.filter(pl.col("grid_code") == NEW)["valid_from"].to_list() == [REDIVIDED]
    assert r.detected["retired"] == {"grid": GRIDS[:2]}
    notes = r.report.filter(pl.col("severity") == "note")
    assert notes.filter(pl.col("reason") == "area_retired")["value"].to_list() == GRIDS[:2]
    assert not [w for w in r.warnings if "overlap" in w]  # retired grids are not checked


def test_cases_of_a_retired_grid_move_by_their_point_or_stay_and_none_is_lost(redivided):
    before, after, r, _ = redivided
    assert after["cases"].height == before["cases"].height == 4
    grid = dict(zip(after["cases"]["case_id"], after["cases"]["grid_code"], strict=True))
    assert grid == {"K1": NEW, "K2": GRIDS[1], "K3": GRIDS[2], "K4": NEW}
    moves = after["case_moves"].sort("case_id")
    assert moves.select("case_id", "from_grid_code", "to_grid_code").rows() == [
        ("K1", GRIDS[0], NEW),
        ("K4", GRIDS[0], NEW),
    ]
    assert moves["moved_at"].to_list() == [REDIVIDED, REDIVIDED]
    assert (r.detected["cases_reassigned"], r.detected["cases_kept"]) == (2, 1)
    notes = r.report.filter(pl.col("severity") == "note")
    assert notes.filter(pl.col("reason") == "case_reassigned")["value"].to_list() == ["K1", "K4"]
    kept = notes.filter(pl.col("reason") == "case_kept")
    assert kept["value"].to_list() == ["K2"] and "没有坐标" in kept["message"][0]
    assert any("2 case(s) re-assigned" in n and "1 kept" in n for n in r.notes)


def _kpis(ds, *, by, as_of, start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31)):
    flt = Filter(period="custom", start=start, end=end, as_of=as_of)
    return figures.kpis(ds, flt, Scope.everything(), by=by, window=flt.window())


def test_figures_as_of_before_the_redivision_are_unchanged_by_it(redivided):
    before, after, _, _ = redivided
    for by in (None, "street", "community", "grid"):
        assert_frame_equal(_kpis(after, by=by, as_of=BEFORE), _kpis(before, by=by, as_of=BEFORE))


def test_after_the_redivision_the_kept_case_counts_in_its_community_under_a_retired_grid(redivided):
    before, after, _, _ = redivided
    now = REDIVIDED + dt.timedelta(hours=1)
    old = _kpis(before, by="community", as_of=now)
    new = _kpis(after, by="community", as_of=now)
    cases = ["reported", "registered", "due", "closed", "overdue_open"]
    assert_frame_equal(new.select("code", *cases), old.select("code", *cases))
    # the division: 东湖社区 now has one grid (770 households: basic, outside 300–500)
    east = new.filter(pl.col("code") == COMMS[0]).row(0, named=True)
    assert (east["grids"], east["basic_grids"], east["basic_grids_size_ok"]) == (1, 1, 0)
    assert east["reported"] == 3  # K1, K2, K4
    east = old.filter(pl.col("code") == COMMS[0]).row(0, named=True)
    assert (east["grids"], east["basic_grids"], east["basic_grids_size_ok"]) == (2, 2, 2)
    by_grid = _kpis(after, by="grid", as_of=now)
    rows = {r["code"]: r for r in by_grid.iter_rows(named=True)}
    assert sorted(rows) == [GRIDS[1], NEW, *GRIDS[2:]]  # grid 1 kept no case: not listed
    assert rows[GRIDS[1]]["retired"] and rows[GRIDS[1]]["reported"] == 1
    assert rows[GRIDS[1]]["grids"] == 0  # not a grid of the current division
    assert (rows[NEW]["reported"], rows[NEW]["closed"], rows[NEW]["retired"]) == (2, 1, False)


def test_the_cli_gives_the_old_figures_as_of_before_the_redivision(tmp_path, capsys):
    data = tmp_path / "data"
    run_import(data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid")
    run_import(data, cases=_cases_csv(tmp_path), now=REDIVIDED - dt.timedelta(days=2))
    argv = ["kpis", "--data", str(data), "--from", "2025-03-01", "--to", "2025-03-31"]
    argv += ["--as-of", BEFORE.isoformat(), "--by", "grid", "--format", "json"]
    assert cli_main(argv) == 0
    old = capsys.readouterr().out
    src = _redivided_file(tmp_path)
    assert (
        cli_main(
            [
                "import",
                "--data",
                str(data),
                "--boundaries",
                str(src),
                "--level",
                "grid",
                "--replace",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "retired 2 grid(s)" in out and "re-assigned" in out
    assert cli_main(argv) == 0
    assert capsys.readouterr().out == old


def test_replace_with_a_rejected_feature_changes_nothing(tmp_path):
    data = tmp_path / "data"
    run_import(data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid")
    stamp = signature(data)
    gdf = gpd.GeoDataFrame(
        {"网格编码": [NEW, "123"]},
        geometry=[shapely.box(X0, Y0, X0 + 2 * D, Y0 + D)] * 2,
        crs="EPSG:4326",
    )
    with pytest.raises(DataError, match="--replace needs every feature to land; 1 rejected"):
        run_import(data, boundaries=geojson(tmp_path, gdf), level="grid", replace=True)
    assert signature(data) == stamp


def test_the_map_draws_the_current_division(redivided):
    from geo.maps import level_geometries

    _, after, _, _ = redivided
    assert level_geometries(after, level="grid")["code"].to_list() == [NEW, *GRIDS[2:]]


def test_replace_into_the_live_database(tmp_path, pg_url):
    """import --db --replace: the same re-division, written to PostgreSQL in one transaction."""
    from data_layer.ingest.database import import_into_database
    from data_layer.storage import pg_admin
    from data_layer.storage.postgres import read_dataset

    data = tmp_path / "data"
    run_import(data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid")
    run_import(data, cases=_cases_csv(tmp_path), now=REDIVIDED - dt.timedelta(days=2))
    pg_admin.load(pg_url, data)
    before = read_dataset(pg_url)
    (r,) = import_into_database(
        pg_url, boundaries=_redivided_file(tmp_path), level="grid", replace=True, now=REDIVIDED
    )
    assert r.detected["retired"] == {"grid": GRIDS[:2]}
    after = read_dataset(pg_url)
    retired = after["grids"].filter(pl.col("retired_at").is_not_null())["grid_code"].to_list()
    assert sorted(retired) == GRIDS[:2]
    assert after["cases"].height == 4
    assert sorted(after["case_moves"]["case_id"].to_list()) == ["K1", "K4"]
    grid = dict(zip(after["cases"]["case_id"], after["cases"]["grid_code"], strict=True))
    assert (grid["K1"], grid["K2"]) == (NEW, GRIDS[1])
    for by in ("community", "grid"):
        assert_frame_equal(_kpis(after, by=by, as_of=BEFORE), _kpis(before, by=by, as_of=BEFORE))


def test_a_retired_grid_is_labelled_in_both_languages():
    from data_layer.domain import labels

    assert (
        labels.area_name("第1网格", retired=True, level="grid", lang="zh")
        == "第1网格（已撤销网格）"
    )
    assert (
        labels.area_name("第1网格", retired=True, level="grid", lang="en")
        == "第1网格 (retired grid)"
    )
    assert labels.area_name("第1网格", retired=False, level="grid", lang="zh") == "第1网格"


def test_a_frozen_meeting_from_before_the_redivision_keeps_its_figures(redivided):
    from documents.briefing import Meeting, build_briefing

    before, after, _, _ = redivided
    meeting = Meeting.for_month(2025, 3, as_of=BEFORE)
    old = build_briefing(before, meeting, Scope.everything())
    new = build_briefing(after, meeting, Scope.everything())
    assert [s.key for s in new.slides] == [s.key for s in old.slides]
    for a, b in zip(new.slides, old.slides, strict=True):
        if a.key == "notes":  # the data version (the import made a new one) may differ
            a, b = ([n for n in x.notes if "数据版本" not in n] for x in (a, b))
        assert a == b
    assert_frame_equal(new.map_values, old.map_values)


def test_a_data_directory_from_before_the_lifetime_columns_still_opens(tmp_path):
    from data_layer.domain import schema

    (r,) = run_import(
        tmp_path / "d", boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid"
    )
    ds = open_dataset(tmp_path / "d")
    old = tmp_path / "old"
    old.mkdir()
    for table, frame in ds.tables.items():
        if table in schema.LATER_TABLES:
            continue
        frame.drop(schema.LATER_COLUMNS.get(table, ())).write_parquet(old / f"{table}.parquet")
    again = open_dataset(old)
    assert again["grids"]["retired_at"].null_count() == again["grids"].height == 4
    assert again["case_moves"].is_empty()


def test_a_community_redivision_retires_the_community_and_its_grids(tmp_path):
    """A street file of communities: 西湖社区 is gone, a new 南湖社区 comes; 西湖's grids go with
    it, and their cases — whose points now lie in no current grid — stay under them."""
    data = tmp_path / "data"
    run_import(data, boundaries=zipped_shapefile(tmp_path, grids_gdf()), level="grid")
    run_import(data, cases=_cases_csv(tmp_path), now=REDIVIDED - dt.timedelta(days=2))
    south = S + "003"
    gdf = gpd.GeoDataFrame(
        {"社区编码": [COMMS[0], south], "社区名称": ["东湖社区", "南湖社区"]},
        geometry=[
            shapely.box(X0, Y0, X0 + 2 * D, Y0 + D),
            shapely.box(X0 + 2 * D, Y0, X0 + 4 * D, Y0 + D),
        ],
        crs="EPSG:4326",
    )
    (r,) = run_import(
        data, boundaries=geojson(tmp_path, gdf), level="community", replace=True, now=REDIVIDED
    )
    assert r.detected["retired"] == {"community": [COMMS[1]], "grid": GRIDS[2:]}
    assert r.detected["added"] == [south]
    assert (r.detected["cases_reassigned"], r.detected["cases_kept"]) == (0, 1)  # K3
    ds = open_dataset(data)
    assert ds["cases"].height == 4
    now = REDIVIDED + dt.timedelta(hours=1)
    by_community = {
        row["code"]: row for row in _kpis(ds, by="community", as_of=now).iter_rows(named=True)
    }
    assert by_community[COMMS[1]]["retired"] and by_community[COMMS[1]]["reported"] == 1
    assert by_community[south]["reported"] == 0 and not by_community[south]["retired"]
    assert _kpis(ds, by=None, as_of=now)["reported"].to_list() == [4]
