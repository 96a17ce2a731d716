"""The cases of the live working set: partitions that a refresh can change one at a time.

A refresh brings in a few hundred changed cases; rebuilding a 10M-row frame for them would
copy every column each time. So the cases are kept as partitions of at most
``PARTITION_ROWS`` rows, each with the 64-bit hashes of its case ids beside it. Applying a
change finds the partitions that hold a changed id by its hash (integers, no string hashing
of the whole set), rebuilds only those, and appends the new versions to the last partition.
A ``CaseSet`` is immutable: ``apply`` returns a new one that shares the untouched partitions,
so a viewer holding the old ``Dataset`` keeps a consistent picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from data_layer.domain import schema

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

    def without(self, keep: np.ndarray) -> _Part:
        return _Part.of(self.frame.filter(keep), self.hashes.filter(keep))

    def may_hold(self, wanted: pl.Series) -> bool:
        """Whether any of the ``wanted`` hashes is among this partition's."""
        at = self.sorted_hashes.search_sorted(wanted).clip(0, self.sorted_hashes.len() - 1)
        return bool((self.sorted_hashes.gather(at) == wanted).any())


@dataclass(frozen=True)
class CaseSet:
    parts: tuple[_Part, ...]

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
        rows really changed. Rows re-read unchanged (the refresh's look-back) are no change:
        with 0 the same set is returned, so the data version stays."""
        changed = schema.conform("cases", changed).unique(KEY, keep="last", maintain_order=True)
        # A row and a tombstone for one id are never both there (a re-insert removes the
        # tombstone); should they meet anyway, the row is the newer fact.
        deleted = deleted.cast(pl.String).filter(~deleted.is_in(changed[KEY].implode()))
        keys = pl.concat([changed[KEY], deleted]).unique()
        held = self._held(keys) if not keys.is_empty() else {}
        old = pl.concat([schema.empty("cases"), *(part.frame[pos] for part, pos in held.values())])
        fresh = changed.join(old, on=list(schema.CASES), how="anti", nulls_equal=True)
        gone = deleted.filter(deleted.is_in(old[KEY].implode()))
        drop = pl.concat([fresh[KEY], gone]).implode()
        if drop.list.len().item() == 0:
            return self, 0
        parts = list(self.parts)
        for index, (part, positions) in held.items():
            positions = positions.filter(part.frame[KEY].gather(positions).is_in(drop))
            if positions.is_empty():
                continue
            keep = np.ones(part.frame.height, dtype=bool)
            keep[positions.to_numpy()] = False
            parts[index] = part.without(keep)
        parts = [p for p in parts if p.frame.height]
        if not fresh.is_empty():
            if parts and parts[-1].frame.height + fresh.height <= PARTITION_ROWS:
                parts[-1] = parts[-1].plus(fresh)
            else:
                parts.append(_Part.of(fresh))
        return CaseSet(tuple(parts)), fresh.height + gone.len()

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
