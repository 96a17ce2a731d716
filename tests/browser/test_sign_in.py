"""Sign-in in headless Chromium, offline, on the generated tiny demo: the sign-in page alone,
one click on the demo street account, the Overview of that street only (the figures of
``python -m data_layer kpis --user street``), sign-out back to the sign-in page."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from data_layer.auth.demo import demo_logins, demo_users
from data_layer.cli import main as cli_main
from data_layer.domain.formatting import format_value

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
FROZEN = "as_of=2026-06-30T18:00:00&period=this_year"
STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")


def cli_reported(data: Path, capsys) -> int:
    argv = ["kpis", "--data", str(data), "--period", "this_year"]
    assert cli_main([*argv, "--as-of", "2026-06-30T18:00", "--user", "street"]) == 0
    return json.loads(capsys.readouterr().out)[0]["metrics"]["reported"]["value"]


def painted_count(op, name: str) -> int:
    op.page.wait_for_selector(MAP_IFRAME, state="visible", timeout=60_000)
    handle = op.page.wait_for_function(
        """([sel, name]) => {
            const f = document.querySelector(sel);
            const g = f && f.contentWindow && f.contentWindow.gridpulse;
            const rec = g && g.layers && g.layers[name];
            return rec && rec.painted ? rec.count : null;
        }""",
        arg=[MAP_IFRAME, name],
        timeout=90_000,
    )
    return handle.json_value()


def test_demo_street_signs_in_sees_its_street_only_and_signs_out(
    server, offline_page, tiny_district, capsys
):
    op = offline_page
    op.goto_app(server.base_url, f"?{FROZEN}")
    page = op.page
    # the sign-in page alone: the form and the demo accounts, no menu, no sidebar, no data
    page.get_by_role("heading", name="登录").first.wait_for(timeout=30_000)
    for login in demo_logins():
        assert page.get_by_text(login.password, exact=True).is_visible()
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stMetric"]').count()
    op.screenshot("sign-in-page")

    page.locator(".st-key-signin_demo_street button").click()
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=90_000)
    op.wait_for_script()
    assert FROZEN.split("&")[0] in page.url  # the link survived the sign-in
    street = next(iter(demo_users(tiny_district)["street"].streets))
    communities = pl.read_parquet(tiny_district / "communities.parquet")
    own = communities.filter(pl.col("street_code") == street)
    assert painted_count(op, "community:closure_rate") == own.height < communities.height
    reported = page.locator('[data-testid="stMetric"]').filter(has_text="上报数").first
    value = reported.locator('[data-testid="stMetricValue"]').inner_text().strip()
    assert value == format_value("reported", cli_reported(tiny_district, capsys))
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert "演示 · 街道" in sidebar.inner_text()
    op.screenshot("sign-in-overview-street")

    sidebar.get_by_role("button", name="退出登录").click()
    page.get_by_role("heading", name="登录").first.wait_for(timeout=30_000)
    op.wait_for_script()
    assert page.get_by_text("已退出登录。").is_visible()
    assert not page.locator('[data-testid="stMetric"]').count()
    real = [e for e in op.http_errors if not e.split(" ", 1)[1].endswith(STREAMLIT_PROBES)]
    console = [e for e in op.console_errors if not e.split(" @ ")[-1].endswith(STREAMLIT_PROBES)]
    assert not (real or console or op.page_errors or op.blocked), op.problems()
