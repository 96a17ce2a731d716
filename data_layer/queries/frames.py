"""Frame shaping shared by the detail queries."""

from __future__ import annotations

import polars as pl


def zero_filled(codes: tuple[str, ...], counts: pl.LazyFrame, *, key: str) -> pl.LazyFrame:
    """``counts`` with one row per code of ``codes`` (in that order, absent codes as 0).

    Codes outside the list are kept after it, sorted, so a new code in the data still shows.
    """
    base = pl.LazyFrame({key: list(codes)}, schema={key: pl.String})
    extra = counts.join(base, on=key, how="anti").sort(key)
    joined = base.join(counts, on=key, how="left", maintain_order="left")
    frame = pl.concat([joined, extra], how="vertical_relaxed")
    names = [c for c in frame.collect_schema().names() if c != key]
    return frame.with_columns(pl.col(names).fill_null(0))
