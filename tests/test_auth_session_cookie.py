"""The session cookie's token (sign, verify, lifetime, tampering, another secret), its
single-use codes, and the server-side sessions on both stores (open, touch, revoke, the idle
rule, removed accounts)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os

import pytest

from data_layer import settings
from data_layer.auth import tokens
from data_layer.auth.roles import User
from data_layer.auth.tokens import Claims, CodeBook, InvalidToken
from data_layer.auth.web_sessions import DbSessionStore, FileSessionStore, refusal

SECRET = b"k" * 32
OTHER = b"o" * 32
T0 = 1_780_000_000  # Unix seconds
HOUR = 3600.0
CLAIMS = Claims(username="wang", issued_at=T0, sid="a" * 32)
WANG = User(username="wang", display_name="王", role="street", streets={"S1"})
SCREEN = User(username="wall", display_name="大屏", role="screen")


def test_a_token_carries_user_issue_time_and_session_and_verifies_with_its_secret():
    token = tokens.sign(CLAIMS, SECRET)
    version, payload, mac = token.split(".")
    assert version == "v1"
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert body == {"u": "wang", "iat": T0, "sid": "a" * 32}
    assert len(base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))) == 32  # SHA-256
    assert tokens.verify(token, SECRET, now=T0 + 10, max_age_s=HOUR) == CLAIMS


def test_a_token_expires_after_its_absolute_lifetime():
    token = tokens.sign(CLAIMS, SECRET)
    assert tokens.verify(token, SECRET, now=T0 + HOUR, max_age_s=HOUR) == CLAIMS
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, SECRET, now=T0 + HOUR + 1, max_age_s=HOUR)
    with pytest.raises(InvalidToken, match="future"):
        tokens.verify(token, SECRET, now=T0 - 120, max_age_s=HOUR)


def test_another_secret_or_a_changed_byte_is_refused():
    token = tokens.sign(CLAIMS, SECRET)
    with pytest.raises(InvalidToken, match="bad signature"):
        tokens.verify(token, OTHER, now=T0, max_age_s=HOUR)
    # the payload rewritten to another user, the MAC kept
    forged = tokens.sign(Claims("district", T0, "a" * 32), OTHER).split(".")[1]
    parts = token.split(".")
    with pytest.raises(InvalidToken, match="bad signature"):
        tokens.verify(f"v1.{forged}.{parts[2]}", SECRET, now=T0, max_age_s=HOUR)
    last = parts[2][-2]
    flipped = parts[2][:-2] + ("A" if last != "A" else "B") + parts[2][-1]
    with pytest.raises(InvalidToken, match="bad signature"):
        tokens.verify(f"{parts[0]}.{parts[1]}.{flipped}", SECRET, now=T0, max_age_s=HOUR)


@pytest.mark.parametrize(
    "raw", ["", "v1", "v1.a.b.c", "v2.x.y", "v1.%%%.abc", "x" * 5000, "v1..", "v1.e30.AAAA"]
)
def test_malformed_cookies_are_refused_not_raised(raw):
    with pytest.raises(InvalidToken):
        tokens.verify(raw, SECRET, now=T0, max_age_s=HOUR)


def test_a_well_signed_token_with_wrong_field_types_is_refused():
    payload = base64.urlsafe_b64encode(b'{"u":"wang","iat":"soon","sid":"x"}').rstrip(b"=")
    signed = f"v1.{payload.decode()}"
    mac = base64.urlsafe_b64encode(tokens._mac(SECRET, signed)).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="malformed"):
        tokens.verify(f"{signed}.{mac}", SECRET, now=T0, max_age_s=HOUR)


def test_no_secret_signs_nothing_and_verifies_nothing():
    with pytest.raises(ValueError):
        tokens.sign(CLAIMS, b"")
    with pytest.raises(InvalidToken):
        tokens.verify(tokens.sign(CLAIMS, SECRET), b"", now=T0, max_age_s=HOUR)


def test_a_code_is_redeemed_once_and_not_after_it_expired():
    clock = [100.0]
    book = CodeBook(ttl_s=60, clock=lambda: clock[0])
    code = book.issue("token-1")
    assert book.redeem(code) == "token-1"
    assert book.redeem(code) is None  # single use
    late = book.issue("token-2")
    clock[0] += 61
    assert book.redeem(late) is None
    assert book.redeem("not a code") is None and book.redeem(None) is None


def test_the_secret_setting_refuses_a_short_key(monkeypatch):
    monkeypatch.delenv("GRIDPULSE_SESSION_SECRET", raising=False)
    assert settings.session_secret() is None
    monkeypatch.setenv("GRIDPULSE_SESSION_SECRET", "short")
    with pytest.raises(settings.SettingError, match="32"):
        settings.session_secret()
    monkeypatch.setenv("GRIDPULSE_SESSION_SECRET", "s" * 32)
    assert settings.session_secret() == b"s" * 32


# -- the server-side sessions, on both stores --------------------------------------------

NOW = dt.datetime(2026, 6, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["file", "db"])
def store(request, tmp_path):
    if request.param == "file":
        return FileSessionStore(tmp_path)
    return DbSessionStore(request.getfixturevalue("pg_url"))


def test_a_session_is_open_touched_and_revoked_for_every_reader(store, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_IDLE_MINUTES", "30")
    store.open("s1", "wang", NOW)
    record = store.get("s1")
    assert (record.username, record.issued_at, record.last_seen) == ("wang", NOW, NOW)
    assert refusal(record, user=WANG, username="wang", now=NOW + dt.timedelta(minutes=30)) is None
    late = NOW + dt.timedelta(minutes=31)
    assert refusal(record, user=WANG, username="wang", now=late) == "idle"
    assert refusal(record, user=SCREEN, username="wall", now=late) == "session of another user"
    store.touch("s1", NOW + dt.timedelta(minutes=20))
    record = store.get("s1")
    assert record.last_seen == NOW + dt.timedelta(minutes=20)
    assert refusal(record, user=WANG, username="wang", now=late) is None  # seen 11 min ago
    assert refusal(record, user=None, username="wang", now=late) == "account removed"
    store.revoke("s1", late)
    record = store.get("s1")
    assert record.revoked_at == late
    assert refusal(record, user=WANG, username="wang", now=late) == "revoked"
    store.touch("s1", late + dt.timedelta(minutes=1))  # a revoked session stays revoked
    assert store.get("s1").last_seen == NOW + dt.timedelta(minutes=20)
    assert store.get("unknown") is None
    assert refusal(None, user=WANG, username="wang", now=NOW) == "unknown session"


def test_a_wall_display_is_exempt_from_the_idle_rule(store, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_IDLE_MINUTES", "30")
    store.open("s2", "wall", NOW)
    later = NOW + dt.timedelta(hours=5)
    assert refusal(store.get("s2"), user=SCREEN, username="wall", now=later) is None


def test_old_sessions_are_pruned_when_a_new_one_opens(store, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_SESSION_HOURS", "1")
    store.open("old", "wang", NOW)
    store.open("new", "wang", NOW + dt.timedelta(hours=25, minutes=1))  # past 1 h + a day
    assert store.get("old") is None and store.get("new") is not None


def test_the_file_store_is_owner_only_beside_the_accounts(tmp_path):
    FileSessionStore(tmp_path).open("s1", "wang", NOW)
    path = tmp_path / "_auth" / "sessions.json"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert (tmp_path / "_auth" / ".users.lock").exists()  # the accounts' lock
