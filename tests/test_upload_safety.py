"""Hostile uploads (issue 14, holes 1 and 6): GDAL reads no server file and fetches no URL
through a boundary file; zips are checked before anything is unpacked; raw uploads never stay
on disk; the upload limit is one setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyogrio
import pytest
from test_import_boundaries import GRIDS, grids_gdf, zipped_shapefile
from test_import_page import CSV, button, page, shown_text, upload

from data_layer import settings
from data_layer.ingest import archives, run_import
from data_layer.ingest.boundary_files import read_boundaries
from data_layer.storage.source import DataError, signature

ROOT = Path(__file__).resolve().parent.parent
SECRET = "SECRET-7f3a-not-for-uploads"
OS_RELEASE = Path("/etc/os-release")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@contextmanager
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A local server that answers every path with a valid grid GeoJSON, and the requests."""
    body = grids_gdf().to_json().encode()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def direct(monkeypatch):
    """No proxy between GDAL's curl and the local server (a proxy would hide a request)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture
def temp_root(tmp_path, monkeypatch) -> Path:
    """Every tempfile.mkdtemp / TemporaryDirectory of the process lands here."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def vrt(source: str, layer: str, *, wkt_field: str | None = None) -> str:
    geometry = f'<GeometryField encoding="WKT" field="{wkt_field}"/>' if wkt_field else ""
    return (
        '<OGRVRTDataSource><OGRVRTLayer name="grids">'
        f"<SrcDataSource>{source}</SrcDataSource><SrcLayer>{layer}</SrcLayer>{geometry}"
        "<LayerSRS>EPSG:4326</LayerSRS></OGRVRTLayer></OGRVRTDataSource>"
    )


def secret_csv(tmp_path: Path) -> Path:
    """A server file a VRT could expose: a grid polygon (so GDAL reads it as a layer) + a secret."""
    path = tmp_path / "secret.csv"
    poly = "POLYGON((115.9 28.68,115.91 28.68,115.91 28.69,115.9 28.69,115.9 28.68))"
    path.write_text(f'wkt,网格编码,token\n"{poly}",{GRIDS[0]},{SECRET}\n', encoding="utf-8")
    return path


def refused(data_dir: Path, src: Path, match: str) -> str:
    """The import of ``src`` fails with ``match`` and changes nothing; the message."""
    before = signature(data_dir) if data_dir.exists() else ()
    with pytest.raises(DataError, match=match) as info:
        run_import(data_dir, boundaries=src, level="grid")
    assert (signature(data_dir) if data_dir.exists() else ()) == before
    return str(info.value)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def zeros_zip(path: Path, member: str, mib: int) -> Path:
    """A zip bomb: ``mib`` MiB of zeros, streamed in (a ~100 KB file for 100 MiB)."""
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(member, "w") as out:
        for _ in range(mib):
            out.write(chunk)
    return path


# --------------------------------------------------------------------------------------------
# hole 1: GDAL reads only what the extension says, and nothing on the network
# --------------------------------------------------------------------------------------------


def test_geojson_that_is_a_vrt_of_a_server_file_is_refused_and_shows_nothing_of_it(tmp_path):
    src = tmp_path / "grids.geojson"
    src.write_text(vrt(f"CSV:{secret_csv(tmp_path)}", "secret", wkt_field="wkt"))
    message = refused(tmp_path / "data", src, "is not GeoJSON")
    assert SECRET not in message and "secret.csv" not in message


@pytest.mark.skipif(not OS_RELEASE.is_file(), reason="no /etc/os-release on this machine")
def test_geojson_that_is_a_vrt_of_etc_os_release_is_refused(tmp_path):
    src = tmp_path / "grids.geojson"
    src.write_text(vrt(f"CSV:{OS_RELEASE}", "os-release"))
    message = refused(tmp_path / "data", src, "is not GeoJSON")
    first_line = OS_RELEASE.read_text().splitlines()[0]
    assert first_line not in message and "os-release" not in message


def test_vrt_pointing_at_vsicurl_makes_no_request(tmp_path, direct):
    with http_server() as (url, seen):
        src = tmp_path / "grids.geojson"
        src.write_text(vrt(f"/vsicurl/{url}/grids.geojson", "grids"))
        refused(tmp_path / "data", src, "is not GeoJSON")
        assert seen == []


def crs_link_variants(url: str) -> dict[str, str]:
    """GeoJSON whose crs GDAL would fetch from ``url`` with its own HTTP client (each one was
    seen to make a request before the check): top level in capitals, in a geometry, behind a
    \\u escape, and with a trailing comma GDAL's lenient parser accepts."""
    link = json.dumps({"type": "link", "properties": {"href": f"{url}/crs", "type": "proj4"}})
    doc = json.loads(grids_gdf().to_json())
    doc.pop("crs", None)
    features = json.dumps(doc["features"])
    geometry_crs = json.loads(features)
    geometry_crs[0]["geometry"]["crs"] = json.loads(link)
    head = '{"type": "FeatureCollection", '
    return {
        "capitals": head + f'"CRS": {link}, "features": {features}}}',
        "geometry": head + f'"features": {json.dumps(geometry_crs)}}}',
        "escaped": head + f'"\\u0063rs": {link}, "features": {features}}}',
        "trailing comma": head + f'"crs": {link[:-1]}, }}, "features": {features}}}',
    }


@pytest.mark.parametrize("variant", ["capitals", "geometry", "escaped", "trailing comma"])
def test_geojson_with_a_crs_link_makes_no_request(tmp_path, direct, variant):
    with http_server() as (url, seen):
        src = tmp_path / "grids.geojson"
        src.write_text(crs_link_variants(url)[variant])
        message = refused(tmp_path / "data", src, "'crs' is a link|not valid JSON")
        assert url not in message
        assert seen == []


def test_geojson_with_a_crs_name_still_imports(tmp_path):
    # GDAL and QGIS write "crs": {"type": "name", ... "urn:ogc:def:crs:EPSG::4490"}
    src = tmp_path / "grids.geojson"
    grids_gdf().to_crs("EPSG:4490").to_file(src, driver="GeoJSON")
    assert b'"crs": { "type": "name"' in src.read_bytes()
    (result,) = run_import(tmp_path / "data", boundaries=src, level="grid")
    assert result.imported == 4 and result.detected["crs"] == "cgcs2000"


def test_gdal_network_file_systems_stay_off_after_a_boundary_read(tmp_path, direct):
    # the config option is the second line of defence: even a /vsicurl/ name GDAL is handed
    # directly fetches nothing once boundaries have been read in this process
    src = tmp_path / "grids.geojson"
    src.write_text(grids_gdf().to_json())
    read_boundaries(src)
    with http_server() as (url, seen):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_info(f"/vsicurl/{url}/grids.geojson")
        assert seen == []


def test_gpkg_that_is_really_something_else_is_refused(tmp_path, direct):
    with http_server() as (url, seen):
        for name, content in {
            "vrt.gpkg": vrt(f"/vsicurl/{url}/grids.geojson", "grids"),
            "geojson.gpkg": grids_gdf().to_json(),
            "sqlite.gpkg": "SQLite format 3\x00" + "\x00" * 200,  # SQLite, no GeoPackage id
        }.items():
            src = tmp_path / name
            src.write_text(content)
            refused(tmp_path / "data", src, "is not a GeoPackage")
        assert seen == []


def test_a_real_geopackage_still_imports(tmp_path):
    src = tmp_path / "grids.gpkg"
    grids_gdf().to_file(src, driver="GPKG")
    (result,) = run_import(tmp_path / "data", boundaries=src, level="grid")
    assert result.imported == 4


def test_zip_holding_a_vrt_is_refused(tmp_path, direct):
    secret = secret_csv(tmp_path)
    with http_server() as (url, seen):
        cases = {
            "as-geojson.zip": (
                {"grids.geojson": vrt(f"CSV:{secret}", "secret", wkt_field="wkt")},
                "is not GeoJSON",
            ),
            "as-shp.zip": (
                {"grids.shp": vrt(f"/vsicurl/{url}/g.geojson", "g"), "grids.dbf": "x"},
                "not a Shapefile",
            ),
            "as-vrt.zip": ({"grids.vrt": vrt(f"CSV:{secret}", "secret")}, "no boundary file"),
        }
        for name, (members, match) in cases.items():
            src = write_zip(tmp_path / name, {k: v.encode() for k, v in members.items()})
            assert SECRET not in refused(tmp_path / "data", src, match)
        assert seen == []


def test_gdal_errors_name_the_users_file_not_a_server_path(tmp_path):
    src = tmp_path / "grids.gpkg"
    src.write_bytes(
        b"SQLite format 3\x00" + bytes(52) + b"GPKG" + b"garbage" * 100
    )  # right header, broken database
    message = refused(tmp_path / "data", src, "cannot read grids.gpkg")
    assert "gridpulse-boundaries" not in message and tempfile.gettempdir() not in message


# --------------------------------------------------------------------------------------------
# hole 6: zips are checked before anything is unpacked
# --------------------------------------------------------------------------------------------


def test_zip_bomb_is_refused_before_extraction_and_quickly(tmp_path, temp_root, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB", "64")
    bomb = zeros_zip(tmp_path / "grids.zip", "grids.shp", 100)
    assert bomb.stat().st_size < 200 * 1024  # ~100 KB on disk, 100 MiB unpacked
    copied: list[str] = []
    monkeypatch.setattr(archives, "copy_member", lambda *a, **k: copied.append(a[1].filename))
    started = time.monotonic()
    message = refused(tmp_path / "data", bomb, "unpacks to 100 MB")
    assert time.monotonic() - started < 2.0
    assert "64 MB" in message and "GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB" in message
    assert copied == [] and list(temp_root.iterdir()) == []


def test_declared_size_over_the_default_limit_is_refused(tmp_path):
    # a central directory claiming 2 GiB is refused by the default 1 GiB limit without unpacking
    src = zipped_shapefile(tmp_path, grids_gdf())
    data = bytearray(src.read_bytes())
    at = data.index(b"PK\x01\x02")  # first central directory entry: uncompressed size at +24
    data[at + 24 : at + 28] = (2 << 30).to_bytes(4, "little")
    src.write_bytes(bytes(data))
    refused(tmp_path / "data", src, "more than the 1,024 MB allowed")


def test_a_member_that_unpacks_to_more_than_declared_is_cut_off(tmp_path):
    src = write_zip(tmp_path / "lie.zip", {"grids.shp": bytes(10 << 20)})
    data = bytearray(src.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local and central header
        at = data.index(sig)
        data[at + offset : at + offset + 4] = (1024).to_bytes(4, "little")
    src.write_bytes(bytes(data))
    dest = tmp_path / "out.shp"
    with zipfile.ZipFile(src) as zf, pytest.raises(DataError, match="damaged"):
        archives.copy_member(zf, zf.infolist()[0], dest, name="lie.zip")
    assert dest.stat().st_size <= 1024


def test_too_many_members(tmp_path, monkeypatch):
    src = zipped_shapefile(tmp_path, grids_gdf())
    with zipfile.ZipFile(src, "a") as zf:
        for i in range(1001 - len(zf.infolist())):
            zf.writestr(f"notes/{i}.txt", b"")
    message = refused(tmp_path / "data", src, "too many files")
    assert "1,001 > 1,000" in message and "GRIDPULSE_UPLOAD_MAX_MEMBERS" in message
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_MEMBERS", "2000")
    (result,) = run_import(tmp_path / "data", boundaries=src, level="grid")
    assert result.imported == 4


def test_zip_inside_a_zip_is_refused(tmp_path):
    inner = zipped_shapefile(tmp_path, grids_gdf()).read_bytes()
    src = write_zip(tmp_path / "outer.zip", {"grids/inner.zip": inner})
    refused(tmp_path / "data", src, "contains another archive")


@pytest.mark.parametrize(
    "name", ["../../evil.shp", "/etc/evil.shp", "a/../../evil.shp", "C:\\evil.shp"]
)
def test_path_traversal_names_are_refused(tmp_path, name):
    shp = zipped_shapefile(tmp_path, grids_gdf())
    src = tmp_path / "traversal.zip"
    with zipfile.ZipFile(shp) as good, zipfile.ZipFile(src, "w") as zf:
        for info in good.infolist():
            zf.writestr(info.filename, good.read(info))
        zf.writestr(name, b"x")
    refused(tmp_path / "data", src, "unsafe file name")
    assert not list(tmp_path.parent.glob("**/evil.shp"))


def test_upper_case_shapefile_in_a_zip_imports(tmp_path):
    shp = zipped_shapefile(tmp_path, grids_gdf())
    src = tmp_path / "upper.zip"
    with zipfile.ZipFile(shp) as good, zipfile.ZipFile(src, "w") as zf:
        for info in good.infolist():
            zf.writestr("GRIDS/" + info.filename.upper(), good.read(info))
        zf.writestr("__MACOSX/GRIDS/._GRIDS.SHP", b"resource fork")
    (result,) = run_import(tmp_path / "data", boundaries=src, level="grid")
    assert result.imported == 4


def test_xlsx_bomb_is_refused_before_openpyxl(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB", "64")
    bomb = zeros_zip(tmp_path / "cases.xlsx", "xl/worksheets/sheet1.xml", 100)
    started = time.monotonic()
    with pytest.raises(DataError, match="unpacks to 100 MB"):
        run_import(tmp_path / "data", cases=bomb)
    assert time.monotonic() - started < 2.0


# --------------------------------------------------------------------------------------------
# hole 6: no raw file stays on disk
# --------------------------------------------------------------------------------------------


def leftovers(temp_root: Path, data_dir: Path) -> list[str]:
    found = [p.name for p in temp_root.iterdir()]
    if data_dir.exists():
        found += [
            p.name for p in data_dir.rglob(".*") if p.name.startswith((".parts-", ".staging-"))
        ]
    return found


def test_import_runs_leave_no_temporary_files(tmp_path, tiny_dir, temp_root):
    cases = tmp_path / "cases.csv"
    cases.write_bytes(CSV)
    run_import(tiny_dir, cases=cases, dry_run=True)
    assert leftovers(temp_root, tiny_dir) == []
    run_import(tiny_dir, cases=cases)
    assert leftovers(temp_root, tiny_dir) == []
    with pytest.raises(RuntimeError):
        run_import(tiny_dir, cases=cases, _fail_after_write=True)
    assert leftovers(temp_root, tiny_dir) == []
    broken = tmp_path / "broken.csv"
    broken.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="required fields"):
        run_import(tiny_dir, cases=broken)
    assert leftovers(temp_root, tiny_dir) == []


def test_boundary_reads_leave_no_temporary_files(tmp_path, temp_root):
    src = zipped_shapefile(tmp_path, grids_gdf())
    run_import(tmp_path / "data", boundaries=src, level="grid", dry_run=True)
    run_import(tmp_path / "data", boundaries=src, level="grid")
    (tmp_path / "bad.geojson").write_text("<OGRVRTDataSource/>")
    with pytest.raises(DataError):
        run_import(tmp_path / "data", boundaries=tmp_path / "bad.geojson", level="grid")
    assert leftovers(temp_root, tmp_path / "data") == []


def uploads_on_disk(temp_root: Path) -> list[Path]:
    return list(temp_root.glob("gridpulse-upload-*"))


def test_page_keeps_no_upload_on_disk(monkeypatch, tiny_dir, temp_root):
    at = upload(page(monkeypatch, tiny_dir), "cases.csv", CSV)
    assert at.dataframe and uploads_on_disk(temp_root) == []  # after the preview
    at = button(at, "import_dry")
    assert "读取 2 = 导入 1 + 拒绝 1" in shown_text(at)
    assert uploads_on_disk(temp_root) == []  # after a dry run
    at = button(at, "import_go")
    assert not at.error and uploads_on_disk(temp_root) == []  # after the import


def test_page_keeps_no_upload_on_disk_when_the_import_fails(monkeypatch, tiny_dir, temp_root):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("data_layer.ingest.run_import", boom)
    at = button(upload(page(monkeypatch, tiny_dir), "cases.csv", CSV), "import_go")
    assert at.error and uploads_on_disk(temp_root) == []
    at = upload(page(monkeypatch, tiny_dir), "cases.csv", b"a,b\n\xff\xff\n")  # no encoding
    assert at.error and uploads_on_disk(temp_root) == []


def test_uploaded_names_never_become_paths(monkeypatch, tiny_dir, temp_root):
    seen: list[Path] = []
    real = Path.write_bytes

    def spy(self, data):
        seen.append(self)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", spy)
    upload(page(monkeypatch, tiny_dir), "../../x:y?.csv", CSV)
    (written,) = [p for p in seen if "gridpulse-upload-" in str(p)]
    assert written.parent.parent == temp_root and written.name == "x_y_.csv"


# --------------------------------------------------------------------------------------------
# hole 6: the upload limit is one setting
# --------------------------------------------------------------------------------------------


def test_upload_settings(monkeypatch):
    for name in (
        "GRIDPULSE_UPLOAD_MAX_MB",
        "GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB",
        "GRIDPULSE_UPLOAD_MAX_MEMBERS",
    ):
        monkeypatch.delenv(name, raising=False)
    assert settings.upload_max_mb() == 200
    assert settings.archive_limits() == settings.ArchiveLimits(1024 * 1024 * 1024, 1000)
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_MB", "50")
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB", "2")
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_MEMBERS", "many")  # not a number: the default
    assert settings.upload_max_mb() == 50
    assert settings.archive_limits() == settings.ArchiveLimits(2 * 1024 * 1024, 1000)


def test_page_refuses_a_file_over_the_upload_limit(monkeypatch, tiny_dir, temp_root):
    monkeypatch.setenv("GRIDPULSE_UPLOAD_MAX_MB", "1")
    at = page(monkeypatch, tiny_dir)
    assert at.get("file_uploader")[0].proto.max_upload_size_mb == 1  # the widget is told too
    big = CSV + b"x" * (settings.MB + 1)
    at = upload(at, "cases.csv", big)
    assert "1 MB" in at.error[0].value and "GRIDPULSE_UPLOAD_MAX_MB" in at.error[0].value
    assert not at.dataframe and list(temp_root.iterdir()) == []


def test_make_run_gives_streamlit_the_same_limit():
    recipe = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    flag = recipe.split("--server.maxUploadSize", 1)[1]
    code = flag.split("-c '", 1)[1].split("'", 1)[0]  # what the shell substitution runs
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GRIDPULSE_UPLOAD_MAX_MB": "321"},
    )
    assert out.stdout.strip() == "321"
