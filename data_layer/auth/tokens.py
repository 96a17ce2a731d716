"""The session cookie's token and the single-use codes that hand it to the browser.

A token is ``v1.<payload>.<mac>``: ``payload`` the URL-safe base64 of the JSON object
``{"u": user name, "iat": issued at (Unix seconds), "sid": session id}``, ``mac`` the URL-safe
base64 of HMAC-SHA256 over ``v1.<payload>`` with ``GRIDPULSE_SESSION_SECRET``
(``settings.session_secret``). It says who signed in, when, and which server-side session
(``auth.web_sessions``) it belongs to; it carries no role or area: those are re-read from
the account on every use. A token is refused when its MAC does not match (tampered, or made
with another secret), when it is malformed, or when it is older than its absolute lifetime.

The browser never sees a token in the page: after a sign-in the page gets a **code** (32
random bytes) that the server exchanges, once and within ``CODE_SECONDS``, for the cookie
(``ui.web_session``). Codes live in this process only (``CODES``): the code is minted by the
replica that signed the user in and redeemed by the same replica (the route cookie keeps the
browser there).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

VERSION = "v1"
CODE_SECONDS = 60.0  # how long a code may wait for the browser's call
MAX_CODES = 10_000  # codes of one process at most (oldest dropped): no unbounded growth
MAX_TOKEN_CHARS = 1024  # a longer cookie value is refused before any decoding
MAX_USERNAME_CHARS = 64


class InvalidToken(ValueError):
    """A token that is refused; ``reason`` says why (for the audit log, never for the screen)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Claims:
    username: str
    issued_at: int  # Unix seconds
    sid: str  # the server-side session (auth.web_sessions)


def new_sid() -> str:
    return secrets.token_hex(16)


def sign(claims: Claims, secret: bytes) -> str:
    """The token of ``claims``, signed with ``secret``."""
    if not secret:
        raise ValueError("a session token needs a secret")
    body = {"u": claims.username, "iat": int(claims.issued_at), "sid": claims.sid}
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    signed = f"{VERSION}.{payload}"
    return f"{signed}.{_b64(_mac(secret, signed))}"


def verify(token: str, secret: bytes, *, now: float, max_age_s: float) -> Claims:
    """The claims of ``token`` when its MAC matches ``secret`` and it is at most ``max_age_s``
    old at ``now`` (Unix seconds); else ``InvalidToken``."""
    if not secret:
        raise InvalidToken("no secret")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise InvalidToken("malformed")
    signed = f"{parts[0]}.{parts[1]}"
    try:
        mac = _unb64(parts[2])
    except ValueError:
        raise InvalidToken("malformed") from None
    if not hmac.compare_digest(mac, _mac(secret, signed)):
        raise InvalidToken("bad signature")
    try:
        body = json.loads(_unb64(parts[1]).decode("utf-8"))
        claims = Claims(username=body["u"], issued_at=body["iat"], sid=body["sid"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidToken("malformed") from None
    if (
        not isinstance(claims.username, str)
        or not 0 < len(claims.username) <= MAX_USERNAME_CHARS
        or not isinstance(claims.issued_at, int)
        or isinstance(claims.issued_at, bool)
        or not isinstance(claims.sid, str)
        or not 0 < len(claims.sid) <= 64
    ):
        raise InvalidToken("malformed")
    if claims.issued_at > now + 60:  # from the future (clocks a minute apart are tolerated)
        raise InvalidToken("issued in the future")
    if now - claims.issued_at > max_age_s:
        raise InvalidToken("expired")
    return claims


def _mac(secret: bytes, signed: str) -> bytes:
    return hmac.new(secret, signed.encode("ascii"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


class CodeBook:
    """Single-use codes for tokens, each valid ``ttl_s`` seconds, in this process's memory."""

    def __init__(self, *, ttl_s: float = CODE_SECONDS, clock=time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._codes: dict[str, tuple[float, str]] = {}  # code → (expires, token)
        self._lock = threading.Lock()

    def issue(self, token: str) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._prune()
            while len(self._codes) >= MAX_CODES:
                del self._codes[next(iter(self._codes))]
            self._codes[code] = (self._clock() + self.ttl_s, token)
        return code

    def redeem(self, code: object) -> str | None:
        """The token of ``code``, once; None for an unknown, used or expired code."""
        if not isinstance(code, str) or not code or len(code) > 100:
            return None
        with self._lock:
            entry = self._codes.pop(code, None)
            self._prune()
        if entry is None or entry[0] < self._clock():
            return None
        return entry[1]

    def _prune(self) -> None:
        now = self._clock()
        for code in [c for c, (expires, _) in self._codes.items() if expires < now]:
            del self._codes[code]


CODES = CodeBook()  # the process's codes: the script run issues, the route redeems
