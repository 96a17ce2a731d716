"""Masking of personal data (reporter name and phone), DESIGN §3.

Every view, export and log goes through ``mask_personal``; only a role with
``Scope.personal_data`` sees the raw values.
"""

from __future__ import annotations

import polars as pl

PERSONAL_COLUMNS = ("reporter_name", "reporter_phone")


def mask_name_expr(column: str = "reporter_name") -> pl.Expr:
    """张三 → 张*, 欧阳娜娜 → 欧***: keep the first character only."""
    c = pl.col(column)
    return (
        pl.when(c.is_null() | (c.str.len_chars() == 0))
        .then(c)
        .otherwise(
            c.str.slice(0, 1)
            + pl.lit("*").repeat_by(pl.max_horizontal(c.str.len_chars() - 1, 1)).list.join("")
        )
        .alias(column)
    )


def mask_phone_expr(column: str = "reporter_phone") -> pl.Expr:
    """13812341234 → 138****1234; shorter numbers keep only their last 2 digits."""
    c = pl.col(column)
    digits = c.str.replace_all(r"\D", "")
    return (
        pl.when(c.is_null() | (digits.str.len_chars() == 0))
        .then(c)
        .when(digits.str.len_chars() >= 11)
        .then(digits.str.slice(0, 3) + pl.lit("****") + digits.str.slice(-4, 4))
        .otherwise(
            pl.lit("*").repeat_by(pl.max_horizontal(digits.str.len_chars() - 2, 1)).list.join("")
            + digits.str.slice(-2, 2)
        )
        .alias(column)
    )


def mask_personal(frame: pl.DataFrame | pl.LazyFrame, *, allowed: bool = False):
    """The frame with reporter name and phone masked, unless the role is ``allowed``."""
    if allowed:
        return frame
    names = frame.collect_schema().names()
    exprs = []
    if "reporter_name" in names:
        exprs.append(mask_name_expr())
    if "reporter_phone" in names:
        exprs.append(mask_phone_expr())
    return frame.with_columns(exprs) if exprs else frame


def mask_phone_text(text: str) -> str:
    """Mask mobile numbers inside free text (descriptions, error messages, logs)."""
    import re

    return re.sub(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)", r"\1****\2", text)
