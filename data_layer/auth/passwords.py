"""Password hashes: argon2id through argon2-cffi's ``PasswordHasher`` (its RFC 9106 defaults).

A stored hash whose parameters are weaker than the current ones is re-hashed on the next
successful sign-in (``needs_rehash``), so raising the cost later upgrades every account.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

_HASHER = PasswordHasher()


class WeakPassword(ValueError):
    """A new password that is too short."""


def check_new(password: str) -> None:
    """Refuse a new password shorter than ``MIN_LENGTH`` characters."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(
            f"密码至少 {MIN_LENGTH} 个字符 / a password needs at least {MIN_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches the stored hash; False for a wrong password or a bad hash."""
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _HASHER.check_needs_rehash(stored)


def burn_time(password: str) -> None:
    """Spend the time of one verification, so an unknown user name answers as slowly as a
    known one (the answer alone must not tell which user names exist)."""
    verify_password(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("no such user")
