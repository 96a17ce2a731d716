"""Geometry sanity, before any overlay: report missing, empty, invalid and non-polygonal
geometry, repair what can be repaired, and drop the rest from the area checks."""

from __future__ import annotations

import numpy as np
import shapely

from geo.boundaries.problems import Problem

_POLYGONAL = [3, 6]  # shapely type ids of Polygon, MultiPolygon


def sanitise(
    *, geoms: np.ndarray, codes: list[str], level: str
) -> tuple[np.ndarray, list[Problem]]:
    """Report missing / empty / invalid / non-polygonal geometry.

    Returns
    -------
    tuple
        The usable geometry (invalid ones repaired with ``make_valid``, unusable ones as None)
        and the problems, every missing one first, then empty, invalid, not polygonal.
    """
    out = geoms.copy()
    missing = np.array([g is None for g in geoms], dtype=bool)
    problems = [
        Problem(
            level,
            codes[i],
            "missing",
            f"{level} {codes[i]}：没有边界或无法解析 / geometry is missing or unreadable",
        )
        for i in np.flatnonzero(missing)
    ]
    idx = np.flatnonzero(~missing)
    if idx.size == 0:
        return out, problems
    g = geoms[idx]
    empty = shapely.is_empty(g)
    for i in idx[empty]:
        problems.append(
            Problem(level, codes[i], "empty", f"{level} {codes[i]}：边界为空 / geometry is empty")
        )
        out[i] = None
    valid = shapely.is_valid(g)
    for j in np.flatnonzero(~valid & ~empty):
        i = idx[j]
        reason = shapely.is_valid_reason(g[j])
        problems.append(
            Problem(
                level,
                codes[i],
                "invalid",
                f"{level} {codes[i]}：边界无效 / invalid geometry: {reason}",
            )
        )
        out[i] = _repair(g[j])
    not_polygonal = ~np.isin(shapely.get_type_id(g), _POLYGONAL) & ~empty & valid
    for i in idx[not_polygonal]:
        problems.append(
            Problem(
                level,
                codes[i],
                "not_polygonal",
                f"{level} {codes[i]}：边界不是面 / not a polygon ({geoms[i].geom_type})",
            )
        )
        out[i] = None
    return out, problems


def _repair(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of ``make_valid(geom)``; None when nothing polygonal is left."""
    fixed = shapely.make_valid(geom)
    polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else None
