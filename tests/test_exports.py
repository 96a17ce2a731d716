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
