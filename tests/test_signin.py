"""Sign-in through app.py: the gate, local accounts (success, failure, lock-out), sign-out,
the idle timeout, demo accounts only with the demo marker, OIDC claims — each audited."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from app_session import shown_text, sign_in
from fixtures_tiny import AS_OF, C1, S1
from streamlit.testing.v1 import AppTest

from data_layer import demo
from data_layer.auth.demo import demo_logins
from data_layer.auth.roles import User
from data_layer.auth.users import UserStore
from data_layer.storage import origin
from data_layer.storage.audit import AuditLog
from ui.state import SessionKey

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PASSWORD = "correct horse battery"
WRONG = "用户名或密码错误 / wrong user name or password"
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}


@pytest.fixture
def data(monkeypatch, tiny_dir) -> Path:
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    return tiny_dir


@pytest.fixture
def wang(data) -> User:
    """A street account with a password."""
    user = User(username="wang", display_name="王 *测试*", role="street", streets={S1})
    UserStore(data).add(user, password=PASSWORD)
    return user


def app(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (params or MARCH).items():
        at.query_params[key] = value
    return at


def events(data: Path, action: str | None = None) -> list:
    return AuditLog.for_data_dir(data).read_events(action=action)


def submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.button(key="signin_submit").click()
    return at.run()


def on_sign_in_page(at: AppTest) -> bool:
    keys = {w.key for w in at.text_input}
    return {"signin_username", "signin_password"} <= keys and not at.metric


def test_before_sign_in_nothing_but_the_sign_in_page_renders(data):
    at = app().run()
    assert not at.exception
    assert on_sign_in_page(at)
    assert not at.sidebar.children  # no filter, no menu
    text = shown_text(at)
    assert "东湖街道" not in text and "上报数" not in text and not at.dataframe
    assert not [b for b in at.button if b.key and b.key.startswith("signin_demo_")]
    assert "尚无账号" in text  # no account in this directory yet: how to make one


def test_sign_in_with_a_password_opens_the_link_and_is_audited(data, wang):
    at = submit(app({**MARCH, "street": S1}).run(), "wang", PASSWORD)
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "上报数") == "9"
    assert at.query_params["street"] == S1  # the link's filter survived the sign-in
    signed_in = [c.value for c in at.sidebar.caption if "已登录" in c.value]
    assert signed_in == [r"已登录：王 \*测试\*（街道）"]  # the display name is plain text
    [event] = events(data, "sign_in_ok")
    assert (event.user, event.role, event.result) == ("wang", "street", "password")


@pytest.mark.parametrize("username", ["wang", "nobody"])
def test_a_wrong_password_and_an_unknown_user_read_the_same(data, wang, username):
    at = submit(app().run(), username, "not the password")
    assert on_sign_in_page(at)
    assert [e.value for e in at.error] == [WRONG]
    assert at.text_input(key="signin_password").value == ""  # never kept in the form
    [event] = events(data, "sign_in_failed")
    assert (event.user, event.result) == (username, "wrong user name or password")
    assert not events(data, "sign_in_ok")


def test_too_many_failures_lock_the_account(data, wang, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_LOGIN_MAX_FAILURES", "2")
    at = app().run()
    submit(at, "wang", "wrong one")
    submit(at, "wang", "wrong two")
    assert "锁定至" in at.error[0].value and "locked until" in at.error[0].value
    submit(at, "wang", PASSWORD)  # even the right password waits for the lock
    assert on_sign_in_page(at) and "锁定至" in at.error[0].value
    assert [e.result for e in events(data, "sign_in_failed")] == [
        "wrong user name or password",
        "locked",
        "locked",
    ]


def test_sign_out_returns_to_the_sign_in_page_and_forgets_the_session(data, wang):
    at = submit(app({**MARCH, "street": S1}).run(), "wang", PASSWORD)
    assert at.metric
    at.button(key="auth_sign_out").click().run()
    assert on_sign_in_page(at)
    assert SessionKey.USER not in at.session_state
    assert not dict(at.query_params)  # the filter left with the user
    assert "已退出登录。" in [i.value for i in at.info]
    [event] = events(data, "sign_out")
    assert event.user == "wang"


def test_an_idle_session_ends(data, wang):
    at = submit(app().run(), "wang", PASSWORD)
    assert at.metric
    at.session_state[SessionKey.LAST_SEEN] = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    at.run()
    assert on_sign_in_page(at)
    assert any("长时间未操作" in i.value for i in at.info)
    [event] = events(data, "session_expired")
    assert (event.user, event.result) == ("wang", "idle")


def test_an_active_session_stays(data, wang):
    at = submit(app().run(), "wang", PASSWORD)
    at.session_state[SessionKey.LAST_SEEN] = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=29)
    at.run()
    assert at.metric and not events(data, "session_expired")


def test_a_wall_display_does_not_time_out(data):
    at = app()
    sign_in(at, data, role="screen")
    at.session_state[SessionKey.LAST_SEEN] = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    at.run()
    assert at.metric and not events(data, "session_expired")


def test_a_removed_account_is_signed_out_on_the_next_run(data, wang):
    at = submit(app().run(), "wang", PASSWORD)
    assert at.metric
    UserStore(data).remove("wang")
    at.run()
    assert on_sign_in_page(at)
    assert events(data, "session_expired")[0].result == "account removed"


def test_a_role_change_takes_effect_on_the_next_run(data, wang):
    at = submit(app().run(), "wang", PASSWORD)
    assert next(m.value for m in at.metric if m.label == "上报数") == "9"
    UserStore(data).grant("wang", role="community", streets=(), communities=[C1])
    at.run()
    assert next(m.value for m in at.metric if m.label == "上报数") == "8"


# -- demo accounts ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    demo.generate(out=out, scale="tiny", seed=3, anchor=dt.date(2026, 6, 30))
    return out


def test_the_demo_lists_one_account_per_role_with_its_password(demo_dir, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_DATA", str(demo_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    buttons = {b.key for b in at.button if b.key and b.key.startswith("signin_demo_")}
    assert buttons == {f"signin_demo_{login.username}" for login in demo_logins()}
    text = shown_text(at)
    for login in demo_logins():
        assert login.username in text and login.password in text


def test_one_click_signs_in_as_the_demo_street(demo_dir, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_DATA", str(demo_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.button(key="signin_demo_street").click().run()
    assert not at.exception and not at.error
    user = at.session_state[SessionKey.USER]
    assert user.role == "street" and len(user.streets) == 1
    assert [o for o in at.sidebar.multiselect[0].options] == [
        n for n in _street_names(demo_dir, user.streets)
    ]
    [event] = AuditLog.for_data_dir(demo_dir).read_events(action="sign_in_ok")[-1:]
    assert event.user == "street"


def _street_names(data_dir: Path, codes) -> list[str]:
    import polars as pl

    streets = pl.read_parquet(data_dir / "streets.parquet", columns=["street_code", "name"])
    return streets.filter(pl.col("street_code").is_in(list(codes)))["name"].to_list()


def test_no_demo_accounts_without_the_marker(demo_dir, tmp_path, monkeypatch):
    copy = tmp_path / "imported"
    shutil.copytree(demo_dir, copy)
    origin.forget_demo(copy)
    monkeypatch.setenv("GRIDPULSE_DATA", str(copy))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not [b for b in at.button if b.key and b.key.startswith("signin_demo_")]
    submit(at, "street", "street-demo")  # the published password does not work either
    assert on_sign_in_page(at) and [e.value for e in at.error] == [WRONG]


# -- OIDC -------------------------------------------------------------------------------

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-secret",
    "client_id": "gridpulse",
    "client_secret": "x",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}


def oidc_app(user: dict) -> AppTest:
    at = app()
    at.secrets["auth"] = AUTH
    at.user = user
    return at


def test_with_oidc_configured_the_page_offers_the_identity_provider(data):
    at = oidc_app({"is_logged_in": False}).run()
    assert not at.exception
    assert not at.text_input  # no password form next to the identity provider
    assert [b.label for b in at.button] == ["使用统一身份认证登录"]
    assert not at.metric


def test_oidc_claims_give_role_and_areas(data):
    claims = {
        "is_logged_in": True,
        "email": "li@street.gov.cn",
        "email_verified": True,
        "name": "李",
        "gridpulse_role": "community",
        "gridpulse_communities": [C1],
    }
    at = oidc_app(claims).run()
    assert not at.exception and not at.error
    assert next(m.value for m in at.metric if m.label == "上报数") == "8"
    [event] = events(data, "sign_in_ok")
    assert (event.user, event.role, event.result) == ("li@street.gov.cn", "community", "oidc")


def test_an_oidc_identity_without_an_account_is_refused_and_audited(data):
    claims = {"is_logged_in": True, "email": "who@elsewhere.cn", "email_verified": True}
    at = oidc_app(claims).run()
    assert not at.metric
    assert "no access" in at.error[0].value
    at.run()  # audited once per session, not once per run
    [event] = events(data, "sign_in_failed")
    assert event.user == "who@elsewhere.cn"


def test_oidc_maps_a_known_identity_to_its_local_account(data):
    UserStore(data).add(
        User(username="zhao@gov.cn", display_name="赵", role="street", streets={S1}),
        password=None,
    )
    claims = {"is_logged_in": True, "email": "zhao@gov.cn", "email_verified": True}
    at = oidc_app(claims).run()
    assert next(m.value for m in at.metric if m.label == "上报数") == "9"


def test_oidc_sign_out_leaves_the_identity_provider_session_too(data):
    claims = {
        "is_logged_in": True,
        "email": "li@street.gov.cn",
        "email_verified": True,
        "gridpulse_role": "street",
        "gridpulse_streets": S1,
    }
    at = oidc_app(claims).run()
    assert at.metric
    at.button(key="auth_sign_out").click().run()
    assert at.user == {"is_logged_in": False}  # st.logout ran
    assert not at.metric
    [event] = events(data, "sign_out")
    assert event.user == "li@street.gov.cn"


def test_the_sign_in_page_switches_language_and_keeps_it_after_sign_in(data, wang):
    at = app().run()
    at.radio(key="signin_lang").set_value("en").run()
    assert at.query_params["lang"] == "en"
    assert at.button(key="signin_submit").label == "Sign in"
    submit(at, "wang", PASSWORD)
    assert "Reported" in [m.label for m in at.metric]
