"""The auth folder's JSON files (accounts, web sessions): written whole, readable by the
server's user only, replaced in one step and flushed to disk, so that a crash leaves the
old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Hold the folder's writer lock (an ``flock`` on ``lock_path``) for the block; the
    folder is made (0700) when missing."""
    lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_json(path: Path, *, fmt: int, error: type[Exception]) -> dict | None:
    """The file's data, None when there is no file yet; ``error`` when it is of another
    format than ``fmt``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    data = json.loads(text)
    if data.get("format") != fmt:
        raise error(f"{path}: unknown format {data.get('format')!r}")
    return data


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` (mode 0600) through a temporary file renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
