"""The import preview masks personal data under any header, not only the mapped ones."""

from __future__ import annotations

from pathlib import Path

from app_session import sign_in
from fixtures_tiny import G1
from streamlit.testing.v1 import AppTest

from data_layer.ingest import Mapping
from data_layer.ingest.preview import preview

ROOT = Path(__file__).resolve().parent.parent
HEADER = "事件编号,所属网格,上报时间,来电人,联系人,报告人,姓名,caller_name,联系电话,手机,身份证号,备注,grid_name"
ROW = (
    f"AJ20250301000021,{G1},2025-03-01 08:05,王*明,张三,李四,欧阳娜娜,Li Lei,"
    "+86 139 1234 5678,138-1234-5678,360102198512045678,"
    "请回电 (+86)13712345678 身份证36010219851204567X,东湖一网格"
)
RAW = [
    "王*明",
    "张三",
    "李四",
    "欧阳娜娜",
    "Li Lei",
    "1234",
    "13712345678",
    "198512045678",
    "19851204567X",
]


def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    return path


def test_preview_masks_names_and_numbers_under_headers_it_does_not_know(tmp_path):
    info = preview(sample_file(tmp_path), Mapping(columns={"来电人": ""}))  # 来电人: ignored
    row = info["sample"].row(0, named=True)
    assert info["resolved"]["reporter_name"] == "联系人"
    assert [row[h] for h in ("来电人", "联系人", "报告人", "姓名", "caller_name")] == [
        "王**",
        "张*",
        "李*",
        "欧***",
        "L*****",
    ]
    assert [row[h] for h in ("联系电话", "手机", "身份证号")] == [
        "139****5678",
        "138****5678",
        "360****5678",
    ]
    assert row["备注"] == "请回电 (+86)137****5678 身份证360102********567X"
    # what is no one's stays readable
    assert row["事件编号"] == "AJ20250301000021" and row["所属网格"] == G1
    assert row["grid_name"] == "东湖一网格"


def test_the_import_page_shows_the_preview_masked(monkeypatch, tiny_dir, tmp_path):
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(str(ROOT / "pages" / "import_data.py"), default_timeout=60)
    sign_in(at, tiny_dir, role="data_admin")
    at.run()
    at.file_uploader[0].set_value(("cases.csv", sample_file(tmp_path).read_bytes(), "text/csv"))
    at.run()
    assert not at.exception
    shown = at.dataframe[0].value.to_csv()
    assert not [raw for raw in RAW if raw in shown]
    assert "王**" in shown and "139****5678" in shown
