"""Metrics of DESIGN §2 on the tiny hand-made district (tests/fixtures_tiny.py).

Every expected value below is worked out by hand from the case list in the fixture.
"""

import datetime as dt

import polars as pl
import pytest
from fixtures_tiny import AS_OF, C1, C2, C3, MARCH, S1, S2

from data_layer import settings
from data_layer.domain import formatting, metrics
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import figures, ranking

EVERYONE = Scope.everything()


def march(**kw) -> Filter:
    return Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF, **kw)


@pytest.fixture
def s1(tiny):
    return figures.headline(tiny, march(streets=(S1,)), EVERYONE)


def test_case_counts_follow_the_definitions(s1):
    # c8 (after as-of) and c9 (February) are outside; c3 is rejected. Open with the deadline
    # still ahead at as-of, so in progress and not due: c5 (postponed, due 04-15) and c6
    # (due 03-31 20:00, 8 h after as-of). Due: c1 c2 c10 c11 (closed), c4 c7 (past due).
    assert s1["reported"] == 9
    assert s1["registered"] == 8
    assert s1["due"] == 6
    assert s1["in_progress"] == 2
    assert s1["due"] + s1["in_progress"] == s1["registered"]
    assert s1["closed"] == 4  # c1, c2, c10, c11 (c7 closes after as-of)


def test_closure_rate_excludes_cases_not_yet_due(s1):
    assert s1["closure_rate"] == pytest.approx(4 / 6)


def test_on_time_rate_counts_closed_by_the_deadline(s1):
    assert s1["closed_on_time"] == 3  # c1, c10, c11; c2 closed after its deadline
    assert s1["on_time_rate"] == pytest.approx(3 / 6)


def test_overdue_and_at_risk(s1):
    assert s1["overdue_open"] == 2  # c4 and c7 (closed only after as-of)
    assert s1["at_risk"] == 1  # c6, due 8 hours after as-of


def test_rework_rate_over_closed_cases(s1):
    assert s1["closed_reworked"] == 1
    assert s1["rework_rate"] == pytest.approx(1 / 4)


def test_satisfaction_counts_only_ratings_known_at_as_of(s1):
    # c7 carries a rating but closed after as-of; c11 is unrated.
    assert (s1["rated_satisfied"], s1["rated"]) == (2, 3)
    assert s1["satisfaction_rate"] == pytest.approx(2 / 3)


def test_response_rate_is_dispatch_within_24_hours(s1):
    assert (s1["responded_24h"], s1["registered"]) == (7, 8)  # c2 dispatched after 49 h


def test_hours_to_close_median_and_p90_linear(s1):
    # closed: c10 24 h, c2 60 h, c1 98 h, c11 312 h
    assert s1["hours_to_close_median"] == pytest.approx(79.0)
    assert s1["hours_to_close_p90"] == pytest.approx(98 + 0.7 * (312 - 98))


def test_coverage_metrics(s1):
    # grids of S1: G1 basic 350 ft branch, G2 basic 520 no-ft none, G3 dedicated group, G4 basic 300 ft branch
    assert (s1["basic_grids_full_time"], s1["basic_grids"]) == (2, 3)
    assert (s1["grids_party_org"], s1["grids"]) == (3, 4)
    assert s1["basic_grids_size_ok"] == 2  # 300 and 350 inside the standard, 520 outside
    assert (s1["compounds_with_property"], s1["compounds"]) == (2, 3)
    assert s1["workers_per_10k"] == pytest.approx((2 + 3 + 1) / 4500 * 10_000)


def test_volunteer_metrics(s1):
    assert s1["activities"] == 3  # a1, a2, a3; a4 after as-of, a5 in February
    assert s1["volunteer_hours"] == pytest.approx(20.5)
    assert s1["volunteer_hours_per_1k"] == pytest.approx(20.5 / 4500 * 1000)
    assert s1["party_members_reported"] == 2
    assert (s1["wishes_collected"], s1["wishes_claimed"], s1["wishes_fulfilled"]) == (3, 2, 1)
    assert s1["wish_fulfilment_rate"] == pytest.approx(1 / 3)


def test_by_community_lists_every_community_even_without_cases(tiny):
    rows = {
        r["code"]: r
        for r in figures.kpis(tiny, march(streets=(S1,)), EVERYONE, by="community").iter_rows(
            named=True
        )
    }
    assert set(rows) == {C1, C2, C3}
    # C1 (G1, G2): due c1 c2 c11 (closed), c4 c7 (past due); c5, c6 in progress
    assert (rows[C1]["closed"], rows[C1]["due"]) == (3, 5)
    assert rows[C1]["closure_rate"] == pytest.approx(0.6)
    assert rows[C2]["closure_rate"] == pytest.approx(1.0)
    assert rows[C3]["reported"] == 0
    assert rows[C3]["closure_rate"] is None  # zero denominator: no value


def test_by_grid_leaves_community_only_metrics_empty(tiny):
    frame = figures.kpis(tiny, march(streets=(S1,)), EVERYONE, by="grid")
    assert frame.height == 4
    assert frame["wishes_collected"].null_count() == 4
    assert frame["workers_per_10k"].null_count() == 4


def test_street_filter_and_category_filter(tiny):
    s2 = figures.headline(tiny, march(streets=(S2,)), EVERYONE)
    assert (s2["reported"], s2["closed"], s2["due"]) == (1, 1, 1)
    disputes = figures.headline(tiny, march(categories=("dispute",)), EVERYONE)
    assert disputes["reported"] == 1


def test_scope_limits_what_a_filter_can_reach(tiny):
    only_s2 = Scope(streets=frozenset({S2}))
    assert figures.headline(tiny, march(), only_s2)["reported"] == 1
    assert figures.headline(tiny, march(streets=(S1,)), only_s2)["reported"] == 0


def test_zero_denominator_shows_dash(tiny):
    empty = figures.headline(tiny, march(communities=(C3,)), EVERYONE)
    assert empty["closure_rate"] is None
    assert formatting.format_value("closure_rate", empty["closure_rate"]) == "—"
    assert metrics.metric_fields(empty, "closure_rate") == {
        "value": None,
        "numerator": 0,
        "denominator": 0,
    }


def test_previous_window_of_march_is_february_at_the_same_point():
    window = march().window()  # 1–31 March, as-of 31 March 12:00
    prev = window.previous()
    assert (prev.start, prev.end) == (dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    assert prev.as_of == dt.datetime(2025, 2, 28, 12, 0)  # the last day, same time


def test_case_points_are_the_open_cases_with_overdue_flags(tiny):
    points = figures.case_points(
        tiny, march(streets=(S1,)), EVERYONE, since=dt.datetime(2025, 3, 25)
    )
    # open at as-of: c4 (overdue), c5 (postponed), c6 (at risk), c7 (overdue: closes after as-of)
    assert points["case_id"].to_list() == ["c4", "c5", "c6", "c7"]
    assert points["overdue"].to_list() == [True, False, False, True]
    assert points["new"].to_list() == [False, False, True, False]
    assert "reporter_phone" not in points.columns


# -- low volume (样本少) ----------------------------------------------------------------------


def test_low_volume_is_one_rule_for_values_and_columns():
    assert settings.min_denominator() == settings.DEFAULT_MIN_DENOMINATOR == 30
    assert metrics.is_low_volume(29) and not metrics.is_low_volume(30)
    assert metrics.is_low_volume(None) and metrics.is_low_volume(0)
    assert not metrics.is_low_volume(5, threshold=5)
    frame = pl.DataFrame({"due": [None, 0, 29, 30, 972]})
    flags = frame.select(metrics.is_low_volume(pl.col("due")))["due"].to_list()
    assert (
        flags
        == [metrics.is_low_volume(d) for d in frame["due"]]
        == [True, True, True, False, False]
    )


@pytest.mark.parametrize(
    ("text", "expected"), [("50", 50), ("0", 0), ("-3", 30), ("many", 30), ("", 30)]
)
def test_low_volume_threshold_is_a_setting(monkeypatch, text, expected):
    monkeypatch.setenv("GRIDPULSE_MIN_DENOMINATOR", text)
    assert settings.min_denominator() == expected
    # read when asked for: the rule follows the setting without a restart
    assert metrics.is_low_volume(expected - 1) and not metrics.is_low_volume(expected)


def test_rankings_and_breakdowns_use_the_low_volume_rule(tiny):
    # C1 has 5 due cases in March, C2 1, C4 1, C3 none: all below 30
    board = ranking.ranking(tiny, march(), EVERYONE)
    assert board["low_volume"].all() and board["rank"].null_count() == board.height
    config = ranking.RankingConfig(weights=(("closure_rate", 1.0),), min_denominator=2)
    ranked = {
        r["code"]: r
        for r in ranking.ranking(tiny, march(), EVERYONE, config=config).iter_rows(named=True)
    }
    assert ranked[C1]["low_volume"] is False and ranked[C1]["rank"] == 1
    assert ranked[C2]["low_volume"] is True and ranked[C2]["rank"] is None


# -- the latest month with cases ------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "as_of", "expected"),
    [
        # c8 (1 April) is after as-of: March
        (Filter(), AS_OF, MARCH),
        # seen on 2 April, c8 is known
        (Filter(), dt.datetime(2025, 4, 2), (dt.date(2025, 4, 1), dt.date(2025, 4, 30))),
        # street S2 has only c12 (10 March)
        (Filter(streets=(S2,)), dt.datetime(2025, 4, 2), MARCH),
        # C3 has no case at all
        (Filter(communities=(C3,)), AS_OF, None),
        # at 28 February noon only c9 was reported (that morning) ...
        (Filter(), dt.datetime(2025, 2, 28, 12), (dt.date(2025, 2, 1), dt.date(2025, 2, 28))),
        # ... and, open with its deadline ahead, not yet assessed
        (Filter(basis="assessment"), dt.datetime(2025, 2, 28, 12), None),
        # seen on 2 April, the latest assessment is c6's deadline (31 March 20:00); c8 is not due
        (Filter(basis="assessment"), dt.datetime(2025, 4, 2), MARCH),
    ],
)
def test_latest_month_with_cases(tiny, flt, as_of, expected):
    assert figures.latest_month_with_cases(tiny, flt, EVERYONE, as_of=as_of) == expected
