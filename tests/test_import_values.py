"""Import values and messages (issue 15): two-digit years, date formats in the mapping file,
the date messages, warnings for inconsistent rows, the whole header list, the district of
imported streets, the fast .xlsx and CSV readers.

Every expected value is written out by hand on inputs of a few rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile

import openpyxl
import polars as pl
import pytest
from fixtures_tiny import G1
from test_import_cases import HEADER, NOW, good_rows, one, write_csv

from data_layer.cli import main as cli_main
from data_layer.ingest import Mapping, run_import
from data_layer.ingest.check import check_dataset
from data_layer.ingest.readers import read_csv, read_excel, read_excel_openpyxl
from data_layer.ingest.values import parse_datetime
from data_layer.storage.source import DataError, open_dataset


def parsed(values: list[str | None], fmt: str | None = None) -> list[tuple]:
    v, err = parse_datetime(pl.DataFrame({"t": values}, schema={"t": pl.String}), "t", fmt)
    return list(zip(v.to_list(), err.to_list(), strict=True))


def rows_with(**cols: str) -> list[list[str]]:
    """One good row with some columns (by header index) replaced."""
    row = good_rows(1, "V")[0]
    for i, value in cols.items():
        row[int(i.strip("c"))] = value
    return [row]


# --------------------------------------------------------------------------------------------
# dates
# --------------------------------------------------------------------------------------------


def test_two_digit_years_take_pythons_century():
    assert parsed(["1/1/20 0:05", "12/31/68 23:59", "1/1/69 0:00", "20-03-01 08:05"]) == [
        (dt.datetime(2020, 1, 1, 0, 5), None),
        (dt.datetime(2068, 12, 31, 23, 59), None),
        (None, "year_out_of_range"),  # 69 → 1969, before 1990
        (dt.datetime(2020, 3, 1, 8, 5), None),
    ]


def test_dates_that_are_not_dates_are_told_apart():
    assert parsed(["2024-02-30 08:00", "2024-03-01 25:00", "下周一", "0201-03-01"]) == [
        (None, "impossible"),
        (None, "impossible"),
        (None, "unrecognised"),
        (None, "year_out_of_range"),
    ]


def test_a_us_311_export_with_two_digit_years_imports_every_row(tiny_dir, tmp_path):
    rows = good_rows(3)
    for row in rows:
        row[4], row[5], row[6] = "3/1/25 8:05", "3/1/25 9:00", "3/2/25 10:00"
    r = one(run_import(tiny_dir, cases=write_csv(tmp_path / "us.csv", rows), now=NOW))
    assert (r.read, r.imported, r.rejected) == (3, 3, 0)
    cases = open_dataset(tiny_dir)["cases"].filter(pl.col("case_id") == "N0")
    assert cases["reported_at"].item() == dt.datetime(2025, 3, 1, 8, 5)
    assert cases["closed_at"].item() == dt.datetime(2025, 3, 2, 10, 0)


def test_date_format_option_and_per_column_formats(tiny_dir, tmp_path):
    rows = good_rows(1)
    rows[0][4], rows[0][5], rows[0][6] = "01/03/25 08:05", "01/03/25 09:00", "2025.03.02 10h00"
    mapping = Mapping.from_toml(
        '[options]\ndate_format = "%d/%m/%y %H:%M"\n[date_formats]\nclosed_at = "%Y.%m.%d %Hh%M"\n'
    )
    src = write_csv(tmp_path / "dmy.csv", rows)
    r = one(run_import(tiny_dir, cases=src, mapping=mapping, now=NOW))
    assert r.imported == 1
    case = open_dataset(tiny_dir)["cases"].filter(pl.col("case_id") == "N0").row(0, named=True)
    # day first: 1 March, not 3 January
    assert case["reported_at"] == dt.datetime(2025, 3, 1, 8, 5)
    assert case["closed_at"] == dt.datetime(2025, 3, 2, 10, 0)
    # the mapping file round-trips its formats
    again = Mapping.from_toml(mapping.to_toml())
    assert again.date_format("closed_at") == "%Y.%m.%d %Hh%M"
    assert again.date_format("reported_at") == "%d/%m/%y %H:%M"


@pytest.mark.parametrize(
    "toml, named",
    [
        ('[options]\ndate_format = "yyyy-mm-dd"', "[options] date_format"),
        ('[options]\ndate_format = "%H:%M"', "[options] date_format"),
        ("[date_formats]\nreported_at = 5", "[date_formats] reported_at"),
        ('[date_formats]\nwhen = "%Y-%m-%d"', "when"),
    ],
)
def test_a_bad_date_format_stops_when_the_mapping_loads(toml, named):
    with pytest.raises(DataError) as err:
        Mapping.from_toml(toml)
    assert named in str(err.value) and "%m/%d/%y %H:%M" in str(err.value)


def test_date_messages_quote_the_value_and_the_fix(tiny_dir, tmp_path):
    rows = rows_with(c4="下周一") + good_rows(1, "I")
    rows[1][4] = "2025-02-30 08:00"
    r = one(run_import(tiny_dir, cases=write_csv(tmp_path / "m.csv", rows), now=NOW))
    by_reason = {x["reason"]: x for x in r.report.iter_rows(named=True)}
    unrec = by_reason["unrecognised"]
    assert unrec["column"] == "上报时间" and unrec["value"] == "下周一"
    assert "date_format" in unrec["message"] and unrec["message"].endswith(": 下周一")
    assert "unrecognised date format" in unrec["message"]
    impossible = by_reason["impossible"]
    assert "2 月 30 日" in impossible["message"] and "date_format" not in impossible["message"]


# --------------------------------------------------------------------------------------------
# warnings: the row lands, and is listed
# --------------------------------------------------------------------------------------------

HEADER_UPDATED = [*HEADER, "更新时间", "处置时间", "核查时间"]


def test_each_warning_lands_the_row_and_lists_it(tiny_dir, tmp_path):
    fine = [*good_rows(1, "F")[0], "2025-03-02 11:00", "", ""]
    open_but_closed = [*good_rows(1, "O")[0], "", "", ""]
    open_but_closed[7] = "处置中"  # status open, closing time 2025-03-02 10:00
    updated_early = [*good_rows(1, "U")[0], "2025-02-28 08:00", "", ""]  # before 2025-03-01
    verified_early = [*good_rows(1, "W")[0], "", "2025-03-02 09:00", "2025-03-02 08:00"]
    rows = [fine, open_but_closed, updated_early, verified_early]
    src = write_csv(tmp_path / "w.csv", rows, header=HEADER_UPDATED)
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.read, r.imported, r.rejected, r.warned) == (4, 4, 0, 3)
    warnings = r.report.filter(pl.col("severity") == "warning").sort("row")
    assert warnings.select("row", "column", "reason").rows() == [
        (3, "状态", "open_status_with_closing_time"),
        (4, "更新时间", "updated_before_reported"),  # also before its closing time
        (4, "更新时间", "time_order_warning"),
        (5, "核查时间", "time_order_warning"),
    ]
    assert "counted as closed at 办结时间" in warnings["message"][0]
    assert "处置中" == warnings["value"][0]
    assert "有警告 with warnings 3" in r.summary()
    # counted as the message says: the open-status case is closed at its closing time
    case = open_dataset(tiny_dir)["cases"].filter(pl.col("case_id") == "O0")
    assert case["closed_at"].item() == dt.datetime(2025, 3, 2, 10, 0)


def test_a_rejected_row_gets_no_warning(tiny_dir, tmp_path):
    row = [*good_rows(1, "R")[0], "2025-02-28 08:00", "", ""]
    row[1] = "360102001001999"  # unknown grid: rejected
    src = write_csv(
        tmp_path / "r.csv", [row, [*good_rows(1)[0], "", "", ""]], header=HEADER_UPDATED
    )
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.read, r.imported, r.rejected, r.warned) == (2, 1, 1, 0)
    assert r.report["severity"].to_list() == ["rejected"]


def test_check_lists_the_same_inconsistencies(tiny_dir, tmp_path):
    row = [*good_rows(1, "U")[0], "2025-02-28 08:00", "", ""]
    one(run_import(tiny_dir, cases=write_csv(tmp_path / "u.csv", [row], HEADER_UPDATED), now=NOW))
    found = [str(p) for p in check_dataset(open_dataset(tiny_dir), geometry=False)]
    assert any(p.startswith("cases.updated_at: 早于 reported_at") for p in found), found


# --------------------------------------------------------------------------------------------
# headers, district
# --------------------------------------------------------------------------------------------


def test_the_header_list_is_shown_whole(tiny_dir, tmp_path):
    header = [f"列头{i}" for i in range(1, 42)]
    src = write_csv(tmp_path / "h.csv", [["值"] * 41], header=header)
    with pytest.raises(DataError) as err:
        run_import(tiny_dir, cases=src, now=NOW)
    assert "列头40, 列头41." in str(err.value) and "41" in str(err.value)


def street_geojson(tmp_path, props: dict) -> str:
    x0, y0, d = 115.90, 28.68, 0.04
    ring = [[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"street_code": "360102001", "name": "德桂街道", **props},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    path = tmp_path / "streets.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_streets_carry_the_district_given_on_the_command_line(tmp_path):
    data = tmp_path / "data"
    src = street_geojson(tmp_path, {})
    args = ["import", "--data", str(data), "--boundaries", str(src), "--level", "street"]
    assert cli_main([*args, "--district", "东湖区"]) == 0
    assert open_dataset(data)["streets"]["district"].to_list() == ["东湖区"]


def test_streets_district_from_the_mapping_or_the_file(tmp_path):
    mapping = Mapping.from_toml('[options]\ndistrict = "西湖区"')
    (r,) = run_import(
        tmp_path / "a", boundaries=street_geojson(tmp_path, {}), level="street", mapping=mapping
    )
    assert r.imported == 1
    assert open_dataset(tmp_path / "a")["streets"]["district"].to_list() == ["西湖区"]
    # the file's own attribute wins over the option
    src = street_geojson(tmp_path, {"区县": "青山湖区"})
    run_import(tmp_path / "b", boundaries=src, level="street", mapping=mapping)
    assert open_dataset(tmp_path / "b")["streets"]["district"].to_list() == ["青山湖区"]


# --------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------


def tricky_workbook(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["东湖区 事件导出"])  # a title row
    ws.append([])
    ws.append(["事件编号", "上报时间", "网格编码", "返工次数", "是否缓办", "备注", None])
    ws.append(["0012", dt.datetime(2025, 3, 1, 8, 5), "360102001001001", 3.0, True, "=1+2"])
    ws.append(["  A2 ", "2025/3/1 8:05", 360102001001001, 2.5, False, "   "])
    ws.append([])  # a blank row is not a row
    ws.append(["A3", 45719.375, "007", -0.25, None, '=HYPERLINK("x")', None, "右边"])
    ws.append(["A4", dt.date(2025, 3, 2), None, 0, "否", "line\nbreak"])
    cell = ws.cell(row=9, column=2, value=45719)  # 2025-03-03
    cell.number_format = "yyyy-mm-dd"  # a serial shown as a date is a date
    ws.cell(row=9, column=1, value="A5")
    wb.save(path)
    return path


def test_fast_xlsx_reader_reads_what_openpyxl_reads(tmp_path):
    path = tricky_workbook(tmp_path / "t.xlsx")
    fast, careful = read_excel(path), read_excel_openpyxl(path)
    assert (
        fast.headers
        == careful.headers
        == ["事件编号", "上报时间", "网格编码", "返工次数", "是否缓办", "备注"]
    )
    assert fast.header_row == careful.header_row == 3
    a, b = pl.concat(list(fast.batches)), pl.concat(list(careful.batches))
    assert a.equals(b), (a, b)
    assert a["__row__"].to_list() == [4, 5, 7, 8, 9]
    assert a["事件编号"].to_list() == ["0012", "A2", "A3", "A4", "A5"]  # leading zeros kept
    assert a["上报时间"].to_list() == [
        "2025-03-01 08:05:00",
        "2025/3/1 8:05",
        "45719.375",  # an Excel serial typed as a number: the date parser reads it
        "2025-03-02 00:00:00",
        "2025-03-03 00:00:00",  # serial 45719 with a date format
    ]
    assert a["备注"].to_list()[:2] == [None, None]  # formula without a cached value, blanks
    assert a["__error__"].is_not_null().to_list() == [False, False, True, False, False]


def test_an_error_cell_reads_as_excel_shows_it(tmp_path):
    """A formula's cached error (#DIV/0!) is text, as openpyxl reads it, not an empty cell."""
    wb = openpyxl.Workbook()
    wb.active.append(["事件编号", "上报时间"])
    wb.active.append(["A1", "placeholder"])
    wb.save(tmp_path / "plain.xlsx")
    with (
        zipfile.ZipFile(tmp_path / "plain.xlsx") as src,
        zipfile.ZipFile(tmp_path / "e.xlsx", "w") as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(
                    rb'<c r="B2"[^>]*>.*?</c>',
                    b'<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
                    data,
                )
            dst.writestr(info, data)
    fast = pl.concat(list(read_excel(tmp_path / "e.xlsx").batches))
    careful = pl.concat(list(read_excel_openpyxl(tmp_path / "e.xlsx").batches))
    assert fast["上报时间"].to_list() == careful["上报时间"].to_list() == ["#DIV/0!"]


def test_fast_xlsx_reader_batches_and_sheet_errors(tmp_path):
    path = tricky_workbook(tmp_path / "t.xlsx")
    batches = list(read_excel(path, batch_rows=2).batches)
    assert [b.height for b in batches] == [2, 2, 1]
    with pytest.raises(DataError, match="sheet not found"):
        read_excel(path, sheet="nope")


def test_a_huge_sheet_is_streamed_by_openpyxl(tmp_path, monkeypatch):
    from data_layer.ingest import readers

    path = tricky_workbook(tmp_path / "t.xlsx")
    used = []
    careful = readers.read_excel_openpyxl
    monkeypatch.setattr(
        readers, "read_excel_openpyxl", lambda *a, **k: used.append(1) or careful(*a, **k)
    )
    readers.read_excel(path)
    assert used == []
    monkeypatch.setattr(readers, "CALAMINE_MAX_SHEET_BYTES", 100)
    table = readers.read_excel(path)
    assert used == [1] and pl.concat(list(table.batches)).height == 5


def test_the_fast_csv_path_runs(tmp_path):
    src = write_csv(tmp_path / "f.csv", good_rows(3))
    table = read_csv(src, scratch=tmp_path)
    assert table.total_rows == 3  # only polars' reader counts the rows up front
    assert pl.concat(list(table.batches))["__row__"].to_list() == [2, 3, 4]
    careful = read_csv(src, scratch=tmp_path, fast=False)
    assert careful.total_rows is None
    assert pl.concat(list(careful.batches))["事件编号"].to_list() == ["N0", "N1", "N2"]


def test_xlsx_import_of_a_tricky_workbook_reconciles(tiny_dir, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append([*good_rows(1, "X")[0][:4], dt.datetime(2025, 3, 1, 8, 5), None, None, "处置中"])
    ws.append(["X2", int(G1), "环境", "网格员", "1/3/25 8:05", None, None, "处置中"])
    wb.save(tmp_path / "x.xlsx")
    r = one(run_import(tiny_dir, cases=tmp_path / "x.xlsx", now=NOW))
    assert (r.read, r.imported, r.rejected) == (2, 2, 0)
    cases = open_dataset(tiny_dir)["cases"].filter(pl.col("case_id").is_in(["X0", "X2"]))
    got = cases.sort("case_id")["reported_at"].to_list()
    assert got == [dt.datetime(2025, 3, 1, 8, 5), dt.datetime(2025, 1, 3, 8, 5)]


def test_a_table_date_that_is_no_date_is_rejected_and_date_format_reads_it(tiny_dir, tmp_path):
    header = ["活动编号", "队伍编号", "所属社区", "活动日期", "服务时长", "参与人数", "活动类型"]
    rows = [
        ["h1", "t1", "一社区", "10.03.2025", "6", "3", "文化活动"],
        ["h2", "t1", "一社区", "下周一", "6", "3", "文化活动"],
    ]
    src = tmp_path / "活动.csv"
    src.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    (r,) = run_import(tiny_dir, table="activities", file=src, now=NOW, dry_run=True)
    assert r.read == r.imported + r.rejected == 2
    assert dict(r.report.select("row", "reason").rows()) == {2: "unrecognised", 3: "unrecognised"}
    mapping = tmp_path / "m.toml"  # a table's mapping file: its own date fields
    mapping.write_text('[date_formats]\ndate = "%d.%m.%Y"\n', encoding="utf-8")
    (r,) = run_import(tiny_dir, table="activities", file=src, mapping=mapping, now=NOW)
    assert (r.imported, r.rejected) == (1, 1)
    new = open_dataset(tiny_dir)["activities"].filter(pl.col("activity_id") == "h1")
    assert new["date"].to_list() == [dt.date(2025, 3, 10)]
