"""Roles → Scope, the User's checks, Scope's area helpers and the idle timeout."""

from __future__ import annotations

import datetime as dt

import pytest

from data_layer.auth.roles import PERSONAL_DATA, InvalidUser, Role, User, scope_for
from data_layer.auth.sessions import session_expired
from data_layer.domain.scope import Scope

S1, S2 = "360102001", "360102002"
C1, C4 = S1 + "001", S2 + "001"


def user(role, **kw) -> User:
    return User(username="u", display_name="U", role=role, **kw)


@pytest.mark.parametrize("role", [Role.DISTRICT, Role.DATA_ADMIN, Role.SCREEN])
def test_district_like_roles_see_everything_unless_areas_are_given(role):
    scope = scope_for(user(role))
    assert (scope.streets, scope.communities) == (None, None)
    assert scope.allowed_streets(()) is None and scope.allowed_communities(()) is None
    narrowed = scope_for(user(role, streets={S2}))
    assert narrowed.streets == frozenset({S2}) and narrowed.communities is None


def test_street_sees_its_streets_and_every_community_in_them():
    scope = scope_for(user("street", streets={S1}, communities={C4}))
    assert scope.streets == frozenset({S1}) and scope.communities is None
    assert scope.allowed_streets(()) == (S1,)
    assert scope.allowed_streets((S1, S2)) == (S1,)  # a link with another street's code
    assert scope.allowed_streets((S2,)) == ()


def test_community_sees_its_communities():
    scope = scope_for(user("community", communities={C1}, streets={S2}))
    assert scope.communities == frozenset({C1}) and scope.streets is None
    assert scope.allowed_communities(()) == (C1,)
    assert scope.allowed_communities((C4,)) == ()


def test_import_export_and_personal_data_follow_role_and_right():
    flags = {r: (scope_for(user(r, streets={S1}, communities={C1}))) for r in Role}
    assert {r for r, s in flags.items() if s.may_import} == {Role.DATA_ADMIN}
    assert {r for r, s in flags.items() if not s.may_export} == {Role.SCREEN}
    assert not any(s.personal_data for s in flags.values())
    assert scope_for(user("street", streets={S1}, rights={PERSONAL_DATA})).personal_data


def test_scopes_are_hashable_cache_keys_that_differ_per_user():
    a = scope_for(user("street", streets={S1}))
    b = scope_for(user("street", streets={S2}))
    assert len({a, b, scope_for(user("street", streets={S1}))}) == 2
    assert Scope.everything() == Scope() and not Scope.everything().may_import


@pytest.mark.parametrize(
    "kw",
    [
        {"role": "mayor"},
        {"role": "street"},  # no street
        {"role": "community", "streets": {S1}},  # no community
        {"role": "district", "rights": {"everything"}},
        {"role": "district", "username": " padded"},
    ],
)
def test_invalid_users_are_refused(kw):
    kw = {"username": "u", "display_name": "U", **kw}
    with pytest.raises(InvalidUser):
        User(**kw)


def test_idle_timeout():
    seen = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    assert not session_expired(seen, seen + dt.timedelta(minutes=30), idle_minutes=30)
    assert session_expired(seen, seen + dt.timedelta(minutes=30, seconds=1), idle_minutes=30)
    assert not session_expired(seen, seen + dt.timedelta(days=9), idle_minutes=0)


def test_idle_setting_from_the_environment(monkeypatch):
    from data_layer import settings

    assert settings.idle_minutes() == settings.DEFAULT_IDLE_MINUTES
    monkeypatch.setenv("GRIDPULSE_IDLE_MINUTES", "5")
    assert settings.idle_minutes() == 5
    monkeypatch.setenv("GRIDPULSE_IDLE_MINUTES", "soon")
    assert settings.idle_minutes() == settings.DEFAULT_IDLE_MINUTES
