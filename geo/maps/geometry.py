"""The geometry of a level, simplified, quantised and packed once, and the in-process caches.

Boundaries are simplified per level keeping shared borders (geo/simplify.py) and quantised
to 5 decimals (~1 m); the result for a level is computed once per (data version, level,
CRS) and kept in a small LRU cache, with its packed wire form (geo/maps/payload.py) and
its GeoJSON dicts. Finished FeatureCollections and their payloads are memoised here too,
for reruns with the same data (a live refresh with nothing new). One lock guards all of
it: Streamlit runs the scripts of several viewers in threads.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl
import shapely

from geo.crs import to_gcj02
from geo.maps.payload import PackedGeometry, pack_polygons
from geo.simplify import DECIMALS, LEVELS, quantize, simplify_level

__all__ = [
    "FEATURES_MEMO",
    "PAYLOAD_MEMO",
    "LevelGeometry",
    "bbox",
    "check_level",
    "clear_geometry_cache",
    "dissolved",
    "level_geometries",
    "level_geometry",
]

_LEVEL_TABLES: Final = {"street": "streets", "community": "communities", "grid": "grids"}


@dataclass
class LevelGeometry:
    index: dict[str, int]  # area code -> position
    geometries: list[PackedGeometry | None]
    bounds: tuple[float, float, float, float]
    boxes: np.ndarray  # (n, 4) west, south, east, north of each area (NaN: no geometry)
    shapes: np.ndarray  # the simplified, quantised shapely geometries (same order)
    key: Hashable | None = None  # cache key (None: not cached)
    dissolved: PackedGeometry | None = None  # lazily: the union of all areas


class _Lru:
    """A small least-recently-used mapping; every access holds the module's one lock."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._size = size

    def get(self, key: Hashable) -> Any:
        with _LOCK:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: Hashable, value: Any) -> None:
        with _LOCK:
            self._put(key, value)

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The value of ``key``, built (once, under the lock) when missing."""
        with _LOCK:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
            value = build()
            self._put(key, value)
            return value

    def holds(self, value: Any) -> bool:
        """Whether ``value`` itself (not an equal one) is one of the cached values."""
        with _LOCK:
            return any(value is v for v in self._items.values())

    def clear(self) -> None:
        with _LOCK:
            self._items.clear()

    def _put(self, key: Hashable, value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


_LOCK = threading.Lock()
_LEVELS = _Lru(12)
FEATURES_MEMO: Final = _Lru(16)
"""(level cache key, selection, fingerprint of the area rows) -> FeatureCollection."""
PAYLOAD_MEMO: Final = _Lru(16)
"""id(FeatureCollection) -> (FeatureCollection, packed payload), for memoised ones."""


def clear_geometry_cache() -> None:
    """Forget every cached simplified geometry and memoised layer (tests, free memory)."""
    for cache in (_LEVELS, FEATURES_MEMO, PAYLOAD_MEMO):
        cache.clear()


def check_level(level: str) -> None:
    """Raise ``ValueError`` for a level that is not street, community or grid."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")


def level_geometries(tables: Mapping[str, pl.DataFrame], *, level: str) -> pl.DataFrame:
    """``code`` and ``geometry`` (WKB) of every current area of ``level`` (an area retired
    by a re-division, ``retired_at`` set, is not drawn).

    ``tables`` is any mapping of table name (``streets``, ``communities``, ``grids``) to
    frame, e.g. the dataset. Pass the result, unfiltered, to
    :func:`geo.maps.features.area_features`: the area rows select the areas drawn, so the
    simplification is done once per level, not per filter.
    """
    check_level(level)
    frame = tables[_LEVEL_TABLES[level]]
    if "retired_at" in frame.columns:  # the map draws the current division only
        frame = frame.filter(pl.col("retired_at").is_null())
    return frame.select(pl.col(f"{level}_code").alias("code"), pl.col("geometry"))


def level_geometry(
    geometries: pl.DataFrame,
    *,
    level: str,
    version: Hashable | None,
    crs: str,
    tolerance_m: float | None,
) -> LevelGeometry:
    """The simplified geometry of ``geometries``, cached per ``version`` (None: not cached)."""
    if version is None:
        return _build(geometries, level=level, crs=crs, tolerance_m=tolerance_m)
    codes = geometries["code"]
    # the caller's version token, plus a cheap fingerprint of the rows in case a caller
    # passes a subset under the same token
    key = (version, level, crs, tolerance_m, geometries.height, hash(tuple(codes.to_list())))

    def build() -> LevelGeometry:
        built = _build(geometries, level=level, crs=crs, tolerance_m=tolerance_m)
        built.key = key
        return built

    return _LEVELS.get_or_build(key, build)


def _build(
    geometries: pl.DataFrame, *, level: str, crs: str, tolerance_m: float | None
) -> LevelGeometry:
    codes = geometries["code"].cast(pl.String).to_list()
    shapes = _simplified(geometries, level=level, crs=crs, tolerance_m=tolerance_m)
    texts = shapely.to_geojson(shapes)
    packed = pack_polygons(shapes)
    out: list[PackedGeometry | None] = []
    for t, p in zip(texts, packed, strict=True):
        if t is None or p is None:
            out.append(None)
            continue
        g = PackedGeometry(json.loads(t))
        g.packed = p
        out.append(g)
    b = shapely.total_bounds(shapes)
    return LevelGeometry(
        index={c: i for i, c in enumerate(codes)},
        geometries=out,
        bounds=tuple(float(x) for x in b),  # type: ignore[arg-type]
        boxes=shapely.bounds(shapes),
        shapes=shapes,
    )


def _simplified(
    geometries: pl.DataFrame, *, level: str, crs: str, tolerance_m: float | None
) -> np.ndarray:
    """WKB → simplified (shared borders kept), shifted to ``crs``, quantised shapes."""
    geoms = shapely.from_wkb(geometries["geometry"].to_numpy())
    simple = simplify_level(geometries=geoms, level=level, tolerance_m=tolerance_m, decimals=None)
    if crs == "gcj02":
        import geopandas as gpd

        simple = np.asarray(to_gcj02(gpd.GeoSeries(simple, crs="EPSG:4326")).array, dtype=object)
    elif crs != "wgs84":
        raise ValueError(f"crs must be 'wgs84' or 'gcj02', got {crs!r}")
    return quantize(geometries=simple, decimals=DECIMALS)


def dissolved(cached: LevelGeometry) -> PackedGeometry | None:
    """The union of all areas of ``cached`` (computed once, kept with the level)."""
    if cached.dissolved is None:
        shapes = np.array(
            [g for g in cached.shapes if g is not None and not g.is_empty], dtype=object
        )
        if shapes.size == 0:
            return None
        union = quantize(geometries=[shapely.coverage_union_all(shapes)], decimals=DECIMALS)[0]
        g = PackedGeometry(json.loads(shapely.to_geojson(union)))
        g.packed = pack_polygons(np.array([union], dtype=object))[0]
        cached.dissolved = g
    return cached.dissolved


def bbox(cached: LevelGeometry, idx: Sequence[int]) -> list[float]:
    """``[west, south, east, north]`` of the areas at positions ``idx``."""
    boxes = cached.boxes[np.asarray(idx, dtype=np.int64)]
    return [
        float(np.nanmin(boxes[:, 0])),
        float(np.nanmin(boxes[:, 1])),
        float(np.nanmax(boxes[:, 2])),
        float(np.nanmax(boxes[:, 3])),
    ]
