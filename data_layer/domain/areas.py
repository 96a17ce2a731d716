"""Area levels and codes (DESIGN §3): street office → community → grid.

Codes are digit strings that nest by prefix: a street code is 9 digits (the prefix of the
12-digit statistical code), a community code 12 (its street's code + 3), a grid code 15 (its
community's code + 3); the first 6 digits of every code are the district. Each level has one
table and one key column.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

Codes = TypeVar("Codes", pl.Expr, pl.Series)

LEVELS = ("street", "community", "grid")  # from the top down
TABLE = {"street": "streets", "community": "communities", "grid": "grids"}
KEY = {"street": "street_code", "community": "community_code", "grid": "grid_code"}
DIGITS = {"street": 9, "community": 12, "grid": 15}
PARENT: dict[str, str | None] = {"street": None, "community": "street", "grid": "community"}
DISTRICT_DIGITS = 6


def code_of(code: str, *, level: str) -> str:
    """The code of the ``level`` area that holds ``code`` (a code of that level or below)."""
    return code[: DIGITS[level]]


def codes_of(codes: Codes, *, level: str) -> Codes:
    """``code_of`` for a polars column or expression of codes."""
    return codes.str.slice(0, DIGITS[level])


def district_of(code: str) -> str:
    """The district code (6 digits) of any area code."""
    return code[:DISTRICT_DIGITS]


def in_division(as_of=None) -> pl.Expr:
    """Areas of the division at ``as_of`` (a naive local datetime; None: the current one):
    come by then (``valid_from``) and not yet retired (``retired_at``) — docs/import.md."""
    if as_of is None:
        return pl.col("retired_at").is_null()
    t = pl.lit(as_of, dtype=pl.Datetime("us"))
    came = pl.col("valid_from").is_null() | (pl.col("valid_from") <= t)
    return came & (pl.col("retired_at").is_null() | (pl.col("retired_at") > t))
