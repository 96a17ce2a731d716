"""Roles through app.py — the wall display takes nothing away, only the data administrator
imports, the personal-data right unmasks and is audited — and the audit log: every
download and briefing file, imports, the admin page, and what happens when it cannot be
written."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_session import file_text, sign_in
from fixtures_tiny import AS_OF, G1
from streamlit.testing.v1 import AppTest

from data_layer.storage.audit import AuditLog

ROOT = Path(__file__).resolve().parent.parent
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}
MEETING = {"mt_period": "month", "mt_month": "2025-03", "mt_as_of": "2025-03-31T12:00"}
NOT_ALLOWED = "您的账号无权访问此页面。"


@pytest.fixture
def data(monkeypatch, tiny_dir) -> Path:
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    return tiny_dir


def run(data: Path, page: str, *, params: dict | None = None, **account) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (params or MARCH).items():
        at.query_params[key] = value
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    sign_in(at, data, **account)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def events(data: Path, action: str) -> list:
    return AuditLog.for_data_dir(data).read_events(action=action)


# -- the wall display --------------------------------------------------------------------


@pytest.mark.parametrize("page", ["cases", "coverage", "volunteer", "ranking", "meeting"])
def test_a_wall_display_gets_no_download_buttons(data, downloads, page):
    params = {**MARCH, **MEETING} if page == "meeting" else MARCH
    at = run(data, page, params=params, role="screen")
    assert not at.error
    assert not at.get("download_button") and not downloads
    district = run(data, page, params=params, role="district")
    assert district.get("download_button")  # the same page offers them to a reader


def _briefing_for_a_screen() -> None:
    import streamlit as st

    from ui import state

    try:
        state.briefing_file(st.session_state["meeting"], lang="zh", fmt="pdf")
    except PermissionError as exc:
        st.session_state["refused"] = str(exc)


def test_the_briefing_file_is_refused_to_a_wall_display_even_if_asked(data):
    from documents.meeting import Meeting

    at = AppTest.from_function(_briefing_for_a_screen, default_timeout=120)
    sign_in(at, data, role="screen")
    at.session_state["meeting"] = Meeting.for_month(2025, 3, as_of=AS_OF)
    at.run()
    assert not at.exception
    assert "may not download" in at.session_state["refused"]


# -- import and the audit page: who may open them -----------------------------------------


@pytest.mark.parametrize("role", ["district", "street", "community", "screen"])
def test_only_the_data_administrator_opens_the_import_page(data, role):
    areas = {"street": {"streets": ["360102001"]}, "community": {"communities": ["360102001001"]}}
    at = run(data, "import_data", role=role, **areas.get(role, {}))
    assert [e.value for e in at.error] == [NOT_ALLOWED]
    assert not at.get("file_uploader")


def test_the_data_administrator_imports_and_the_import_is_audited(data):
    at = run(data, "import_data", role="data_admin")
    assert not at.error and at.get("file_uploader")
    csv = (
        f"事件编号,所属网格,事件类型,来源,上报时间\nW1,{G1},环境卫生,网格员上报,2025-03-01 08:05\n"
    )
    at.file_uploader[0].set_value(("cases.csv", csv.encode(), "text/csv"))
    at.run()
    next(b for b in at.button if b.key == "import_dry").click()
    at.run(timeout=120)
    assert not events(data, "import")  # a dry run changes nothing and is not an import
    next(b for b in at.button if b.key == "import_go").click()
    at.run(timeout=120)
    [event] = events(data, "import")
    assert (event.user, event.role, event.target) == ("data_admin", "data_admin", "cases")
    assert event.result == "imported 1 of 1"


@pytest.mark.parametrize(
    "role, allowed", [("district", True), ("data_admin", True), ("screen", False)]
)
def test_the_audit_page_is_for_district_and_data_administrators(data, role, allowed):
    at = run(data, "audit", role=role)
    assert ([e.value for e in at.error] == [NOT_ALLOWED]) is not allowed


def test_the_audit_page_lists_events_newest_first_and_filters_them(data):
    log = AuditLog.for_data_dir(data)
    log.record(user="wang", role="street", action="sign_in_ok", result="password")
    log.record(user="li", role="district", action="download", target="overdue_cases.csv")
    log.record(user="wang", role="street", action="sign_out")
    at = run(data, "audit", role="district")
    assert not at.error
    frame = at.dataframe[0].value
    assert list(frame["操作"]) == ["退出登录", "下载", "登录成功"]
    assert list(frame["用户"]) == ["wang", "li", "wang"]
    at.selectbox(key="audit_user").select("wang").run()
    assert list(at.dataframe[0].value["操作"]) == ["退出登录", "登录成功"]
    at.multiselect(key="audit_actions").select("sign_out").run()
    assert list(at.dataframe[0].value["用户"]) == ["wang"]


# -- personal data --------------------------------------------------------------------------


def test_the_personal_data_right_unmasks_and_every_view_and_file_is_audited(data, downloads):
    at = run(data, "cases", role="district", rights=["personal_data"])
    shown = "\n".join(frame.value.to_csv() for frame in at.dataframe)
    assert "张三" in shown and "13812341234" in shown
    at.run()  # the same view again: one event per view and filter, not per rerun
    viewed = events(data, "unmasked_view")
    assert sorted(e.target for e in viewed) == ["at_risk_cases", "overdue_cases"]
    assert all(e.user == "district" and e.filter["from"] == "2025-03-01" for e in viewed)
    name = next(
        n for n in downloads if n.startswith("gridpulse_overdue_cases") and n.endswith(".csv")
    )
    assert "13812341234" in file_text(name, downloads[name]())
    [download] = events(data, "download")
    assert (download.target, download.result) == (name, "personal data unmasked")


def test_without_the_right_names_are_masked_and_nothing_is_unmasked(data, downloads):
    at = run(data, "cases", role="district")
    shown = "\n".join(frame.value.to_csv() for frame in at.dataframe)
    assert "张三" not in shown and "13812341234" not in shown and "张*" in shown
    assert not events(data, "unmasked_view")
    name = next(n for n in downloads if "overdue_cases" in n and n.endswith(".xlsx"))
    text = file_text(name, downloads[name]())
    assert "13812341234" not in text and "138****1234" in text
    [download] = events(data, "download")
    assert (download.user, download.result) == ("district", "masked")


# -- downloads and the briefing in the log -------------------------------------------------


def test_every_download_is_audited_when_taken(data, downloads):
    run(data, "coverage", role="street", streets=["360102001"])
    assert downloads and not events(data, "download")  # offering a file is not taking it
    for make in downloads.values():
        make()
    taken = events(data, "download")
    assert sorted(e.target for e in taken) == sorted(downloads)
    assert all(e.user == "street" and e.filter["from"] == "2025-03-01" for e in taken)


def test_the_briefing_files_are_audited(data, downloads):
    run(data, "meeting", params=MEETING, role="district")
    for make in downloads.values():
        assert make()[:4] in (b"PK\x03\x04", b"%PDF")
    assert sorted(e.target.rsplit(".", 1)[1] for e in events(data, "briefing")) == ["pdf", "pptx"]


def test_nothing_leaves_when_the_audit_log_cannot_be_written(data, downloads, monkeypatch):
    blocker = data / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("GRIDPULSE_AUDIT_LOG", str(blocker / "audit.jsonl"))
    at = run(data, "cases", role="district")
    assert at.metric  # the session goes on (its sign-in event is lost, and logged)
    make = next(iter(downloads.values()))
    with pytest.raises(OSError):
        make()
