"""A tiny hand-made district whose metrics are computed by hand in test_metrics.py.

Street S1 (360102001) has communities C1, C2, C3; street S2 (360102002) has C4.
As-of is 2025-03-31 12:00 and the period is March 2025.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import shapely

from data_layer.domain import schema
from data_layer.storage.source import Dataset

S1, S2 = "360102001", "360102002"
C1, C2, C3, C4 = S1 + "001", S1 + "002", S1 + "003", S2 + "001"
G1, G2, G3, G4, G5 = C1 + "001", C1 + "002", C2 + "001", C3 + "001", C4 + "001"
AS_OF = dt.datetime(2025, 3, 31, 12, 0)
MARCH = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))


def t(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat("2025-" + text) if text else None


def box(x: float, y: float, w: float = 1.0, h: float = 1.0) -> bytes:
    return shapely.to_wkb(shapely.box(x, y, x + w, y + h))


def _case(
    case_id,
    grid,
    reported,
    registered,
    dispatched,
    due,
    closed,
    *,
    rejected=False,
    postponed=False,
    rework=0,
    satisfaction=None,
    category="environment",
):
    return {
        "case_id": case_id,
        "grid_code": grid,
        "category": category,
        "source": "grid_worker",
        "reported_at": t(reported),
        "registered_at": t(registered),
        "rejected": rejected,
        "dispatched_at": t(dispatched),
        "handling_unit": "区城管局",
        "handled_at": t(closed),
        "verified_at": t(closed),
        "closed_at": t(closed),
        "due_at": t(due),
        "postponed": postponed,
        "rework_count": rework,
        "satisfaction": satisfaction,
        "lon": 115.9,
        "lat": 28.7,
        "reporter_name": "张三",
        "reporter_phone": "13812341234",
        "description": "测试",
        "updated_at": t(closed or dispatched or registered or reported),
    }


CASES = [
    # id, grid, reported, registered, dispatched, due, closed
    _case(
        "c1",
        G1,
        "03-01 08:00",
        "03-01 09:00",
        "03-01 10:00",
        "03-08 09:00",
        "03-05 10:00",
        satisfaction="satisfied",
    ),
    _case(
        "c2",
        G1,
        "03-02 08:00",
        "03-02 09:00",
        "03-04 09:00",
        "03-03 09:00",
        "03-04 20:00",
        rework=1,
        satisfaction="dissatisfied",
    ),
    _case("c3", G1, "03-03 08:00", "03-03 09:00", None, None, None, rejected=True),
    _case("c4", G2, "03-10 08:00", "03-10 09:00", "03-10 12:00", "03-20 09:00", None),
    _case(
        "c5", G1, "03-15 08:00", "03-15 08:30", "03-15 09:00", "04-15 09:00", None, postponed=True
    ),
    _case("c6", G2, "03-30 08:00", "03-30 09:00", "03-30 10:00", "03-31 20:00", None),
    _case(
        "c7",
        G1,
        "03-20 08:00",
        "03-20 08:30",
        "03-20 09:00",
        "03-27 09:00",
        "04-02 09:00",
        satisfaction="satisfied",
    ),
    _case("c8", G1, "04-01 08:00", "04-01 09:00", "04-01 10:00", "04-08 09:00", None),
    _case("c9", G1, "02-28 08:00", "02-28 09:00", "02-28 10:00", "03-07 09:00", "03-01 09:00"),
    _case(
        "c10",
        G3,
        "03-05 08:00",
        "03-05 08:30",
        "03-05 09:00",
        "03-12 09:00",
        "03-06 08:00",
        satisfaction="basic",
        category="dispute",
    ),
    _case(
        "c11",
        G1,
        "03-12 08:00",
        "03-12 08:30",
        "03-12 09:00",
        "04-10 09:00",
        "03-25 08:00",
        postponed=True,
    ),
    _case(
        "c12",
        G5,
        "03-10 08:00",
        "03-10 08:30",
        "03-10 09:00",
        "03-17 09:00",
        "03-11 08:00",
        satisfaction="satisfied",
    ),
]


def tiny_tables() -> dict[str, pl.DataFrame]:
    streets = pl.DataFrame(
        {
            "street_code": [S1, S2],
            "name": ["东湖街道", "西湖街道"],
            "district": ["360102", "360102"],
            "geometry": [box(0, 0, 3, 1), box(3, 0, 1, 1)],
        }
    )
    communities = pl.DataFrame(
        {
            "community_code": [C1, C2, C3, C4],
            "street_code": [S1, S1, S1, S2],
            "name": ["一社区", "二社区", "三社区", "四社区"],
            "households": [870, 100, 300, 400],
            "population": [2000, 2000, 500, 1000],
            "community_workers": [2, 3, 1, 2],
            "service_center_m2": [600.0, 400.0, 300.0, 500.0],
            "geometry": [box(0, 0), box(1, 0), box(2, 0), box(3, 0)],
        }
    )
    grids = pl.DataFrame(
        {
            "grid_code": [G1, G2, G3, G4, G5],
            "community_code": [C1, C1, C2, C3, C4],
            "name": [
                "一社区第1网格",
                "一社区第2网格",
                "二社区医院专属网格",
                "三社区第1网格",
                "四社区第1网格",
            ],
            "kind": ["basic", "basic", "dedicated", "basic", "basic"],
            "households": [350, 520, 100, 300, 400],
            "population": [900, 1100, 2000, 500, 1000],
            "full_time_workers": [1, 0, 1, 1, 1],
            "part_time_workers": [2, 1, 0, 1, 1],
            "party_org": ["branch", "none", "group", "branch", "branch"],
            "geometry": [box(0, 0, 0.5), box(0.5, 0, 0.5), box(1, 0), box(2, 0), box(3, 0)],
        }
    )
    compounds = pl.DataFrame(
        {
            "compound_id": ["k1", "k2", "k3", "k4"],
            "grid_code": [G1, G2, G3, G5],
            "name": ["甲小区", "乙小区", "丙小区", "丁小区"],
            "households": [350, 520, 100, 400],
            "property_mode": ["professional", "none", "self_managed", "fallback"],
        }
    )
    teams = pl.DataFrame(
        {
            "team_id": ["t1", "t2"],
            "community_code": [C1, C2],
            "name": ["先锋队", "青年队"],
            "kind": ["party_member", "youth"],
            "members": [20, 15],
        }
    )
    d = dt.date
    activities = pl.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4", "a5"],
            "team_id": ["t1", "t2", "t1", "t1", "t1"],
            "community_code": [C1, C2, C1, C1, C1],
            "grid_code": [G1, G3, None, G1, G1],
            "date": [d(2025, 3, 5), d(2025, 3, 20), d(2025, 3, 31), d(2025, 4, 1), d(2025, 2, 27)],
            "hours": [10.0, 6.5, 4.0, 100.0, 50.0],
            "participants": [5, 3, 2, 50, 25],
            "kind": ["patrol", "cleanup", "visit", "cleanup", "cleanup"],
        }
    )
    party_reports = pl.DataFrame(
        {
            "member_id": ["p1", "p2", "p3"],
            "unit": ["区税务局", "区教育局", "区教育局"],
            "community_code": [C1, C2, C2],
            "reported_on": [d(2025, 3, 2), d(2025, 3, 15), d(2025, 4, 2)],
            "posts_claimed": [1, 2, 1],
        }
    )
    wishes = pl.DataFrame(
        {
            "wish_id": ["w1", "w2", "w3", "w4"],
            "community_code": [C1, C1, C2, C1],
            "created_at": [t("03-01 10:00"), t("03-05 10:00"), t("03-20 10:00"), t("04-01 10:00")],
            "claimed_at": [t("03-02 10:00"), t("03-06 10:00"), None, t("04-02 10:00")],
            "fulfilled_at": [t("03-10 10:00"), t("04-05 10:00"), None, None],
            "claimer_kind": ["party_member", "enterprise", None, "volunteer"],
        }
    )
    cases = pl.DataFrame(CASES, schema=schema.CASES)
    frames = {
        "streets": streets,
        "communities": communities,
        "grids": grids,
        "compounds": compounds,
        "cases": cases,
        "volunteer_teams": teams,
        "activities": activities,
        "party_reports": party_reports,
        "wishes": wishes,
        "case_moves": schema.empty("case_moves"),  # never re-divided
    }
    return {name: schema.conform(name, frame) for name, frame in frames.items()}


def tiny_dataset() -> Dataset:
    return Dataset(tables=tiny_tables())


def cli_kpis(data_dir, capsys, *args: str, start=MARCH[0], end=MARCH[1], as_of=AS_OF) -> dict:
    """The ``metrics`` the CLI prints for ``python -m data_layer kpis`` over start..end
    seen at ``as_of`` (March 2025 by default), plus extra ``args`` (``--street`` ...)."""
    import json

    from data_layer.cli import main as cli_main

    argv = ["kpis", "--data", str(data_dir), "--from", start.isoformat(), "--to", end.isoformat()]
    assert cli_main([*argv, "--as-of", as_of.isoformat(), *args]) == 0
    return json.loads(capsys.readouterr().out)[0]["metrics"]
