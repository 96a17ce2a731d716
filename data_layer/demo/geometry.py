"""Demo boundaries: districts, streets, communities and grids as one nested partition.

Districts tile the region, streets tile their district, communities their street, grids their
community (Voronoi cells of k-means-relaxed seed points, clipped to the parent, each one a single
valid Polygon). It is built in a local metric plane and mapped to lon/lat (EPSG:4326) by one
affine map, so shared edges stay shared. Case points are drawn inside the grid polygons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from data_layer.demo.draws import allocate
from data_layer.demo.scales import Spec

_CENTER_LON, _CENTER_LAT = 115.9, 28.7
# Metres per degree around the centre (one affine map metric plane → lon/lat).
_M_PER_DEG_LAT = 110_860.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(_CENTER_LAT))


@dataclass
class Partition:
    """How many children each area has, each child's parent, and the lon/lat polygons."""

    streets_per_district: np.ndarray
    communities_per_street: np.ndarray
    grids_per_community: np.ndarray
    street_district: np.ndarray  # per street: district index
    community_street: np.ndarray  # per community: street index
    grid_community: np.ndarray  # per grid: community index
    street_geoms: np.ndarray  # lon/lat shapely polygons
    community_geoms: np.ndarray
    grid_geoms: np.ndarray


def partition(
    spec: Spec,
    *,
    n_districts: int,
    rng: np.random.Generator,
    progress: Callable[[str, float], None],
) -> Partition:
    """Counts and polygons level by level; bigger cells get more children."""
    nd = n_districts
    region = _outer_polygon(rng, spec.grids * spec.km2_per_grid * 1e6)
    streets_per_d = allocate(
        spec.streets, nd, rng, minimum=max(2, spec.streets // nd - 3), spread=0.25
    )
    d_geoms = _split(region, nd, rng)
    streets_per_d = _by_size(d_geoms, streets_per_d)
    street_d = np.repeat(np.arange(nd), streets_per_d)

    comms_per_s = allocate(spec.communities, spec.streets, rng, minimum=3, spread=0.3)
    s_geoms = _split_children(d_geoms, street_d, comms_per_s, rng)
    comm_s = np.repeat(np.arange(spec.streets), comms_per_s)
    progress("生成行政区划边界 / building boundaries", 0.03)

    grids_per_c = allocate(spec.grids, spec.communities, rng, minimum=5, spread=0.3)
    c_geoms = _split_children(s_geoms, comm_s, grids_per_c, rng)
    grid_c = np.repeat(np.arange(spec.communities), grids_per_c)
    progress("生成网格边界 / building grid boundaries", 0.06)

    g_geoms: list = []
    total_c = spec.communities
    for c in range(total_c):
        g_geoms += _split(c_geoms[c], int(grids_per_c[c]), rng)
        if c % 200 == 199:
            progress("生成网格边界 / building grid boundaries", 0.06 + 0.08 * (c + 1) / total_c)
    return Partition(
        streets_per_district=streets_per_d,
        communities_per_street=comms_per_s,
        grids_per_community=grids_per_c,
        street_district=street_d,
        community_street=comm_s,
        grid_community=grid_c,
        street_geoms=_to_lonlat(np.array(s_geoms, dtype=object)),
        community_geoms=_to_lonlat(np.array(c_geoms, dtype=object)),
        grid_geoms=_to_lonlat(np.array(g_geoms, dtype=object)),
    )


def _split_children(
    parents: list, child_parent: np.ndarray, grandchildren: np.ndarray, rng: np.random.Generator
) -> list:
    """Split each parent into its children; reorder ``grandchildren`` in place by cell size."""
    cells_out: list = []
    for p in range(len(parents)):
        idx = np.flatnonzero(child_parent == p)
        cells = _split(parents[p], idx.size, rng)
        grandchildren[idx] = _by_size(cells, grandchildren[idx])
        cells_out += cells
    return cells_out


def _outer_polygon(rng: np.random.Generator, area_m2: float) -> shapely.Polygon:
    """An irregular, roughly round polygon of the given area centred on (0, 0) metres."""
    n = 180
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 8):
        r += (
            rng.uniform(0.02, 0.10)
            / math.sqrt(k - 1)
            * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        )
    r += rng.normal(0.0, 0.006, n)  # a little roughness, like a real boundary
    stretch = rng.uniform(1.05, 1.3)
    x = r * np.cos(theta) * stretch
    y = r * np.sin(theta) / stretch
    poly = shapely.Polygon(np.column_stack([x, y]))
    k = math.sqrt(area_m2 / poly.area)
    poly = shapely.Polygon(np.column_stack([x * k, y * k]))
    return shapely.make_valid(poly) if not poly.is_valid else poly


def _sample_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = poly.bounds
    out = np.empty((0, 2))
    shapely.prepare(poly)
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        pts = np.column_stack([rng.uniform(xmin, xmax, m), rng.uniform(ymin, ymax, m)])
        out = np.vstack([out, pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]])
    return out[:n]


def _polygon_parts(geom) -> list:
    parts = shapely.get_parts(geom)
    return [p for p in parts if p.geom_type == "Polygon" and p.area > 0]


def _split(parent, n: int, rng: np.random.Generator) -> list:
    """Tile ``parent`` (metric Polygon) with ``n`` single Polygons, ordered north→south in rows."""
    if n == 1:
        return [parent]
    cells = _voronoi_cells(parent, _relaxed_seeds(parent, n, rng))
    _make_single_polygons(cells)
    return _north_to_south(cells, parent)


def _relaxed_seeds(parent, n: int, rng: np.random.Generator) -> np.ndarray:
    """K-means centres of points sampled in the parent (a discrete Lloyd relaxation), so the
    cells are compact and similar in size."""
    sample = _sample_in(parent, 60 * n, rng)
    centers = sample[rng.choice(len(sample), n, replace=False)]
    for _ in range(12):
        d2 = ((sample[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
        lab = d2.argmin(1)
        cnt = np.bincount(lab, minlength=n)
        sx = np.bincount(lab, sample[:, 0], minlength=n)
        sy = np.bincount(lab, sample[:, 1], minlength=n)
        ok = cnt > 0
        centers[ok] = np.column_stack([sx[ok] / cnt[ok], sy[ok] / cnt[ok]])
    return centers


def _voronoi_cells(parent, centers: np.ndarray) -> list:
    """The seeds' Voronoi polygons clipped to the parent, in seed order."""
    vor = shapely.voronoi_polygons(shapely.multipoints(centers), extend_to=parent, ordered=True)
    cells = list(shapely.intersection(shapely.get_parts(vor), parent))
    if len(cells) != len(centers):  # coincident seeds; cannot happen with continuous sampling
        raise RuntimeError(f"Voronoi split gave {len(cells)} cells for {len(centers)} seeds")
    return cells


def _make_single_polygons(cells: list) -> None:
    """In place: a cell the clip cut in two keeps its largest piece and hands the others to the
    neighbour sharing the longest edge."""
    for _ in range(10):
        changed = False
        for i, cell in enumerate(cells):
            parts = _polygon_parts(cell)
            if len(parts) == 1 and cell.geom_type == "Polygon":
                continue
            if len(parts) == 1:
                cells[i] = parts[0]
                continue
            parts.sort(key=lambda p: -p.area)
            cells[i] = parts[0]
            for piece in parts[1:]:
                shared = np.array(
                    [
                        0.0
                        if j == i
                        else shapely.length(shapely.intersection(piece.boundary, c.boundary))
                        for j, c in enumerate(cells)
                    ]
                )
                j = int(shared.argmax())
                cells[j] = shapely.union(cells[j], piece)
            changed = True
        if not changed:
            break
    if any(c.geom_type != "Polygon" for c in cells):
        raise RuntimeError("could not make every cell a single polygon")


def _north_to_south(cells: list, parent) -> list:
    """The cells in rows from north to south, snaking west/east."""
    cen = shapely.centroid(np.array(cells, dtype=object))
    cx, cy = shapely.get_x(cen), shapely.get_y(cen)
    band = max(math.sqrt(parent.area / len(cells)), 1.0)
    row = np.floor((parent.bounds[3] - cy) / band).astype(int)
    key_x = np.where(row % 2 == 0, cx, -cx)
    order = np.lexsort((key_x, row))
    return [cells[i] for i in order]


def _by_size(cells: list, counts: np.ndarray) -> np.ndarray:
    """Hand the largest child counts to the largest cells (counts rearranged per cell)."""
    rank = np.argsort(
        np.argsort(shapely.area(np.array(cells, dtype=object)), kind="stable"), kind="stable"
    )
    return np.sort(counts, kind="stable")[rank]


def _to_lonlat(geoms: np.ndarray) -> np.ndarray:
    scale = np.array([1.0 / _M_PER_DEG_LON, 1.0 / _M_PER_DEG_LAT])
    offset = np.array([_CENTER_LON, _CENTER_LAT])
    return shapely.transform(geoms, lambda c: c * scale + offset)


# --- points inside grids -----------------------------------------------------------------------


@dataclass
class Triangles:
    """The grid polygons cut into triangles, with cumulative areas for area-weighted picks."""

    v0: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    cum: np.ndarray  # cumulative area over all triangles
    start: np.ndarray  # per grid
    stop: np.ndarray
    base: np.ndarray  # cumulative area before each grid's first triangle
    area: np.ndarray  # per grid


def triangulate(geoms: np.ndarray) -> Triangles:
    tris = shapely.constrained_delaunay_triangles(geoms)
    parts, owner = shapely.get_parts(tris, return_index=True)
    coords = shapely.get_coordinates(shapely.get_exterior_ring(parts)).reshape(len(parts), 4, 2)
    v0 = coords[:, 0]
    e1 = coords[:, 1] - v0
    e2 = coords[:, 2] - v0
    a = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    cum = np.cumsum(a)
    n = len(geoms)
    start = np.searchsorted(owner, np.arange(n), side="left")
    stop = np.searchsorted(owner, np.arange(n), side="right")
    base = np.r_[0.0, cum][start]
    area = np.r_[0.0, cum][stop] - base
    return Triangles(v0, e1, e2, cum, start, stop, base, area)


def points_in(
    tri: Triangles, g: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points inside each case's grid polygon (area-weighted triangles)."""
    target = tri.base[g] + rng.random(g.size) * tri.area[g]
    t = np.searchsorted(tri.cum, target, side="right")
    t = np.clip(t, tri.start[g], tri.stop[g] - 1)
    a = rng.random(g.size)
    b = rng.random(g.size)
    flip = a + b > 1.0
    a = np.where(flip, 1.0 - a, a)
    b = np.where(flip, 1.0 - b, b)
    # shrink towards the triangle's centroid so no point sits on a boundary
    a = 1 / 3 + 0.98 * (a - 1 / 3)
    b = 1 / 3 + 0.98 * (b - 1 / 3)
    p = tri.v0[t] + a[:, None] * tri.e1[t] + b[:, None] * tri.e2[t]
    return p[:, 0], p[:, 1]
