"""Tests for geo.china_offsets (GCJ-02 / BD-09 points) and geo.crs (names, EPSG, geometries
and frames): WGS 84 / GCJ-02 / BD-09 / EPSG conversions."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from geo._errors import CRSError
from geo.china_offsets import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    out_of_china,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.crs import convert_lonlat, normalize_crs, to_gcj02, to_wgs84

# Published reference values.
# wandergis/coordtransform, test/app.js, input (116.404, 39.915) near Tiananmen:
COORDTRANSFORM_INPUT = (116.404, 39.915)
COORDTRANSFORM_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
COORDTRANSFORM_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
# googollee/eviltransform test vectors: (wgs lat, wgs lon, gcj lat, gcj lon)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]
# hujiulong/gcoord unit tests, input (123, 45), checked to 5 decimals there.
GCOORD_INPUT = (123.0, 45.0)
GCOORD_GCJ02_TO_WGS84 = (122.99395597, 44.99804071)
GCOORD_GCJ02_TO_BD09 = (123.00636499, 45.00636899)
GCOORD_BD09_TO_GCJ02 = (122.99363304, 44.99365430)
GCOORD_BD09_TO_WGS84 = (122.98762210, 44.99171540)

OUTSIDE = {
    "london": (-0.1276, 51.5072),
    "tokyo": (139.6917, 35.6895),
    "sydney": (151.2093, -33.8688),
    "new_york": (-74.0060, 40.7128),
}


def _china_grid(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.linspace(73.0, 135.0, n), np.linspace(18.0, 53.0, n))
    return lon.ravel(), lat.ravel()


def _metres(dlon: np.ndarray, dlat: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return np.hypot(dlon * 111_320.0 * np.cos(np.radians(lat)), dlat * 110_574.0)


# --------------------------------------------------------------------------- #
# published reference points
# --------------------------------------------------------------------------- #
def test_wgs84_to_gcj02_matches_coordtransform() -> None:
    lon, lat = wgs84_to_gcj02(*COORDTRANSFORM_INPUT)
    assert float(lon) == pytest.approx(COORDTRANSFORM_WGS84_TO_GCJ02[0], abs=1e-12)
    assert float(lat) == pytest.approx(COORDTRANSFORM_WGS84_TO_GCJ02[1], abs=1e-12)


def test_gcj02_to_bd09_matches_coordtransform() -> None:
    lon, lat = gcj02_to_bd09(*COORDTRANSFORM_INPUT)
    assert float(lon) == pytest.approx(COORDTRANSFORM_GCJ02_TO_BD09[0], abs=1e-12)
    assert float(lat) == pytest.approx(COORDTRANSFORM_GCJ02_TO_BD09[1], abs=1e-12)


def test_tiananmen_triple_is_consistent() -> None:
    wgs = COORDTRANSFORM_INPUT
    gcj = wgs84_to_gcj02(*wgs)
    bd = wgs84_to_bd09(*wgs)
    np.testing.assert_allclose(gcj, COORDTRANSFORM_WGS84_TO_GCJ02, atol=1e-12)
    np.testing.assert_allclose(bd, gcj02_to_bd09(*gcj), atol=1e-12)
    np.testing.assert_allclose(bd09_to_gcj02(*bd), gcj, atol=1e-9)
    np.testing.assert_allclose(bd09_to_wgs84(*bd), wgs, atol=1e-9)
    np.testing.assert_allclose(gcj02_to_wgs84(*gcj), wgs, atol=1e-9)


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_eviltransform_vectors_both_ways(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert (float(lon), float(lat)) == pytest.approx((glon, glat), abs=1e-10)
    lon, lat = gcj02_to_wgs84(glon, glat)
    # exact inversion: far inside eviltransform's own 0.5 m bound for its "exact" mode
    assert (float(lon), float(lat)) == pytest.approx((wlon, wlat), abs=1e-9)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (gcj02_to_wgs84, GCOORD_GCJ02_TO_WGS84),
        (gcj02_to_bd09, GCOORD_GCJ02_TO_BD09),
        (bd09_to_gcj02, GCOORD_BD09_TO_GCJ02),
        (bd09_to_wgs84, GCOORD_BD09_TO_WGS84),
    ],
)
def test_gcoord_vectors(fn: object, expected: tuple[float, float]) -> None:
    lon, lat = fn(*GCOORD_INPUT)  # type: ignore[operator]
    # gcoord checks 5 decimals (|diff| < 5e-6); its inverses are approximations.
    assert float(lon) == pytest.approx(expected[0], abs=5e-6)
    assert float(lat) == pytest.approx(expected[1], abs=5e-6)


# --------------------------------------------------------------------------- #
# inversion accuracy and round trips
# --------------------------------------------------------------------------- #
def test_gcj02_to_wgs84_is_exact_inverse_not_one_step() -> None:
    gcj_lon, gcj_lat = _china_grid()
    w_lon, w_lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    back_lon, back_lat = wgs84_to_gcj02(w_lon, w_lat)
    err_m = _metres(back_lon - gcj_lon, back_lat - gcj_lat, gcj_lat)
    assert err_m.max() < 0.01  # < 1 cm (actually ~1e-8 m)
    assert np.abs(back_lon - gcj_lon).max() < 1e-9
    assert np.abs(back_lat - gcj_lat).max() < 1e-9
    # the common one-step approximation (gcj - offset(gcj)) is metres off
    from geo.china_offsets import _gcj_offset

    d_lon, d_lat = _gcj_offset(gcj_lon, gcj_lat)
    approx_lon, approx_lat = wgs84_to_gcj02(gcj_lon - d_lon, gcj_lat - d_lat)
    assert _metres(approx_lon - gcj_lon, approx_lat - gcj_lat, gcj_lat).max() > 0.5


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [
        (wgs84_to_gcj02, gcj02_to_wgs84),
        (gcj02_to_bd09, bd09_to_gcj02),
        (wgs84_to_bd09, bd09_to_wgs84),
    ],
)
def test_round_trip_below_1e_minus_6_degree(forward: object, inverse: object) -> None:
    rng = np.random.default_rng(42)
    lon = rng.uniform(73.0, 135.0, 5_000)
    lat = rng.uniform(18.0, 53.0, 5_000)
    out_lon, out_lat = inverse(*forward(lon, lat))  # type: ignore[operator]
    assert np.abs(out_lon - lon).max() < 1e-6
    assert np.abs(out_lat - lat).max() < 1e-6
    # and in practice to better than 1e-9 degree (0.1 mm)
    assert max(np.abs(out_lon - lon).max(), np.abs(out_lat - lat).max()) < 1e-9


def test_offsets_are_plausible_in_china() -> None:
    lon, lat = _china_grid(10)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    shift = _metres(g_lon - lon, g_lat - lat, lat)
    assert shift.min() > 1.0
    assert shift.max() < 1_500.0  # GCJ-02 moves points by at most ~700 m


def test_vectorised_shapes_and_nan() -> None:
    lon = np.array([[116.404, 121.47], [np.nan, 113.26]])
    lat = np.array([[39.915, 31.23], [30.0, np.nan]])
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, bd09_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        assert out_lon.shape == (2, 2)
        assert out_lat.shape == (2, 2)
        assert np.isnan(out_lon[1, 0]) and np.isnan(out_lat[1, 1])
        assert np.isfinite(out_lon[0]).all()
    # scalar + array broadcast
    out_lon, out_lat = wgs84_to_gcj02(116.404, np.array([39.0, 40.0]))
    assert out_lon.shape == (2,)
    # empty
    out_lon, out_lat = gcj02_to_wgs84(np.array([]), np.array([]))
    assert out_lon.size == 0


def test_inputs_not_modified() -> None:
    lon = np.array([116.404, 121.47])
    lat = np.array([39.915, 31.23])
    gcj02_to_wgs84(lon, lat)
    bd09_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, [116.404, 121.47])
    np.testing.assert_array_equal(lat, [39.915, 31.23])


# --------------------------------------------------------------------------- #
# outside China
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", sorted(OUTSIDE))
def test_outside_china_unchanged(name: str) -> None:
    lon, lat = OUTSIDE[name]
    assert bool(out_of_china(lon, lat))
    for fn in (
        wgs84_to_gcj02,
        gcj02_to_wgs84,
        gcj02_to_bd09,
        bd09_to_gcj02,
        wgs84_to_bd09,
        bd09_to_wgs84,
    ):
        out_lon, out_lat = fn(lon, lat)
        assert (float(out_lon), float(out_lat)) == (lon, lat), fn.__name__


def test_mixed_inside_and_outside() -> None:
    lon = np.array([116.404, -0.1276])
    lat = np.array([39.915, 51.5072])
    out_lon, out_lat = wgs84_to_gcj02(lon, lat)
    assert out_lon[0] != lon[0]
    assert (out_lon[1], out_lat[1]) == (lon[1], lat[1])


# --------------------------------------------------------------------------- #
# CRS names
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("cgcs2000", "cgcs2000"),
        ("epsg:4490", "cgcs2000"),
        ("GCJ-02", "gcj02"),
        ("gcj02", "gcj02"),
        ("BD09", "bd09"),
        ("epsg:3857", "EPSG:3857"),
        (" EPSG:4547 ", "EPSG:4547"),
    ],
)
def test_normalize_crs(name: str, expected: str) -> None:
    assert normalize_crs(name) == expected


@pytest.mark.parametrize("name", ["gcj2", "mars", "", "EPSG:", "EPSG:999999", "4326", "EPSG:12a"])
def test_unknown_crs_raises(name: str) -> None:
    with pytest.raises(CRSError):
        normalize_crs(name)
    with pytest.raises(ValueError):  # CRSError is a ValueError
        to_wgs84(Point(116.4, 39.9), source=name)


def test_non_string_crs_raises() -> None:
    with pytest.raises(CRSError):
        normalize_crs(4326)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# geometries and frames
# --------------------------------------------------------------------------- #
GCJ_POLYGON = Polygon(
    [(116.39, 39.90), (116.42, 39.90), (116.42, 39.93), (116.39, 39.93), (116.39, 39.90)],
    holes=[[(116.40, 39.91), (116.41, 39.91), (116.41, 39.92), (116.40, 39.91)]],
)


def test_polygon_gcj02_to_wgs84_vertexwise() -> None:
    out = to_wgs84(GCJ_POLYGON, source="gcj02")
    assert isinstance(out, Polygon)
    assert len(out.interiors) == 1
    src = np.asarray(GCJ_POLYGON.exterior.coords)
    got = np.asarray(out.exterior.coords)
    exp_lon, exp_lat = gcj02_to_wgs84(src[:, 0], src[:, 1])
    np.testing.assert_allclose(got[:, 0], exp_lon, atol=1e-12)
    np.testing.assert_allclose(got[:, 1], exp_lat, atol=1e-12)
    hole_src = np.asarray(GCJ_POLYGON.interiors[0].coords)
    hole_lon, hole_lat = gcj02_to_wgs84(hole_src[:, 0], hole_src[:, 1])
    np.testing.assert_allclose(np.asarray(out.interiors[0].coords)[:, 0], hole_lon, atol=1e-12)
    np.testing.assert_allclose(np.asarray(out.interiors[0].coords)[:, 1], hole_lat, atol=1e-12)
    assert out.is_valid
    # area changes only marginally (a near-rigid shift of a few hundred metres)
    assert out.area == pytest.approx(GCJ_POLYGON.area, rel=1e-3)
    # input untouched
    assert np.asarray(GCJ_POLYGON.exterior.coords)[0, 0] == 116.39


def test_geometry_round_trip_wgs_gcj_bd() -> None:
    wgs = to_wgs84(GCJ_POLYGON, source="gcj02")
    assert to_gcj02(wgs).equals_exact(GCJ_POLYGON, tolerance=1e-9)
    bd = to_wgs84(GCJ_POLYGON, source="wgs84")
    assert bd.equals_exact(GCJ_POLYGON, tolerance=0)  # identity
    assert to_wgs84(GCJ_POLYGON, source="cgcs2000").equals_exact(GCJ_POLYGON, tolerance=0)
    bd_poly = Polygon(np.column_stack(wgs84_to_bd09(*np.asarray(wgs.exterior.coords).T)))
    assert to_wgs84(bd_poly, source="bd09").exterior.equals_exact(wgs.exterior, tolerance=1e-9)


def test_z_is_carried_through() -> None:
    out = to_wgs84(Point(116.404, 39.915, 42.0), source="gcj02")
    assert out.has_z
    assert out.z == 42.0
    assert out.x != 116.404


def test_geodataframe_gcj02_to_wgs84_keeps_attributes() -> None:
    gdf = gpd.GeoDataFrame(
        {"grid_code": ["a", "b"], "households": [300, 450]},
        geometry=[GCJ_POLYGON, None],
        crs="EPSG:4326",  # GCJ-02 files are routinely mis-tagged like this
        index=[10, 20],
    )
    out = to_wgs84(gdf, source="gcj02")
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.crs.to_epsg() == 4326
    assert list(out.index) == [10, 20]
    assert list(out["grid_code"]) == ["a", "b"]
    assert out.geometry.iloc[1] is None
    assert out.geometry.iloc[0].equals_exact(to_wgs84(GCJ_POLYGON, source="gcj02"), 0)
    # input untouched
    assert gdf.geometry.iloc[0].equals_exact(GCJ_POLYGON, 0)


def test_geoseries_untagged_bd09() -> None:
    gs = gpd.GeoSeries([Point(116.404, 39.915)], name="geom")
    out = to_wgs84(gs, source="bd09")
    assert isinstance(out, gpd.GeoSeries)
    assert out.crs.to_epsg() == 4326
    exp = bd09_to_wgs84(116.404, 39.915)
    assert (out.iloc[0].x, out.iloc[0].y) == pytest.approx(exp, abs=1e-12)


def _web_mercator(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return r * math.radians(lon), r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def test_epsg_3857_geometry_and_frame() -> None:
    x, y = _web_mercator(116.404, 39.915)
    pt = to_wgs84(Point(x, y), source="EPSG:3857")
    assert (pt.x, pt.y) == pytest.approx((116.404, 39.915), abs=1e-9)

    x2, y2 = _web_mercator(116.41, 39.92)
    square = Polygon([(x, y), (x2, y), (x2, y2), (x, y2)])
    gdf = gpd.GeoDataFrame({"k": [1]}, geometry=[square], crs="EPSG:3857")
    out = to_wgs84(gdf, source="EPSG:3857")
    assert out.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = out.total_bounds
    assert (minx, miny, maxx, maxy) == pytest.approx((116.404, 39.915, 116.41, 39.92), abs=1e-9)
    # untagged frame + explicit source works too
    out2 = to_wgs84(gdf.set_crs(None, allow_override=True), source="epsg:3857")
    assert out2.geometry.iloc[0].equals_exact(out.geometry.iloc[0], 1e-12)


def test_cgcs2000_gauss_kruger_zone_round_trip() -> None:
    # EPSG:4547 = CGCS2000 / 3-degree Gauss-Kruger CM 114E (Wuhan, Shenzhen area)
    x, y = convert_lonlat(114.3, 30.6, source="wgs84", target="EPSG:4547")
    assert 400_000 < float(x) < 600_000  # false easting 500 km
    pt = to_wgs84(Point(float(x), float(y)), source="EPSG:4547")
    assert (pt.x, pt.y) == pytest.approx((114.3, 30.6), abs=1e-9)


def test_frame_crs_contradicting_source_raises() -> None:
    gdf = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:3857")
    with pytest.raises(CRSError):
        to_wgs84(gdf, source="gcj02")
    with pytest.raises(CRSError):
        to_wgs84(gdf, source="EPSG:4547")


def test_to_gcj02_for_display() -> None:
    gdf = gpd.GeoDataFrame({"k": [1]}, geometry=[Point(116.404, 39.915)], crs="EPSG:4326")
    out = to_gcj02(gdf)
    assert out.crs.to_epsg() == 4326  # label only, so folium accepts it
    assert (out.geometry.iloc[0].x, out.geometry.iloc[0].y) == pytest.approx(
        COORDTRANSFORM_WGS84_TO_GCJ02, abs=1e-12
    )
    x, y = _web_mercator(116.404, 39.915)
    pt = to_gcj02(Point(x, y), source="EPSG:3857")
    assert (pt.x, pt.y) == pytest.approx(COORDTRANSFORM_WGS84_TO_GCJ02, abs=1e-9)


def test_unsupported_type_raises() -> None:
    with pytest.raises(TypeError):
        to_wgs84([(116.4, 39.9)], source="gcj02")  # type: ignore[type-var]
