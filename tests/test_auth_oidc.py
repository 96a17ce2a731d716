"""OIDC claims → User: mapped claims, the local table as fallback, no access otherwise."""

from __future__ import annotations

import pytest

from data_layer.auth.errors import NoAccess
from data_layer.auth.oidc import user_from_claims
from data_layer.auth.roles import Role, User, scope_for

S1 = "360102001"
TABLE = {
    "li@district.gov.cn": User(
        username="li@district.gov.cn", display_name="李", role="community", communities={S1 + "001"}
    ),
    "sub-42": User(username="sub-42", display_name="赵", role="data_admin"),
}


def claims(**kw):
    return {"is_logged_in": True, "sub": "sub-1", "email": "wang@district.gov.cn", **kw}


def test_role_and_areas_from_claims():
    user = user_from_claims(
        claims(
            name="王",
            gridpulse_role="street",
            gridpulse_streets=[S1],
            gridpulse_rights="personal_data",
        ),
        users=TABLE,
    )
    assert (user.username, user.display_name, user.role) == (
        "wang@district.gov.cn",
        "王",
        Role.STREET,
    )
    assert scope_for(user).streets == {S1} and user.personal_data


def test_claims_given_as_one_string_and_renamed(monkeypatch):
    monkeypatch.setenv("GRIDPULSE_OIDC_ROLE_CLAIM", "groups_role")
    monkeypatch.setenv("GRIDPULSE_OIDC_COMMUNITIES_CLAIM", "areas")
    user = user_from_claims(
        claims(groups_role="community", areas="360102001001, 360102001002"), users={}
    )
    assert user.communities == {"360102001001", "360102001002"}


def test_table_fallback_by_email_then_sub():
    assert (
        user_from_claims(claims(email="li@district.gov.cn"), users=TABLE)
        is TABLE["li@district.gov.cn"]
    )
    assert user_from_claims(claims(sub="sub-42"), users=TABLE).role is Role.DATA_ADMIN


def test_unverified_email_is_not_an_identity():
    with pytest.raises(NoAccess):
        user_from_claims(claims(email="li@district.gov.cn", email_verified=False), users=TABLE)


@pytest.mark.parametrize(
    "given",
    [
        claims(),  # known to nobody
        claims(is_logged_in=False, email="li@district.gov.cn"),
        {"is_logged_in": True},  # no identity at all
        claims(gridpulse_role="mayor"),
        claims(gridpulse_role="street"),  # a street role with no street
        claims(gridpulse_role="street", gridpulse_streets={"not": "a list"}),
    ],
)
def test_no_access(given):
    with pytest.raises(NoAccess):
        user_from_claims(given, users=TABLE)
