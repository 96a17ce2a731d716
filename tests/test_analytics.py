"""Detail queries of the analytics pages on the tiny hand-made district (fixtures_tiny.py).

Street S1, March 2025, as-of 2025-03-31 12:00: the cases in the period are c1 c2 c3 c4 c5
c6 c7 c10 c11 (c8 after as-of, c9 in February, c12 in street S2). Every expected value is
worked out by hand from the case list; see test_metrics.py for the KPI side.
"""

import datetime as dt

import polars as pl
import pytest
from fixtures_tiny import AS_OF, C1, C2, C3, C4, MARCH, S1, S2

from data_layer import settings
from data_layer.domain import metrics, schema
from data_layer.domain.filters import Filter, Window
from data_layer.domain.scope import Scope
from data_layer.queries import cases, coverage, figures, ranking, volunteer

EVERYONE = Scope.everything()


def march(**kw) -> Filter:
    return Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF, **kw)


def rows(frame: pl.DataFrame, key: str) -> dict:
    return {r[key]: r for r in frame.iter_rows(named=True)}


# -- case closure ---------------------------------------------------------------------------


def test_funnel_counts_each_stage_reached_by_as_of(tiny):
    funnel = rows(cases.case_funnel(tiny, march(streets=(S1,)), EVERYONE), "stage")
    counts = {stage: funnel[stage]["count"] for stage in metrics.FUNNEL_STAGES}
    # c3 rejected; all 8 registered were dispatched by as-of; handled = closed by as-of
    # (c1 c2 c10 c11; c7 is handled only on 04-02); c11 closed without rating.
    assert counts == {
        "reported": 9,
        "registered": 8,
        "dispatched": 8,
        "handled": 4,
        "verified": 4,
        "closed": 4,
        "rated": 3,
    }
    assert funnel["registered"]["rejected"] == 1
    assert funnel["registered"]["drop_off"] == 1 and funnel["handled"]["drop_off"] == 4
    assert funnel["rated"]["drop_off"] == 1
    assert funnel["closed"]["share"] == pytest.approx(4 / 9)


def test_funnel_closed_and_rated_equal_the_kpis(tiny):
    flt = march(streets=(S1,))
    funnel = rows(cases.case_funnel(tiny, flt, EVERYONE), "stage")
    kpi = figures.headline(tiny, flt, EVERYONE)
    assert funnel["reported"]["count"] == kpi["reported"]
    assert funnel["registered"]["count"] == kpi["registered"]
    assert funnel["closed"]["count"] == kpi["closed"]
    assert funnel["rated"]["count"] == kpi["rated"]


def test_funnel_median_hours_per_stage(tiny):
    funnel = rows(cases.case_funnel(tiny, march(streets=(S1,)), EVERYONE), "stage")
    # report → registration: 1,1,1,0.5,1,0.5,0.5,0.5 h → median 0.75
    assert funnel["registered"]["median_hours"] == pytest.approx(0.75)
    # registration → dispatch: 1,48,3,0.5,1,0.5,0.5,0.5 → median 0.75
    assert funnel["dispatched"]["median_hours"] == pytest.approx(0.75)
    # dispatch → handled (c1 96, c2 11, c10 23, c11 311) → median 59.5
    assert funnel["handled"]["median_hours"] == pytest.approx(59.5)
    assert funnel["closed"]["median_hours"] == pytest.approx(
        0.0
    )  # verified = closed in the fixture
    assert funnel["reported"]["median_hours"] is None and funnel["rated"]["median_hours"] is None


def test_trend_weekly_buckets_sum_to_the_kpis(tiny):
    flt = march(streets=(S1,))
    trend = cases.case_trend(tiny, flt, EVERYONE, every="week", compare="none")
    by_week = rows(trend, "bucket")
    # the week of Monday 24 Feb is labelled by the window's first day
    assert list(by_week) == [dt.date(2025, 3, d) for d in (1, 3, 10, 17, 24)]
    assert by_week[dt.date(2025, 3, 1)]["reported"] == 2  # c1, c2
    assert by_week[dt.date(2025, 3, 10)]["reported"] == 3  # c4, c5, c11
    assert by_week[dt.date(2025, 3, 10)]["closure_rate"] == pytest.approx(0.5)  # c11 of c4, c11
    kpi = figures.headline(tiny, flt, EVERYONE)
    for column in ("reported", "due", "closed", "closed_on_time"):
        assert trend[column].sum() == kpi[column]
    assert not any(c.startswith("cmp_") for c in trend.columns)


def test_trend_previous_period_is_moved_onto_this_window(tiny):
    trend = cases.case_trend(tiny, march(streets=(S1,)), EVERYONE, every="week", compare="previous")
    # previous window: February (1–28 Feb), as-of 28 Feb 12:00: only c9 (28 Feb), moved by the
    # 28 days from 1 Feb to 1 March onto 28 March (week of Monday 24 March, with c6 of 30 March)
    by_week = rows(trend, "bucket")
    assert trend["cmp_reported"].sum() == 1
    assert by_week[dt.date(2025, 3, 24)]["cmp_reported"] == 1
    assert by_week[dt.date(2025, 3, 24)]["reported"] == 1
    # at 28 Feb 12:00 c9 is open with its deadline (03-07) ahead: not due, so no closure rate
    assert by_week[dt.date(2025, 3, 24)]["cmp_due"] == 0
    assert by_week[dt.date(2025, 3, 24)]["cmp_closure_rate"] is None


def test_trend_same_period_last_year(tiny):
    trend = cases.case_trend(tiny, march(), EVERYONE, every="month", compare="last_year")
    assert trend.height == 1 and trend["cmp_reported"][0] == 0  # no cases in March 2024
    window = march().window()
    last = cases.comparison_window(window, "last_year")
    assert (last.start, last.end, last.as_of) == (
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 31),
        dt.datetime(2024, 3, 31, 12, 0),
    )
    assert cases.comparison_window(window, "none") is None


def test_breakdown_by_category_lists_every_category_with_its_deadline(tiny):
    frame = cases.case_breakdown(tiny, march(streets=(S1,)), EVERYONE, by="category")
    by = rows(frame, "code")
    assert list(by) == list(schema.CATEGORIES)  # schema order, zero rows included
    assert by["environment"]["reported"] == 8 and by["dispute"]["reported"] == 1
    # environment: due c1 c2 c11 (closed), c4 c7 (past due); c5, c6 in progress
    assert (by["environment"]["closed"], by["environment"]["due"]) == (3, 5)
    assert by["environment"]["closure_rate"] == pytest.approx(0.6)
    assert by["dispute"]["hours_to_close_median"] == pytest.approx(24.0)
    assert by["other"]["reported"] == 0 and by["other"]["closure_rate"] is None
    assert by["environment"]["sla_hours"] == 48 and by["dispute"]["sla_hours"] == 168
    assert all(by[c]["low_volume"] for c in by)  # every category has fewer than 30 due cases
    assert frame["reported"].sum() == 9


def test_breakdown_respects_the_filter_codes(tiny):
    frame = cases.case_breakdown(tiny, march(sources=("grid_worker",)), EVERYONE, by="source")
    assert frame["code"].to_list() == ["grid_worker"]
    assert frame["reported"][0] == 10  # S1's 9 and c12 in S2


def test_unit_scorecard(tiny):
    frame = cases.unit_scorecard(tiny, march(), EVERYONE)
    unit = frame.row(0, named=True)
    assert frame.height == 1 and unit["handling_unit"] == "区城管局"
    kpi = figures.headline(tiny, march(), EVERYONE)
    for key in (
        "reported",
        "due",
        "closed",
        "overdue_open",
        "at_risk",
        "on_time_rate",
        "rework_rate",
        "satisfaction_rate",
    ):
        assert unit[key] == pytest.approx(kpi[key]), key
    assert unit["low_volume"] is True


def test_close_time_stats_per_category(tiny):
    stats = rows(cases.close_time_stats(tiny, march(streets=(S1,)), EVERYONE), "category")
    env = stats["environment"]  # closed: c2 60 h, c1 98 h, c11 312 h
    assert env["closed"] == 3
    assert env["hours_to_close_median"] == pytest.approx(98.0)
    assert env["hours_to_close_q1"] == pytest.approx(79.0)
    assert env["hours_to_close_q3"] == pytest.approx(205.0)
    assert env["hours_to_close_p90"] == pytest.approx(98 + 0.8 * (312 - 98))
    assert env["sla_hours"] == 48
    assert list(stats) == ["dispute", "environment"]  # categories without closed cases left out


def test_overdue_and_at_risk_lists_match_the_kpis_and_are_masked(tiny):
    flt = march(streets=(S1,))
    overdue = cases.open_cases(tiny, flt, EVERYONE, kind="overdue")
    at_risk = cases.open_cases(tiny, flt, EVERYONE, kind="at_risk")
    assert overdue["case_id"].to_list() == ["c4", "c7"]  # longest overdue first
    assert overdue["hours_overdue"].to_list() == pytest.approx([267.0, 99.0])
    assert at_risk["case_id"].to_list() == ["c6"] and at_risk["hours_left"][0] == pytest.approx(8.0)
    kpi = figures.headline(tiny, flt, EVERYONE)
    assert (overdue.height, at_risk.height) == (kpi["overdue_open"], kpi["at_risk"])
    assert overdue["community_name"][0] == "一社区" and overdue["grid_name"][0] == "一社区第2网格"
    assert set(overdue["reporter_name"]) == {"张*"}
    assert set(overdue["reporter_phone"]) == {"138****1234"}


def test_open_cases_unmasked_only_for_a_role_with_the_right(tiny):
    allowed = Scope(personal_data=True)
    overdue = cases.open_cases(tiny, march(), allowed, kind="overdue")
    assert set(overdue["reporter_phone"]) == {"13812341234"}


# -- coverage -------------------------------------------------------------------------------


def test_grid_kinds_party_orgs_and_property_modes(tiny):
    flt = march(streets=(S1,))
    kinds = rows(coverage.grid_kinds(tiny, flt, EVERYONE), "kind")
    assert (kinds["basic"]["grids"], kinds["dedicated"]["grids"]) == (3, 1)
    assert kinds["basic"]["households"] == 350 + 520 + 300
    assert kinds["basic"]["without_full_time"] == 1
    orgs = rows(coverage.party_orgs(tiny, flt, EVERYONE), "party_org")
    assert {k: v["grids"] for k, v in orgs.items()} == {"branch": 2, "group": 1, "none": 1}
    modes = coverage.property_modes(tiny, flt, EVERYONE)
    assert modes["property_mode"].to_list() == ["professional", "self_managed", "fallback", "none"]
    assert modes["compounds"].to_list() == [1, 1, 0, 1]
    kpi = figures.headline(tiny, flt, EVERYONE)
    assert (
        kinds["basic"]["grids"] - kinds["basic"]["without_full_time"]
        == kpi["basic_grids_full_time"]
    )
    assert orgs["branch"]["grids"] + orgs["group"]["grids"] == kpi["grids_party_org"]
    assert modes["compounds"].sum() - modes["compounds"][3] == kpi["compounds_with_property"]


def test_grids_without_full_time_and_grid_sizes(tiny):
    missing = coverage.grids_without_full_time(tiny, march(), EVERYONE)
    assert missing["grid_name"].to_list() == ["一社区第2网格"]
    assert missing["community_name"][0] == "一社区" and missing["street_name"][0] == "东湖街道"
    sizes = rows(coverage.grid_sizes(tiny, march(), EVERYONE), "grid_name")
    assert {k: v["size"] for k, v in sizes.items()} == {
        "一社区第1网格": "within",
        "一社区第2网格": "above",
        "三社区第1网格": "within",
        "四社区第1网格": "within",
    }


# -- volunteer ------------------------------------------------------------------------------


def test_teams_activities_and_party_reports(tiny):
    flt = march(streets=(S1,))
    teams = rows(volunteer.volunteer_teams(tiny, flt, EVERYONE), "kind")
    assert (teams["party_member"]["teams"], teams["party_member"]["team_members"]) == (1, 20)
    assert (teams["youth"]["teams"], teams["elderly"]["teams"]) == (1, 0)
    kinds = rows(volunteer.activities_by_kind(tiny, flt, EVERYONE), "kind")
    assert kinds["patrol"]["volunteer_hours"] == pytest.approx(10.0)
    assert kinds["cleanup"]["activities"] == 1  # a2; a4 after as-of, a5 in February
    assert kinds["visit"]["activities"] == 1  # a code outside the list is kept, not dropped
    kpi = figures.headline(tiny, flt, EVERYONE)
    frame = volunteer.activities_by_kind(tiny, flt, EVERYONE)
    assert frame["activities"].sum() == kpi["activities"]
    assert frame["volunteer_hours"].sum() == pytest.approx(kpi["volunteer_hours"])
    party = rows(volunteer.party_reports(tiny, flt, EVERYONE), "community_code")
    assert (party[C1]["party_members_reported"], party[C1]["posts_claimed"]) == (1, 1)
    assert (party[C2]["party_members_reported"], party[C2]["posts_claimed"]) == (
        1,
        2,
    )  # p3 in April
    assert party[C3]["party_members_reported"] == 0


def test_wish_funnel_and_median_days(tiny):
    flt = march(streets=(S1,))
    wishes = rows(volunteer.wish_funnel(tiny, flt, EVERYONE), "stage")
    assert [wishes[s]["count"] for s in volunteer.WISH_STAGES] == [3, 2, 1]
    assert wishes["wishes_claimed"]["median_days"] == pytest.approx(1.0)  # w1, w2: 1 day each
    assert wishes["wishes_fulfilled"]["median_days"] == pytest.approx(9.0)  # w1 03-01 → 03-10
    kpi = figures.headline(tiny, flt, EVERYONE)
    assert [wishes[s]["count"] for s in volunteer.WISH_STAGES] == [
        kpi[s] for s in volunteer.WISH_STAGES
    ]
    summary = volunteer.volunteer_summary(tiny, flt, EVERYONE).row(0, named=True)
    assert summary == {
        "teams": 2,
        "team_members": 35,
        "participants": 10,
        "party_members_reported": 2,
        "posts_claimed": 3,
        "wish_days_to_claim_median": 1.0,
        "wish_days_to_fulfil_median": 9.0,
    }


def test_most_and_least_active_communities(tiny):
    frame = volunteer.most_and_least_active(tiny, march(), EVERYONE, n=2)
    # per 1,000 residents: C1 14/2000 → 7.0, C2 6.5/2000 → 3.25, C3 0, C4 0 (tie: by code)
    assert frame.filter(pl.col("group") == "most")["code"].to_list() == [C1, C2]
    assert frame.filter(pl.col("group") == "least")["code"].to_list() == [C4, C3]
    assert frame["volunteer_hours_per_1k"].to_list()[:2] == pytest.approx([7.0, 3.25])


# -- ranking --------------------------------------------------------------------------------


def test_ranking_config_file_is_valid_and_documented():
    config = ranking.load_ranking_config()
    assert sum(w for _, w in config.weights) == pytest.approx(1.0)
    assert config.min_denominator == settings.min_denominator() == 30 and config.top_n == 5
    for key, _ in config.weights:
        assert metrics.METRICS[key].kind == "rate"


def test_ranking_config_rejects_a_non_rate(tmp_path):
    bad = tmp_path / "ranking.toml"
    bad.write_text("[weights]\nreported = 1.0\n")
    with pytest.raises(ValueError, match="reported"):
        ranking.load_ranking_config(bad)


def test_composite_score_and_rank_change(tiny):
    config = ranking.RankingConfig(
        weights=(("closure_rate", 0.5), ("rework_rate", 0.5)), min_denominator=1
    )
    frame = rows(ranking.ranking(tiny, march(), EVERYONE, config=config), "code")
    # C1: closure 3/5 (c6 not yet due), rework 1/3 → (0.5·0.6 + 0.5·(1 − 1/3)) × 100 = 63.33;
    # C2, C4: 100
    assert frame[C1]["ranking_score"] == pytest.approx((0.3 + 0.5 * 2 / 3) * 100)
    assert frame[C2]["ranking_score"] == pytest.approx(100.0)
    assert (frame[C2]["rank"], frame[C4]["rank"], frame[C1]["rank"]) == (1, 1, 3)  # ties share
    # C3 has no due case: flagged low volume, not ranked
    assert frame[C3]["low_volume"] is True and frame[C3]["rank"] is None
    # February at 28 Feb 12:00: only c9 (C1), open with its deadline ahead, so no area has a
    # due case then: nobody was ranked and there is no rank change
    assert (frame[C1]["prev_rank"], frame[C1]["rank_change"]) == (None, None)
    assert frame[C2]["prev_rank"] is None and frame[C2]["rank_change"] is None


def test_rank_change_against_the_previous_period(tiny):
    config = ranking.RankingConfig(
        weights=(("closure_rate", 0.5), ("rework_rate", 0.5)), min_denominator=1
    )
    # March seen on 30 April: February is seen on 30 March (the same lag after its end).
    flt = Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=dt.datetime(2025, 4, 30, 12))
    frame = rows(ranking.ranking(tiny, flt, EVERYONE, config=config), "code")
    # February: c9 (C1) closed 03-01 → C1 closure 1/1, rework 0/1 → 100, ranked 1st.
    # March: C1 due c1 c2 c4 c5 c6 c7 c11 (all past due by 30 April), closed c1 c2 c7 c11,
    # rework c2 → (0.5·4/7 + 0.5·3/4) × 100; C2 and C4 100 → C1 3rd.
    assert frame[C1]["ranking_score"] == pytest.approx((0.5 * 4 / 7 + 0.5 * 3 / 4) * 100)
    assert (frame[C1]["rank"], frame[C1]["prev_rank"], frame[C1]["rank_change"]) == (3, 1, -2)
    assert frame[C2]["prev_rank"] is None and frame[C2]["rank_change"] is None


def test_ranking_keeps_low_volume_areas_out_with_the_default_config(tiny):
    frame = ranking.ranking(tiny, march(), EVERYONE, level="street")
    assert frame["low_volume"].all() and frame["rank"].null_count() == frame.height
    assert ranking.ranking_lists(frame)[0].is_empty()


def test_score_renormalises_weights_when_a_rate_has_no_value(tiny):
    config = ranking.RankingConfig(
        weights=(("closure_rate", 0.5), ("satisfaction_rate", 0.5)), min_denominator=1
    )
    frame = rows(ranking.ranking(tiny, march(communities=(C4,)), EVERYONE, config=config), "code")
    assert frame[C4]["ranking_score"] == pytest.approx(100.0)  # c12 closed and satisfied


def test_ranking_lists_put_each_area_on_one_list_only():
    frame = pl.DataFrame({"code": list("abcdefg"), "rank": [1, 2, 3, 4, 5, 6, None]})
    red, black = ranking.ranking_lists(frame, n=5)
    assert red["code"].to_list() == list("abcde")
    assert black["code"].to_list() == ["f"]  # worst first, never also on the red list
    red, black = ranking.ranking_lists(frame, n=2)
    assert (red["code"].to_list(), black["code"].to_list()) == (["a", "b"], ["f", "e"])


def test_ranking_board_bundles_the_lists(tiny):
    config = ranking.RankingConfig(weights=(("closure_rate", 1.0),), min_denominator=1, top_n=1)
    board = ranking.ranking_board(tiny, march(), EVERYONE, config=config)
    assert board.flagged == 1 and board.ranked.height == 3
    assert board.red.height == 1 and board.black["code"].to_list() == [C1]


def test_scope_limits_every_detail_query(tiny):
    only_s2 = Scope(streets=frozenset({S2}))
    assert cases.case_funnel(tiny, march(), only_s2)["count"][0] == 1
    assert coverage.grid_kinds(tiny, march(), only_s2)["grids"].sum() == 1
    assert cases.open_cases(tiny, march(streets=(S1,)), only_s2, kind="overdue").is_empty()
    assert volunteer.wish_funnel(tiny, march(), only_s2)["count"][0] == 0


def test_window_defaults_to_the_filter_window(tiny):
    flt = march()
    window = Window(start=MARCH[0], end=MARCH[1], as_of=AS_OF)
    assert cases.case_funnel(tiny, flt, EVERYONE).equals(
        cases.case_funnel(tiny, flt, EVERYONE, window=window)
    )
