"""Handling units (处置单位): one of each district bureau per district, one of each street
office per street, which categories each handles, and which ones are slow."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_layer.domain import schema

# (name, level); level "d" = one per district (name starting with 区 gets the district name in
# multi-district scales), "s" = one per street (street name + suffix).
_UNITS = [
    ("区城管局", "d"),
    ("区住建局", "d"),
    ("区市场监管局", "d"),
    ("区生态环境分局", "d"),
    ("区应急管理局", "d"),
    ("区水务局", "d"),
    ("区民政局", "d"),
    ("区人社局", "d"),
    ("区卫健委", "d"),
    ("区公安分局", "d"),
    ("供电公司", "d"),
    ("燃气公司", "d"),
    ("物业公司", "d"),
    ("综合执法队", "s"),
    ("司法所", "s"),
    ("便民服务中心", "s"),
]
_U = {name: i for i, (name, _) in enumerate(_UNITS)}
_UNIT_MIX = {
    "dispute": {
        "司法所": 0.55,
        "区公安分局": 0.15,
        "区人社局": 0.15,
        "物业公司": 0.05,
        "区住建局": 0.10,
    },
    "safety_hazard": {
        "区应急管理局": 0.25,
        "综合执法队": 0.25,
        "区住建局": 0.15,
        "燃气公司": 0.10,
        "供电公司": 0.10,
        "区市场监管局": 0.05,
        "物业公司": 0.10,
    },
    "environment": {"区城管局": 0.45, "综合执法队": 0.25, "区生态环境分局": 0.20, "物业公司": 0.10},
    "property": {"物业公司": 0.55, "区住建局": 0.35, "综合执法队": 0.10},
    "municipal": {
        "区城管局": 0.35,
        "区水务局": 0.25,
        "供电公司": 0.15,
        "区住建局": 0.15,
        "燃气公司": 0.10,
    },
    "livelihood": {
        "区民政局": 0.30,
        "区人社局": 0.20,
        "区卫健委": 0.15,
        "区市场监管局": 0.20,
        "便民服务中心": 0.15,
    },
    "other": {"综合执法队": 0.40, "区城管局": 0.20, "区市场监管局": 0.20, "区公安分局": 0.20},
}
# P(unit type | category); rows follow schema.CATEGORIES, columns _UNITS.
UNIT_GIVEN_CAT = np.zeros((len(schema.CATEGORIES), len(_UNITS)))
for _c, _mix in _UNIT_MIX.items():
    for _u, _w in _mix.items():
        UNIT_GIVEN_CAT[list(schema.CATEGORIES).index(_c), _U[_u]] = _w

# Weak units come from these middle-sized district units (not the big 城管局 / 物业公司).
_WEAK_POOL = [
    _U[u]
    for u in (
        "区住建局",
        "区市场监管局",
        "区水务局",
        "区民政局",
        "区人社局",
        "燃气公司",
        "供电公司",
    )
]


@dataclass
class HandlingUnits:
    names: list[str]
    lookup_d: np.ndarray  # (district, unit type) → unit index (−1 for street-level)
    lookup_s: np.ndarray  # (street, unit type) → unit index (−1 for district-level)
    factor: np.ndarray  # handling-time multiplier
    weak: np.ndarray  # bool


def build_units(
    rng: np.random.Generator,
    *,
    districts: list[tuple[str, str]],
    street_district: np.ndarray,
    street_names: list[str],
) -> HandlingUnits:
    """Every unit with its name; two weak district units per district and one weak 综合执法队
    per district."""
    nd = len(districts)
    names: list[str] = []
    weak: list[bool] = []
    lookup_d = np.full((nd, len(_UNITS)), -1, dtype=np.int64)
    lookup_s = np.full((len(street_names), len(_UNITS)), -1, dtype=np.int64)
    for d in range(nd):
        weak_types = set(rng.choice(_WEAK_POOL, 2, replace=False).tolist())
        for t, (name, lvl) in enumerate(_UNITS):
            if lvl != "d":
                continue
            if nd > 1:
                name = (
                    districts[d][1] + name[1:] if name.startswith("区") else districts[d][1] + name
                )
            lookup_d[d, t] = len(names)
            names.append(name)
            weak.append(t in weak_types)
        s_idx = np.flatnonzero(street_district == d)
        weak_street = int(rng.choice(s_idx))
        for s in s_idx:
            for t, (name, lvl) in enumerate(_UNITS):
                if lvl != "s":
                    continue
                lookup_s[s, t] = len(names)
                names.append(street_names[s] + name)
                weak.append(bool(s == weak_street and name == "综合执法队"))
    weak_a = np.array(weak)
    factor = np.where(
        weak_a,
        rng.uniform(1.7, 2.1, len(names)),
        rng.lognormal(0.0, 0.1, len(names)),
    )
    return HandlingUnits(
        names=names, lookup_d=lookup_d, lookup_s=lookup_s, factor=factor, weak=weak_a
    )
