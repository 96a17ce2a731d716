"""The first import ends the demo, and the demo accounts with it (docs/security.md): a demo
data admin who imports is not thrown out before seeing the result. The page shows the result,
says that the demo accounts end now and how to create an account; the next click signs the
session out, and the sign-in page repeats the result."""

from __future__ import annotations

import datetime as dt

from app_session import sign_in
from fixtures_tiny import G1
from streamlit.testing.v1 import AppTest
from test_app import ROOT, ROOT_APP

from data_layer.auth.users import UserStore
from data_layer.storage import origin

COMPOUNDS_CSV = (
    "小区编号,小区名称,所属网格,户数,物业服务模式\n"
    f"K9,新小区,{G1},120,专业化\n"
    f"K10,负户数,{G1},-3,自治型\n"
).encode()
RESULT = "小区：读取 2 = 导入 1 + 拒绝 1"


def signed_in_as_demo_admin(monkeypatch, data_dir) -> AppTest:
    """The app on a demo directory, signed in as its demo data admin: ``sign_in`` stores
    the account; removing it again leaves the demo account of that name, as a click on the
    sign-in page's demo list would."""
    origin.mark_demo(data_dir, scale="tiny", seed=1, anchor=dt.date(2025, 3, 31))
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    at = AppTest.from_file(ROOT_APP, default_timeout=120)
    sign_in(at, data_dir, role="data_admin")
    UserStore(data_dir).remove("data_admin")  # the demo account of that name remains
    at.run()
    at.switch_page(str(ROOT / "pages" / "import_data.py")).run()
    at.radio(key="import_kind").set_value("compounds").run()
    at.file_uploader(key="import_upload_compounds").set_value(
        ("小区.csv", COMPOUNDS_CSV, "text/csv")
    ).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_import_that_ends_the_demo_shows_its_result_before_the_sign_out(monkeypatch, tiny_dir):
    at = signed_in_as_demo_admin(monkeypatch, tiny_dir)
    at.button(key="import_dry").click().run()
    assert not [w for w in at.warning if "演示账号" in w.value]  # a dry run ends nothing
    assert origin.is_demo(tiny_dir)

    at.button(key="import_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not origin.is_demo(tiny_dir)  # the rule stays: the data is real now
    # the result, and the message under it, in the same run
    assert any("读取 2 = 导入 1 + 拒绝 1" in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["导入"] == "1"
    [told] = [w.value for w in at.warning if "演示账号" in w.value]
    assert "下一次点击" in told and "退出登录" in told
    assert [c.value for c in at.code] == [
        "python -m data_layer users add 用户名 --data 数据目录 --role data_admin"
    ]
    assert at.button(key="demo_ended_sign_out")
    assert at.session_state["_user"].username == "data_admin"  # still signed in

    at.button(key="demo_ended_sign_out").click().run()  # the next click: signed out
    assert not at.exception, [e.message for e in at.exception]
    assert "_user" not in at.session_state
    assert any("演示账号已失效" in i.value for i in at.info)
    assert [s.value for s in at.success] == [RESULT]  # the result, once more
    assert "users add" in at.code[0].value
    at.run()  # and only once
    assert not at.success


def test_a_stored_account_is_not_told_the_demo_ends(monkeypatch, tiny_dir):
    origin.mark_demo(tiny_dir, scale="tiny", seed=1, anchor=dt.date(2025, 3, 31))
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(ROOT_APP, default_timeout=120)
    sign_in(at, tiny_dir, role="data_admin", username="wang")
    at.run()
    at.switch_page(str(ROOT / "pages" / "import_data.py")).run()
    at.radio(key="import_kind").set_value("compounds").run()
    at.file_uploader(key="import_upload_compounds").set_value(
        ("小区.csv", COMPOUNDS_CSV, "text/csv")
    ).run()
    at.button(key="import_go").click().run()
    assert not origin.is_demo(tiny_dir)
    assert not [w for w in at.warning if "演示账号" in w.value]
    at.run()
    assert at.session_state["_user"].username == "wang"
