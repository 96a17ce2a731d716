"""应结案 (due), 在办未到期 (in progress) and the two bases (统计口径) of DESIGN §2.

Every expected value is worked out by hand from the cases listed here; docs/metrics.md
walks through the same examples.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import polars as pl
import pytest
from fixtures_tiny import AS_OF, MARCH, S1, tiny_tables

from data_layer.domain import formatting, metrics, schema
from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import cases as case_queries
from data_layer.queries import figures
from data_layer.storage.source import Dataset

EVERYONE = Scope.everything()
GRID = "360102001001001"  # G1 of the tiny district
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def case(
    case_id: str,
    reported: dt.datetime,
    *,
    deadline: dt.timedelta | None = 7 * D,
    closed: dt.datetime | None = None,
    rejected: bool = False,
    postponed: bool = False,
) -> dict:
    """A case registered half an hour after its report, dispatched half an hour later."""
    registered = reported + 0.5 * H
    return {
        "case_id": case_id,
        "grid_code": GRID,
        "category": "environment",
        "source": "grid_worker",
        "reported_at": reported,
        "registered_at": registered,
        "rejected": rejected,
        "dispatched_at": None if rejected else registered + 0.5 * H,
        "handling_unit": "区城管局",
        "handled_at": closed,
        "verified_at": closed,
        "closed_at": closed,
        "due_at": None if rejected or deadline is None else registered + deadline,
        "postponed": postponed,
        "rework_count": 0,
        "satisfaction": None,
        "lon": 115.9,
        "lat": 28.7,
        "reporter_name": "张三",
        "reporter_phone": "13812341234",
        "description": "测试",
        "updated_at": closed or reported,
    }


def dataset(cases: list[dict]) -> Dataset:
    tables = tiny_tables()
    tables["cases"] = schema.conform("cases", pl.DataFrame(cases, schema=schema.CASES))
    return Dataset(tables=tables)


def kpi(ds: Dataset, start: dt.date, end: dt.date, as_of: dt.datetime, basis: str) -> dict:
    flt = Filter(period="custom", start=start, end=end, as_of=as_of, basis=basis)
    return figures.headline(ds, flt, EVERYONE)


def counts(row: dict, *keys: str) -> tuple:
    return tuple(row[k] for k in keys)


# -- the five kinds of case of issue 13, June 2025 seen on 30 June at noon -------------------

JUNE = (dt.date(2025, 6, 1), dt.date(2025, 6, 30))
JUNE_AS_OF = dt.datetime(2025, 6, 30, 12, 0)


@pytest.fixture
def june() -> Dataset:
    t = dt.datetime
    return dataset(
        [
            # registered an hour before as-of (10:30 + 0.5 h), 7 days to go: in progress
            case("fresh", t(2025, 6, 30, 10, 30)),
            # closed early: due 06-17 09:00, closed 06-12 09:00 → assessed 06-12
            case("early", t(2025, 6, 10, 8, 30), closed=t(2025, 6, 12, 9)),
            # overdue: due 06-12 09:00, still open → assessed 06-12
            case("overdue", t(2025, 6, 5, 8, 30)),
            # postponed (缓办) to a new deadline 06-20 09:00 that has passed, open → assessed 06-20
            case("postponed", t(2025, 6, 1, 8, 30), deadline=19 * D, postponed=True),
            # rejected (不予立案): reported, never registered, never due
            case("rejected", t(2025, 6, 15, 8), rejected=True),
            # reported in May, due 06-01 09:00, closed late on 06-03 → assessed in June
            case("may", t(2025, 5, 25, 8, 30), closed=t(2025, 6, 3, 9)),
            # reported 06-28, closed the next day, due 07-05 → assessed 06-29
            case("quick", t(2025, 6, 28, 8, 30), closed=t(2025, 6, 29, 9)),
        ]
    )


KEYS = ("reported", "registered", "due", "in_progress", "closed", "closed_on_time")


def test_due_counts_cases_closed_or_past_their_deadline(june):
    row = kpi(june, *JUNE, JUNE_AS_OF, "report")
    # reported in June: fresh early overdue postponed rejected quick (may is from May)
    # registered: all but rejected; due: early, quick (closed), overdue, postponed (past due)
    # in progress: fresh; closed on time: early, quick
    assert counts(row, *KEYS) == (6, 5, 4, 1, 2, 2)
    assert row["due"] + row["in_progress"] == row["registered"]
    assert row["overdue_open"] == 2  # overdue, postponed
    assert row["at_risk"] == 0  # fresh is due in 7 days
    assert row["closure_rate"] == pytest.approx(2 / 4)
    assert row["on_time_rate"] == pytest.approx(2 / 4)


def test_a_case_becomes_due_when_its_deadline_passes(june):
    # a week later, fresh (due 07-07 11:00) is past its deadline: due, overdue, no longer in progress
    row = kpi(june, *JUNE, dt.datetime(2025, 7, 7, 12), "report")
    assert counts(row, "due", "in_progress", "overdue_open") == (5, 0, 3)


def test_assessment_basis_selects_cases_by_their_assessment_time(june):
    row = kpi(june, *JUNE, JUNE_AS_OF, "assessment")
    # reported and registered by reported_at, as under the report basis; so is in progress
    assert counts(row, "reported", "registered", "in_progress") == (6, 5, 1)
    # assessed in June: may 06-01, early 06-12, overdue 06-12, postponed 06-20, quick 06-29
    # (fresh is open with its deadline ahead: not assessed yet); closed: may, early, quick;
    # on time: early, quick (may closed two days late)
    assert counts(row, "due", "closed", "closed_on_time", "overdue_open") == (5, 3, 2, 2)
    assert row["closure_rate"] == pytest.approx(3 / 5)
    assert row["on_time_rate"] == pytest.approx(2 / 5)
    # hours to close over may (9 d 0.5 h = 216.5 h), early (48.5 h), quick (24.5 h)
    assert row["hours_to_close_median"] == pytest.approx(48.5)


def test_assessment_time_is_min_of_closed_and_due_as_known_at_as_of(june):
    times = (
        june.lazy("cases")
        .select("case_id", metrics.assessment_time(as_of=JUNE_AS_OF).alias("at"))
        .collect()
    )
    got = dict(zip(times["case_id"], times["at"], strict=True))
    t = dt.datetime
    assert got == {
        "fresh": None,
        "early": t(2025, 6, 12, 9),
        "overdue": t(2025, 6, 12, 9),
        "postponed": t(2025, 6, 20, 9),
        "rejected": None,
        "may": t(2025, 6, 1, 9),
        "quick": t(2025, 6, 29, 9),
    }


def test_a_case_closed_after_as_of_is_assessed_at_its_deadline():
    ds = dataset([case("late", dt.datetime(2025, 6, 1, 8, 30), closed=dt.datetime(2025, 7, 2))])
    # due 06-08 09:00; at 30 June it is open and overdue, assessed on 06-08
    row = kpi(ds, *JUNE, JUNE_AS_OF, "assessment")
    assert counts(row, "due", "closed", "overdue_open") == (1, 0, 1)
    # seen in August the closure is known: still assessed on 06-08, now closed late
    row = kpi(ds, *JUNE, dt.datetime(2025, 8, 1), "assessment")
    assert counts(row, "due", "closed", "closed_on_time", "overdue_open") == (1, 1, 0, 0)


def test_a_case_without_a_deadline_is_due_once_closed():
    ds = dataset(
        [
            case("open", dt.datetime(2025, 6, 2, 8, 30), deadline=None),
            case(
                "done",
                dt.datetime(2025, 6, 3, 8, 30),
                deadline=None,
                closed=dt.datetime(2025, 6, 4),
            ),
        ]
    )
    row = kpi(ds, *JUNE, JUNE_AS_OF, "report")
    assert counts(row, "registered", "due", "in_progress", "closed", "closed_on_time") == (
        2,
        1,
        1,
        1,
        0,  # no deadline, so not "by the deadline"
    )


# -- the published Tianmen example, December 2016 ------------------------------------------


def test_tianmen_shaped_example():
    """立案 996, 应结案 972, 结案 911 (93.72%), 按期 737 (75.82%), built as a synthetic frame."""
    t0 = dt.datetime(2016, 12, 1, 8, 30)
    cases = []
    for i in range(737):  # closed a day after the report, 7 days to go: on time
        cases.append(case(f"on_time{i}", t0, closed=t0 + D))
    for i in range(911 - 737):  # closed ten days after the report: late
        cases.append(case(f"late{i}", t0, closed=t0 + 10 * D))
    for i in range(972 - 911):  # open, past the deadline
        cases.append(case(f"overdue{i}", t0))
    for i in range(996 - 972):  # reported on the 30th, open, deadline in January
        cases.append(case(f"running{i}", dt.datetime(2016, 12, 30, 9)))
    for i in range(4):
        cases.append(case(f"rejected{i}", t0, rejected=True))
    ds = dataset(cases)
    row = kpi(ds, dt.date(2016, 12, 1), dt.date(2016, 12, 31), dt.datetime(2017, 1, 1), "report")
    assert counts(row, "reported", "registered", "due", "in_progress") == (1000, 996, 972, 24)
    assert counts(row, "closed", "closed_on_time", "overdue_open") == (911, 737, 61)
    assert round(row["closure_rate"] * 100, 2) == 93.72
    assert round(row["on_time_rate"] * 100, 2) == 75.82
    assert formatting.format_fraction(row["closed"], row["due"]) == "911 / 972"


# -- consecutive months add up under the assessment basis -----------------------------------


def _spread_cases() -> list[dict]:
    """60 cases reported from 20 December to late March, deadlines of 3–15 days, most closed
    after 0–12 days, every eleventh left open: some assessed in December, some in April."""
    out = []
    for i in range(60):
        reported = dt.datetime(2024, 12, 20, 8) + i * dt.timedelta(days=1, hours=17)
        closed = None if i % 11 == 0 else reported + (i % 7) * 2 * D + H
        out.append(case(f"k{i}", reported, deadline=(i % 5 + 1) * 3 * D, closed=closed))
    return out


MONTHS = [
    (dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
    (dt.date(2025, 2, 1), dt.date(2025, 2, 28)),
    (dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
]
QUARTER = (dt.date(2025, 1, 1), dt.date(2025, 3, 31))


@pytest.mark.parametrize("as_of", [dt.datetime(2025, 3, 20, 15), dt.datetime(2025, 5, 1)])
def test_three_months_add_up_to_the_quarter_under_the_assessment_basis(as_of):
    ds = dataset(_spread_cases())
    keys = ("due", "closed", "closed_on_time", "overdue_open", "closed_reworked", "rated")
    months = [kpi(ds, *m, as_of, "assessment") for m in MONTHS]
    quarter = kpi(ds, *QUARTER, as_of, "assessment")
    for key in keys:
        assert sum(m[key] for m in months) == quarter[key], key
    # the quarter's due cases are exactly those whose min(closed, due) known at as-of is in Q1
    expected = 0
    for c in _spread_cases():
        closed = c["closed_at"] if c["closed_at"] and c["closed_at"] <= as_of else None
        if closed is None and c["due_at"] > as_of:
            continue  # open, deadline ahead: not assessed yet
        assessed = min(t for t in (closed, c["due_at"]) if t is not None)
        expected += dt.datetime(2025, 1, 1) <= assessed <= dt.datetime(2025, 3, 31, 23, 59, 59)
    assert quarter["due"] == expected > 0


# -- the detail queries follow the basis like the KPIs --------------------------------------


def _tiny_assessment() -> Filter:
    return Filter(
        period="custom",
        start=MARCH[0],
        end=MARCH[1],
        as_of=AS_OF,
        streets=(S1,),
        basis="assessment",
    )


def test_tiny_district_under_the_assessment_basis(tiny):
    row = figures.headline(tiny, _tiny_assessment(), EVERYONE)
    # assessed in March at 31 March 12:00: c9 (reported 28 Feb, closed 03-01), c2 (due 03-03),
    # c1 (closed 03-05), c10 (closed 03-06), c4 (due 03-20), c11 (closed 03-25), c7 (due 03-27);
    # c5 and c6 are open with their deadline ahead, c8 comes after as-of
    assert counts(row, "reported", "registered", "in_progress") == (9, 8, 2)
    assert counts(row, "due", "closed", "closed_on_time", "overdue_open") == (7, 5, 4, 2)
    assert row["at_risk"] == 1  # c6, reported in March, due 8 h after as-of
    assert (row["rated"], row["rated_satisfied"]) == (3, 2)  # c1, c2, c10 (c9, c11 unrated)
    assert row["responded_24h"] == 7  # over the registered (reported) cases, as before


def test_detail_queries_agree_with_the_kpis_under_the_assessment_basis(tiny):
    flt = _tiny_assessment()
    row = figures.headline(tiny, flt, EVERYONE)
    trend = case_queries.case_trend(tiny, flt, EVERYONE, every="week", compare="none")
    for column in ("reported", "due", "closed", "closed_on_time"):
        assert trend[column].sum() == row[column], column
    # weeks of the assessment: c9 (Sat 1 March) → labelled 03-01; c2 c1 c10 → 03-03;
    # c4 → 03-17; c11 c7 → 03-24
    by_week = dict(zip(trend["bucket"], trend["due"], strict=True))
    assert by_week == {
        dt.date(2025, 3, 1): 1,
        dt.date(2025, 3, 3): 3,
        dt.date(2025, 3, 10): 0,
        dt.date(2025, 3, 17): 1,
        dt.date(2025, 3, 24): 2,
    }
    breakdown = case_queries.case_breakdown(tiny, flt, EVERYONE, by="category")
    assert breakdown["due"].sum() == row["due"] and breakdown["reported"].sum() == row["reported"]
    units = case_queries.unit_scorecard(tiny, flt, EVERYONE)
    assert units["due"].sum() == row["due"]
    stats = case_queries.close_time_stats(tiny, flt, EVERYONE)
    assert stats["closed"].sum() == row["closed"]
    overdue = case_queries.open_cases(tiny, flt, EVERYONE, kind="overdue")
    at_risk = case_queries.open_cases(tiny, flt, EVERYONE, kind="at_risk")
    assert (overdue.height, at_risk.height) == (row["overdue_open"], row["at_risk"])


def test_volunteer_and_coverage_metrics_do_not_change_with_the_basis(tiny):
    report = figures.headline(tiny, replace(_tiny_assessment(), basis="report"), EVERYONE)
    assessment = figures.headline(tiny, _tiny_assessment(), EVERYONE)
    for key, metric in metrics.METRICS.items():
        if metric.group != "cases":
            assert report[key] == assessment[key], key


def test_an_unknown_basis_is_an_error_in_the_data_layer(tiny):
    with pytest.raises(ValueError, match="basis"):
        figures.headline(tiny, Filter(basis="nonsense"), EVERYONE)
