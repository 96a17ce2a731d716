"""The audit log: who did what, when, with which filter — JSON lines, append-only.

``<data_dir>/_audit/audit.jsonl`` (``$GRIDPULSE_AUDIT_LOG`` names another file) holds one
event per line: ``ts`` (UTC, ISO), ``user``, ``role``, ``action`` (one of ``ACTIONS``),
``target``, ``filter`` (the filter's URL form) and ``result``. It holds no personal data:
callers pass user names, codes, file kinds and filters, never reporter names or phones.

Writers in several processes share the file. Each event is one ``write`` on a descriptor
opened with ``O_APPEND``, made under an exclusive lock (a separate lock file, so it survives
rotation); readers take the lock shared. Events are rare (sign-ins, downloads), so writers
waiting for each other costs nothing, and a writer sees whole lines only: it can rotate, and
it can tell a line torn by a full disk from one another writer is still writing. Past
``max_bytes`` the file is rotated (``audit.jsonl`` → ``audit.jsonl.1`` → … → ``.<backups>``,
the oldest dropped).

The settings are read from ``GRIDPULSE_AUDIT_*`` here; they move to ``data_layer/settings.py``
once that exists (another change creates it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data_layer import settings
from data_layer.domain.filters import Filter

AUDIT_DIR = "_audit"
AUDIT_FILE = "audit.jsonl"

ACTIONS = frozenset(
    {
        "sign_in_ok",
        "sign_in_failed",
        "sign_out",
        "session_expired",
        "import",
        "download",
        "briefing",
        "unmasked_view",
        "user_change",
        "role_change",
    }
)


@dataclass(frozen=True)
class Event:
    ts: dt.datetime
    user: str
    role: str | None
    action: str
    target: str | None
    filter: dict | None
    result: str


class AuditLog:
    def __init__(
        self,
        path: Path | str,
        *,
        max_bytes: int = settings.DEFAULT_AUDIT_MAX_BYTES,
        backups: int = settings.DEFAULT_AUDIT_BACKUPS,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self._lock_path = self.path.with_name(f".{self.path.name}.lock")

    @classmethod
    def for_data_dir(cls, data_dir: Path | str) -> AuditLog:
        """The audit log of ``data_dir``, with the ``GRIDPULSE_AUDIT_*`` settings."""
        config = settings.audit()
        path = config.path or Path(data_dir) / AUDIT_DIR / AUDIT_FILE
        return cls(path, max_bytes=config.max_bytes, backups=config.backups)

    # writing -----------------------------------------------------------------------------
    def record(
        self,
        *,
        user: str,
        role: str | None,
        action: str,
        target: str | None = None,
        filter: Filter | None = None,
        result: str = "ok",
        now: dt.datetime | None = None,
    ) -> None:
        """Append one event (durably: the line is flushed to disk before this returns)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        ts = now or dt.datetime.now(dt.UTC)
        if ts.tzinfo is None:
            raise ValueError("audit times must carry a timezone")
        event = {
            "ts": ts.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
            "user": user,
            "role": role,
            "action": action,
            "target": target,
            "filter": filter.to_query_params() if filter is not None else None,
            "result": result,
        }
        line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked(fcntl.LOCK_EX):
            size = self._size()
            if size and size + len(line) > self.max_bytes:
                self._rotate()
            self._append(line)

    def _append(self, line: bytes) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a torn last line (a full disk): never glue onto it
            written = os.write(fd, line)  # one write: O_APPEND keeps it whole
            if written != len(line):
                raise OSError(f"audit log: short write ({written} of {len(line)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rotate(self) -> None:
        self.rotated(self.backups).unlink(missing_ok=True)
        for n in range(self.backups - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.rotated(n), self.rotated(n + 1))
        os.replace(self.path, self.rotated(1))

    def rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, mode)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # reading -----------------------------------------------------------------------------
    def read_events(
        self,
        *,
        user: str | None = None,
        action: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events oldest first, rotated files included; ``since`` ≤ ts < ``until``.

        With ``limit``, only the newest ``limit`` matching events. A line that cannot be
        parsed (a disk that filled up mid-line) is skipped.
        """
        found: list[Event] = []
        if not self.path.parent.is_dir():
            return found
        with self._locked(fcntl.LOCK_SH):
            files = [self.rotated(n) for n in range(self.backups, 0, -1)] + [self.path]
            for path in files:
                for event in _parse(path):
                    if user is not None and event.user != user:
                        continue
                    if action is not None and event.action != action:
                        continue
                    if since is not None and event.ts < since:
                        continue
                    if until is not None and event.ts >= until:
                        continue
                    found.append(event)
        return found[-limit:] if limit else found


def _parse(path: Path) -> Iterator[Event]:
    try:
        fh = open(path, encoding="utf-8")
    except FileNotFoundError:
        return
    with fh:
        for line in fh:
            try:
                rec = json.loads(line)
                yield Event(
                    ts=dt.datetime.fromisoformat(rec["ts"]),
                    user=rec["user"],
                    role=rec.get("role"),
                    action=rec["action"],
                    target=rec.get("target"),
                    filter=rec.get("filter"),
                    result=rec.get("result", ""),
                )
            except (ValueError, KeyError, TypeError):
                continue


def for_source(data_dir: Path | str, database_url: str | None):
    """The audit log of a source: the database's append-only table when ``database_url`` is
    set (``storage.pg_audit``, shared by every replica), else the data directory's file."""
    if database_url:
        from data_layer.storage.pg_audit import PgAuditLog

        return PgAuditLog(database_url)
    return AuditLog.for_data_dir(data_dir)
