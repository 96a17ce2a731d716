"""geo.simplify: coverage-preserving simplification and quantisation on hand-made inputs.

Two ~1 km squares near Nanchang share a wiggly border (a zig-zag of +-2 m, 40
vertices 28 m apart). After simplification they must still share that border
exactly: no overlap, no gap, the same vertices on both sides.

Visvalingam-Whyatt removes a vertex when the triangle it makes with its
neighbours is smaller than tolerance**2. Each zig-zag vertex makes a triangle of
base 2 x 27.7 m and height 2 x 1.95 m, area ~108 m2, i.e. sqrt(area) ~10.4 m: the
wiggle survives the grid tolerance (3 m) and is gone at the street tolerance (25 m).
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import LineString, Polygon

from geo import simplify

LON0, LAT0 = 115.90, 28.70
SIDE = 0.01  # degrees, ~1 km
WIGGLE = 2e-5  # degrees, ~2 m
N_WIGGLE = 40


def _wiggly_edge() -> list[tuple[float, float]]:
    """The shared border, bottom to top, zig-zagging around lon = LON0 + SIDE."""
    x = LON0 + SIDE
    pts = [(x, LAT0)]
    for i in range(1, N_WIGGLE):
        pts.append((x + (WIGGLE if i % 2 else -WIGGLE), LAT0 + SIDE * i / N_WIGGLE))
    pts.append((x, LAT0 + SIDE))
    return pts


def _two_squares() -> np.ndarray:
    edge = _wiggly_edge()
    left = Polygon([(LON0, LAT0), *edge, (LON0, LAT0 + SIDE)])
    right = Polygon([*edge, (LON0 + 2 * SIDE, LAT0 + SIDE), (LON0 + 2 * SIDE, LAT0)][::-1])
    return np.array([left, right], dtype=object)


def _assert_exact_shared_border(geoms: np.ndarray) -> None:
    left, right = geoms
    assert shapely.is_valid(left) and shapely.is_valid(right)
    assert shapely.coverage_is_valid(geoms)
    # no overlap
    assert shapely.intersection(left, right).area == 0.0
    # no gap: the union is one polygon without holes, and areas add up
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert union.area == pytest.approx(left.area + right.area, rel=1e-12)
    # the border is one line, made of the very same vertices on both sides
    border = shapely.line_merge(shapely.intersection(left.boundary, right.boundary))
    assert border.geom_type == "LineString"
    assert border.length >= SIDE
    left_pts = {tuple(c) for c in shapely.get_coordinates(left)}
    right_pts = {tuple(c) for c in shapely.get_coordinates(right)}
    shared = left_pts & right_pts
    on_border = {tuple(c) for c in shapely.get_coordinates(border)}
    assert on_border <= shared


def test_input_is_a_valid_coverage() -> None:
    geoms = _two_squares()
    assert shapely.coverage_is_valid(geoms)
    _assert_exact_shared_border(geoms)


@pytest.mark.parametrize("level", simplify.LEVELS)
def test_simplify_level_keeps_the_shared_border(level: str) -> None:
    geoms = _two_squares()
    out = simplify.simplify_level(geometries=geoms, level=level)
    assert len(out) == 2
    _assert_exact_shared_border(out)
    n_in, n_out = (shapely.get_num_coordinates(g).sum() for g in (geoms, out))
    if level == "street":  # 25 m > 10.4 m: the wiggle is gone
        assert n_out < n_in / 4
    if level == "grid":  # 3 m < 10.4 m: the wiggle is kept
        assert n_out == n_in
    # the squares' area is kept within the wiggle
    for before, after in zip(geoms, out, strict=True):
        assert after.area == pytest.approx(before.area, rel=0.01)


def test_simplify_without_quantisation_is_still_a_coverage() -> None:
    out = simplify.simplify_level(geometries=_two_squares(), level="grid", decimals=None)
    _assert_exact_shared_border(out)


def test_tolerances_are_coarser_for_higher_levels() -> None:
    tol = simplify.TOLERANCE_M
    assert tol["street"] > tol["community"] > tol["grid"] > 0


def test_tolerance_is_in_metres() -> None:
    """The zig-zag (sqrt of triangle area ~10.4 m) survives 9 m and goes at 11-25 m."""
    geoms = _two_squares()
    n = shapely.get_num_coordinates
    kept = simplify.simplify_coverage(geometries=geoms, tolerance_m=9.0)
    assert n(kept).sum() >= n(geoms).sum() - 4  # at most the end vertices
    for tol in (11.0, 25.0):
        gone = simplify.simplify_coverage(geometries=geoms, tolerance_m=tol)
        assert n(gone).sum() < n(geoms).sum() / 2
        _assert_exact_shared_border(gone)


def test_quantize_rounds_to_five_decimals_and_keeps_shared_vertices() -> None:
    geoms = _two_squares()
    shifted = shapely.transform(geoms, lambda c: c + 1.234567e-7)
    out = simplify.quantize(geometries=shifted)
    coords = shapely.get_coordinates(out)
    assert np.array_equal(coords, np.round(coords, 5))
    _assert_exact_shared_border(out)


def test_not_edge_matched_input_is_cleaned_first() -> None:
    """A T-junction (a vertex of one square lies on the other's edge) is repaired."""
    x = LON0 + SIDE
    mid = (x, LAT0 + SIDE / 2)
    left = Polygon([(LON0, LAT0), (x, LAT0), mid, (x, LAT0 + SIDE), (LON0, LAT0 + SIDE)])
    right = Polygon(
        [(x, LAT0), (LON0 + 2 * SIDE, LAT0), (LON0 + 2 * SIDE, LAT0 + SIDE), (x, LAT0 + SIDE)]
    )
    # a third polygon whose corner sits on right's straight edge: a T-junction
    below = Polygon(
        [
            (LON0, LAT0 - SIDE),
            (LON0 + 2 * SIDE, LAT0 - SIDE),
            (LON0 + 2 * SIDE, LAT0),
            (x, LAT0),
            (LON0, LAT0),
        ]
    )
    geoms = np.array([left, right, below], dtype=object)
    # `right` lacks the vertex `mid` that `left` has on their shared edge
    assert not shapely.coverage_is_valid(geoms)
    out = simplify.simplify_level(geometries=geoms, level="grid")
    assert shapely.coverage_is_valid(out)
    assert all(shapely.is_valid(out))
    union = shapely.union_all(out)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert union.area == pytest.approx(sum(g.area for g in out), rel=1e-12)


def test_none_and_empty_pass_through() -> None:
    a, b = _two_squares()
    geoms = np.array([a, None, Polygon(), b], dtype=object)
    out = simplify.simplify_level(geometries=geoms, level="street")
    assert out[1] is None
    assert out[2].is_empty
    _assert_exact_shared_border(np.array([out[0], out[3]], dtype=object))


def test_unknown_level() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        simplify.simplify_level(geometries=_two_squares(), level="district")


def test_line_inputs_are_rejected() -> None:
    with pytest.raises(Exception):  # noqa: B017 - GEOS error type varies
        simplify.simplify_coverage(
            geometries=[LineString([(LON0, LAT0), (LON0 + SIDE, LAT0)])], tolerance_m=3.0
        )
