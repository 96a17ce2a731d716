"""Roles, the signed-in ``User`` and the ``Scope`` a user gets (DESIGN §4, issue #14).

- 区级领导 ``district``: every area;
- 街道 ``street``: its own street codes;
- 社区 ``community``: its own community codes;
- 数据管理员 ``data_admin``: may import; otherwise a district reader;
- 大屏 ``screen``: a wall display — its scope, no exports.

District, data administrator and screen accounts see everything unless areas are given, which
narrows them. The right ``personal_data`` may be added to any role: it unmasks reporter name
and phone (and every such view is audited by the caller).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from data_layer.domain.scope import Scope


class Role(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    DATA_ADMIN = "data_admin"
    SCREEN = "screen"


PERSONAL_DATA = "personal_data"
RIGHTS = frozenset({PERSONAL_DATA})

ROLE_LABELS = {
    Role.DISTRICT: "区级领导",
    Role.STREET: "街道",
    Role.COMMUNITY: "社区",
    Role.DATA_ADMIN: "数据管理员",
    Role.SCREEN: "大屏",
}


class InvalidUser(ValueError):
    """A user record that cannot be signed in with (unknown role, missing areas...)."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    role: Role
    streets: frozenset[str] = field(default_factory=frozenset)
    communities: frozenset[str] = field(default_factory=frozenset)
    rights: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not self.username or self.username != self.username.strip():
            raise InvalidUser(
                f"user name must be non-empty without outer spaces: {self.username!r}"
            )
        try:
            object.__setattr__(self, "role", Role(self.role))
        except ValueError as exc:
            raise InvalidUser(
                f"unknown role {self.role!r}; choose one of {', '.join(Role)}"
            ) from exc
        for name in ("streets", "communities", "rights"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if unknown := self.rights - RIGHTS:
            raise InvalidUser(
                f"unknown right(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(RIGHTS))}"
            )
        if self.role is Role.STREET and not self.streets:
            raise InvalidUser(f"a street account needs its street code(s): {self.username}")
        if self.role is Role.COMMUNITY and not self.communities:
            raise InvalidUser(f"a community account needs its community code(s): {self.username}")

    @property
    def personal_data(self) -> bool:
        return PERSONAL_DATA in self.rights


def scope_for(user: User) -> Scope:
    """What ``user`` may see and do, applied inside the data layer."""
    streets: frozenset[str] | None = user.streets or None
    communities: frozenset[str] | None = user.communities or None
    if user.role is Role.STREET:
        communities = None  # a street account sees every community of its streets
    elif user.role is Role.COMMUNITY:
        streets = None  # its communities already name their street
    return Scope(
        streets=streets,
        communities=communities,
        personal_data=user.personal_data,
        may_import=user.role is Role.DATA_ADMIN,
        may_export=user.role is not Role.SCREEN,
    )
