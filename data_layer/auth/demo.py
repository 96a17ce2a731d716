"""Demo accounts: one per role, only while the data directory holds the generated demo.

``python -m data_layer demo`` marks its directory (``storage.origin``); an import removes the
mark, and with it these accounts. They are not stored anywhere: they follow from the mark,
so no data directory with imported data can have them. Their passwords are public (the
sign-in page and README.md list them), so they are not hashed and not throttled.

The street account sees the first street of the demo district, the community account the
first community of that street.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from data_layer.auth.roles import ROLE_LABELS, Role, User
from data_layer.storage import origin
from data_layer.storage.source import table_path, tables_dir


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role


_LOGINS = (
    DemoLogin("district", "district-demo", Role.DISTRICT),
    DemoLogin("street", "street-demo", Role.STREET),
    DemoLogin("community", "community-demo", Role.COMMUNITY),
    DemoLogin("data_admin", "data-admin-demo", Role.DATA_ADMIN),
    DemoLogin("screen", "screen-demo", Role.SCREEN),
)


def demo_logins() -> tuple[DemoLogin, ...]:
    """User names and passwords of the demo accounts, for the sign-in page and README."""
    return _LOGINS


def demo_users(data_dir: Path | str) -> dict[str, User]:
    """The demo accounts of ``data_dir`` by user name; none unless it holds the demo."""
    if not origin.is_demo(data_dir):
        return {}
    areas = _first_areas(Path(data_dir))
    if areas is None:
        return {}
    street, community = areas
    users = {}
    for login in _LOGINS:
        users[login.username] = User(
            username=login.username,
            display_name=f"演示 · {ROLE_LABELS[login.role]}",
            role=login.role,
            streets=frozenset({street}) if login.role is Role.STREET else frozenset(),
            communities=frozenset({community}) if login.role is Role.COMMUNITY else frozenset(),
        )
    return users


def authenticate(data_dir: Path | str, username: str, password: str) -> User | None:
    """The demo user when ``username`` and ``password`` are a demo login of a demo directory."""
    for login in _LOGINS:
        if login.username == username and hmac.compare_digest(
            login.password.encode(), password.encode()
        ):
            return demo_users(data_dir).get(username)
    return None


def _first_areas(data_dir: Path) -> tuple[str, str] | None:
    """The lowest street code and the lowest community code in it, or None without data."""
    path = table_path(tables_dir(data_dir), "communities")
    try:
        frame = pl.read_parquet(path, columns=["street_code", "community_code"])
    except (OSError, pl.exceptions.PolarsError):
        return None
    if frame.is_empty():
        return None
    row = frame.sort("street_code", "community_code").row(0)
    return row[0], row[1]
