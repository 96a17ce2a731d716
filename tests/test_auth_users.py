"""Password hashes, the local user store and throttled sign-in (times injected)."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
from argon2 import PasswordHasher

from data_layer.auth import passwords
from data_layer.auth.errors import AccountLocked, AuthError, InvalidCredentials
from data_layer.auth.roles import Role, User
from data_layer.auth.users import UserStore, UserStoreError

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
PW = "correct horse"


@pytest.fixture
def store(tmp_path) -> UserStore:
    s = UserStore(tmp_path / "data")
    s.add(
        User(username="wang", display_name="王", role="street", streets={"360102001"}), password=PW
    )
    return s


def test_hash_round_trip_is_argon2id_and_salted():
    a, b = passwords.hash_password(PW), passwords.hash_password(PW)
    assert a.startswith("$argon2id$") and a != b
    assert passwords.verify_password(a, PW)
    assert not passwords.verify_password(a, PW + "!")
    assert not passwords.verify_password("not a hash", PW)


def test_weaker_hash_is_upgraded_on_sign_in(store):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PW)
    assert passwords.needs_rehash(weak)
    data = json.loads(store.path.read_text())
    data["users"]["wang"]["password_hash"] = weak
    store.path.write_text(json.dumps(data))
    store.authenticate("wang", PW, now=T0)
    upgraded = store.accounts()["wang"].password_hash
    assert upgraded != weak and not passwords.needs_rehash(upgraded)


def test_store_lives_outside_the_tables_and_is_private(store, tmp_path):
    assert store.path == tmp_path / "data" / "_auth" / "users.json"
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert PW not in store.path.read_text()
    assert not list(store.folder.glob(".users.json.tmp-*"))


def test_sign_in_returns_the_user(store):
    user = store.authenticate("wang", PW, now=T0)
    assert user.role is Role.STREET and user.streets == {"360102001"}


def test_unknown_user_and_wrong_password_read_the_same(store):
    with pytest.raises(InvalidCredentials) as unknown:
        store.authenticate("li", PW, now=T0)
    with pytest.raises(InvalidCredentials) as wrong:
        store.authenticate("wang", "wrong password", now=T0)
    assert str(unknown.value) == str(wrong.value)
    assert type(unknown.value) is type(wrong.value)


def test_locked_after_n_failures_then_unlocked_after_m_minutes(store, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("GRIDPULSE_LOGIN_LOCK_MINUTES", "15")
    for i in range(2):
        with pytest.raises(InvalidCredentials):
            store.authenticate("wang", "wrong password", now=T0 + dt.timedelta(seconds=i))
    with pytest.raises(AccountLocked) as locked:
        store.authenticate("wang", "wrong password", now=T0 + dt.timedelta(seconds=2))
    until = T0 + dt.timedelta(seconds=2, minutes=15)
    assert locked.value.until == until
    assert "16:15" in str(locked.value)  # until when, in the district's time (UTC+8)
    # Locked: even the right password is refused until the lock ends.
    with pytest.raises(AccountLocked):
        store.authenticate("wang", PW, now=until - dt.timedelta(seconds=1))
    assert store.authenticate("wang", PW, now=until).username == "wang"


def test_success_resets_the_failure_count(store, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_LOGIN_MAX_FAILURES", "3")
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            store.authenticate("wang", "wrong password", now=T0)
    store.authenticate("wang", PW, now=T0)
    assert store.accounts()["wang"].failures == 0
    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            store.authenticate("wang", "wrong password", now=T0)


def test_default_is_five_failures_and_fifteen_minutes(store):
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            store.authenticate("wang", "wrong password", now=T0)
    with pytest.raises(AccountLocked) as locked:
        store.authenticate("wang", "wrong password", now=T0)
    assert locked.value.until == T0 + dt.timedelta(minutes=15)


def test_new_password_lifts_the_lock(store, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_LOGIN_MAX_FAILURES", "1")
    with pytest.raises(AccountLocked):
        store.authenticate("wang", "wrong password", now=T0)
    store.set_password("wang", "another password")
    assert store.authenticate("wang", "another password", now=T0).username == "wang"
    with pytest.raises(AuthError):  # the old password is gone (and one failure locks again)
        store.authenticate("wang", PW, now=T0 + dt.timedelta(hours=1))


def test_oidc_only_account_cannot_sign_in_with_a_password(store):
    store.add(User(username="a@x.cn", display_name="A", role="district"), password=None)
    with pytest.raises(InvalidCredentials):
        store.authenticate("a@x.cn", "", now=T0)


def test_naive_time_is_refused(store):
    with pytest.raises(ValueError):
        store.authenticate("wang", PW, now=dt.datetime(2026, 3, 2, 8, 0))


def test_add_remove_grant(store):
    with pytest.raises(UserStoreError):
        store.add(User(username="wang", display_name="x", role="district"), password=PW)
    with pytest.raises(passwords.WeakPassword):
        store.add(User(username="zhao", display_name="x", role="district"), password="short")
    user = store.grant(
        "wang", role="community", communities={"360102001001"}, rights={"personal_data"}
    )
    assert store.users()["wang"] == user and user.personal_data
    assert user.streets == {"360102001"}  # what is not given stays
    with pytest.raises(ValueError):
        store.grant("wang", role="street", streets=())
    assert store.users()["wang"] == user  # a refused change leaves the file as it was
    store.remove("wang")
    assert store.users() == {}
    with pytest.raises(UserStoreError):
        store.remove("wang")
