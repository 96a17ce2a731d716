"""The CLI contract: ``python -m data_layer kpis|check`` (demo is covered in test_demo.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from fixtures_tiny import AS_OF, C1, C2, C3, S1

from data_layer.cli import main

MARCH_ARGS = ["--from", "2025-03-01", "--to", "2025-03-31", "--as-of", AS_OF.isoformat()]


def run_json(capsys, *args: str) -> list[dict]:
    assert main(["kpis", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_kpis_json_whole_scope(capsys, tiny_dir):
    rows = run_json(capsys, "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS)
    assert len(rows) == 1
    row = rows[0]
    assert row["level"] == "scope" and row["code"] is None
    # due 6: c5 and c6 are open with their deadline ahead (test_metrics.py)
    assert row["metrics"]["closure_rate"] == {
        "value": pytest.approx(4 / 6),
        "numerator": 4,
        "denominator": 6,
    }
    assert row["metrics"]["in_progress"] == {"value": 2}
    assert row["metrics"]["reported"] == {"value": 9}
    assert row["metrics"]["hours_to_close_median"] == {"value": pytest.approx(79.0)}


def test_kpis_by_community_lists_every_area_with_null_rates(capsys, tiny_dir):
    rows = run_json(
        capsys, "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS, "--by", "community"
    )
    by_code = {r["code"]: r for r in rows}
    assert list(by_code) == [C1, C2, C3]
    assert by_code[C3]["name"] == "三社区"
    assert by_code[C3]["metrics"]["closure_rate"] == {
        "value": None,
        "numerator": 0,
        "denominator": 0,
    }
    assert by_code[C1]["level"] == "community"


def test_kpis_csv_carries_numerators_and_denominators(capsys, tiny_dir):
    assert (
        main(["kpis", "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS, "--format", "csv"]) == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["closure_rate.numerator"] == "4"
    assert rows[0]["closure_rate.denominator"] == "6"


def test_kpis_basis_assessment(capsys, tiny_dir):
    assert main(["kpis", "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS]) == 0
    assert capsys.readouterr().err.strip().endswith("basis report")
    argv = ["kpis", "--data", str(tiny_dir), "--street", S1, *MARCH_ARGS, "--basis", "assessment"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    metrics = json.loads(out)[0]["metrics"]
    # assessed in March: c9 c2 c1 c10 c4 c11 c7 (test_due_and_basis.py); reported stays 9
    assert metrics["reported"] == {"value": 9}
    assert metrics["closure_rate"] == {
        "value": pytest.approx(5 / 7),
        "numerator": 5,
        "denominator": 7,
    }
    assert err.strip().endswith("basis assessment")


def test_kpis_running_presets(capsys, tiny_dir):
    args = ["--data", str(tiny_dir), "--as-of", AS_OF.isoformat(), "--period", "last_7_days"]
    rows = run_json(capsys, *args)
    # 25–31 March up to noon: only c6 (reported 30 March) of the whole district
    assert rows[0]["metrics"]["reported"] == {"value": 1}
    assert main(["kpis", *args[:-1], "last_30_days"]) == 0
    assert "period 2025-03-02..2025-03-31" in capsys.readouterr().err


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


def test_check_passes_on_valid_data(capsys, tiny_dir):
    assert main(["check", "--data", str(tiny_dir)]) == 0
    assert capsys.readouterr().out.startswith("OK")


def test_check_reports_broken_references_and_overlaps(capsys, tiny_dir):
    import polars as pl
    import shapely

    from data_layer.storage.source import write_tables

    grids = pl.read_parquet(tiny_dir / "grids.parquet")
    # G2 now overlaps G1 and points at a community that does not exist.
    grids = grids.with_columns(
        pl.when(pl.col("name") == "一社区第2网格")
        .then(pl.lit(shapely.to_wkb(shapely.box(0.25, 0, 1, 1))))
        .otherwise(pl.col("geometry"))
        .alias("geometry")
    )
    cases = pl.read_parquet(tiny_dir / "cases.parquet").with_columns(
        pl.when(pl.col("case_id") == "c1")
        .then(pl.lit("999999999999999"))
        .otherwise(pl.col("grid_code"))
        .alias("grid_code")
    )
    write_tables(tiny_dir, {"grids": grids, "cases": cases})
    assert main(["check", "--data", str(tiny_dir)]) == 1
    out = capsys.readouterr().out
    assert "cases.grid_code" in out and "999999999999999" in out
    assert "overlap" in out.lower()


def test_demo_command_writes_a_checkable_directory(capsys, tmp_path):
    out = tmp_path / "demo"
    assert (
        main(
            ["demo", "--out", str(out), "--scale", "tiny", "--seed", "7", "--anchor", "2026-06-30"]
        )
        == 0
    )
    assert "written to" in capsys.readouterr().out
    assert main(["check", "--data", str(out)]) == 0
