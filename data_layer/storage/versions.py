"""Atomic, versioned writes of a data directory.

An import never edits the tables the app is reading. It builds a complete new set of tables in
a staging folder ``versions/.staging-<id>/``, renames it to ``versions/<id>/`` when every file is
written and flushed, and only then switches the ``current`` symlink to it with one
``os.replace`` — the single atomic step. An exception (or a killed process) before that step
leaves the previous data exactly as it was; the staging folder is removed (or cleaned up by the
next import).

Layout (docs/data-format.md, "Versions")::

    DIR/current -> versions/20250401T101500-3f2a   (relative symlink)
    DIR/versions/<id>/<table>.parquet               (all nine tables, plus import.json)
    DIR/<table>.parquet -> current/<table>.parquet  (so flat readers keep working)

A flat directory (a hand-made or an old one) is converted on the first write by moving its
files into a first version; the data does not change in that step. Unchanged tables are
hard-linked from the previous version, so a version costs only the tables that changed.

Every writer of the tables — import, the demo generator, each ``simulate`` tick — builds its
version inside :func:`staging`, which holds the one writer lock of the directory from the
moment it resolves the current version until the new one is switched to. So a writer that
reads the current tables and writes a changed copy (``simulate``) cannot lose a version that
another writer committed in between: the other writer waits for the lock, and then builds on
the new version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from data_layer.domain import schema
from data_layer.storage import origin
from data_layer.storage.source import CURRENT_LINK, VERSIONS_DIR, DataError, table_path, tables_dir

KEEP_VERSIONS = 5
# A reader resolves ``current`` once and then opens the tables one by one; a version that
# stopped being current less than this long ago may still be being read, so it is kept.
RETIRED_GRACE_S = 60.0
LOCK_FILE = ".writer.lock"
QUEUE_DIR = ".writer.queue"  # the writers' tickets, in the order they asked (writer_lock)
LOCK_WAIT_S = 30.0  # an import or the generator waits this long for another writer
LOCK_POLL_S = 0.05
MANIFEST = "import.json"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _symlink_atomic(target: str, link: Path) -> None:
    """Point ``link`` at ``target`` in one step (a new symlink renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def current_version(data_dir: Path | str) -> str | None:
    """Name of the version ``current`` points to, or None for a flat / empty directory."""
    link = Path(data_dir) / CURRENT_LINK
    if not link.is_symlink():
        return None
    return Path(os.readlink(link)).name


def list_versions(data_dir: Path | str) -> list[str]:
    root = Path(data_dir) / VERSIONS_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


@contextlib.contextmanager
def writer_lock(data_dir: Path, *, wait_s: float | None = LOCK_WAIT_S) -> Iterator[None]:
    """The one writer of ``data_dir`` at a time, across processes (an ``flock`` on a file),
    granted in the order the writers asked for it.

    Waits up to ``wait_s`` seconds for the writers ahead (``None``: as long as it takes), then
    fails with a message. A ``simulate`` tick holds it for well under a second, an import for
    as long as it runs.

    Fair, first come first served: a writer takes a numbered ticket in ``.writer.queue/``
    and tries the lock only when no live ticket is ahead of its own. Without the queue, a
    writer that lets go and asks again at once (one import after another, a platform feed)
    would take the free lock again before a waiting writer's next poll saw it free — a
    ``simulate`` tick waited behind 15 imports in a row that way. The ticket only orders the
    writers; the ``flock`` alone keeps them apart, so a lost or stale ticket can cost order,
    never exclusion.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = None if wait_s is None else time.monotonic() + wait_s
    with _join_queue(data_dir) as ticket, open(data_dir / LOCK_FILE, "a") as fh:
        while not (ticket.is_next() and _try_flock(fh)):
            if deadline is not None and time.monotonic() >= deadline:
                raise DataError(
                    f"另一个写入正在进行 / another import or writer is running on {data_dir.name}; "
                    "请稍后再试。"
                )
            time.sleep(LOCK_POLL_S)
        ticket.leave()  # the next in line now waits for the lock itself
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _try_flock(fh) -> bool:
    """Take the exclusive lock if it is free; False when another writer holds it."""
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class _Ticket:
    """A place in the writer queue: the file ``<number>-<pid>-<tag>``, ``flock``-ed by its
    owner for as long as it waits, so a ticket whose lock can be taken belongs to a writer
    that died and is removed by whoever finds it."""

    def __init__(self, queue: Path, number: int, path: Path, fh) -> None:
        self.queue, self.number, self.path, self._fh = queue, number, path, fh

    def is_next(self) -> bool:
        """True when no live ticket is ahead of this one (stale ones are removed on the way)."""
        for number, path in _tickets(self.queue):
            if number < self.number and _alive(path):
                return False
        return True

    def leave(self) -> None:
        if self._fh is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._fh.close()  # after the unlink: nobody can take it for a dead writer's ticket
        self._fh = None


def _tickets(queue: Path) -> list[tuple[int, Path]]:
    found = []
    for path in queue.iterdir():
        number, _, _rest = path.name.partition("-")
        if number.isdigit():
            found.append((int(number), path))
    return sorted(found)


def _alive(path: Path) -> bool:
    """False for a ticket whose owner is gone (its lock is free); removes it then."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return False
    with fh:
        if not _try_flock(fh):
            return True
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False


@contextlib.contextmanager
def _join_queue(data_dir: Path) -> Iterator[_Ticket]:
    """A ticket numbered after every ticket in the queue, left on exit (timeout, error)."""
    queue = data_dir / QUEUE_DIR
    queue.mkdir(exist_ok=True)
    with open(queue / ".lock", "a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # numbering only: held for a listing and a rename
        try:
            for left in queue.glob(".new-*"):  # made under this lock by a writer that died
                left.unlink(missing_ok=True)
            number = 1 + max((n for n, _ in _tickets(queue)), default=0)
            name = f"{number:012d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            tmp = queue / f".new-{name}"
            fh = open(tmp, "a")
            fcntl.flock(fh, fcntl.LOCK_EX)  # locked before it can be seen under its number
            os.rename(tmp, queue / name)
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)
    ticket = _Ticket(queue, number, queue / name, fh)
    try:
        yield ticket
    finally:
        ticket.leave()


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def ensure_versioned(data_dir: Path) -> None:
    """Convert a flat data directory into the versioned layout without changing its data.

    Each step is atomic and the sequence can be re-run after an interruption: the flat files
    are hard-linked into ``versions/<id>``, ``current`` is pointed at it, then each flat file is
    replaced by a symlink through ``current`` (same bytes before and after).
    """
    if current_version(data_dir) is not None:
        _link_top_level(data_dir)
        return
    current = data_dir / CURRENT_LINK
    if current.exists():  # a directory or a file where the link should be
        raise DataError(
            f"数据目录结构不对 / {data_dir.name}/{CURRENT_LINK} should be a link to a version "
            "but is a folder or a file: the directory was probably copied without keeping its "
            "links. 请用 `cp -a` 复制数据目录 / copy a data directory with `cp -a` (links kept); "
            "its data is readable as it is, but nothing can be written into it."
        )
    flat = [t for t in schema.TABLES if table_path(data_dir, t).is_file()]
    if not flat:
        return  # empty directory: the first import creates the first version
    name = _new_version_name() + "-flat"
    staging = data_dir / VERSIONS_DIR / f".staging-{name}"
    staging.mkdir(parents=True, exist_ok=True)
    for table in flat:
        _link_or_copy(table_path(data_dir, table), table_path(staging, table))
    final = data_dir / VERSIONS_DIR / name
    os.rename(staging, final)
    _symlink_atomic(f"{VERSIONS_DIR}/{name}", data_dir / CURRENT_LINK)
    _link_top_level(data_dir)


def _link_top_level(data_dir: Path) -> None:
    for table in schema.TABLES:
        top = table_path(data_dir, table)
        if top.is_symlink():
            continue
        _symlink_atomic(f"{CURRENT_LINK}/{top.name}", top)


def _new_version_name() -> str:
    return f"{dt.datetime.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:4]}"


class Staging:
    """A version being built: write tables into ``path``; ``commit`` switches to it.

    ``previous`` is the version that was current when the writer lock was taken; it stays
    current until ``commit``, so reading from it and writing a changed copy loses nothing.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.name = _new_version_name()
        self.path = data_dir / VERSIONS_DIR / f".staging-{self.name}"
        self.path.mkdir(parents=True)
        self.previous = tables_dir(data_dir)

    def table_file(self, table: str) -> Path:
        """Path to write ``table`` to."""
        return table_path(self.path, table)

    def commit(self, manifest: dict, *, keep_demo: bool = False) -> str:
        """Carry over the tables not written, flush, rename into place and switch ``current``.

        ``keep_demo`` leaves the demo marker as it is (``simulate`` moves demo cases on: the
        directory stays a demo one, or stays an imported one); any other writer drops it.
        """
        for table in schema.TABLES:
            if table_path(self.path, table).is_file():
                continue  # written by this writer
            old = table_path(self.previous, table)
            if old.is_file():
                _link_or_copy(old, table_path(self.path, table))
            else:
                schema.empty(table).write_parquet(table_path(self.path, table))
        (self.path / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
        )
        for file in self.path.iterdir():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(self.path)
        # Imported tables are no demo: drop the marker first, so a crash in between leaves
        # demo data without demo accounts rather than imported data with them.
        if not keep_demo:
            origin.forget_demo(self.data_dir)
        final = self.data_dir / VERSIONS_DIR / self.name
        os.rename(self.path, final)
        _fsync_dir(final.parent)
        _symlink_atomic(f"{VERSIONS_DIR}/{self.name}", self.data_dir / CURRENT_LINK)
        _fsync_dir(self.data_dir)
        _link_top_level(self.data_dir)
        return self.name

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@contextlib.contextmanager
def staging(data_dir: Path | str, *, wait_s: float | None = LOCK_WAIT_S) -> Iterator[Staging]:
    """Build a new version under the writer lock; an exception inside discards it and re-raises.

    The lock is taken before the current version is resolved and released after the switch,
    so everything read from ``Staging.previous`` inside the block is still current when the
    block commits. Committing is explicit (``Staging.commit``); a block that ends without
    committing discards the staging folder. ``wait_s`` as for :func:`writer_lock`.
    """
    data_dir = Path(data_dir)
    with writer_lock(data_dir, wait_s=wait_s):
        ensure_versioned(data_dir)
        _clean_stale(data_dir)
        stage = Staging(data_dir)
        try:
            yield stage
        finally:
            if stage.path.exists():
                stage.discard()
        prune(data_dir)


def _clean_stale(data_dir: Path) -> None:
    """Remove staging folders left by an interrupted import (we hold the lock)."""
    root = data_dir / VERSIONS_DIR
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith((".staging-", ".parts-")):
                shutil.rmtree(p, ignore_errors=True)


def prune(data_dir: Path, keep: int = KEEP_VERSIONS, *, grace_s: float = RETIRED_GRACE_S) -> None:
    """Delete all but the newest ``keep`` versions — never the current one, nor one that was
    current less than ``grace_s`` seconds ago (a reader may still be opening its tables)."""
    current = current_version(data_dir)
    versions = list_versions(data_dir)
    root = data_dir / VERSIONS_DIR
    # A version stopped being current when the next one was written and switched to; the
    # newest has no successor and counts as current now.
    retired_at = {
        name: (root / successor).stat().st_mtime
        for name, successor in zip(versions, versions[1:], strict=False)
    }
    now = time.time()
    for name in versions[:-keep] if keep else versions:
        if name == current or now - retired_at.get(name, now) < grace_s:
            continue
        shutil.rmtree(root / name, ignore_errors=True)
