"""The cases of the live working set: partitions that a refresh can change one at a time.

A refresh brings in a few hundred changed cases; rebuilding a 10M-row frame for them would
copy every column each time. So the cases are kept as partitions of at most
``PARTITION_ROWS`` rows, each with the 64-bit hashes of its case ids beside it (and sorted).
Applying a change finds the partitions that may hold a changed id by a binary search of their
hashes, overwrites the changed columns of the changed rows in place (copy on write), removes
deleted rows, and appends new cases to the last partition.
A ``CaseSet`` is immutable: ``apply`` returns a new one that shares the untouched partitions,
so a viewer holding the old ``Dataset`` keeps a consistent picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl

from data_layer.domain import schema
from data_layer.storage.source import CaseDelta

PARTITION_ROWS = 250_000
KEY = schema.KEYS["cases"]


def _hashes(ids: pl.Series) -> pl.Series:
    # Only compared within this process, so polars' hash (stable within a version) is enough.
    return ids.hash()


@dataclass(frozen=True)
class _Part:
    frame: pl.DataFrame
    hashes: pl.Series  # of the case ids, row by row
    sorted_hashes: pl.Series  # the same, sorted: "might this partition hold id x?" in log time

    @classmethod
    def of(cls, frame: pl.DataFrame, hashes: pl.Series | None = None) -> _Part:
        frame = frame.rechunk()
        hashes = (_hashes(frame[KEY]) if hashes is None else hashes).rechunk()
        return cls(frame, hashes, hashes.sort())

    def plus(self, fresh: pl.DataFrame) -> _Part:
        """This partition with ``fresh`` rows after its own (only their ids are hashed)."""
        return _Part.of(
            pl.concat([self.frame, fresh]), pl.concat([self.hashes, _hashes(fresh[KEY])])
        )

    def changed(
        self, positions: pl.Series, *, fresh: pl.DataFrame, columns: list[str], gone: pl.Series
    ) -> _Part:
        """This partition with the rows at ``positions`` (ids held here) given their version in
        ``fresh`` (only ``columns`` can differ), or removed when their id is ``gone``."""
        ids = self.frame[KEY].gather(positions)
        updated = ids.is_in(fresh[KEY].implode())
        part = self
        if updated.any() and columns:
            rows = pl.DataFrame({KEY: ids.filter(updated)}).join(
                fresh, on=KEY, how="left", maintain_order="left"
            )
            part = part._overwritten(positions.filter(updated), rows.select(columns))
        dropped = ids.is_in(gone.implode())
        if dropped.any():
            keep = np.ones(part.frame.height, dtype=bool)
            keep[positions.filter(dropped).to_numpy()] = False
            part = _Part.of(part.frame.filter(keep), part.hashes.filter(keep))
        return part

    def _overwritten(self, positions: pl.Series, rows: pl.DataFrame) -> _Part:
        # Only the columns that changed are copied; scatter copies on write, so the old frame,
        # which viewers may still be reading, is not touched. Same ids, same hashes.
        columns = []
        for name in rows.columns:
            column = self.frame[name].clone()
            column.scatter(positions, rows[name])
            columns.append(column)
        return _Part(self.frame.with_columns(columns), self.hashes, self.sorted_hashes)

    def may_hold(self, wanted: pl.Series) -> bool:
        """Whether any of the ``wanted`` hashes is among this partition's."""
        at = self.sorted_hashes.search_sorted(wanted).clip(0, self.sorted_hashes.len() - 1)
        return bool((self.sorted_hashes.gather(at) == wanted).any())


@dataclass(frozen=True)
class CaseSet:
    parts: tuple[_Part, ...]
    # How this set differs from the one ``apply`` made it from (None: unknown, e.g. rows
    # were removed): lets the case index of the new version be updated, not rebuilt.
    delta: CaseDelta | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, frame: pl.DataFrame) -> CaseSet:
        """Partition a full read of the cases table (kept in its order)."""
        frame = schema.conform("cases", frame)
        slices = [frame.slice(i, PARTITION_ROWS) for i in range(0, frame.height, PARTITION_ROWS)]
        return cls(tuple(_Part.of(s) for s in slices))

    @property
    def height(self) -> int:
        return sum(p.frame.height for p in self.parts)

    @cached_property
    def frame(self) -> pl.DataFrame:
        """All cases as one frame (its partitions as chunks: no copy)."""
        frames = [p.frame for p in self.parts]
        return pl.concat(frames, rechunk=False) if frames else schema.empty("cases")

    def apply(self, *, changed: pl.DataFrame, deleted: pl.Series) -> tuple[CaseSet, int]:
        """The set with ``changed`` rows upserted and ``deleted`` ids removed, and how many
        rows really changed. A changed case keeps its place (only the columns that changed are
        copied, in the partitions that hold it); a new one goes after the last. Rows re-read
        unchanged (the refresh's look-back) are no change: with 0 the same set is returned, so
        the data version stays."""
        changed = schema.conform("cases", changed).unique(KEY, keep="last", maintain_order=True)
        # A row and a tombstone for one id are never both there (a re-insert removes the
        # tombstone); should they meet anyway, the row is the newer fact.
        deleted = deleted.cast(pl.String).filter(~deleted.is_in(changed[KEY].implode()))
        keys = pl.concat([changed[KEY], deleted]).unique()
        held = self._held(keys) if not keys.is_empty() else {}
        old = pl.concat([schema.empty("cases"), *(part.frame[pos] for part, pos in held.values())])
        fresh = changed.join(old, on=list(schema.CASES), how="anti", nulls_equal=True)
        gone = deleted.filter(deleted.is_in(old[KEY].implode()))
        if fresh.is_empty() and gone.is_empty():
            return self, 0
        columns = _differing_columns(fresh, old)
        parts = list(self.parts)
        starts = np.cumsum([0] + [p.frame.height for p in self.parts])
        for index, (part, positions) in held.items():
            parts[index] = part.changed(positions, fresh=fresh, columns=columns, gone=gone)
        parts = [p for p in parts if p.frame.height]
        new = fresh.join(old.select(KEY), on=KEY, how="anti")
        if not new.is_empty():
            if parts and parts[-1].frame.height + new.height <= PARTITION_ROWS:
                parts[-1] = parts[-1].plus(new)
            else:
                parts.append(_Part.of(new))
        delta = None
        if gone.is_empty():  # rows kept their places; the new ones follow the old
            changed_at = [
                starts[i] + pos.to_numpy().astype(np.int64) for i, (_, pos) in held.items()
            ]
            delta = CaseDelta(
                changed=np.concatenate(changed_at) if changed_at else np.empty(0, np.int64),
                columns=tuple(columns),
                appended=new.height,
                previous_height=int(starts[-1]),
            )
        return CaseSet(tuple(parts), delta), fresh.height + gone.len()

    def _held(self, keys: pl.Series) -> dict[int, tuple[_Part, pl.Series]]:
        """partition index → (partition, positions of its rows whose id is one of ``keys``);
        the id hashes pick the candidates, the ids themselves confirm them."""
        hashes = _hashes(keys)
        wanted_hashes, wanted = hashes.implode(), keys.implode()
        held = {}
        for index, part in enumerate(self.parts):
            if not part.may_hold(hashes):
                continue
            candidates = part.hashes.is_in(wanted_hashes).arg_true()
            if candidates.is_empty():
                continue
            exact = candidates.filter(part.frame[KEY].gather(candidates).is_in(wanted))
            if not exact.is_empty():
                held[index] = (part, exact)
        return held


def _differing_columns(fresh: pl.DataFrame, old: pl.DataFrame) -> list[str]:
    """The columns in which some row of ``fresh`` differs from its ``old`` version (compared
    once for all partitions; a refresh typically changes a few stage times)."""
    both = fresh.join(old, on=KEY, how="inner", suffix="_old")
    return [c for c in schema.CASES if c != KEY and not both[c].eq_missing(both[f"{c}_old"]).all()]
