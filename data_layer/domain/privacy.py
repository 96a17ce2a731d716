"""Masking of personal data (reporter name and phone, DESIGN §3) — the one implementation.

Every view, export, report, preview and log masks through here; only a role with
``Scope.personal_data`` sees the raw values. Names keep their first character (张*), phones
their first 3 and last 4 digits (138****1234), and a mobile number written inside any other
text is masked the same way. Masking is idempotent: a masked value stays as it is, so a frame
masked by its query can safely be masked again on its way out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TypeVar

import polars as pl

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

PERSONAL_COLUMNS = ("reporter_name", "reporter_phone")
# A mobile number in free text: 1[3-9]x xxxx xxxx not inside a longer run of digits (so an
# 18-digit ID number is not half-masked). Rust regex has no look-around: the neighbours are
# captured and put back, and the pattern runs twice because two numbers one character apart
# share that character.
_PHONE_IN_TEXT = r"(^|\D)(1[3-9]\d)\d{4}(\d{4})($|\D)"
_PHONE_MASKED_IN_TEXT = "${1}${2}****${3}${4}"
# What ``mask_phone_expr`` makes: left as it is.
_MASKED_PHONE = r"^(\d{3}\*{4}\d{4}|\*+\d{1,2})$"


def _length(text: pl.Expr) -> pl.Expr:
    # signed: the unsigned length minus 1 of an empty string would ask for 4 billion stars
    # (every branch of a when/then is computed for every row)
    return text.str.len_chars().cast(pl.Int64)


def _stars(count: pl.Expr) -> pl.Expr:
    """``count`` stars, at least one."""
    return pl.lit("*").repeat_by(pl.max_horizontal(count, 1)).list.join("")


def mask_name_expr(column: str = "reporter_name") -> pl.Expr:
    """张三 → 张*, 欧阳娜娜 → 欧***: keep the first character only (张* stays 张*)."""
    c = pl.col(column)
    length = _length(c)
    return (
        pl.when(c.is_null() | (length == 0))
        .then(c)
        .otherwise(c.str.slice(0, 1) + _stars(length - 1))
        .alias(column)
    )


def mask_phone_expr(column: str = "reporter_phone") -> pl.Expr:
    """13812341234 → 138****1234; shorter numbers keep only their last 2 digits.

    A value already masked (138****1234, ******88) is left as it is.
    """
    c = pl.col(column)
    digits = c.str.replace_all(r"\D", "")
    n = _length(digits)
    return (
        pl.when(c.is_null() | (n == 0) | c.str.contains(_MASKED_PHONE))
        .then(c)
        .when(n >= 11)
        .then(digits.str.slice(0, 3) + pl.lit("****") + digits.str.slice(-4, 4))
        .otherwise(_stars(n - 2) + digits.str.slice(-2, 2))
        .alias(column)
    )


def mask_phones_in_text(text: pl.Expr) -> pl.Expr:
    """Mobile numbers inside free text masked (电话13812341234 → 电话138****1234)."""
    return text.str.replace_all(_PHONE_IN_TEXT, _PHONE_MASKED_IN_TEXT).str.replace_all(
        _PHONE_IN_TEXT, _PHONE_MASKED_IN_TEXT
    )


def mask_phone_text(text: str) -> str:
    """``mask_phones_in_text`` for one Python string (messages, logs)."""
    return pl.select(mask_phones_in_text(pl.lit(text, dtype=pl.String))).item()


def mask_personal(
    frame: Frame,
    *,
    allowed: bool = False,
    names: Sequence[str] = ("reporter_name",),
    phones: Sequence[str] = ("reporter_phone",),
) -> Frame:
    """The frame as it may be shown or leave the app, unless the role is ``allowed``.

    Columns ``names`` hold names and ``phones`` phone numbers (masked whole, where present);
    mobile numbers inside every other text column are masked too, so no free-text field can
    carry one.
    """
    if allowed:
        return frame
    schema = frame.collect_schema()
    personal = [
        *(mask_name_expr(c) for c in names if c in schema),
        *(mask_phone_expr(c) for c in phones if c in schema),
    ]
    text = [c for c, dtype in schema.items() if dtype == pl.String and c not in (*names, *phones)]
    exprs = [*personal, *(mask_phones_in_text(pl.col(c)) for c in text)]
    return frame.with_columns(exprs) if exprs else frame


def mask_log_record(record: logging.LogRecord) -> bool:
    """A logging filter (``logger.addFilter(mask_log_record)``, adding it again is a no-op):
    mobile numbers in the record's message and traceback are masked; the record is kept."""
    record.msg, record.args = mask_phone_text(record.getMessage()), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_phone_text(record.exc_text)
    return True
