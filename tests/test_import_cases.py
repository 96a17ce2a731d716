"""Case import: every format, every kind of bad row, atomic versions, idempotent re-import.

Fixtures are built here, in the tests' tmp folders, on the tiny district (tests/fixtures_tiny).
"""

from __future__ import annotations

import datetime as dt
import json
import os

import openpyxl
import polars as pl
import pytest
from fixtures_tiny import C1, C2, G1, G2, G3, S1

from data_layer.cli import main as cli_main
from data_layer.domain.filters import now_local
from data_layer.ingest import Mapping, run_import
from data_layer.ingest.check import check_dataset
from data_layer.ingest.preview import preview
from data_layer.storage.source import DataError, open_dataset, signature, table_path, tables_dir

NOW = dt.datetime(2025, 4, 1, 12, 0)
HEADER = [
    "事件编号",
    "所属网格",
    "事件类型",
    "来源",
    "上报时间",
    "立案时间",
    "办结时间",
    "状态",
    "满意度",
    "经度",
    "纬度",
    "联系人",
    "联系电话",
]


def good_rows(n: int = 3, prefix: str = "N") -> list[list[str]]:
    return [
        [
            f"{prefix}{i}",
            G1,
            "环境卫生",
            "网格员上报",
            "2025/3/1 8:05",
            "2025-03-01 09:00",
            "2025-03-02 10:00",
            "已结案",
            "满意",
            "",
            "",
            "张三",
            "13812341234",
        ]
        for i in range(n)
    ]


def write_csv(path, rows, header=HEADER, encoding="utf-8"):
    text = "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
    path.write_bytes(text.encode(encoding))
    return path


def cases_of(data_dir) -> pl.DataFrame:
    return open_dataset(data_dir)["cases"]


def one(results):
    (result,) = results
    assert result.reconciled, result.summary()
    return result


# --------------------------------------------------------------------------------------------
# formats
# --------------------------------------------------------------------------------------------


def test_gbk_csv_imports_with_chinese_headers(tiny_dir, tmp_path):
    src = write_csv(tmp_path / "gbk.csv", good_rows(3), encoding="gbk")
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.read, r.imported, r.rejected) == (3, 3, 0)
    assert r.detected["encoding"] == "gb18030"
    cases = cases_of(tiny_dir).filter(pl.col("case_id").str.starts_with("N"))
    assert cases["category"].to_list() == ["environment"] * 3
    assert cases["source"].to_list() == ["grid_worker"] * 3
    assert cases["reported_at"][0] == dt.datetime(2025, 3, 1, 8, 5)
    assert cases["satisfaction"][0] == "satisfied"
    assert cases["rejected"][0] is False
    raw = pl.read_parquet(table_path(tiny_dir, "cases"))
    assert raw.filter(pl.col("case_id") == "N0")["category_original"].item() == "环境卫生"
    assert check_dataset(open_dataset(tiny_dir), geometry=False) == []


def test_utf8_bom_and_semicolon_csv(tiny_dir, tmp_path):
    text = "\ufeff" + "\n".join(";".join(r) for r in [HEADER, *good_rows(2)]) + "\n"
    src = tmp_path / "bom.csv"
    src.write_text(text, encoding="utf-8")
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert r.imported == 2


def test_xlsx_with_a_title_row_above_the_header(tiny_dir, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["东湖区网格化服务管理平台 事件导出（2025年3月）"])
    ws.append([])
    ws.append(HEADER)
    ws.append(
        [
            "X1",
            int(G1),
            "矛盾纠纷",
            "12345热线",
            dt.datetime(2025, 3, 3, 8, 0),
            45719.375,
            None,
            "处置中",
            None,
            None,
            None,
            "欧阳娜娜",
            13900001111,
        ]
    )
    ws.append(
        [
            "X2",
            G2,
            "物业",
            "居民点单",
            "2025-03-04 08:00",
            None,
            None,
            "不予立案",
            None,
            None,
            None,
            None,
            None,
        ]
    )
    src = tmp_path / "export.xlsx"
    wb.save(src)
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.read, r.imported) == (2, 2), r.report
    assert r.detected["header_row"] == 3
    cases = cases_of(tiny_dir)
    x1 = cases.filter(pl.col("case_id") == "X1").row(0, named=True)
    assert x1["grid_code"] == G1  # numeric cell → code string
    assert x1["registered_at"] == dt.datetime(2025, 3, 3, 9, 0)  # Excel serial 45719.375
    assert x1["reporter_phone"] == "13900001111"
    x2 = cases.filter(pl.col("case_id") == "X2").row(0, named=True)
    assert x2["rejected"] is True and x2["category"] == "property"


def test_open311_json(tiny_dir, tmp_path):
    doc = [
        {
            "service_request_id": "311-1",
            "status": "closed",
            "service_name": "垃圾清运",
            "description": "垃圾未清运 13812345678",
            "agency_responsible": "区城管局",
            "requested_datetime": "2025-03-05T08:00:00+08:00",
            "updated_datetime": "2025-03-06T02:00:00Z",
            "lat": 0.5,
            "long": 0.25,
            "grid_code": G1,
        },
        {
            "service_request_id": "311-2",
            "status": "open",
            "service_name": "Pothole",
            "requested_datetime": "2025-03-05T09:00:00+08:00",
            "lat": 0.5,
            "long": 1.5,
        },
    ]
    src = tmp_path / "requests.json"
    src.write_text(json.dumps({"service_requests": doc}), encoding="utf-8")
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert r.imported == 2, r.report
    cases = cases_of(tiny_dir)
    a = cases.filter(pl.col("case_id") == "311-1").row(0, named=True)
    assert a["source"] == "hotline_12345" and a["category"] == "environment"
    assert a["closed_at"] == dt.datetime(2025, 3, 6, 10, 0)  # closed: updated time, UTC → local
    assert a["handling_unit"] == "区城管局"
    b = cases.filter(pl.col("case_id") == "311-2").row(0, named=True)
    assert b["grid_code"] == G3  # placed by point-in-polygon
    assert b["category"] == "other" and b["rejected"] is False


# --------------------------------------------------------------------------------------------
# bad rows: each lands in the report with row, column, value and reason
# --------------------------------------------------------------------------------------------

BAD = [
    # (row values overriding a good row, reason, column)
    ({4: "2025-02-30 08:00"}, "impossible", "上报时间"),
    ({4: "下周一"}, "unrecognised", "上报时间"),
    ({4: "1985-03-01 08:00"}, "year_out_of_range", "上报时间"),
    ({4: "2099-01-01 08:00"}, "future", "上报时间"),
    ({6: "2025-02-01 08:00", 5: ""}, "closed_before_reported", "办结时间"),
    ({1: "360102001001999"}, "unknown_grid", "所属网格"),
    ({1: "", 9: "0", 10: "0"}, "zero_coordinates", "经度"),
    ({1: "", 9: "28.7", 10: "115.9"}, "outside_district", "经度"),
    ({1: ""}, "no_location", "所属网格"),
    ({0: ""}, "missing_required", "事件编号"),
    ({4: ""}, "missing_required", "上报时间"),
    ({3: "飞鸽传书"}, "unknown_value", "来源"),
    ({8: "还行吧"}, "unknown_value", "满意度"),
    ({9: "东经115"}, "not_a_number", "经度"),
]


@pytest.mark.parametrize(
    "override, reason, column", BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)]
)
def test_each_kind_of_bad_row_is_rejected_with_a_reason(
    tiny_dir, tmp_path, override, reason, column
):
    row = good_rows(1, "B")[0]
    for i, v in override.items():
        row[i] = v
    src = write_csv(tmp_path / "bad.csv", [*good_rows(2), row])
    before = signature(tiny_dir)
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.read, r.imported, r.rejected) == (3, 2, 1)
    hit = r.report.filter(pl.col("reason") == reason)
    assert hit.height >= 1, r.report
    assert hit["row"].to_list()[0] == 4  # line 4 of the file (header on line 1)
    assert hit["column"].to_list()[0] == column
    assert signature(tiny_dir) != before  # the good rows landed


def test_duplicate_ids_in_the_file_keep_the_first(tiny_dir, tmp_path):
    rows = good_rows(2)
    dup = list(rows[0])
    dup[2] = "矛盾纠纷"
    src = write_csv(tmp_path / "dup.csv", [*rows, dup])
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.imported, r.rejected) == (2, 1)
    d = r.report.filter(pl.col("reason") == "duplicate_id").row(0, named=True)
    assert d["row"] == 4 and d["value"] == "N0" and "2" in d["message"]
    assert cases_of(tiny_dir).filter(pl.col("case_id") == "N0")["category"].item() == "environment"


def test_grid_by_name_and_inconsistent_community(tiny_dir, tmp_path):
    header = ["事件编号", "所属网格", "所属社区", "所属街道", "事件类型", "来源", "上报时间"]
    rows = [
        ["G-ok", "一社区第2网格", "一社区", "东湖街道", "环境", "网格员", "2025-03-01 08:00"],
        ["G-bad-comm", G3, C1, "", "环境", "网格员", "2025-03-01 08:00"],
        ["G-unknown-comm", G1, "九十九社区", "", "环境", "网格员", "2025-03-01 08:00"],
        ["G-unknown-street", G1, "", "月亮街道", "环境", "网格员", "2025-03-01 08:00"],
    ]
    src = write_csv(tmp_path / "names.csv", rows, header=header)
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert r.imported == 1
    assert cases_of(tiny_dir).filter(pl.col("case_id") == "G-ok")["grid_code"].item() == G2
    reasons = dict(zip(r.report["row"], r.report["reason"], strict=True))
    assert reasons == {3: "grid_not_in_community", 4: "unknown_community", 5: "unknown_street"}
    assert C2 != C1 and S1


def test_broken_csv_line_is_rejected_not_dropped(tiny_dir, tmp_path):
    src = tmp_path / "ragged.csv"
    lines = (
        [",".join(HEADER)]
        + [",".join(r) for r in good_rows(2)]
        + ["R1," + G1 + ",环境,网格员,2025-03-01 08:00,,,,,,,,,,extra"]
    )
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = one(run_import(tiny_dir, cases=src, now=NOW))
    assert (r.read, r.imported, r.rejected) == (3, 2, 1)
    assert r.report.filter(pl.col("reason") == "bad_row")["row"].to_list() == [4]


def test_report_masks_personal_data(tiny_dir, tmp_path):
    row = good_rows(1, "P")[0]
    row[12] = "1381234567X"  # not a number the phone masker would miss
    row[4] = "2025-02-30 08:00"  # rejected for its date
    src = write_csv(tmp_path / "p.csv", [row])
    report_csv = tmp_path / "report.csv"
    assert (
        cli_main(
            ["import", "--data", str(tiny_dir), "--cases", str(src), "--report", str(report_csv)]
        )
        == 1
    )
    text = report_csv.read_text(encoding="utf-8-sig")
    assert "impossible" in text
    assert "13812341234" not in text and "张三" not in text
    # a phone in a rejected value is masked too
    row2 = good_rows(1, "Q")[0]
    row2[3] = "13812341234"  # phone typed into the source column → unknown value, masked
    r = one(run_import(tiny_dir, cases=write_csv(tmp_path / "q.csv", [row2]), now=NOW))
    assert r.report["value"].to_list() == ["138****1234"]


# --------------------------------------------------------------------------------------------
# whole-file problems: a clear error, nothing written
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"", "empty"),
        (",".join(HEADER).encode() + b"\n", "no data rows"),
        (",".join(HEADER).encode() + b'\n"', "no data rows"),  # polars gives up: careful reader
        ("编号,时间\n1,2\n".encode(), "required fields not mapped"),
        (b"\xff\xfe\xfa" * 10 + b"\x81\x30\x81", "encoding"),
    ],
    ids=["empty", "header-only", "lone-quote", "unmapped", "bad-encoding"],
)
def test_unusable_files_fail_clearly_and_change_nothing(tiny_dir, tmp_path, content, needle):
    src = tmp_path / "x.csv"
    src.write_bytes(content)
    before = signature(tiny_dir)
    with pytest.raises(DataError, match=needle):
        run_import(tiny_dir, cases=src, now=NOW)
    assert signature(tiny_dir) == before


def test_unmapped_fields_are_named_and_a_mapping_file_fixes_them(tiny_dir, tmp_path):
    src = write_csv(
        tmp_path / "odd.csv",
        [["Z1", G1, "2025-03-01 08:00", "热线"]],
        header=["单号", "格子", "时间", "渠道"],
    )
    with pytest.raises(DataError) as err:
        run_import(tiny_dir, cases=src, now=NOW)
    assert (
        "case_id" in str(err.value) and "reported_at" in str(err.value) and "单号" in str(err.value)
    )
    mapping = Mapping(columns={"单号": "case_id", "格子": "grid_code", "时间": "reported_at"})
    path = tmp_path / "m.toml"
    path.write_text(mapping.to_toml(), encoding="utf-8")
    assert Mapping.load(path).columns == mapping.columns
    r = one(run_import(tiny_dir, cases=src, mapping=path, now=NOW))
    assert (
        r.imported == 1
        and cases_of(tiny_dir).filter(pl.col("case_id") == "Z1")["source"].item() == "hotline_12345"
    )


def test_preview_masks_and_reports_mapping(tmp_path):
    src = write_csv(tmp_path / "p.csv", good_rows(2))
    info = preview(src)
    assert info["missing"] == []
    assert info["resolved"]["reporter_phone"] == "联系电话"
    assert info["sample"]["联系电话"].to_list() == ["138****1234"] * 2
    assert info["sample"]["联系人"].to_list() == ["张*"] * 2


# --------------------------------------------------------------------------------------------
# atomic versions
# --------------------------------------------------------------------------------------------


def test_dry_run_writes_nothing(tiny_dir, tmp_path):
    before = sorted(os.listdir(tiny_dir))
    stamp = signature(tiny_dir)
    r = one(
        run_import(
            tiny_dir, cases=write_csv(tmp_path / "d.csv", good_rows(3)), dry_run=True, now=NOW
        )
    )
    assert r.imported == 3
    assert sorted(os.listdir(tiny_dir)) == before and signature(tiny_dir) == stamp


def test_reimport_updates_never_duplicates(tiny_dir, tmp_path):
    src = write_csv(tmp_path / "r.csv", good_rows(3))
    first = one(run_import(tiny_dir, cases=src, now=NOW))
    after_first = cases_of(tiny_dir)
    second = one(run_import(tiny_dir, cases=src, now=NOW))
    after_second = cases_of(tiny_dir)
    assert (first.inserted, first.updated) == (3, 0)
    assert (second.inserted, second.updated) == (0, 3)
    assert after_second.equals(after_first)
    # a changed row updates in place
    rows = good_rows(3)
    rows[0][8] = "不满意"
    one(run_import(tiny_dir, cases=write_csv(tmp_path / "r2.csv", rows), now=NOW))
    cases = cases_of(tiny_dir)
    assert cases.height == after_first.height
    assert cases.filter(pl.col("case_id") == "N0")["satisfaction"].item() == "dissatisfied"


def test_interrupted_import_leaves_the_old_data_intact(tiny_dir, tmp_path, monkeypatch):
    before = {t: pl.read_parquet(table_path(tiny_dir, t)) for t in ("cases", "grids")}
    stamp = signature(tiny_dir)
    src = write_csv(tmp_path / "i.csv", good_rows(5))

    # 1) an exception after the tables are written, just before the switch
    with pytest.raises(RuntimeError):
        run_import(tiny_dir, cases=src, now=NOW, _fail_after_write=True)
    # 2) an exception in the middle of writing the cases table
    import data_layer.ingest as importing

    def boom(self, *a, **k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", boom)
    with pytest.raises(OSError):
        importing.run_import(tiny_dir, cases=src, now=NOW)
    monkeypatch.undo()

    ds = open_dataset(tiny_dir)
    for t, frame in before.items():
        assert ds[t].equals(frame)
    assert signature(tiny_dir) == stamp
    leftovers = [p.name for p in (tiny_dir / "versions").iterdir() if p.name.startswith(".")]
    assert leftovers == []
    # and the next import still works
    assert one(run_import(tiny_dir, cases=src, now=NOW)).imported == 5


def test_versions_switch_atomically_and_flat_readers_keep_working(tiny_dir, tmp_path):
    assert tables_dir(tiny_dir) == tiny_dir  # flat before
    one(run_import(tiny_dir, cases=write_csv(tmp_path / "v.csv", good_rows(1)), now=NOW))
    current = tiny_dir / "current"
    assert current.is_symlink() and tables_dir(tiny_dir) == current.resolve()
    # the top-level table paths still read (through the symlink), and the Dataset agrees
    assert pl.read_parquet(table_path(tiny_dir, "cases")).height == cases_of(tiny_dir).height
    # a version is never changed in place: write_tables refuses the versioned directory
    from data_layer.storage.source import write_tables

    grids = open_dataset(tiny_dir)["grids"]
    with pytest.raises(DataError, match="versioned"):
        write_tables(tiny_dir, {"grids": grids.with_columns(pl.lit(9).alias("part_time_workers"))})
    assert open_dataset(tiny_dir)["grids"].equals(grids)
    assert (table_path(tiny_dir, "grids")).is_symlink()


def test_import_into_an_empty_directory_with_boundaries_then_cases(tmp_path):
    # covered with real boundary files in test_import_boundaries; here: cases need grids
    src = write_csv(tmp_path / "c.csv", good_rows(1))
    r = one(run_import(tmp_path / "new", cases=src, now=NOW))
    assert r.imported == 0 and r.report["reason"].to_list() == ["unknown_grid"]
    assert not (tmp_path / "new" / "current").exists()


def test_cli_import_dry_run_and_report(tiny_dir, tmp_path, capsys):
    src = write_csv(
        tmp_path / "c.csv",
        [
            *good_rows(2),
            ["E1", G1, "环境", "网格员", "2025-02-30 08:00", "", "", "", "", "", "", "", ""],
        ],
    )
    report = tmp_path / "rep.csv"
    code = cli_main(
        [
            "import",
            "--data",
            str(tiny_dir),
            "--cases",
            str(src),
            "--dry-run",
            "--report",
            str(report),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "read 3 = 导入 imported 2 + 拒绝 rejected 1" in out and "dry run" in out
    rows = pl.read_csv(report)
    assert rows["row"].to_list() == [4] and rows["reason"].to_list() == ["impossible"]


def test_a_case_reported_an_hour_ago_in_shanghai_is_not_future_on_a_utc_server(
    tiny_dir, tmp_path, monkeypatch
):
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        an_hour_ago = now_local() - dt.timedelta(hours=1)  # 7 h ahead of the server's clock
        row = good_rows(1, prefix="U")[0]
        row[4] = f"{an_hour_ago:%Y-%m-%d %H:%M}"
        row[5] = row[6] = ""
        row[7] = "处置中"
        src = write_csv(tmp_path / "utc.csv", [row])
        r = one(run_import(tiny_dir, cases=src))  # no injected now: the importer's own clock
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert (r.imported, r.rejected) == (1, 0), r.report
