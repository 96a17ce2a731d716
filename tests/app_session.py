"""AppTest sessions with a signed-in user — the one way tests get past the sign-in gate.

``sign_in(at, data_dir, ...)`` stores the account in the data directory's user store (no
password: nothing to hash, and the gate re-reads the account on every run, as in
production) and puts the user into the AppTest's session state, as a sign-in would. No
switch in production code lets a session in without signing in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from data_layer.auth.roles import User
from data_layer.auth.users import UserStore
from ui.state import SessionKey


def account(
    data_dir: Path | str,
    *,
    role: str = "district",
    username: str | None = None,
    streets: Iterable[str] = (),
    communities: Iterable[str] = (),
    rights: Iterable[str] = (),
) -> User:
    """The stored account ``username`` (default: the role's name), added if missing."""
    user = User(
        username=username or role,
        display_name=f"test {role}",
        role=role,
        streets=frozenset(streets),
        communities=frozenset(communities),
        rights=frozenset(rights),
    )
    store = UserStore(data_dir)
    if store.users().get(user.username) != user:
        if user.username in store.users():
            store.remove(user.username)
        store.add(user, password=None)
    return user


def sign_in(at: AppTest, data_dir: Path | str, **kwargs) -> User:
    """Sign ``at``'s session in as a (stored) account; ``kwargs`` as for ``account``."""
    user = account(data_dir, **kwargs)
    at.session_state[SessionKey.USER] = user
    return user
