"""The 联席会议 page in headless Chromium, offline: presentation mode, arrow keys, a screenshot
of every slide (tests/artifacts/meeting-slide-N.png), Esc leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
MEETING = "meeting?mt_period=month&mt_month=2026-06&mt_as_of=2026-06-30T18:00"
STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")
TITLES = [
    "核心指标",
    "各社区办结率",
    "红黑榜",
    "交办事项：超期未结案件",
    "网格覆盖短板",
    "志愿服务与微心愿",
    "数据说明",
]


def real_errors(op) -> list[str]:
    http = [e for e in op.http_errors if not e.split(" ", 1)[1].endswith(STREAMLIT_PROBES)]
    console = [e for e in op.console_errors if not e.split(" @ ")[-1].endswith(STREAMLIT_PROBES)]
    return http + console + op.page_errors + op.blocked


def wait_for_slide(op, n: int) -> None:
    op.page.wait_for_function(
        "(n) => { const c = document.querySelector('[data-testid=mt-counter]');"
        " return c && c.textContent.trim().startsWith(n + ' / 7'); }",
        arg=n,
        timeout=60_000,
    )
    op.wait_for_script()
    op.page.get_by_role("heading", name=TITLES[n - 1]).first.wait_for(timeout=30_000)


def test_every_slide_in_presentation_mode(server, offline_page):
    op = offline_page
    op.page.set_viewport_size({"width": 1600, "height": 900})  # a projector
    op.sign_in(server.base_url, f"{MEETING}&present=1")
    wait_for_slide(op, 1)
    assert not op.page.locator('[data-testid="stSidebar"]').is_visible()
    assert not op.page.locator('[data-testid="stHeader"]').is_visible()
    op.page.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=30_000)
    size = op.page.evaluate(
        "() => { const v = document.querySelector('[data-testid=stMetricValue]');"
        " const inner = [...v.querySelectorAll('*')].filter(e => e.textContent.trim()).pop() || v;"
        " return parseFloat(getComputedStyle(inner).fontSize); }"
    )
    assert size >= 48  # readable from the back of the room
    for n in range(1, 8):
        if n > 1:
            op.page.keyboard.press("ArrowRight")
            wait_for_slide(op, n)
        if n == 2:
            op.page.locator('[data-testid="stImage"] img').first.wait_for(timeout=30_000)
        assert f"slide={n}" in op.page.url
        op.screenshot(f"meeting-slide-{n}")
    op.page.keyboard.press("ArrowLeft")
    wait_for_slide(op, 6)
    # a presentation clicker sends PageUp / PageDown
    op.page.keyboard.press("PageUp")
    wait_for_slide(op, 5)
    op.page.keyboard.press("PageDown")
    wait_for_slide(op, 6)
    op.page.keyboard.press("Escape")
    op.page.get_by_role("button", name="开始演示").wait_for(timeout=30_000)
    op.page.get_by_role("button", name="下载 PDF").wait_for(timeout=60_000)
    op.wait_for_script()
    assert "present=1" not in op.page.url
    assert op.page.locator('[data-testid="stSidebar"]').is_visible()
    op.screenshot("meeting-setup")
    assert not real_errors(op), op.problems()


def test_the_same_link_shows_the_same_slide(server, offline_page):
    op = offline_page
    op.sign_in(server.base_url, f"{MEETING}&present=1&slide=4")
    wait_for_slide(op, 4)
    text = op.page.locator('[data-testid="stTable"]').last.inner_text()
    assert "****" in text  # reporter phones masked
    assert not real_errors(op), op.problems()
