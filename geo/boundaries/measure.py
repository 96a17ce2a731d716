"""Areas in m² and places for people, for geometry kept in its source coordinates.

Every tolerance of the checks is in square metres, so geographic input (EPSG:4326, CGCS2000
lon/lat) is measured in a local projected CRS: a CGCS2000 3-degree Gauss-Krüger zone picked
from the data's longitude, UTM outside China.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely


def local_crs(lon: float, lat: float = 30.0) -> pyproj.CRS:
    """A metric CRS for areas around ``lon``: CGCS2000 3-degree Gauss-Krüger (EPSG:4534–4554,
    central meridians 75°E–135°E) inside China's longitudes, else the UTM zone."""
    if 73.5 <= lon < 136.5:
        k = int(round((lon - 75.0) / 3.0))
        return pyproj.CRS.from_epsg(4534 + k)
    zone = int((lon + 180.0) // 6.0) + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _centre(arrays: list[np.ndarray]) -> tuple[float, float]:
    """Mean bounding-box centre (lon, lat) of the first array that has usable geometry; a point
    in China when none has."""
    for a in arrays:
        ok = np.array([g is not None and not g.is_empty for g in a], dtype=bool)
        if ok.any():
            b = shapely.bounds(a[ok])
            return float(np.nanmean((b[:, 0] + b[:, 2]) / 2)), float(
                np.nanmean((b[:, 1] + b[:, 3]) / 2)
            )
    return 115.0, 30.0


class Measure:
    """Areas in m² and locations for geometry kept in its source coordinates.

    Overlays (difference, intersection, union) run in the source coordinates, where the data's
    edges are straight lines; projecting whole polygons first would bend shared edges that
    carry T-junction vertices (a vertex on the parent's edge is no longer exactly on it after a
    non-linear projection) and invent slivers of many m². Only the resulting pieces are
    projected to the local Gauss-Krüger zone to measure them, after densifying their edges
    (every ~20 m), so that the two long sides of a zero-width sliver bend alike and it keeps
    its near-zero area instead of opening up by the projection's curvature.
    """

    MAX_SEGMENT_DEG = 0.0002  # ≈ 20 m

    def __init__(self, crs, arrays: list[np.ndarray]):
        self.transformer = None
        self.geographic = False
        if crs is None:
            return
        src = pyproj.CRS.from_user_input(crs)
        if src.is_projected:
            return
        self.geographic = True
        self.crs = local_crs(*_centre(arrays))
        self.transformer = pyproj.Transformer.from_crs(src, self.crs, always_xy=True)

    def area(self, geoms) -> np.ndarray:
        """Area in m² of each geometry (projected to the local metric CRS)."""
        geoms = np.asarray(geoms, dtype=object)
        if self.transformer is None or geoms.size == 0:
            return shapely.area(geoms).astype(float)
        tr = self.transformer

        def fn(coords: np.ndarray) -> np.ndarray:
            x, y = tr.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        dense = shapely.segmentize(geoms, self.MAX_SEGMENT_DEG)
        return shapely.area(shapely.transform(dense, fn)).astype(float)

    def factor(self, geoms) -> np.ndarray:
        """m² per square source unit around each geometry (1 for metric input); for the cheap
        area balance of big polygons, where projecting would add curvature noise."""
        geoms = np.asarray(geoms, dtype=object)
        if not self.geographic:
            return np.ones(geoms.size)
        lat = np.radians(shapely.get_y(shapely.centroid(geoms)))
        # metres per degree on the WGS 84 / CGCS2000 ellipsoid
        m_lat = 111_132.954 - 559.822 * np.cos(2 * lat) + 1.175 * np.cos(4 * lat)
        m_lon = 111_412.84 * np.cos(lat) - 93.5 * np.cos(3 * lat)
        return m_lat * m_lon

    def where(self, geom) -> str:
        """'（约 lon, lat）' of a point inside the geometry."""
        if geom is None or geom.is_empty:
            return ""
        p = shapely.point_on_surface(geom)
        if self.geographic:
            return f"（约 {p.x:.5f}, {p.y:.5f}）"
        return f"（约 {p.x:.1f}, {p.y:.1f}）"
