"""A ``User`` from the claims of an OIDC sign-in (Streamlit's ``st.user`` as a dict).

Role and areas come from the claims named by ``settings.claim_names()`` (``gridpulse_role``,
``gridpulse_streets``, ``gridpulse_communities``, ``gridpulse_rights`` by default) when the
identity provider sends a role; otherwise from the local user table, keyed by the identity:
the e-mail address (unless the provider says it is not verified), then ``sub``. An identity
that is in neither gets no access. Pure: no I/O; the caller passes the table.
"""

from __future__ import annotations

from collections.abc import Mapping

from data_layer import settings
from data_layer.auth.errors import NoAccess
from data_layer.auth.roles import InvalidUser, User


def user_from_claims(
    claims: Mapping[str, object],
    *,
    users: Mapping[str, User],
    names: Mapping[str, str] | None = None,
) -> User:
    """The signed-in user for ``claims``.

    Raises
    ------
    NoAccess
        Not signed in, no identity, an identity GridPulse does not know, or a role claim it
        cannot use.
    """
    names = names or settings.claim_names()
    if claims.get("is_logged_in") is False:
        raise NoAccess("not signed in")
    identities = _identities(claims)
    if not identities:
        raise NoAccess("the identity provider sent neither e-mail nor sub")
    if claims.get(names["role"]) is not None:
        try:
            return User(
                username=identities[0],
                display_name=str(claims.get("name") or identities[0]),
                role=str(claims[names["role"]]),
                streets=_codes(claims.get(names["streets"])),
                communities=_codes(claims.get(names["communities"])),
                rights=_codes(claims.get(names["rights"])),
            )
        except InvalidUser as exc:
            raise NoAccess(str(exc)) from exc
    for identity in identities:
        if identity in users:
            return users[identity]
    raise NoAccess(f"{identities[0]} has no GridPulse account; ask the data administrator")


def _identities(claims: Mapping[str, object]) -> list[str]:
    found = []
    email = claims.get("email")
    # An unverified address could be anybody's: never key an account on it.
    if isinstance(email, str) and email.strip() and claims.get("email_verified") is not False:
        found.append(email.strip())
    sub = claims.get("sub")
    if isinstance(sub, str) and sub.strip():
        found.append(sub.strip())
    return found


def _codes(value: object) -> frozenset[str]:
    """Codes from a claim: a list, or one string separated by commas or spaces."""
    if value is None:
        return frozenset()
    if isinstance(value, str):
        parts = value.replace(",", " ").split()
    elif isinstance(value, list | tuple):
        parts = [str(v).strip() for v in value]
    else:
        raise NoAccess(
            f"an area or right claim must be a list or a string, not {type(value).__name__}"
        )
    return frozenset(p for p in parts if p)
