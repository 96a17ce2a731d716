"""In the browser: a custom period survives a language switch and the next page change (the
browser holds a select box's value as its label; after the switch it held 自定义, and the next
page change fell back to 本月 / "This month": /cases?period=custom&from=… → /import?period=
this_month). tests/test_language_switch.py checks the server side of the fix."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser

TIMEOUT = 120_000
LINK = "cases?period=custom&from=2026-06-01&to=2026-06-20"


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_a_custom_period_survives_the_language_switch_and_a_page_change(server, offline_page):
    op, page = offline_page, offline_page.page
    op.sign_in(server.base_url, LINK, account="data_admin")
    assert page.get_by_role("combobox", name="统计期", exact=True).input_value() == "自定义"
    assert query(page)["period"] == ["custom"]
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    op.wait_for_script(timeout=TIMEOUT)
    period = page.get_by_role("combobox", name="Period", exact=True)
    period.wait_for(timeout=TIMEOUT)
    assert period.input_value() == "Custom range"
    page.locator('[data-testid="stSidebarNav"] a[href$="/import"]').click(timeout=TIMEOUT)
    op.wait_for_script(timeout=TIMEOUT)
    page.get_by_role("heading", name="Import data").first.wait_for(timeout=TIMEOUT)
    page.wait_for_function("() => location.pathname.endsWith('/import')", timeout=TIMEOUT)
    shown = query(page)
    assert (shown["period"], shown["from"], shown["to"], shown["lang"]) == (
        ["custom"],
        ["2026-06-01"],
        ["2026-06-20"],
        ["en"],
    ), page.url
    period = page.get_by_role("combobox", name="Period", exact=True)
    assert period.input_value() == "Custom range"
    op.screenshot("language-keeps-period")
