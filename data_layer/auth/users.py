"""The local user store: ``<data_dir>/_auth/users.json``, with throttled sign-in.

The file lies outside the versioned tables (``versions/``, ``current``), so an import never
replaces it. Every change is a read-modify-write under an exclusive file lock, and the new
file replaces the old one in one step (temporary file, fsync, ``os.replace``): a reader sees
the old file or the new one, never half of one. The file holds password hashes, so it is
readable by its owner only.

After ``max_failures()`` failed sign-ins in a row an account is locked for ``lock_minutes()``;
a success resets the count. An account without a password hash signs in through OIDC only.
While the data directory holds the generated demo, the demo accounts (``auth.demo``) sign in
too; a stored account of the same name wins.

``DbUserStore`` keeps the same accounts in the live source's ``gridpulse.users`` table
(``storage.pg_users``) instead, for app replicas on several hosts; ``store_for`` picks the
store of a source (the database when there is a URL).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from data_layer import settings
from data_layer.auth import demo, passwords, private_file
from data_layer.auth.errors import AccountLocked, InvalidCredentials
from data_layer.auth.roles import Role, User
from data_layer.storage import pg_users

AUTH_DIR = "_auth"
USERS_FILE = "users.json"
LOCK_FILE = ".users.lock"
FORMAT = 1


class UserStoreError(ValueError):
    """A user-store change that cannot be made (unknown or duplicate user name...)."""


@dataclass(frozen=True)
class Account:
    """A stored user with its password hash and sign-in throttling state."""

    user: User
    password_hash: str | None = None  # None: signs in through OIDC only
    failures: int = 0
    locked_until: dt.datetime | None = None


class UserStore:
    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir: Path | None = Path(data_dir)
        self.folder = self.data_dir / AUTH_DIR
        self.path = self.folder / USERS_FILE

    @property
    def where(self) -> str:
        """Where the accounts are, for messages."""
        return str(self.path)

    # reading -----------------------------------------------------------------------------
    def accounts(self) -> dict[str, Account]:
        """Every stored account by user name (empty when there is no file yet)."""
        data = private_file.read_json(self.path, fmt=FORMAT, error=UserStoreError)
        if data is None:
            return {}
        return {name: _account(name, rec) for name, rec in data["users"].items()}

    def users(self) -> dict[str, User]:
        return {name: account.user for name, account in self.accounts().items()}

    # changes -----------------------------------------------------------------------------
    def add(self, user: User, *, password: str | None) -> None:
        """Add ``user``; with ``password`` None it can sign in through OIDC only."""
        if password is not None:
            passwords.check_new(password)
        hashed = passwords.hash_password(password) if password is not None else None
        with self._editing() as accounts:
            if user.username in accounts:
                raise UserStoreError(f"user {user.username!r} exists already")
            accounts[user.username] = Account(user=user, password_hash=hashed)

    def remove(self, username: str) -> None:
        with self._editing() as accounts:
            _known(accounts, username)
            del accounts[username]

    def set_password(self, username: str, password: str) -> None:
        """Set a new password; it also lifts a lock-out."""
        passwords.check_new(password)
        hashed = passwords.hash_password(password)
        with self._editing() as accounts:
            account = _known(accounts, username)
            accounts[username] = replace(
                account, password_hash=hashed, failures=0, locked_until=None
            )

    def grant(
        self,
        username: str,
        *,
        role: Role | str | None = None,
        streets: Iterable[str] | None = None,
        communities: Iterable[str] | None = None,
        rights: Iterable[str] | None = None,
    ) -> User:
        """Change role, areas or rights; what is None stays as it is. Returns the new user."""
        with self._editing() as accounts:
            account = _known(accounts, username)
            old = account.user
            user = User(
                username=old.username,
                display_name=old.display_name,
                role=old.role if role is None else role,
                streets=old.streets if streets is None else frozenset(streets),
                communities=old.communities if communities is None else frozenset(communities),
                rights=old.rights if rights is None else frozenset(rights),
            )
            accounts[username] = replace(account, user=user)
        return user

    # signing in --------------------------------------------------------------------------
    def authenticate(self, username: str, password: str, *, now: dt.datetime | None = None) -> User:
        """The user, when ``password`` is right and the account is not locked.

        Raises
        ------
        InvalidCredentials
            Unknown user name, wrong password or an OIDC-only account (one message for all).
        AccountLocked
            Too many failures in a row; says until when.
        """
        now = _utc(now)
        with self._editing() as accounts:
            account = accounts.get(username)
            if account is None:
                if self.data_dir is not None:
                    user = demo.authenticate(self.data_dir, username, password)
                    if user is not None:
                        return user
                passwords.burn_time(password)
                raise InvalidCredentials()
            if account.locked_until is not None and now < account.locked_until:
                raise AccountLocked(account.locked_until)
            if account.password_hash is None:
                passwords.burn_time(password)
                ok = False
            else:
                ok = passwords.verify_password(account.password_hash, password)
            accounts[username] = _after_attempt(account, ok=ok, password=password, now=now)
        if not ok:
            locked = accounts[username].locked_until
            if locked is not None:
                raise AccountLocked(locked)
            raise InvalidCredentials()
        return account.user

    # the file ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, Account]]:
        """The accounts, to change in place: written back when the block ends normally and
        changed them; an exception leaves the file as it was."""
        with private_file.locked(self.folder / LOCK_FILE):
            accounts = self.accounts()
            before = dict(accounts)
            yield accounts
            if accounts != before:
                self._write(accounts)

    def _write(self, accounts: dict[str, Account]) -> None:
        data = {"format": FORMAT, "users": {n: _record(a) for n, a in sorted(accounts.items())}}
        private_file.write_json(self.path, data)


class DbUserStore(UserStore):
    """The accounts in the live source's ``gridpulse.users`` table, one transaction per change.

    ``data_dir`` (optional) is the data directory whose demo marker still offers the demo
    accounts, as with the file store; without it there are none.
    """

    def __init__(self, url: str, *, data_dir: Path | str | None = None) -> None:
        self.url = url
        self.data_dir = Path(data_dir) if data_dir is not None else None

    @property
    def where(self) -> str:
        from data_layer.storage.pg_conn import redact

        return f"{redact(self.url)} (gridpulse.users)"

    def accounts(self) -> dict[str, Account]:
        return {name: _account(name, rec) for name, rec in pg_users.read_records(self.url).items()}

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, Account]]:
        with pg_users.editing(self.url) as records:
            accounts = {name: _account(name, rec) for name, rec in records.items()}
            before = dict(accounts)
            yield accounts
            for name in [n for n in records if n not in accounts]:
                del records[name]
            for name, account in accounts.items():
                if before.get(name) != account:
                    records[name] = _record(account)

    def copy_from(self, accounts: dict[str, Account]) -> tuple[list[str], list[str]]:
        """Add ``accounts`` (from a ``users.json``) that the database lacks, hashes as they are,
        in one transaction; returns (copied, skipped: the names the database has already)."""
        for account in accounts.values():
            if account.password_hash is not None and not account.password_hash.startswith(
                "$argon2"
            ):
                raise UserStoreError(f"{account.user.username}: not an argon2 hash")
        with self._editing() as stored:
            skipped = sorted(name for name in accounts if name in stored)
            copied = sorted(name for name in accounts if name not in stored)
            for name in copied:
                stored[name] = replace(accounts[name], failures=0, locked_until=None)
        return copied, skipped


def store_for(data_dir: Path | str | None, database_url: str | None) -> UserStore:
    """The accounts of a source: the database's when ``database_url`` is set (the data
    directory then only decides whether the demo accounts exist), else the directory's."""
    if database_url:
        return DbUserStore(database_url, data_dir=data_dir)
    if data_dir is None:
        raise ValueError("accounts need a data directory or a database URL")
    return UserStore(data_dir)


def _after_attempt(account: Account, *, ok: bool, password: str, now: dt.datetime) -> Account:
    if ok:
        hashed = account.password_hash
        if hashed is not None and passwords.needs_rehash(hashed):
            hashed = passwords.hash_password(password)
        return replace(account, password_hash=hashed, failures=0, locked_until=None)
    failures = account.failures + 1
    if failures >= settings.max_failures():
        until = now + dt.timedelta(minutes=settings.lock_minutes())
        return replace(account, failures=0, locked_until=until)
    return replace(account, failures=failures)


def _known(accounts: dict[str, Account], username: str) -> Account:
    try:
        return accounts[username]
    except KeyError:
        raise UserStoreError(f"no user {username!r}") from None


def _utc(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("sign-in times must carry a timezone (a naive time is ambiguous)")
    return now


def _record(account: Account) -> dict:
    user = account.user
    return {
        "display_name": user.display_name,
        "role": str(user.role),
        "streets": sorted(user.streets),
        "communities": sorted(user.communities),
        "rights": sorted(user.rights),
        "password_hash": account.password_hash,
        "failures": account.failures,
        "locked_until": account.locked_until.isoformat() if account.locked_until else None,
    }


def _account(username: str, rec: dict) -> Account:
    locked = rec.get("locked_until")
    return Account(
        user=User(
            username=username,
            display_name=rec.get("display_name") or username,
            role=rec["role"],
            streets=frozenset(rec.get("streets", ())),
            communities=frozenset(rec.get("communities", ())),
            rights=frozenset(rec.get("rights", ())),
        ),
        password_hash=rec.get("password_hash"),
        failures=int(rec.get("failures", 0)),
        locked_until=dt.datetime.fromisoformat(locked) if locked else None,
    )
