"""Sign-in, roles and their scope, without Streamlit.

- ``roles``: the roles, the ``User`` and ``scope_for(user)``;
- ``passwords``: argon2id hashes; ``users``: the local user store, throttling and lock-out;
- ``oidc``: a user from an identity provider's claims; ``demo``: the demo accounts;
- ``sessions``: the idle timeout.

The settings below are read from ``GRIDPULSE_*`` environment variables when asked for (not
at import). They belong in ``data_layer/settings.py``, which is being created by another
change; they move there once it exists.
"""

from __future__ import annotations

import os

DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCK_MINUTES = 15.0
DEFAULT_IDLE_MINUTES = 30.0
DEFAULT_CLAIMS = {
    "role": "gridpulse_role",
    "streets": "gridpulse_streets",
    "communities": "gridpulse_communities",
    "rights": "gridpulse_rights",
}


def max_failures() -> int:
    """Failed sign-ins in a row before an account is locked: ``$GRIDPULSE_LOGIN_MAX_FAILURES``."""
    return max(1, int(_number("GRIDPULSE_LOGIN_MAX_FAILURES", DEFAULT_MAX_FAILURES)))


def lock_minutes() -> float:
    """How long a locked account stays locked: ``$GRIDPULSE_LOGIN_LOCK_MINUTES``."""
    return max(0.0, _number("GRIDPULSE_LOGIN_LOCK_MINUTES", DEFAULT_LOCK_MINUTES))


def idle_minutes() -> float:
    """Minutes without activity before a session ends: ``$GRIDPULSE_IDLE_MINUTES`` (0: never)."""
    return max(0.0, _number("GRIDPULSE_IDLE_MINUTES", DEFAULT_IDLE_MINUTES))


def claim_names() -> dict[str, str]:
    """OIDC claim names for role, streets, communities and rights:
    ``$GRIDPULSE_OIDC_ROLE_CLAIM``, ``..._STREETS_CLAIM``, ``..._COMMUNITIES_CLAIM``,
    ``..._RIGHTS_CLAIM``."""
    return {
        key: os.environ.get(f"GRIDPULSE_OIDC_{key.upper()}_CLAIM") or default
        for key, default in DEFAULT_CLAIMS.items()
    }


def _number(name: str, default: float) -> float:
    # A setting that is not a number falls back to the default rather than stopping the app.
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default
