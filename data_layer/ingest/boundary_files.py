"""Reading a boundary file: GeoJSON, a (zipped) Shapefile or a GeoPackage → features in WGS 84.

* CRS: the file's own (``.prj``, GeoPackage SRS) unless ``--crs`` says otherwise; a file without
  any CRS needs ``--crs`` and says so. GeoJSON is WGS 84 by its specification, so a GeoJSON
  digitised on AMap (GCJ-02) or Baidu (BD-09) needs ``--crs gcj02`` / ``--crs bd09``.
* Shapefile attribute encoding from the ``.cpg``; without one, UTF-8 is tried, then GB18030.
* Coordinates outside China after the conversion mean a wrong CRS: the file is refused.
* GDAL reads only a checked copy, with the one driver of its extension (``boundary_staging``),
  and with its network file systems off (``GDAL_CONFIG``): docs/security.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj

from data_layer.ingest.boundary_staging import SHAPEFILE, Staged, stage
from data_layer.storage.source import DataError
from geo.crs import CRSError, to_wgs84

CHINA = (73.0, 3.0, 136.0, 54.0)
SUFFIXES = (".zip", ".shp", ".geojson", ".json", ".gpkg")
# GDAL's network file systems (/vsicurl/, /vsis3/, /vsigs/ …) open only this one name, which
# is no /vsi path: whatever a file names, reading boundaries never makes GDAL fetch a URL.
GDAL_CONFIG = {"CPL_VSIL_CURL_ALLOWED_FILENAME": "none: GridPulse reads no URL"}


def read_boundaries(
    path: Path | str, *, crs: str | None = None, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """The features in WGS 84 and the source CRS used."""
    path = _supported_file(Path(path))
    gdf = _read_features(path, layer=layer)
    gdf, source = _to_wgs84(gdf, crs=crs, name=path.name)
    _check_in_china(gdf)
    return gdf, source


def _supported_file(path: Path) -> Path:
    if not path.is_file():
        raise DataError(f"文件不存在 / file not found: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"文件为空 / the file is empty: {path.name}")
    ext = path.suffix.lower()
    if ext not in SUFFIXES:
        raise DataError(
            f"不支持的边界文件 / unsupported boundary file {ext}: 请用 GeoJSON、Shapefile(.zip) 或 GeoPackage。"
        )
    return path


def _read_features(path: Path, *, layer: str | None) -> gpd.GeoDataFrame:
    pyogrio.set_gdal_config_options(GDAL_CONFIG)
    with tempfile.TemporaryDirectory(prefix="gridpulse-boundaries-") as tmp:
        staged = stage(path, Path(tmp))
        try:
            _check_driver(staged, name=path.name)
            gdf = _read_layer(staged, layer=layer)
        except DataError:
            raise
        except Exception as exc:
            # GDAL names the staged copy: show the user's file name, never a server path
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            text = text.replace(str(staged.file), path.name).replace(tmp, "")
            raise DataError(f"无法读取边界文件 / cannot read {path.name}: {text}") from exc
    if gdf.empty:
        raise DataError(f"边界文件中没有要素 / no features in {path.name}")
    return gdf


def _check_driver(staged: Staged, *, name: str) -> None:
    """A Shapefile has no driver prefix: make sure the Shapefile driver is the one that read it."""
    if staged.driver == SHAPEFILE:
        driver = pyogrio.read_info(staged.gdal_path)["driver"]
        if driver != SHAPEFILE:
            raise DataError(f"{name} 中的 .shp 不是 Shapefile / the .shp is not a Shapefile")


def _read_layer(staged: Staged, *, layer: str | None) -> gpd.GeoDataFrame:
    if staged.driver != SHAPEFILE or staged.has_cpg:
        return pyogrio.read_dataframe(staged.gdal_path, layer=layer)
    try:
        return pyogrio.read_dataframe(staged.gdal_path, layer=layer, encoding="utf-8")
    except Exception:  # not UTF-8: Chinese shapefiles without .cpg are GBK
        return pyogrio.read_dataframe(staged.gdal_path, layer=layer, encoding="gb18030")


def _to_wgs84(gdf: gpd.GeoDataFrame, *, crs: str | None, name: str) -> tuple[gpd.GeoDataFrame, str]:
    """The features converted from ``crs`` (given), or else from the file's own CRS."""
    if crs is not None:
        try:
            return to_wgs84(gdf, source=crs), crs
        except CRSError as exc:
            raise DataError(f"坐标系不一致 / CRS mismatch: {exc}") from exc
    if gdf.crs is None:
        raise DataError(
            f"{name} 没有坐标系信息（缺少 .prj 等）/ the file has no CRS information: "
            "请用 --crs 指定，例如 --crs gcj02（高德）、bd09（百度）、cgcs2000、wgs84 或 EPSG:4547。"
        )
    source = _crs_name(gdf.crs)
    if source is None:
        gdf = gdf.to_crs("EPSG:4326")
        return gdf, gdf.crs.to_string()
    return to_wgs84(gdf, source=source), source


def _crs_name(crs: pyproj.CRS) -> str | None:
    """The file's CRS as ``geo.crs`` names it (None: no EPSG code to name it by)."""
    epsg = crs.to_epsg()
    if epsg == 4490:
        return "cgcs2000"
    if crs.is_geographic:
        return "wgs84"
    return f"EPSG:{epsg}" if epsg else None


def _check_in_china(gdf: gpd.GeoDataFrame) -> None:
    """Coordinates outside China after conversion mean the CRS was wrong."""
    valid = gdf.geometry[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if not len(valid):
        return
    x0, y0, x1, y1 = valid.total_bounds
    if not (
        np.isfinite([x0, y0, x1, y1]).all()
        and x0 >= CHINA[0]
        and x1 <= CHINA[2]
        and y0 >= CHINA[1]
        and y1 <= CHINA[3]
    ):
        raise DataError(
            f"换算后的坐标不在中国境内 / coordinates are outside China after conversion "
            f"({x0:.3f},{y0:.3f} – {x1:.3f},{y1:.3f}): 坐标系是否指定错了？请检查 --crs。"
        )
