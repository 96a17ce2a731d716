"""Boundary checks: do the grids, communities and streets form a nested partition?

Pure functions, no Streamlit. Geometry comes in as WKB (the ``geometry`` column of the
streets / communities / grids tables, EPSG:4326) or as shapely geometries; areas are measured
in a local projected CRS (a CGCS2000 3-degree Gauss-Krüger zone picked from the data's
longitude, UTM outside China), so every tolerance is in square metres.

The checks are vectorised (shapely 2 array functions and an STRtree), so a province of 25,000
grids takes seconds, not the O(n²) of comparing every pair.

Problem kinds
-------------
``missing``        geometry is null or not readable WKB
``empty``          geometry is empty
``invalid``        geometry is not valid (self-intersection, …); checked after ``make_valid``
``not_polygonal``  geometry is not a Polygon / MultiPolygon
``gap``            part of the parent is covered by none of its children
``overlap``        two siblings (or any two children of the level) share area
``outside``        part of a child lies outside its parent
``duplicate_code`` a code appears twice in one table
``bad_code``       a code does not have the documented form (digits, length, parent prefix)
``orphan``         a child names a parent code that does not exist
``childless``      a parent has no children at all (its whole area is a gap)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import pyproj
import shapely

__all__ = [
    "Problem",
    "check_hierarchy",
    "check_partition",
    "from_wkb",
    "local_crs",
    "DEFAULT_TOLERANCE_M2",
]

DEFAULT_TOLERANCE_M2 = 1.0
"""Default area tolerance (m²): slivers smaller than this are rounding noise, not problems."""


@dataclass(frozen=True)
class Problem:
    """One finding of a boundary check.

    Attributes
    ----------
    level
        The level checked: ``"district"``, ``"street"``, ``"community"`` or ``"grid"``.
    code
        The code the problem belongs to (the child's code; the parent's code for a gap; both
        codes joined by ``"/"`` for an overlap).
    kind
        One of the kinds listed in the module docstring.
    message
        A sentence for people, naming the codes, the area in m² and where it is.
    area_m2
        The area involved (0 when the problem is not about area).
    """

    level: str
    code: str
    kind: str
    message: str
    area_m2: float = 0.0


# ---------------------------------------------------------------------------------------------
# Input helpers
# ---------------------------------------------------------------------------------------------


def from_wkb(
    frame, *, geometry: str = "geometry", crs: str | None = "EPSG:4326"
) -> gpd.GeoDataFrame:
    """Turn a frame with a WKB geometry column into a ``geopandas.GeoDataFrame``.

    Parameters
    ----------
    frame
        A polars or pandas DataFrame whose ``geometry`` column holds WKB bytes (null allowed),
        or a GeoDataFrame (returned as is, with ``crs`` set when it has none).
    geometry
        Name of the WKB column.
    crs
        CRS of the coordinates (the data directory stores EPSG:4326).

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows and columns, the geometry column decoded to shapely geometries.
    """
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.crs is None and crs is not None:
            frame = frame.set_crs(crs)
        return frame
    if geometry not in frame.columns:
        raise KeyError(f"no geometry column {geometry!r}")
    if isinstance(frame, pl.DataFrame):
        pdf = frame.drop(geometry).to_pandas()
        wkb = frame[geometry].to_list()
    else:
        pdf = pd.DataFrame(frame).drop(columns=[geometry])
        wkb = list(frame[geometry])
    geoms = _decode(wkb)
    return gpd.GeoDataFrame(pdf, geometry=gpd.GeoSeries(geoms, index=pdf.index), crs=crs)


def _decode(values: Sequence) -> np.ndarray:
    """WKB bytes / shapely geometries / None → object array of geometries (None when missing
    or unreadable)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    is_geom = np.array([isinstance(v, shapely.Geometry) for v in arr], dtype=bool)
    raw = ~is_geom & np.array([v is not None for v in arr], dtype=bool)
    if raw.any():
        arr[raw] = shapely.from_wkb(
            np.array([bytes(v) for v in arr[raw]], dtype=object), on_invalid="ignore"
        )
    return arr


def _geoms_and_crs(obj, crs) -> tuple[np.ndarray, object]:
    """shapely array + CRS from a GeoSeries / GeoDataFrame / frame with WKB / list."""
    if isinstance(obj, gpd.GeoDataFrame):
        return np.asarray(obj.geometry.values, dtype=object), obj.crs or crs
    if isinstance(obj, gpd.GeoSeries):
        return np.asarray(obj.values, dtype=object), obj.crs or crs
    if isinstance(obj, pl.DataFrame):
        return _decode(obj["geometry"].to_list()), crs
    if isinstance(obj, pd.DataFrame):
        return _decode(list(obj["geometry"])), crs
    return _decode(list(obj)), crs


def _codes(frame, column: str) -> list[str]:
    if isinstance(frame, pl.DataFrame):
        return [str(c) for c in frame[column].to_list()]
    return [str(c) for c in frame[column].tolist()]


def local_crs(lon: float, lat: float = 30.0) -> pyproj.CRS:
    """A metric CRS for areas around ``lon``: CGCS2000 3-degree Gauss-Krüger (EPSG:4534–4554,
    central meridians 75°E–135°E) inside China's longitudes, else the UTM zone."""
    if 73.5 <= lon < 136.5:
        k = int(round((lon - 75.0) / 3.0))
        return pyproj.CRS.from_epsg(4534 + k)
    zone = int((lon + 180.0) // 6.0) + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


class _Measure:
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
        lon, lat = 115.0, 30.0
        for a in arrays:
            ok = np.array([g is not None and not g.is_empty for g in a], dtype=bool)
            if ok.any():
                b = shapely.bounds(a[ok])
                lon = float(np.nanmean((b[:, 0] + b[:, 2]) / 2))
                lat = float(np.nanmean((b[:, 1] + b[:, 3]) / 2))
                break
        self.crs = local_crs(lon, lat)
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


# ---------------------------------------------------------------------------------------------
# Geometry sanity
# ---------------------------------------------------------------------------------------------


def _sanitise(
    geoms: np.ndarray, codes: list[str], level: str, problems: list[Problem]
) -> np.ndarray:
    """Report missing / empty / invalid / non-polygonal geometry; return usable geometry
    (invalid ones repaired with ``make_valid``, unusable ones as None)."""
    out = geoms.copy()
    missing = np.array([g is None for g in geoms], dtype=bool)
    for i in np.flatnonzero(missing):
        problems.append(
            Problem(
                level,
                codes[i],
                "missing",
                f"{level} {codes[i]}：没有边界或无法解析 / geometry is missing or unreadable",
            )
        )
    present = ~missing
    idx = np.flatnonzero(present)
    if idx.size == 0:
        return out
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
        fixed = shapely.make_valid(g[j])
        polys = [p for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")]
        out[i] = shapely.union_all(polys) if polys else None
    types = shapely.get_type_id(g)
    bad_type = ~np.isin(types, [3, 6]) & ~empty & valid  # Polygon, MultiPolygon
    for i in idx[bad_type]:
        problems.append(
            Problem(
                level,
                codes[i],
                "not_polygonal",
                f"{level} {codes[i]}：边界不是面 / not a polygon ({geoms[i].geom_type})",
            )
        )
        out[i] = None
    return out


# ---------------------------------------------------------------------------------------------
# The level check (vectorised over all parents of one level)
# ---------------------------------------------------------------------------------------------


def _check_level(
    *,
    level: str,
    parent_level: str,
    parent_codes: list[str],
    parents: np.ndarray,  # sanitised (None = unusable), source coordinates
    child_codes: list[str],
    children: np.ndarray,  # sanitised, source coordinates
    child_parent: np.ndarray,  # index into parents, −1 = none
    tolerance: float,
    measure: _Measure,
) -> list[Problem]:
    problems: list[Problem] = []
    n = len(children)
    ok = np.array([g is not None for g in children], dtype=bool)
    npar = len(parents)
    par_ok_all = np.array([p is not None for p in parents], dtype=bool)
    hp_idx = np.flatnonzero(ok & (child_parent >= 0))
    if hp_idx.size:
        hp_idx = hp_idx[par_ok_all[child_parent[hp_idx]]]

    # children outside their parent
    inside_src = np.zeros(n)  # child ∩ parent, in source units²
    if hp_idx.size:
        kids = children[hp_idx]
        par = parents[child_parent[hp_idx]]
        shapely.prepare(parents[par_ok_all])
        inside_src[hp_idx] = shapely.area(kids)
        sticking_out = np.flatnonzero(~shapely.covered_by(kids, par))  # prepared predicate: cheap
        outside = np.empty(hp_idx.size, dtype=object)
        outside[sticking_out] = shapely.difference(kids[sticking_out], par[sticking_out])
        inside_src[hp_idx[sticking_out]] -= shapely.area(outside[sticking_out])
        nonempty = sticking_out[~shapely.is_empty(outside[sticking_out])]
        if nonempty.size:
            out_area = measure.area(outside[nonempty])
            for j, a in zip(
                nonempty[out_area > tolerance], out_area[out_area > tolerance], strict=True
            ):
                i = hp_idx[j]
                problems.append(
                    Problem(
                        level,
                        child_codes[i],
                        "outside",
                        f"{level} {child_codes[i]} 有 {a:,.1f} m² 超出所属 {parent_level} "
                        f"{parent_codes[child_parent[i]]} / lies partly outside its parent"
                        f"{measure.where(outside[j])}",
                        float(a),
                    )
                )

    # overlaps between any two children of the level (siblings or not)
    overlap_parents: set[int] = set()
    ok_idx = np.flatnonzero(ok)
    if ok_idx.size > 1:
        tree = shapely.STRtree(children[ok_idx])
        a, b = tree.query(children[ok_idx], predicate="intersects")
        keep = a < b
        a, b = ok_idx[a[keep]], ok_idx[b[keep]]
        if a.size:
            inter = shapely.intersection(children[a], children[b])
            polygonal = np.flatnonzero(shapely.area(inter) > 0)
            if polygonal.size:
                area = measure.area(inter[polygonal])
                for k, ar in zip(polygonal[area > tolerance], area[area > tolerance], strict=True):
                    i, j = a[k], b[k]
                    problems.append(
                        Problem(
                            level,
                            f"{child_codes[i]}/{child_codes[j]}",
                            "overlap",
                            f"{level} {child_codes[i]} 与 {child_codes[j]} 重叠 {ar:,.1f} m² / overlap"
                            f"{measure.where(inter[k])}",
                            float(ar),
                        )
                    )
                    overlap_parents.update(
                        int(child_parent[c]) for c in (i, j) if child_parent[c] >= 0
                    )

    # gaps: parent area not covered by its children. An area balance in source units finds the
    # candidates cheaply; the exact difference (parent − union of children) locates the pieces.
    if npar == 0:
        return problems
    kids_count = np.bincount(child_parent[child_parent >= 0], minlength=npar)
    covered = np.bincount(child_parent[hp_idx], weights=inside_src[hp_idx], minlength=npar)
    par_src = np.zeros(npar)
    factor = np.ones(npar)
    if par_ok_all.any():
        par_src[par_ok_all] = shapely.area(parents[par_ok_all])
        factor[par_ok_all] = measure.factor(parents[par_ok_all])
    childless = np.flatnonzero(par_ok_all & (kids_count == 0))
    if childless.size:
        whole = measure.area(parents[childless])
        for p, a in zip(childless, whole, strict=True):
            problems.append(
                Problem(
                    parent_level,
                    parent_codes[p],
                    "childless",
                    f"{parent_level} {parent_codes[p]} 没有任何下级 {level}，{a:,.0f} m² 全部未覆盖 / has no {level}s",
                    float(a),
                )
            )
    balance = (par_src - covered) * factor
    candidates = set(
        np.flatnonzero(par_ok_all & (kids_count > 0) & (balance > tolerance * 0.5)).tolist()
    )
    candidates |= {p for p in overlap_parents if par_ok_all[p] and kids_count[p] > 0}
    if not candidates:
        return problems
    order = np.argsort(child_parent, kind="stable")
    sorted_parent = child_parent[order]
    for p in sorted(candidates):
        lo, hi = np.searchsorted(sorted_parent, [p, p + 1])
        members = [i for i in order[lo:hi] if children[i] is not None]
        union = shapely.union_all(children[members]) if members else None
        gap = parents[p] if union is None else shapely.difference(parents[p], union)
        pieces = shapely.get_parts(gap)
        pieces = pieces[shapely.area(pieces) > 0] if pieces.size else pieces
        if pieces.size == 0:
            continue
        areas = measure.area(pieces)
        for piece, area in zip(pieces[areas > tolerance], areas[areas > tolerance], strict=True):
            dist = shapely.distance(children[members], piece) if members else np.zeros(0)
            near = [
                child_codes[members[k]]
                for k in np.argsort(dist, kind="stable")[:4]
                if dist[k] <= dist.min() * 1.0001 + 1e-9
            ]
            near_txt = f"，相邻 {', '.join(near)}" if near else ""
            problems.append(
                Problem(
                    parent_level,
                    parent_codes[p],
                    "gap",
                    f"{parent_level} {parent_codes[p]} 内有 {area:,.1f} m² 未被任何 {level} 覆盖 / gap"
                    f"{near_txt}{measure.where(piece)}",
                    float(area),
                )
            )
    return problems


# ---------------------------------------------------------------------------------------------
# Public checks
# ---------------------------------------------------------------------------------------------


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
    kids, crs = _geoms_and_crs(children, crs)
    codes = [str(c) for c in child_codes]
    if len(codes) != len(kids):
        raise ValueError(f"child_codes has {len(codes)} codes for {len(kids)} children")
    problems: list[Problem] = []
    par = _sanitise(_decode([parent]), [parent_code or "parent"], parent_level, problems)
    kids = _sanitise(kids, codes, level, problems)
    if par[0] is None:
        return problems
    problems += _check_level(
        level=level,
        parent_level=parent_level,
        parent_codes=[parent_code or "parent"],
        parents=par,
        child_codes=codes,
        children=kids,
        child_parent=np.zeros(len(kids), dtype=np.int64),
        tolerance=tolerance,
        measure=_Measure(crs, [par, kids]),
    )
    return problems


_CODE_DIGITS = {"street": 9, "community": 12, "grid": 15}


def _code_problems(
    level: str, codes: list[str], parents: list[str] | None, parent_set: set[str] | None
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    digits = _CODE_DIGITS[level]
    for i, code in enumerate(codes):
        if code in seen:
            problems.append(
                Problem(level, code, "duplicate_code", f"{level} 编码重复 / duplicate code {code}")
            )
        seen.add(code)
        if not (len(code) == digits and code.isascii() and code.isdigit()):
            problems.append(
                Problem(
                    level,
                    code,
                    "bad_code",
                    f"{level} 编码 {code} 格式不对，应为 {digits} 位数字 / code must be {digits} digits",
                )
            )
        if parents is None:
            continue
        pc = parents[i]
        if parent_set is not None and pc not in parent_set:
            problems.append(
                Problem(
                    level,
                    code,
                    "orphan",
                    f"{level} {code} 的上级 {pc} 不存在 / parent code not found",
                )
            )
        elif not code.startswith(pc) or len(code) != len(pc) + 3:
            problems.append(
                Problem(
                    level,
                    code,
                    "bad_code",
                    f"{level} 编码 {code} 应为上级编码 {pc} 加 3 位 / must be its parent code + 3 digits",
                )
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
    s_codes = _codes(streets, "street_code")
    c_codes = _codes(communities, "community_code")
    c_parent = _codes(communities, "street_code")
    g_codes = _codes(grids, "grid_code")
    g_parent = _codes(grids, "community_code")

    problems: list[Problem] = []
    problems += _code_problems("street", s_codes, None, None)
    problems += _code_problems("community", c_codes, c_parent, set(s_codes))
    problems += _code_problems("grid", g_codes, g_parent, set(c_codes))

    s_geo, crs = _geoms_and_crs(streets, crs)
    c_geo, _ = _geoms_and_crs(communities, crs)
    g_geo, _ = _geoms_and_crs(grids, crs)
    s_geo = _sanitise(s_geo, s_codes, "street", problems)
    c_geo = _sanitise(c_geo, c_codes, "community", problems)
    g_geo = _sanitise(g_geo, g_codes, "grid", problems)
    measure = _Measure(crs, [s_geo, c_geo, g_geo])

    def index_of(codes: list[str], parents: list[str]) -> np.ndarray:
        pos: dict[str, int] = {}
        for i, c in enumerate(codes):
            pos.setdefault(c, i)
        return np.array([pos.get(p, -1) for p in parents], dtype=np.int64)

    d_geo = (
        _sanitise(_decode([district]), ["district"], "district", problems)
        if district is not None
        else None
    )
    if d_geo is not None and d_geo[0] is not None:
        problems += _check_level(
            level="street",
            parent_level="district",
            parent_codes=["district"],
            parents=d_geo,
            child_codes=s_codes,
            children=s_geo,
            child_parent=np.zeros(len(s_codes), dtype=np.int64),
            tolerance=tolerance,
            measure=measure,
        )
    else:
        problems += _check_level(
            level="street",
            parent_level="district",
            parent_codes=[],
            parents=np.empty(0, dtype=object),
            child_codes=s_codes,
            children=s_geo,
            child_parent=np.full(len(s_codes), -1, dtype=np.int64),
            tolerance=tolerance,
            measure=measure,
        )
        ok = np.array([g for g in s_geo if g is not None], dtype=object)
        if ok.size:
            holes = [
                shapely.Polygon(ring)
                for poly in shapely.get_parts(shapely.union_all(ok))
                if poly.geom_type == "Polygon"
                for ring in poly.interiors
            ]
            if holes:
                areas = measure.area(np.array(holes, dtype=object))
                for hole, area in zip(holes, areas, strict=True):
                    if area > tolerance:
                        problems.append(
                            Problem(
                                "district",
                                "",
                                "gap",
                                f"街道之间有 {area:,.1f} m² 空洞 / hole between streets{measure.where(hole)}",
                                float(area),
                            )
                        )
    problems += _check_level(
        level="community",
        parent_level="street",
        parent_codes=s_codes,
        parents=s_geo,
        child_codes=c_codes,
        children=c_geo,
        child_parent=index_of(s_codes, c_parent),
        tolerance=tolerance,
        measure=measure,
    )
    problems += _check_level(
        level="grid",
        parent_level="community",
        parent_codes=c_codes,
        parents=c_geo,
        child_codes=g_codes,
        children=g_geo,
        child_parent=index_of(c_codes, g_parent),
        tolerance=tolerance,
        measure=measure,
    )
    return problems
