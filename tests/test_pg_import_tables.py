"""``import --db --table T``: the reference tables validated as into a data directory and
written to the live database in one transaction (style of tests/test_pg_writers.py)."""

from __future__ import annotations

from fixtures_tiny import G1, G2
from test_import_tables import COMPOUND_HEADER, write_csv
from test_pg_writers import rows_of

from data_layer.cli import main
from data_layer.storage import pg_admin
from data_layer.storage.postgres import read_dataset
from data_layer.storage.source import open_dataset

TINY_COMPOUNDS = 4


def test_import_db_table_writes_the_same_rows_as_a_data_directory(
    capsys, tmp_path, tiny_dir, pg_url
):
    pg_admin.load(pg_url, tiny_dir)
    path = write_csv(
        tmp_path / "小区.csv",
        COMPOUND_HEADER,
        [
            ["k9", "新小区", G1, "100", "专业化"],
            ["k2", "乙小区", G2, "520", "兜底型"],
            ["k10", "坏", "999", "1", "无"],
        ],
    )
    args = ["import", "--table", "compounds", "--file", str(path)]
    assert main([*args, "--db", pg_url]) == 0
    out_db = capsys.readouterr().out
    assert main([*args, "--data", str(tiny_dir)]) == 0
    out_dir = capsys.readouterr().out
    summary = [line for line in out_db.splitlines() if line.startswith("compounds:")]
    assert summary == [line for line in out_dir.splitlines() if line.startswith("compounds:")]
    assert "导入 imported 2 + 拒绝 rejected 1 (新增 new 1, 更新 updated 1)" in summary[0]
    assert "compounds +1 ~1 -0" in out_db and "version" not in out_db
    db, parquet = read_dataset(pg_url), open_dataset(tiny_dir)
    assert db["compounds"].sort("compound_id").equals(parquet["compounds"].sort("compound_id"))


def test_import_db_table_again_is_idempotent_and_a_dry_run_writes_nothing(
    capsys, tmp_path, tiny_dir, pg_url
):
    pg_admin.load(pg_url, tiny_dir)
    path = write_csv(
        tmp_path / "w.csv",
        ["心愿编号", "所属社区", "提出时间", "认领时间", "实现时间", "认领人类型"],
        [["x1", "二社区", "2025-03-11 09:00", "2025-03-12 09:00", "", "企业"]],
    )
    args = ["import", "--table", "wishes", "--file", str(path), "--db", pg_url]
    assert main([*args, "--dry-run"]) == 0
    assert "dry run: nothing written" in capsys.readouterr().out
    assert rows_of(pg_url, "wishes") == 4
    assert main(args) == 0
    capsys.readouterr()
    first = read_dataset(pg_url)["wishes"]
    assert first.height == 5
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "更新 updated 1" in out and "no change" in out
    assert read_dataset(pg_url)["wishes"].equals(first)
    assert rows_of(pg_url, "compounds") == TINY_COMPOUNDS


def test_the_import_page_on_the_live_source_writes_to_the_database(monkeypatch, tiny_dir, pg_url):
    """With GRIDPULSE_DATABASE_URL the 数据导入 page imports into the database (as
    ``import --db``), and the data directory, which holds only accounts and audit, is left."""
    from test_import_page import COMPOUNDS_CSV, button, choose, page, shown_text, upload

    from data_layer.storage.source import signature

    pg_admin.load(pg_url, tiny_dir)
    monkeypatch.setenv("GRIDPULSE_DATABASE_URL", pg_url)
    monkeypatch.setenv("GRIDPULSE_DB_POLL_SECONDS", "0")
    at = upload(choose(page(monkeypatch, tiny_dir), "compounds"), "小区.csv", COMPOUNDS_CSV)
    stamp = signature(tiny_dir)
    at = button(at, "import_go")
    assert not at.error, [e.value for e in at.error]
    assert "读取 2 = 导入 1 + 拒绝 1" in shown_text(at)
    assert rows_of(pg_url, "compounds") == TINY_COMPOUNDS + 1
    assert signature(tiny_dir) == stamp
