"""The CLI contract: ``python -m data_layer kpis|check`` (demo is covered in test_demo.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from fixtures_tiny import AS_OF, C1, C2, C3, S1

from data_layer.__main__ import main

MARCH_ARGS = ["--from", "2025-03-01", "--to", "2025-03-31", "--as-of", AS_OF.isoformat()]


def run_json(capsys, *args: str) -> list[dict]:
    assert main(["kpis", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_kpis_json_whole_scope(capsys, tiny_dir):
    rows = run_json(capsys, "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS)
    assert len(rows) == 1
    row = rows[0]
    assert row["level"] == "scope" and row["code"] is None
    assert row["metrics"]["closure_rate"] == {"value": pytest.approx(4 / 7), "numerator": 4, "denominator": 7}
    assert row["metrics"]["reported"] == {"value": 9}
    assert row["metrics"]["hours_to_close_median"] == {"value": pytest.approx(79.0)}


def test_kpis_by_community_lists_every_area_with_null_rates(capsys, tiny_dir):
    rows = run_json(capsys, "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS, "--by", "community")
    by_code = {r["code"]: r for r in rows}
    assert list(by_code) == [C1, C2, C3]
    assert by_code[C3]["name"] == "三社区"
    assert by_code[C3]["metrics"]["closure_rate"] == {"value": None, "numerator": 0, "denominator": 0}
    assert by_code[C1]["level"] == "community"


def test_kpis_csv_carries_numerators_and_denominators(capsys, tiny_dir):
    assert main(["kpis", "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["closure_rate.numerator"] == "4"
    assert rows[0]["closure_rate.denominator"] == "7"


def test_several_streets_after_one_flag(capsys, tiny_dir):
    rows = run_json(capsys, "--data", str(tiny_dir), "--street", S1, "360102002", *MARCH_ARGS)
    assert rows[0]["metrics"]["reported"]["value"] == 10


def test_missing_data_directory_exits_nonzero_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "data_layer", "kpis", "--data", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
    )
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "make demo" in lines[0]


def test_help_has_examples():
    proc = subprocess.run(
        [sys.executable, "-m", "data_layer", "kpis", "--help"],
        capture_output=True,
        text=True,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent),
    )
    assert proc.returncode == 0 and "example:" in proc.stdout
