"""Smoke test of the browser harness and of the offline map assets.

A tiny Streamlit app draws 3 GeoJson polygons with st_folium after
``use_local_assets``; Chromium may reach nothing but 127.0.0.1. The polygons must
be painted inside the component iframe, with every script/style loaded from
``/app/static`` and nothing blocked or logged as an error. The negative control
shows that the same map without ``use_local_assets`` does not draw offline.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator

    from tests.browser.conftest import OfflinePage, StreamlitServer

    ServerFactory = Callable[..., StreamlitServer]

pytestmark = pytest.mark.browser

APP = Path(__file__).resolve().parent / "apps" / "offline_map_app.py"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
POLYGON = "path.leaflet-interactive"


def _map_frame(op: OfflinePage, *, state: str = "visible") -> FrameLocator:
    # The iframe keeps height 0 until the map script calls Streamlit.setFrameHeight.
    op.page.wait_for_selector(MAP_IFRAME, state=state, timeout=60_000)
    return op.page.frame_locator(MAP_IFRAME)


def test_offline_map_draws_three_polygons(
    streamlit_server_factory: ServerFactory, offline_page: OfflinePage
) -> None:
    from playwright.sync_api import expect

    server = streamlit_server_factory(APP)
    op = offline_page
    op.goto_app(server.base_url)

    frame = _map_frame(op)
    polygons = frame.locator(POLYGON)
    expect(polygons).to_have_count(3, timeout=30_000)
    for i in range(3):
        box = polygons.nth(i).bounding_box()
        assert box is not None and box["width"] > 20 and box["height"] > 20, box
    fills = {polygons.nth(i).get_attribute("fill") for i in range(3)}
    assert fills == {"#1a9850", "#fee08b", "#d73027"}
    # Leaflet's CSS is applied (it positions the panes), so the stylesheet loaded too.
    expect(frame.locator(".leaflet-container")).to_have_css("overflow", "hidden")
    # the tooltip works (GeoJsonTooltip is pure Leaflet)
    polygons.nth(0).hover()
    expect(frame.locator(".leaflet-tooltip")).to_contain_text("网格 1")

    loaded = [u for u in op.requests if "/app/static/" in u]
    assert any(u.endswith("/app/static/leaflet/1.9.3/leaflet.js") for u in loaded), op.requests
    assert any(u.endswith("/app/static/leaflet/1.9.3/leaflet.css") for u in loaded), op.requests
    assert any(u.endswith("/app/static/jquery/3.7.1/jquery.min.js") for u in loaded)

    shot = op.screenshot("offline_map_smoke")
    assert shot.stat().st_size > 10_000
    op.assert_clean()


def test_offline_cluster_markers_and_heat_layer(
    streamlit_server_factory: ServerFactory, offline_page: OfflinePage
) -> None:
    """MarkerCluster, default marker icons, a popup (jQuery) and HeatMap load offline."""
    from playwright.sync_api import expect

    server = streamlit_server_factory(APP, env={"OFFLINE_MAP_LAYERS": "full"})
    op = offline_page
    op.goto_app(server.base_url)
    frame = _map_frame(op)

    expect(frame.locator(POLYGON)).to_have_count(3, timeout=30_000)
    # 5 close markers clustered (MarkerCluster.Default.css styles the bubble)
    cluster = frame.locator(".marker-cluster")
    expect(cluster.first).to_be_visible()
    expect(cluster.first).to_contain_text("5")
    expect(cluster.first).not_to_have_css("background-color", "rgba(0, 0, 0, 0)")
    # the lone marker uses Leaflet's default icon, found through leaflet.css
    icon = frame.locator("img.leaflet-marker-icon").first
    expect(icon).to_be_visible()
    src = icon.get_attribute("src") or ""
    assert src.endswith("/app/static/leaflet/1.9.3/images/marker-icon.png"), src
    assert icon.evaluate("img => img.complete && img.naturalWidth > 0")
    icon.click()
    expect(frame.locator(".leaflet-popup-content")).to_contain_text("案件 0001")
    # the heat layer paints a canvas
    heat = frame.locator("canvas.leaflet-heatmap-layer")
    expect(heat).to_have_count(1)
    painted = heat.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"
    )
    assert painted > 100, painted

    op.screenshot("offline_map_full_layers")
    op.assert_clean()


def test_without_local_assets_map_does_not_draw_offline(
    streamlit_server_factory: ServerFactory, offline_page: OfflinePage
) -> None:
    """Negative control: the harness really cuts the CDNs off."""
    server = streamlit_server_factory(APP, env={"OFFLINE_MAP_USE_LOCAL": "0"})
    op = offline_page
    op.goto_app(server.base_url)
    frame = _map_frame(op, state="attached")
    op.page.wait_for_timeout(3_000)
    assert frame.locator(POLYGON).count() == 0
    assert any("cdn.jsdelivr.net" in u for u in op.blocked), op.blocked
    assert op.console_errors  # net::ERR_BLOCKED_BY_CLIENT is logged
    assert op.page.locator(MAP_IFRAME).bounding_box()["height"] == 0
    op.screenshot("offline_map_negative_control")
