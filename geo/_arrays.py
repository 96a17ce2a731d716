"""Coordinate arrays shared by the point conversions of geo.china_offsets and geo.crs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
FloatOut = FloatArray | np.float64


def as_float_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Broadcast ``lon`` and ``lat`` to float64 arrays of one shape (copies: callers may write)."""
    lon_arr, lat_arr = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_arr.copy(), lat_arr.copy()


def scalar(arr: FloatArray) -> FloatOut:
    """Unwrap 0-d arrays to numpy float64 scalars (a ``float`` subclass)."""
    return arr[()] if arr.ndim == 0 else arr
