"""The session cookie: a local sign-in that survives a replica fail-over (issue #16).

Streamlit keeps a session in one replica's memory; a viewer moved to another replica by a
fail-over or a rolling restart arrives with an empty session. With the cookie on
(``GRIDPULSE_SESSION_SECRET`` set, the same on every replica) a local sign-in goes:

1. the sign-in succeeds in the script run: a server-side session is opened
   (``auth.web_sessions``), a token is signed for it (``auth.tokens``), and the page gets a
   single-use code for that token (never the token);
2. ``assets/js/session_cookie.js`` (an ``st.components.v2`` component, ``hand_over``)
   POSTs the code to ``/_gp/session`` (``session_endpoint``, added to Streamlit's server by
   ``serve.py``); the server answers ``Set-Cookie: gridpulse_session=<token>; HttpOnly;
   SameSite=Strict; Path=/`` (``Secure`` with ``GRIDPULSE_SECURE_COOKIE``);
3. a new Streamlit session reads the cookie (``st.context.cookies``: the browser sends it
   with the websocket's handshake) and ``ui.signin`` restores the user from it;
4. sign-out and the idle timeout revoke the server-side session (every replica refuses the
   cookie at once) and ask the browser to call the route again, which expires the cookie.

Without the secret nothing of this runs: no code, no cookie, the route answers 404.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from data_layer import settings
from data_layer.auth import tokens
from data_layer.auth.roles import User
from data_layer.auth.web_sessions import needs_touch, session_store
from data_layer.settings import SESSION_COOKIE

log = logging.getLogger("gridpulse.session")

ROUTE = "_gp/session"
SCRIPT = settings.ASSETS_DIR / "js" / "session_cookie.js"
MAX_BODY = 1024  # bytes of a request to the route
SID = "_web_session_sid"  # the session id of this Streamlit session's cookie
TRIED = "_web_session_tried"  # the cookie of this Streamlit session was looked at already
_HANDOVER = "_web_session_handover"  # {"action", "code"?, "until"}: for the component
_TOUCHED = "_web_session_touched"  # when last_seen was last written
KEPT = (TRIED, _HANDOVER)  # what a sign-out leaves in the session (ui.signin._forget)


def route_path() -> str:
    """The route's path; under ``server.baseUrlPath`` when one is set."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, ROUTE) if part)


def check_settings() -> bool:
    """At server start: whether the cookie is on. A secret that is set but too short stops
    the start (``settings.SettingError``); no secret is logged: the feature is off."""
    if settings.session_secret() is None:
        log.warning(
            "GRIDPULSE_SESSION_SECRET is not set: no session cookie, a fail-over or restart "
            "asks local accounts for their password again (docs/deploy.md)"
        )
        return False
    return True


def routes() -> list[Route]:
    return [Route(route_path(), session_endpoint, methods=["POST"])]


# -- the route ---------------------------------------------------------------------------


async def session_endpoint(request: Request) -> Response:
    """``POST {"action": "set", "code": …}``: the cookie for a single-use code (403 for an
    unknown, used or expired code); ``POST {"action": "clear"}``: the cookie expired.

    Only a same-origin JSON request is served: a cross-site form cannot send
    ``application/json``, a cross-site ``fetch`` with it needs a CORS preflight that this
    route never answers, and a request whose ``Origin`` is another host is refused.
    """
    if not _same_origin(request):
        return _answer(403)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return _answer(415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return _answer(413)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400)
    action = data.get("action") if isinstance(data, dict) else None
    if action == "clear":
        response = _answer(204)
        response.delete_cookie(
            SESSION_COOKIE,
            path="/",
            secure=settings.secure_cookie(),
            httponly=True,
            samesite="strict",
        )
        return response
    if action != "set":
        return _answer(400)
    try:
        secret = settings.session_secret()
    except settings.SettingError:
        secret = None
    if secret is None:
        return _answer(404)
    token = tokens.CODES.redeem(data.get("code"))
    if token is None:
        return _answer(403)
    response = _answer(204)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_hours() * 3600),
        path="/",
        secure=settings.secure_cookie(),
        httponly=True,
        samesite="strict",
    )
    return response


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:  # not sent by every browser on a same-origin request
        return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _answer(status: int) -> Response:
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


# -- the script side ---------------------------------------------------------------------


def enabled() -> bool:
    try:
        return settings.session_secret() is not None
    except settings.SettingError:  # serve.py refuses to start with it; AppTest may not
        return False


def read_cookie() -> str | None:
    """The session cookie this Streamlit session's browser sent, if any."""
    return st.context.cookies.get(SESSION_COOKIE) or None


def store():
    return session_store(settings.data_dir(), settings.database_url())


def issue(user: User, now: dt.datetime) -> None:
    """After a local sign-in: open the server-side session and hand the browser its code.
    Raises what the store raises (the caller keeps the sign-in, without a cookie)."""
    secret = settings.session_secret()
    if secret is None:
        return
    sid = tokens.new_sid()
    store().open(sid, user.username, now)
    token = tokens.sign(
        tokens.Claims(username=user.username, issued_at=int(now.timestamp()), sid=sid), secret
    )
    st.session_state[SID] = sid
    st.session_state[_TOUCHED] = now
    _hand_over_later({"action": "set", "code": tokens.CODES.issue(token)})


def adopt(sid: str, now: dt.datetime) -> None:
    """This Streamlit session continues the cookie's server-side session ``sid``."""
    st.session_state[SID] = sid
    _touched(sid, now)


def touch(now: dt.datetime) -> None:
    """Record activity of this session's cookie (at most once a minute)."""
    sid = st.session_state.get(SID)
    if sid is None or not needs_touch(st.session_state.get(_TOUCHED), now):
        return
    _touched(sid, now)


def _touched(sid: str, now: dt.datetime) -> None:
    st.session_state[_TOUCHED] = now
    try:
        store().touch(sid, now)
    except Exception as exc:  # noqa: BLE001 - activity bookkeeping must never stop a page
        log.warning("session %s not touched: %s", sid[:8], exc)


def revoke(now: dt.datetime) -> None:
    """Sign-out or the end of the session: the cookie is refused on every replica from now
    on, and the browser is asked to drop it."""
    sid = st.session_state.pop(SID, None)
    if sid is not None:
        try:
            store().revoke(sid, now)
        except Exception:  # noqa: BLE001 - the sign-out goes on; the cookie's lifetime ends it
            log.exception("session %s could not be revoked", sid[:8])
    clear_cookie()


def clear_cookie() -> None:
    if read_cookie() is not None or st.session_state.get(_HANDOVER, {}).get("action") == "set":
        _hand_over_later({"action": "clear"})


def _hand_over_later(what: dict) -> None:
    # mounted on every run until the code expires (a rerun right after the sign-in must not
    # unmount it before the browser ran it); the script runs each hand-over once
    st.session_state[_HANDOVER] = {**what, "until": time.monotonic() + tokens.CODE_SECONDS}


def hand_over() -> None:
    """Mount the component that calls the route, while a hand-over is pending."""
    pending = st.session_state.get(_HANDOVER)
    if pending is None:
        return
    if time.monotonic() > pending["until"]:
        del st.session_state[_HANDOVER]
        return
    data = {"action": pending["action"], "url": route_path()}
    if "code" in pending:
        data["code"] = pending["code"]
    _component()(data=data, key="gridpulse_session")


@cache
def _component():
    return st.components.v2.component("gridpulse_session", js=_script())


@cache
def _script() -> str:
    return Path(SCRIPT).read_text(encoding="utf-8")
