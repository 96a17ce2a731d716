"""Import of the reference tables: compounds, volunteer teams, activities, party report-ins and
micro-wishes — headers, words, one test per rule, reconciliation, idempotent re-import, the
.xlsx template read back and imported, and the coverage / volunteer figures it changes.

Inputs are written here, in the tests' tmp folders, against the tiny district
(tests/fixtures_tiny.py: communities 一社区…四社区, grids G1…G5, teams t1 and t2).
"""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import polars as pl
import pytest
from fixtures_tiny import AS_OF, C1, C2, C4, G1, G2, G3, G5, MARCH, S1, cli_kpis

from data_layer.cli import main as cli_main
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.ingest import Mapping, run_import
from data_layer.ingest.check import check_dataset
from data_layer.ingest.preview import preview
from data_layer.ingest.table_specs import SPECS
from data_layer.ingest.template import ABOUT_SHEET, template_bytes
from data_layer.queries import volunteer
from data_layer.storage.source import DataError, open_dataset, signature

NOW = dt.datetime(2025, 4, 1, 12, 0)


def write_csv(path, header: list[str], rows: list[list[str]], *, encoding="utf-8"):
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def run(data_dir, table: str, path, **kw):
    [result] = run_import(data_dir, table=table, file=path, now=NOW, **kw)
    assert result.reconciled, result.summary()
    return result


def reasons(result) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for row in result.report.iter_rows(named=True):
        out.setdefault(row["row"], set()).add(row["reason"])
    return out


COMPOUND_HEADER = ["小区编号", "小区名称", "所属网格", "户数", "物业服务模式"]


# -- compounds ---------------------------------------------------------------------------------


def test_compounds_import_with_chinese_words_and_every_rule(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "小区.csv",
        COMPOUND_HEADER,
        [
            ["k9", "新小区", "一社区第1网格", "100", "专业化"],  # 2: grid by name
            ["k1", "甲小区", G1, "350", "无"],  # 3: an update of k1
            ["k10", "负户数", G1, "-5", "自治型"],  # 4: negative households
            ["k11", "没网格", "360102001001999", "10", "兜底型"],  # 5: unknown grid code
            ["k12", "怪物业", G2, "10", "豪华型"],  # 6: unknown word
            ["k9", "重复", G1, "1", "无"],  # 7: duplicate id
            ["k13", "", G2, "1", "自治型"],  # 8: no name
            ["k14", "无网格", "", "1", "自治型"],  # 9: no grid
        ],
    )
    result = run(tiny_dir, "compounds", path)
    assert (result.read, result.imported, result.rejected) == (8, 2, 6)
    assert (result.inserted, result.updated) == (1, 1)
    assert reasons(result) == {
        4: {"not_a_count"},
        5: {"unknown_grid"},
        6: {"unknown_value"},
        7: {"duplicate_id"},
        8: {"missing_required"},
        9: {"no_location"},
    }
    row4 = result.report.filter(pl.col("row") == 4).row(0, named=True)
    assert (row4["column"], row4["value"]) == ("户数", "-5")
    compounds = open_dataset(tiny_dir)["compounds"]
    assert compounds.height == 5  # k1..k4 + k9
    k = {r["compound_id"]: r for r in compounds.iter_rows(named=True)}
    assert k["k9"]["grid_code"] == G1 and k["k9"]["property_mode"] == "professional"
    assert k["k1"]["property_mode"] == "none"
    assert not check_dataset(open_dataset(tiny_dir), geometry=False)


def test_reimporting_the_same_file_leaves_the_same_table(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "c.csv",
        COMPOUND_HEADER,
        [["k9", "新小区", G1, "100", "专业化"], ["k2", "乙小区", G2, "520", "兜底型"]],
    )
    run(tiny_dir, "compounds", path)
    first = open_dataset(tiny_dir)["compounds"]
    again = run(tiny_dir, "compounds", path)
    assert (again.inserted, again.updated) == (0, 2)
    assert open_dataset(tiny_dir)["compounds"].equals(first)


def test_ambiguous_grid_name_needs_its_community(tmp_path, tiny_dir):
    """Two grids named 第1网格 (in 一社区 and 三社区): the community tells them apart."""
    ds = open_dataset(tiny_dir)
    tables = dict(ds.tables)
    tables["grids"] = ds["grids"].with_columns(
        pl.when(pl.col("grid_code").is_in([G1, G5]))
        .then(pl.lit("第1网格"))
        .otherwise(pl.col("name"))
        .alias("name")
    )
    from data_layer.storage.source import write_tables

    write_tables(tiny_dir, tables)
    path = write_csv(
        tmp_path / "c.csv",
        ["小区编号", "小区名称", "所属网格", "所属社区", "物业服务模式"],
        [["k9", "甲", "第1网格", "", "无"], ["k10", "乙", "第1网格", "四社区", "无"]],
    )
    result = run(tiny_dir, "compounds", path)
    assert reasons(result) == {2: {"ambiguous_grid"}}
    assert open_dataset(tiny_dir)["compounds"].filter(pl.col("compound_id") == "k10")[
        "grid_code"
    ].to_list() == [G5]


def test_grid_not_in_the_stated_community_is_rejected(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "c.csv",
        ["小区编号", "小区名称", "网格编码", "社区编码", "物业服务模式"],
        [["k9", "甲", G3, C1, "无"]],
    )
    result = run(tiny_dir, "compounds", path, dry_run=True)
    assert reasons(result) == {2: {"grid_not_in_community"}}


def test_a_file_without_a_required_column_stops_with_its_name(tmp_path, tiny_dir):
    path = write_csv(tmp_path / "c.csv", ["小区编号", "小区名称", "户数"], [["k9", "甲", "1"]])
    stamp = signature(tiny_dir)
    with pytest.raises(DataError, match="property_mode"):
        run_import(tiny_dir, table="compounds", file=path, now=NOW)
    assert signature(tiny_dir) == stamp


def test_nothing_changes_when_every_row_is_rejected(tmp_path, tiny_dir):
    path = write_csv(tmp_path / "c.csv", COMPOUND_HEADER, [["k9", "甲", "999", "1", "无"]])
    stamp = signature(tiny_dir)
    result = run(tiny_dir, "compounds", path)
    assert result.imported == 0 and signature(tiny_dir) == stamp


# -- volunteer teams, activities, party report-ins, wishes ------------------------------------


def test_volunteer_teams_by_community_name_or_code(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "队伍.csv",
        ["队伍编号", "队伍名称", "所属社区", "所属街道", "队伍类型", "人数"],
        [
            ["t3", "二社区巾帼志愿服务队", "二社区", "东湖街道", "巾帼", "12"],
            ["t4", "四社区青年队", C4, "", "青年志愿服务队", "8"],
            ["t5", "五社区队", "五社区", "", "党员", "8"],  # unknown community
            ["t6", "错街道", "一社区", "西湖街道", "党员", "8"],  # 一社区 is not in 西湖街道
            ["t7", "小数人数", "一社区", "", "党员", "8.5"],
            ["t8", "怪类型", "一社区", "", "舞龙队", "8"],
        ],
    )
    result = run(tiny_dir, "volunteer_teams", path)
    assert reasons(result) == {
        4: {"unknown_community"},
        5: {"community_not_in_street"},
        6: {"not_a_count"},
        7: {"unknown_value"},
    }
    teams = open_dataset(tiny_dir)["volunteer_teams"].filter(pl.col("team_id").is_in(["t3", "t4"]))
    assert teams.sort("team_id").select("community_code", "kind", "members").rows() == [
        (C2, "women", 12),
        (C4, "youth", 8),
    ]


def test_activities_rules_teams_hours_and_places(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "活动.csv",
        [
            "活动编号",
            "队伍编号",
            "所属社区",
            "网格编码",
            "活动日期",
            "服务时长",
            "参与人数",
            "活动类型",
        ],
        [
            ["h1", "t1", "", "", "2025/3/10", "20小时", "10人", "环境整治"],  # 2: t1's community
            ["h2", "t9", "一社区", "", "2025-03-10", "20", "10", "环境整治"],  # 3: unknown team
            ["h3", "t1", "一社区", "", "2025-03-10", "300", "10", "平安巡逻"],  # 4: > 24 × 10
            ["h4", "t1", "一社区", "", "2025-03-10", "0", "10", "平安巡逻"],  # 5: 0 hours
            ["h5", "", "", G3, "2025-03-11", "6", "3", "健康义诊"],  # 6: community of G3
            ["h6", "t1", "一社区", "", "2025-04-10", "6", "3", "文化活动"],  # 7: future
            ["h7", "t1", "一社区", "", "2025-02-30", "6", "3", "文化活动"],  # 8: impossible
            ["h8", "t1", "一社区", "", "2025-03-12", "六", "3", "文化活动"],  # 9: not a number
            ["h9", "t2", "一社区", G3, "2025-03-12", "6", "3", "文化活动"],  # 10: G3 ∉ 一社区
        ],
    )
    result = run(tiny_dir, "activities", path)
    assert reasons(result) == {
        3: {"unknown_team"},
        4: {"out_of_range"},
        5: {"out_of_range"},
        7: {"future"},
        8: {"impossible"},
        9: {"not_a_number"},
        10: {"grid_not_in_community"},
    }
    new = open_dataset(tiny_dir)["activities"].filter(pl.col("activity_id").is_in(["h1", "h5"]))
    assert new.sort("activity_id").select(
        "team_id", "community_code", "grid_code", "date", "hours", "participants", "kind"
    ).rows() == [
        ("t1", C1, None, dt.date(2025, 3, 10), 20.0, 10, "cleanup"),
        (None, C2, G3, dt.date(2025, 3, 11), 6.0, 3, "health"),
    ]


def test_party_reports_with_posts_claimed(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "报到.csv",
        ["党员编号", "姓名", "工作单位", "报到社区", "报到日期", "认领岗位数", "联系电话"],
        [
            ["p9", "王五", "区财政局", "一社区", "2025-03-20", "2", "13812345678"],
            ["p10", "赵六", "区财政局", "一社区", "2025-03-20", "-1", "13812345679"],
            ["13812345670", "孙七", "区财政局", "", "2025-03-20", "1", ""],
        ],
    )
    result = run(tiny_dir, "party_reports", path)
    assert reasons(result) == {3: {"not_a_count"}, 4: {"no_location"}}
    assert "13812345670" not in result.report.write_csv()  # a phone as an id is masked
    row = open_dataset(tiny_dir)["party_reports"].filter(pl.col("member_id") == "p9")
    assert row.select("unit", "community_code", "reported_on", "posts_claimed").rows() == [
        ("区财政局", C1, dt.date(2025, 3, 20), 2)
    ]


def test_wishes_claim_and_fulfilment_order(tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "微心愿.csv",
        ["心愿编号", "所属社区", "提出时间", "认领时间", "实现时间", "认领人类型"],
        [
            [
                "x1",
                "一社区",
                "2025-03-01 09:00",
                "2025-03-02 10:00",
                "2025-03-05 16:00",
                "在职党员",
            ],
            ["x2", "一社区", "2025-03-03 09:00", "2025-03-01 10:00", "", "企业"],  # 3
            ["x3", "一社区", "2025-03-03 09:00", "2025-03-04 10:00", "2025-03-04 09:00", "企业"],
            ["x4", "一社区", "2025-03-03 09:00", "", "2025-03-05 10:00", ""],  # 5
            ["x5", C2, "2025-03-03 09:00", "", "", ""],  # 6: a code in the name column
            ["x6", "一社区", "2025-03-03 09:00", "2025-03-04 10:00", "", "外星人"],  # 7
        ],
    )
    result = run(tiny_dir, "wishes", path)
    assert reasons(result) == {
        3: {"claimed_before_created"},
        4: {"fulfilled_before_claimed"},
        5: {"fulfilled_without_claim"},
        7: {"unknown_value"},
    }
    wishes = open_dataset(tiny_dir)["wishes"].filter(pl.col("wish_id").is_in(["x1", "x5"]))
    assert wishes.sort("wish_id").select("community_code", "claimer_kind").rows() == [
        (C1, "party_member"),
        (C2, None),
    ]


def test_excel_with_a_title_row_and_a_mapping_file(tmp_path, tiny_dir):
    """A platform export: a title above the header, an odd header mapped by a mapping file,
    and an extra word for the property mode."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["东湖街道小区物业情况统计表"])
    sheet.append(["序号", "小区编号", "小区名称", "网格编码", "总户数", "物业情况"])
    sheet.append([1, "k9", "新小区", int(G1), 300, "红色物业"])
    path = tmp_path / "export.xlsx"
    book.save(path)
    mapping = Mapping.from_toml(
        '[columns]\n"物业情况" = "property_mode"\n\n[values.property_mode]\n"红色物业" = "professional"\n',
        fields=SPECS["compounds"].names(),
    )
    result = run(tiny_dir, "compounds", path, mapping=mapping)
    assert (result.imported, result.rejected) == (1, 0)
    assert result.detected["header_row"] == 2
    k9 = open_dataset(tiny_dir)["compounds"].filter(pl.col("compound_id") == "k9")
    assert k9.select("grid_code", "households", "property_mode").rows() == [
        (G1, 300, "professional")
    ]


def test_a_mapping_file_for_another_table_names_its_unknown_fields(tiny_dir, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\n"物业情况" = "reported_at"\n', encoding="utf-8")
    path = write_csv(tmp_path / "c.csv", COMPOUND_HEADER, [["k9", "甲", G1, "1", "无"]])
    with pytest.raises(DataError, match="reported_at"):
        run_import(tiny_dir, table="compounds", file=path, mapping=mapping, now=NOW)


def test_preview_of_a_table_masks_names_and_phones(tmp_path):
    path = write_csv(
        tmp_path / "报到.csv",
        ["党员编号", "姓名", "报到社区", "报到日期", "联系电话"],
        [["p9", "王五", "一社区", "2025-03-20", "13812345678"]],
    )
    info = preview(path, table="party_reports")
    text = info["sample"].write_csv()
    assert "王五" not in text and "13812345678" not in text and "138****5678" in text
    assert info["resolved"]["reported_on"] == "报到日期" and not info["missing"]


# -- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("table", list(SPECS))
def test_the_template_reads_back_and_its_example_row_imports(table, tmp_path, tiny_dir):
    data = template_bytes(table, tables=open_dataset(tiny_dir).tables)
    book = openpyxl.load_workbook(io.BytesIO(data))
    first, about = book.worksheets
    assert about.title == ABOUT_SHEET
    headers = [c.value for c in first[1]]
    spec = SPECS[table]
    assert headers == [f.zh for f in spec.fields if f.template]
    explained = {row[1] for row in about.iter_rows(min_row=2, values_only=True) if row[1]}
    assert {f.name for f in spec.fields} <= explained
    path = tmp_path / f"{table}.xlsx"
    path.write_bytes(data)
    assert cli_main(["template", "--table", table, "--out", str(tmp_path / "cli.xlsx")]) == 0
    result = run(tiny_dir, table, path)
    assert (result.read, result.imported, result.rejected) == (1, 1, 0), result.report


def test_template_lists_allowed_words_and_required_columns():
    book = openpyxl.load_workbook(io.BytesIO(template_bytes("compounds")))
    about = {row[0]: row for row in book[ABOUT_SHEET].iter_rows(min_row=2, values_only=True)}
    assert "专业化" in about["物业服务模式"][4] and "无（none）" in about["物业服务模式"][4]
    assert about["小区编号"][3].startswith("必填")
    assert about["网格编码"][3].startswith("至少填一项")


# -- the CLI -----------------------------------------------------------------------------------


def test_cli_import_table_dry_run_and_report(capsys, tmp_path, tiny_dir):
    path = write_csv(
        tmp_path / "c.csv",
        COMPOUND_HEADER,
        [["k9", "甲", G1, "1", "无"], ["k10", "=HYPERLINK(1)", "999", "1", "无"]],
    )
    report = tmp_path / "report.csv"
    stamp = signature(tiny_dir)
    argv = ["import", "--data", str(tiny_dir), "--table", "compounds", "--file", str(path)]
    assert cli_main([*argv, "--dry-run", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "compounds: 读取 read 2 = 导入 imported 1 + 拒绝 rejected 1" in out
    assert "dry run" in out and signature(tiny_dir) == stamp
    assert "unknown_grid" in report.read_text(encoding="utf-8-sig")
    assert cli_main(argv) == 0
    assert open_dataset(tiny_dir)["compounds"].height == 5
    assert cli_main(["import", "--data", str(tiny_dir), "--table", "compounds"]) == 2
    assert "--file" in capsys.readouterr().err


# -- the figures the pages show ----------------------------------------------------------------


def test_imported_compounds_change_property_coverage_by_hand(capsys, tmp_path, tiny_dir):
    """Tiny: 4 compounds, k2 without property service → 3/4. Import k2 as 兜底型 and a new k9
    without service: compounds 5, with service 4 → 4/5 = 80 %."""
    before = cli_kpis(tiny_dir, capsys)["property_coverage"]
    assert (before["numerator"], before["denominator"]) == (3, 4)
    path = write_csv(
        tmp_path / "c.csv",
        COMPOUND_HEADER,
        [["k2", "乙小区", G2, "520", "兜底型"], ["k9", "新小区", G1, "80", "无"]],
    )
    run(tiny_dir, "compounds", path)
    after = cli_kpis(tiny_dir, capsys)["property_coverage"]
    assert (after["numerator"], after["denominator"]) == (4, 5)
    assert after["value"] == pytest.approx(0.8)


def test_imported_activities_and_wishes_change_the_volunteer_figures(capsys, tmp_path, tiny_dir):
    """Tiny March: activities a1 (10 h), a2 (6.5 h), a3 (4 h) → 3 activities, 20.5 h.
    Import h1 (12 h, 2025-03-10) and h2 (2 h, 2025-04-02: after March): +1 activity, +12 h
    → 4 activities, 32.5 h. Wishes in March: w1, w2, w3 collected, w1 fulfilled by as-of;
    import x1 created and fulfilled in March: 4 collected, 2 fulfilled → 50 %."""
    before = cli_kpis(tiny_dir, capsys)
    assert before["activities"]["value"] == 3
    assert before["volunteer_hours"]["value"] == pytest.approx(20.5)
    acts = write_csv(
        tmp_path / "a.csv",
        ["活动编号", "队伍编号", "活动日期", "服务时长", "参与人数", "活动类型"],
        [
            ["h1", "t1", "2025-03-10", "12", "4", "平安巡逻"],
            ["h2", "t1", "2025-04-01", "2", "1", "平安巡逻"],
        ],
    )
    run(tiny_dir, "activities", acts)
    wishes = write_csv(
        tmp_path / "w.csv",
        ["心愿编号", "所属社区", "提出时间", "认领时间", "实现时间", "认领人类型"],
        [["x1", "二社区", "2025-03-11 09:00", "2025-03-12 09:00", "2025-03-20 09:00", "企业"]],
    )
    run(tiny_dir, "wishes", wishes)
    after = cli_kpis(tiny_dir, capsys)
    assert after["activities"]["value"] == 4
    assert after["volunteer_hours"]["value"] == pytest.approx(32.5)
    assert (after["wishes_collected"]["value"], after["wishes_fulfilled"]["value"]) == (4, 2)
    assert after["wish_fulfilment_rate"]["value"] == pytest.approx(0.5)
    flt = Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF, streets=(S1,))
    kinds = volunteer.activities_by_kind(open_dataset(tiny_dir), flt, Scope.everything())
    patrol = kinds.filter(pl.col("kind") == "patrol")
    assert patrol["activities"].to_list() == [2]  # a1 and h1


def test_the_coverage_and_volunteer_pages_show_the_imported_figures(
    monkeypatch, tmp_path, tiny_dir
):
    """The same imports as above, seen on the pages: 物业服务覆盖率 80.0% = 4 / 5 and
    服务时长 32.5 h in March."""
    from test_pages_analytics import MARCH as MARCH_URL
    from test_pages_analytics import ROOT, assert_clean, run_page

    from data_layer.domain.formatting import format_fraction, format_value
    from data_layer.domain.labels import lookup

    run(
        tiny_dir,
        "compounds",
        write_csv(
            tmp_path / "c.csv",
            COMPOUND_HEADER,
            [["k2", "乙小区", G2, "520", "兜底型"], ["k9", "新小区", G1, "80", "无"]],
        ),
    )
    run(
        tiny_dir,
        "activities",
        write_csv(
            tmp_path / "a.csv",
            ["活动编号", "队伍编号", "活动日期", "服务时长", "参与人数", "活动类型"],
            [["h1", "t1", "2025-03-10", "12", "4", "平安巡逻"]],
        ),
    )
    app = ROOT / "app.py"
    at = run_page(monkeypatch, tiny_dir, app, "coverage", MARCH_URL)
    assert_clean(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown[lookup("metric", "property_coverage")] == format_value("property_coverage", 0.8)
    assert format_fraction(4, 5) in [c.value for c in at.caption]
    at = run_page(monkeypatch, tiny_dir, app, "volunteer", MARCH_URL)
    assert_clean(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown[lookup("metric", "volunteer_hours")] == format_value("volunteer_hours", 32.5)
    assert shown[lookup("metric", "activities")] == format_value("activities", 4)
