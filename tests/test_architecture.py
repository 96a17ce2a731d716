"""The dependency direction of docs/architecture.md holds: import-linter's contracts in
pyproject.toml pass, a wrong import makes them fail, and pages/ and app.py stay thin."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ui", "documents", "data_layer", "geo")
LINT = Path(sys.executable).with_name("lint-imports")
# Pages lay out; frames, SQL and GeoJSON are built below them (DESIGN §4).
NOT_IN_PAGES = {"polars", "geopandas", "shapely", "folium", "sqlalchemy", "psycopg", "json"}


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_import_breaks_the_contract(tmp_path):
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    # geo is the bottom layer: reaching up into the metrics, even inside a function, must fail
    with open(tmp_path / "geo" / "__init__.py", "a") as fh:
        fh.write("\n\ndef _late():\n    from data_layer.domain import metrics  # noqa: F401\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "geo" in result.stdout and "data_layer.domain.metrics" in result.stdout


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_pages_and_app_build_no_frames_sql_or_geojson():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported(path) & NOT_IN_PAGES)
        for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_imports_pages_or_app():
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            assert not _imported(path) & {"pages", "app"}, path
