"""The session cookie in headless Chromium against serve.py: a sign-in hands the browser an
HttpOnly, SameSite=Strict cookie (scripts cannot read it) through a single-use code; a new tab
(a new Streamlit session, as after a fail-over) is signed in without a click; sign-out drops
the cookie, and its old value, sent again from another browser, is refused: the sign-in page,
no traceback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench.browser import new_context
from data_layer.storage.audit import AuditLog

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "serve.py"
SECRET = "browser-test-session-secret-" + "x" * 32
FROZEN = "as_of=2026-06-30T18:00:00&period=this_year"
COOKIE = "gridpulse_session"
HANDED_OVER = "() => document.documentElement.dataset.gridpulseSession === '{}'"


@pytest.fixture(scope="module")
def server(streamlit_server_factory, tiny_district):
    env = {"GRIDPULSE_DATA": str(tiny_district), "GRIDPULSE_SESSION_SECRET": SECRET}
    return streamlit_server_factory(SERVE, env=env)


def replay(base_url: str, body: str) -> int:
    """POST ``body`` to the route as the page did (same origin, JSON): the HTTP status."""
    request = urllib.request.Request(  # noqa: S310 - localhost
        f"{base_url}/_gp/session",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Origin": base_url},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == COOKIE), None)


def on_sign_in_page(page) -> bool:
    page.get_by_role("heading", name="登录").first.wait_for(timeout=60_000)
    return not page.locator('[data-testid="stMetric"]').count()


def test_a_sign_in_survives_a_new_session_until_sign_out(
    server, offline_page, chromium_browser, tiny_district
):
    op = offline_page
    page = op.page
    handed: list[str] = []
    page.on("request", lambda r: handed.append(r.post_data) if "/_gp/session" in r.url else None)
    op.sign_in(server.base_url, f"?{FROZEN}", account="district")
    page.wait_for_function(HANDED_OVER.format("set"), timeout=30_000)
    cookie = session_cookie(page.context)
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"], cookie["secure"]) == (
        True,
        "Strict",
        "/",
        False,
    )
    assert cookie["value"].startswith("v1.") and cookie["value"] not in page.content()
    assert COOKIE not in page.evaluate("document.cookie")  # HttpOnly: no script reads it
    handover = page.locator(".st-key-gridpulse_session")  # the component: a script, not seen
    assert handover.count() == 1 and not handover.is_visible()
    [body] = handed
    assert json.loads(body)["action"] == "set"
    assert replay(server.base_url, body) == 403  # the code was used: single-use

    # a new tab is a new Streamlit session: signed in from the cookie, no click
    second = page.context.new_page()
    second.goto(f"{server.base_url}/?{FROZEN}", timeout=60_000)
    second.locator('[data-testid="stMetric"]').first.wait_for(timeout=90_000)
    assert not second.locator(".st-key-signin_demo_district button").count()
    restored = AuditLog.for_data_dir(tiny_district).read_events(action="sign_in_ok")
    assert [e.result for e in restored][-1] == "session cookie"

    # sign-out drops the cookie in the browser and revokes it on the server
    second.locator('[data-testid="stSidebar"]').get_by_role("button", name="退出登录").click()
    assert on_sign_in_page(second)
    second.wait_for_function(HANDED_OVER.format("clear"), timeout=30_000)
    assert session_cookie(page.context) is None

    # the old value sent again (a copied cookie): refused, the normal sign-in page
    other = new_context(chromium_browser)
    try:
        other.context.add_cookies(
            [{"name": COOKIE, "value": cookie["value"], "url": server.base_url}]
        )
        third = other.context.new_page()
        third.goto(f"{server.base_url}/?{FROZEN}", timeout=60_000)
        assert on_sign_in_page(third)
        third.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', state="attached"
        )
        assert not third.locator('[data-testid="stException"]').count()
        assert on_sign_in_page(third)
    finally:
        other.context.close()
    failed = AuditLog.for_data_dir(tiny_district).read_events(action="sign_in_failed")
    assert [e.result for e in failed][-1] == "session cookie: revoked"
