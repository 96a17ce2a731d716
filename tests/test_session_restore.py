"""A new session restored from the session cookie through app.py (ui/signin.py): signed in
without a click and audited like a sign-in, with the account as it is now; refused — the
normal sign-in page, no traceback, audited — when the token is revoked, expired, tampered,
made with another secret, idle or its account removed. A password sign-in opens the
server-side session and hands the browser a code; sign-out revokes it.

AppTest cannot send cookies (``st.context.cookies`` comes from the browser's request), so the
cookie a browser would send is put where the app reads it (``web_session.read_cookie``);
tests/browser/test_session_cookie.py and tests/test_cluster.py send real ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from app_session import account, shown_text
from fixtures_tiny import AS_OF, S1
from streamlit.testing.v1 import AppTest

from data_layer.auth import tokens
from data_layer.auth.roles import User
from data_layer.auth.users import UserStore
from data_layer.auth.web_sessions import FileSessionStore
from data_layer.storage.audit import AuditLog
from ui import web_session
from ui.state import SessionKey

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
SECRET = "a-test-secret-of-at-least-32-characters"
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}
PASSWORD = "correct horse battery"


@pytest.fixture
def data(monkeypatch, tiny_dir) -> Path:
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    monkeypatch.setenv("GRIDPULSE_SESSION_SECRET", SECRET)
    monkeypatch.setenv("GRIDPULSE_IDLE_MINUTES", "30")
    return tiny_dir


def cookie_session(data: Path, username: str, *, issued: dt.datetime | None = None) -> str:
    """A server-side session for ``username`` and the token its cookie holds."""
    issued = issued or dt.datetime.now(dt.UTC)
    sid = tokens.new_sid()
    FileSessionStore(data).open(sid, username, issued)
    claims = tokens.Claims(username=username, issued_at=int(issued.timestamp()), sid=sid)
    return tokens.sign(claims, SECRET.encode())


def browser_sends(monkeypatch, value: str | None) -> None:
    monkeypatch.setattr(web_session, "read_cookie", lambda: value)


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in MARCH.items():
        at.query_params[key] = value
    return at


def events(data: Path, action: str) -> list:
    return AuditLog.for_data_dir(data).read_events(action=action)


def on_sign_in_page(at: AppTest) -> bool:
    keys = {w.key for w in at.text_input}
    return {"signin_username", "signin_password"} <= keys and not at.metric


def sid_of(token: str) -> str:
    return tokens.verify(token, SECRET.encode(), now=dt.datetime.now(dt.UTC).timestamp(),
                         max_age_s=10**9).sid  # fmt: skip


def test_a_valid_cookie_signs_a_new_session_in_without_a_click(data, monkeypatch):
    account(data, role="street", username="wang", streets={S1})
    token = cookie_session(data, "wang")
    browser_sends(monkeypatch, token)
    at = app().run()
    assert not at.exception and not on_sign_in_page(at)
    assert next(m.value for m in at.metric if m.label == "上报数") == "9"  # wang's street only
    assert at.session_state[SessionKey.USER].username == "wang"
    [event] = events(data, "sign_in_ok")
    assert (event.user, event.role, event.result) == ("wang", "street", "session cookie")
    at.run()  # later runs do not sign in again
    assert len(events(data, "sign_in_ok")) == 1


def test_the_account_is_read_as_it_is_now(data, monkeypatch):
    account(data, role="street", username="wang", streets={S1})
    token = cookie_session(data, "wang")
    UserStore(data).grant("wang", role="district", streets=[])  # changed after the cookie
    browser_sends(monkeypatch, token)
    at = app().run()
    assert at.session_state[SessionKey.USER].role == "district"
    assert next(m.value for m in at.metric if m.label == "上报数") != "9"  # all streets now


@pytest.mark.parametrize("case", ["removed", "revoked", "idle", "expired", "tampered", "other"])
def test_a_cookie_that_is_no_longer_good_shows_the_sign_in_page(data, monkeypatch, case):
    account(data, role="street", username="wang", streets={S1})
    now = dt.datetime.now(dt.UTC)
    token = cookie_session(data, "wang")
    reason = {
        "removed": "account removed",
        "revoked": "revoked",
        "idle": "idle",
        "expired": "expired",
        "tampered": "bad signature",
        "other": "bad signature",
    }[case]
    if case == "removed":
        UserStore(data).remove("wang")
    elif case == "revoked":
        FileSessionStore(data).revoke(sid_of(token), now)
    elif case == "idle":
        token = cookie_session(data, "wang", issued=now - dt.timedelta(minutes=31))
    elif case == "expired":
        monkeypatch.setenv("GRIDPULSE_SESSION_HOURS", "1")
        token = cookie_session(data, "wang", issued=now - dt.timedelta(hours=1, minutes=1))
    elif case == "tampered":
        head, payload, mac = token.split(".")
        other = tokens.sign(tokens.Claims("district", int(now.timestamp()), "x" * 32), b"k" * 32)
        token = f"{head}.{other.split('.')[1]}.{mac}"
    elif case == "other":
        monkeypatch.setenv("GRIDPULSE_SESSION_SECRET", "another-secret-" + "x" * 32)
    browser_sends(monkeypatch, token)
    at = app().run()
    assert not at.exception
    assert on_sign_in_page(at)
    assert "上报数" not in shown_text(at)
    assert not events(data, "sign_in_ok")
    [event] = events(data, "sign_in_failed")
    assert event.result == f"session cookie: {reason}"
    assert at.session_state[web_session._HANDOVER]["action"] == "clear"  # the browser drops it
    if case in ("idle", "removed"):  # no replica takes it again
        assert FileSessionStore(data).get(sid_of(token)).revoked_at is not None


def test_a_wall_display_s_cookie_is_exempt_from_the_idle_rule(data, monkeypatch):
    account(data, role="screen", username="wall")
    issued = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    browser_sends(monkeypatch, cookie_session(data, "wall", issued=issued))
    at = app().run()
    assert not on_sign_in_page(at) and at.metric


def test_without_the_secret_a_cookie_is_not_looked_at(data, monkeypatch):
    account(data, role="street", username="wang", streets={S1})
    browser_sends(monkeypatch, cookie_session(data, "wang"))
    monkeypatch.delenv("GRIDPULSE_SESSION_SECRET")
    at = app().run()
    assert on_sign_in_page(at) and not events(data, "sign_in_failed")


def test_a_password_sign_in_opens_a_session_and_sign_out_revokes_it(data, monkeypatch):
    wang = User(username="wang", display_name="王", role="street", streets={S1})
    UserStore(data).add(wang, password=PASSWORD)
    browser_sends(monkeypatch, None)
    at = app().run()
    at.text_input(key="signin_username").input("wang")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button(key="signin_submit").click().run()
    assert at.metric
    sid = at.session_state[web_session.SID]
    handover = at.session_state[web_session._HANDOVER]
    assert handover["action"] == "set"
    token = tokens.CODES.redeem(handover["code"])  # what the route would set as the cookie
    assert token is not None and sid_of(token) == sid
    record = FileSessionStore(data).get(sid)
    assert record.username == "wang" and record.revoked_at is None
    browser_sends(monkeypatch, token)  # the browser has the cookie now
    at.button(key="auth_sign_out").click().run()
    assert on_sign_in_page(at)
    assert FileSessionStore(data).get(sid).revoked_at is not None
    assert at.session_state[web_session._HANDOVER]["action"] == "clear"
    at.run()  # this session does not take its (revoked) cookie back
    assert on_sign_in_page(at) and not events(data, "sign_in_failed")


def test_the_idle_timeout_of_a_live_session_revokes_its_cookie(data, monkeypatch):
    UserStore(data).add(
        User(username="wang", display_name="王", role="street", streets={S1}), password=PASSWORD
    )
    browser_sends(monkeypatch, None)
    at = app().run()
    at.text_input(key="signin_username").input("wang")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button(key="signin_submit").click().run()
    sid = at.session_state[web_session.SID]
    at.session_state[SessionKey.LAST_SEEN] = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    at.run()
    assert on_sign_in_page(at)
    assert FileSessionStore(data).get(sid).revoked_at is not None
    assert at.session_state[web_session._HANDOVER]["action"] == "clear"
