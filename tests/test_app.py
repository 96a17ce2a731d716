"""AppTest runs of the app: every page renders without an exception or an error box."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, C1, S1, cli_kpis
from streamlit.testing.v1 import AppTest

from data_layer.domain.filters import Filter

OVERVIEW_KPIS = [
    "reported",
    "closure_rate",
    "on_time_rate",
    "overdue_open",
    "satisfaction_rate",
    "full_time_coverage",
    "party_org_coverage",
    "volunteer_hours",
]
ROOT = Path(__file__).resolve().parent.parent
ROOT_APP = str(ROOT / "app.py")


def run_app(monkeypatch, data_dir, params: dict | None = None, page: str | None = None) -> AppTest:
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    at = AppTest.from_file(ROOT_APP, default_timeout=60)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    sign_in(at, data_dir)
    at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_renders_on_tiny_data(monkeypatch, tiny_dir):
    params = {
        "period": "custom",
        "from": "2025-03-01",
        "to": "2025-03-31",
        "as_of": AS_OF.isoformat(),
        "street": S1,
    }
    at = run_app(monkeypatch, tiny_dir, params)
    assert_clean(at)
    values = metric_values(at)
    # due 6: c5 and c6 are open with their deadline ahead (test_metrics.py)
    assert values["办结率"] == f"{4 / 6 * 100:.1f}%"
    assert values["上报数"] == "9"
    assert "4 / 6" in [c.value for c in at.caption]


def test_missing_data_directory_shows_a_clear_message(monkeypatch, tmp_path):
    at = run_app(monkeypatch, tmp_path / "nope")
    assert not at.exception
    assert at.error and "make demo" in at.error[0].value


def test_corrupt_table_shows_a_clear_message(monkeypatch, tiny_dir):
    (tiny_dir / "cases.parquet").write_bytes(b"not parquet at all")
    at = run_app(monkeypatch, tiny_dir)
    assert not at.exception
    # the reason is plain text: Markdown escapes (``cases\\.parquet``) render as the name
    assert at.error and "cases.parquet" in at.error[0].value.replace("\\", "")


def test_unknown_codes_in_a_link_are_dropped(monkeypatch, tiny_dir):
    at = run_app(monkeypatch, tiny_dir, {"community": "999999999999", "as_of": AS_OF.isoformat()})
    assert_clean(at)  # unknown community is dropped: the page shows the whole district
    assert metric_values(at)["上报数"] != "0"


def test_filter_matching_no_cases_explains_itself(monkeypatch, tiny_dir):
    params = {
        "period": "custom",
        "from": "2010-01-01",
        "to": "2010-01-31",
        "as_of": AS_OF.isoformat(),
    }
    at = run_app(monkeypatch, tiny_dir, params)
    assert_clean(at)
    assert any("没有上报案件" in i.value for i in at.info)
    assert metric_values(at)["办结率"] == "—"


def test_english_switch(monkeypatch, tiny_dir):
    at = run_app(monkeypatch, tiny_dir, {"lang": "en", "as_of": AS_OF.isoformat()})
    assert_clean(at)
    assert "Closure rate" in metric_values(at)


def test_url_round_trip_reproduces_the_filter(monkeypatch, tiny_dir):
    params = {
        "street": S1,
        "community": C1,
        "period": "this_quarter",
        "category": "environment",
        "as_of": AS_OF.isoformat(),
    }
    at = run_app(monkeypatch, tiny_dir, params)
    assert_clean(at)
    written = Filter.from_query_params(dict(at.query_params))
    assert written == Filter(
        streets=(S1,),
        communities=(C1,),
        period="this_quarter",
        categories=("environment",),
        as_of=AS_OF,
    )


@pytest.mark.parametrize(
    "params, cli_args",
    [
        ({"street": S1}, ["--street", S1]),
        ({"community": C1}, ["--community", C1]),
        ({"category": ["dispute", "environment"]}, ["--category", "dispute", "environment"]),
        ({}, []),
    ],
)
def test_kpi_cards_equal_the_cli(monkeypatch, tiny_dir, capsys, params, cli_args):
    from data_layer.domain.formatting import format_fraction, format_value
    from data_layer.domain.labels import lookup
    from data_layer.domain.metrics import METRICS

    window = {
        "period": "custom",
        "from": "2025-03-01",
        "to": "2025-03-31",
        "as_of": AS_OF.isoformat(),
    }
    at = run_app(monkeypatch, tiny_dir, {**window, **params})
    assert_clean(at)
    cli = cli_kpis(tiny_dir, capsys, *cli_args)
    shown = metric_values(at)
    captions = [c.value for c in at.caption]
    for key in OVERVIEW_KPIS:  # the eight cards the foundation issue asks for
        assert shown[lookup("metric", key, language="zh")] == format_value(key, cli[key]["value"])
        if METRICS[key].is_rate:
            assert format_fraction(cli[key]["numerator"], cli[key]["denominator"]) in captions


def test_import_page_works_without_data(monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDPULSE_DATA", str(tmp_path / "empty"))
    at = AppTest.from_file(ROOT_APP, default_timeout=60)
    at.switch_page(str(ROOT / "pages" / "import_data.py"))
    sign_in(at, tmp_path / "empty", role="data_admin")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not any("make demo" in e.value for e in at.error)


OTHER_PAGES_KEYS = {"every": "month", "rank_level": "street", "slide": "3", "metric": "x"}


@pytest.mark.parametrize(
    "page, kept",
    [("cases", {"every"}), ("ranking", {"rank_level"}), ("coverage", set())],
)
def test_a_page_keeps_its_url_keys_and_drops_those_of_other_pages(
    monkeypatch, tiny_dir, page, kept
):
    """A link carrying the keys of the page one came from: only this page's keys stay."""
    params = {"as_of": AS_OF.isoformat(), **OTHER_PAGES_KEYS}
    at = run_app(monkeypatch, tiny_dir, params, page=str(ROOT / "pages" / f"{page}.py"))
    assert_clean(at)
    assert at.query_params["as_of"]  # the shared filter stays
    assert {k for k in OTHER_PAGES_KEYS if k in at.query_params} == kept
