"""Issue 14, hole 2: names from imported data never run as script, in Chromium, offline.

The tiny demo district is written out again with every street, community and grid named
with script payloads (an ``<img onerror>``, a ``<script>``, an ``<svg onload>`` that breaks
out of an attribute) and an ``<a href>``. The Overview and the Map page (breadcrumb, grid caption, map tooltip on
hover, legend), the ranking chart and the briefing's last slide are opened; no payload may
have set ``window.__pwned`` in the page or in any frame (the map's component iframe is
same-origin with the app), and the names must be on screen as the text they are. A
``?grid=`` link written in Markdown must show as text, with no link and no remote image.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import polars as pl
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from data_layer import demo
from data_layer.storage.origin import mark_demo
from data_layer.storage.source import open_dataset, write_tables

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "serve.py"  # the server entry (app.py in st.App)
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
FROZEN = "as_of=2026-06-30T18:00:00&period=this_year"
STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")
PAYLOADS = (
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    '"><svg onload=window.__pwned=3>',
    '<a href="http://evil/a">链接</a>',  # plotly makes links of <a> in its labels
)
LEVELS = {"streets": ("street_code", "街道"), "communities": ("community_code", "社区")}
LEVELS["grids"] = ("grid_code", "网格")
MARKDOWN_LINK = "[x](http://evil)![i](http://evil/i.png) :red[r] $x^2$ **b**"


def hostile(table: str, i: int) -> str:
    """Every name carries every payload, so whichever area the mouse is over has them all."""
    return f"{LEVELS[table][1]}{i}{''.join(PAYLOADS)}"


@pytest.fixture(scope="module")
def hostile_district(tmp_path_factory) -> Path:
    demo_dir = tmp_path_factory.mktemp("demo")
    demo.generate(out=demo_dir, scale="tiny", seed=11, anchor=dt.date(2026, 6, 30))
    tables = dict(open_dataset(demo_dir).tables)
    for table in LEVELS:
        names = [hostile(table, i) for i in range(tables[table].height)]
        tables[table] = tables[table].with_columns(pl.Series("name", names))
    out = tmp_path_factory.mktemp("hostile")
    write_tables(out, tables)
    # still the generated district (names aside), so its demo accounts sign the tests in
    mark_demo(out, scale="tiny", seed=11, anchor=dt.date(2026, 6, 30))
    return out


@pytest.fixture(scope="module")
def server(streamlit_server_factory, hostile_district):
    return streamlit_server_factory(APP, env={"GRIDPULSE_DATA": str(hostile_district)})


@pytest.fixture(scope="module")
def first(hostile_district) -> dict[str, str]:
    """Code and name of the first street, community (of that street) and grid (of that)."""
    ds = open_dataset(hostile_district)
    street = ds["streets"].row(0, named=True)
    community = ds["communities"].filter(pl.col("street_code") == street["street_code"])
    community = community.row(0, named=True)
    grid = ds["grids"].filter(pl.col("community_code") == community["community_code"])
    grid = grid.row(0, named=True)
    return {
        "street": street["street_code"],
        "community": community["community_code"],
        "grid": grid["grid_code"],
        "street_name": street["name"],
        "community_name": community["name"],
        "grid_name": grid["name"],
    }


def assert_not_pwned(op) -> None:
    """No payload ran: ``window.__pwned`` is unset in the page and in every frame."""
    ran = {frame.url: frame.evaluate("() => window.__pwned") for frame in op.page.frames}
    assert all(value is None for value in ran.values()), ran


def assert_clean(op) -> None:
    http = [e for e in op.http_errors if not e.split(" ", 1)[1].endswith(STREAMLIT_PROBES)]
    console = [e for e in op.console_errors if not e.split(" @ ")[-1].endswith(STREAMLIT_PROBES)]
    # an <img src=x> that rendered would have asked the server for "x"
    assert not op.blocked and not http and not console and not op.page_errors, op.problems()


def painted(op, name: str) -> None:
    """Wait until the map reports layer ``name`` painted."""
    op.page.wait_for_selector(MAP_IFRAME, state="visible", timeout=60_000)
    op.page.frame_locator(MAP_IFRAME).locator(".leaflet-container").wait_for(timeout=60_000)
    op.page.wait_for_function(
        """([sel, name]) => {
            const f = document.querySelector(sel);
            const g = f && f.contentWindow && f.contentWindow.gridpulse;
            const rec = g && g.layers && g.layers[name];
            return rec && rec.painted;
        }""",
        arg=[MAP_IFRAME, name],
        timeout=60_000,
    )


def hover_tooltip(op) -> str:
    """Move the mouse over the middle of the map; the text of the tooltip that opens."""
    frame = op.page.locator(MAP_IFRAME)
    tooltip = op.page.frame_locator(MAP_IFRAME).locator(".leaflet-tooltip")
    # a rerun right after the page settles may redraw the map under the mouse: hover again
    for attempt in range(6):
        frame.scroll_into_view_if_needed()
        box = frame.bounding_box()
        x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
        op.page.mouse.move(x - 40, y - 40)
        op.page.mouse.move(x + attempt, y, steps=4)
        try:
            tooltip.first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    tooltip.first.wait_for(timeout=5_000)
    return tooltip.first.inner_text()


def test_overview_map_tooltip_shows_names_as_text(server, offline_page, hostile_district):
    op = offline_page
    op.sign_in(server.base_url, f"?{FROZEN}")
    painted(op, "community:closure_rate")
    text = hover_tooltip(op)
    assert_not_pwned(op)
    communities = pl.read_parquet(hostile_district / "communities.parquet")["name"].to_list()
    assert any(name in text for name in communities), text
    # the legend is drawn as text too
    legend = op.page.frame_locator(MAP_IFRAME).locator(".gridpulse-legend-box")
    assert "办结率" in legend.inner_text()
    op.screenshot("hostile-overview")
    assert_not_pwned(op)
    assert_clean(op)


def test_map_page_breadcrumb_caption_and_tooltip_show_names_as_text(server, offline_page, first):
    op = offline_page
    codes = f"street={first['street']}&community={first['community']}&grid={first['grid']}"
    op.sign_in(server.base_url, f"map?level=grid&{codes}&{FROZEN}")
    painted(op, "grid:closure_rate")
    for key in ("street_name", "community_name", "grid_name"):  # the breadcrumb
        op.page.get_by_text(first[key], exact=True).first.wait_for(timeout=30_000)
    caption = f"已选网格：{first['grid_name']}（{first['grid']}）"
    op.page.get_by_text(caption, exact=True).wait_for(timeout=30_000)
    text = hover_tooltip(op)
    assert_not_pwned(op)
    assert any(p in text for p in PAYLOADS) and "网格" in text, text
    op.screenshot("hostile-map")
    assert_not_pwned(op)
    assert_clean(op)


def test_a_markdown_grid_link_shows_as_text(server, offline_page):
    """Shown as the text it is, or dropped from the URL (a page that keeps only known grids)
    and not shown; never as a link or an image."""
    op = offline_page
    op.sign_in(server.base_url, f"map?grid={quote(MARKDOWN_LINK)}&{FROZEN}")
    painted(op, "community:closure_rate")  # the page has run to its end
    if op.page.get_by_text("已选网格").count():
        caption = f"已选网格：{MARKDOWN_LINK}（{MARKDOWN_LINK}）"
        op.page.get_by_text(caption, exact=True).wait_for(timeout=30_000)
    else:
        assert "grid=" not in op.page.evaluate("() => window.location.search")
    assert op.page.locator('a[href*="evil"]').count() == 0
    assert op.page.locator('img[src*="evil"]').count() == 0
    assert_not_pwned(op)
    assert_clean(op)


def test_ranking_chart_and_briefing_show_names_as_text(server, offline_page, first):
    op = offline_page
    op.sign_in(server.base_url, f"ranking?rank_level=community&{FROZEN}")
    ticks = op.page.locator(".js-plotly-plot .ytick text")
    ticks.first.wait_for(timeout=60_000)
    labels = ticks.all_text_contents()
    assert any(PAYLOADS[-1] in label for label in labels), labels  # the <a> as text
    assert op.page.locator(".js-plotly-plot a").count() == 0
    assert_not_pwned(op)
    meeting = "mt_period=month&mt_month=2026-06&mt_as_of=2026-06-30T18:00&present=1"
    # the coverage slide: tables of grids without a full-time worker or a party organisation
    op.sign_in(server.base_url, f"meeting?{meeting}&slide=5")
    table = op.page.locator('[data-testid="stTable"]').first
    table.wait_for(timeout=60_000)
    assert "".join(PAYLOADS) in table.inner_text()
    assert_not_pwned(op)
    op.sign_in(server.base_url, f"meeting?{meeting}&mt_street={first['street']}&slide=7")
    op.page.get_by_text(f"统计范围：{first['street_name']}").first.wait_for(timeout=60_000)
    op.page.locator('[data-testid="stTable"]').first.wait_for(timeout=60_000)
    op.screenshot("hostile-briefing-notes")
    assert_not_pwned(op)
    assert_clean(op)
