"""Masking of personal data (reporter name and phone, DESIGN §3) — the one implementation.

Every view, export, report, preview and log masks through here; only a role with
``Scope.personal_data`` sees the raw values.

- **Names** keep their first character, every other character is a star (张三 → 张*,
  王*明 → 王**), whatever the value holds.
- **Phone columns** keep the first 3 and last 4 digits of the mobile number (+86 139-1234-5678
  → 139****5678); other numbers keep only their last 2 digits (0791-8888 → ******88).
- **Free text** (every other text column, messages, logs): a mobile number in any common
  writing — 13912345678, 139-1234-5678, 139 1234 5678, +86 / 0086 / 86 / (+86) in front,
  full-width digits — keeps its first 3 and last 4 digits and its separators
  (139 **** 5678). An ID card number keeps its 6-digit area code and its last digits, the
  birth date becomes stars: 18 digits (last may be X) → 360102********5678, the old 15-digit
  form → 360102******123. Landlines (0791-8888 8888) stay as they are.

Only a number standing on its own is personal: one inside a longer run of digits (a case id
AJ20261003000021, a 15-digit grid code) is left alone. A 15-digit run counts as an old ID only
when digits 7–12 are a birth date of 1920–1999 (the old cards were replaced by 2013): grid
codes of street offices and towns (street part 001–199) read as 1900–1919 and never match.
Masking is idempotent: a masked value stays as it is, so a frame masked by its query can be
masked again on its way out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import polars as pl

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

PERSONAL_COLUMNS = ("reporter_name", "reporter_phone")

# Half- and full-width digits (Chinese input methods type １３９…).
_D = "[0-9０-９]"
_NOT_D = "[^0-9０-９]"
_SEP = "[ \\-－\u3000]?"  # one optional space or dash between groups
_CC = "(?:(?:[+＋]|[0０]{2})?[8８][6６]|[(（][+＋]?[8８][6６][)）])"  # +86 0086 86 (+86)
# Rust regex has no look-around: the neighbours (start/end or a non-digit) are captured and
# put back, and each rule runs twice because two numbers one character apart share that
# character (the first match consumes it, the second finds it on the second pass).
_PHONE = f"(^|{_NOT_D})({_CC}{_SEP})?([1１][3-9３-９]{_D})({_SEP}){_D}{{4}}({_SEP})({_D}{{4}})($|{_NOT_D})"
_PHONE_MASKED = "${1}${2}${3}${4}****${5}${6}${7}"
_AREA = f"[1-8１-８]{_D}{{5}}"
_MONTH = "(?:[0０][1-9１-９]|[1１][0-2０-２])"
_DAY = f"(?:[0０][1-9１-９]|[12１２]{_D}|[3３][01０１])"
_ID_18 = (
    f"(^|{_NOT_D})({_AREA})(?:[1１][9９]|[2２][0０]){_D}{{2}}{_MONTH}{_DAY}"
    f"({_D}{{3}}[0-9０-９XxＸｘ])($|{_NOT_D})"
)
_ID_15 = f"(^|{_NOT_D})({_AREA})[2-9２-９]{_D}{_MONTH}{_DAY}({_D}{{3}})($|{_NOT_D})"
_TEXT_RULES = (
    (_ID_18, "${1}${2}********${3}${4}"),
    (_ID_15, "${1}${2}******${3}${4}"),
    (_PHONE, _PHONE_MASKED),
)
_FULL_WIDTH_DIGITS = [chr(0xFF10 + i) for i in range(10)]
_ASCII_DIGITS = [str(i) for i in range(10)]
# What ``mask_phone_expr`` makes: left as it is.
_MASKED_PHONE = r"^(\d{3}\*{4}\d{4}|\*+\d{1,2})$"
_COUNTRY_CODE = r"^(?:0086|86)(1[3-9]\d{9})$"


def _length(text: pl.Expr) -> pl.Expr:
    # signed: the unsigned length minus 1 of an empty string would ask for 4 billion stars
    # (every branch of a when/then is computed for every row)
    return text.str.len_chars().cast(pl.Int64)


def _stars(count: pl.Expr) -> pl.Expr:
    """``count`` stars, at least one."""
    return pl.lit("*").repeat_by(pl.max_horizontal(count, 1)).list.join("")


def mask_name_expr(column: str = "reporter_name") -> pl.Expr:
    """张三 → 张*, 欧阳娜娜 → 欧***, 王*明 → 王**: the first character and a star for every other
    one (at least one), whatever the value holds; surrounding spaces do not count."""
    c = pl.col(column).cast(pl.String).str.strip_chars()
    length = _length(c)
    return (
        pl.when(c.is_null() | (length == 0))
        .then(c)
        .otherwise(c.str.slice(0, 1) + _stars(length - 1))
        .alias(column)
    )


def mask_phone_expr(column: str = "reporter_phone") -> pl.Expr:
    """A phone column: +86 139 1234 5678 → 139****5678; other numbers keep their last 2 digits.

    A value already masked (138****1234, ******88) is left as it is.
    """
    c = pl.col(column).cast(pl.String).str.replace_many(_FULL_WIDTH_DIGITS, _ASCII_DIGITS)
    digits = c.str.replace_all(r"[^0-9]", "").str.replace(_COUNTRY_CODE, "${1}")
    n = _length(digits)
    return (
        pl.when(c.is_null() | (n == 0) | c.str.contains(_MASKED_PHONE))
        .then(c)
        .when(n >= 11)
        .then(digits.str.slice(0, 3) + pl.lit("****") + digits.str.slice(-4, 4))
        .otherwise(_stars(n - 2) + digits.str.slice(-2, 2))
        .alias(column)
    )


def mask_text_expr(text: pl.Expr) -> pl.Expr:
    """Mobile and ID card numbers inside free text masked (电话139-1234-5678 → 电话139-****-5678)."""
    for pattern, replacement in _TEXT_RULES:
        text = text.str.replace_all(pattern, replacement).str.replace_all(pattern, replacement)
    return text


def mask_text(text: str) -> str:
    """``mask_text_expr`` for one Python string (messages, logs)."""
    if not any(ch.isdigit() for ch in text):  # most log lines: nothing to mask, skip polars
        return text
    return pl.select(mask_text_expr(pl.lit(text, dtype=pl.String))).item()


def _is_area_code(column: str) -> bool:
    """``grid_code``, ``street_code``, ``code``…: area codes, checked against the boundaries on
    import, so no one's number; a 15-digit grid code of a township (乡, street part 2xx–3xx) can
    read like an old ID and must not be starred."""
    return column == "code" or column.endswith("_code")


def mask_personal(
    frame: Frame,
    *,
    allowed: bool = False,
    names: Sequence[str] = ("reporter_name",),
    phones: Sequence[str] = ("reporter_phone",),
) -> Frame:
    """The frame as it may be shown or leave the app, unless the role is ``allowed``.

    Columns ``names`` hold names and ``phones`` phone numbers (masked whole, where present);
    mobile and ID card numbers inside every other text column but the area codes are masked
    too, so no free-text field can carry one.
    """
    if allowed:
        return frame
    schema = frame.collect_schema()
    personal = [
        *(mask_name_expr(c) for c in names if c in schema),
        *(mask_phone_expr(c) for c in phones if c in schema),
    ]
    text = [
        c
        for c, dtype in schema.items()
        if dtype == pl.String and c not in (*names, *phones) and not _is_area_code(c)
    ]
    exprs = [*personal, *(mask_text_expr(pl.col(c)) for c in text)]
    return frame.with_columns(exprs) if exprs else frame
