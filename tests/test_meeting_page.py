"""AppTest runs of the 联席会议 page through app.py: setup, presentation mode, frozen URL."""

from __future__ import annotations

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
from documents.briefing import HEADLINE
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
    "extra, cli_args", [({}, []), ({"mt_street": S1}, ["--street", S1])], ids=["all", "street"]
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
