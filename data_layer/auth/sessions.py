"""The idle timeout: a session with no activity for a while must sign in again."""

from __future__ import annotations

import datetime as dt


def session_expired(last_seen: dt.datetime, now: dt.datetime, *, idle_minutes: float) -> bool:
    """True when more than ``idle_minutes`` passed since ``last_seen``; 0 or less: never."""
    if idle_minutes <= 0:
        return False
    return now - last_seen > dt.timedelta(minutes=idle_minutes)
