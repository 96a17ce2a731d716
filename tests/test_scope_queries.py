"""The role scope inside the data layer: street AND community limits, whatever the filter asks,
and the CLI's ``--user``. Figures are counted by hand from tests/fixtures_tiny.py (March 2025:
C1 has cases c1-c7 and c11 = 8 reported, C2 has c10, S2's C4 has c12)."""

from __future__ import annotations

import json

import pytest
from app_session import account
from fixtures_tiny import AS_OF, C1, C2, C4, G1, G2, MARCH, S1, S2, cli_kpis

from data_layer.auth.roles import User, scope_for
from data_layer.cli import main as cli_main
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import cases, figures, ranking, volunteer
from documents.briefing import build_briefing
from documents.meeting import Meeting

MARCH_FILTER = Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF)
COMMUNITY_C1 = scope_for(
    User(username="c", display_name="c", role="community", communities=frozenset({C1}))
)
STREET_S2 = scope_for(User(username="s", display_name="s", role="street", streets={S2}))


def reported(ds, flt: Filter, scope: Scope) -> int:
    return figures.headline(ds, flt, scope)["reported"]


def test_a_community_account_sees_its_community_only(tiny):
    assert reported(tiny, MARCH_FILTER, COMMUNITY_C1) == 8
    grids = figures.scoped_grids(tiny, MARCH_FILTER, COMMUNITY_C1).collect()["grid_code"]
    assert sorted(grids) == [G1, G2]
    assert figures.street_options(tiny, COMMUNITY_C1)["code"].to_list() == [S1]
    assert figures.community_options(tiny, COMMUNITY_C1, streets=(S1,))["code"].to_list() == [C1]


@pytest.mark.parametrize(
    "flt",
    [
        Filter(communities=(C2,)),  # a sibling community of the same street
        Filter(streets=(S2,)),  # another street
        Filter(streets=(S1,), communities=(C4,)),
    ],
)
def test_a_filter_outside_the_community_scope_reads_nothing(tiny, flt):
    flt = Filter(**{**flt.__dict__, "period": "custom", "start": MARCH[0], "end": MARCH[1]})
    assert figures.scoped_communities(tiny, flt, COMMUNITY_C1).collect().is_empty()
    assert reported(tiny, flt, COMMUNITY_C1) == 0


def test_a_street_account_reads_nothing_of_another_street(tiny):
    assert reported(tiny, MARCH_FILTER, STREET_S2) == 1  # c12 only
    other = Filter(streets=(S1,), period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF)
    assert reported(tiny, other, STREET_S2) == 0
    assert figures.case_points(tiny, other, STREET_S2).is_empty()


def test_every_query_family_follows_the_community_scope(tiny):
    window = MARCH_FILTER.window()
    points = figures.case_points(tiny, MARCH_FILTER, COMMUNITY_C1, window=window)
    # open at as-of among C1's March cases: c4, c5, c6, c7 (c7 closes in April)
    assert sorted(points["case_id"]) == ["c4", "c5", "c6", "c7"]
    by_community = figures.kpis(tiny, MARCH_FILTER, COMMUNITY_C1, by="community", window=window)
    assert by_community["code"].to_list() == [C1]
    overdue = cases.open_cases(tiny, MARCH_FILTER, COMMUNITY_C1, window=window, kind="overdue")
    assert set(overdue["community_name"]) <= {"一社区"}
    board = ranking.ranking_board(
        tiny, MARCH_FILTER, COMMUNITY_C1, window=window, config=ranking.load_ranking_config()
    )
    assert "二社区" not in repr(board) and "四社区" not in repr(board)
    teams = volunteer.volunteer_teams(tiny, MARCH_FILTER, COMMUNITY_C1)
    assert teams["teams"].sum() == 1  # C1's party-member team; not the district's youth team


def test_the_briefing_names_the_accounts_areas_only(tiny):
    meeting = Meeting.for_month(2025, 3, as_of=AS_OF)
    community = build_briefing(tiny, meeting, COMMUNITY_C1)
    assert community.scope_label == "一社区"
    street = build_briefing(tiny, meeting, STREET_S2)
    assert street.scope_label == "西湖街道"
    assert "东湖街道" not in repr(street.slides) and "一社区" not in repr(street.slides)
    # a meeting that asks for another street gets nothing of it, and names nothing of it
    crafted = build_briefing(tiny, meeting.with_streets([S1]), STREET_S2)
    assert "东湖街道" not in crafted.scope_label and "东湖街道" not in repr(crafted.slides)


def test_cli_kpis_follow_the_users_scope(tiny_dir, capsys):
    account(tiny_dir, role="community", username="wang", communities=[C1])
    account(tiny_dir, role="street", username="li", streets=[S2])
    assert cli_kpis(tiny_dir, capsys, "--user", "wang")["reported"]["value"] == 8
    assert cli_kpis(tiny_dir, capsys, "--user", "li")["reported"]["value"] == 1
    # a code outside the user's scope counts nothing
    assert cli_kpis(tiny_dir, capsys, "--user", "li", "--street", S1)["reported"]["value"] == 0
    assert cli_kpis(tiny_dir, capsys)["reported"]["value"] == 10  # no --user: whole district


def test_cli_kpis_refuse_an_unknown_user(tiny_dir, capsys):
    argv = ["kpis", "--data", str(tiny_dir), "--user", "nobody"]
    assert cli_main(argv) == 2
    assert "nobody" in capsys.readouterr().err


def test_cli_help_documents_the_user_option(capsys):
    with pytest.raises(SystemExit):
        cli_main(["kpis", "--help"])
    assert "--user NAME" in capsys.readouterr().out


def test_cli_by_community_for_a_community_user(tiny_dir, capsys):
    account(tiny_dir, role="community", username="wang", communities=[C1])
    argv = ["kpis", "--data", str(tiny_dir), "--from", "2025-03-01", "--to", "2025-03-31"]
    assert (
        cli_main([*argv, "--as-of", AS_OF.isoformat(), "--user", "wang", "--by", "community"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in rows] == [C1]
