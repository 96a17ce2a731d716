"""Coverage-preserving simplification and coordinate quantisation for drawing maps.

The boundaries of one level (all streets, all communities or all grids) form a
*polygonal coverage*: polygons that do not overlap and whose shared borders are
identical. Simplifying each polygon on its own (``shapely.simplify``) moves the two
copies of a shared border differently and opens slivers and gaps between neighbours.
:func:`shapely.coverage_simplify` (GEOS >= 3.12, shapely >= 2.1) simplifies each shared
edge once, so neighbours keep one common border; it uses Visvalingam-Whyatt, whose
tolerance is roughly the square root of the area of the triangles it removes.

This module works in a local metric plane (an equirectangular projection centred on
the data, exact enough over a province), so tolerances are given in **metres**:

==========  =========  ===================================================
level       tolerance  why
==========  =========  ===================================================
street      25 m       streets (3-5 km across) are viewed at zoom <= 13,
                       ~15-30 m per screen pixel
community   10 m       communities (~1 km) at zoom 13-15, ~4-15 m per pixel
grid        3 m        grids (~250 m) at zoom 15-17, ~1-4 m per pixel
==========  =========  ===================================================

Before simplifying, a coverage that is not *edge-matched* (a vertex of one polygon
lying on the edge of its neighbour, or shared vertices that differ in the last bits,
as Voronoi cells clipped per parent produce) is repaired with
:func:`shapely.coverage_clean` (GEOS >= 3.14) with no gap filling, else simplification
would open gaps there.

:func:`quantize` then rounds every coordinate to 5 decimals (1e-5 degree ~= 1.1 m
north-south, ~1 m east-west in China). Rounding is a pure function of each
coordinate, so vertices shared by neighbours stay identical and borders stay shared.

Cross-level note: each level is simplified as its own coverage, so a street outline
drawn over simplified grids may differ from the grids' outer edges by up to about the
street tolerance; :func:`simplify_level` takes ``tolerance_m`` to simplify an outline
with the finer tolerance of the level it is drawn over.

This module imports no Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely

__all__ = [
    "DECIMALS",
    "LEVELS",
    "TOLERANCE_M",
    "quantize",
    "simplify_coverage",
    "simplify_level",
]

LEVELS: Final = ("street", "community", "grid")

TOLERANCE_M: Final[Mapping[str, float]] = MappingProxyType(
    {"street": 25.0, "community": 10.0, "grid": 3.0}
)
"""Visvalingam-Whyatt tolerance per level, in metres (street coarser than grid)."""

DECIMALS: Final = 5
"""Decimals kept by :func:`quantize`: 1e-5 degree ~= 1 m."""

_M_PER_DEG_LAT: Final = 110_574.0
_M_PER_DEG_LON_EQUATOR: Final = 111_320.0

GeometryArray = npt.NDArray[np.object_]


def _as_array(geometries: object) -> GeometryArray:
    arr = np.asarray(geometries, dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


def _metric_plane(
    geoms: GeometryArray,
) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """Forward/inverse maps lon/lat <-> metres in an equirectangular plane on the data."""
    bounds = shapely.total_bounds(geoms)
    if not np.all(np.isfinite(bounds)):
        lon0, lat0 = 0.0, 0.0
    else:
        lon0, lat0 = (bounds[0] + bounds[2]) / 2.0, (bounds[1] + bounds[3]) / 2.0
    scale = np.array([_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0)), _M_PER_DEG_LAT])
    origin = np.array([lon0, lat0])

    def forward(coords: np.ndarray) -> np.ndarray:
        return (coords - origin) * scale

    def inverse(coords: np.ndarray) -> np.ndarray:
        return coords / scale + origin

    return forward, inverse


def simplify_coverage(
    *,
    geometries: object,
    tolerance_m: float,
    clean: bool | None = None,
    simplify_boundary: bool = True,
) -> GeometryArray:
    """Simplify a polygonal coverage in lon/lat, keeping shared borders shared.

    Parameters
    ----------
    geometries : array_like of shapely Polygon/MultiPolygon
        The polygons of one level in WGS 84 (or GCJ-02) longitude/latitude. ``None``
        and empty geometries are passed through.
    tolerance_m : float
        Visvalingam-Whyatt tolerance in metres (~ square root of the area of the
        triangles removed). ``0`` skips simplification (cleaning still applies).
    clean : bool or None, default None
        Repair the coverage with :func:`shapely.coverage_clean` first. ``None`` repairs
        only when :func:`shapely.coverage_is_valid` says the input is not a valid
        coverage; ``False`` never repairs (a not edge-matched input may then get gaps).
    simplify_boundary : bool, default True
        Also simplify the outer boundary of the coverage (``False``: only the shared
        inner edges).

    Returns
    -------
    numpy.ndarray of shapely geometries
        Same length and order as the input.
    """
    geoms = _as_array(geometries)
    out = geoms.copy()
    present = np.array([g is not None for g in geoms], dtype=bool)
    if present.any():
        present[present] = ~shapely.is_empty(geoms[present])
    if not present.any():
        return out
    todo = geoms[present]
    forward, inverse = _metric_plane(todo)
    plane = shapely.transform(todo, forward)
    if clean is None:
        clean = not bool(shapely.coverage_is_valid(plane))
    if clean:
        plane = shapely.coverage_clean(plane, gap_width=0.0)
    if tolerance_m > 0:
        plane = shapely.coverage_simplify(plane, tolerance_m, simplify_boundary=simplify_boundary)
    out[present] = shapely.transform(plane, inverse)
    return out


def quantize(*, geometries: object, decimals: int = DECIMALS) -> GeometryArray:
    """Round every coordinate to ``decimals`` decimals and drop repeated vertices.

    Parameters
    ----------
    geometries : array_like of shapely geometries
        Longitude/latitude geometries (``None`` passed through).
    decimals : int, default 5
        Decimals to keep; 5 ~= 1 m.

    Returns
    -------
    numpy.ndarray of shapely geometries
        Same length and order. Shared vertices stay identical (rounding is a pure
        function of the coordinate), so a coverage stays edge-matched.
    """
    geoms = _as_array(geometries)
    out = geoms.copy()
    present = np.array([g is not None for g in geoms], dtype=bool)
    if not present.any():
        return out
    rounded = shapely.transform(geoms[present], lambda c: np.round(c, decimals))
    out[present] = shapely.remove_repeated_points(rounded, tolerance=0.0)
    return out


def simplify_level(
    *,
    geometries: object,
    level: str,
    tolerance_m: float | None = None,
    decimals: int | None = DECIMALS,
    clean: bool | None = None,
) -> GeometryArray:
    """Simplify the boundaries of one level for display, then quantise them.

    Parameters
    ----------
    geometries : array_like of shapely Polygon/MultiPolygon
        Every area of ``level`` (or every area in scope: a subset of a coverage is a
        coverage) in longitude/latitude.
    level : {"street", "community", "grid"}
        Picks the tolerance of :data:`TOLERANCE_M`.
    tolerance_m : float, optional
        Override the level's tolerance (metres), e.g. the finer tolerance of the
        level an outline is drawn over.
    decimals : int or None, default 5
        Quantise to this many decimals; ``None`` keeps full precision.
    clean : bool or None, default None
        See :func:`simplify_coverage`.

    Returns
    -------
    numpy.ndarray of shapely geometries
        Same length and order as ``geometries``.

    Raises
    ------
    ValueError
        For an unknown level.
    """
    if level not in TOLERANCE_M:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    tol = TOLERANCE_M[level] if tolerance_m is None else float(tolerance_m)
    out = simplify_coverage(geometries=geometries, tolerance_m=tol, clean=clean)
    if decimals is not None:
        out = quantize(geometries=out, decimals=decimals)
    return out
