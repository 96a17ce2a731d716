"""AppTest runs of the 联席会议 page through app.py: setup, presentation mode, frozen URL."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, S1
from streamlit.testing.v1 import AppTest

from data_layer.cli import main as cli_main
from data_layer.demo import simulate
from data_layer.domain.formatting import format_fraction, format_value
from data_layer.domain.labels import lookup
from data_layer.domain.metrics import METRICS
from documents.slides import HEADLINE
from ui.plain import plain

ROOT = Path(__file__).resolve().parent.parent
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MARCH = {"mt_period": "month", "mt_month": "2025-03", "mt_as_of": AS_OF.isoformat()}


def run_meeting(monkeypatch, data_dir, params: dict) -> AppTest:
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"{ROOT}/pages/meeting.py")
    sign_in(at, data_dir)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def counter(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "mt-counter" in m.value)


def test_presentation_mode_hides_the_chrome_and_moves_through_seven_slides(monkeypatch, tiny_dir):
    at = run_meeting(monkeypatch, tiny_dir, {**MARCH, "present": "1"})
    css = "\n".join(m.value for m in at.markdown)
    assert 'data-testid="stSidebar"' in css and "display: none" in css
    assert "1 / 7" in counter(at)
    assert at.title[0].value == "核心指标"
    assert at.button(key="mt_prev").disabled
    assert at.button(key="mt_next").proto.shortcut  # arrow keys
    assert not [b for b in at.button if b.key == "mt_present"]  # no setup in presentation
    titles = [at.title[0].value]
    for n in range(2, 8):
        at.button(key="mt_next").click().run()
        assert not at.exception
        assert f"{n} / 7" in counter(at)
        assert at.query_params["slide"] == [str(n)] or at.query_params["slide"] == str(n)
        titles.append(at.title[0].value)
        assert not PHONE.search("\n".join(str(t.value) for t in at.table))
    assert titles == [
        "核心指标",
        "各社区办结率",
        "红黑榜",
        "交办事项：超期未结案件",
        "网格覆盖短板",
        "志愿服务与微心愿",
        "数据说明",
    ]
    assert at.button(key="mt_next").disabled
    at.button(key="mt_prev").click().run()
    assert "6 / 7" in counter(at)
    at.button(key="mt_exit").click().run()
    assert not at.exception
    assert at.title[0].value == lookup("ui", "nav.meeting")  # back to the setup view
    assert "present" not in at.query_params


def test_a_link_opens_on_its_slide(monkeypatch, tiny_dir):
    at = run_meeting(monkeypatch, tiny_dir, {**MARCH, "present": "1", "slide": "4"})
    assert at.title[0].value == "交办事项：超期未结案件"
    tables = [t.value for t in at.table]
    cases = next(t for t in tables if "案件编号" in t.columns)
    # the cells are escaped for st.table's Markdown (ui.plain): masked, shown as written
    assert set(cases["举报人"]) == {plain("张*")}
    assert set(cases["联系电话"]) == {plain("138****1234")}


@pytest.mark.parametrize(
    "extra, cli_args",
    [
        ({}, []),
        ({"mt_street": S1}, ["--street", S1]),
        ({"mt_basis": "assessment"}, ["--basis", "assessment"]),
    ],
    ids=["all", "street", "assessment"],
)
def test_headline_slide_equals_the_cli(monkeypatch, tiny_dir, capsys, extra, cli_args):
    at = run_meeting(monkeypatch, tiny_dir, {**MARCH, **extra, "present": "1"})
    args = ["kpis", "--data", str(tiny_dir), "--from", "2025-03-01", "--to", "2025-03-31"]
    assert cli_main([*args, "--as-of", AS_OF.isoformat(), *cli_args]) == 0
    cli = json.loads(capsys.readouterr().out)[0]["metrics"]
    values, captions = shown(at), [c.value for c in at.caption]
    for key in HEADLINE:
        assert values[lookup("metric", key)] == format_value(key, cli[key]["value"]), key
        if METRICS[key].is_rate:
            fraction = format_fraction(cli[key]["numerator"], cli[key]["denominator"])
            assert f"= {fraction}" in captions, key


def test_setup_view_keeps_the_meeting_in_the_url_and_offers_the_files(monkeypatch, tiny_dir):
    at = run_meeting(
        monkeypatch,
        tiny_dir,
        {
            "mt_period": "quarter",
            "mt_quarter": "2025-Q1",
            "mt_as_of": "2025-03-31T12:00",
            "mt_street": S1,
        },
    )
    assert at.title[0].value == "联席会议"
    assert at.radio(key="mt_w_kind").value == "quarter"
    assert at.selectbox(key="mt_w_quarter").value == "2025-Q1"
    assert at.multiselect(key="mt_w_streets").value == [S1]
    assert any("数据截至 2025-03-31 12:00" in s.value for s in at.success)
    names = [d.proto.label for d in at.get("download_button")]
    assert names == ["下载 PPTX", "下载 PDF"]
    # choosing a month rewrites the URL (the frozen state) at once
    at.radio(key="mt_w_kind").set_value("month").run()
    at.selectbox(key="mt_w_month").set_value("2025-02").run()
    assert not at.exception
    params = {k: at.query_params[k] for k in at.query_params}
    flat = {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in params.items()}
    assert flat["mt_period"] == "month" and flat["mt_month"] == "2025-02"
    assert flat["mt_as_of"] == "2025-03-31T12:00" and flat["mt_street"] == S1
    at.button(key="mt_present").click().run()
    assert "1 / 7" in counter(at)


def test_without_a_meeting_in_the_url_the_page_freezes_now(monkeypatch, tiny_dir):
    at = run_meeting(monkeypatch, tiny_dir, {})
    as_of = at.query_params["mt_as_of"]
    assert as_of and (as_of[0] if isinstance(as_of, list) else as_of)[:4].isdigit()


def test_a_frozen_link_shows_the_same_figures_after_new_data_arrives(monkeypatch, tiny_dir):
    params = {**MARCH, "present": "1"}
    before = shown(run_meeting(monkeypatch, tiny_dir, params))
    rng = np.random.default_rng(3)
    for _ in range(3):  # new cases arrive and open ones move on, all after the frozen as-of
        result = simulate.tick(tiny_dir, per_minute=600, interval_s=10, rng=rng)
        assert result.new_cases > 0
    after = shown(run_meeting(monkeypatch, tiny_dir, params))
    assert after == before
    assert pl.read_parquet(tiny_dir / "cases.parquet").height > 12  # the data did change


def test_english_presentation(monkeypatch, tiny_dir):
    at = run_meeting(monkeypatch, tiny_dir, {**MARCH, "present": "1", "lang": "en"})
    assert at.title[0].value == "Headline figures"


# -- issue 13: own controls only, the basis, files built when asked for ------------------------


def test_the_meeting_page_does_not_show_the_shared_filter(monkeypatch, tiny_dir):
    # a link that also carries the live filter: it does not apply here, so it is not shown
    at = run_meeting(monkeypatch, tiny_dir, {**MARCH, "street": S1, "period": "this_year"})
    sidebar_keys = {w.key for w in (*at.sidebar.selectbox, *at.sidebar.multiselect)}
    assert not sidebar_keys & {"f_period", "f_streets", "f_communities", "f_categories"}
    assert [r.key for r in at.sidebar.radio] == ["lang"]  # the language switch stays
    assert "period" not in at.query_params and "street" not in at.query_params
    assert at.radio(key="mt_w_basis").value == "report"
    # the live filter is kept for the pages that use it
    at.switch_page(f"{ROOT}/pages/overview.py").run()
    assert not at.exception
    assert at.sidebar.multiselect(key="f_streets").value == [S1]
    assert at.sidebar.selectbox(key="f_period").value == "this_year"


def test_the_meeting_basis_is_its_own_control_and_in_its_link(monkeypatch, tiny_dir):
    at = run_meeting(monkeypatch, tiny_dir, {**MARCH, "mt_street": S1})
    # report basis, S1, March: closure 4 / 6 (test_app_basis_and_periods.py)
    assert shown(at)["办结率"] == "66.7%"
    at.radio(key="mt_w_basis").set_value("assessment").run()
    assert not at.exception
    # assessment basis: 5 of the 7 cases assessed in March were closed
    assert shown(at)["办结率"] == "71.4%" and "= 5 / 7" in [c.value for c in at.caption]
    basis = at.query_params["mt_basis"]
    assert (basis[0] if isinstance(basis, list) else basis) == "assessment"
    assert any("统计口径：按考核时间" in s.value for s in at.success)
    assert "统计口径：按考核时间" in at.caption[-1].value  # the footer of every slide


def test_files_are_built_only_when_a_download_asks_for_them(monkeypatch, tiny_dir):
    import threading
    import zipfile
    from io import BytesIO

    import streamlit as st

    from documents import pdf_writer, pptx_writer, static_map

    built: list[str] = []
    for module, name in ((pptx_writer, "pptx_bytes"), (pdf_writer, "pdf_bytes")):
        original = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _f=original, _n=name, **k: built.append(_n) or _f(*a, **k)
        )
    png = static_map.choropleth_png
    monkeypatch.setattr(
        static_map, "choropleth_png", lambda *a, **k: built.append("png") or png(*a, **k)
    )
    offered = {}
    download = st.download_button
    monkeypatch.setattr(
        st,
        "download_button",
        lambda label, data, **k: offered.setdefault(k["key"], data) and download(label, data, **k),
    )
    run_meeting(monkeypatch, tiny_dir, {**MARCH, "mt_as_of": "2025-03-31T12:01"})
    assert built == []  # slide 1 and the setup need neither file nor the static map
    assert set(offered) == {"mt_download_pptx", "mt_download_pdf"}
    assert all(callable(data) for data in offered.values())
    # Streamlit calls them on a thread of its own, outside the session
    files: dict[str, bytes] = {}
    for key, make in offered.items():
        thread = threading.Thread(target=lambda k=key, m=make: files.__setitem__(k, m()))
        thread.start()
        thread.join()
    assert sorted(built) == ["pdf_bytes", "png", "pptx_bytes"]  # the map once, for both
    with zipfile.ZipFile(BytesIO(files["mt_download_pptx"])) as deck:
        assert "ppt/presentation.xml" in deck.namelist()
        slides = [n for n in deck.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
        assert len(slides) == 7
    assert files["mt_download_pdf"].startswith(b"%PDF")


def test_a_meeting_on_an_imported_history_opens_on_its_latest_month(monkeypatch, tmp_path):
    from fixtures_tiny import tiny_tables

    from data_layer.storage.source import write_tables

    tables = tiny_tables()
    tables["cases"] = tables["cases"].filter(pl.col("case_id") != "c8")
    write_tables(tmp_path / "history", tables)
    monkeypatch.setattr("ui.state.now_local", lambda: dt.datetime(2026, 4, 10, 9, 0))
    at = run_meeting(monkeypatch, tmp_path / "history", {})
    # last month (March 2026) has no case; March 2025 is the latest month with cases
    assert at.selectbox(key="mt_w_month").value == "2025-03"
    assert shown(at)["上报数"] == "10"
