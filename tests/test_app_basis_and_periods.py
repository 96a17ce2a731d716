"""AppTest runs of issue 13 on the live pages: the basis switch (统计口径), low-volume cards,
the comparison stated on the card, the 近30天 default, and the offer of the latest month
with data when a period has none (an imported history must not open on a page of zeros).

Every expected figure is worked out by hand from tests/fixtures_tiny.py (see the comments).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from fixtures_tiny import AS_OF, S1, cli_kpis, tiny_tables
from streamlit.proto.Metric_pb2 import Metric
from test_app import assert_clean, metric_values, run_app

from data_layer.storage.source import write_tables

MARCH_S1 = {
    "period": "custom",
    "from": "2025-03-01",
    "to": "2025-03-31",
    "as_of": AS_OF.isoformat(),
    "street": S1,
}
GRAY, RED = Metric.MetricColor.GRAY, Metric.MetricColor.RED


def metrics_by_label(at) -> dict:
    return {m.label: m.proto for m in at.metric}


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def url(at, key: str):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


# -- the basis (统计口径) --------------------------------------------------------------------


def test_the_basis_switch_changes_the_due_side_figures(monkeypatch, tiny_dir, capsys):
    at = run_app(monkeypatch, tiny_dir, MARCH_S1)
    assert_clean(at)
    values = metric_values(at)
    # report basis, S1, March, as of 31 March 12:00: reported c1–c7 c10 c11 = 9; due c1 c2
    # c10 c11 (closed) c4 c7 (past due) = 6, in progress c5 c6 = 2; closed 4, on time c1 c10 c11
    assert (values["上报数"], values["办结率"], values["按期办结率"]) == ("9", "66.7%", "50.0%")
    assert values["在办未到期"] == "2"
    assert "4 / 6" in captions(at) and "3 / 6" in captions(at)
    assert "统计口径：按上报时间 · 立案数 8 = 应结案数 6 + 在办未到期 2" in captions(at)

    at.sidebar.radio(key="f_basis").set_value("assessment").run()
    assert_clean(at)
    values = metric_values(at)
    # assessment basis: assessed in March at min(closed, due) — c1 (03-05), c2 (03-03), c4
    # (03-20), c7 (03-27, open at as-of), c9 (reported in February, closed 03-01), c10 (03-06),
    # c11 (03-25) = 7 due; closed c1 c2 c9 c10 c11 = 5; on time c1 c9 c10 c11 = 4. Reported,
    # registered and in progress stay on the cases reported in March.
    assert (values["上报数"], values["办结率"], values["按期办结率"]) == ("9", "71.4%", "57.1%")
    assert (values["超期未结"], values["在办未到期"]) == ("2", "2")
    assert "5 / 7" in captions(at) and "4 / 7" in captions(at)
    assert (
        "统计口径：按考核时间 · 应结案数 7（本期考核）· 立案数 8、在办未到期 2（本期上报）"
        in captions(at)
    )
    assert url(at, "basis") == "assessment"  # a copied link keeps the basis
    cli = cli_kpis(tiny_dir, capsys, "--street", S1, "--basis", "assessment")
    assert (cli["closed"]["value"], cli["due"]["value"]) == (5, 7)


def test_the_basis_comes_from_the_link(monkeypatch, tiny_dir):
    at = run_app(monkeypatch, tiny_dir, {**MARCH_S1, "basis": "assessment"})
    assert_clean(at)
    assert at.sidebar.radio(key="f_basis").value == "assessment"
    assert metric_values(at)["办结率"] == "71.4%"


# -- low volume and the comparison on the card -------------------------------------------------


def test_a_low_volume_rate_is_marked_and_its_change_not_coloured(monkeypatch, tiny_dir):
    # March seen on 30 April (February then seen on 30 March, the same lag): S1 has 8 due
    # cases, closed c1 c2 c7 c10 c11 → 5 / 8 = 62.5%; February: c9 closed on time → 100%.
    params = {**MARCH_S1, "as_of": "2025-04-30T12:00:00"}
    at = run_app(monkeypatch, tiny_dir, params)
    assert_clean(at)
    card = metrics_by_label(at)["办结率"]
    assert card.body == "62.5%" and card.delta == "-37.5 百分点"
    assert card.color == GRAY  # not red: 8 due cases (< 30) are too few to call it worse
    assert "样本少 · 较上期 (02-01 至 02-28)" in captions(at)  # under the change, with its dates
    # a count is not a rate over a sample: 超期未结 c4 c5 c6 against none is +3, in red
    overdue = metrics_by_label(at)["超期未结"]
    assert (overdue.body, overdue.delta, overdue.color) == ("3", "+3", RED)

    monkeypatch.setenv("GRIDPULSE_MIN_DENOMINATOR", "5")
    at = run_app(monkeypatch, tiny_dir, params)
    card = metrics_by_label(at)["办结率"]
    assert card.delta == "-37.5 百分点" and card.color == RED  # 8 ≥ 5: a real fall
    assert "样本少 · 较上期 (02-01 至 02-28)" not in captions(at)


def test_a_bare_low_volume_card_states_no_comparison(monkeypatch, tiny_dir):
    at = run_app(monkeypatch, tiny_dir, MARCH_S1)
    # February seen on 28 February 12:00 had nothing due (c9 open, deadline ahead): no change
    assert not metrics_by_label(at)["办结率"].delta
    # 办结率, 按期办结率 and 满意率 say 样本少 and nothing more; the cards with a change to date
    # state it (上报数 超期未结 在办未到期 志愿服务时长; the coverage snapshots have none)
    assert captions(at).count("样本少") == 3
    assert captions(at).count("较上期 (02-01 至 02-28)") == 4


def test_a_running_period_states_the_days_it_is_compared_with(monkeypatch, tiny_dir):
    # 本月 on 2 March 10:30 runs 1–2 March; it is compared with 1–2 February as of 2 Feb 10:30
    at = run_app(monkeypatch, tiny_dir, {"period": "this_month", "as_of": "2025-03-02T10:30"})
    assert_clean(at)
    card = metrics_by_label(at)["上报数"]
    assert card.body == "2" and card.delta == "+2"  # c1, c2 against none
    assert "较上期 (02-01 至 02-02)" in captions(at)


# -- the default period --------------------------------------------------------------------------


def test_live_views_default_to_the_last_30_days(monkeypatch, tiny_dir, capsys):
    at = run_app(monkeypatch, tiny_dir, {"as_of": AS_OF.isoformat()})
    assert_clean(at)
    assert at.sidebar.selectbox(key="f_period").value == "last_30_days"
    assert captions(at)[0].startswith("统计期 2025-03-02 至 2025-03-31")
    # 2–31 March, whole district: c2–c7 c10 c11 c12 (c1 was reported on 1 March)
    assert metric_values(at)["上报数"] == "9"
    assert "period" not in at.query_params  # the default stays out of the link
    cli = cli_kpis(tiny_dir, capsys, start=dt.date(2025, 3, 2), end=dt.date(2025, 3, 31))
    assert cli["reported"]["value"] == 9


# -- no cases in the period ------------------------------------------------------------------------


def test_an_empty_period_offers_the_latest_month_with_cases(monkeypatch, tiny_dir):
    params = {"period": "custom", "from": "2010-01-01", "to": "2010-01-31"}
    at = run_app(monkeypatch, tiny_dir, {**params, "as_of": AS_OF.isoformat()})
    assert_clean(at)
    assert metric_values(at)["上报数"] == "0"
    assert "较上期 (2009-12-01 至 2009-12-31)" in captions(at)  # another year: whole dates
    # as of 31 March 12:00 the latest case known is c6 (30 March): March is offered
    assert any("没有上报案件" in i.value and "2025-03-01 至 2025-03-31" in i.value for i in at.info)
    at.button(key="show_latest_month").click().run()
    assert_clean(at)
    assert at.sidebar.selectbox(key="f_period").value == "custom"
    assert tuple(at.sidebar.date_input(key="f_range").value) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 31),
    )
    assert metric_values(at)["上报数"] == "10"  # March, whole district: c1–c7 c10–c12
    assert (url(at, "from"), url(at, "to")) == ("2025-03-01", "2025-03-31")


def test_an_imported_history_opens_on_its_latest_month(monkeypatch, tmp_path):
    """Last year's export (the tiny cases up to March 2025, without c8 of April) opened a
    year later: the default 近30天 has no case, so the page opens on March 2025."""
    tables = tiny_tables()
    tables["cases"] = tables["cases"].filter(pl.col("case_id") != "c8")
    history = tmp_path / "history"
    write_tables(history, tables)
    monkeypatch.setattr("ui.state.now_local", lambda: dt.datetime(2026, 3, 31, 12, 0))
    at = run_app(monkeypatch, history)
    assert_clean(at)
    assert any("2025-03-01 至 2025-03-31" in i.value for i in at.info)
    assert at.sidebar.selectbox(key="f_period").value == "custom"
    values = metric_values(at)
    # March 2025 seen a year later: reported 10, registered 9 (c3 rejected), all due;
    # closed c1 c2 c7 c10 c11 c12 = 6; on time c1 c10 c11 c12 = 4; open c4 c5 c6 overdue
    assert (values["上报数"], values["办结率"], values["按期办结率"]) == ("10", "66.7%", "44.4%")
    assert values["超期未结"] == "3"
    assert "6 / 9" in captions(at)
    # the user's own choice is kept: a link naming a period opens on it, zeros and all
    at = run_app(monkeypatch, history, {"period": "last_30_days"})
    assert metric_values(at)["上报数"] == "0"
    assert at.button(key="show_latest_month")  # and the latest month is offered
