"""Coordinate conversion between WGS 84, GCJ-02 (AMap/Tencent) and BD-09 (Baidu).

GridPulse stores every geometry in WGS 84 (EPSG:4326). Boundary files and case
coordinates arrive in other systems and are converted on import:

* ``"wgs84"`` — WGS 84 longitude/latitude (EPSG:4326); identity.
* ``"cgcs2000"`` — China Geodetic Coordinate System 2000 longitude/latitude
  (EPSG:4490). It differs from WGS 84 by centimetres, far below the accuracy of
  any grid boundary, and is treated as identity.
* ``"gcj02"`` — the obfuscated "Mars" system of the national mapping
  administration, used by AMap (高德) and Tencent maps. It is the WGS 84 point
  moved by a published pseudo-random offset of a few hundred metres.
* ``"bd09"`` — Baidu's system: GCJ-02 with a further published offset.
* ``"EPSG:NNNN"`` — any CRS pyproj knows, e.g. a CGCS2000 Gauss–Krüger zone
  (EPSG:4547) or Web Mercator (EPSG:3857); converted with pyproj.

The GCJ-02 and BD-09 forward formulas are the standard published ones
(Krasovsky 1940 ellipsoid, ``a = 6378245.0``, ``ee = 0.00669342162296594323``;
BD-09 with ``x_pi = pi * 3000 / 180``). Their inverses have no closed form; they
are computed here by fixed-point iteration of the forward formula to better than
1e-10 degree (about 0.01 mm), not by the common one-step approximation which is
off by up to a few metres.

Points outside mainland China's bounding box (lon 72.004–137.8347,
lat 0.8293–55.8271) are returned unchanged by every conversion, as the official
offsets are only applied inside China.

All point functions are vectorised with numpy: they take scalars or array-likes
of any (broadcastable) shape and return ``float64`` arrays of the broadcast shape
(numpy ``float64`` scalars for scalar input). NaN coordinates propagate as NaN.
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

from geo._errors import CRSError

__all__ = [
    "CRSError",
    "LONLAT_SYSTEMS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_lonlat",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "normalize_crs",
    "out_of_china",
    "to_gcj02",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
_X_PI: Final = np.pi * 3000.0 / 180.0

# Bounding box outside which no offset is applied (the widely published one).
_CHINA_LON_MIN: Final = 72.004
_CHINA_LON_MAX: Final = 137.8347
_CHINA_LAT_MIN: Final = 0.8293
_CHINA_LAT_MAX: Final = 55.8271

_DEFAULT_TOL: Final = 1e-10  # degrees, ~0.01 mm
_DEFAULT_MAX_ITER: Final = 30

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

FloatArray = npt.NDArray[np.float64]
FloatOut = FloatArray | np.float64
GeoData = TypeVar("GeoData", BaseGeometry, gpd.GeoSeries, gpd.GeoDataFrame)


# --------------------------------------------------------------------------- #
# point conversions
# --------------------------------------------------------------------------- #
def _as_float_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_arr, lat_arr = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_arr.copy(), lat_arr.copy()


def out_of_china(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Tell which points lie outside mainland China's bounding box.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (broadcastable).

    Returns
    -------
    numpy.ndarray of bool
        True where no GCJ-02/BD-09 offset applies. NaN coordinates count as inside.
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    return (
        (lon_arr < _CHINA_LON_MIN)
        | (lon_arr > _CHINA_LON_MAX)
        | (lat_arr < _CHINA_LAT_MIN)
        | (lat_arr > _CHINA_LAT_MAX)
    )


def _transform_lat(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: FloatArray, y: FloatArray) -> FloatArray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (dlon, dlat) in degrees at the WGS 84 point (lon, lat)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = np.sin(radlat)
    magic = 1.0 - _EE * magic * magic
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.sqrt(lon * lon + lat * lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_approx(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x = lon - 0.0065
    y = lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_lon: FloatArray,
    target_lat: FloatArray,
    start_lon: FloatArray,
    start_lat: FloatArray,
    *,
    tol: float,
    max_iter: int,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(lon, lat) == target`` by fixed-point iteration.

    Both forward maps are the identity plus a small, slowly varying offset, so
    ``p <- p - (forward(p) - target)`` is a contraction that converges in a
    handful of steps.
    """
    lon, lat = start_lon.copy(), start_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = forward(lon, lat)
        err_lon = f_lon - target_lon
        err_lat = f_lat - target_lat
        lon -= err_lon
        lat -= err_lat
        err = np.maximum(np.abs(err_lon), np.abs(err_lat))
        if err.size == 0 or not np.any(err >= tol):  # NaNs compare False
            break
    return lon, lat


def _finish(
    out_lon: FloatArray,
    out_lat: FloatArray,
    in_lon: FloatArray,
    in_lat: FloatArray,
    outside: npt.NDArray[np.bool_],
) -> tuple[FloatOut, FloatOut]:
    return _scalar(np.where(outside, in_lon, out_lon)), _scalar(np.where(outside, in_lat, out_lat))


def _scalar(arr: FloatArray) -> FloatOut:
    """Unwrap 0-d arrays to numpy float64 scalars (a ``float`` subclass)."""
    return arr[()] if arr.ndim == 0 else arr


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatOut, FloatOut]:
    """Convert WGS 84 longitude/latitude to GCJ-02 (AMap, Tencent).

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 coordinates in degrees (broadcastable).

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)``; points outside China unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410244, 39.916404)
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    g_lon, g_lat = _wgs_to_gcj_raw(lon_arr, lat_arr)
    return _finish(g_lon, g_lat, lon_arr, lat_arr, out_of_china(lon_arr, lat_arr))


def gcj02_to_wgs84(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    tol: float = _DEFAULT_TOL,
    max_iter: int = _DEFAULT_MAX_ITER,
) -> tuple[FloatOut, FloatOut]:
    """Convert GCJ-02 longitude/latitude to WGS 84 by iterative inversion.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 coordinates in degrees (broadcastable).
    tol : float, default 1e-10
        Stop when the forward image of every point is within ``tol`` degrees
        of the input.
    max_iter : int, default 30
        Upper bound on the number of iterations.

    Returns
    -------
    tuple of numpy.ndarray
        WGS 84 ``(lon, lat)``; points outside China unchanged.
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon_arr, lat_arr)
    w_lon, w_lat = _invert(
        _wgs_to_gcj_raw,
        lon_arr,
        lat_arr,
        lon_arr - dlon,
        lat_arr - dlat,
        tol=tol,
        max_iter=max_iter,
    )
    return _finish(w_lon, w_lat, lon_arr, lat_arr, out_of_china(lon_arr, lat_arr))


def gcj02_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatOut, FloatOut]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 coordinates in degrees (broadcastable).

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)``; points outside China unchanged.
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    b_lon, b_lat = _gcj_to_bd_raw(lon_arr, lat_arr)
    return _finish(b_lon, b_lat, lon_arr, lat_arr, out_of_china(lon_arr, lat_arr))


def bd09_to_gcj02(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    tol: float = _DEFAULT_TOL,
    max_iter: int = _DEFAULT_MAX_ITER,
) -> tuple[FloatOut, FloatOut]:
    """Convert BD-09 longitude/latitude to GCJ-02 by iterative inversion.

    Starts from the published closed-form approximation and refines it until
    :func:`gcj02_to_bd09` reproduces the input within ``tol`` degrees.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 coordinates in degrees (broadcastable).
    tol : float, default 1e-10
        Convergence tolerance in degrees.
    max_iter : int, default 30
        Upper bound on the number of iterations.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 ``(lon, lat)``; points outside China unchanged.
    """
    lon_arr, lat_arr = _as_float_arrays(lon, lat)
    s_lon, s_lat = _bd_to_gcj_approx(lon_arr, lat_arr)
    g_lon, g_lat = _invert(
        _gcj_to_bd_raw, lon_arr, lat_arr, s_lon, s_lat, tol=tol, max_iter=max_iter
    )
    return _finish(g_lon, g_lat, lon_arr, lat_arr, out_of_china(lon_arr, lat_arr))


def wgs84_to_bd09(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatOut, FloatOut]:
    """Convert WGS 84 longitude/latitude to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 coordinates in degrees (broadcastable).

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 ``(lon, lat)``; points outside China unchanged.
    """
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(g_lon, g_lat)


def bd09_to_wgs84(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    *,
    tol: float = _DEFAULT_TOL,
    max_iter: int = _DEFAULT_MAX_ITER,
) -> tuple[FloatOut, FloatOut]:
    """Convert BD-09 longitude/latitude to WGS 84 (via GCJ-02, both inverted exactly).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 coordinates in degrees (broadcastable).
    tol : float, default 1e-10
        Convergence tolerance in degrees of each inversion step.
    max_iter : int, default 30
        Upper bound on the number of iterations of each step.

    Returns
    -------
    tuple of numpy.ndarray
        WGS 84 ``(lon, lat)``; points outside China unchanged.
    """
    g_lon, g_lat = bd09_to_gcj02(lon, lat, tol=tol, max_iter=max_iter)
    return gcj02_to_wgs84(g_lon, g_lat, tol=tol, max_iter=max_iter)


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
    x_arr, y_arr = _as_float_arrays(x, y)
    # to WGS 84
    if src in _LONLAT_TO_WGS:
        fn = _LONLAT_TO_WGS[src]
        lon, lat = (x_arr, y_arr) if fn is None else fn(x_arr, y_arr)
    else:
        transformer = _transformer(src, "EPSG:4326")
        lon, lat = transformer.transform(x_arr, y_arr)
        lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    # from WGS 84
    if dst in ("wgs84", "cgcs2000"):
        return _scalar(np.asarray(lon)), _scalar(np.asarray(lat))
    if dst == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if dst == "bd09":
        return wgs84_to_bd09(lon, lat)
    transformer = _transformer("EPSG:4326", dst)
    out_x, out_y = transformer.transform(lon, lat)
    return _scalar(np.asarray(out_x, dtype=np.float64)), _scalar(
        np.asarray(out_y, dtype=np.float64)
    )


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
