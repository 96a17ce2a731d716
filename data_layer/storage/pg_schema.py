"""Names of the live source's SQL schema: the ``gridpulse`` schema and how a table is read.

The tables themselves are created by the migrations (``migrations/*.sql``); this module only
knows what the reader and the writers need: qualified names and the select lists that give
back exactly the columns of ``data_layer.domain.schema`` (geometry as WKB).
"""

from __future__ import annotations

import polars as pl

from data_layer.domain import schema

SCHEMA = "gridpulse"
TOMBSTONES = f"{SCHEMA}.case_tombstones"
TABLE_CHANGES = f"{SCHEMA}.table_changes"
WRITES = f"{SCHEMA}.writes"
SCHEMA_VERSION = f"{SCHEMA}.schema_version"

# Advisory lock keys (pg_advisory_lock takes one bigint): one writer at a time (import,
# simulate, load), one migration at a time, one change of the accounts at a time.
WRITER_LOCK = 0x6770_7772_6974_6572  # "gpwriter"
MIGRATION_LOCK = 0x6770_6D69_6772_6174  # "gpmigrat"
# One change of the accounts table at a time (users … --db, a sign-in counting failures).
USERS_LOCK = 0x6770_7573_6572_7321  # "gpusers!"


def qualified(table: str) -> str:
    if table not in schema.TABLES:
        raise KeyError(f"not a GridPulse table: {table}")
    return f"{SCHEMA}.{table}"


def geometry_columns(table: str) -> list[str]:
    return [c for c, t in schema.TABLES[table].items() if t == pl.Binary]


def select_list(table: str) -> str:
    """The table's columns in schema order, geometry as WKB (``ST_AsBinary``)."""
    geometry = set(geometry_columns(table))
    return ", ".join(
        f'ST_AsBinary("{c}") AS "{c}"' if c in geometry else f'"{c}"' for c in schema.TABLES[table]
    )


def select_sql(table: str, *, where: str = "") -> str:
    """``SELECT <columns> FROM gridpulse.<table> [WHERE …]``, unordered: the reader sorts a
    full read by key itself (cheaper than the index scan an ORDER BY would cost the server)."""
    clause = f" WHERE {where}" if where else ""
    return f"SELECT {select_list(table)} FROM {qualified(table)}{clause}"
