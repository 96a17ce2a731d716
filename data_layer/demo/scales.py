"""The demo scales: how many districts, streets, communities, grids and cases each one makes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    districts: int
    streets: int  # total street offices
    communities: int  # total communities
    grids: int  # total grids
    cases: int  # expected cases over the whole span (≈, Poisson)
    years: int = 2
    km2_per_grid: float = 0.056
    chunk_cases: int = 1_000_000


SPECS: dict[str, Spec] = {
    "tiny": Spec(districts=1, streets=2, communities=6, grids=40, cases=3_000),
    "district": Spec(districts=1, streets=8, communities=60, grids=800, cases=60_000),
    "city": Spec(districts=7, streets=70, communities=700, grids=10_000, cases=1_000_000),
    "province": Spec(districts=20, streets=180, communities=1_800, grids=25_000, cases=10_000_000),
}

_DESCRIPTIONS = {
    "tiny": "测试用微型区：2 街道 / 6 社区 / 约 40 网格 / 约 3,000 案件（2 年）",
    "district": "一个区（默认）：8 街道 / 60 社区 / 800 网格 / 约 60,000 案件（2 年）",
    "city": "一个市：7 区 / 70 街道 / 700 社区 / 10,000 网格 / 约 1,000,000 案件（2 年）",
    "province": "全省压力测试：20 区 / 180 街道 / 1,800 社区 / 25,000 网格 / 约 10,000,000 案件（2 年，数分钟）",
}

SCALES: dict[str, dict] = {
    name: {
        "description": _DESCRIPTIONS[name],
        "districts": s.districts,
        "streets": s.streets,
        "communities": s.communities,
        "grids": s.grids,
        "cases": s.cases,
        "years": s.years,
    }
    for name, s in SPECS.items()
}
"""Scale name → description (Chinese, for ``--help``) and the approximate totals it makes."""
