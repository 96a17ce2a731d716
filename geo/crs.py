"""Coordinate systems by name, and converting points, geometries and frames between them.

GridPulse stores every geometry in WGS 84 (EPSG:4326). Boundary files and case
coordinates arrive in other systems and are converted on import:

* ``"wgs84"`` — WGS 84 longitude/latitude (EPSG:4326); identity.
* ``"cgcs2000"`` — China Geodetic Coordinate System 2000 longitude/latitude
  (EPSG:4490). It differs from WGS 84 by centimetres, far below the accuracy of
  any grid boundary, and is treated as identity.
* ``"gcj02"`` — AMap (高德) / Tencent, and ``"bd09"`` — Baidu: WGS 84 moved by China's
  published offsets (the formulas and their exact inverses are :mod:`geo.china_offsets`).
* ``"EPSG:NNNN"`` — any CRS pyproj knows, e.g. a CGCS2000 Gauss–Krüger zone
  (EPSG:4547) or Web Mercator (EPSG:3857); converted with pyproj.

Every conversion goes through WGS 84: source → WGS 84 → target.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Final, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geo._arrays import FloatArray, FloatOut, as_float_arrays, scalar
from geo._errors import CRSError
from geo.china_offsets import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

__all__ = [
    "CRSError",
    "LONLAT_SYSTEMS",
    "convert_lonlat",
    "normalize_crs",
    "to_gcj02",
    "to_wgs84",
]

LONLAT_SYSTEMS: Final[tuple[str, ...]] = ("wgs84", "cgcs2000", "gcj02", "bd09")
"""Canonical names of the longitude/latitude systems handled without pyproj."""

_ALIASES: Final[dict[str, str]] = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "wgs 84": "wgs84",
    "epsg:4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "cgcs-2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
}
_EPSG_RE: Final = re.compile(r"^epsg:(\d{4,6})$")

GeoData = TypeVar("GeoData", BaseGeometry, gpd.GeoSeries, gpd.GeoDataFrame)


# --------------------------------------------------------------------------- #
# CRS names
# --------------------------------------------------------------------------- #
def normalize_crs(name: str) -> str:
    """Return the canonical form of a source CRS name.

    Parameters
    ----------
    name : str
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"`` (case-insensitive,
        hyphenated spellings such as ``"GCJ-02"`` accepted; ``"EPSG:4326"`` and
        ``"EPSG:4490"`` map to ``"wgs84"`` and ``"cgcs2000"``), or
        ``"EPSG:NNNN"`` for any CRS pyproj knows.

    Returns
    -------
    str
        One of :data:`LONLAT_SYSTEMS`, or ``"EPSG:NNNN"``.

    Raises
    ------
    CRSError
        If the name is not recognised or the EPSG code is unknown to pyproj.
    """
    if not isinstance(name, str):
        raise CRSError(f"CRS name must be a string, got {type(name).__name__}: {name!r}")
    key = name.strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    match = _EPSG_RE.match(key)
    if match is None:
        raise CRSError(
            f"unknown CRS {name!r}; expected one of {', '.join(LONLAT_SYSTEMS)} or 'EPSG:NNNN'"
        )
    code = f"EPSG:{match.group(1)}"
    try:
        pyproj.CRS.from_user_input(code)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"unknown CRS {name!r}: {exc}") from exc
    return code


@functools.lru_cache(maxsize=32)
def _transformer(src: str, dst: str) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


_LONLAT_TO_WGS = {
    "wgs84": None,
    "cgcs2000": None,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}


def convert_lonlat(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    source: str,
    target: str = "wgs84",
) -> tuple[FloatOut, FloatOut]:
    """Convert coordinate arrays between any two supported systems.

    Parameters
    ----------
    x, y : array_like
        Longitude/latitude in degrees, or easting/northing for a projected
        ``EPSG:`` source (always x first).
    source, target : str
        CRS names accepted by :func:`normalize_crs`. ``target`` defaults to WGS 84.

    Returns
    -------
    tuple of numpy.ndarray
        ``(x, y)`` in the target system.

    Raises
    ------
    CRSError
        For an unknown CRS name.
    """
    src = normalize_crs(source)
    dst = normalize_crs(target)
    lon, lat = _points_to_wgs84(*as_float_arrays(x, y), src=src)
    return _points_from_wgs84(lon, lat, dst=dst)


def _points_to_wgs84(x: FloatArray, y: FloatArray, *, src: str) -> tuple[FloatOut, FloatOut]:
    """Points in the (normalised) ``src`` system → WGS 84 lon/lat."""
    if src in _LONLAT_TO_WGS:
        fn = _LONLAT_TO_WGS[src]
        return (x, y) if fn is None else fn(x, y)
    lon, lat = _transformer(src, "EPSG:4326").transform(x, y)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _points_from_wgs84(lon: FloatOut, lat: FloatOut, *, dst: str) -> tuple[FloatOut, FloatOut]:
    """WGS 84 lon/lat → points in the (normalised) ``dst`` system."""
    if dst in ("wgs84", "cgcs2000"):
        return scalar(np.asarray(lon)), scalar(np.asarray(lat))
    if dst == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if dst == "bd09":
        return wgs84_to_bd09(lon, lat)
    out_x, out_y = _transformer("EPSG:4326", dst).transform(lon, lat)
    return scalar(np.asarray(out_x, dtype=np.float64)), scalar(np.asarray(out_y, dtype=np.float64))


# --------------------------------------------------------------------------- #
# geometries and frames
# --------------------------------------------------------------------------- #
def _coords_fn(source: str, target: str) -> Callable[[FloatArray], FloatArray]:
    def fn(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64, copy=True)
        if out.shape[0] == 0:
            return out
        out[:, 0], out[:, 1] = convert_lonlat(
            coords[:, 0], coords[:, 1], source=source, target=target
        )
        return out

    return fn


def _transform_geoms(geoms: object, *, source: str, target: str) -> object:
    # include_z=None keeps each geometry's own dimensionality; z is passed through.
    return shapely.transform(geoms, _coords_fn(source, target), include_z=None)


def _check_frame_crs(frame: gpd.GeoSeries | gpd.GeoDataFrame, src: str) -> None:
    crs = frame.crs
    if crs is None:
        return
    if src in LONLAT_SYSTEMS:
        if not crs.is_geographic:
            raise CRSError(
                f"data is tagged {crs.to_string()} (projected) but declared to be in {src!r}"
            )
        return
    if not crs.equals(pyproj.CRS.from_user_input(src)):
        raise CRSError(f"data is tagged {crs.to_string()} but declared to be in {src!r}")


def _frame_to_wgs84(geom: gpd.GeoSeries, src: str) -> gpd.GeoSeries:
    if src in LONLAT_SYSTEMS:
        values = _transform_geoms(np.asarray(geom.array), source=src, target="wgs84")
        return gpd.GeoSeries(values, index=geom.index, crs="EPSG:4326", name=geom.name)
    tagged = geom if geom.crs is not None else geom.set_crs(src)
    return tagged.to_crs("EPSG:4326")


def _frame_from_wgs84(geom: gpd.GeoSeries, dst: str) -> gpd.GeoSeries:
    if dst in LONLAT_SYSTEMS:
        values = _transform_geoms(np.asarray(geom.array), source="wgs84", target=dst)
        return gpd.GeoSeries(values, index=geom.index, crs="EPSG:4326", name=geom.name)
    return geom.to_crs(dst)


def _convert(data: GeoData, *, source: str, target: str) -> GeoData:
    src = normalize_crs(source)
    dst = normalize_crs(target)
    if isinstance(data, (gpd.GeoSeries, gpd.GeoDataFrame)):
        _check_frame_crs(data, src)
        geom = data.geometry if isinstance(data, gpd.GeoDataFrame) else data
        new_geom = _frame_from_wgs84(_frame_to_wgs84(geom, src), dst)
        if isinstance(data, gpd.GeoSeries):
            return new_geom
        name = data.geometry.name
        out = data.copy()
        out[name] = new_geom
        return out.set_geometry(name, crs=new_geom.crs)
    if isinstance(data, BaseGeometry):
        return _transform_geoms(data, source=src, target=dst)  # type: ignore[return-value]
    raise TypeError(
        f"expected a shapely geometry, GeoSeries or GeoDataFrame, got {type(data).__name__}"
    )


def to_wgs84(data: GeoData, *, source: str) -> GeoData:
    """Convert a geometry, GeoSeries or GeoDataFrame to WGS 84 longitude/latitude.

    Parameters
    ----------
    data : shapely geometry, geopandas.GeoSeries or geopandas.GeoDataFrame
        The input, in the ``source`` system. A frame's own ``crs`` may be unset;
        if set it must agree with ``source`` (any geographic CRS is accepted for
        the longitude/latitude systems, as GCJ-02/BD-09 files are commonly
        mis-tagged EPSG:4326).
    source : str
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"`` or ``"EPSG:NNNN"``.

    Returns
    -------
    same type as ``data``
        A new object in WGS 84; frames are tagged EPSG:4326. The input is not
        modified. Z coordinates are carried through unchanged.

    Raises
    ------
    CRSError
        For an unknown CRS name or a frame tagged with a contradicting CRS.
    TypeError
        For an unsupported input type.
    """
    return _convert(data, source=source, target="wgs84")


def to_gcj02(data: GeoData, *, source: str = "wgs84") -> GeoData:
    """Convert data to GCJ-02 for display on an AMap (高德) or Tencent base layer.

    Only for drawing: AMap tiles are in GCJ-02, so WGS 84 boundaries drawn on
    them appear shifted by a few hundred metres unless converted first. Never
    store or analyse the result.

    Parameters
    ----------
    data : shapely geometry, geopandas.GeoSeries or geopandas.GeoDataFrame
        The input, in the ``source`` system (WGS 84 by default).
    source : str, default "wgs84"
        Any name accepted by :func:`to_wgs84`.

    Returns
    -------
    same type as ``data``
        A new object in GCJ-02 longitude/latitude. Frames are tagged EPSG:4326
        (GCJ-02 has no EPSG code, and folium/Leaflet need a lon/lat tag); the
        tag is a label for display only.

    Raises
    ------
    CRSError
        For an unknown CRS name or a frame tagged with a contradicting CRS.
    """
    return _convert(data, source=source, target="gcj02")
