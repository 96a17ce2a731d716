"""The public checks: one parent and its children (:func:`check_partition`), and the whole
district → street → community → grid hierarchy (:func:`check_hierarchy`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely

from geo.boundaries.codes import code_problems
from geo.boundaries.frames import codes_of, decode, geoms_and_crs
from geo.boundaries.levels import Level, check_level
from geo.boundaries.measure import Measure
from geo.boundaries.problems import DEFAULT_TOLERANCE_M2, Problem
from geo.boundaries.sanity import sanitise


def check_partition(
    *,
    parent,
    children,
    child_codes: Sequence[str],
    tolerance: float = DEFAULT_TOLERANCE_M2,
    parent_code: str = "",
    level: str = "child",
    parent_level: str = "parent",
    crs: str | None = "EPSG:4326",
) -> list[Problem]:
    """Check that ``children`` tile ``parent``: no gaps, no overlaps, nothing outside.

    Parameters
    ----------
    parent
        The parent's shapely geometry (or WKB bytes).
    children
        The children: a ``GeoSeries`` (its own CRS wins), a list/array of shapely geometries or
        WKB bytes.
    child_codes
        One code per child, used in the messages.
    tolerance
        Area in m² up to which a gap, overlap or protrusion is ignored (floating-point noise).
    parent_code, level, parent_level
        Names used in the problems (e.g. ``"360102001"``, ``"community"``, ``"street"``).
    crs
        CRS of the coordinates. For geographic input (EPSG:4326, CGCS2000 lon/lat) areas are
        measured in the local CGCS2000 Gauss-Krüger zone; projected input and ``None`` are taken
        as metres.

    Returns
    -------
    list[Problem]
        Empty when the children form a partition of the parent within ``tolerance``.
    """
    kids, crs = geoms_and_crs(children, crs)
    codes = [str(c) for c in child_codes]
    if len(codes) != len(kids):
        raise ValueError(f"child_codes has {len(codes)} codes for {len(kids)} children")
    parent_codes = [parent_code or "parent"]
    par, problems = sanitise(geoms=decode([parent]), codes=parent_codes, level=parent_level)
    kids, kid_problems = sanitise(geoms=kids, codes=codes, level=level)
    problems += kid_problems
    if par[0] is None:
        return problems
    problems += check_level(
        children=Level(level, codes, kids),
        parents=Level(parent_level, parent_codes, par),
        child_parent=np.zeros(len(kids), dtype=np.int64),
        tolerance=tolerance,
        measure=Measure(crs, [par, kids]),
    )
    return problems


def check_hierarchy(
    *,
    streets,
    communities,
    grids,
    tolerance: float = DEFAULT_TOLERANCE_M2,
    district=None,
    crs: str | None = "EPSG:4326",
) -> list[Problem]:
    """Check the whole street → community → grid hierarchy.

    Parameters
    ----------
    streets, communities, grids
        polars or pandas frames with WKB ``geometry`` (or GeoDataFrames) and the code columns of
        DESIGN §3: ``street_code``; ``community_code``, ``street_code``; ``grid_code``,
        ``community_code``.
    tolerance
        Area in m² up to which a gap / overlap / protrusion is ignored.
    district
        Optional district outline (shapely geometry or WKB, same CRS); when given, the streets
        must tile it. Without it, streets are checked for overlaps, and holes enclosed by the
        union of all streets are reported as gaps.
    crs
        CRS of the input coordinates (the data directory stores EPSG:4326).

    Returns
    -------
    list[Problem]
        Code problems (duplicates, form, orphans) first, then geometry problems; empty when the
        hierarchy is a clean nested partition within ``tolerance``.
    """
    s_codes = codes_of(streets, "street_code")
    c_codes = codes_of(communities, "community_code")
    c_parent = codes_of(communities, "street_code")
    g_codes = codes_of(grids, "grid_code")
    g_parent = codes_of(grids, "community_code")

    problems = code_problems(level="street", codes=s_codes)
    problems += code_problems(
        level="community", codes=c_codes, parent_codes=c_parent, known_parents=set(s_codes)
    )
    problems += code_problems(
        level="grid", codes=g_codes, parent_codes=g_parent, known_parents=set(c_codes)
    )

    s_geo, crs = geoms_and_crs(streets, crs)  # the streets' own CRS wins for every table
    street, s_found = _sane_level("street", s_codes, s_geo)
    community, c_found = _sane_level("community", c_codes, geoms_and_crs(communities, crs)[0])
    grid, g_found = _sane_level("grid", g_codes, geoms_and_crs(grids, crs)[0])
    problems += s_found + c_found + g_found
    measure = Measure(crs, [street.geoms, community.geoms, grid.geoms])

    problems += _street_problems(
        street=street, district=district, tolerance=tolerance, measure=measure
    )
    problems += check_level(
        children=community,
        parents=street,
        child_parent=_parent_index(codes=s_codes, parents=c_parent),
        tolerance=tolerance,
        measure=measure,
    )
    problems += check_level(
        children=grid,
        parents=community,
        child_parent=_parent_index(codes=c_codes, parents=g_parent),
        tolerance=tolerance,
        measure=measure,
    )
    return problems


def _sane_level(name: str, codes: list[str], geoms: np.ndarray) -> tuple[Level, list[Problem]]:
    """The level with sanitised geometry, and its geometry problems."""
    sane, found = sanitise(geoms=geoms, codes=codes, level=name)
    return Level(name, codes, sane), found


def _parent_index(*, codes: list[str], parents: list[str]) -> np.ndarray:
    """For each parent code named, the row of its first occurrence in ``codes``; −1 if absent."""
    pos: dict[str, int] = {}
    for i, c in enumerate(codes):
        pos.setdefault(c, i)
    return np.array([pos.get(p, -1) for p in parents], dtype=np.int64)


def _street_problems(
    *, street: Level, district, tolerance: float, measure: Measure
) -> list[Problem]:
    """The streets against the district outline when one is given and usable (its own geometry
    problems first); else overlaps between streets and the holes their union encloses."""
    problems: list[Problem] = []
    if district is not None:
        outline, problems = sanitise(geoms=decode([district]), codes=["district"], level="district")
        if outline[0] is not None:
            return problems + check_level(
                children=street,
                parents=Level("district", ["district"], outline),
                child_parent=np.zeros(len(street.codes), dtype=np.int64),
                tolerance=tolerance,
                measure=measure,
            )
    problems += check_level(
        children=street,
        parents=Level("district", [], np.empty(0, dtype=object)),
        child_parent=np.full(len(street.codes), -1, dtype=np.int64),
        tolerance=tolerance,
        measure=measure,
    )
    return problems + _holes_between_streets(street=street, tolerance=tolerance, measure=measure)


def _holes_between_streets(*, street: Level, tolerance: float, measure: Measure) -> list[Problem]:
    """Without a district outline, the only gaps we can know: holes enclosed by the union of
    all streets."""
    ok = np.array([g for g in street.geoms if g is not None], dtype=object)
    if ok.size == 0:
        return []
    holes = [
        shapely.Polygon(ring)
        for poly in shapely.get_parts(shapely.union_all(ok))
        if poly.geom_type == "Polygon"
        for ring in poly.interiors
    ]
    if not holes:
        return []
    areas = measure.area(np.array(holes, dtype=object))
    return [
        Problem(
            "district",
            "",
            "gap",
            f"街道之间有 {area:,.1f} m² 空洞 / hole between streets{measure.where(hole)}",
            float(area),
        )
        for hole, area in zip(holes, areas, strict=True)
        if area > tolerance
    ]
