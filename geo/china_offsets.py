"""China's published coordinate offsets: GCJ-02 (AMap/Tencent) and BD-09 (Baidu), both ways.

* ``gcj02`` — the obfuscated "Mars" system of the national mapping administration, used by
  AMap (高德) and Tencent maps. It is the WGS 84 point moved by a published pseudo-random
  offset of a few hundred metres.
* ``bd09`` — Baidu's system: GCJ-02 with a further published offset.

The GCJ-02 and BD-09 forward formulas are the standard published ones
(Krasovsky 1940 ellipsoid, ``a = 6378245.0``, ``ee = 0.00669342162296594323``;
BD-09 with ``x_pi = pi * 3000 / 180``). Their inverses have no closed form; they
are computed here by fixed-point iteration of the forward formula to better than
1e-10 degree (about 0.01 mm), not by the common one-step approximation which is
off by up to a few metres.

Points outside mainland China's bounding box (lon 72.004–137.8347,
lat 0.8293–55.8271) are returned unchanged by every conversion, as the official
offsets are only applied inside China.

All functions are vectorised with numpy: they take scalars or array-likes
of any (broadcastable) shape and return ``float64`` arrays of the broadcast shape
(numpy ``float64`` scalars for scalar input). NaN coordinates propagate as NaN.
Naming systems and converting geometries and frames is :mod:`geo.crs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt

from geo._arrays import FloatArray, FloatOut, as_float_arrays, scalar

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
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
    lon_arr, lat_arr = as_float_arrays(lon, lat)
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
    return scalar(np.where(outside, in_lon, out_lon)), scalar(np.where(outside, in_lat, out_lat))


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
    lon_arr, lat_arr = as_float_arrays(lon, lat)
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
    lon_arr, lat_arr = as_float_arrays(lon, lat)
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
    lon_arr, lat_arr = as_float_arrays(lon, lat)
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
    lon_arr, lat_arr = as_float_arrays(lon, lat)
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
