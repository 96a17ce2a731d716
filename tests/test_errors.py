"""Error messages on screen carry no server paths (ui.errors.without_paths / show_error)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from app_session import sign_in
from streamlit.testing.v1 import AppTest

from ui.errors import without_paths

ROOT = Path(__file__).resolve().parent.parent


def test_known_folders_become_placeholders_and_other_paths_their_last_part(monkeypatch, tmp_path):
    data = tmp_path / "district"
    monkeypatch.setenv("GRIDPULSE_DATA", str(data))
    tmp = Path(tempfile.gettempdir()).resolve()
    text = (
        f"cannot read '{data}/_versions/v3/cases.parquet': "
        f"[Errno 13] Permission denied: '{tmp}/gridpulse-upload-x1/区界.geojson'; "
        f"font {ROOT}/assets/fonts/a.ttf, home {Path.home()}/.config/x.toml, "
        "GDAL: '/etc/os-release' via /vsicurl/http://10.0.0.5/secret.json and C:\\Users\\li\\a.csv"
    )
    shown = without_paths(text)
    assert shown == (
        "cannot read '‹data›/_versions/v3/cases.parquet': "
        "[Errno 13] Permission denied: '‹tmp›/gridpulse-upload-x1/区界.geojson'; "
        "font ‹app›/assets/fonts/a.ttf, home ‹home›/.config/x.toml, "
        "GDAL: '…/os-release' via …/secret.json and …/a.csv"
    )


def test_text_that_is_no_path_is_left_alone():
    text = "和/或 1/2 km/h data/cases.parquet 2025/03/01 «a/b» https://docs"
    assert without_paths(text) == text.replace("//docs", "…/docs")


def test_a_data_error_on_the_import_page_shows_no_server_path(monkeypatch, tiny_dir):
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(str(ROOT / "pages" / "import_data.py"), default_timeout=60)
    sign_in(at, tiny_dir, role="data_admin")
    at.run()
    at.radio[0].set_value("boundaries")
    at.run()
    at.file_uploader[0].set_value(("区界.geojson", b"not json at all {", "application/json"))
    at.run()
    next(b for b in at.button if b.key == "import_dry").click()
    at.run(timeout=120)
    assert not at.exception
    # the reason is plain text: its Markdown escapes (``区界\\.geojson``) render away
    shown = "\n".join(e.value for e in at.error).replace("\\", "")
    assert "区界.geojson" in shown  # the reason names the uploaded file…
    assert "/tmp" not in shown and tempfile.gettempdir() not in shown  # …not where it is kept


def test_a_data_error_of_the_app_shows_no_server_path(monkeypatch, tmp_path):
    empty = tmp_path / "data"  # holds the account store but no tables
    monkeypatch.setenv("GRIDPULSE_DATA", str(empty))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    sign_in(at, empty)
    at.run()
    assert not at.exception
    shown = at.error[0].value
    assert "make demo" in shown and "‹data›" in shown
    assert str(tmp_path) not in shown and "/tmp" not in shown
