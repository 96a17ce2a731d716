"""Tests for geo.offline: folium maps load nothing from public CDNs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import branca.colormap
import folium
import folium.plugins
import pytest

from geo._errors import OfflineAssetError
from geo.offline import (
    DEFAULT_BASE_URL,
    DROPPED_ASSETS,
    LOCAL_ASSETS,
    VENDOR_DIR,
    find_external_urls,
    find_local_urls,
    missing_local_assets,
    static_base_url,
    use_local_assets,
)

ROOT = Path(__file__).resolve().parent.parent

GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": f"网格{i}", "value": i},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [116.30 + 0.05 * i, 39.90],
                        [116.34 + 0.05 * i, 39.90],
                        [116.34 + 0.05 * i, 39.94],
                        [116.30 + 0.05 * i, 39.94],
                        [116.30 + 0.05 * i, 39.90],
                    ]
                ],
            },
        }
        for i in range(3)
    ],
}


def _dashboard_like_map(*, tiles: str | None = None) -> folium.Map:
    m = folium.Map(location=[39.92, 116.37], zoom_start=12, tiles=tiles)
    m.options["max_zoom"] = 18  # no tile layer to take it from
    folium.GeoJson(
        GEOJSON,
        name="grids",
        style_function=lambda f: {"fillColor": "#d73027", "color": "#333", "weight": 1},
        tooltip=folium.GeoJsonTooltip(fields=["name", "value"], aliases=["网格", "值"]),
    ).add_to(m)
    cluster = folium.plugins.MarkerCluster(name="cases").add_to(m)
    for i in range(5):
        folium.CircleMarker([39.91 + 0.002 * i, 116.36], radius=5, popup=f"case {i}").add_to(
            cluster
        )
    folium.Marker([39.93, 116.40], popup=folium.Popup("<b>案件</b>")).add_to(cluster)
    folium.plugins.HeatMap([[39.91, 116.35, 1.0], [39.92, 116.36, 0.5]], name="heat").add_to(m)
    folium.LayerControl().add_to(m)
    return m


# --------------------------------------------------------------------------- #
# the rendered HTML
# --------------------------------------------------------------------------- #
def test_default_folium_map_uses_cdns() -> None:
    """Sanity check of the scanner: without the rewrite, CDN URLs are found."""
    html = _dashboard_like_map(tiles="OpenStreetMap").get_root().render()
    external = find_external_urls(html)
    assert any("cdn.jsdelivr.net" in u for u in external)
    assert any("tile.openstreetmap.org" in u for u in external)


def test_rendered_map_has_no_external_url_and_all_local_files_exist() -> None:
    m = use_local_assets(_dashboard_like_map())
    html = m.get_root().render()
    assert find_external_urls(html) == []
    assert not re.search(r"https?://", html.replace("http://www.w3.org/2000/svg", ""))
    local = find_local_urls(html)
    expected = {f"{DEFAULT_BASE_URL}/{p}" for p in LOCAL_ASSETS.values()}
    assert set(local) == expected  # leaflet, jquery, markercluster (js + 2 css), heat
    assert missing_local_assets(html) == []
    for url in local:
        assert (VENDOR_DIR / url.removeprefix(DEFAULT_BASE_URL + "/")).is_file(), url


def test_default_icon_image_path_set_before_layers() -> None:
    m = use_local_assets(_dashboard_like_map())
    html = m.get_root().render()
    # assets/js/icon_image_path.js, called with the path
    assign = f'{{"imagePath": "{DEFAULT_BASE_URL}/leaflet/1.9.3/images/"}}'
    assert html.count(assign) == 1
    assert html.count("L.Icon.Default.imagePath = config.imagePath;") == 1
    assert html.index(assign) < html.index("L.geoJson(") < html.index("L.markerClusterGroup(")
    assert (VENDOR_DIR / "leaflet/1.9.3/images/marker-icon.png").is_file()
    use_local_assets(m, base_url="/gp/app/static")  # idempotent, path updated
    html = m.get_root().render()
    assert html.count("window.gridpulse.iconImagePath(") == 1
    assert '{"imagePath": "/gp/app/static/leaflet/1.9.3/images/"}' in html


def test_script_order_leaflet_first() -> None:
    html = use_local_assets(_dashboard_like_map()).get_root().render()
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts[0].endswith("/leaflet/1.9.3/leaflet.js")
    assert scripts.index(f"{DEFAULT_BASE_URL}/jquery/3.7.1/jquery.min.js") < scripts.index(
        f"{DEFAULT_BASE_URL}/leaflet.markercluster/1.1.0/leaflet.markercluster.js"
    )


def test_tiles_are_reported_not_rewritten() -> None:
    m = use_local_assets(_dashboard_like_map(tiles="OpenStreetMap"))
    external = find_external_urls(m.get_root().render())
    # the tile template, and the attribution link: both need an intranet tile server
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in external
    assert all("openstreetmap.org" in u for u in external)


def test_missing_local_assets_detects_missing_file() -> None:
    html = f'<script src="{DEFAULT_BASE_URL}/leaflet/9.9.9/leaflet.js"></script>'
    assert missing_local_assets(html) == [f"{DEFAULT_BASE_URL}/leaflet/9.9.9/leaflet.js"]
    traversal = f'<link rel="stylesheet" href="{DEFAULT_BASE_URL}/../../pyproject.toml"/>'
    assert missing_local_assets(traversal) == [f"{DEFAULT_BASE_URL}/../../pyproject.toml"]


def test_find_external_urls_variants() -> None:
    text = (
        '<script src="//cdn.example.com/a.js"></script>'
        "<style>.x{background:url(https://img.example.com/b.png)}</style>"
        '<script>var t = "https://{s}.tile.example.org/{z}/{x}/{y}.png"; //comment\n'
        'var ok = "http://localhost:8501/x.js"; var ns = "http://www.w3.org/2000/svg";</script>'
    )
    assert find_external_urls(text) == [
        "//cdn.example.com/a.js",
        "https://img.example.com/b.png",
        "https://{s}.tile.example.org/{z}/{x}/{y}.png",
    ]
    assert find_external_urls(text, allowed_hosts=["cdn.example.com", "img.example.com"]) == [
        "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    ]


# --------------------------------------------------------------------------- #
# what streamlit-folium actually sends to the browser
# --------------------------------------------------------------------------- #
def test_st_folium_receives_only_local_links(monkeypatch: pytest.MonkeyPatch) -> None:
    import streamlit_folium

    captured: dict[str, Any] = {}

    def fake_component(**kwargs: Any) -> dict[str, Any]:
        captured.update(kwargs)
        return kwargs["default"]

    monkeypatch.setattr(streamlit_folium, "_component_func", fake_component)
    m = use_local_assets(_dashboard_like_map())
    streamlit_folium.st_folium(m, returned_objects=[], key="t")

    js, css = captured["js_links"], captured["css_links"]
    assert js[0] == f"{DEFAULT_BASE_URL}/leaflet/1.9.3/leaflet.js"
    assert f"{DEFAULT_BASE_URL}/leaflet.heat/0.2.0/leaflet-heat.min.js" in js
    assert f"{DEFAULT_BASE_URL}/leaflet/1.9.3/leaflet.css" in css
    for url in [*js, *css]:
        assert url.startswith(DEFAULT_BASE_URL + "/"), url
        assert (VENDOR_DIR / url.removeprefix(DEFAULT_BASE_URL + "/")).is_file(), url
    for part in ("header", "html", "script"):
        assert find_external_urls(captured[part]) == [], part
    # the icon path is set inside the map script streamlit-folium runs
    script = captured["script"]
    assert "L.Icon.Default.imagePath" in script
    assert script.index("L.Icon.Default.imagePath") < script.index("L.markerClusterGroup(")


# --------------------------------------------------------------------------- #
# behaviour of use_local_assets
# --------------------------------------------------------------------------- #
def test_class_defaults_untouched_and_other_maps_unaffected() -> None:
    before = list(folium.Map.default_js)
    use_local_assets(_dashboard_like_map())
    assert folium.Map.default_js == before
    assert folium.plugins.MarkerCluster.default_js[0][1].startswith("https://")
    assert find_external_urls(folium.Map(tiles=None).get_root().render())


def test_idempotent_and_fixes_an_already_rendered_header() -> None:
    m = _dashboard_like_map()
    m.get_root().render()  # header now holds CDN links, incl. bootstrap
    use_local_assets(m)
    use_local_assets(m)
    html = m.get_root().render()
    assert find_external_urls(html) == []
    assert "bootstrap" not in html
    assert html.count("leaflet/1.9.3/leaflet.js") == 1


def test_custom_base_url_and_static_base_url() -> None:
    base = static_base_url("/gridpulse/")
    assert base == "/gridpulse/app/static"
    assert static_base_url("") == DEFAULT_BASE_URL
    html = use_local_assets(_dashboard_like_map(), base_url=base + "/").get_root().render()
    assert f"{base}/leaflet/1.9.3/leaflet.js" in html
    assert missing_local_assets(html, base_url=base) == []


def test_dropped_assets_removed() -> None:
    m = use_local_assets(folium.Map(tiles=None))
    urls = [u for _, u in m.default_js + m.default_css]
    assert not set(urls) & DROPPED_ASSETS
    assert len(urls) == 3  # leaflet.js, jquery, leaflet.css


def test_folium_icon_rejected() -> None:
    m = folium.Map(tiles=None)
    folium.Marker([39.9, 116.4], icon=folium.Icon(color="red")).add_to(m)
    with pytest.raises(OfflineAssetError, match="awesome-markers"):
        use_local_assets(m)


def test_colormap_in_tree_rejected() -> None:
    m = folium.Map(tiles=None)
    branca.colormap.linear.YlOrRd_09.scale(0, 1).add_to(m)
    with pytest.raises(OfflineAssetError, match="d3"):
        use_local_assets(m)


def test_unvendored_plugin_rejected_before_any_change() -> None:
    m = _dashboard_like_map()
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(OfflineAssetError, match="Fullscreen"):
        use_local_assets(m)
    assert m.default_js is folium.Map.default_js  # nothing modified
    use_local_assets(m, strict=False)
    external = find_external_urls(m.get_root().render())
    assert external and all("fullscreen" in u.lower() for u in external)


def test_marker_cluster_without_tiles_needs_max_zoom() -> None:
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    with pytest.raises(OfflineAssetError, match="maxZoom"):
        use_local_assets(m)
    m.options["max_zoom"] = 18
    use_local_assets(m)
    assert '"maxZoom": 18' in m.get_root().render()
    with_tiles = folium.Map(tiles="OpenStreetMap")
    folium.plugins.MarkerCluster().add_to(with_tiles)
    use_local_assets(with_tiles)  # the tile layer carries maxZoom


def test_feature_group_can_be_localised_alone() -> None:
    fg = folium.FeatureGroup(name="live")
    folium.plugins.MarkerCluster().add_to(fg)
    use_local_assets(fg)
    cluster = next(iter(fg._children.values()))
    assert all(u.startswith(DEFAULT_BASE_URL) for _, u in cluster.default_js)


# --------------------------------------------------------------------------- #
# the vendored files and the serving setup
# --------------------------------------------------------------------------- #
def test_vendored_css_references_exist() -> None:
    css_files = sorted(VENDOR_DIR.rglob("*.css"))
    assert css_files
    for css in css_files:
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", css.read_text()):
            if ref.startswith(("#", "data:")):
                continue
            assert "//" not in ref, f"{css}: external {ref}"
            assert (css.parent / ref).is_file(), f"{css}: missing {ref}"


def test_vendored_files_have_no_cdn_reference_or_source_map() -> None:
    for path in VENDOR_DIR.rglob("*"):
        assert path.suffix != ".map", path
        if path.suffix in (".js", ".css"):
            text = path.read_text(encoding="utf-8")
            assert "cdn" not in " ".join(find_external_urls(text)).lower(), path


def test_vendor_readme_lists_every_package() -> None:
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    for pkg_dir in VENDOR_DIR.iterdir():
        if pkg_dir.is_dir():
            for version_dir in pkg_dir.iterdir():
                assert pkg_dir.name in readme and version_dir.name in readme
                assert any(version_dir.glob("LICENSE*")), version_dir


def test_streamlit_serves_vendor_dir_as_static() -> None:
    static = ROOT / "static"
    assert static.is_symlink(), "static/ must be a symlink to assets/vendor"
    assert static.resolve() == VENDOR_DIR
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True


def test_streamlit_does_not_collect_garbage_after_every_run() -> None:
    # A full collection per script run held the GIL ~180 ms on every rerun and refresh
    # (and delayed the map's first paint); see .streamlit/config.toml.
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
