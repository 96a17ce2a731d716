"""The 数据导入 page in headless Chromium, offline, on its own generated tiny district: the
data admin picks 小区 (compounds), downloads its .xlsx template (a real download: sheet one
the headers and an example, sheet 说明), fills it with one good and one bad row, uploads it,
confirms, reads read = imported + rejected and the rejected row's row, column and reason (on
screen and in the report CSV), and the 网格覆盖 page then shows the property coverage with the
new compound in its denominator. Screenshots in both languages go to tests/artifacts/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from data_layer.auth.roles import User
from data_layer.auth.users import UserStore
from data_layer.domain.formatting import format_fraction, format_value

pytestmark = pytest.mark.browser

STREAMLIT_PROBES = ("/_stcore/health", "/_stcore/host-config")
TIMEOUT = 120_000  # this machine is shared and loaded: generous waits, no timing asserted
GOOD = {"小区编号": "BT0001", "小区名称": "浏览器测试小区", "户数": "360", "物业服务模式": "无"}
ADMIN, PASSWORD = "importer", "Grid-Import-Browser-2026"
BAD = {"小区编号": "BT0002", "小区名称": "负户数小区", "户数": "-5", "物业服务模式": "专业化"}


@pytest.fixture(scope="module")
def server(streamlit_server_factory, tiny_district):
    """app.py over this module's own district (the import changes it), with a stored data
    admin: the first import ends the demo, and the demo accounts with it (docs/security.md),
    so a demo account would be signed out on the page's next run."""
    UserStore(tiny_district).add(
        User(username=ADMIN, display_name="导入测试", role="data_admin"), password=PASSWORD
    )
    app = Path(__file__).resolve().parents[2] / "serve.py"
    return streamlit_server_factory(app, env={"GRIDPULSE_DATA": str(tiny_district)})


def real_problems(op) -> dict[str, list[str]]:
    """What went wrong in the browser, without Streamlit's own health probes."""

    def real(entries: list[str], sep: str) -> list[str]:
        return [e for e in entries if not e.split(sep)[-1].endswith(STREAMLIT_PROBES)]

    found = {
        "HTTP errors": real(op.http_errors, " "),
        "console errors": real(op.console_errors, " @ "),
        "page errors": op.page_errors,
        "blocked requests": op.blocked,
    }
    return {k: v for k, v in found.items() if v}


def property_card(page):
    """The bordered card of 物业服务覆盖率 (its value and its numerator / denominator)."""
    return (
        page.locator('[data-testid="stVerticalBlock"]')
        .filter(has=page.locator('[data-testid="stMetric"]', has_text="物业服务覆盖率"))
        .last
    )


def open_page(op, href: str) -> None:
    op.page.locator(f'[data-testid="stSidebarNav"] a[href$="/{href}"]').click(timeout=TIMEOUT)
    op.wait_for_script(timeout=TIMEOUT)


def filled(template: Path, out: Path) -> Path:
    """The template with its example replaced by GOOD (in the example's grid) and BAD."""
    book = openpyxl.load_workbook(template)
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    grid = sheet.cell(row=2, column=headers.index("网格编码") + 1).value
    for row, values in ((2, GOOD), (3, BAD)):
        for column, header in enumerate(headers, start=1):
            sheet.cell(row=row, column=column, value={**values, "网格编码": grid}[header])
    book.save(out)
    return out


def test_data_admin_downloads_the_template_imports_it_and_coverage_changes(
    server, offline_page, tiny_district, tmp_path
):
    op, page = offline_page, offline_page.page
    page.set_viewport_size({"width": 1280, "height": 2400})  # the screenshots show whole pages
    compounds = pl.read_parquet(tiny_district / "compounds.parquet")
    served = compounds.filter(pl.col("property_mode") != "none").height
    before = format_fraction(served, compounds.height)
    after = format_fraction(served, compounds.height + 1)  # + BT0001, which has none
    rate_after = format_value("property_coverage", served / (compounds.height + 1))

    op.sign_in(server.base_url, "coverage", account=ADMIN, password=PASSWORD, timeout=TIMEOUT)
    card = property_card(page)
    card.wait_for(timeout=TIMEOUT)
    assert before in card.inner_text()
    op.screenshot("import-0-coverage-before")

    open_page(op, "import")
    page.get_by_role("heading", name="数据导入").first.wait_for(timeout=TIMEOUT)
    page.locator(".st-key-import_kind").get_by_text("小区", exact=True).click()
    op.wait_for_script(timeout=TIMEOUT)
    op.screenshot("import-1-compounds-chosen")

    # the template: a real download, a valid workbook with the 说明 sheet
    button = page.get_by_role("button", name="下载导入模板：小区（.xlsx）")
    with page.expect_download(timeout=TIMEOUT) as download:
        button.click()
    assert download.value.suggested_filename == "gridpulse-template-compounds.xlsx"
    template = tmp_path / download.value.suggested_filename
    download.value.save_as(template)
    book = openpyxl.load_workbook(template)
    assert book.sheetnames == ["小区", "说明"]
    headers = [c.value for c in book["小区"][1]]
    assert headers[:2] == ["小区编号", "小区名称"] and "物业服务模式" in headers
    about = [r[0] for r in book["说明"].iter_rows(values_only=True)]
    assert "物业服务模式" in about and any("读取 = 导入 + 拒绝" in str(v) for v in about)

    upload = filled(template, tmp_path / "compounds-filled.xlsx")
    page.locator('.st-key-import_upload_compounds input[type="file"]').set_input_files(upload)
    op.wait_for_script(timeout=TIMEOUT)
    page.get_by_role("button", name="确认导入").wait_for(timeout=TIMEOUT)
    op.screenshot("import-2-preview")

    page.get_by_role("button", name="确认导入").click()
    op.wait_for_script(timeout=TIMEOUT)
    page.get_by_text("读取 2 = 导入 1 + 拒绝 1").wait_for(timeout=TIMEOUT)
    metrics = page.locator('[data-testid="stMetric"]')
    shown = {
        metrics.nth(i).locator("label").inner_text().strip(): metrics.nth(i)
        .locator('[data-testid="stMetricValue"]')
        .inner_text()
        .strip()
        for i in range(metrics.count())
    }
    assert (shown["读取"], shown["导入"], shown["拒绝"]) == ("2", "1", "1"), shown
    page.mouse.move(0, 0)  # no hover tooltip over the result
    op.screenshot("import-3-result")

    # the rejected row: its row, column and reason, in the report the page offers
    with page.expect_download(timeout=TIMEOUT) as report_download:
        page.get_by_role("button", name="下载报告 CSV").click()
    op.wait_for_script(timeout=TIMEOUT)  # a download button's click reruns the page
    report_path = tmp_path / "report.csv"
    report_download.value.save_as(report_path)
    rows = list(csv.DictReader(io.StringIO(report_path.read_text(encoding="utf-8-sig"))))
    rejected = [r for r in rows if r["severity_code"] == "rejected"]
    assert len(rejected) == 1, rows
    assert (rejected[0]["行号"], rejected[0]["列"]) == ("3", "户数"), rejected
    # labels in the UI language, the code in a column of its own
    assert (rejected[0]["类别"], rejected[0]["原因"]) == ("未导入", "应为非负整数"), rejected
    assert rejected[0]["reason_code"] == "not_a_count", rejected
    assert rejected[0]["值"] == "'-5"  # a CSV cell that starts like a formula is defused

    # the figure the import changed, on the coverage page of the same session
    open_page(op, "coverage")
    card = property_card(page)
    card.wait_for(timeout=TIMEOUT)
    text = card.inner_text()
    assert after in text and rate_after in text, (text, after, rate_after)
    op.screenshot("import-4-coverage-after")

    # the import page in English (the sidebar's language switch)
    open_page(op, "import")
    page.locator('[data-testid="stSidebar"]').get_by_text("English", exact=True).click()
    op.wait_for_script(timeout=TIMEOUT)
    page.get_by_role("heading", name="Import data").first.wait_for(timeout=TIMEOUT)
    page.locator(".st-key-import_kind").get_by_text("Compounds", exact=True).click()
    op.wait_for_script(timeout=TIMEOUT)
    op.screenshot("import-5-english")
    assert not page.locator('[data-testid="stException"]').count()
    assert not real_problems(op), real_problems(op)
