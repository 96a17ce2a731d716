"""AppTest runs of the analytics pages (案件办结, 网格覆盖, 志愿服务, 红黑榜).

The pages run through app.py (the shared filter and st.navigation), as in the browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, C1, C3, S1, cli_kpis
from streamlit.testing.v1 import AppTest

from data_layer.domain.filters import Filter
from data_layer.domain.formatting import format_fraction, format_value
from data_layer.domain.labels import lookup
from data_layer.domain.metrics import METRICS
from data_layer.domain.scope import Scope
from data_layer.queries import cases, coverage, ranking, volunteer
from documents import exports

ROOT = Path(__file__).resolve().parent.parent
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")  # an unmasked mobile number
PAGES = {
    "cases": [
        "reported",
        "closure_rate",
        "on_time_rate",
        "overdue_open",
        "at_risk",
        "rework_rate",
        "satisfaction_rate",
        "response_rate",
        "hours_to_close_median",
        "hours_to_close_p90",
    ],
    "coverage": [
        "full_time_coverage",
        "party_org_coverage",
        "size_standard_rate",
        "property_coverage",
        "workers_per_10k",
    ],
    "volunteer": [
        "activities",
        "volunteer_hours",
        "volunteer_hours_per_1k",
        "party_members_reported",
        "wishes_collected",
        "wish_fulfilment_rate",
    ],
    "ranking": [],
}
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}


@pytest.fixture(scope="module")
def app_file() -> Path:
    return ROOT / "app.py"


def run_page(monkeypatch, data_dir, app_file: Path, page: str, params: dict) -> AppTest:
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    at = AppTest.from_file(str(app_file), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"{ROOT}/pages/{page}.py")
    sign_in(at, data_dir)
    at.run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def shown_text(at: AppTest) -> str:
    """Everything the page shows as text: tables, captions, markdown, metrics."""
    parts = [
        frame.value.to_csv() if hasattr(frame.value, "to_csv") else str(frame.value)
        for frame in at.dataframe
    ]
    parts += [e.value for e in [*at.caption, *at.markdown, *at.info, *at.warning]]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


FILTERS = [
    {},
    {"street": S1},
    {"community": C1},
    {"category": ["dispute", "environment"]},
    {"source": "hotline_12345"},  # no case of this source: pages explain, nothing breaks
    {"community": C3},  # a community without cases in March
]


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()) or "all"
)
def test_page_renders_across_filters(monkeypatch, tiny_dir, app_file, page, params):
    at = run_page(monkeypatch, tiny_dir, app_file, page, {**MARCH, **params})
    assert_clean(at)
    assert not PHONE.search(shown_text(at))


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_live_and_in_english(monkeypatch, tiny_dir, app_file, page):
    assert_clean(run_page(monkeypatch, tiny_dir, app_file, page, {"period": "this_quarter"}))
    at = run_page(monkeypatch, tiny_dir, app_file, page, {**MARCH, "lang": "en"})
    assert_clean(at)
    title = {
        "cases": "Case closure",
        "coverage": "Grid coverage",
        "volunteer": "Volunteer activity",
        "ranking": "Ranking",
    }[page]
    assert at.title[0].value == title


@pytest.mark.parametrize(
    "params, cli_args",
    [
        ({"street": S1}, ["--street", S1]),
        ({"community": C1}, ["--community", C1]),
        ({"category": ["dispute", "environment"]}, ["--category", "dispute", "environment"]),
        ({}, []),
    ],
)
@pytest.mark.parametrize("page", ["cases", "coverage", "volunteer"])
def test_kpi_cards_equal_the_cli(monkeypatch, tiny_dir, app_file, capsys, page, params, cli_args):
    at = run_page(monkeypatch, tiny_dir, app_file, page, {**MARCH, **params})
    assert_clean(at)
    cli = cli_kpis(tiny_dir, capsys, *cli_args)
    shown = {m.label: m.value for m in at.metric}
    captions = [c.value for c in at.caption]
    for key in PAGES[page]:
        assert shown[lookup("metric", key, language="zh")] == format_value(
            key, cli[key]["value"]
        ), key
        if METRICS[key].is_rate:
            assert format_fraction(cli[key]["numerator"], cli[key]["denominator"]) in captions, key


def test_cases_page_shows_the_overdue_list_masked(monkeypatch, tiny_dir, app_file):
    at = run_page(monkeypatch, tiny_dir, app_file, "cases", {**MARCH, "street": S1})
    assert_clean(at)
    tables = [frame.value for frame in at.dataframe]
    overdue = next(t for t in tables if "案件编号" in t.columns and "超期时长（小时）" in t.columns)
    assert list(overdue["案件编号"]) == ["c4", "c7"]
    assert set(overdue["联系电话"]) == {"138****1234"} and set(overdue["举报人"]) == {"张*"}
    assert any("超期未结（2）" in tab.label for tab in at.tabs)


def test_a_filter_without_cases_explains_itself(monkeypatch, tiny_dir, app_file):
    at = run_page(monkeypatch, tiny_dir, app_file, "cases", {**MARCH, "community": C3})
    assert_clean(at)
    assert any("没有上报案件" in i.value for i in at.info)
    at = run_page(monkeypatch, tiny_dir, app_file, "ranking", MARCH)
    assert_clean(at)
    assert any("最低案件量" in i.value for i in at.info)  # tiny areas are all low volume


def test_coverage_page_lists_grids_without_a_full_time_worker(monkeypatch, tiny_dir, app_file):
    at = run_page(monkeypatch, tiny_dir, app_file, "coverage", MARCH)
    assert_clean(at)
    assert any("1 个基础网格未配备专职网格员" in m.value for m in at.markdown)
    missing = next(
        t.value
        for t in at.dataframe
        if "无专职网格员" not in t.value.columns
        and "网格" in t.value.columns
        and "兼职网格员" in t.value.columns
    )
    assert list(missing["网格"]) == ["一社区第2网格"]


def test_ranking_page_with_enough_cases(monkeypatch, tmp_path, app_file):
    """A district where every community has enough cases: lists filled, nothing flagged."""
    from data_layer import demo

    out = tmp_path / "demo"
    demo.generate(out=out, scale="tiny", seed=7)
    at = run_page(monkeypatch, out, app_file, "ranking", {"period": "last_12_months"})
    assert_clean(at)
    assert len(at.dataframe) >= 2


QUERIES = [
    (cases.case_funnel, {}),
    (cases.case_trend, {}),
    (cases.case_breakdown, {"by": "category"}),
    (cases.case_breakdown, {"by": "source"}),
    (cases.unit_scorecard, {}),
    (cases.close_time_stats, {}),
    (cases.open_cases, {"kind": "overdue"}),
    (cases.open_cases, {"kind": "at_risk"}),
    (coverage.grid_kinds, None),
    (coverage.party_orgs, None),
    (coverage.property_modes, None),
    (coverage.grids_without_full_time, None),
    (coverage.grids_without_party_org, None),
    (coverage.grid_sizes, None),
    (volunteer.volunteer_teams, None),
    (volunteer.activities_by_kind, {}),
    (volunteer.party_reports, {}),
    (volunteer.wish_funnel, {}),
    (volunteer.volunteer_summary, {}),
    (volunteer.most_and_least_active, {}),
    (ranking.ranking, {}),
]


@pytest.mark.parametrize("query, options", QUERIES, ids=[f"{q.__name__}-{o}" for q, o in QUERIES])
def test_every_download_has_no_unmasked_phone(tiny, query, options):
    flt = Filter(period="custom", start=AS_OF.date().replace(day=1), end=AS_OF.date(), as_of=AS_OF)
    kwargs = {} if options is None else {"window": flt.window(), **options}
    frame = query(tiny, flt, Scope.everything(), **kwargs)
    csv_text = exports.csv_bytes(frame).decode("utf-8-sig")
    assert not PHONE.search(csv_text)
    xlsx = exports.xlsx_bytes(frame, flt=flt, window=flt.window(), sheet=query.__name__)
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert not any(PHONE.search(str(c.value)) for s in book for row in s.iter_rows() for c in row)


def test_page_choices_live_in_the_url(monkeypatch, tiny_dir, app_file):
    at = run_page(
        monkeypatch,
        tiny_dir,
        app_file,
        "cases",
        {**MARCH, "every": "month", "compare": "last_year"},
    )
    assert_clean(at)
    assert at.radio(key="cases_every").value == "month"
    assert at.radio(key="cases_compare").value == "last_year"
    at = run_page(monkeypatch, tiny_dir, app_file, "ranking", {**MARCH, "rank_level": "street"})
    assert_clean(at)
    assert at.radio(key="ranking_level").value == "street"
    assert at.query_params["rank_level"] in ("street", ["street"])
