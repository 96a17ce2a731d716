"""The meeting briefing model (documents.briefing): frozen meeting, URL form, figures = CLI."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fixtures_tiny import AS_OF, C1, S1, S2

from data_layer.cli import main as cli_main
from data_layer.domain.formatting import format_fraction, format_value
from data_layer.domain.metrics import METRICS
from data_layer.domain.scope import Scope
from documents.briefing import build_briefing
from documents.meeting import Meeting, file_stem
from documents.slides import HEADLINE, SLIDES

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
MARCH = Meeting.for_month(2025, 3, as_of=AS_OF)


def cli_metrics(data_dir, capsys, meeting: Meeting) -> dict:
    args = ["kpis", "--data", str(data_dir), "--from", meeting.start.isoformat()]
    args += ["--to", meeting.end.isoformat(), "--as-of", meeting.as_of.isoformat()]
    if meeting.streets:
        args += ["--street", *meeting.streets]
    assert cli_main(args) == 0
    return json.loads(capsys.readouterr().out)[0]["metrics"]


@pytest.mark.parametrize(
    "meeting",
    [
        MARCH,
        Meeting.for_quarter(2025, 1, as_of=AS_OF, streets=(S1, S2)),
        Meeting("custom", dt.date(2025, 3, 5), dt.date(2025, 3, 20), AS_OF, (S1,)),
    ],
    ids=["month", "quarter-streets", "custom-street"],
)
def test_meeting_survives_its_url(meeting):
    params = meeting.to_query_params()
    assert Meeting.from_query_params(params) == meeting
    assert meeting.filter().as_of == AS_OF and meeting.filter().period == "custom"


def test_month_and_quarter_cover_whole_days():
    assert (MARCH.start, MARCH.end) == (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    q4 = Meeting.for_quarter(2024, 4, as_of=AS_OF)
    assert (q4.start, q4.end) == (dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    default = Meeting.default(now=dt.datetime(2025, 4, 2, 9, 30, 41))
    assert (default.kind, default.month, default.as_of) == (
        "month",
        "2025-03",
        dt.datetime(2025, 4, 2, 9, 30),
    )


def test_a_broken_link_falls_back_instead_of_failing():
    assert Meeting.from_query_params({}) is None
    assert Meeting.from_query_params({"mt_as_of": "yesterday"}) is None
    fallback = Meeting.from_query_params({"mt_as_of": "2025-04-02T09:00", "mt_month": "2025-13"})
    assert fallback is not None and fallback.month == "2025-03"


@pytest.mark.parametrize("meeting", [MARCH, MARCH.with_streets([S1]), MARCH.with_streets([S2])])
def test_every_slide_figure_equals_the_cli(tiny, tiny_dir, capsys, meeting):
    cli = cli_metrics(tiny_dir, capsys, meeting)
    briefing = build_briefing(tiny, meeting, Scope.everything())
    assert [s.key for s in briefing.slides] == list(SLIDES)
    assert [s.number for s in briefing.slides] == list(range(1, 8))
    seen = 0
    for slide in briefing.slides:
        for fig in slide.figures:
            if fig.key not in METRICS:
                continue  # detail figures (teams, participants) are not in the CLI
            assert fig.value == format_value(fig.key, cli[fig.key]["value"]), fig.key
            if METRICS[fig.key].is_rate:
                fields = cli[fig.key]
                assert fig.fraction == format_fraction(fields["numerator"], fields["denominator"])
            seen += 1
    assert seen >= len(HEADLINE)


def test_headline_change_is_against_the_previous_period(tiny):
    briefing = build_briefing(tiny, MARCH, Scope.everything())
    figures = {f.key: f for f in briefing.slides[0].figures}
    assert figures["reported"].value == "10" and figures["reported"].delta == "+9"
    # February seen on 28 Feb 12:00 has one case, c9, open with its deadline (03-07) ahead:
    # nothing was due, so February has no closure rate and there is no change to show; and
    # 7 due cases are below the low-volume threshold (30): the figure says 样本少, uncoloured
    assert figures["closure_rate"].delta == "样本少"
    assert figures["closure_rate"].low_volume and figures["closure_rate"].higher_is_better is None
    # response: March 8 of 9 registered (c2 took 49 h), February 1 of 1 → −11.1 points,
    # over 9 registered cases: low volume too
    assert figures["response_rate"].delta == "-11.1 百分点 · 样本少"
    assert figures["full_time_coverage"].delta is None  # a snapshot has no change
    assert not figures["full_time_coverage"].low_volume  # a census, never 样本少
    assert figures["reported"].higher_is_better is None and not figures["reported"].low_volume


def test_the_headline_states_basis_comparison_and_the_case_identity(tiny):
    briefing = build_briefing(tiny, MARCH, Scope.everything())
    headline = briefing.slides[0]
    # March seen on 31 March: a finished month, compared with all of February
    assert headline.subtitle == "较上期（2025-02-01 至 2025-02-28） · 统计口径：按上报时间"
    # whole district, March: reported 10, registered 9 (c3 rejected) = due 7 (c1 c2 c10 c11
    # c12 closed, c4 c7 past due) + in progress 2 (c5 due 04-15, c6 due 03-31 20:00)
    assert "立案数 9 = 应结案数 7 + 在办未到期 2" in headline.notes
    assert "统计口径：按上报时间" in briefing.footer
    assessed = build_briefing(tiny, MARCH.with_basis("assessment"), Scope.everything())
    assert "统计口径：按考核时间" in assessed.footer
    assert assessed.slides[0].subtitle.endswith("统计口径：按考核时间")
    notes = assessed.slides[-1].notes
    assert any(n.startswith("统计口径：按考核时间——") for n in notes)


def test_overdue_cases_are_grouped_by_unit_and_masked(tiny):
    briefing = build_briefing(tiny, MARCH.with_streets([S1]), Scope.everything())
    overdue = briefing.slides[3]
    by_unit, cases = overdue.tables
    assert by_unit.rows == (("区城管局", "2", "267", "183"),)
    assert [r[1] for r in cases.rows] == ["c4", "c7"]
    assert {r[-2] for r in cases.rows} == {"张*"} and {r[-1] for r in cases.rows} == {"138****1234"}
    text = repr(briefing.slides)
    assert not PHONE.search(text) and "张三" not in text


def test_coverage_gaps_list_the_grids(tiny):
    briefing = build_briefing(tiny, MARCH, Scope.everything())
    no_ft, no_party = briefing.slides[4].tables
    assert [r[0] for r in no_ft.rows] == ["一社区第2网格"]
    assert [r[0] for r in no_party.rows] == ["一社区第2网格"]


def test_notes_slide_explains_every_formula_and_the_as_of(tiny):
    briefing = build_briefing(tiny, MARCH, Scope.everything())
    notes = briefing.slides[6]
    labels = [r[0] for r in notes.tables[0].rows]
    assert "办结率" in labels and "综合得分" in labels
    assert any("2025-03-31 12:00" in line for line in notes.notes)


def test_english_briefing(tiny):
    briefing = build_briefing(tiny, MARCH, Scope.everything(), lang="en")
    assert briefing.slides[0].title == "Headline figures"
    assert briefing.scope_label == "Whole district"


def test_file_stem_carries_scope_and_period():
    assert file_stem(MARCH) == "gridpulse_briefing_all_2025-03_asof-20250331-1200"
    quarter = Meeting.for_quarter(2025, 1, as_of=AS_OF, streets=(S1,))
    assert file_stem(quarter) == f"gridpulse_briefing_street-{S1}_2025-Q1_asof-20250331-1200"
    custom = Meeting("custom", dt.date(2025, 3, 5), dt.date(2025, 3, 20), AS_OF)
    assert "20250305-20250320" in file_stem(custom)


def test_scope_limits_every_slide(tiny):
    only_s2 = build_briefing(tiny, MARCH.with_streets([S2]), Scope.everything())
    assert only_s2.scope_label == "西湖街道"
    assert not only_s2.slides[3].tables[1].rows  # no overdue case in 西湖街道
    names = {r[0] for r in only_s2.slides[5].tables[0].rows}
    assert names <= {"四社区"} and C1 not in repr(only_s2.slides)
