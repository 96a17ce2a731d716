"""The live source as the app holds it: one working set, kept current, served through outages.

``LiveSource.dataset()`` is what every viewer calls (``ui.state`` keeps one ``LiveSource`` per
database URL in ``st.cache_resource``, so a room full of browsers shares one copy). At most
every ``poll_seconds`` one caller pulls what changed; the others are served the current working
set meanwhile. When a pull fails (the database is down, the network is gone), the last good
working set keeps being served, ``status()`` says since when and why, and the next attempt waits
``retry_seconds``, doubling after each failure up to ``retry_max_seconds``. The first successful
pull after an outage brings everything the database changed meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from data_layer import settings
from data_layer.storage.postgres import PostgresReader, Snapshot
from data_layer.storage.source import DataError, Dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveStatus:
    """What the app says about the live source."""

    read_at: dt.datetime | None  # when the data being served was read (UTC); None: never
    error: str | None  # why the last pull failed; None when it succeeded
    failures: int  # failed pulls in a row
    retry_in_s: float  # seconds until the next attempt

    @property
    def stale(self) -> bool:
        """Serving old data because the database cannot be read right now."""
        return self.error is not None and self.read_at is not None

    def age(self, *, now: dt.datetime | None = None) -> dt.timedelta | None:
        if self.read_at is None:
            return None
        return (now or dt.datetime.now(dt.UTC)) - self.read_at


class LiveSource:
    """One database's working set, its last good time and its last error."""

    def __init__(
        self,
        url: str,
        *,
        refresh: settings.LiveRefresh | None = None,
        reader: PostgresReader | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.refresh = refresh or settings.live_refresh()
        self.reader = reader or PostgresReader(url)
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_at: dt.datetime | None = None
        self._error: DataError | None = None
        self._failures = 0
        self._due = 0.0  # clock() time of the next pull

    def dataset(self) -> Dataset:
        """The working set, pulled again when due.

        Raises
        ------
        DataError
            Only when the database has never been read (nothing to serve yet).
        """
        if self._clock() >= self._due:
            self.pull()
        snapshot = self._snapshot
        if snapshot is None:
            raise self._error or DataError("数据库尚未读取 / the database has not been read yet")
        return snapshot.dataset

    def pull(self, *, force: bool = False) -> None:
        """Pull if due (or ``force``), unless another caller is pulling and there is data to
        serve meanwhile (then this caller does not wait)."""
        if not self._lock.acquire(blocking=self._snapshot is None):
            return
        try:
            if not force and self._clock() < self._due:
                return  # another caller pulled (or failed and set the retry) while this one waited
            self._pull_locked()
        finally:
            self._lock.release()

    def status(self) -> LiveStatus:
        return LiveStatus(
            read_at=self._read_at,
            error=str(self._error) if self._error else None,
            failures=self._failures,
            retry_in_s=max(0.0, self._due - self._clock()),
        )

    def close(self) -> None:
        self.reader.close()

    def _pull_locked(self) -> None:
        try:
            snapshot = self.reader.pull(self._snapshot)
        except DataError as exc:
            self._failures += 1
            self._error = exc
            wait = min(
                self.refresh.retry_seconds * 2 ** (self._failures - 1),
                self.refresh.retry_max_seconds,
            )
            self._due = self._clock() + wait
            log.warning(
                "live source: pull %d failed, next in %.0f s: %s", self._failures, wait, exc
            )
            return
        if self._failures:
            log.info("live source: back after %d failed pull(s)", self._failures)
        self._snapshot, self._read_at = snapshot, self._wall()
        self._error, self._failures = None, 0
        self._due = self._clock() + self.refresh.poll_seconds
