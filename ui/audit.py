"""The audit log from the app: events of the signed-in user, and the table the audit page shows.

Events go to the audit log of the app's source (``data_layer.storage.audit.for_source``): the
data directory's file, or with the live source the database's append-only table
``gridpulse.audit_events``, which every replica shares. They carry user
names, roles, codes, file names and filters — never reporter names or phones.

Two ways to fail: an event about a session (sign-in, sign-out) that cannot be written is
logged on the server and the session goes on (a full disk must not lock everybody out);
data leaving the app (a download, a briefing file) is refused when its event cannot be
written, so nothing leaves unrecorded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pandas as pd
import streamlit as st

from data_layer import settings
from data_layer.auth.roles import User
from data_layer.domain.filters import Filter
from data_layer.domain.privacy import PERSONAL_COLUMNS
from data_layer.storage import audit as audit_store
from data_layer.storage.audit import ACTIONS, AuditLog, Event
from data_layer.storage.pg_audit import PgAuditLog
from data_layer.storage.source import DataError
from ui import state
from ui.i18n import t

log = logging.getLogger("gridpulse.audit")
MAX_ROWS = 5_000  # newest events the audit page shows
_VIEWED = "_audit_unmasked_views"  # session: unmasked views already recorded


def audit_log() -> AuditLog | PgAuditLog:
    return audit_store.for_source(settings.data_dir(), settings.database_url())


def record(
    action: str,
    *,
    user: User | str | None = None,
    target: str | None = None,
    flt: Filter | None = None,
    result: str = "ok",
) -> bool:
    """Write one event for ``user`` (default: the signed-in user; a plain user name for a
    sign-in that failed); False when it could not be written."""
    who = user or state.user()
    try:
        audit_log().record(
            user=who if isinstance(who, str) else who.username if who else "-",
            role=str(who.role) if isinstance(who, User) else None,
            action=action,
            target=target,
            filter=flt,
            result=result,
        )
    except (OSError, DataError):
        log.exception("audit event %s could not be written", action)
        return False
    return True


def recorded(
    data: bytes | Callable[[], bytes], *, action: str, target: str, flt: Filter | None
) -> Callable[[], bytes]:
    """A download button's deferred ``data``: records the event, then returns the bytes.

    The callable runs when the button is pressed, outside the script run, so the user and
    the audit log are taken now. If the event cannot be written it raises, and the
    download fails rather than leave unrecorded.
    """
    who = state.user()
    sink = audit_log()
    personal = "personal data unmasked" if state.scope().personal_data else "masked"

    def make() -> bytes:
        sink.record(
            user=who.username if who else "-",
            role=str(who.role) if who else None,
            action=action,
            target=target,
            filter=flt,
            result=personal,
        )
        return data() if callable(data) else data

    return make


def unmasked_view(columns: list[str], *, view: str, flt: Filter | None) -> None:
    """Record that the user sees reporter names or phones in ``view`` — once per view and
    filter in a session (a table redrawn by a click is the same view)."""
    if not state.scope().personal_data or not set(columns) & set(PERSONAL_COLUMNS):
        return
    seen = st.session_state.setdefault(_VIEWED, set())
    key = (view, flt)
    if key in seen:
        return
    if record("unmasked_view", target=view, flt=flt):
        seen.add(key)


# -- the audit page ----------------------------------------------------------------------


def actions() -> list[str]:
    return sorted(ACTIONS)


def users_seen() -> list[str]:
    """User names in the log, for the page's user filter."""
    return sorted({event.user for event in audit_log().read_events()})


def events_table(
    *, user: str | None, actions: list[str], start: dt.date, end: dt.date
) -> tuple[pd.DataFrame, bool]:
    """Events of ``start``..``end`` (whole days, district time), newest first, as the page
    shows them; and whether more than ``MAX_ROWS`` matched (only the newest are shown)."""
    since = dt.datetime.combine(start, dt.time.min, settings.TIMEZONE)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, settings.TIMEZONE)
    events = [
        event
        for event in audit_log().read_events(user=user or None, since=since, until=until)
        if not actions or event.action in actions
    ]
    more = len(events) > MAX_ROWS
    rows = [_row(event) for event in reversed(events[-MAX_ROWS:])]
    columns = ["ts", "user", "role", "action", "target", "filter", "result"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.rename(columns={c: t(f"audit.col.{c}") for c in columns}), more


def _row(event: Event) -> dict:
    return {
        "ts": event.ts.astimezone(settings.TIMEZONE).strftime("%Y-%m-%d %H:%M:%S"),
        "user": event.user,
        "role": event.role or "",
        "action": t(f"audit.action.{event.action}"),
        "target": event.target or "",
        "filter": _filter_text(event.filter),
        "result": event.result,
    }


def _filter_text(params: dict | None) -> str:
    if not params:
        return ""
    return "&".join(
        f"{key}={','.join(value) if isinstance(value, list) else value}"
        for key, value in params.items()
    )
