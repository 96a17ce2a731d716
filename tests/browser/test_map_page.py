"""The Map page in headless Chromium, offline: polygons painted, legend, drill-down by click.

The app runs on the tiny demo district with a frozen as-of (no live refresh during the test);
every request to a host other than localhost is blocked by the harness.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
FROZEN = "as_of=2026-06-30T18:00:00&period=this_year"
# Streamlit's front end probes the page path for its health/host-config endpoints before it
# falls back to the root (e.g. GET /map/_stcore/health → 404); that is Streamlit, not us.
STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")


def real_http_errors(op) -> list[str]:
    return [e for e in op.http_errors if not e.split(" ", 1)[1].endswith(STREAMLIT_PROBES)]


def real_console_errors(op) -> list[str]:
    return [e for e in op.console_errors if not e.split(" @ ")[-1].endswith(STREAMLIT_PROBES)]


def painted_layer(op, name: str, timeout_s: float = 60) -> dict:
    """Wait until the map reports layer ``name`` painted; return its record."""
    op.page.wait_for_selector(MAP_IFRAME, state="visible", timeout=60_000)
    frame = op.page.frame_locator(MAP_IFRAME)
    frame.locator(".leaflet-container").wait_for(timeout=60_000)
    handle = op.page.wait_for_function(
        """([sel, name]) => {
            const f = document.querySelector(sel);
            const g = f && f.contentWindow && f.contentWindow.gridpulse;
            const rec = g && g.layers && g.layers[name];
            return rec && rec.painted ? rec : null;
        }""",
        arg=[MAP_IFRAME, name],
        timeout=timeout_s * 1000,
    )
    return handle.json_value()


def test_map_draws_every_community_with_a_legend(server, offline_page, tiny_district):
    import polars as pl

    op = offline_page
    op.sign_in(server.base_url, f"map?level=community&metric=closure_rate&{FROZEN}")
    record = painted_layer(op, "community:closure_rate")
    communities = pl.read_parquet(tiny_district / "communities.parquet").height
    assert record["count"] == communities
    # the legend is a control inside the map, with the metric as its title
    legend = op.page.frame_locator(MAP_IFRAME).locator(".gridpulse-legend-box")
    legend.get_by_text("≥ 99%").wait_for(timeout=30_000)
    assert legend.get_by_text("办结率").is_visible()
    box, map_box = legend.bounding_box(), op.page.locator(MAP_IFRAME).bounding_box()
    assert box["width"] > 40
    assert map_box["x"] <= box["x"] and box["x"] + box["width"] <= map_box["x"] + map_box["width"]
    op.screenshot("map-communities")
    assert not op.blocked and not real_console_errors(op) and not op.page_errors, op.problems()
    assert not real_http_errors(op), op.http_errors


def test_clicking_a_community_drills_down_and_changes_the_url(server, offline_page):
    op = offline_page
    op.sign_in(server.base_url, f"map?level=community&metric=closure_rate&{FROZEN}")
    painted_layer(op, "community:closure_rate")
    # Mounting the map reported nothing to Streamlit (no extra script run per page load):
    # the component's state still equals the default sent from Python.
    state = (
        op.page.frame_locator(MAP_IFRAME)
        .locator("body")
        .evaluate(
            "() => [window.__GLOBAL_DATA__.last_object_clicked_count, "
            "JSON.stringify(window.__GLOBAL_DATA__.previous_data)]"
        )
    )
    assert state[0] is None and '"last_object_clicked_count":null' in state[1], state
    op.page.locator(MAP_IFRAME).scroll_into_view_if_needed()
    box = op.page.locator(MAP_IFRAME).bounding_box()
    # The middle of the district is inside some community.
    op.page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    op.page.wait_for_function(
        "() => window.location.href.includes('community=') && window.location.href.includes('level=grid')",
        timeout=60_000,
    )
    url = op.page.evaluate("() => window.location.href")
    assert "street=" in url
    painted_layer(op, "grid:closure_rate")
    # the legend came with the new layers and the old one went with the old ones
    assert op.page.frame_locator(MAP_IFRAME).locator(".gridpulse-legend-box").count() == 1
    # the breadcrumb offers the way back up
    op.page.get_by_role("button", name="全区").wait_for(timeout=30_000)
    op.screenshot("map-drilled-to-grids")
    assert not op.blocked and not op.page_errors, op.problems()


def test_case_layer_draws_offline(server, offline_page):
    op = offline_page
    op.sign_in(server.base_url, f"map?level=community&cases=points&{FROZEN}")
    painted_layer(op, "community:closure_rate")
    op.page.get_by_text("未结案件").first.wait_for(timeout=30_000)
    op.screenshot("map-case-points")
    assert not op.blocked and not real_console_errors(op) and not op.page_errors, op.problems()
