"""The geometry check of one level against the level above, vectorised over all its parents.

Four steps, each its own function: children that stick out of their parent, overlaps between
any two children, parents without children, and gaps (parent area no child covers). The
checks use shapely 2 array functions and an STRtree, so a province of 25,000 grids takes
seconds, not the O(n²) of comparing every pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely

from geo.boundaries.measure import Measure
from geo.boundaries.problems import Problem


@dataclass(frozen=True, eq=False)
class Level:
    """One level's areas: its name, codes and sanitised geometry (None = unusable), in source
    coordinates."""

    name: str
    codes: list[str]
    geoms: np.ndarray

    @cached_property
    def usable(self) -> np.ndarray:
        """Which rows have usable geometry."""
        return np.array([g is not None for g in self.geoms], dtype=bool)


def check_level(
    *,
    children: Level,
    parents: Level,
    child_parent: np.ndarray,
    tolerance: float,
    measure: Measure,
) -> list[Problem]:
    """Outside, overlap, childless and gap problems of ``children`` in ``parents``.

    Parameters
    ----------
    children, parents
        The level checked and the level above it (``parents`` may have no rows: then only
        overlaps are checked).
    child_parent
        For each child, the index of its parent in ``parents``; −1 when it has none.
    tolerance
        Area in m² up to which a piece is ignored.
    measure
        Measures areas in m² and names places.
    """
    placed = _placed(children=children, parents=parents, child_parent=child_parent)
    outside, inside_src = _outside(
        children=children,
        parents=parents,
        child_parent=child_parent,
        placed=placed,
        tolerance=tolerance,
        measure=measure,
    )
    overlaps, overlapped = _overlaps(
        children=children, child_parent=child_parent, tolerance=tolerance, measure=measure
    )
    problems = outside + overlaps
    if parents.geoms.size == 0:
        return problems
    kids_count = np.bincount(child_parent[child_parent >= 0], minlength=parents.geoms.size)
    problems += _childless(
        children=children, parents=parents, kids_count=kids_count, measure=measure
    )
    candidates = _gap_candidates(
        parents=parents,
        child_parent=child_parent,
        placed=placed,
        inside_src=inside_src,
        kids_count=kids_count,
        overlapped=overlapped,
        tolerance=tolerance,
        measure=measure,
    )
    problems += _gaps(
        children=children,
        parents=parents,
        child_parent=child_parent,
        candidates=candidates,
        tolerance=tolerance,
        measure=measure,
    )
    return problems


def _placed(*, children: Level, parents: Level, child_parent: np.ndarray) -> np.ndarray:
    """Indexes of the usable children whose parent exists and is usable."""
    placed = np.flatnonzero(children.usable & (child_parent >= 0))
    if placed.size:
        placed = placed[parents.usable[child_parent[placed]]]
    return placed


def _outside(
    *,
    children: Level,
    parents: Level,
    child_parent: np.ndarray,
    placed: np.ndarray,
    tolerance: float,
    measure: Measure,
) -> tuple[list[Problem], np.ndarray]:
    """Children that stick out of their parent by more than ``tolerance``.

    Also returns, for every child, its area inside its parent in source units² (0 when not
    placed): the gap step's area balance needs it, and the differences are computed here.
    """
    problems: list[Problem] = []
    inside_src = np.zeros(len(children.geoms))
    if placed.size == 0:
        return problems, inside_src
    kids = children.geoms[placed]
    par = parents.geoms[child_parent[placed]]
    shapely.prepare(parents.geoms[parents.usable])
    inside_src[placed] = shapely.area(kids)
    sticking_out = np.flatnonzero(~shapely.covered_by(kids, par))  # prepared predicate: cheap
    outside = np.empty(placed.size, dtype=object)
    outside[sticking_out] = shapely.difference(kids[sticking_out], par[sticking_out])
    inside_src[placed[sticking_out]] -= shapely.area(outside[sticking_out])
    nonempty = sticking_out[~shapely.is_empty(outside[sticking_out])]
    if nonempty.size == 0:
        return problems, inside_src
    out_area = measure.area(outside[nonempty])
    big = out_area > tolerance
    for j, a in zip(nonempty[big], out_area[big], strict=True):
        i = placed[j]
        problems.append(
            Problem(
                children.name,
                children.codes[i],
                "outside",
                f"{children.name} {children.codes[i]} 有 {a:,.1f} m² 超出所属 {parents.name} "
                f"{parents.codes[child_parent[i]]} / lies partly outside its parent"
                f"{measure.where(outside[j])}",
                float(a),
            )
        )
    return problems, inside_src


def _overlaps(
    *, children: Level, child_parent: np.ndarray, tolerance: float, measure: Measure
) -> tuple[list[Problem], set[int]]:
    """Overlaps of more than ``tolerance`` between any two children of the level (siblings or
    not), and the parents of the children involved: their area balance is fooled by the
    double-counted area, so the gap step checks them exactly."""
    problems: list[Problem] = []
    overlapped: set[int] = set()
    ok_idx = np.flatnonzero(children.usable)
    if ok_idx.size <= 1:
        return problems, overlapped
    geoms = children.geoms
    tree = shapely.STRtree(geoms[ok_idx])
    a, b = tree.query(geoms[ok_idx], predicate="intersects")
    keep = a < b
    a, b = ok_idx[a[keep]], ok_idx[b[keep]]
    if a.size == 0:
        return problems, overlapped
    inter = shapely.intersection(geoms[a], geoms[b])
    polygonal = np.flatnonzero(shapely.area(inter) > 0)
    if polygonal.size == 0:
        return problems, overlapped
    area = measure.area(inter[polygonal])
    big = area > tolerance
    for k, ar in zip(polygonal[big], area[big], strict=True):
        i, j = a[k], b[k]
        ci, cj = children.codes[i], children.codes[j]
        problems.append(
            Problem(
                children.name,
                f"{ci}/{cj}",
                "overlap",
                f"{children.name} {ci} 与 {cj} 重叠 {ar:,.1f} m² / overlap"
                f"{measure.where(inter[k])}",
                float(ar),
            )
        )
        overlapped.update(int(child_parent[c]) for c in (i, j) if child_parent[c] >= 0)
    return problems, overlapped


def _childless(
    *, children: Level, parents: Level, kids_count: np.ndarray, measure: Measure
) -> list[Problem]:
    """Usable parents that no child names: their whole area is uncovered."""
    childless = np.flatnonzero(parents.usable & (kids_count == 0))
    if childless.size == 0:
        return []
    whole = measure.area(parents.geoms[childless])
    return [
        Problem(
            parents.name,
            parents.codes[p],
            "childless",
            f"{parents.name} {parents.codes[p]} 没有任何下级 {children.name}，{a:,.0f} m² 全部未覆盖 / has no {children.name}s",
            float(a),
        )
        for p, a in zip(childless, whole, strict=True)
    ]


def _gap_candidates(
    *,
    parents: Level,
    child_parent: np.ndarray,
    placed: np.ndarray,
    inside_src: np.ndarray,
    kids_count: np.ndarray,
    overlapped: set[int],
    tolerance: float,
    measure: Measure,
) -> list[int]:
    """Parents that may have a gap, in index order: an area balance in source units (parent
    area − the children's area inside it) finds them cheaply, plus every parent of an overlap
    (whose double-counted area can hide a gap)."""
    n = parents.geoms.size
    covered = np.bincount(child_parent[placed], weights=inside_src[placed], minlength=n)
    par_src = np.zeros(n)
    factor = np.ones(n)
    usable = parents.usable
    if usable.any():
        par_src[usable] = shapely.area(parents.geoms[usable])
        factor[usable] = measure.factor(parents.geoms[usable])
    balance = (par_src - covered) * factor
    candidates = set(
        np.flatnonzero(usable & (kids_count > 0) & (balance > tolerance * 0.5)).tolist()
    )
    candidates |= {p for p in overlapped if usable[p] and kids_count[p] > 0}
    return sorted(candidates)


def _gaps(
    *,
    children: Level,
    parents: Level,
    child_parent: np.ndarray,
    candidates: list[int],
    tolerance: float,
    measure: Measure,
) -> list[Problem]:
    """The exact gaps of the candidate parents: parent − union of its children, each piece
    over ``tolerance`` reported with its nearest children."""
    problems: list[Problem] = []
    if not candidates:
        return problems
    order = np.argsort(child_parent, kind="stable")
    sorted_parent = child_parent[order]
    for p in candidates:
        lo, hi = np.searchsorted(sorted_parent, [p, p + 1])
        members = [i for i in order[lo:hi] if children.geoms[i] is not None]
        union = shapely.union_all(children.geoms[members]) if members else None
        gap = parents.geoms[p] if union is None else shapely.difference(parents.geoms[p], union)
        pieces = shapely.get_parts(gap)
        pieces = pieces[shapely.area(pieces) > 0] if pieces.size else pieces
        if pieces.size == 0:
            continue
        areas = measure.area(pieces)
        big = areas > tolerance
        for piece, area in zip(pieces[big], areas[big], strict=True):
            near = _nearest_codes(children=children, members=members, piece=piece)
            near_txt = f"，相邻 {', '.join(near)}" if near else ""
            problems.append(
                Problem(
                    parents.name,
                    parents.codes[p],
                    "gap",
                    f"{parents.name} {parents.codes[p]} 内有 {area:,.1f} m² 未被任何 {children.name} 覆盖 / gap"
                    f"{near_txt}{measure.where(piece)}",
                    float(area),
                )
            )
    return problems


def _nearest_codes(*, children: Level, members: list[int], piece: shapely.Geometry) -> list[str]:
    """Codes of up to four of ``members`` nearest to ``piece`` (all at the smallest distance)."""
    dist = shapely.distance(children.geoms[members], piece) if members else np.zeros(0)
    return [
        children.codes[members[k]]
        for k in np.argsort(dist, kind="stable")[:4]
        if dist[k] <= dist.min() * 1.0001 + 1e-9
    ]
