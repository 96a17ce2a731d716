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

A flat directory (the demo generator's) is converted on the first import by moving its files
into a first version; the data does not change in that step. Unchanged tables are hard-linked
from the previous version, so a version costs only the tables that changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from data_layer.domain import schema
from data_layer.storage import origin
from data_layer.storage.source import CURRENT_LINK, VERSIONS_DIR, DataError, table_path, tables_dir

KEEP_VERSIONS = 5
LOCK_FILE = ".import.lock"
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
def import_lock(data_dir: Path) -> Iterator[None]:
    """One import at a time per data directory (a second one fails at once with a message)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DataError(
                f"另一个导入正在进行 / another import is running on {data_dir}; 请稍后再试。"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


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
    """A version being built: write tables into ``path``; ``commit`` switches to it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.name = _new_version_name()
        self.path = data_dir / VERSIONS_DIR / f".staging-{self.name}"
        self.path.mkdir(parents=True)
        self.previous = tables_dir(data_dir)
        self.written: set[str] = set()

    def table_file(self, table: str) -> Path:
        """Path to write ``table`` to (marks it as written)."""
        self.written.add(table)
        return table_path(self.path, table)

    def commit(self, manifest: dict) -> str:
        """Carry over untouched tables, flush, rename into place and switch ``current``."""
        for table in schema.TABLES:
            if table in self.written:
                continue
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
def staging(data_dir: Path | str) -> Iterator[Staging]:
    """Build a new version; any exception inside the block discards it and re-raises.

    Must be used inside :func:`import_lock`. Committing is explicit (``Staging.commit``); a
    block that ends without committing discards the staging folder.
    """
    data_dir = Path(data_dir)
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


def prune(data_dir: Path, keep: int = KEEP_VERSIONS) -> None:
    """Delete all but the newest ``keep`` versions (never the current one)."""
    current = current_version(data_dir)
    versions = list_versions(data_dir)
    for name in versions[:-keep] if keep else versions:
        if name != current:
            shutil.rmtree(data_dir / VERSIONS_DIR / name, ignore_errors=True)
