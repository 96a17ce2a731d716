"""Table downloads: CSV and Excel (.xlsx) bytes, personal data masked, named for the filter.

Every table the pages show can be downloaded through here (ui/downloads.py adds the
buttons). Columns keep their stable keys (DESIGN §2: "the key is the metric's stable name
in code, in the CLI's JSON and in exports"); the Excel file adds a sheet 说明 (about) with
the filter, the period and the as-of time. Personal data is masked by
``data_layer.domain.privacy.mask_personal`` (张*, 138****1234, and mobile and ID card numbers
inside any text column) unless the role may see it. No cell can run as a formula or open a
link: ``data_layer.domain.spreadsheet`` defuses text that starts like one (``'=HYPERLINK…``)
and every Excel string is written as a string.
"""

from __future__ import annotations

import io
import re

import polars as pl

from data_layer.domain import spreadsheet
from data_layer.domain.filters import Filter, Window
from data_layer.domain.labels import text
from data_layer.domain.privacy import mask_personal

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MAX_CODES_IN_NAME = 3


def _codes(kind: str, codes: tuple[str, ...]) -> str:
    if len(codes) > _MAX_CODES_IN_NAME:
        return (
            f"{kind}-{'+'.join(codes[:_MAX_CODES_IN_NAME])}+{len(codes) - _MAX_CODES_IN_NAME}more"
        )
    return f"{kind}-{'+'.join(codes)}"


def file_name(table: str, flt: Filter, window: Window | None, *, ext: str) -> str:
    """``gridpulse_<table>_<filter>_<period>_asof-<time>.<ext>``.

    The filter part lists street/community codes, categories and sources (``all`` when
    nothing is chosen; more than three codes are abbreviated); the period is
    ``<from>_<to>``. Only characters safe in a file name on Windows and Linux.
    """
    parts = ["gridpulse", table]
    chosen = [
        (kind, codes)
        for kind, codes in (
            ("street", flt.streets),
            ("community", flt.communities),
            ("category", flt.categories),
            ("source", flt.sources),
        )
        if codes
    ]
    parts += [_codes(kind, codes) for kind, codes in chosen] or ["all"]
    if window is not None:
        parts.append(f"{window.start:%Y%m%d}-{window.end:%Y%m%d}")
        parts.append(f"asof-{window.as_of:%Y%m%d-%H%M}")
    name = "_".join(parts)
    name = re.sub(r"[^0-9A-Za-z_+.\-\u4e00-\u9fff]", "-", name)
    return f"{name}.{ext}"


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Types every spreadsheet reads: lists joined, binaries dropped."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Binary or dtype == pl.Object:
            continue
        if isinstance(dtype, pl.List):
            exprs.append(pl.col(name).cast(pl.List(pl.String)).list.join(", ").alias(name))
        else:
            exprs.append(pl.col(name))
    return frame.select(exprs)


def _safe(frame: pl.DataFrame, *, allowed: bool) -> pl.DataFrame:
    # plain first: a list of strings is text only once joined, and must be masked as text
    return mask_personal(_plain(frame), allowed=allowed)


def csv_bytes(frame: pl.DataFrame, *, allowed: bool = False) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel opens the Chinese text correctly)."""
    return spreadsheet.csv_bytes(_safe(frame, allowed=allowed), datetime_format="%Y-%m-%d %H:%M:%S")


def describe(flt: Filter, window: Window | None, *, allowed: bool = False) -> list[tuple[str, str]]:
    """(item, value) rows of the 说明 sheet: the filter, period and as-of of an export."""
    rows = [
        ("streets 街道", ", ".join(flt.streets) or "all 全部"),
        ("communities 社区", ", ".join(flt.communities) or "all 全部"),
        ("categories 类别", ", ".join(flt.categories) or "all 全部"),
        ("sources 来源", ", ".join(flt.sources) or "all 全部"),
        ("basis 统计口径", f"{flt.basis} {text(f'basis.{flt.basis}', lang='zh')}"),
    ]
    if window is not None:
        rows += [
            ("period 统计期", f"{window.start} – {window.end}"),
            ("as_of 数据截至", window.as_of.isoformat(sep=" ", timespec="minutes")),
        ]
    rows.append(
        ("personal data 个人信息", "unmasked 未脱敏（有权限）" if allowed else "masked 已脱敏")
    )
    return rows


def xlsx_bytes(
    frame: pl.DataFrame,
    *,
    flt: Filter,
    window: Window | None,
    sheet: str = "data",
    allowed: bool = False,
) -> bytes:
    """An .xlsx workbook: the table (sheet ``sheet``) and a 说明 sheet with the filter."""
    import xlsxwriter

    buffer = io.BytesIO()
    data = spreadsheet.defuse_formulas(_safe(frame, allowed=allowed))
    with xlsxwriter.Workbook(buffer, {"in_memory": True, **spreadsheet.XLSX_OPTIONS}) as book:
        data.write_excel(
            book,
            worksheet=sheet[:31],
            autofit=True,
            float_precision=4,
            dtype_formats={pl.Datetime: "yyyy-mm-dd hh:mm", pl.Date: "yyyy-mm-dd"},
            freeze_panes=(1, 0),
        )
        about = book.add_worksheet("说明")
        bold = book.add_format({"bold": True})
        about.set_column(0, 0, 24)
        about.set_column(1, 1, 60)
        # the filter's codes come from the URL: text like any other
        for i, (item, value) in enumerate(describe(flt, window, allowed=allowed)):
            about.write_string(i, 0, item, bold)
            about.write_string(i, 1, spreadsheet.defuse_cell(value))
    return buffer.getvalue()
