"""Spreadsheet cells that cannot run: formula injection neutralised (OWASP "CSV Injection").

Every CSV and Excel file GridPulse writes — table downloads, the import report, the CLI's
tables — goes through ``defuse_formulas``. A text cell whose first character (after any
leading whitespace) is ``=``, ``+``, ``-``, ``@`` (or their full-width forms), a tab or a
carriage return is what Excel, WPS and LibreOffice would evaluate as a formula
(``=HYPERLINK(…)``, ``-2+3``, ``@SUM(…)``); it gets a single quote in front, so it is shown
as the text it is. Numbers, dates and booleans keep their types: a column of negative
numbers stays a column of numbers. CSV text is written quoted, so a separator inside a cell
cannot start a new one; Excel workbooks are opened with ``XLSX_OPTIONS`` so that no string
is turned into a formula or a link.
"""

from __future__ import annotations

import io

import polars as pl

# The first character that makes a spreadsheet read a cell as a formula, after any
# whitespace; a tab or a CR at the start is a trigger on its own (OWASP).
_FORMULA_START = r"^(?:[\t\r]|\s*[=+\-@＝＋－＠])"
# xlsxwriter.Workbook options: a string is always written as a string.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def defuse_expr(text: pl.Expr) -> pl.Expr:
    """Text that would start a formula, with a single quote in front (``=1+1`` → ``'=1+1``)."""
    return pl.when(text.str.contains(_FORMULA_START)).then(pl.lit("'") + text).otherwise(text)


def defuse_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column of ``frame`` defused; other columns as they are."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(defuse_expr(pl.col(c)).alias(c) for c in text) if text else frame


def defuse_cell(value: object) -> object:
    """One cell (a row written by hand): text defused, anything else as it is."""
    if not isinstance(value, str):
        return value
    return pl.select(defuse_expr(pl.lit(value, dtype=pl.String))).item()


def csv_bytes(frame: pl.DataFrame, *, datetime_format: str | None = None) -> bytes:
    """``frame`` defused as UTF-8 CSV with a byte-order mark (so Excel reads the Chinese
    text as UTF-8), every text cell quoted."""
    buffer = io.BytesIO()
    buffer.write("\ufeff".encode())
    defuse_formulas(frame).write_csv(
        buffer, quote_style="non_numeric", datetime_format=datetime_format
    )
    return buffer.getvalue()
