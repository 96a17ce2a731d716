"""The session cookie's route (``/_gp/session``, ui/web_session.py) as serve.py mounts it,
called through ASGI: a code is swapped for the cookie once, an expired or unknown code is
refused, the cookie's flags, the clearing, and the requests it refuses (another origin, not
JSON, too big, cookie off)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.applications import Starlette

from data_layer.auth import tokens
from ui import web_session

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s" * 40
HOST = "gridpulse.example:8080"


@pytest.fixture
def codes(monkeypatch):
    """A code book of its own with a clock the test moves."""
    clock = [1000.0]
    book = tokens.CodeBook(ttl_s=60, clock=lambda: clock[0])
    monkeypatch.setattr(tokens, "CODES", book)
    monkeypatch.setenv("GRIDPULSE_SESSION_SECRET", SECRET)
    monkeypatch.delenv("GRIDPULSE_SECURE_COOKIE", raising=False)
    monkeypatch.setenv("GRIDPULSE_SESSION_HOURS", "2")
    return book, clock


def call(body: bytes | dict, *, headers: dict[str, str] | None = None, method: str = "POST"):
    """One request to the route: (status, [(header, value)...])."""
    app = Starlette(routes=web_session.routes())
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"content-type": "application/json", "host": HOST, "origin": f"https://{HOST}"}
    sent.update(headers or {})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": web_session.route_path(),
        "raw_path": web_session.route_path().encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in sent.items() if v is not None],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    messages = [{"type": "http.request", "body": raw, "more_body": False}]
    out: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        out.append(message)

    # in a thread of its own: the browser tests' Playwright keeps an event loop running in
    # this one for the whole session, and asyncio.run refuses to start beside it
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in out if m["type"] == "http.response.start")
    return start["status"], [(k.decode(), v.decode()) for k, v in start["headers"]]


def set_cookie(headers) -> str:
    values = [v for k, v in headers if k == "set-cookie"]
    assert len(values) == 1, headers
    return values[0]


def test_the_route_is_at_gp_session():
    assert web_session.route_path() == "/_gp/session"


def test_a_code_is_swapped_for_an_httponly_strict_cookie_once(codes):
    book, _ = codes
    code = book.issue("v1.payload.mac")
    status, headers = call({"action": "set", "code": code})
    assert status == 204
    cookie = set_cookie(headers)
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == "gridpulse_session=v1.payload.mac"
    lowered = {p.lower() for p in parts[1:]}
    assert {"httponly", "samesite=strict", "path=/", "max-age=7200"} <= lowered
    assert "secure" not in lowered
    assert ("cache-control", "no-store") in headers
    status, headers = call({"action": "set", "code": code})  # the same code again
    assert status == 403
    assert not [v for k, v in headers if k == "set-cookie"]


def test_an_expired_or_unknown_code_is_refused(codes):
    book, clock = codes
    code = book.issue("v1.payload.mac")
    clock[0] += 61
    assert call({"action": "set", "code": code})[0] == 403
    assert call({"action": "set", "code": "guessed"})[0] == 403
    assert call({"action": "set"})[0] == 403


def test_the_cookie_is_secure_when_configured(codes, monkeypatch):
    book, _ = codes
    monkeypatch.setenv("GRIDPULSE_SECURE_COOKIE", "true")
    status, headers = call({"action": "set", "code": book.issue("t")})
    assert status == 204
    assert "secure" in {p.strip().lower() for p in set_cookie(headers).split(";")}


def test_clear_expires_the_cookie(codes):
    status, headers = call({"action": "clear"})
    assert status == 204
    cookie = set_cookie(headers)
    lowered = {p.strip().lower() for p in cookie.split(";")}
    assert cookie.startswith('gridpulse_session=""') or cookie.startswith("gridpulse_session=;")
    assert "max-age=0" in lowered and "httponly" in lowered and "path=/" in lowered


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"origin": "https://evil.example"}, None, 403),  # another site's page
        ({"origin": None, "sec-fetch-site": "cross-site"}, None, 403),
        ({"content-type": "text/plain"}, None, 415),  # what a cross-site form can send
        ({"content-type": "application/x-www-form-urlencoded"}, None, 415),
        ({}, b"{not json", 400),
        ({}, b'["set"]', 400),
        ({}, {"action": "grant"}, 400),
        ({}, json.dumps({"action": "set", "code": "x" * 2000}).encode(), 413),
    ],
)
def test_requests_that_are_not_the_page_s_own_are_refused(codes, headers, body, status):
    book, _ = codes
    code = book.issue("t")
    answer, sent = call(
        body if body is not None else {"action": "set", "code": code}, headers=headers
    )
    assert answer == status
    assert not [v for k, v in sent if k == "set-cookie"]
    if body is None:  # the refused request did not use the code up
        assert call({"action": "set", "code": code})[0] == 204


def test_get_is_not_served(codes):
    assert call(b"", method="GET")[0] == 405


def test_without_the_secret_there_is_no_cookie(codes, monkeypatch):
    book, _ = codes
    code = book.issue("t")
    monkeypatch.delenv("GRIDPULSE_SESSION_SECRET")
    assert call({"action": "set", "code": code})[0] == 404


def _import_serve(secret: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRIDPULSE_SESSION_SECRET"}
    if secret is not None:
        env["GRIDPULSE_SESSION_SECRET"] = secret
    code = "import serve; print([r.path for r in serve.app._user_routes])"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_serve_py_refuses_to_start_with_a_short_secret_and_mounts_the_route_otherwise():
    short = _import_serve("too-short")
    assert short.returncode != 0
    assert "GRIDPULSE_SESSION_SECRET must have at least 32 characters" in short.stderr
    good = _import_serve(SECRET)
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip() == "['/_gp/session']"
    off = _import_serve(None)  # no secret: it starts, says so, and the route answers 404
    assert off.returncode == 0, off.stderr
    assert "GRIDPULSE_SESSION_SECRET is not set" in off.stderr
