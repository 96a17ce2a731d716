"""The server side of the session cookie: which cookies are still good, shared by every replica.

A local sign-in that hands the browser a session cookie (``auth.tokens``) opens a record
here under the token's session id. A new Streamlit session (a page load, a fail-over
reconnect) restores the user from the cookie only while the record exists, is not revoked and
was seen within the idle timeout (``restorable``). Sign-out and the idle timeout revoke it, so
a copied or left-behind cookie stops working on every replica at once.

Two stores, as for the accounts (``auth.users``):

- ``FileSessionStore``: ``<data_dir>/_auth/sessions.json`` (owner-only), changed under the
  accounts' file lock (``users.LOCK_FILE``) and replaced in one step like ``users.json``;
- ``DbSessionStore``: the live source's ``gridpulse.web_sessions`` table (migration 0004).

``last_seen`` is written at most every ``TOUCH_SECONDS`` per session (``needs_touch``), so
the idle rule is applied to a restored session with up to that much slack.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data_layer import settings
from data_layer.auth import private_file
from data_layer.auth.roles import Role, User
from data_layer.auth.sessions import session_expired
from data_layer.auth.users import AUTH_DIR, LOCK_FILE
from data_layer.storage import pg_sessions

SESSIONS_FILE = "sessions.json"
FORMAT = 1
TOUCH_SECONDS = 60.0
KEEP_AFTER = dt.timedelta(days=1)  # a record is dropped this long after its lifetime ends


@dataclass(frozen=True)
class WebSession:
    sid: str
    username: str
    issued_at: dt.datetime
    last_seen: dt.datetime
    revoked_at: dt.datetime | None = None


class FileSessionStore:
    def __init__(self, data_dir: Path | str) -> None:
        self.folder = Path(data_dir) / AUTH_DIR
        self.path = self.folder / SESSIONS_FILE

    def open(self, sid: str, username: str, now: dt.datetime) -> None:
        with self._editing(now) as records:
            records[sid] = WebSession(sid=sid, username=username, issued_at=now, last_seen=now)

    def get(self, sid: str) -> WebSession | None:
        return self._read().get(sid)

    def touch(self, sid: str, now: dt.datetime) -> None:
        with self._editing(now) as records:
            old = records.get(sid)
            if old is not None and old.revoked_at is None and old.last_seen < now:
                records[sid] = _replace(old, last_seen=now)

    def revoke(self, sid: str, now: dt.datetime) -> None:
        with self._editing(now) as records:
            old = records.get(sid)
            if old is not None and old.revoked_at is None:
                records[sid] = _replace(old, revoked_at=now)

    # the file ------------------------------------------------------------------------------
    def _read(self) -> dict[str, WebSession]:
        data = private_file.read_json(self.path, fmt=FORMAT, error=ValueError)
        if data is None:
            return {}
        return {sid: _from_record(sid, rec) for sid, rec in data["sessions"].items()}

    @contextlib.contextmanager
    def _editing(self, now: dt.datetime) -> Iterator[dict[str, WebSession]]:
        with private_file.locked(self.folder / LOCK_FILE):
            records = self._read()
            before = dict(records)
            yield records
            cutoff = _prune_before(now)
            for sid in [s for s, r in records.items() if r.issued_at < cutoff]:
                del records[sid]
            if records != before:
                self._write(records)

    def _write(self, records: dict[str, WebSession]) -> None:
        data = {"format": FORMAT, "sessions": {s: _record(r) for s, r in sorted(records.items())}}
        private_file.write_json(self.path, data)


class DbSessionStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def open(self, sid: str, username: str, now: dt.datetime) -> None:
        pg_sessions.open_session(self.url, sid, username, now, prune_before=_prune_before(now))

    def get(self, sid: str) -> WebSession | None:
        row = pg_sessions.get(self.url, sid)
        if row is None:
            return None
        username, issued, seen, revoked = row
        return WebSession(
            sid=sid, username=username, issued_at=issued, last_seen=seen, revoked_at=revoked
        )

    def touch(self, sid: str, now: dt.datetime) -> None:
        pg_sessions.touch(self.url, sid, now)

    def revoke(self, sid: str, now: dt.datetime) -> None:
        pg_sessions.revoke(self.url, sid, now)


SessionStore = FileSessionStore | DbSessionStore


def session_store(data_dir: Path | str, database_url: str | None) -> SessionStore:
    """The store of a source: the database's table with the live source, else the folder's."""
    return DbSessionStore(database_url) if database_url else FileSessionStore(data_dir)


def refusal(
    record: WebSession | None, *, user: User | None, username: str, now: dt.datetime
) -> str | None:
    """Why a cookie's session cannot be restored (None: it can). ``user`` is the account as it
    is now (None: removed). The idle rule is ``settings.idle_minutes`` since the last
    recorded activity; a wall display (``screen``) is exempt, as in a live session."""
    if record is None:
        return "unknown session"
    if record.username != username:
        return "session of another user"
    if record.revoked_at is not None:
        return "revoked"
    if user is None:
        return "account removed"
    if user.role is not Role.SCREEN and session_expired(
        record.last_seen, now, idle_minutes=settings.idle_minutes()
    ):
        return "idle"
    return None


def needs_touch(last_touch: dt.datetime | None, now: dt.datetime) -> bool:
    return last_touch is None or (now - last_touch).total_seconds() >= TOUCH_SECONDS


def _prune_before(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(hours=settings.session_hours()) - KEEP_AFTER


def _replace(old: WebSession, **changes) -> WebSession:
    values = {**old.__dict__, **changes}
    return WebSession(**values)


def _record(rec: WebSession) -> dict:
    return {
        "user": rec.username,
        "issued_at": rec.issued_at.isoformat(),
        "last_seen": rec.last_seen.isoformat(),
        "revoked_at": rec.revoked_at.isoformat() if rec.revoked_at else None,
    }


def _from_record(sid: str, rec: dict) -> WebSession:
    revoked = rec.get("revoked_at")
    return WebSession(
        sid=sid,
        username=rec["user"],
        issued_at=dt.datetime.fromisoformat(rec["issued_at"]),
        last_seen=dt.datetime.fromisoformat(rec["last_seen"]),
        revoked_at=dt.datetime.fromisoformat(revoked) if revoked else None,
    )
