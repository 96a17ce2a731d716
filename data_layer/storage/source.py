"""The Parquet source: the only code that reads or writes the data directory.

A data directory holds one Parquet file per table of DESIGN §3 (docs/data-format.md).
``open_dataset`` reads it into memory once; queries take LazyFrames of it.
"""

from __future__ import annotations

import os
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from data_layer import settings
from data_layer.domain import schema

# A versioned data directory (written by ``python -m data_layer import``, docs/data-format.md):
# ``versions/<id>/`` hold complete sets of tables, ``current`` is a symlink to one of them and
# is switched atomically; ``<table>.parquet`` at the top are symlinks through ``current``.
CURRENT_LINK = "current"
VERSIONS_DIR = "versions"
# Columns no page, query or document reads (the free-text description and the sync stamp,
# ~500 MB of 10M cases): a serving dataset (``open_dataset(..., serving=True)``, the one the
# app shares) leaves them on disk. The CLI, checks and loaders read every column.
NOT_SERVED: dict[str, tuple[str, ...]] = {"cases": ("description", "updated_at")}


class DataError(Exception):
    """A data directory that cannot be used; the message says what and how to fix it."""


def table_path(data_dir: Path, table: str) -> Path:
    return Path(data_dir) / f"{table}.parquet"


def tables_dir(data_dir: Path | str) -> Path:
    """The directory holding the current tables: the version ``current`` points to, resolved
    once (so every table of one read comes from the same version), or ``data_dir`` itself for a
    flat data directory."""
    data_dir = Path(data_dir)
    link = data_dir / CURRENT_LINK
    if link.is_symlink() or link.is_dir():
        resolved = link.resolve()
        if resolved.is_dir():
            return resolved
    return data_dir


def signature(data_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Modification stamps of the table files: changes when any file is rewritten."""
    stamps = []
    data_dir = tables_dir(data_dir)
    for table in schema.TABLES:
        path = table_path(data_dir, table)
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        stamps.append((table, st.st_mtime_ns, st.st_size))
    return tuple(stamps)


@dataclass(frozen=True)
class CaseDelta:
    """How a version's cases table differs from the previous version's, as the source that
    made it knows (``storage.case_set``): the rows at ``changed`` (positions in both
    tables) may differ, only in ``columns``; ``appended`` new rows follow the old ones; no
    row was removed or moved. What is memoised on the previous Dataset (the case index) can
    then be updated instead of rebuilt."""

    changed: np.ndarray  # int64 row positions
    columns: tuple[str, ...]
    appended: int
    previous_height: int


@dataclass(frozen=True)
class Dataset:
    """All tables of one data directory, read once and shared read-only."""

    tables: Mapping[str, pl.DataFrame]
    data_dir: Path | None = None
    version: tuple = field(default=())
    # What queries derive from the tables once (an index of the cases): built on first use,
    # shared by every caller of this Dataset like the tables themselves (``memo``).
    _memo: dict = field(default_factory=dict, compare=False, repr=False)
    _memo_lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)
    # The previous version's memo and how the cases changed since (``CaseDelta``), when the
    # source knows it: ``take_basis`` hands it out once, so no chain of versions is kept.
    _basis: dict = field(default_factory=dict, compare=False, repr=False)

    def lazy(self, table: str) -> pl.LazyFrame:
        return self.tables[table].lazy()

    def __getitem__(self, table: str) -> pl.DataFrame:
        return self.tables[table]

    def take_basis(self) -> tuple[dict, CaseDelta] | None:
        """(the previous version's memo, the ``CaseDelta`` since), once; None when unknown."""
        memo, delta = self._basis.pop("memo", None), self._basis.pop("cases", None)
        return None if memo is None or delta is None else (memo, delta)

    def previous_memo(self) -> dict | None:
        """The previous version's memo while ``take_basis`` has not handed it out (the
        settled history looks at what was built there; it keeps no reference)."""
        return self._basis.get("memo")

    def memoised(self, key: str) -> object | None:
        """What ``memo`` keeps under ``key``, or None when nothing was built yet."""
        return self._memo.get(key)

    def memo(self, key: str, build: Callable[[Dataset], object]) -> object:
        """``build(self)``, computed once per Dataset (so once per data version) under a lock:
        concurrent sessions wait for the one build instead of making copies of their own
        (re-entrant: a build may memoise another key)."""
        try:
            return self._memo[key]
        except KeyError:
            pass
        with self._memo_lock:
            if key not in self._memo:
                self._memo[key] = build(self)
            return self._memo[key]


def open_dataset(data_dir: Path | str, *, serving: bool = False) -> Dataset:
    """Read and check every table of a data directory.

    ``serving``: leave out the columns of ``NOT_SERVED`` (their presence is still checked).

    Raises
    ------
    DataError
        When the directory or a table file is missing, unreadable or has the wrong columns.
    """
    data_dir = Path(data_dir)
    shown_dir = data_dir
    if not data_dir.is_dir():
        raise DataError(
            f"数据目录不存在 / data directory not found: {data_dir}. "
            "运行 `make demo` 生成演示数据，或设置 GRIDPULSE_DATA。"
        )
    data_dir = tables_dir(data_dir)
    absent = [t for t in schema.TABLES if not table_path(data_dir, t).is_file()]
    missing = [t for t in absent if t not in schema.LATER_TABLES]
    if len(absent) == len(schema.TABLES):
        raise DataError(
            f"数据目录为空 / data directory is empty: {data_dir}. "
            "运行 `make demo` 生成演示数据，或导入数据。"
        )
    if missing:
        raise DataError(
            f"数据目录缺少表 / missing tables in {data_dir}: {', '.join(missing)}. "
            "重新生成演示数据（`make demo`）或补齐这些文件。"
        )
    version = signature(data_dir)
    tables = {}
    for table in schema.TABLES:
        path = table_path(data_dir, table)
        if table in absent:  # a table added later, not in this (older) directory
            tables[table] = schema.empty(table)
            continue
        try:
            # One open file handle: a writer renaming a new version over this path mid-read
            # cannot mix two versions (reading by path may open the file more than once).
            with open(path, "rb") as handle:
                frame = _read_table(handle, table, serving=serving)
        except KeyError as exc:
            raise DataError(f"{path.name} 格式不符 / wrong format: {exc}") from exc
        except Exception as exc:  # any reader error means the file is unusable
            raise DataError(
                f"无法读取 / cannot read {path.name}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}. 文件可能已损坏，请重新生成或导入。"
            ) from exc
        try:
            tables[table] = _conform(table, frame, serving=serving)
        except (KeyError, pl.exceptions.PolarsError) as exc:
            raise DataError(f"{path.name} 格式不符 / wrong format: {exc}") from exc
    return Dataset(tables=tables, data_dir=shown_dir, version=version)


def _read_table(handle, table: str, *, serving: bool) -> pl.DataFrame:
    skipped = NOT_SERVED.get(table, ()) if serving else ()
    if not skipped:
        return pl.read_parquet(handle)
    present = pl.read_parquet_schema(handle)
    missing = [c for c in schema.TABLES[table] if c not in present]
    if missing:
        raise KeyError(f"{table}: missing columns {', '.join(missing)}")
    handle.seek(0)
    return pl.read_parquet(handle, columns=[c for c in schema.TABLES[table] if c not in skipped])


def _conform(table: str, frame: pl.DataFrame, *, serving: bool) -> pl.DataFrame:
    skipped = NOT_SERVED.get(table, ()) if serving else ()
    if not skipped:
        return schema.conform(table, frame)
    wanted = {c: t for c, t in schema.TABLES[table].items() if c not in skipped}
    return frame.select(pl.col(c).cast(t) for c, t in wanted.items())


def write_tables(data_dir: Path | str, frames: Mapping[str, pl.DataFrame]) -> None:
    """Write tables into a plain directory (a flat one, or a version being built), each file
    replaced atomically.

    A reader never sees a half-written file: each table is written to a temporary
    file in the same directory and renamed over the old one. A versioned data directory is
    refused: a version is never changed in place, writers make a new one
    (``versions.staging``, under the one writer lock).
    """
    data_dir = Path(data_dir)
    if tables_dir(data_dir) != data_dir:
        raise DataError(f"{data_dir.name} is versioned: write a new version (versions.staging)")
    data_dir.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        final = table_path(data_dir, table)
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        schema.conform(table, frame).write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, final)


def load_sla_hours(path: Path | None = None) -> dict[str, int]:
    """Deadline hours per case category from ``assets/sla.toml``."""
    path = path or settings.SLA_TOML
    with open(path, "rb") as fh:
        return {k: int(v) for k, v in tomllib.load(fh)["sla_hours"].items()}
