"""Reason and severity labels of the import report, in one language at a time (the page and
its report CSV) and in both (the CLI's message), from the one label place."""

from __future__ import annotations

import csv
import io

import polars as pl

from data_layer.domain import labels
from data_layer.ingest import report as R
from data_layer.ingest.report import FULL_REPORT_COLUMNS, localise, report_csv_bytes


def test_every_reason_has_a_chinese_and_an_english_label():
    assert "not_a_count" in R.REASONS and len(R.REASONS) >= 40
    for reason in R.REASONS:
        zh, en = (R.reason_label(reason, lang=lang) for lang in labels.LANGS)
        assert zh != reason and en != reason and zh != en
        assert R.message(reason) == f"{labels.code_label('reason', reason, lang='zh')} / " + (
            labels.code_label("reason", reason, lang="en")
        )
    for severity in R.SEVERITIES:
        assert R.severity_label(severity, lang="zh") != severity


def test_a_detail_in_both_languages_is_cut_to_one():
    dup = f"{R.message('duplicate_id')}: 与第 3 行相同 / same as row 3"
    assert R.localised_message("duplicate_id", dup, lang="zh").endswith(": 与第 3 行相同")
    assert R.localised_message("duplicate_id", dup, lang="en") == (
        "Duplicate id in the file (the first row is kept): same as row 3"
    )
    word = f"{R.message('unknown_value')}: 可用 / allowed: 专业化, 无"
    assert R.localised_message("unknown_value", word, lang="en").endswith(
        ": allowed: 专业化, 无"  # the allowed words are data
    )
    assert "allowed" not in R.localised_message("unknown_value", word, lang="zh")
    # a detail that is only data stays as it is
    order = f"{R.message('time_order')}: 办结时间 < 上报时间"
    assert R.localised_message("time_order", order, lang="en") == (
        "Events out of order: 办结时间 < 上报时间"
    )


def _report() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row": [3, 4],
            "column": ["户数", "=HYPERLINK(1)"],
            "field": ["households", "name"],
            "value": ["-5", "x"],
            "reason": ["not_a_count", "duplicate_id"],
            "message": [
                R.message("not_a_count"),
                f"{R.message('duplicate_id')}: 与第 2 行相同 / same as row 2",
            ],
            "severity": ["rejected", "warning"],
        },
        schema=FULL_REPORT_COLUMNS,
    )


def test_localise_keeps_the_codes_beside_the_labels():
    shown = localise(_report(), lang="zh")
    assert shown["severity"].to_list() == ["未导入", "警告（已导入）"]
    assert shown["reason"].to_list() == ["应为非负整数", "文件内编号重复（保留首次出现的行）"]
    assert shown["detail"].to_list() == ["", "与第 2 行相同"]
    assert shown["severity_code"].to_list() == ["rejected", "warning"]
    assert shown["reason_code"].to_list() == ["not_a_count", "duplicate_id"]


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_report_csv_in_a_language_and_for_the_cli():
    zh = _rows(report_csv_bytes(_report(), lang="zh"))
    assert zh[0] == ["行号", "列", "值", "类别", "原因", "说明", "severity_code", "reason_code"]
    assert zh[1] == [
        "3", "户数", "'-5", "未导入", "应为非负整数", "应为非负整数", "rejected", "not_a_count"
    ]  # fmt: skip
    assert zh[2][:4] == ["4", "'=HYPERLINK(1)", "x", "警告（已导入）"]  # formulas stay text
    assert zh[2][5] == "文件内编号重复（保留首次出现的行）: 与第 2 行相同"
    en = _rows(report_csv_bytes(_report(), lang="en"))
    assert en[0] == [
        "row", "column", "value", "severity", "reason", "message", "severity_code", "reason_code"
    ]  # fmt: skip
    assert en[1][3:] == [
        "Rejected", "Must be a whole number ≥ 0", "Must be a whole number ≥ 0", "rejected",
        "not_a_count",
    ]  # fmt: skip
    cli = _rows(report_csv_bytes(_report()))
    assert cli[0] == ["row", "column", "value", "severity", "reason", "message"]
    assert cli[1][3:] == ["rejected", "not_a_count", "应为非负整数 / must be a whole number ≥ 0"]


def test_boundary_and_redivision_notes_in_one_language():
    from data_layer.ingest.redivision import _why

    overlap = f"{R.message('boundary_warning')} (overlap): 网格重叠 / grids overlap"
    assert R.localised_message("boundary_warning", overlap, lang="en") == (
        "Boundary check (overlap): grids overlap"
    )
    kept = f"{R.message('case_kept')}: {_why('G1', 'no_point')}"
    assert (
        R.localised_message("case_kept", kept, lang="zh") == "案件保留在已撤销网格: G1（没有坐标）"
    )
    assert R.localised_message("case_kept", kept, lang="en") == (
        "Case kept under the retired grid: G1 (no coordinates)"
    )


def test_a_field_label_in_one_language():
    assert labels.one_language("联系电话 / reporter phone", lang="zh") == "联系电话"
    assert labels.one_language("联系电话 / reporter phone", lang="en") == "Reporter phone"
    assert labels.one_language("网格", lang="en") == "网格"  # not a pair: as it is
