"""Whether the server is busy with a page: the script runs in flight in this process.

Background work that holds the cores for seconds — the settled history's build at province,
~10 s on 2 cores (issue #16) — waits for a quiet moment (``idle``), so that it does not
compete with a page a viewer is waiting for. app.py wraps every script run in
``script_run``; a fragment's refresh is not counted (it is short, and comes every minute).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

QUIET_S = 1.0  # no script run for this long: the page's browser work is done too


class _Runs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._last_end = time.monotonic()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:  # a stopped or rerun script ends here too (StopException, RerunException)
            with self._lock:
                self._running -= 1
                self._last_end = time.monotonic()

    def idle(self, quiet_s: float) -> bool:
        with self._lock:
            return self._running == 0 and time.monotonic() - self._last_end >= quiet_s


_RUNS = _Runs()


def script_run() -> contextlib.AbstractContextManager[None]:
    """Count the block as a script run in flight (app.py, around the whole run)."""
    return _RUNS.running()


def idle(*, quiet_s: float = QUIET_S) -> bool:
    """No script run in flight, and none ended in the last ``quiet_s`` seconds."""
    return _RUNS.idle(quiet_s)
