"""geo.maps: compact features from given rows, packed payload, offline folium layers.

Hand-made inputs: a 3 x 2 block of ~500 m square grids near Nanchang (codes of
DESIGN §3) with the display rows a caller gives (tests/test_map_values.py covers how the
figures become those rows and the colour scale). The JavaScript decoder of the packed
payload is run in Node when it is installed, and compared with the Python FeatureCollection.
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

from geo import maps, offline
from geo.china_offsets import wgs84_to_gcj02
from geo.maps.colours import RDYLGN_5
from geo.scripts import JS_DIR, script_text

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


def _areas() -> pl.DataFrame:
    """Display rows as a caller gives them: closure rate 99.5%, 96%, low volume, no cases,
    85%, 100%."""
    return pl.DataFrame(
        {
            "code": CODES,
            "name": [f"和坊东社区第{i}网格" for i in range(1, 7)],
            "value": ["99.5%", "96.0%", "90.0%（样本少）", "—", "85.0%", "100.0%"],
            "fill": [RDYLGN_5[4], RDYLGN_5[2], maps.LOW_VOLUME_COLOR, maps.NO_VALUE_COLOR]
            + [RDYLGN_5[0], RDYLGN_5[4]],
            "fraction": ["199 / 200", "96 / 100", "9 / 10", "0 / 0", "85 / 100", "50 / 50"],
            "low": [False, False, True, False, False, False],
        }
    )


def _scale() -> maps.Scale:
    return maps.Scale(
        metric="closure_rate",
        method="bands",
        breaks=(0.90, 0.95, 0.98, 0.99),
        colors=RDYLGN_5,
        labels=("< 90%", "90% – 95%", "95% – 98%", "98% – 99%", "≥ 99%"),
        no_value=maps.LegendEntry(maps.NO_VALUE_COLOR, "无数据"),
        low_volume=maps.LegendEntry(maps.LOW_VOLUME_COLOR, "样本少（< 20）"),
    )


TOOLTIP = [("name", "名称"), ("value", "数值"), ("fraction", "分子 / 分母"), ("code", "编码")]


@pytest.fixture(autouse=True)
def _fresh_cache():
    maps.clear_geometry_cache()
    yield
    maps.clear_geometry_cache()


def _features(
    *,
    areas: pl.DataFrame | None = None,
    version: tuple = ("test", 1),
    **kw,
) -> dict:
    return maps.area_features(
        geometries=_grid_geometries(),
        areas=_areas() if areas is None else areas,
        level="grid",
        version=version,
        **kw,
    )


# --------------------------------------------------------------------------------------- #
# the given scale
# --------------------------------------------------------------------------------------- #
def test_scale_colours_values_by_class_and_greys_low_and_missing() -> None:
    scale = _scale()
    assert scale.color(0.85) == RDYLGN_5[0]
    assert scale.color(0.95) == RDYLGN_5[2]  # lower bound inclusive
    assert scale.color(0.999) == RDYLGN_5[4]
    assert scale.color(None) == maps.NO_VALUE_COLOR
    assert scale.color(0.999, low=True) == maps.LOW_VOLUME_COLOR
    assert scale.colors_for([0.5, None, 0.97], [True, True, False]) == [
        maps.LOW_VOLUME_COLOR,
        maps.NO_VALUE_COLOR,
        RDYLGN_5[2],
    ]
    assert [e.label for e in scale.entries][-2:] == ["样本少（< 20）", "无数据"]


# --------------------------------------------------------------------------------------- #
# features
# --------------------------------------------------------------------------------------- #
def test_area_features_properties() -> None:
    fc = _features()
    assert fc["type"] == "FeatureCollection"
    props = [f["properties"] for f in fc["features"]]
    assert [p["code"] for p in props] == CODES
    assert [f["id"] for f in fc["features"]] == CODES
    # the given rows, in the order code, name, level, value, fraction, low, fill
    assert list(props[0].items()) == [
        ("code", CODES[0]),
        ("name", "和坊东社区第1网格"),
        ("level", "grid"),
        ("value", "99.5%"),
        ("fraction", "199 / 200"),
        ("low", False),
        ("fill", RDYLGN_5[4]),
    ]
    assert props[2]["low"] is True and props[2]["value"] == "90.0%（样本少）"
    # nothing that breaks folium's JSON (no datetimes), and JSON-serialisable as is
    json.dumps(fc)
    assert fc["bbox"] == pytest.approx([LON0, LAT0, LON0 + 3 * STEP, LAT0 + 2 * STEP], abs=2e-5)


def test_optional_columns_and_missing_names() -> None:
    areas = _areas().drop("fraction", "low").with_columns(pl.lit(None, pl.String).alias("name"))
    props = _features(areas=areas)["features"][1]["properties"]
    assert props == {"code": CODES[1], "name": CODES[1], "level": "grid", "value": "96.0%"} | {
        "fill": RDYLGN_5[2]
    }


def test_geometry_is_quantised_and_still_a_coverage() -> None:
    fc = _features()
    geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    coords = shapely.get_coordinates(geoms)
    assert np.array_equal(coords, np.round(coords, 5))
    assert shapely.coverage_is_valid(np.array(geoms, dtype=object))
    # neighbours share their border exactly
    assert shapely.intersection(geoms[0], geoms[1]).geom_type == "LineString"
    assert shapely.intersection(geoms[0], geoms[1]).length == pytest.approx(STEP, abs=2e-5)


def test_areas_missing_from_rows_or_geometry_are_skipped() -> None:
    areas = _areas().filter(pl.col("code") != CODES[5])
    areas = pl.concat([areas, areas.head(1).with_columns(pl.lit("360102001001999").alias("code"))])
    fc = maps.area_features(geometries=_grid_geometries(), areas=areas, level="grid")
    assert [f["id"] for f in fc["features"]] == CODES[:5]


def test_geometry_cache_per_version() -> None:
    a = _features()
    b = _features(areas=_areas().with_columns(pl.lit("1").alias("value")))
    assert a["features"][0]["geometry"] is b["features"][0]["geometry"]  # cached
    c = maps.area_features(
        geometries=_grid_geometries(), areas=_areas(), level="grid", version=("test", 2)
    )
    assert c["features"][0]["geometry"] is not a["features"][0]["geometry"]
    assert c["features"][0]["geometry"] == a["features"][0]["geometry"]
    # a subset passed under the same token is not confused with the whole level
    sub = maps.area_features(
        geometries=_grid_geometries().head(2), areas=_areas(), level="grid", version=("test", 1)
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
    """Python mirror of the JavaScript decoder (assets/js/runtime.js)."""
    p = json.loads(payload)
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
                "properties": {"code": "a", "name": "<!--<script></script>", "flag": True},
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
    assert "<" not in payload  # nothing can end or confuse the <script> it sits in
    decoded = _decode_py(payload)
    for f in fc["features"]:
        f["id"] = f["properties"]["code"]
    name = "<!--<script></script>"
    assert decoded["features"][0]["properties"] == {"code": "a", "name": name, "flag": True}
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
        + script_text("runtime")
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
        maps.choropleth_layer(features=fc, name="grid:closure_rate", tooltip=TOOLTIP),
        maps.outline_layer(features=outline, name="outline"),
        maps.case_points_layer(
            cases=_cases(), cluster=True, label_column="label", new_column="new"
        ),
        maps.case_points_layer(cases=_cases(), name="plain", cluster=False),
        maps.case_heat_layer(cases=_cases()),
    ]
    return m, layers


def _calls(html: str, function: str) -> list[tuple[dict, object]]:
    """``(config, data)`` of every ``window.gridpulse.<function>(parent, config, data);``."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(rf"window\.gridpulse\.{function}\([\w$]+, ", html):
        config, end = decoder.raw_decode(html, match.end())
        data, _ = decoder.raw_decode(html, end + len(", "))
        out.append((config, data))
    return out


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
    # every layer's JavaScript comes from assets/js, called with a JSON config
    assert [c["layerKey"] for c, _ in _calls(html, "fillAreas")] == [
        "base-outline",
        "grid:closure_rate",
        "outline",
    ]
    assert [c["cluster"] for c, _ in _calls(html, "casePoints")] == [True, False]
    assert len(_calls(html, "caseHeat")) == 1
    # tooltip rows, built as text in the browser (no folium GeoJsonTooltip: it used innerHTML)
    choropleth = next(
        c for c, _ in _calls(html, "fillAreas") if c["layerKey"] == "grid:closure_rate"
    )
    assert choropleth["tooltip"] == [list(row) for row in TOOLTIP]
    assert "let fields" not in html and ".innerHTML" not in html


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
    fc = _features(areas=_areas().drop("fraction", "low"))
    group = maps.choropleth_layer(
        features=fc, name="x", tooltip=[("name", "网格"), ("value", "超期未结"), ("fraction", "f")]
    )
    m = maps.base_map(bounds=fc["bbox"])
    group.add_to(m)
    html = m.get_root().render()
    (config,) = [c for c, _ in _calls(html, "fillAreas") if c["layerKey"] == "x"]
    assert config["tooltip"] == [["name", "网格"], ["value", "超期未结"]]


def test_empty_features_draw_nothing_without_error() -> None:
    fc = maps.area_features(geometries=_grid_geometries(), areas=_areas().head(0), level="grid")
    assert fc["features"] == []
    m = maps.base_map(bounds=(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))
    maps.choropleth_layer(features=fc, name="none", tooltip=TOOLTIP).add_to(m)
    assert offline.find_external_urls(m.get_root().render()) == []


def test_case_points_skip_missing_coordinates_and_cap() -> None:
    group = maps.case_points_layer(
        cases=_cases(), max_points=2, label_column="label", new_column="new"
    )
    m = maps.base_map(bounds=(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))
    group.add_to(m)
    html = m.get_root().render()
    [(config, rows)] = _calls(html, "casePoints")
    assert config["layerKey"] == "cases" and config["pane"] == maps.CASES_PANE
    assert len(rows) == 2
    # overdue and new ones first
    assert {tuple(r[2:5:2]) for r in rows} == {(1, 0), (0, 1)}


def test_legend_layer_is_a_map_control_that_leaves_with_its_group() -> None:
    fc = _features()
    scale = _scale()
    m = maps.base_map(bounds=fc["bbox"])
    group = maps.legend_layer(scale=scale, title="办结率 <b>")
    group.add_to(m)
    html = m.get_root().render()
    [(config, _)] = _calls(html, "legend")
    assert config["position"] == "bottomright"
    assert "L.control({position: config.position})" in html
    # the title and the rows of the scale as data for the script, which draws them as text
    # (Jinja's tojson escapes non-ASCII and <>, so no "<b>" reaches the page's HTML)
    assert "办结率" not in html and "<b>" not in html
    assert config["title"] == "办结率 <b>"
    assert config["entries"] == [[e.color, e.label] for e in scale.entries]
    assert ".innerHTML" not in html and "window.gridpulse.text = " in html
    # removed with its feature group (streamlit-folium removes the groups on a change)
    assert "onRemove" in html and "this._control.remove()" in html
    assert group.control is False  # not listed in a layer control


def test_layer_scripts_go_into_the_figure_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer's rendered script is not compiled again as a Jinja template: an area named
    like Jinja stays as it is, and no template is built from a payload (branca did that
    for every layer, twice per st_folium call: ~90 ms per run for a district)."""
    import jinja2

    areas = _areas().with_columns(
        pl.Series("name", ["{{ 1 + 1 }}网格", "{% if x %}", "三", "四", "五", "六"])
    )
    fc = _features(areas=areas, version=("jinja", 1))
    compiled: list[str] = []
    original = jinja2.Environment.from_string

    def record(self: jinja2.Environment, source: str, *args: object, **kw: object) -> object:
        compiled.append(str(source))
        return original(self, source, *args, **kw)

    monkeypatch.setattr(jinja2.Environment, "from_string", record)
    m, layers = _full_map()
    group = maps.choropleth_layer(features=fc, name="grid:closure_rate", tooltip=TOOLTIP)
    for layer in [group, *layers[1:]]:
        layer.add_to(m)
    html = m.get_root().render()
    assert "{{ 1 + 1 }}" in html and "{% if x %}" in html
    payload = maps.feature_payload(fc)
    assert payload[:200] in html
    assert not [src for src in compiled if payload[:200] in src or "gridpulse.decode" in src]
    assert not [src for src in compiled if "gridpulse.casePoints(" in src]  # case points


def test_feature_group_script_is_deterministic() -> None:
    """Same data → same script: streamlit-folium then neither re-adds the layers nor
    remounts the map on a rerun (a live refresh with nothing new does not flicker)."""
    sf = pytest.importorskip("streamlit_folium")

    def build() -> tuple[str, str]:
        fc = _features()
        m = maps.base_map(bounds=fc["bbox"])
        m.get_root().render()
        main = sf._get_map_string(m)
        group = maps.choropleth_layer(features=fc, name="grid:closure_rate", tooltip=TOOLTIP)
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
    assert "window.gridpulse.noMountRerun(map_div, {}, null);" in script


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
    assert _features() is a  # same version and rows: a lookup
    assert maps.feature_payload(a) is maps.feature_payload(a)
    changed = _areas().with_columns(pl.lit("1 / 200").alias("fraction"))
    b = _features(areas=changed)
    assert b is not a
    assert b["features"][0]["properties"]["fraction"] == "1 / 200"
    assert _features(selected=[CODES[0]]) is not a
    assert _features(areas=_areas().with_columns(pl.lit("#000000").alias("fill"))) is not a


def test_hover_listeners_are_on_the_layer_not_per_feature() -> None:
    fc = _features()
    m = maps.base_map(bounds=fc["bbox"])
    maps.choropleth_layer(features=fc, name="x", tooltip=TOOLTIP).add_to(m)
    html = m.get_root().render()
    assert "onEachFeature: function" not in html
    assert "mouseover: function (e)" in html and "resetStyle(e.layer)" in html


def test_scripts_are_read_once_from_assets_js() -> None:
    assert script_text("runtime") is script_text("runtime")  # cached
    names = sorted(p.stem for p in JS_DIR.glob("*.js"))
    assert "runtime" in names and "fill_areas" in names
    for name in names:
        assert script_text(name).startswith("//")
        # embedded as it is, so nothing in it may look like Jinja
        assert not re.search(r"\{[{%#]", script_text(name)), name
