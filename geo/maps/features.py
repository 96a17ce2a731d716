"""FeatureCollections of areas: filled areas from given display rows, outlines, the outline
of the whole scope, and their packed payload.

Everything a feature shows is *given* (:func:`area_features`'s ``areas``): the display text
of the value, the fraction, the low-volume flag and the fill colour are computed by the
caller (for GridPulse: data_layer/queries/map_values.py), so building the map never calls
back into the figures.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any, Final

import polars as pl

from geo.maps import geometry
from geo.maps.payload import pack_collection

__all__ = [
    "AREA_COLUMNS",
    "area_features",
    "dissolved_features",
    "feature_payload",
    "outline_features",
]

AREA_COLUMNS: Final = ("code", "name", "value", "fill")
"""Columns :func:`area_features` needs in ``areas``; ``fraction`` and ``low`` are optional."""
_OPTIONAL: Final = ("fraction", "low")


def area_features(
    *,
    geometries: pl.DataFrame,
    areas: pl.DataFrame,
    level: str,
    version: Hashable | None = None,
    crs: str = "wgs84",
    tolerance_m: float | None = None,
    selected: Iterable[str] = (),
) -> dict:
    """A compact GeoJSON FeatureCollection of the areas in ``areas``, filled as given.

    Parameters
    ----------
    geometries : polars.DataFrame
        ``code`` and ``geometry`` (WKB, WGS 84) of every area of ``level`` — pass the whole
        level (:func:`geo.maps.level_geometries`), not the filtered areas: the simplified
        geometry is cached per ``(version, level, crs)`` and ``areas`` picks the areas drawn.
    areas : polars.DataFrame
        One row per area to draw: ``code``, ``name`` (None: the code), ``value`` (the display
        text, e.g. ``"99.5%"``), ``fill`` (hex colour) and optionally ``fraction`` (text,
        e.g. ``"70,897 / 70,970"``) and ``low`` (bool: drawn as low volume). Areas without
        geometry are skipped.
    level : {"street", "community", "grid"}
        Level of the areas (picks the simplification tolerance; copied to each feature's
        ``properties.level`` for the click handling).
    version : hashable, optional
        The dataset's version token; ``None`` disables the cache.
    crs : {"wgs84", "gcj02"}
        ``"gcj02"`` shifts the geometry for an AMap (高德) base layer
        (:func:`geo.maps.base_layer_crs`).
    tolerance_m : float, optional
        Override the level's simplification tolerance (metres).
    selected : iterable of str
        Codes of areas to outline as selected (e.g. the grid chosen by a click):
        ``properties.selected = true``, drawn with a thick dark border.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...], "bbox": [w, s, e, n]}``; each
        feature has ``id`` = code and properties ``code``, ``name``, ``level``, ``value``,
        ``fraction`` and ``low`` (when given), ``fill`` and ``selected`` (only when true).
        With a ``version`` the result is memoised (same version, level, selection and area
        rows → the very same dict, so a rerun with unchanged data costs a lookup): treat it
        as read-only.
    """
    geometry.check_level(level)
    cached = geometry.level_geometry(
        geometries, level=level, version=version, crs=crs, tolerance_m=tolerance_m
    )
    cols = [*AREA_COLUMNS, *(c for c in _OPTIONAL if c in areas.columns)]
    rows = areas.select(cols)
    chosen = set(selected)
    memo_key = None
    if cached.key is not None:
        memo_key = (
            cached.key,
            tuple(cols),
            tuple(sorted(chosen)),
            rows.height,
            hash(tuple(rows.hash_rows().to_list())),
        )
        hit = geometry.FEATURES_MEMO.get(memo_key)
        if hit is not None:
            return hit
    fc = _collection(cached, rows, level=level, chosen=chosen)
    if memo_key is not None:
        geometry.FEATURES_MEMO.put(memo_key, fc)
    return fc


def _collection(
    cached: geometry.LevelGeometry, rows: pl.DataFrame, *, level: str, chosen: set[str]
) -> dict:
    """One feature per row with a geometry, properties in the order of the docstring."""
    has_fraction, has_low = "fraction" in rows.columns, "low" in rows.columns
    at = {c: i for i, c in enumerate(rows.columns)}
    features = []
    drawn: list[int] = []
    for row in rows.rows():
        code = row[0]
        j = cached.index.get(code)
        geom = cached.geometries[j] if j is not None else None
        if geom is None:
            continue
        drawn.append(j)
        props: dict[str, Any] = {
            "code": code,
            "name": row[1] if row[1] is not None else code,
            "level": level,
            "value": row[2],
        }
        if has_fraction:
            props["fraction"] = row[at["fraction"]]
        if has_low:
            props["low"] = bool(row[at["low"]])
        props["fill"] = row[3]
        if code in chosen:
            props["selected"] = True
        features.append({"type": "Feature", "id": code, "properties": props, "geometry": geom})
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if features:
        fc["bbox"] = geometry.bbox(cached, drawn)  # bounds of the areas drawn, not the level
    return fc


def outline_features(
    *,
    geometries: pl.DataFrame,
    level: str,
    codes: Iterable[str] | None = None,
    version: Hashable | None = None,
    crs: str = "wgs84",
    tolerance_m: float | None = None,
) -> dict:
    """Boundaries only (properties ``code`` and ``level``), for ``outline_layer``.

    ``codes`` selects areas (default: all rows of ``geometries``). To draw street outlines
    over grids, pass ``tolerance_m=simplify.TOLERANCE_M["grid"]`` so the outline follows
    the grids' edges closely.
    """
    cached = geometry.level_geometry(
        geometries, level=level, version=version, crs=crs, tolerance_m=tolerance_m
    )
    wanted = list(cached.index) if codes is None else list(codes)
    features = []
    drawn: list[int] = []
    for code in wanted:
        j = cached.index.get(code)
        geom = cached.geometries[j] if j is not None else None
        if geom is None:
            continue
        drawn.append(j)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "level": level},
                "geometry": geom,
            }
        )
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if features:
        fc["bbox"] = geometry.bbox(cached, drawn)
    return fc


def dissolved_features(
    *,
    geometries: pl.DataFrame,
    level: str,
    version: Hashable | None = None,
    crs: str = "wgs84",
    tolerance_m: float | None = None,
    code: str = "all",
) -> dict:
    """One feature: the outer boundary of all areas of ``geometries`` (e.g. the district
    outline from its streets), for ``base_map``'s ``outline``. Cached with the level."""
    cached = geometry.level_geometry(
        geometries, level=level, version=version, crs=crs, tolerance_m=tolerance_m
    )
    geom = geometry.dissolved(cached)
    if geom is None:
        return {"type": "FeatureCollection", "features": []}
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": code, "properties": {"code": code}, "geometry": geom}
        ],
        "bbox": list(cached.bounds),
    }


def feature_payload(features: Mapping[str, Any]) -> str:
    """The packed wire form of a FeatureCollection (geo/maps/payload.py), as the choropleth
    embeds it.

    ``len(feature_payload(fc).encode())`` is the payload size the benchmark reports. The
    payload of a FeatureCollection memoised by :func:`area_features` is memoised too
    (treat both as read-only).
    """
    memo = geometry.PAYLOAD_MEMO.get(id(features))
    if memo is not None and memo[0] is features:
        return memo[1]
    text = pack_collection(features)
    if geometry.FEATURES_MEMO.holds(features):
        geometry.PAYLOAD_MEMO.put(id(features), (features, text))
    return text
