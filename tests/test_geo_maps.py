"""geo.maps: colour scales, compact features, packed payload, offline folium layers.

Hand-made inputs: a 3 x 2 block of ~500 m square grids near Nanchang (codes of
DESIGN §3) with kpis-like values. The JavaScript decoder of the packed payload is run
in Node when it is installed, and compared with the Python FeatureCollection.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
from shapely import box

from data_layer.domain import metrics
from geo import maps, offline
from geo.crs import wgs84_to_gcj02

LON0, LAT0, STEP = 115.9, 28.7, 0.005
COMMUNITY = "360102001001"
CODES = [f"{COMMUNITY}{i:03d}" for i in range(1, 7)]


def _grid_geometries() -> pl.DataFrame:
    geoms = []
    for i in range(6):
        col, row = i % 3, i // 3
        x, y = LON0 + col * STEP, LAT0 + row * STEP
        # an irrational-looking offset, so quantisation has something to do
        geoms.append(box(x, y, x + STEP, y + STEP))
    geoms = shapely.transform(np.array(geoms, dtype=object), lambda c: c + 1.23456789e-7)
    return pl.DataFrame(
        {"code": CODES, "geometry": shapely.to_wkb(geoms)},
        schema={"code": pl.String, "geometry": pl.Binary},
    )


def _values() -> pl.DataFrame:
    # closed / due: 99.5%, 96%, low volume (10), no cases (due 0), 85%, 100%
    closed = [199, 96, 9, 0, 85, 50]
    due = [200, 100, 10, 0, 100, 50]
    rate = [c / d if d else None for c, d in zip(closed, due, strict=True)]
    return pl.DataFrame(
        {
            "level": ["grid"] * 6,
            "code": CODES,
            "name": [f"和坊东社区第{i}网格" for i in range(1, 7)],
            "closed": closed,
            "due": due,
            "closure_rate": rate,
            "overdue_open": [0, 3, 1, 0, 12, 0],
            "reported_per_1k_households": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "reported": [300, 110, 12, 0, 120, 60],
            "households": [400, 410, 380, 390, 420, 300],
            "basic_grids_full_time": [1, 0, 1, 1, 1, 1],
            "basic_grids": [1, 1, 1, 1, 1, 1],
            "full_time_coverage": [1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            "updated": pl.Series([None] * 6, dtype=pl.Datetime("us")),
        }
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    maps.clear_geometry_cache()
    yield
    maps.clear_geometry_cache()


def _features(
    metric: str = "closure_rate",
    *,
    values: pl.DataFrame | None = None,
    version: tuple = ("test", 1),
    **kw,
) -> dict:
    return maps.area_features(
        geometries=_grid_geometries(),
        values=_values() if values is None else values,
        metric=metric,
        level="grid",
        version=version,
        **kw,
    )


# --------------------------------------------------------------------------------------- #
# colour scales
# --------------------------------------------------------------------------------------- #
def test_closure_rate_uses_fixed_bands_red_to_green() -> None:
    scale = maps.color_scale(metric="closure_rate", values=_values())
    assert scale.method == "bands"
    assert scale.breaks == (0.90, 0.95, 0.98, 0.99)
    assert scale.labels == ("< 90%", "90% – 95%", "95% – 98%", "98% – 99%", "≥ 99%")
    assert scale.colors == maps.RDYLGN_5
    assert scale.color(0.85) == maps.RDYLGN_5[0]
    assert scale.color(0.95) == maps.RDYLGN_5[2]  # lower bound inclusive
    assert scale.color(0.999) == maps.RDYLGN_5[4]
    assert scale.color(None) == maps.NO_VALUE_COLOR
    assert scale.color(0.999, low=True) == maps.LOW_VOLUME_COLOR
    labels = [e.label for e in scale.entries]
    assert labels[-2:] == ["样本少（< 20）", "无数据"]


def test_rework_rate_is_green_when_low() -> None:
    scale = maps.color_scale(metric="rework_rate", values=[0.0, 0.02, 0.2])
    assert scale.color(0.0) == maps.RDYLGN_5[-1]  # green
    assert scale.color(0.2) == maps.RDYLGN_5[0]  # red


def test_coverage_rate_has_100_percent_as_top_class_and_no_low_volume() -> None:
    scale = maps.color_scale(metric="full_time_coverage", values=_values(), lang="en")
    assert scale.labels[-1] == "100%"
    assert scale.color(1.0) == maps.RDYLGN_5[-1]
    assert scale.color(0.99) == maps.RDYLGN_5[-2]
    assert scale.low_volume is None
    assert scale.entries[-1].label == "no data"
    assert not maps.flags_low_volume("full_time_coverage")
    assert maps.flags_low_volume("closure_rate")


def test_overdue_counts_have_zero_as_its_own_class() -> None:
    scale = maps.color_scale(metric="overdue_open", values=[0, 0, 1, 2, 3, 5, 8, 13, 40])
    assert scale.method == "zero_quantiles"
    assert scale.labels[0] == "0"
    assert scale.color(0) == maps.REDS_ZERO
    assert scale.color(40) == scale.colors[-1]
    assert scale.color(1) != scale.color(0)
    # integer classes read as closed ranges, e.g. "1 – 2", and the top class "≥ n"
    assert scale.labels[-1].startswith("≥ ")
    assert all(re.fullmatch(r"\d[\d,]*( – [\d,]+)?", lab) for lab in scale.labels[1:-1])


def test_volumes_use_neutral_quantiles_without_low_volume() -> None:
    scale = maps.color_scale(metric="reported_per_1k_households", values=_values())
    assert scale.method == "quantiles"
    assert set(scale.colors) <= set(maps.BLUES_5)
    assert len(scale.colors) == len(scale.breaks) + 1
    assert scale.low_volume is None


def test_quantiles_leave_low_volume_areas_out() -> None:
    values = [0.5, 0.9, 0.91, 0.92, 0.93, 0.94]
    low = [True, False, False, False, False, False]
    with_low = maps.color_scale(metric="hours_to_close_median", values=values, low_volume=low)
    without = maps.color_scale(metric="hours_to_close_median", values=values)
    assert min(with_low.breaks) > min(without.breaks)


def test_all_equal_values_make_one_class() -> None:
    scale = maps.color_scale(metric="reported", values=[5, 5, 5])
    assert scale.breaks == ()
    assert len(scale.colors) == 1
    assert scale.labels == ("5",)
    assert scale.color(5) == scale.colors[0]


def test_every_metric_has_a_scale() -> None:
    for key in metrics.METRICS:
        scale = maps.color_scale(metric=key, values=[0.1, 0.5, 0.9, None])
        assert len(scale.colors) == len(scale.labels) == len(scale.breaks) + 1
        assert scale.to_html(title=key).count("<span") >= 2 * len(scale.entries)


# --------------------------------------------------------------------------------------- #
# features
# --------------------------------------------------------------------------------------- #
def test_area_features_properties() -> None:
    values = _values()
    scale = maps.color_scale(metric="closure_rate", values=values)
    fc = _features(scale=scale)
    assert fc["type"] == "FeatureCollection"
    props = [f["properties"] for f in fc["features"]]
    assert [p["code"] for p in props] == CODES
    assert [f["id"] for f in fc["features"]] == CODES
    assert props[0] == {
        "code": CODES[0],
        "name": "和坊东社区第1网格",
        "level": "grid",
        "value": "99.5%",
        "fraction": "199 / 200",
        "low": False,
        "fill": scale.color(0.995),
    }
    assert props[2]["low"] is True
    assert props[2]["value"] == "90.0%（样本少）"
    assert props[2]["fill"] == maps.LOW_VOLUME_COLOR
    assert props[3]["value"] == "—"
    assert props[3]["fraction"] == "0 / 0"
    assert props[3]["fill"] == maps.NO_VALUE_COLOR
    assert props[4]["fill"] == maps.RDYLGN_5[0]
    # nothing that breaks folium's JSON (no datetimes), and JSON-serialisable as is
    json.dumps(fc)
    assert fc["bbox"] == pytest.approx([LON0, LAT0, LON0 + 3 * STEP, LAT0 + 2 * STEP], abs=2e-5)


def test_counts_have_no_fraction_and_no_low_flag() -> None:
    fc = _features("overdue_open")
    props = fc["features"][1]["properties"]
    assert props["value"] == "3"
    assert "fraction" not in props and "low" not in props


def test_english_note() -> None:
    fc = _features(lang="en")
    assert fc["features"][2]["properties"]["value"] == "90.0% (low volume)"


def test_geometry_is_quantised_and_still_a_coverage() -> None:
    fc = _features()
    geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    coords = shapely.get_coordinates(geoms)
    assert np.array_equal(coords, np.round(coords, 5))
    assert shapely.coverage_is_valid(np.array(geoms, dtype=object))
    # neighbours share their border exactly
    assert shapely.intersection(geoms[0], geoms[1]).geom_type == "LineString"
    assert shapely.intersection(geoms[0], geoms[1]).length == pytest.approx(STEP, abs=2e-5)


def test_areas_missing_from_values_or_geometry_are_skipped() -> None:
    values = _values().filter(pl.col("code") != CODES[5])
    values = pl.concat(
        [values, values.head(1).with_columns(pl.lit("360102001001999").alias("code"))]
    )
    fc = maps.area_features(
        geometries=_grid_geometries(), values=values, metric="closure_rate", level="grid"
    )
    assert [f["id"] for f in fc["features"]] == CODES[:5]


def test_geometry_cache_per_version() -> None:
    a = _features()
    b = _features("overdue_open")
    assert a["features"][0]["geometry"] is b["features"][0]["geometry"]  # cached
    c = maps.area_features(
        geometries=_grid_geometries(),
        values=_values(),
        metric="closure_rate",
        level="grid",
        version=("test", 2),
    )
    assert c["features"][0]["geometry"] is not a["features"][0]["geometry"]
    assert c["features"][0]["geometry"] == a["features"][0]["geometry"]
    # a subset passed under the same token is not confused with the whole level
    sub = maps.area_features(
        geometries=_grid_geometries().head(2),
        values=_values(),
        metric="closure_rate",
        level="grid",
        version=("test", 1),
    )
    assert [f["id"] for f in sub["features"]] == CODES[:2]


def test_gcj02_shifts_the_geometry() -> None:
    wgs = _features()
    gcj = _features(crs="gcj02")
    p_wgs = wgs["features"][0]["geometry"]["coordinates"][0][0]
    p_gcj = gcj["features"][0]["geometry"]["coordinates"][0][0]
    lon, lat = wgs84_to_gcj02(p_wgs[0], p_wgs[1])
    assert p_gcj == pytest.approx([float(lon), float(lat)], abs=2e-5)
    assert abs(p_gcj[0] - p_wgs[0]) > 1e-3  # ~500 m off otherwise
    with pytest.raises(ValueError):
        _features(crs="bd09")


def test_outline_and_dissolved_features() -> None:
    geoms = _grid_geometries()
    out = maps.outline_features(geometries=geoms, level="grid", codes=CODES[:2])
    assert [f["properties"] for f in out["features"]] == [
        {"code": CODES[0], "level": "grid"},
        {"code": CODES[1], "level": "grid"},
    ]
    whole = maps.dissolved_features(geometries=geoms, level="grid", version="v")
    assert len(whole["features"]) == 1
    union = shapely.geometry.shape(whole["features"][0]["geometry"])
    assert union.geom_type == "Polygon" and not union.interiors
    assert union.area == pytest.approx(6 * STEP * STEP, rel=1e-3)


def test_level_geometries_from_tables() -> None:
    tables = {
        "grids": _grid_geometries().rename({"code": "grid_code"}),
    }
    frame = maps.level_geometries(tables, level="grid")
    assert frame.columns == ["code", "geometry"]
    with pytest.raises(ValueError):
        maps.level_geometries(tables, level="district")


# --------------------------------------------------------------------------------------- #
# packed payload
# --------------------------------------------------------------------------------------- #
def _decode_py(payload: str) -> dict:
    """Python mirror of the JavaScript decoder (geo.maps._RUNTIME_JS)."""
    p = json.loads(payload.replace("<\\/", "</"))
    feats = []
    for i in range(p["n"]):
        props = dict(p["consts"])
        for k, col in p["cols"].items():
            v = col[i]
            if v is not None:
                props[k] = (v == 1) if k in p["bools"] else v
        if p["fill"][i] >= 0:
            props["fill"] = p["palette"][p["fill"][i]]
        polys = []
        for poly in p["geom"][i]:
            rings = []
            for ring in poly:
                x = y = 0
                pts = []
                for j in range(0, len(ring), 2):
                    x += ring[j]
                    y += ring[j + 1]
                    pts.append([x / p["q"], y / p["q"]])
                pts.append(pts[0])
                rings.append(pts)
            polys.append(rings)
        geom = (
            {"type": "Polygon", "coordinates": polys[0]}
            if len(polys) == 1
            else {"type": "MultiPolygon", "coordinates": polys}
        )
        feats.append(
            {"type": "Feature", "id": props["code"], "properties": props, "geometry": geom}
        )
    return {"type": "FeatureCollection", "features": feats}


def _same_features(decoded: dict, fc: dict) -> None:
    assert len(decoded["features"]) == len(fc["features"])
    for got, want in zip(decoded["features"], fc["features"], strict=True):
        assert got["properties"] == want["properties"]
        assert got["geometry"]["type"] == want["geometry"]["type"]
        np.testing.assert_allclose(
            shapely.get_coordinates(shapely.geometry.shape(got["geometry"])),
            shapely.get_coordinates(shapely.geometry.shape(want["geometry"])),
            atol=1e-9,
        )


def test_payload_round_trip_in_python() -> None:
    fc = _features()
    payload = maps.feature_payload(fc)
    _same_features(_decode_py(payload), fc)
    # smaller than the plain GeoJSON
    assert len(payload) < len(json.dumps(fc, ensure_ascii=False, separators=(",", ":")))


def test_payload_of_plain_dicts_and_multipolygons() -> None:
    """Features not from the cache (plain dicts) are packed too, holes and parts kept."""
    square = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    hole = [[0.25, 0.25], [0.25, 0.75], [0.75, 0.75], [0.25, 0.25]]
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "a", "name": "</script>", "flag": True},
                "geometry": {"type": "Polygon", "coordinates": [square, hole]},
            },
            {
                "type": "Feature",
                "properties": {"code": "b", "name": "b", "flag": False, "fill": "#123456"},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [[square], [[[p[0] + 2, p[1]] for p in square]]],
                },
            },
        ],
    }
    payload = maps.feature_payload(fc)
    assert "</script>" not in payload
    decoded = _decode_py(payload)
    for f in fc["features"]:
        f["id"] = f["properties"]["code"]
    assert decoded["features"][0]["properties"] == {"code": "a", "name": "</script>", "flag": True}
    assert decoded["features"][1]["properties"]["fill"] == "#123456"
    _same_features(decoded, fc)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_decoder_matches_python(tmp_path: Path) -> None:
    fc = _features()
    payload = maps.feature_payload(fc)
    script = tmp_path / "decode.js"
    script.write_text(
        "var L = {Util: {requestAnimFrame: function (f) { f(); }}};\n"
        "var window = globalThis; var performance = {now: function () { return 0; }};\n"
        + maps._RUNTIME_JS
        + "\nprocess.stdout.write(JSON.stringify(window.gridpulse.decode("
        + payload
        + ")));\n",
        encoding="utf-8",
    )
    out = subprocess.run(["node", str(script)], capture_output=True, text=True, check=True)
    _same_features(json.loads(out.stdout), fc)


# --------------------------------------------------------------------------------------- #
# folium layers, offline
# --------------------------------------------------------------------------------------- #
def _cases() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c4"],
            "lon": [115.901, 115.902, None, 115.91],
            "lat": [28.701, 28.702, 28.7, 28.705],
            "overdue": [True, False, False, None],
            "label": ["矛盾纠纷 c1", "环境卫生 c2", "x", "y"],
            "new": [False, True, False, False],
            "reported_at": pl.Series([None] * 4, dtype=pl.Datetime("us")),
        }
    )


def _full_map() -> tuple[object, list]:
    fc = _features()
    outline = maps.dissolved_features(geometries=_grid_geometries(), level="grid", version="v")
    m = maps.base_map(bounds=fc["bbox"], outline=outline)
    layers = [
        maps.choropleth_layer(features=fc, name="grid:closure_rate"),
        maps.outline_layer(features=outline, name="outline"),
        maps.case_points_layer(
            cases=_cases(), cluster=True, label_column="label", new_column="new"
        ),
        maps.case_points_layer(cases=_cases(), name="plain", cluster=False),
        maps.case_heat_layer(cases=_cases()),
    ]
    return m, layers


def test_map_renders_offline() -> None:
    m, layers = _full_map()
    for layer in layers:
        layer.add_to(m)
    offline.use_local_assets(m)
    html = m.get_root().render()
    assert offline.find_external_urls(html) == []
    assert offline.missing_local_assets(html) == []
    # on-demand plugin files are local files that exist
    for url in set(re.findall(r'"(/app/static/[^"]+)"', html)):
        path = offline.VENDOR_DIR / url.removeprefix("/app/static/")
        assert path.is_file() or (url.endswith("/") and path.is_dir()), url
    assert "leaflet.markercluster.js" in html and "leaflet-heat.min.js" in html
    assert "jquery" not in html.lower()
    assert '"preferCanvas": true' in html
    assert '"maxZoom": 18' in html
    # one style function reading properties.fill, no per-feature switch
    assert "switch(" not in html
    # choropleth, outline layer and base outline: one style function each
    assert html.count("s.fillColor = p.fill") == 3
    # tooltip rows (Jinja's tojson escapes non-ASCII)
    assert 'let fields = ["name", "value", "fraction", "code"]' in html
    assert "let aliases = " + json.dumps(["名称", "数值", "分子 / 分母", "编码"]) in html


def test_outline_layer_is_not_interactive_and_above_the_areas() -> None:
    m, layers = _full_map()
    layers[1].add_to(m)
    html = m.get_root().render()
    assert '"interactive": false' in html
    assert f'"pane": "{maps.OUTLINE_PANE}"' in html
    assert (
        f'createPane(\n                "{maps.OUTLINE_PANE}")' in html or maps.OUTLINE_PANE in html
    )


def test_custom_tooltip_rows_drop_missing_fields() -> None:
    fc = _features("overdue_open")
    group = maps.choropleth_layer(
        features=fc, name="x", tooltip=[("name", "网格"), ("value", "超期未结"), ("fraction", "f")]
    )
    m = maps.base_map(bounds=fc["bbox"])
    group.add_to(m)
    html = m.get_root().render()
    assert 'let fields = ["name", "value"];' in html
    assert "let aliases = " + json.dumps(["网格", "超期未结"]) + ";" in html


def test_empty_features_draw_nothing_without_error() -> None:
    fc = maps.area_features(
        geometries=_grid_geometries(),
        values=_values().head(0),
        metric="closure_rate",
        level="grid",
    )
    assert fc["features"] == []
    m = maps.base_map(bounds=(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))
    maps.choropleth_layer(features=fc, name="none").add_to(m)
    assert offline.find_external_urls(m.get_root().render()) == []


def test_case_points_skip_missing_coordinates_and_cap() -> None:
    group = maps.case_points_layer(
        cases=_cases(), max_points=2, label_column="label", new_column="new"
    )
    m = maps.base_map(bounds=(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))
    group.add_to(m)
    html = m.get_root().render()
    rows = json.loads(re.search(r"var rows = (\[.*?\]);", html).group(1))
    assert len(rows) == 2
    # overdue and new ones first
    assert {tuple(r[2:5:2]) for r in rows} == {(1, 0), (0, 1)}


def test_legend_layer_is_a_map_control_that_leaves_with_its_group() -> None:
    fc = _features()
    scale = maps.color_scale(metric="closure_rate", values=_values())
    m = maps.base_map(bounds=fc["bbox"])
    group = maps.legend_layer(scale=scale, title="办结率 <b>")
    group.add_to(m)
    html = m.get_root().render()
    assert 'L.control({position: "bottomright"})' in html
    # the rows of the scale, the title escaped (Jinja's tojson escapes non-ASCII and <>)
    payload = json.loads(re.search(r"var html = (\".*?\");", html).group(1))
    assert payload == scale.to_html(title="办结率 <b>")
    assert "办结率 &lt;b&gt;" in payload
    for entry in scale.entries:
        assert entry.label.replace("<", "&lt;").replace(">", "&gt;") in payload
    # removed with its feature group (streamlit-folium removes the groups on a change)
    assert "onRemove" in html and "this._control.remove()" in html
    assert group.control is False  # not listed in a layer control


def test_layer_scripts_go_into_the_figure_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer's rendered script is not compiled again as a Jinja template: an area named
    like Jinja stays as it is, and no template is built from a payload (branca did that
    for every layer, twice per st_folium call: ~90 ms per run for a district)."""
    import jinja2

    values = _values().with_columns(
        pl.Series("name", ["{{ 1 + 1 }}网格", "{% if x %}", "三", "四", "五", "六"])
    )
    fc = _features(values=values, version=("jinja", 1))
    compiled: list[str] = []
    original = jinja2.Environment.from_string

    def record(self: jinja2.Environment, source: str, *args: object, **kw: object) -> object:
        compiled.append(str(source))
        return original(self, source, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "from_string", record)
    m, layers = _full_map()
    group = maps.choropleth_layer(features=fc, name="grid:closure_rate")
    for layer in [group, *layers[1:]]:
        layer.add_to(m)
    html = m.get_root().render()
    assert "{{ 1 + 1 }}" in html and "{% if x %}" in html
    payload = maps.feature_payload(fc)
    assert payload[:200] in html
    assert not [src for src in compiled if payload[:200] in src or "gridpulse.decode" in src]
    assert not [src for src in compiled if "var rows = " in src]  # case points


def test_feature_group_script_is_deterministic() -> None:
    """Same data → same script: streamlit-folium then neither re-adds the layers nor
    remounts the map on a rerun (a live refresh with nothing new does not flicker)."""
    sf = pytest.importorskip("streamlit_folium")

    def build() -> tuple[str, str]:
        fc = _features()
        m = maps.base_map(bounds=fc["bbox"])
        m.get_root().render()
        main = sf._get_map_string(m)
        group = maps.choropleth_layer(features=fc, name="grid:closure_rate")
        return sf.generate_js_hash(main, "map"), sf._get_feature_group_string(group, map=m)

    assert build() == build()


def test_base_map_does_not_rerun_the_script_when_it_mounts() -> None:
    """streamlit-folium reports its click state when the map mounts if it differs from the
    Python default (``last_object_clicked_count: None``); the base map script starts the
    counter at null so the two are equal (the browser test checks the effect)."""
    sf = pytest.importorskip("streamlit_folium")
    m = maps.base_map(bounds=_features()["bbox"])
    m.get_root().render()
    script = sf._get_map_string(m)
    assert "window.__GLOBAL_DATA__.last_object_clicked_count = null" in script


def test_base_layers() -> None:
    bounds = (LON0, LAT0, LON0 + 0.05, LAT0 + 0.05)
    with pytest.raises(ValueError, match="tianditu_key"):
        maps.base_map(bounds=bounds, base_layer="tianditu")
    with pytest.raises(ValueError, match="tile_url"):
        maps.base_map(bounds=bounds, base_layer="custom")
    with pytest.raises(ValueError):
        maps.base_map(bounds=bounds, base_layer="google")
    html = (
        maps.base_map(bounds=bounds, base_layer="tianditu", tianditu_key="KEY").get_root().render()
    )
    assert "tianditu.gov.cn" in html and "tk=KEY" in html
    html = (
        maps.base_map(
            bounds=bounds, base_layer="custom", tile_url="http://tiles.intranet/{z}/{x}/{y}.png"
        )
        .get_root()
        .render()
    )
    assert offline.find_external_urls(html, allowed_hosts=["tiles.intranet"]) == []
    assert maps.base_layer_crs("amap") == "gcj02"
    assert maps.base_layer_crs("tianditu") == "wgs84"
    assert maps.base_layer_crs("custom", tile_crs="gcj02") == "gcj02"


def test_view_for_bounds() -> None:
    # a ~15 km district in a 900 x 600 map: zoom 12-13
    center, zoom = maps.view_for_bounds((115.83, 28.64, 115.97, 28.76), width=900, height=600)
    assert center == pytest.approx((28.7, 115.9))
    assert 11.5 <= zoom <= 13
    assert float(zoom * 2).is_integer()
    _, near = maps.view_for_bounds((115.9, 28.7, 115.9005, 28.7005), max_zoom=18)
    assert near == 18


def test_selected_areas_are_flagged() -> None:
    fc = _features(selected=[CODES[1]])
    flags = [f["properties"].get("selected") for f in fc["features"]]
    assert flags == [None, True, None, None, None, None]
    decoded = _decode_py(maps.feature_payload(fc))
    assert [f["properties"].get("selected") for f in decoded["features"]] == flags


def test_features_and_payload_are_memoised_per_data() -> None:
    a = _features()
    assert _features() is a  # same version, values, metric: a lookup
    assert maps.feature_payload(a) is maps.feature_payload(a)
    changed = _values().with_columns(pl.lit(1).alias("closed"))
    b = _features(values=changed)
    assert b is not a
    assert b["features"][0]["properties"]["fraction"] == "1 / 200"
    assert _features(selected=[CODES[0]]) is not a
    assert _features(lang="en") is not a


def test_hover_listeners_are_on_the_layer_not_per_feature() -> None:
    fc = _features()
    m = maps.base_map(bounds=fc["bbox"])
    maps.choropleth_layer(features=fc, name="x").add_to(m)
    html = m.get_root().render()
    assert "onEachFeature: function" not in html
    assert "mouseover: function (e)" in html and "resetStyle(e.layer)" in html
