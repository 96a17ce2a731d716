"""KPI names and the import page's column mapping are readable, not cut with an ellipsis, at
1280×800 (a laptop) and 1920×1080 (the meeting-room projector): the coverage page's cards
(专职网格员配备率, 物业服务覆盖率 were cut to 专职网格员…), the overview's values and changes,
and the mapping select boxes (reporter_phone · 联系电话 / reporter phone was cut). A text counts
as cut when an element of it is wider inside than its box (scrollWidth > clientWidth).
Screenshots go to tests/artifacts/readable-*.png."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TIMEOUT = 120_000  # a shared, loaded machine: generous waits, no timing asserted
SIZES = ((1280, 800), (1920, 1080))
CUT = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(el => [el, ...el.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
  .map(el => (el.value || el.innerText).trim())"""
METRIC_PARTS = (
    '[data-testid="stMetricLabel"], [data-testid="stMetricValue"], [data-testid="stMetricDelta"]'
)
CASES_CSV = (
    "事件编号,所属网格,事件类型,来源,上报时间,办结时间,联系人,联系电话,事件描述,满意度,"
    "承办单位,处置时间\n"
    "W1,,环境卫生,网格员上报,2026-06-01 08:05,,张三,13812341234,x,满意,城管,\n"
)


STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")  # Streamlit's own, under a page


def assert_clean(op) -> None:
    """Nothing blocked, thrown or failed, but Streamlit's health probes under a page path."""
    probe = lambda e: e.split(" @ ")[-1].split(" ")[-1].endswith(STREAMLIT_PROBES)  # noqa: E731
    bad = {k: [e for e in v if not probe(e)] for k, v in op.problems().items()}
    assert not {k: v for k, v in bad.items() if v}, bad


def cut_texts(page, selector: str) -> list[str]:
    page.mouse.move(0, 0)  # no tooltip over the cards
    return page.evaluate(CUT, selector)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_kpi_names_values_and_changes_are_not_cut(server, offline_page, width, height):
    op, page = offline_page, offline_page.page
    page.set_viewport_size({"width": width, "height": height})
    op.sign_in(server.base_url, "coverage", account="district")
    page.locator('[data-testid="stMetric"]').nth(4).wait_for(timeout=TIMEOUT)
    labels = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
    assert "专职网格员配备率" in labels and "物业服务覆盖率" in labels, labels
    assert cut_texts(page, METRIC_PARTS) == []
    op.screenshot(f"readable-coverage-{width}x{height}")
    # English names are longer: the sidebar's switch, then the overview in both languages
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    op.wait_for_script(timeout=TIMEOUT)
    page.get_by_text("Full-time worker coverage").first.wait_for(timeout=TIMEOUT)
    assert cut_texts(page, METRIC_PARTS) == []
    op.screenshot(f"readable-coverage-en-{width}x{height}")
    page.locator('[data-testid="stSidebarNav"] a').first.click(timeout=TIMEOUT)
    op.wait_for_script(timeout=TIMEOUT)
    page.locator('[data-testid="stMetric"]').nth(5).wait_for(timeout=TIMEOUT)
    assert cut_texts(page, METRIC_PARTS) == []
    page.locator('[data-testid="stSidebar"]').get_by_text("中文", exact=True).click()
    op.wait_for_script(timeout=TIMEOUT)
    page.get_by_text("核心指标").first.wait_for(timeout=TIMEOUT)
    assert cut_texts(page, METRIC_PARTS) == []
    op.screenshot(f"readable-overview-{width}x{height}")
    assert_clean(op)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_column_mapping_is_not_cut(server, offline_page, tmp_path, width, height):
    op, page = offline_page, offline_page.page
    page.set_viewport_size({"width": width, "height": height})
    op.sign_in(server.base_url, account="data_admin")  # a preview imports nothing
    page.locator('[data-testid="stSidebarNav"] a[href$="/import"]').click(timeout=TIMEOUT)
    op.wait_for_script(timeout=TIMEOUT)
    upload = tmp_path / "cases.csv"
    upload.write_text(CASES_CSV, encoding="utf-8")
    for lang in ("zh", "en"):
        if lang == "en":
            page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
            op.wait_for_script(timeout=TIMEOUT)
        page.locator('.st-key-import_upload_cases input[type="file"]').set_input_files(upload)
        op.wait_for_script(timeout=TIMEOUT)
        phone = page.get_by_role("combobox", name="联系电话", exact=True)
        phone.wait_for(timeout=TIMEOUT)
        expected = {"zh": "联系电话 · reporter_phone", "en": "Reporter phone · reporter_phone"}
        assert phone.input_value() == expected[lang]
        assert cut_texts(page, '[data-testid="stSelectbox"] input') == []
        phone.scroll_into_view_if_needed()
        op.screenshot(f"readable-import-{lang}-{width}x{height}", full_page=False)
    assert_clean(op)
