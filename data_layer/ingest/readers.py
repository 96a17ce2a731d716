"""Readers for tabular exports: CSV (UTF-8, UTF-8 with BOM, UTF-16, GBK/GB18030), Excel
(.xlsx) and Open311 GeoReport v2 JSON.

Every reader yields batches of at most ``batch_rows`` rows as polars frames of strings (one
column per header) plus ``__row__`` — the row number a person sees in the file (CSV line,
spreadsheet row, 1-based JSON element) — and ``__error__``, set when the row itself is broken
(more fields than the header, a CSV syntax error), so the validator rejects it with a reason
instead of dropping it. CSV and Excel are streamed: memory stays bounded by the batch size.

The header row is found automatically (the row among the first 30 with most known headers), so
a spreadsheet with a title row above the header works; ``options.header_row`` overrides it.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_layer.ingest.archives import check_zip_file
from data_layer.ingest.mapping import Mapping, header_score
from data_layer.storage.source import DataError

ROW = "__row__"
ERROR = "__error__"
BATCH_ROWS = 100_000
HEADER_SCAN = 30
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

# ≈ 450,000 rows of a 13-column export (≈ 650 MB while calamine reads it)
CALAMINE_MAX_SHEET_BYTES = 256 << 20
TABULAR = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".json")


class FastPathFailed(DataError):
    """polars' reader gave up mid-file; the import restarts with the careful reader."""


@dataclass
class Table:
    """An open tabular source: headers, the batches, and what was detected."""

    headers: list[str]
    batches: Iterator[pl.DataFrame]
    format: str
    encoding: str | None = None
    header_row: int = 1
    size: int = 0
    position: Callable[[], int] = field(default=lambda: 0)  # bytes consumed (for progress)
    total_rows: int | None = None  # known up front by the fast CSV reader


def text_fields(batch: pl.DataFrame, header: dict[str, str], fields) -> pl.DataFrame:
    """ROW, ERROR and one stripped text column per field of ``fields`` (``header``: field →
    the file's header; empty → null, a field without a column → null)."""
    cols = {}
    for fld in fields:
        if fld in header:
            c = pl.col(header[fld]).str.strip_chars()
            cols[fld] = pl.when(c != "").then(c)
        else:
            cols[fld] = pl.lit(None, dtype=pl.String)
    return batch.select(pl.col(ROW), pl.col(ERROR), *(e.alias(f) for f, e in cols.items()))


def _dedupe(headers: list[object]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        name = (
            str(h).strip().replace("\ufeff", "")
            if h is not None and str(h).strip()
            else f"列{i + 1}"
        )
        if name in (ROW, ERROR):
            name = name.strip("_")
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        out.append(name)
    return out


def _frame(headers: list[str], rows: list[list], numbers: list[int], errors: list) -> pl.DataFrame:
    n = len(headers)
    cols = list(zip(*rows, strict=True)) if rows else [()] * n
    data = {h: pl.Series(h, cols[i], dtype=pl.String) for i, h in enumerate(headers)}
    data[ROW] = pl.Series(ROW, numbers, dtype=pl.Int64)
    data[ERROR] = pl.Series(ERROR, errors, dtype=pl.String)
    return pl.DataFrame(data)


def _pick_header(
    rows: list[tuple[int, list]], header_row: int | None, index: dict[str, str] | None = None
) -> int:
    """Index (into ``rows``) of the header row (``index``: the table's header aliases)."""
    if header_row:
        for i, (num, _) in enumerate(rows):
            if num == header_row:
                return i
        raise DataError(f"找不到第 {header_row} 行表头 / header row {header_row} not found")
    best, best_score = None, 1
    for i, (_, cells) in enumerate(rows):
        score = header_score(cells, index)
        if score > best_score:
            best, best_score = i, score
    if best is not None:
        return best
    for i, (_, cells) in enumerate(rows):  # no known header: the first non-empty row
        if sum(1 for c in cells if c not in (None, "")) >= 1:
            return i
    raise DataError("文件中没有表头和数据 / the file has no header and no data rows")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def detect_encoding(path: Path, forced: str | None = None) -> str:
    """UTF-8 (BOM or not), UTF-16 (BOM) or GB18030 (a superset of GBK and GB2312).

    The whole file is checked (in 16 MB chunks), so a GBK file whose first megabyte happens to
    be ASCII is not taken for UTF-8. Raises ``DataError`` for an empty or undecodable file.
    """
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"文件为空 / the file is empty: {path.name}")
    if forced:
        try:
            codecs.lookup(forced)
        except LookupError as exc:
            raise DataError(f"未知编码 / unknown encoding {forced!r}") from exc
        return forced
    with open(path, "rb") as fh:
        head = fh.read(4)
    candidates = ["utf-8", "gb18030"]
    if head.startswith(codecs.BOM_UTF8):
        candidates.insert(0, "utf-8-sig")
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates.insert(0, "utf-16")
    for enc in candidates:
        decoder = codecs.getincrementaldecoder(enc)()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(16 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return enc
        except UnicodeDecodeError:
            continue
    raise DataError(
        f"无法识别文件编码 / cannot tell the encoding of {path.name}: 既不是 UTF-8 也不是 GBK/GB18030。"
        "请在 Excel 中“另存为 CSV UTF-8”或 .xlsx 后重新导入，或在映射文件 [options] 中指定 encoding。"
    )


def _line_stats(path: Path) -> tuple[int, bool]:
    """(number of lines, file contains NUL bytes)."""
    lines, nul, last = 0, False, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(16 << 20):
            lines += chunk.count(b"\n")
            nul = nul or b"\x00" in chunk
            last = chunk[-1:]
    return lines + (1 if last and last != b"\n" else 0), nul


def _transcode(path: Path, enc: str, scratch: Path) -> Path:
    """A UTF-8 copy of a GBK / UTF-16 file (streamed), for the fast reader."""
    out = scratch / (path.stem + ".utf8.csv")
    decoder = codecs.getincrementaldecoder(enc)()
    with open(path, "rb") as src, open(out, "wb") as dst:
        while chunk := src.read(16 << 20):
            dst.write(decoder.decode(chunk).encode("utf-8"))
        dst.write(decoder.decode(b"", final=True).encode("utf-8"))
    return out


def _polars_batches(
    path: Path,
    enc: str,
    header_line: int,
    headers: list[str],
    delimiter: str,
    batch_rows: int,
    scratch: Path | None,
) -> tuple[Iterator[pl.DataFrame], int] | None:
    """Fast path: polars' CSV reader, used only when every record is exactly one line (so the
    row numbers are exact) and no line has more fields than the header; None otherwise (the
    Python csv reader then reads the file and reports such lines)."""
    n_lines, nul = _line_stats(path)
    if nul or scratch is None:
        return None
    src = path if enc in ("utf-8", "utf-8-sig") else _transcode(path, enc, scratch)
    opts = dict(
        separator=delimiter,
        has_header=True,
        skip_lines=header_line - 1,
        infer_schema=False,
        new_columns=headers,
        truncate_ragged_lines=False,
        quote_char='"',
        raise_if_empty=False,
    )
    try:
        lf = pl.scan_csv(src, **opts)
        if len(lf.collect_schema()) != len(headers):
            return None
        rows = lf.select(pl.len()).collect().item()
    except Exception:  # ragged lines, odd quoting …: the careful reader takes over
        return None
    if rows != n_lines - header_line:
        return None  # a record spans lines (quoted newline): row numbers need the careful reader
    # a line with more separators than the header could be a ragged row, which polars would
    # refuse mid-way; quoted separators only make this count larger, so it is a safe test
    try:
        most = (
            pl.scan_csv(
                src,
                has_header=False,
                separator="\x1f",
                quote_char=None,
                infer_schema=False,
                new_columns=["line"],
                truncate_ragged_lines=True,
            )
            .select(pl.col("line").str.count_matches(delimiter, literal=True).max())
            .collect()
            .item()
        )
    except Exception:
        return None
    if most is not None and most > len(headers) - 1:
        return None

    def batches() -> Iterator[pl.DataFrame]:
        lf2 = pl.scan_csv(src, row_index_name=ROW, row_index_offset=header_line + 1, **opts)
        lf2 = lf2.with_columns(
            pl.col(ROW).cast(pl.Int64), pl.lit(None, dtype=pl.String).alias(ERROR)
        )
        blank = pl.all_horizontal(pl.col(h).is_null() for h in headers)
        try:
            for batch in lf2.collect_batches(chunk_size=batch_rows):
                yield batch.filter(~blank).select(*headers, ROW, ERROR)
        except pl.exceptions.PolarsError as exc:  # e.g. a quoting error found mid-file
            raise FastPathFailed(str(exc).splitlines()[0]) from exc

    return batches(), rows


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass
class _CsvHead:
    """The first records of a CSV file, read through the Python csv reader."""

    raw: io.BufferedReader  # the open file (the batches close it)
    reader: Iterator[list[str]]  # the csv reader over the file's lines
    records: Iterator[tuple[int, list | None, str | None]]  # (line, record | None, error)
    delimiter: str
    scanned: list[tuple[int, list]]  # (line, cells) of the first non-blank records
    triples: list[tuple[int, list | None, str | None]]  # the same, as records


def read_csv(
    path: Path,
    *,
    header_row: int | None = None,
    encoding: str | None = None,
    batch_rows: int = BATCH_ROWS,
    scratch: Path | None = None,
    fast: bool = True,
    header_index: dict[str, str] | None = None,
) -> Table:
    """Detect the encoding, read the first records, pick the header; then polars' fast
    reader when the file allows it (``_polars_batches``), else the careful Python reader."""
    enc = detect_encoding(path, encoding)
    head = _read_head(path, enc)
    h = _pick_header(head.scanned, header_row, header_index)
    headers = _dedupe(head.scanned[h][1])
    line = head.scanned[h][0]
    table = Table(
        headers=headers,
        batches=iter(()),
        format="csv",
        encoding=enc,
        header_row=line,
        size=path.stat().st_size,
    )
    clean = not any(err for _, _, err in head.triples)
    polars_read = None
    if fast and scratch is not None and clean:
        polars_read = _polars_batches(path, enc, line, headers, head.delimiter, batch_rows, scratch)
    if polars_read is not None:
        head.raw.close()
        table.batches, table.total_rows = polars_read
        return table
    table.batches = _careful_batches(head, head.triples[h + 1 :], len(headers), enc, batch_rows)
    table.batches = _named(table.batches, headers)
    raw = head.raw
    table.position = lambda: raw.tell() if not raw.closed else table.size
    return table


def _read_head(path: Path, enc: str) -> _CsvHead:
    """Open the file, sniff the delimiter on the first lines and parse the first
    ``HEADER_SCAN`` records (the header is among them); the record stream goes on from there."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the batch generator
    text = io.TextIOWrapper(raw, encoding=enc, newline="", errors="strict")
    src = (line.replace("\x00", "") if "\x00" in line else line for line in text)
    try:
        head_lines = list(itertools.islice(src, HEADER_SCAN))
    except UnicodeDecodeError as exc:
        raw.close()
        raise DataError(f"文件编码错误 / encoding error ({enc}): {exc}") from exc
    first = next((ln for ln in head_lines if ln.strip()), "")
    delimiter = _sniff_delimiter(first)
    reader = csv.reader(itertools.chain(head_lines, src), delimiter=delimiter)
    records = _records(reader)
    scanned: list[tuple[int, list]] = []
    triples: list[tuple[int, list | None, str | None]] = []
    try:
        for num, rec, err in records:
            scanned.append((num, rec if rec is not None else []))
            triples.append((num, rec, err))
            if len(scanned) >= HEADER_SCAN or reader.line_num >= len(head_lines):
                break
    except UnicodeDecodeError as exc:
        raw.close()
        raise DataError(f"文件编码错误 / encoding error ({enc}): {exc}") from exc
    if not scanned:
        raw.close()
        raise DataError(f"文件中没有数据 / the file has no rows: {path.name}")
    return _CsvHead(raw, reader, records, delimiter, scanned, triples)


def _records(reader) -> Iterator[tuple[int, list | None, str | None]]:
    """(first line, record, None) per non-blank record; (first line, None, error) for a
    record the csv module refuses."""
    prev = 0
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            start, prev = prev + 1, reader.line_num
            yield start, None, f"CSV 格式错误 / malformed CSV: {exc}"
            continue
        start, prev = prev + 1, reader.line_num
        if not rec or all(not c.strip() for c in rec):
            continue  # blank line: not a row
        yield start, rec, None


def _fit_record(rec: list | None, err: str | None, n: int) -> tuple[list, str | None]:
    """A record cut or padded to ``n`` fields; a value beyond the last header is an error."""
    if rec is None:
        return [None] * n, err
    if len(rec) > n and any(c.strip() for c in rec[n:]):
        return rec[:n], f"字段数 {len(rec)} 多于表头 {n} 列 / {len(rec)} fields, header has {n}"
    if len(rec) != n:
        return (rec + [None] * n)[:n], err
    return rec, err


def _careful_batches(
    head: _CsvHead,
    pending: list[tuple[int, list | None, str | None]],
    n: int,
    enc: str,
    batch_rows: int,
) -> Iterator[tuple[list[list], list[int], list[str | None]]]:
    """The Python csv reader's records after the header, ``batch_rows`` at a time, as
    (rows, row numbers, errors)."""
    rows: list[list] = []
    numbers: list[int] = []
    errors: list[str | None] = []
    try:
        for num, rec, err in itertools.chain(pending, head.records):
            cells, err = _fit_record(rec, err, n)
            rows.append(cells)
            numbers.append(num)
            errors.append(err)
            if len(rows) >= batch_rows:
                yield rows, numbers, errors
                rows, numbers, errors = [], [], []
    except UnicodeDecodeError as exc:
        raise DataError(
            f"文件编码错误 / encoding error ({enc}) near line {head.reader.line_num + 1}: {exc.reason}"
        ) from exc
    finally:
        head.raw.close()
    if rows:
        yield rows, numbers, errors


def _named(parts, headers: list[str]) -> Iterator[pl.DataFrame]:
    for rows, numbers, errors in parts:
        yield _frame(headers, rows, numbers, errors)


# --------------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------------


def cell_text(value: object) -> str | None:
    """A spreadsheet cell as text: datetimes ISO, whole floats without '.0', text stripped."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    text = str(value).strip()
    return text or None


def read_excel(
    path: Path,
    *,
    header_row: int | None = None,
    sheet: str | None = None,
    batch_rows: int = BATCH_ROWS,
    header_index: dict[str, str] | None = None,
) -> Table:
    """An .xlsx through calamine (``fastexcel``, the engine of ``polars.read_excel``): every
    cell as text, row numbers as in the spreadsheet. A workbook calamine cannot open is read
    once more with openpyxl (``read_excel_openpyxl``), which also says why it cannot.

    calamine holds the whole sheet in memory (about 2.4 bytes per byte of the sheet's XML); a
    sheet larger than ``CALAMINE_MAX_SHEET_BYTES`` is streamed by openpyxl instead (slower,
    memory bounded by the batch)."""
    _check_workbook_file(path)
    if _largest_sheet_bytes(path) > CALAMINE_MAX_SHEET_BYTES:
        return read_excel_openpyxl(
            path,
            header_row=header_row,
            sheet=sheet,
            batch_rows=batch_rows,
            header_index=header_index,
        )
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        loaded = reader.load_sheet(
            sheet if sheet else 0, header_row=None, skip_rows=0, dtypes="string"
        )
        batch, errors = loaded.to_arrow_with_errors()
        del loaded, reader  # calamine's copy of the sheet
        cells = _with_error_cells(pl.from_arrow(batch), errors.errors if errors else [])
        del batch
    except fastexcel.SheetNotFoundError as exc:
        raise DataError(f"找不到工作表 / sheet not found: {sheet}") from exc
    except Exception:  # noqa: BLE001 - calamine refused it: openpyxl tries, and says why
        return read_excel_openpyxl(
            path,
            header_row=header_row,
            sheet=sheet,
            batch_rows=batch_rows,
            header_index=header_index,
        )
    return _sheet_table(
        path,
        _sheet_text(cells),
        header_row=header_row,
        batch_rows=batch_rows,
        header_index=header_index,
    )


# calamine's cell error → the text Excel shows (and openpyxl reads)
EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
}


def _with_error_cells(cells: pl.DataFrame, errors: list) -> pl.DataFrame:
    """Error cells (a formula's cached ``#DIV/0!``) as their text, as openpyxl reads them:
    calamine leaves them null and lists them apart."""
    by_column: dict[int, list[tuple[int, str]]] = {}
    for err in errors:
        kind = re.search(r"Error\((\w+)\)", err.detail)
        if kind:
            text = EXCEL_ERRORS.get(kind.group(1), f"#{kind.group(1).upper()}")
            by_column.setdefault(err.position[1], []).append((err.position[0], text))
    fixed = []
    for j, found in by_column.items():
        rows, texts = zip(*found, strict=True)
        fixed.append(cells.to_series(j).clone().scatter(list(rows), list(texts)))
    return cells.with_columns(fixed) if fixed else cells


def _largest_sheet_bytes(path: Path) -> int:
    """The unpacked size of the workbook's largest worksheet XML (0 when it is not a zip)."""
    try:
        with zipfile.ZipFile(path) as zf:
            sizes = [i.file_size for i in zf.infolist() if i.filename.startswith("xl/worksheets/")]
    except zipfile.BadZipFile:
        return 0
    return max(sizes, default=0)


def _check_workbook_file(path: Path) -> None:
    if path.stat().st_size == 0:
        raise DataError(f"文件为空 / the file is empty: {path.name}")
    if zipfile.is_zipfile(path):  # an .xlsx is a zip: its limits hold before a reader unpacks it
        check_zip_file(path, nested_allowed=True)  # a workbook may embed another


def _sheet_text(cells: pl.DataFrame) -> pl.DataFrame:
    """calamine's text of the cells as ``cell_text`` writes them: stripped, empty → null, a
    time-only cell as its time (calamine dates it 1899-12-31)."""
    cols = [f"c{i}" for i in range(cells.width)]
    text = pl.all().str.strip_chars()
    return cells.rename(dict(zip(cells.columns, cols, strict=True))).select(
        pl.when(text != "")
        .then(text.str.replace(r"^1899-12-3[01] (\d\d:\d\d:\d\d(?:\.\d+)?)$", "${1}"))
        .name.keep()
    )


def _sheet_table(
    path: Path,
    cells: pl.DataFrame,
    *,
    header_row: int | None,
    batch_rows: int,
    header_index: dict[str, str] | None = None,
) -> Table:
    """The header among the first rows of a sheet of text cells, then the rows below it in
    batches (blank rows skipped, a value right of the last header an error)."""
    top = cells.head(HEADER_SCAN).rows()
    scanned = [(i + 1, list(r)) for i, r in enumerate(top) if any(c is not None for c in r)]
    if not scanned:
        raise DataError(f"工作表为空 / the sheet is empty: {path.name}")
    h = _pick_header(scanned, header_row, header_index)
    header_cells = scanned[h][1]
    while header_cells and header_cells[-1] is None:
        header_cells = header_cells[:-1]
    headers = _dedupe(header_cells)
    n, first = len(headers), scanned[h][0]
    inside, beyond = cells.columns[:n], cells.columns[n:]
    body = cells.slice(first).with_columns(
        pl.int_range(first + 1, first + 1 + pl.len(), dtype=pl.Int64).alias(ROW)
    )
    body = body.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in cells.columns))
    extra = pl.any_horizontal(pl.col(c).is_not_null() for c in beyond) if beyond else pl.lit(False)
    body = body.select(
        *(pl.col(c).alias(hd) for c, hd in zip(inside, headers, strict=True)),
        pl.col(ROW),
        pl.when(extra)
        .then(pl.lit(EXCEL_BEYOND.format(n=n + 1)))
        .otherwise(None)
        .cast(pl.String)
        .alias(ERROR),
    )
    del cells

    def batches() -> Iterator[pl.DataFrame]:
        yield from body.iter_slices(batch_rows)

    return Table(
        headers=headers,
        batches=batches(),
        format="xlsx",
        header_row=first,
        size=path.stat().st_size,
        total_rows=body.height,
    )


EXCEL_BEYOND = "第 {n} 列之后还有数据，但没有表头 / values beyond the last header column"


def read_excel_openpyxl(
    path: Path,
    *,
    header_row: int | None = None,
    sheet: str | None = None,
    batch_rows: int = BATCH_ROWS,
    header_index: dict[str, str] | None = None,
) -> Table:
    """The careful, slower reader (openpyxl, streamed): for a workbook calamine cannot open."""
    _check_workbook_file(path)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise DataError(
            f"无法打开 Excel 文件 / cannot open the workbook {path.name}: {type(exc).__name__}. "
            "只支持 .xlsx；旧版 .xls 请在 Excel 中另存为 .xlsx 或 CSV。"
        ) from exc
    try:
        ws = wb[sheet] if sheet else wb.worksheets[0]
    except (KeyError, IndexError) as exc:
        wb.close()
        raise DataError(f"找不到工作表 / sheet not found: {sheet}") from exc
    rows_iter = ws.iter_rows(values_only=True)
    scanned: list[tuple[int, list]] = []
    number = 0
    for values in rows_iter:
        number += 1
        cells = [cell_text(v) for v in values]
        if any(c is not None for c in cells):
            scanned.append((number, cells))
        if number >= HEADER_SCAN:
            break
    if not scanned:
        wb.close()
        raise DataError(f"工作表为空 / the sheet is empty: {path.name}")
    h = _pick_header(scanned, header_row, header_index)
    header_cells = scanned[h][1]
    while header_cells and header_cells[-1] is None:
        header_cells = header_cells[:-1]
    headers = _dedupe(header_cells)
    n = len(headers)
    pending = scanned[h + 1 :]

    def batches() -> Iterator[pl.DataFrame]:
        nonlocal number
        rows, numbers, errors = [], [], []

        def add(num: int, cells: list) -> None:
            err = None
            if len(cells) > n and any(c is not None for c in cells[n:]):
                err = EXCEL_BEYOND.format(n=n + 1)
            rows.append((list(cells) + [None] * n)[:n])
            numbers.append(num)
            errors.append(err)

        try:
            for num, cells in pending:
                add(num, cells)
            for values in rows_iter:
                number += 1
                cells = [cell_text(v) for v in values]
                if all(c is None for c in cells):
                    continue
                add(number, cells)
                if len(rows) >= batch_rows:
                    yield _frame(headers, rows, numbers, errors)
                    rows, numbers, errors = [], [], []
        finally:
            wb.close()
        if rows:
            yield _frame(headers, rows, numbers, errors)

    return Table(
        headers=headers,
        batches=batches(),
        format="xlsx",
        header_row=scanned[h][0],
        size=path.stat().st_size,
    )


# --------------------------------------------------------------------------------------------
# Open311 GeoReport v2 JSON
# --------------------------------------------------------------------------------------------

OPEN311_LIST_KEYS = ("service_requests", "requests", "data", "records", "rows", "items")


def read_json(path: Path, *, batch_rows: int = BATCH_ROWS, **_: object) -> Table:
    """Open311 GeoReport v2 ``requests.json``: a list of service requests (or an object with
    that list under ``service_requests``/``requests``/``data``…)."""
    if path.stat().st_size == 0:
        raise DataError(f"文件为空 / the file is empty: {path.name}")
    enc = detect_encoding(path)
    try:
        doc = json.loads(path.read_text(encoding=enc))
    except json.JSONDecodeError as exc:
        raise DataError(f"JSON 格式错误 / not valid JSON: {exc}") from exc
    if isinstance(doc, dict):
        items = next((doc[k] for k in OPEN311_LIST_KEYS if isinstance(doc.get(k), list)), None)
        if items is None:
            items = [doc] if "service_request_id" in doc else None
    else:
        items = doc if isinstance(doc, list) else None
    if items is None:
        raise DataError("JSON 中没有服务请求列表 / no list of service requests in the JSON")
    headers: list[str] = []
    seen: set[str] = set()
    for item in items:
        if isinstance(item, dict):
            for k in item:
                if k not in seen:
                    seen.add(k)
                    headers.append(k)
    headers = _dedupe(headers)

    def text(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, dict | list):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    def batches() -> Iterator[pl.DataFrame]:
        for start in range(0, len(items), batch_rows):
            rows, numbers, errors = [], [], []
            for i, item in enumerate(items[start : start + batch_rows], start=start + 1):
                if isinstance(item, dict):
                    rows.append([text(item.get(h)) for h in headers])
                    errors.append(None)
                else:
                    rows.append([None] * len(headers))
                    errors.append(f"第 {i} 个元素不是对象 / element is not an object")
                numbers.append(i)
            yield _frame(headers, rows, numbers, errors)

    return Table(
        headers=headers, batches=batches(), format="open311", encoding=enc, size=path.stat().st_size
    )


def open_table(
    path: Path | str,
    *,
    header_row: int | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    batch_rows: int = BATCH_ROWS,
    scratch: Path | None = None,
    fast: bool = True,
    header_index: dict[str, str] | None = None,
) -> Table:
    """Open a CSV / Excel / JSON file by its extension (``scratch``: a folder for a UTF-8 copy
    of a GBK file, enabling the fast CSV reader; ``header_index``: the header aliases that
    find the header row, default the cases')."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"文件不存在 / file not found: {path}")
    ext = path.suffix.lower()
    if ext in (".csv", ".txt", ".tsv"):
        return read_csv(
            path,
            header_row=header_row,
            encoding=encoding,
            batch_rows=batch_rows,
            scratch=scratch,
            fast=fast,
            header_index=header_index,
        )
    if ext in (".xlsx", ".xlsm"):
        return read_excel(
            path,
            header_row=header_row,
            sheet=sheet,
            batch_rows=batch_rows,
            header_index=header_index,
        )
    if ext == ".json":
        return read_json(path, batch_rows=batch_rows)
    if ext == ".xls":
        raise DataError(
            "不支持旧版 .xls / old .xls is not supported: 请在 Excel 中另存为 .xlsx 或 CSV UTF-8。"
        )
    raise DataError(
        f"不支持的文件类型 / unsupported file type {ext or '(none)'}: 案件请用 .csv / .xlsx / .json。"
    )


def open_cases_file(
    path: Path | str,
    mapping: Mapping,
    *,
    scratch: Path | None = None,
    fast: bool = True,
    header_index: dict[str, str] | None = None,
) -> Table:
    """``open_table`` with the mapping file's [options] (header row, encoding, sheet, batch);
    ``header_index``: another table's header aliases (default the cases')."""
    header_row = mapping.option("header_row")
    return open_table(
        path,
        scratch=scratch,
        fast=fast,
        header_index=header_index,
        header_row=int(header_row) if header_row else None,
        encoding=mapping.option("encoding"),
        sheet=mapping.option("sheet"),
        batch_rows=int(mapping.option("batch_rows", 100_000)),
    )
