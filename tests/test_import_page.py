"""AppTest of the 数据导入 page: upload, preview (masked), mapping, dry run, confirm, report."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from app_session import sign_in
from fixtures_tiny import G1
from streamlit.testing.v1 import AppTest

from data_layer.storage.source import open_dataset, signature

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "import_data.py")
CSV = (
    "事件编号,所属网格,事件类型,来源,上报时间,联系人,联系电话\n"
    f"W1,{G1},环境卫生,网格员上报,2025-03-01 08:05,张三,13812341234\n"
    f"W2,{G1},环境卫生,网格员上报,2025-02-30 08:05,李四,13900001111\n"
).encode("gbk")


def page(monkeypatch, data_dir) -> AppTest:
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    at = AppTest.from_file(PAGE, default_timeout=60)
    sign_in(at, data_dir, role="data_admin")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader[0].set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def button(at: AppTest, key: str) -> AppTest:
    next(b for b in at.button if b.key == key).click()
    at.run(timeout=120)
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown_text(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [s.value for s in at.success]
    )
    parts += (
        [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    )
    return "\n".join(str(p) for p in parts)


def test_page_without_a_file_asks_for_one(monkeypatch, tiny_dir):
    at = page(monkeypatch, tiny_dir)
    assert not at.error
    assert "选择" in at.info[0].value


def test_preview_masks_personal_data_and_maps_columns(monkeypatch, tiny_dir):
    at = upload(page(monkeypatch, tiny_dir), "cases.csv", CSV)
    assert not at.error
    sample = at.dataframe[0].value
    text = sample.to_csv()
    assert "13812341234" not in text and "138****1234" in text and "张三" not in text
    # the phone column was recognised
    phone = next(s for s in at.selectbox if s.label == "联系电话")
    assert phone.value == "reporter_phone"
    assert "gb18030" in shown_text(at)


def test_dry_run_then_confirm(monkeypatch, tiny_dir):
    at = upload(page(monkeypatch, tiny_dir), "cases.csv", CSV)
    stamp = signature(tiny_dir)
    at = button(at, "import_dry")
    assert not at.error, [e.value for e in at.error]
    assert "读取 2 = 导入 1 + 拒绝 1" in shown_text(at)
    assert signature(tiny_dir) == stamp
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["读取"], metrics["导入"], metrics["拒绝"]) == ("2", "1", "1")
    report = at.dataframe[-1].value
    assert "13900001111" not in report.to_csv()
    at = button(at, "import_go")
    assert "读取 2 = 导入 1 + 拒绝 1" in shown_text(at)
    assert "W1" in open_dataset(tiny_dir)["cases"]["case_id"].to_list()
    assert open_dataset(tiny_dir)["cases"].filter(pl.col("case_id") == "W2").height == 0


def test_bad_file_shows_an_error_not_a_traceback(monkeypatch, tiny_dir):
    at = upload(page(monkeypatch, tiny_dir), "empty.csv", b"")
    assert at.error and "empty" in at.error[0].value
    assert not at.exception


def test_english(monkeypatch, tiny_dir):
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["lang"] = "en"
    sign_in(at, tiny_dir, role="data_admin")
    at.run()
    assert at.title[0].value == "Import data"


def test_warnings_are_shown_apart_from_rejections(monkeypatch, tiny_dir):
    csv = (
        "事件编号,所属网格,事件类型,来源,上报时间,办结时间,状态\n"
        f"W1,{G1},环境卫生,网格员上报,2025-03-01 08:05,2025-03-02 08:05,处置中\n"
        f"W2,{G1},环境卫生,网格员上报,2025-02-30 08:05,,处置中\n"
    ).encode()
    at = button(upload(page(monkeypatch, tiny_dir), "cases.csv", csv), "import_dry")
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["导入"], metrics["拒绝"], metrics["有警告"]) == ("1", "1", "1")
    text = shown_text(at)
    assert "被拒绝的行" in text and "已导入但有警告的行" in text
    rejected, warned = at.dataframe[-2].value, at.dataframe[-1].value
    # shown as labels in the UI language, the codes kept beside them
    assert rejected["reason"].to_list() == ["不存在的日期或时间（如 2 月 30 日、25 点）"]
    assert rejected["reason_code"].to_list() == ["impossible"]
    assert warned["reason"].to_list() == ["状态未办结，但有办结时间"]
    assert warned["detail"].to_list() == ["按已办结计（办结时间）"]
    assert warned["reason_code"].to_list() == ["open_status_with_closing_time"]


COMPOUNDS_CSV = (
    "小区编号,小区名称,所属网格,户数,物业服务模式,物业联系人,联系电话\n"
    f"K9,新小区,{G1},120,专业化,王五,13812345678\n"
    f"K10,负户数,{G1},-3,自治型,赵六,13900002222\n"
).encode("gbk")


def choose(at: AppTest, kind: str) -> AppTest:
    at.radio(key="import_kind").set_value(kind)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_a_table_template_downloads_and_its_example_row_imports(
    monkeypatch, tiny_dir, downloads, tmp_path
):
    from data_layer.ingest import run_import

    at = choose(page(monkeypatch, tiny_dir), "compounds")
    assert not at.error
    name = "gridpulse-template-compounds.xlsx"
    assert name in downloads
    path = tmp_path / name
    path.write_bytes(downloads[name]())
    [result] = run_import(tiny_dir, table="compounds", file=path, dry_run=True)
    assert (result.read, result.imported) == (1, 1)


def test_a_table_import_previews_masked_then_dry_runs_and_confirms(monkeypatch, tiny_dir):
    at = upload(choose(page(monkeypatch, tiny_dir), "compounds"), "小区.csv", COMPOUNDS_CSV)
    assert not at.error, [e.value for e in at.error]
    sample = at.dataframe[0].value.to_csv()
    assert "13812345678" not in sample and "王五" not in sample and "新小区" in sample
    mode = next(s for s in at.selectbox if s.label == "物业服务模式")
    assert mode.value == "property_mode"
    stamp = signature(tiny_dir)
    at = button(at, "import_dry")
    assert "读取 2 = 导入 1 + 拒绝 1" in shown_text(at)
    assert signature(tiny_dir) == stamp
    report = at.dataframe[-1].value
    assert report["column"].to_list() == ["户数"]
    assert report["reason"].to_list() == ["应为非负整数"]
    assert report["reason_code"].to_list() == ["not_a_count"]
    at = button(at, "import_go")
    assert "读取 2 = 导入 1 + 拒绝 1" in shown_text(at)
    compounds = open_dataset(tiny_dir)["compounds"]
    assert compounds.filter(pl.col("compound_id") == "K9")["property_mode"].to_list() == [
        "professional"
    ]
    assert compounds.height == 5


def test_a_redivision_from_the_page(monkeypatch, tmp_path):
    import datetime as dt

    import test_import_boundaries as tb

    from data_layer.ingest import run_import

    data = tmp_path / "data"
    run_import(data, boundaries=tb.zipped_shapefile(tmp_path, tb.grids_gdf()), level="grid")
    run_import(data, cases=tb._cases_csv(tmp_path), now=tb.REDIVIDED - dt.timedelta(days=2))
    at = page(monkeypatch, data)
    at.radio(key="import_kind").set_value("boundaries").run()
    at.checkbox(key="import_replace").check().run()
    upload(at, "new.geojson", tb._redivided_file(tmp_path).read_bytes())
    button(at, "import_go")
    ds = open_dataset(data)
    retired = ds["grids"].filter(pl.col("retired_at").is_not_null())["grid_code"].to_list()
    assert sorted(retired) == tb.GRIDS[:2]
    assert ds["cases"].height == 4 and ds["case_moves"].height == 2
    assert "re-division" in shown_text(at) or "网格调整" in shown_text(at)


def reasons_table(at: AppTest) -> pl.DataFrame:
    return pl.from_pandas(at.dataframe[1].value)  # after the preview: problems by reason


def test_severity_and_reason_are_labels_in_the_ui_language_on_screen_and_in_the_csv(
    monkeypatch, tiny_dir, downloads
):
    import csv
    import io

    at = upload(choose(page(monkeypatch, tiny_dir), "compounds"), "小区.csv", COMPOUNDS_CSV)
    at = button(at, "import_dry")
    by_reason = reasons_table(at)
    assert by_reason.select("severity", "reason", "rows").rows() == [("未导入", "应为非负整数", 1)]
    text = shown_text(at)
    assert "not_a_count" not in text and "must be a whole" not in text
    rows = pl.from_pandas(at.dataframe[-1].value)
    assert rows.select("severity", "reason", "detail").rows() == [("未导入", "应为非负整数", "")]
    name = "import-report-compounds.csv"
    zh = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8-sig"))))
    assert [(r["行号"], r["列"], r["类别"], r["原因"], r["说明"]) for r in zh] == [
        ("3", "户数", "未导入", "应为非负整数", "应为非负整数")
    ]
    # the machine codes, in columns of their own, so a district can filter on them
    assert [(r["severity_code"], r["reason_code"]) for r in zh] == [("rejected", "not_a_count")]

    at.session_state["lang"] = "en"
    at = button(at, "import_dry")
    by_reason = reasons_table(at)
    assert by_reason.select("severity", "reason").rows() == [
        ("Rejected", "Must be a whole number ≥ 0")
    ]
    assert "应为非负整数" not in at.dataframe[-1].value.to_csv()
    en = list(csv.DictReader(io.StringIO(downloads[name]().decode("utf-8-sig"))))
    assert [(r["row"], r["severity"], r["reason"], r["reason_code"]) for r in en] == [
        ("3", "Rejected", "Must be a whole number ≥ 0", "not_a_count")
    ]
