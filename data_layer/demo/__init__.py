"""Deterministic demo-city generator (DESIGN §3).

``generate(out=..., scale=..., seed=..., anchor=...)`` writes the nine tables of a fictional
city around Nanchang (115.9°E, 28.7°N) into a data directory. The same ``scale``, ``seed`` and
``anchor`` always give the same frames. The geometry and reference tables depend on the scale
and seed only, so moving the anchor keeps the same city and only moves the time line.

Geometry is a true nested partition: districts tile the region, streets tile their district,
communities their street, grids their community (Voronoi cells of k-means-relaxed seed points,
clipped to the parent, each one a single valid Polygon). It is built in a local metric plane and
mapped to lon/lat (EPSG:4326) by one affine map, so shared edges stay shared.

Cases are generated fully vectorised with numpy, day by day in chunks of whole days; large
scales stream ``cases.parquet`` through a pyarrow ``ParquetWriter`` (one row group per chunk)
into a temporary file that is renamed over the old one, like ``source.write_tables`` does.

Every event time is at or before the end of the anchor day (23:59:59 local time); events that
would happen later are null, so the data looks like a live system read at the end of that day.
Names, phone numbers and places are made up.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import shapely

from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.storage.source import load_sla_hours, table_path, write_tables

__all__ = ["SCALES", "generate", "anchor_end"]

CENTER_LON, CENTER_LAT = 115.9, 28.7
# Metres per degree around the centre (one affine map metric plane → lon/lat).
_M_PER_DEG_LAT = 110_860.0
_M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTER_LAT))

# ---------------------------------------------------------------------------------------------
# Scales
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    districts: int
    streets: int  # total street offices
    communities: int  # total communities
    grids: int  # total grids
    cases: int  # expected cases over the whole span (≈, Poisson)
    years: int = 2
    km2_per_grid: float = 0.056
    chunk_cases: int = 1_000_000


_SPECS: dict[str, _Spec] = {
    "tiny": _Spec(districts=1, streets=2, communities=6, grids=40, cases=3_000),
    "district": _Spec(districts=1, streets=8, communities=60, grids=800, cases=60_000),
    "city": _Spec(districts=7, streets=70, communities=700, grids=10_000, cases=1_000_000),
    "province": _Spec(districts=20, streets=180, communities=1_800, grids=25_000, cases=10_000_000),
}

SCALES: dict[str, dict] = {
    name: {
        "description": desc,
        "districts": s.districts,
        "streets": s.streets,
        "communities": s.communities,
        "grids": s.grids,
        "cases": s.cases,
        "years": s.years,
    }
    for name, s, desc in [
        (
            "tiny",
            _SPECS["tiny"],
            "测试用微型区：2 街道 / 6 社区 / 约 40 网格 / 约 3,000 案件（2 年）",
        ),
        (
            "district",
            _SPECS["district"],
            "一个区（默认）：8 街道 / 60 社区 / 800 网格 / 约 60,000 案件（2 年）",
        ),
        (
            "city",
            _SPECS["city"],
            "一个市：7 区 / 70 街道 / 700 社区 / 10,000 网格 / 约 1,000,000 案件（2 年）",
        ),
        (
            "province",
            _SPECS["province"],
            "全省压力测试：20 区 / 180 街道 / 1,800 社区 / 25,000 网格 / 约 10,000,000 案件（2 年，数分钟）",
        ),
    ]
}
"""Scale name → description (Chinese, for ``--help``) and the approximate totals it makes."""

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

_DISTRICTS = [
    ("360102", "湖滨区"),
    ("360103", "洪都区"),
    ("360104", "青云区"),
    ("360105", "象湖区"),
    ("360111", "瑶湖区"),
    ("360112", "梅岭区"),
    ("360113", "赣江区"),
]
_PROVINCE_CITIES = [
    "3601",
    "3602",
    "3603",
    "3604",
    "3605",
    "3606",
    "3607",
    "3608",
    "3609",
    "3610",
    "3611",
]
_NAME_A = list("东西南北新青桃梅洪章豫滨江瑶象莲柏松金玉丰永安和顺福兴华光明文德仁翠锦彩红紫")
_NAME_B = list("湖山桥塘园坊岭湾洲门苑林港渡溪泉亭台桂荷竹城岗庄堤")
_COMMUNITY_SUFFIX = ["", "", "", "路", "花园", "新村", "里", "东", "西", "南", "北"]
_COMPOUND_SUFFIX = [
    "小区",
    "小区",
    "花园",
    "苑",
    "家园",
    "新村",
    "公寓",
    "雅苑",
    "华庭",
    "嘉园",
    "名邸",
]
_FACILITIES = [
    "小学",
    "中学",
    "实验学校",
    "人民医院",
    "中医院",
    "妇幼保健院",
    "公园",
    "产业园",
    "商业广场",
    "农贸市场",
    "职业技术学院",
    "科技园",
]
_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘熊万涂付邹余程魏蔡叶杜"
)
_SURNAME_W = np.r_[
    [10, 10, 9, 9, 8, 6, 5, 5, 5, 4, 4, 4, 3, 3, 4, 3, 3, 3, 3, 3, 3, 2, 2, 2],
    np.full(len(_SURNAMES) - 24, 1.5),
]
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉志斌鹏宇浩欣怡婷雪琳晨子涵梓轩博俊佳思雨嘉海波宁春梅云燕凤荣新亮"
)
_PHONE_PREFIX = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159]
    + [180, 181, 182, 183, 184, 185, 186, 187, 188, 189]
)

_CAT = list(
    schema.CATEGORIES
)  # dispute safety_hazard environment property municipal livelihood other
_SRC = list(schema.SOURCES)  # grid_worker hotline_12345 resident_order micro_wish party_member
_CAT_SHARE = np.array([0.052, 0.13, 0.28, 0.16, 0.15, 0.14, 0.088])
# P(source | category); rows follow _CAT, columns _SRC.
_SRC_GIVEN_CAT = np.array(
    [
        [0.45, 0.35, 0.12, 0.02, 0.06],
        [0.70, 0.15, 0.05, 0.00, 0.10],
        [0.62, 0.22, 0.08, 0.01, 0.07],
        [0.35, 0.35, 0.25, 0.01, 0.04],
        [0.60, 0.28, 0.06, 0.01, 0.05],
        [0.30, 0.30, 0.15, 0.20, 0.05],
        [0.50, 0.30, 0.10, 0.03, 0.07],
    ]
)
# Monthly multipliers per category (Jan..Dec), interpolated day by day.
_SEASON = np.array(
    [
        [1.30, 1.10, 0.90, 0.90, 1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 1.00, 1.20],
        [1.20, 1.10, 0.90, 0.90, 1.00, 1.30, 1.30, 1.10, 0.90, 0.90, 1.00, 1.20],
        [0.80, 0.75, 0.90, 1.00, 1.10, 1.30, 1.45, 1.40, 1.10, 1.00, 0.90, 0.80],
        [1.10, 1.00, 1.00, 1.00, 1.00, 1.10, 1.20, 1.20, 1.00, 1.00, 1.00, 1.10],
        [0.90, 0.90, 1.00, 1.05, 1.15, 1.35, 1.25, 1.10, 1.00, 0.90, 0.90, 0.90],
        [1.20, 1.20, 1.00, 0.90, 0.90, 0.90, 1.00, 1.00, 1.10, 1.00, 1.00, 1.10],
        [1.00] * 12,
    ]
)
# Weekday multipliers per source (Mon..Sun).
_WEEKDAY = np.array(
    [
        [1.10, 1.05, 1.05, 1.05, 1.00, 0.45, 0.35],
        [1.10, 1.00, 1.00, 1.00, 1.00, 0.85, 0.80],
        [1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 0.90],
        [1.00, 1.00, 1.00, 1.00, 1.00, 0.80, 0.80],
        [0.80, 0.80, 0.80, 0.80, 0.90, 1.60, 1.40],
    ]
)
# Hour-of-day weights per source (0..23).
_HOURS = np.array(
    [
        [
            0.1,
            0.05,
            0.05,
            0.05,
            0.05,
            0.1,
            0.2,
            0.5,
            3,
            5,
            5.5,
            4.5,
            1.5,
            1.5,
            4,
            5,
            4.5,
            3,
            1.5,
            0.8,
            0.5,
            0.3,
            0.1,
            0.1,
        ],
        [
            0.3,
            0.2,
            0.1,
            0.1,
            0.1,
            0.2,
            0.4,
            1,
            3,
            5,
            5,
            4,
            2.5,
            2.5,
            4,
            4.5,
            4,
            3,
            2.5,
            2.5,
            2.5,
            2,
            1,
            0.5,
        ],
        [
            0.1,
            0.05,
            0.05,
            0.05,
            0.05,
            0.1,
            0.3,
            1,
            2.5,
            4,
            4,
            3.5,
            2,
            2,
            3.5,
            4,
            3.5,
            3,
            2.5,
            3,
            3,
            2,
            0.8,
            0.3,
        ],
        [
            0.05,
            0.02,
            0.02,
            0.02,
            0.02,
            0.05,
            0.1,
            0.5,
            2,
            4,
            4,
            3.5,
            1.5,
            1.5,
            3.5,
            4,
            3.5,
            2.5,
            1.5,
            1,
            0.8,
            0.5,
            0.2,
            0.1,
        ],
        [
            0.1,
            0.05,
            0.05,
            0.05,
            0.05,
            0.1,
            0.3,
            1,
            2,
            3.5,
            3.5,
            3,
            1.5,
            1.5,
            3,
            3,
            3,
            2.5,
            2,
            3,
            3,
            2,
            0.8,
            0.3,
        ],
    ]
)
_REJECT_P = np.array([0.012, 0.065, 0.045, 0.03, 0.02])  # per source
# Median handling time as a share of the category's deadline (short deadlines: faster work).
_HANDLE_F = np.array([0.28, 0.12, 0.17, 0.2, 0.28, 0.28, 0.28])
_POSTPONE_P = np.array([0.04, 0.005, 0.008, 0.015, 0.03, 0.012, 0.01])  # per category

# Handling units: (name, level); level "d" = one per district (name starting with 区 gets the
# district name in multi-district scales), "s" = one per street (street name + suffix).
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
_UNIT_GIVEN_CAT = np.zeros((len(_CAT), len(_UNITS)))
for _c, _mix in {
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
}.items():
    for _u, _w in _mix.items():
        _UNIT_GIVEN_CAT[_CAT.index(_c), _U[_u]] = _w

# Description templates per category: (uses building number, text after the place).
_TEMPLATES: dict[str, list[tuple[bool, str]]] = {
    "dispute": [
        (True, "楼上楼下因漏水问题产生纠纷"),
        (True, "住户因噪音扰民发生邻里矛盾"),
        (False, "业主与物业因停车收费产生争议"),
        (False, "两户居民因公共区域占用发生口角"),
        (False, "装修工人反映被拖欠工资"),
        (True, "租户与房东因押金退还产生纠纷"),
        (False, "居民因宠物扰民发生邻里纠纷"),
    ],
    "safety_hazard": [
        (True, "楼道堆放杂物，堵塞消防通道"),
        (True, "有电动车在楼道内充电"),
        (False, "外墙瓷砖松动，存在坠落风险"),
        (False, "消防栓无水，灭火器过期"),
        (False, "燃气管道有异味，疑似泄漏"),
        (True, "住户私拉电线飞线充电"),
        (False, "围墙出现裂缝，存在倒塌隐患"),
    ],
    "environment": [
        (False, "垃圾桶满溢未及时清运"),
        (True, "旁有人乱堆建筑垃圾"),
        (False, "有人露天焚烧垃圾"),
        (False, "绿化带内杂草丛生、蚊虫较多"),
        (False, "下水道返臭，污水外溢"),
        (False, "餐馆油烟扰民"),
        (False, "占道经营，环境脏乱"),
    ],
    "property": [
        (True, "电梯故障停运"),
        (True, "楼顶漏水，物业未及时维修"),
        (False, "门禁损坏，外来人员随意进出"),
        (False, "路灯不亮，物业未处理"),
        (True, "二次供水水压不足"),
        (False, "公共区域卫生无人打扫"),
    ],
    "municipal": [
        (False, "路面坑洼，影响车辆通行"),
        (False, "井盖缺失，存在安全隐患"),
        (False, "路灯损坏，夜间照明不足"),
        (False, "人行道地砖破损"),
        (False, "雨水篦子堵塞，路面积水"),
        (False, "交通护栏损坏"),
        (False, "行道树倒伏，影响通行"),
    ],
    "livelihood": [
        (True, "独居老人需要上门照料"),
        (False, "居民咨询医保缴费办理流程"),
        (False, "困难家庭申请临时救助"),
        (False, "居民反映缺少便民菜场"),
        (False, "居民咨询养老服务补贴政策"),
        (False, "残疾人申请辅具适配"),
        (False, "居民反映社区食堂用餐不便"),
    ],
    "other": [
        (False, "共享单车乱停乱放"),
        (False, "流浪犬出没，居民担心安全"),
        (True, "楼道小广告乱张贴"),
        (False, "工地夜间施工扰民"),
        (False, "居民咨询户籍办理事项"),
        (False, "违规设置地锁"),
    ],
}
_ROAD_SHARE = np.array([0.1, 0.2, 0.35, 0.05, 0.9, 0.1, 0.3])  # per category: place is a road

_TEAM_KINDS = ["party_member", "youth", "elderly", "professional", "women"]
_TEAM_SUFFIX = {
    "party_member": "党员先锋志愿服务队",
    "youth": "青年志愿服务队",
    "elderly": "银龄志愿服务队",
    "professional": "专业志愿服务队",
    "women": "巾帼志愿服务队",
}
_ACTIVITY_KINDS = [
    "cleanup",
    "elderly_care",
    "publicity",
    "patrol",
    "health",
    "legal",
    "education",
    "culture",
]
# P(activity kind | team kind); rows follow _TEAM_KINDS.
_ACT_GIVEN_TEAM = np.array(
    [
        [0.25, 0.15, 0.25, 0.15, 0.05, 0.05, 0.05, 0.05],
        [0.30, 0.10, 0.10, 0.10, 0.00, 0.00, 0.25, 0.15],
        [0.15, 0.30, 0.15, 0.25, 0.00, 0.00, 0.05, 0.10],
        [0.00, 0.10, 0.15, 0.00, 0.40, 0.30, 0.05, 0.00],
        [0.20, 0.25, 0.15, 0.05, 0.05, 0.05, 0.10, 0.15],
    ]
)
_PARTY_UNITS = [
    ("区税务局", 8),
    ("区教育局", 12),
    ("区财政局", 5),
    ("区人民医院", 10),
    ("区人民法院", 6),
    ("区人民检察院", 4),
    ("区发改委", 3),
    ("区自然资源局", 4),
    ("区交通运输局", 4),
    ("区卫健委", 4),
    ("区文旅局", 3),
    ("区统计局", 2),
    ("区审计局", 2),
    ("区融媒体中心", 2),
    ("区委办", 3),
    ("区政府办", 3),
    ("供电公司", 5),
    ("移动公司", 3),
    ("农商银行", 5),
    ("建设银行支行", 4),
]
_CLAIMERS = ["party_member", "enterprise", "volunteer", "social_org"]
_CLAIMER_P = np.array([0.50, 0.20, 0.22, 0.08])

# 春节 (Spring Festival) dates; other years fall back to 5 February.
_SPRING_FESTIVAL = {
    2019: (2, 5),
    2020: (1, 25),
    2021: (2, 12),
    2022: (2, 1),
    2023: (1, 22),
    2024: (2, 10),
    2025: (1, 29),
    2026: (2, 17),
    2027: (2, 6),
    2028: (1, 26),
    2029: (2, 13),
    2030: (2, 3),
    2031: (1, 23),
    2032: (2, 11),
    2033: (1, 31),
    2034: (2, 19),
    2035: (2, 8),
}

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

DAY = 86_400
HOUR = 3_600
_ROW_GROUP = 250_000  # rows per Parquet row group when cases are streamed in chunks


def anchor_end(anchor: dt.date) -> dt.datetime:
    """The last moment of the anchor day (naive local time): no event is later."""
    return dt.datetime.combine(anchor, dt.time(23, 59, 59))


def _epoch(d: dt.date) -> int:
    """Seconds of a naive local midnight since 1970-01-01 00:00 (naive)."""
    return int(np.datetime64(d, "s").astype(np.int64))


def _cdf_pick(u: np.ndarray, probs: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Inverse-CDF draw: ``u`` uniform in [0, 1); ``probs`` (k,) or (r, k) with ``rows``."""
    cdf = np.cumsum(probs / probs.sum(axis=-1, keepdims=True), axis=-1)
    if rows is None:
        return np.minimum(np.searchsorted(cdf, u, side="right"), probs.shape[-1] - 1)
    out = np.zeros(u.shape[0], dtype=np.int64)
    for k in range(probs.shape[-1] - 1):
        out += u >= cdf[rows, k]
    return out


def _allocate(
    total: int, n: int, rng: np.random.Generator, *, minimum: int, spread: float
) -> np.ndarray:
    """Split ``total`` into ``n`` positive integer parts (each ≥ minimum) with some variation."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    base = np.full(n, minimum, dtype=np.int64)
    rest = total - minimum * n
    if rest <= 0:
        return np.maximum(base, 1)
    w = rng.lognormal(0.0, spread, n)
    raw = rest * w / w.sum()
    parts = np.floor(raw).astype(np.int64)
    short = rest - parts.sum()
    order = np.argsort(-(raw - parts), kind="stable")
    parts[order[:short]] += 1
    return base + parts


def _names_pool(rng: np.random.Generator, n: int, suffixes: list[str], tail: str) -> list[str]:
    """``n`` distinct-as-possible two-character place names + suffix + tail."""
    pool = [a + b + s + tail for a in _NAME_A for b in _NAME_B for s in suffixes if a != b]
    pool = list(dict.fromkeys(pool))
    idx = rng.permutation(len(pool))
    out = [pool[i] for i in idx[: min(n, len(pool))]]
    while len(out) < n:  # pool exhausted (never at the shipped scales): repeat with a number
        out.append(
            pool[idx[len(out) % len(pool)]].replace(tail, f"{len(out) // len(pool) + 1}{tail}", 1)
        )
    return out


def _person_names(rng: np.random.Generator, n: int) -> pl.Series:
    sur = pl.Series(_SURNAMES).gather(_cdf_pick(rng.random(n), _SURNAME_W))
    g1 = pl.Series(_GIVEN).gather(rng.integers(0, len(_GIVEN), n))
    g2 = pl.Series(_GIVEN).gather(rng.integers(0, len(_GIVEN), n))
    two = pl.Series(rng.random(n) < 0.7)
    frame = pl.DataFrame({"s": sur, "a": g1, "b": g2, "two": two})
    return frame.select(
        pl.concat_str(
            [
                pl.col("s"),
                pl.col("a"),
                pl.when(pl.col("two")).then(pl.col("b")).otherwise(pl.lit("")),
            ]
        )
    ).to_series()


def _phones(rng: np.random.Generator, n: int) -> pl.Series:
    prefix = _PHONE_PREFIX[rng.integers(0, len(_PHONE_PREFIX), n)]
    rest = rng.integers(0, 100_000_000, n)
    return pl.Series((prefix * 100_000_000 + rest).astype(np.int64)).cast(pl.String)


def _ids(prefix: str, n: int, width: int = 8) -> pl.Series:
    """``prefix`` + 1-based sequence number, zero-padded."""
    return (
        prefix + pl.Series(np.arange(1, n + 1, dtype=np.int64)).cast(pl.String).str.zfill(width)
    ).cast(pl.String)


def _dt_series(name: str, sec: np.ndarray, valid: np.ndarray | None = None) -> pl.Series:
    arr = sec.astype("datetime64[s]").astype("datetime64[us]")
    if valid is not None:
        arr[~valid] = np.datetime64("NaT")
    return pl.Series(name, arr)


def _daytime(t: np.ndarray, start: int, end: int, rng: np.random.Generator) -> np.ndarray:
    """Move times outside [start, end) seconds-of-day to the next opening plus a little."""
    sod = t % DAY
    day0 = t - sod
    jitter = rng.integers(0, 90 * 60, t.size)
    out = t.copy()
    early = sod < start
    late = sod >= end
    out[early] = day0[early] + start + jitter[early]
    out[late] = day0[late] + DAY + start + jitter[late]
    return out


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------


def _outer_polygon(rng: np.random.Generator, area_m2: float) -> shapely.Polygon:
    """An irregular, roughly round polygon of the given area centred on (0, 0) metres."""
    n = 180
    theta = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 8):
        r += (
            rng.uniform(0.02, 0.10)
            / math.sqrt(k - 1)
            * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        )
    r += rng.normal(0.0, 0.006, n)  # a little roughness, like a real boundary
    stretch = rng.uniform(1.05, 1.3)
    x = r * np.cos(theta) * stretch
    y = r * np.sin(theta) / stretch
    poly = shapely.Polygon(np.column_stack([x, y]))
    k = math.sqrt(area_m2 / poly.area)
    poly = shapely.Polygon(np.column_stack([x * k, y * k]))
    return shapely.make_valid(poly) if not poly.is_valid else poly


def _sample_in(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    xmin, ymin, xmax, ymax = poly.bounds
    out = np.empty((0, 2))
    shapely.prepare(poly)
    while len(out) < n:
        m = max(64, 2 * (n - len(out)))
        pts = np.column_stack([rng.uniform(xmin, xmax, m), rng.uniform(ymin, ymax, m)])
        out = np.vstack([out, pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]])
    return out[:n]


def _polygon_parts(geom) -> list:
    parts = shapely.get_parts(geom)
    return [p for p in parts if p.geom_type == "Polygon" and p.area > 0]


def _split(parent, n: int, rng: np.random.Generator) -> list:
    """Tile ``parent`` (metric Polygon) with ``n`` single Polygons, ordered north→south in rows.

    Seeds are k-means centres of points sampled in the parent (a discrete Lloyd relaxation), so
    cells are compact and similar in size; the cells are the seeds' Voronoi polygons clipped to
    the parent; a cell the clip cut in two keeps its largest piece and hands the others to the
    neighbour sharing the longest edge.
    """
    if n == 1:
        return [parent]
    sample = _sample_in(parent, 60 * n, rng)
    centers = sample[rng.choice(len(sample), n, replace=False)]
    for _ in range(12):
        d2 = ((sample[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
        lab = d2.argmin(1)
        cnt = np.bincount(lab, minlength=n)
        sx = np.bincount(lab, sample[:, 0], minlength=n)
        sy = np.bincount(lab, sample[:, 1], minlength=n)
        ok = cnt > 0
        centers[ok] = np.column_stack([sx[ok] / cnt[ok], sy[ok] / cnt[ok]])
    vor = shapely.voronoi_polygons(shapely.multipoints(centers), extend_to=parent, ordered=True)
    cells = list(shapely.intersection(shapely.get_parts(vor), parent))
    if len(cells) != n:  # coincident seeds; cannot happen with continuous sampling
        raise RuntimeError(f"Voronoi split gave {len(cells)} cells for {n} seeds")
    for _ in range(10):
        changed = False
        for i, cell in enumerate(cells):
            parts = _polygon_parts(cell)
            if len(parts) == 1 and cell.geom_type == "Polygon":
                continue
            if len(parts) == 1:
                cells[i] = parts[0]
                continue
            parts.sort(key=lambda p: -p.area)
            cells[i] = parts[0]
            for piece in parts[1:]:
                shared = np.array(
                    [
                        0.0
                        if j == i
                        else shapely.length(shapely.intersection(piece.boundary, c.boundary))
                        for j, c in enumerate(cells)
                    ]
                )
                j = int(shared.argmax())
                cells[j] = shapely.union(cells[j], piece)
            changed = True
        if not changed:
            break
    if any(c.geom_type != "Polygon" for c in cells):
        raise RuntimeError("could not make every cell a single polygon")
    # order: rows from north to south, snake west/east
    cen = shapely.centroid(np.array(cells, dtype=object))
    cx, cy = shapely.get_x(cen), shapely.get_y(cen)
    band = max(math.sqrt(parent.area / n), 1.0)
    row = np.floor((parent.bounds[3] - cy) / band).astype(int)
    key_x = np.where(row % 2 == 0, cx, -cx)
    order = np.lexsort((key_x, row))
    return [cells[i] for i in order]


def _by_size(cells: list, counts: np.ndarray) -> np.ndarray:
    """Hand the largest child counts to the largest cells (counts rearranged per cell)."""
    rank = np.argsort(
        np.argsort(shapely.area(np.array(cells, dtype=object)), kind="stable"), kind="stable"
    )
    return np.sort(counts, kind="stable")[rank]


def _to_lonlat(geoms: np.ndarray) -> np.ndarray:
    scale = np.array([1.0 / _M_PER_DEG_LON, 1.0 / _M_PER_DEG_LAT])
    offset = np.array([CENTER_LON, CENTER_LAT])
    return shapely.transform(geoms, lambda c: c * scale + offset)


# ---------------------------------------------------------------------------------------------
# The city (reference tables)
# ---------------------------------------------------------------------------------------------


@dataclass
class _City:
    districts: list[tuple[str, str]]  # (code, name)
    streets: pl.DataFrame
    communities: pl.DataFrame
    grids: pl.DataFrame
    compounds: pl.DataFrame
    grid_geoms: np.ndarray  # lon/lat shapely polygons, aligned with grids
    # index arrays
    street_district: np.ndarray
    comm_street: np.ndarray
    grid_comm: np.ndarray
    comm_weak: np.ndarray  # bool
    comm_factor: np.ndarray  # handling-time multiplier
    grid_weight: np.ndarray  # case-volume weight
    grid_worker_name: pl.Series
    grid_worker_phone: pl.Series
    grid_place_kind: np.ndarray  # 0 basic (compounds), 1 dedicated (facility)
    grid_facility: pl.Series  # facility name (dedicated) or "" (basic)
    grid_road: pl.Series
    compound_offset: np.ndarray  # per grid: first compound row
    compound_count: np.ndarray
    unit_names: list[str]
    unit_lookup_d: np.ndarray  # (district, unit type) → unit index (−1 for street-level)
    unit_lookup_s: np.ndarray  # (street, unit type) → unit index (−1 for district-level)
    unit_factor: np.ndarray
    unit_weak: np.ndarray
    triangles: _Triangles | None = None


def _district_codes(spec: _Spec) -> list[tuple[str, str]]:
    if spec.districts <= len(_DISTRICTS):
        return _DISTRICTS[: spec.districts]
    out = []
    names = [a + b + "区" for a in _NAME_A for b in _NAME_B if a != b]
    suffixes = ["02", "03", "04", "05", "11", "12", "13", "21", "22", "23", "24"]
    i = 0
    for city in _PROVINCE_CITIES:
        for suf in suffixes[:4]:
            out.append((city + suf, names[(i * 37) % len(names)]))
            i += 1
            if len(out) == spec.districts:
                return out
    raise ValueError("too many districts")


def _build_city(spec: _Spec, seed: int, progress: Callable[[str, float], None]) -> _City:
    rng = np.random.default_rng([seed, 1])
    districts = _district_codes(spec)
    nd = len(districts)
    progress("生成行政区划边界 / building boundaries", 0.01)

    # --- counts and geometry (metric plane), level by level; bigger cells get more children
    region = _outer_polygon(rng, spec.grids * spec.km2_per_grid * 1e6)
    streets_per_d = _allocate(
        spec.streets, nd, rng, minimum=max(2, spec.streets // nd - 3), spread=0.25
    )
    d_geoms = _split(region, nd, rng)
    streets_per_d = _by_size(d_geoms, streets_per_d)
    street_d = np.repeat(np.arange(nd), streets_per_d)

    comms_per_s = _allocate(spec.communities, spec.streets, rng, minimum=3, spread=0.3)
    s_geoms: list = []
    for d in range(nd):
        idx = np.flatnonzero(street_d == d)
        cells = _split(d_geoms[d], idx.size, rng)
        comms_per_s[idx] = _by_size(cells, comms_per_s[idx])
        s_geoms += cells
    comm_s = np.repeat(np.arange(spec.streets), comms_per_s)
    progress("生成行政区划边界 / building boundaries", 0.03)

    grids_per_c = _allocate(spec.grids, spec.communities, rng, minimum=5, spread=0.3)
    c_geoms: list = []
    for s_ in range(spec.streets):
        idx = np.flatnonzero(comm_s == s_)
        cells = _split(s_geoms[s_], idx.size, rng)
        grids_per_c[idx] = _by_size(cells, grids_per_c[idx])
        c_geoms += cells
    grid_c = np.repeat(np.arange(spec.communities), grids_per_c)
    progress("生成网格边界 / building grid boundaries", 0.06)

    g_geoms: list = []
    total_c = spec.communities
    for c in range(total_c):
        g_geoms += _split(c_geoms[c], int(grids_per_c[c]), rng)
        if c % 200 == 199:
            progress("生成网格边界 / building grid boundaries", 0.06 + 0.08 * (c + 1) / total_c)
    s_ll = _to_lonlat(np.array(s_geoms, dtype=object))
    c_ll = _to_lonlat(np.array(c_geoms, dtype=object))
    g_ll = _to_lonlat(np.array(g_geoms, dtype=object))

    # --- names and codes
    street_codes: list[str] = []
    for d, (dcode, _) in enumerate(districts):
        street_codes += [f"{dcode}{k + 1:03d}" for k in range(int(streets_per_d[d]))]
    street_names = _names_pool(rng, spec.streets, [""], "街道")
    comm_codes: list[str] = []
    for s in range(spec.streets):
        comm_codes += [f"{street_codes[s]}{k + 1:03d}" for k in range(int(comms_per_s[s]))]
    comm_names = _names_pool(rng, spec.communities, _COMMUNITY_SUFFIX, "社区")
    grid_codes = [
        f"{comm_codes[c]}{k + 1:03d}"
        for c in range(spec.communities)
        for k in range(int(grids_per_c[c]))
    ]
    ng = len(grid_codes)

    # --- grid attributes
    dedicated = rng.random(ng) < 0.125
    first = np.r_[0, np.cumsum(grids_per_c)[:-1]]
    dedicated[first] = False  # every community keeps at least one basic grid
    basic = ~dedicated
    u = rng.random(ng)
    hh = np.where(
        u < 0.935,
        rng.triangular(300, 405, 500, ng),
        np.where(rng.random(ng) < 0.5, rng.uniform(170, 299, ng), rng.uniform(501, 690, ng)),
    )
    hh = np.where(
        basic, np.round(hh), np.where(rng.random(ng) < 0.35, 0, rng.integers(10, 130, ng))
    )
    hh = hh.astype(np.int64)
    pop = np.round(hh * rng.uniform(2.4, 3.0, ng)).astype(np.int64)
    n_comm = spec.communities
    n_weak = max(1, round(0.06 * n_comm))
    weak_idx = rng.choice(n_comm, n_weak, replace=False)
    comm_weak = np.zeros(n_comm, dtype=bool)
    comm_weak[weak_idx] = True
    g_weak = comm_weak[grid_c]
    ft = np.where(
        basic,
        np.where((hh > 470) & (rng.random(ng) < 0.3), 2, 1),
        (rng.random(ng) < 0.7).astype(int),
    )
    no_ft = basic & (rng.random(ng) < np.where(g_weak, 0.25, 0.035))
    ft = np.where(no_ft, 0, ft)
    pt = np.where(basic, rng.integers(2, 7, ng), rng.integers(1, 4, ng))
    org_p = np.where(
        g_weak[:, None],
        [[0.55, 0.30, 0.15]],
        np.where(basic[:, None], [[0.72, 0.245, 0.035]], [[0.6, 0.3, 0.1]]),
    )
    org = np.array(schema.PARTY_ORGS)[_cdf_pick(rng.random(ng), org_p, np.arange(ng))]
    # names
    facility_names = pl.Series(
        [a + b for a, b in zip(rng.choice(_NAME_A, ng), rng.choice(_NAME_B, ng), strict=True)]
    ) + pl.Series(np.array(_FACILITIES)[rng.integers(0, len(_FACILITIES), ng)])
    basic_rank = np.zeros(ng, dtype=np.int64)
    for c in range(n_comm):
        sl = slice(first[c], first[c] + grids_per_c[c])
        basic_rank[sl] = np.cumsum(basic[sl])
    fac_list = facility_names.to_list()
    grid_names = [
        f"{fac_list[i]}专属网格"
        if dedicated[i]
        else f"{comm_names[grid_c[i]]}第{basic_rank[i]}网格"
        for i in range(ng)
    ]
    roads = pl.Series(
        [
            a + b + "路"
            for a, b in zip(rng.choice(_NAME_A, ng), rng.choice(_NAME_B, ng), strict=True)
        ]
    )

    grids = pl.DataFrame(
        {
            "grid_code": grid_codes,
            "community_code": [comm_codes[c] for c in grid_c],
            "name": grid_names,
            "kind": np.where(basic, "basic", "dedicated"),
            "households": hh,
            "population": pop,
            "full_time_workers": ft,
            "part_time_workers": pt,
            "party_org": org,
            "geometry": pl.Series(list(shapely.to_wkb(g_ll)), dtype=pl.Binary),
        }
    )

    # --- communities
    c_hh = np.bincount(grid_c, hh, minlength=n_comm).astype(np.int64)
    c_pop = np.bincount(grid_c, pop, minlength=n_comm).astype(np.int64)
    ratio = np.where(comm_weak, rng.normal(14.5, 1.5, n_comm), rng.normal(21.5, 2.6, n_comm))
    workers = np.maximum(6, np.round(c_pop * ratio / 10_000)).astype(np.int64)
    center = np.maximum(300.0, np.round(c_hh * rng.uniform(0.07, 0.16, n_comm) / 10.0) * 10.0)
    communities = pl.DataFrame(
        {
            "community_code": comm_codes,
            "street_code": [street_codes[s] for s in comm_s],
            "name": comm_names,
            "households": c_hh,
            "population": c_pop,
            "community_workers": workers,
            "service_center_m2": center,
            "geometry": pl.Series(list(shapely.to_wkb(c_ll)), dtype=pl.Binary),
        }
    )
    streets = pl.DataFrame(
        {
            "street_code": street_codes,
            "name": street_names,
            "district": [districts[d][1] for d in street_d],
            "geometry": pl.Series(list(shapely.to_wkb(s_ll)), dtype=pl.Binary),
        }
    )

    # --- compounds (basic grids only)
    n_cp = np.where(basic, np.clip(1 + rng.poisson(2.0, ng), 1, 7), 0)
    cp_grid = np.repeat(np.arange(ng), n_cp)
    ncp = len(cp_grid)
    share = rng.gamma(2.0, 1.0, ncp)
    share_sum = np.bincount(cp_grid, share, minlength=ng)
    cover = rng.uniform(0.82, 1.0, ng)
    cp_hh = np.maximum(
        12, np.round(share / share_sum[cp_grid] * hh[cp_grid] * cover[cp_grid])
    ).astype(np.int64)
    cp_seq = np.arange(ncp) - np.r_[0, np.cumsum(n_cp)[:-1]][cp_grid] + 1
    cp_names: list[str] = []
    cp_district = street_d[comm_s[grid_c[cp_grid]]]
    for d in range(nd):
        k = int((cp_district == d).sum())
        cp_names += _names_pool(rng, k, _COMPOUND_SUFFIX, "")
    cp_names_arr = np.array(cp_names, dtype=object)
    old = np.char.endswith(cp_names_arr.astype(str), "新村")
    pm_p = np.where(old[:, None], [[0.35, 0.25, 0.33, 0.07]], [[0.80, 0.08, 0.10, 0.02]])
    pm = np.array(schema.PROPERTY_MODES)[_cdf_pick(rng.random(ncp), pm_p, np.arange(ncp))]
    compounds = pl.DataFrame(
        {
            "compound_id": [
                f"{grid_codes[g]}{s:02d}" for g, s in zip(cp_grid, cp_seq, strict=True)
            ],
            "grid_code": [grid_codes[g] for g in cp_grid],
            "name": cp_names,
            "households": cp_hh,
            "property_mode": pm,
        }
    )

    # --- handling units
    unit_names: list[str] = []
    unit_weak: list[bool] = []
    lookup_d = np.full((nd, len(_UNITS)), -1, dtype=np.int64)
    lookup_s = np.full((spec.streets, len(_UNITS)), -1, dtype=np.int64)
    # weak units: two middle-sized district units per district (not the big 城管局 / 物业公司)
    weak_pool = [
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
    for d in range(nd):
        weak_types = set(rng.choice(weak_pool, 2, replace=False).tolist())
        for t, (name, lvl) in enumerate(_UNITS):
            if lvl != "d":
                continue
            if nd > 1:
                name = (
                    districts[d][1] + name[1:] if name.startswith("区") else districts[d][1] + name
                )
            lookup_d[d, t] = len(unit_names)
            unit_names.append(name)
            unit_weak.append(t in weak_types)
        s_idx = np.flatnonzero(street_d == d)
        weak_street = int(rng.choice(s_idx))
        for s in s_idx:
            for t, (name, lvl) in enumerate(_UNITS):
                if lvl != "s":
                    continue
                lookup_s[s, t] = len(unit_names)
                unit_names.append(street_names[s] + name)
                unit_weak.append(bool(s == weak_street and name == "综合执法队"))
    unit_weak_a = np.array(unit_weak)
    unit_factor = np.where(
        unit_weak_a,
        rng.uniform(1.7, 2.1, len(unit_names)),
        rng.lognormal(0.0, 0.1, len(unit_names)),
    )
    comm_factor = np.where(
        comm_weak, rng.uniform(1.6, 1.9, n_comm), rng.lognormal(0.0, 0.12, n_comm)
    )

    weight = np.where(basic, np.maximum(hh, 150), 140.0) * rng.lognormal(0.0, 0.3, ng)
    weight *= np.where(g_weak, 1.25, 1.0)

    return _City(
        districts=districts,
        streets=streets,
        communities=communities,
        grids=grids,
        compounds=compounds,
        grid_geoms=g_ll,
        street_district=street_d,
        comm_street=comm_s,
        grid_comm=grid_c,
        comm_weak=comm_weak,
        comm_factor=comm_factor,
        grid_weight=weight / weight.sum(),
        grid_worker_name=_person_names(rng, ng),
        grid_worker_phone=_phones(rng, ng),
        grid_place_kind=dedicated.astype(np.int64),
        grid_facility=facility_names,
        grid_road=roads,
        compound_offset=np.r_[0, np.cumsum(n_cp)[:-1]],
        compound_count=n_cp,
        unit_names=unit_names,
        unit_lookup_d=lookup_d,
        unit_lookup_s=lookup_s,
        unit_factor=unit_factor,
        unit_weak=unit_weak_a,
    )


# ---------------------------------------------------------------------------------------------
# Time line
# ---------------------------------------------------------------------------------------------


def _days(anchor: dt.date, years: int) -> list[dt.date]:
    try:
        start = anchor.replace(year=anchor.year - years)
    except ValueError:  # 29 February
        start = anchor.replace(year=anchor.year - years, day=28)
    start += dt.timedelta(days=1)
    return [start + dt.timedelta(days=i) for i in range((anchor - start).days + 1)]


def _spring_festival(year: int) -> dt.date:
    m, d = _SPRING_FESTIVAL.get(year, (2, 5))
    return dt.date(year, m, d)


def _holiday_factor(days: list[dt.date]) -> np.ndarray:
    """Fewer cases around Spring Festival (a trough from eve to day 4, ramps a week either
    side) and in the National Day week."""
    out = np.ones(len(days))
    for i, d in enumerate(days):
        for y in (d.year - 1, d.year, d.year + 1):
            off = (d - _spring_festival(y)).days
            if -1 <= off <= 4:
                f = 0.45
            elif -8 < off < -1:
                f = 0.45 + 0.55 * (-1 - off) / 7.0
            elif 4 < off < 12:
                f = 0.45 + 0.55 * (off - 4) / 7.0
            else:
                f = 1.0
            out[i] = min(out[i], f)
        if d.month == 10 and d.day <= 7:
            out[i] *= 0.7
    return out


def _season(days: list[dt.date], monthly: np.ndarray) -> np.ndarray:
    """Daily multipliers interpolated between mid-month values; monthly is (k, 12)."""
    doy = np.array([d.timetuple().tm_yday for d in days], dtype=float)
    mid = (np.arange(12) + 0.5) * 365.0 / 12.0
    xs = np.r_[mid[-1] - 365.0, mid, mid[0] + 365.0]
    return np.stack([np.interp(doy, xs, np.r_[m[-1], m, m[0]]) for m in monthly])


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------


def _case_cells(spec: _Spec, days: list[dt.date], seed: int) -> np.ndarray:
    """Poisson case counts per (day, category, source)."""
    rng = np.random.default_rng([seed, 3])
    nd = len(days)
    season = _season(days, _SEASON)  # (cat, day)
    dow = np.array([d.weekday() for d in days])
    weekday = _WEEKDAY[:, dow]  # (src, day)
    holiday = _holiday_factor(days)
    trend = np.linspace(0.9, 1.1, nd)
    share = _CAT_SHARE[:, None] * _SRC_GIVEN_CAT  # (cat, src)
    w = (
        share[None, :, :]
        * season.T[:, :, None]
        * weekday.T[:, None, :]
        * (holiday * trend)[:, None, None]
    )
    lam = spec.cases * w / w.sum()
    return rng.poisson(lam)  # (day, cat, src)


def _cases_chunk(
    city: _City,
    rng: np.random.Generator,
    *,
    day_starts: np.ndarray,
    day_dates: list[dt.date],
    day: np.ndarray,
    cat: np.ndarray,
    src: np.ndarray,
    sla_s: np.ndarray,
    end: int,
) -> pl.DataFrame:
    n = day.size
    if n == 0:
        return schema.empty("cases")
    # --- reported, sorted; ids by day
    hour = _cdf_pick(rng.random(n), _HOURS, src)
    reported = day_starts[day] + hour * HOUR + rng.integers(0, HOUR, n)
    order = np.lexsort((rng.random(n), reported))
    day, cat, src, reported = day[order], cat[order], src[order], reported[order]
    first_of_day = np.searchsorted(day, day, side="left")
    seq = np.arange(n) - first_of_day + 1

    g = rng.choice(city.grid_weight.size, n, p=city.grid_weight)
    comm = city.grid_comm[g]
    street = city.comm_street[comm]
    dist = city.street_district[street]
    weak_c = city.comm_weak[comm]

    # --- registration (rejected cases are still registered: the decision time)
    reg_median = np.array([20.0, 90.0, 60.0, 120.0, 45.0])[src] * 60.0
    registered = reported + (reg_median * rng.lognormal(0.0, 0.8, n)).astype(np.int64)
    registered = np.maximum(_daytime(registered, 7 * HOUR + 1800, 22 * HOUR, rng), reported + 60)
    rejected = rng.random(n) < _REJECT_P[src]

    # --- handling unit
    ut = _cdf_pick(rng.random(n), _UNIT_GIVEN_CAT, cat)
    unit = np.where(
        city.unit_lookup_d[dist, ut] >= 0,
        city.unit_lookup_d[dist, ut],
        city.unit_lookup_s[street, ut],
    )
    weak_u = city.unit_weak[unit]

    # --- dispatch
    r = rng.random(n)
    p_late = 0.03 + 0.16 * weak_c + 0.03 * weak_u
    p_mid = 0.12
    delay = np.where(
        r < p_late,
        rng.uniform(24, 80, n) * HOUR,
        np.where(r < p_late + p_mid, rng.uniform(3, 16, n) * HOUR, rng.exponential(1.0, n) * HOUR),
    ).astype(np.int64)
    dispatched = np.maximum(
        _daytime(registered + delay, 7 * HOUR + 1800, 22 * HOUR, rng), registered + 60
    )

    # --- deadline
    sla = sla_s[cat]
    postponed = ~rejected & (rng.random(n) < _POSTPONE_P[cat])
    ext = rng.choice(np.array([7, 10, 15]), n) * DAY
    due = registered + sla + np.where(postponed, ext, 0)

    # --- handling, rework, verification, closure
    factor = city.unit_factor[unit] * city.comm_factor[comm]
    f = _HANDLE_F[cat] * rng.lognormal(0.0, 0.5, n) * factor
    f = np.where(postponed, rng.uniform(1.05, 1.8, n), f)
    handled1 = dispatched + (f * sla).astype(np.int64)
    handled1 = np.maximum(_daytime(handled1, 7 * HOUR, 22 * HOUR, rng), dispatched + 300)
    v_mean = np.minimum(6 * HOUR, 0.08 * sla)
    p_rework = 0.035 + 0.05 * weak_c + 0.04 * weak_u
    n_rework = (rng.random(n) < p_rework).astype(np.int64)
    n_rework += (n_rework > 0) & (rng.random(n) < 0.15)
    handled = [handled1]
    for k in range(2):
        fail = _daytime(
            handled[-1] + rng.exponential(v_mean).astype(np.int64) + 600, 8 * HOUR, 21 * HOUR, rng
        )
        again = fail + (rng.lognormal(math.log(0.2), 0.5, n) * sla * factor).astype(np.int64)
        again = np.maximum(_daytime(again, 7 * HOUR, 22 * HOUR, rng), fail + 600)
        handled.append(np.where(n_rework > k, again, handled[-1]))
    final_handled = handled[2]
    verified = _daytime(
        final_handled + rng.exponential(v_mean).astype(np.int64) + 600, 8 * HOUR, 21 * HOUR, rng
    )
    verified = np.maximum(verified, final_handled + 600)
    closed = verified + (rng.exponential(1.0, n) * HOUR).astype(np.int64) + 120
    closed = np.maximum(_daytime(closed, 8 * HOUR, 21 * HOUR, rng), verified + 120)

    # cases that get stuck and are never closed
    p_stuck = (0.001 + 0.015 * weak_c + 0.015 * weak_u) * np.where(cat == 0, 2.0, 1.0)
    stuck = rng.random(n) < p_stuck
    stuck_handled = stuck & (rng.random(n) < 0.5)

    # --- what is known at the end of the anchor day
    reg_ok = registered <= end
    live = reg_ok & ~rejected
    disp_ok = live & (dispatched <= end)
    h_ok = [disp_ok & (h <= end) for h in handled]
    handled_vis = np.where(h_ok[2], handled[2], np.where(h_ok[1], handled[1], handled[0]))
    handled_vis = np.where(stuck, handled[0], handled_vis)
    handled_valid = h_ok[0] & (~stuck | stuck_handled)
    rework_vis = np.where(
        stuck, 0, (h_ok[1] & (n_rework >= 1)).astype(np.int64) + (h_ok[2] & (n_rework >= 2))
    )
    ver_ok = disp_ok & ~stuck & h_ok[2] & (verified <= end)
    closed_ok = ver_ok & (closed <= end)

    # --- satisfaction of closed cases
    late = closed > due
    p_sat = np.where(late, 0.72, 0.925) - 0.10 * weak_c - 0.06 * weak_u - 0.12 * (n_rework > 0)
    p_basic = np.where(late, 0.17, 0.055) + 0.05 * weak_c
    us = rng.random(n)
    sat_idx = np.where(us < p_sat, 0, np.where(us < p_sat + p_basic, 1, 2))
    rated = closed_ok & (rng.random(n) < np.where(src == 1, 0.92, 0.78) - 0.08 * weak_c)

    # --- people and words
    gw = src == 0
    names = _person_names(rng, n)
    phones = _phones(rng, n)
    g_s = pl.Series(g)
    names = pl.select(
        pl.when(pl.Series(gw)).then(city.grid_worker_name.gather(g_s)).otherwise(names)
    ).to_series()
    phones = pl.select(
        pl.when(pl.Series(gw)).then(city.grid_worker_phone.gather(g_s)).otherwise(phones)
    ).to_series()

    t_idx = np.zeros(n, dtype=np.int64)
    t_flat: list[tuple[bool, str]] = []
    for ci, c in enumerate(_CAT):
        tmpl = _TEMPLATES[c]
        m = cat == ci
        t_idx[m] = len(t_flat) + rng.integers(0, len(tmpl), int(m.sum()))
        t_flat += tmpl
    t_uses_b = np.array([b for b, _ in t_flat])[t_idx]
    t_text = pl.Series([s for _, s in t_flat]).gather(t_idx)
    road = (rng.random(n) < _ROAD_SHARE[cat]) | (
        (city.grid_place_kind[g] == 0) & (city.compound_count[g] == 0)
    )
    ded = city.grid_place_kind[g] == 1
    cp_idx = city.compound_offset[g] + (
        rng.random(n) * np.maximum(city.compound_count[g], 1)
    ).astype(np.int64)
    cp_idx = np.minimum(cp_idx, max(city.compounds.height - 1, 0))
    cp_name = (
        city.compounds["name"].gather(cp_idx) if city.compounds.height else pl.Series([""] * n)
    )
    building = pl.Series(rng.integers(1, 31, n)).cast(pl.String) + "栋"
    desc = (
        pl.DataFrame(
            {
                "road": road,
                "ded": ded,
                "b": t_uses_b,
                "road_name": city.grid_road.gather(g_s),
                "fac": city.grid_facility.gather(g_s),
                "cp": cp_name,
                "bld": building,
                "text": t_text,
            }
        )
        .select(
            pl.concat_str(
                [
                    pl.when(pl.col("road"))
                    .then(pl.col("road_name") + "附近")
                    .when(pl.col("ded"))
                    .then(pl.col("fac"))
                    .otherwise(pl.col("cp")),
                    pl.when(pl.col("b") & ~pl.col("road"))
                    .then(pl.col("bld"))
                    .otherwise(pl.lit("")),
                    pl.col("text"),
                ]
            )
        )
        .to_series()
    )

    # --- lon/lat in the grid
    lon, lat = _points_in(city, g, rng)

    # --- assemble
    day_str = pl.Series([d.strftime("%Y%m%d") for d in day_dates]).gather(day)
    case_id = pl.lit("AJ") + day_str + pl.Series(seq).cast(pl.String).str.zfill(6)
    events = [
        reported,
        np.where(reg_ok, registered, 0),
        np.where(disp_ok, dispatched, 0),
        np.where(handled_valid, handled_vis, 0),
        np.where(ver_ok, verified, 0),
        np.where(closed_ok, closed, 0),
    ]
    updated = np.maximum.reduce(events)
    frame = pl.DataFrame(
        [
            pl.select(case_id.alias("case_id")).to_series(),
            city.grids["grid_code"].gather(g_s).alias("grid_code"),
            pl.Series("category", np.array(_CAT)[cat]),
            pl.Series("source", np.array(_SRC)[src]),
            _dt_series("reported_at", reported),
            _dt_series("registered_at", registered, reg_ok),
            pl.Series("rejected", rejected),
            _dt_series("dispatched_at", dispatched, disp_ok),
            pl.Series("handling_unit", city.unit_names)
            .gather(pl.Series(unit))
            .alias("handling_unit"),
            _dt_series("handled_at", handled_vis, handled_valid),
            _dt_series("verified_at", verified, ver_ok),
            _dt_series("closed_at", closed, closed_ok),
            _dt_series("due_at", due, live),
            pl.Series("postponed", postponed & live),
            pl.Series("rework_count", rework_vis.astype(np.int32)),
            pl.Series("satisfaction", np.array(schema.SATISFACTION)[sat_idx]),
            pl.Series("lon", lon),
            pl.Series("lat", lat),
            names.alias("reporter_name"),
            phones.alias("reporter_phone"),
            desc.alias("description"),
            _dt_series("updated_at", updated),
        ]
    )
    frame = frame.with_columns(
        pl.when(pl.Series(live))
        .then(pl.col("handling_unit"))
        .otherwise(None)
        .alias("handling_unit"),
        pl.when(pl.Series(rated))
        .then(pl.col("satisfaction"))
        .otherwise(None)
        .alias("satisfaction"),
        # not registered yet at the end of the anchor day: the decision is still open (null)
        pl.when(pl.Series(reg_ok)).then(pl.col("rejected")).otherwise(None).alias("rejected"),
    )
    return schema.conform("cases", frame)


@dataclass
class _Triangles:
    v0: np.ndarray
    e1: np.ndarray
    e2: np.ndarray
    cum: np.ndarray  # cumulative area over all triangles
    start: np.ndarray  # per grid
    stop: np.ndarray
    base: np.ndarray  # cumulative area before each grid's first triangle
    area: np.ndarray  # per grid


def _triangulate(geoms: np.ndarray) -> _Triangles:
    tris = shapely.constrained_delaunay_triangles(geoms)
    parts, owner = shapely.get_parts(tris, return_index=True)
    coords = shapely.get_coordinates(shapely.get_exterior_ring(parts)).reshape(len(parts), 4, 2)
    v0 = coords[:, 0]
    e1 = coords[:, 1] - v0
    e2 = coords[:, 2] - v0
    a = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    cum = np.cumsum(a)
    n = len(geoms)
    start = np.searchsorted(owner, np.arange(n), side="left")
    stop = np.searchsorted(owner, np.arange(n), side="right")
    base = np.r_[0.0, cum][start]
    area = np.r_[0.0, cum][stop] - base
    return _Triangles(v0, e1, e2, cum, start, stop, base, area)


def _points_in(
    city: _City, g: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random points inside each case's grid polygon (area-weighted triangles)."""
    if city.triangles is None:
        city.triangles = _triangulate(city.grid_geoms)
    tri = city.triangles
    target = tri.base[g] + rng.random(g.size) * tri.area[g]
    t = np.searchsorted(tri.cum, target, side="right")
    t = np.clip(t, tri.start[g], tri.stop[g] - 1)
    a = rng.random(g.size)
    b = rng.random(g.size)
    flip = a + b > 1.0
    a = np.where(flip, 1.0 - a, a)
    b = np.where(flip, 1.0 - b, b)
    # shrink towards the triangle's centroid so no point sits on a boundary
    a = 1 / 3 + 0.98 * (a - 1 / 3)
    b = 1 / 3 + 0.98 * (b - 1 / 3)
    p = tri.v0[t] + a[:, None] * tri.e1[t] + b[:, None] * tri.e2[t]
    return p[:, 0], p[:, 1]


# ---------------------------------------------------------------------------------------------
# Volunteer teams, activities, party reports, wishes
# ---------------------------------------------------------------------------------------------


def _volunteers(city: _City, days: list[dt.date], seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng([seed, 4])
    comms = city.communities
    nc = comms.height
    n_teams = 1 + (rng.random(nc) < 0.5) + (rng.random(nc) < 0.2)
    t_comm = np.repeat(np.arange(nc), n_teams)
    t_seq = np.arange(t_comm.size) - np.r_[0, np.cumsum(n_teams)[:-1]][t_comm]
    # the first team is the party-member team; the others of a community differ in kind
    base = rng.integers(0, len(_TEAM_KINDS) - 1, nc)
    kind = np.where(t_seq == 0, 0, 1 + (base[t_comm] + t_seq - 1) % (len(_TEAM_KINDS) - 1))
    members = np.where(
        kind == 0, rng.integers(20, 90, t_comm.size), rng.integers(10, 60, t_comm.size)
    )
    ccodes = comms["community_code"]
    code_list = ccodes.to_list()
    name_list = comms["name"].to_list()
    teams = pl.DataFrame(
        {
            "team_id": [f"{code_list[c]}T{s + 1:02d}" for c, s in zip(t_comm, t_seq, strict=True)],
            "community_code": ccodes.gather(t_comm),
            "name": [
                name_list[c] + _TEAM_SUFFIX[_TEAM_KINDS[k]]
                for c, k in zip(t_comm, kind, strict=True)
            ],
            "kind": np.array(_TEAM_KINDS)[kind],
            "members": members,
        }
    )

    # activities: Poisson per team and day with seasonal peaks
    nd = len(days)
    md = np.array([(d.month, d.day) for d in days])
    day_w = np.ones(nd)
    day_w[md[:, 0] == 3] *= 1.8  # 学雷锋月
    day_w[(md[:, 0] == 6) & (md[:, 1] >= 20) | (md[:, 0] == 7) & (md[:, 1] <= 5)] *= 1.7  # 七一
    day_w[md[:, 0] == 10] *= 1.2  # 重阳
    day_w *= np.array([0.8 if d.weekday() < 5 else 1.6 for d in days])
    day_w *= np.minimum(1.0, _holiday_factor(days) * 1.2)
    team_rate = np.where(kind == 0, 3.6, 2.4) / 30.4 * np.where(city.comm_weak[t_comm], 0.35, 1.0)
    team_rate *= rng.lognormal(0.0, 0.3, t_comm.size)
    lam = team_rate[:, None] * day_w[None, :] / day_w.mean()
    counts = rng.poisson(lam)  # (team, day)
    a_team, a_day = np.nonzero(counts)
    reps = counts[a_team, a_day]
    a_team = np.repeat(a_team, reps)
    a_day = np.repeat(a_day, reps)
    order = np.lexsort((a_team, a_day))
    a_team, a_day = a_team[order], a_day[order]
    na = a_team.size
    a_comm = t_comm[a_team]
    part = np.minimum(
        members[a_team], np.maximum(3, np.round(rng.lognormal(math.log(11), 0.45, na)))
    ).astype(np.int64)
    dur = rng.choice(np.array([1.5, 2.0, 2.0, 2.5, 3.0, 3.0, 4.0]), na)
    a_kind = _cdf_pick(rng.random(na), _ACT_GIVEN_TEAM, kind[a_team])
    # grid of the community, or community-wide (null)
    gc = city.grid_comm
    g_first = np.searchsorted(gc, np.arange(nc), side="left")
    g_count = np.bincount(gc, minlength=nc)
    a_grid = g_first[a_comm] + (rng.random(na) * g_count[a_comm]).astype(np.int64)
    has_grid = rng.random(na) < 0.7
    start = days[0]
    activities = pl.DataFrame(
        {
            "activity_id": _ids("HD", na),
            "team_id": teams["team_id"].gather(a_team),
            "community_code": ccodes.gather(a_comm),
            "grid_code": city.grids["grid_code"].gather(a_grid),
            "date": pl.Series(np.datetime64(start, "D") + a_day.astype("timedelta64[D]")),
            "hours": part * dur,
            "participants": part,
            "kind": np.array(_ACTIVITY_KINDS)[a_kind],
        }
    ).with_columns(
        pl.when(pl.Series(has_grid)).then(pl.col("grid_code")).otherwise(None).alias("grid_code")
    )
    return schema.conform("volunteer_teams", teams), schema.conform("activities", activities)


def _party_reports(city: _City, days: list[dt.date], seed: int) -> pl.DataFrame:
    rng = np.random.default_rng([seed, 5])
    comms = city.communities
    nc = comms.height
    g_count = np.bincount(city.grid_comm, minlength=nc)
    n_members = rng.poisson(g_count * 1.8 * np.where(city.comm_weak, 0.6, 1.0))
    m_comm = np.repeat(np.arange(nc), n_members)
    nm = m_comm.size
    nd = len(days)
    w = np.ones(nd)
    w[: min(90, nd)] *= 4.0  # the report-in campaign at the start of the records
    md = np.array([(d.month, d.day) for d in days])
    w[(md[:, 0] == 3)] *= 2.0
    w[(md[:, 0] == 6) & (md[:, 1] >= 15) | (md[:, 0] == 7) & (md[:, 1] <= 10)] *= 2.5
    w *= np.array([1.0 if d.weekday() < 5 else 0.3 for d in days]) * _holiday_factor(days)
    day = _cdf_pick(rng.random(nm), w)
    order = np.lexsort((m_comm, day))
    m_comm, day = m_comm[order], day[order]
    units = np.array([u for u, _ in _PARTY_UNITS], dtype=object)
    u_idx = _cdf_pick(rng.random(nm), np.array([w for _, w in _PARTY_UNITS], dtype=float))
    dist = city.street_district[city.comm_street[m_comm]]
    unit_names = units[u_idx]
    if len(city.districts) > 1:
        dnames = np.array([n for _, n in city.districts], dtype=object)
        unit_names = np.array(
            [
                dn + (u[1:] if u.startswith("区") else u)
                for dn, u in zip(dnames[dist], unit_names, strict=True)
            ],
            dtype=object,
        )
    posts = _cdf_pick(rng.random(nm), np.array([0.6, 0.3, 0.1])) + 1
    frame = pl.DataFrame(
        {
            "member_id": _ids("DY", nm),
            "unit": list(unit_names),
            "community_code": comms["community_code"].gather(m_comm),
            "reported_on": pl.Series(np.datetime64(days[0], "D") + day.astype("timedelta64[D]")),
            "posts_claimed": posts,
        }
    )
    return schema.conform("party_reports", frame)


def _wishes(city: _City, days: list[dt.date], seed: int, end: int) -> pl.DataFrame:
    rng = np.random.default_rng([seed, 6])
    comms = city.communities
    nc = comms.height
    nd = len(days)
    g_count = np.bincount(city.grid_comm, minlength=nc)
    n_w = rng.poisson(g_count * 0.86 * nd / 365.0)
    w_comm = np.repeat(np.arange(nc), n_w)
    nw = w_comm.size
    w = np.ones(nd)
    for i, d in enumerate(days):
        for y in (d.year, d.year + 1):
            off = (_spring_festival(y) - d).days
            if 0 <= off <= 25:
                w[i] *= 2.5  # 春节送温暖
        if (d.month == 5 and d.day >= 15) or (d.month == 6 and d.day == 1):
            w[i] *= 1.8  # 六一
        if d.month == 8 and d.day >= 15:
            w[i] *= 1.3  # 开学
    day = _cdf_pick(rng.random(nw), w)
    starts = np.array([_epoch(d) for d in days], dtype=np.int64)
    created = starts[day] + rng.integers(8 * HOUR, 20 * HOUR, nw)
    order = np.lexsort((w_comm, created))
    w_comm, created = w_comm[order], created[order]
    weak = city.comm_weak[w_comm]
    will_claim = rng.random(nw) < np.where(weak, 0.6, 0.82)
    claimed = created + (rng.lognormal(math.log(3.0), 0.9, nw) * DAY).astype(np.int64)
    will_fulfil = will_claim & (rng.random(nw) < np.where(weak, 0.5, 0.64))
    fulfilled = claimed + (rng.lognormal(math.log(9.0), 0.7, nw) * DAY).astype(np.int64)
    c_ok = will_claim & (claimed <= end)
    f_ok = will_fulfil & c_ok & (fulfilled <= end)
    kind = np.array(_CLAIMERS, dtype=object)[_cdf_pick(rng.random(nw), _CLAIMER_P)]
    frame = pl.DataFrame(
        {
            "wish_id": _ids("WX", nw),
            "community_code": comms["community_code"].gather(w_comm),
            "created_at": _dt_series("created_at", created),
            "claimed_at": _dt_series("claimed_at", claimed, c_ok),
            "fulfilled_at": _dt_series("fulfilled_at", fulfilled, f_ok),
            "claimer_kind": pl.Series(list(kind), dtype=pl.String),
        }
    ).with_columns(
        pl.when(pl.Series(c_ok)).then(pl.col("claimer_kind")).otherwise(None).alias("claimer_kind")
    )
    return schema.conform("wishes", frame)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _today() -> dt.date:
    return now_local().date()


def generate(
    *,
    out: Path,
    scale: str = "district",
    seed: int = 42,
    anchor: dt.date | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, int]:
    """Generate the demo city and write its nine tables into ``out``.

    Parameters
    ----------
    out
        Data directory (created if missing); existing table files are replaced atomically.
    scale
        A key of ``SCALES``: ``tiny``, ``district`` (default), ``city`` or ``province``.
    seed
        Random seed; the same seed, scale and anchor give identical tables.
    anchor
        The last day of data (default: today in Asia/Shanghai). The records cover the two
        years up to the end of that day; no event time is later than 23:59:59 on it.
    progress
        Called as ``progress(stage_description, fraction_done)`` with fractions in [0, 1].

    Returns
    -------
    dict[str, int]
        Rows written per table.
    """
    if scale not in _SPECS:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(_SPECS)}")
    spec = _SPECS[scale]
    anchor = anchor or _today()
    if isinstance(anchor, dt.datetime):  # a datetime is a date too: keep its day only
        anchor = anchor.date()
    report = progress or (lambda stage, frac: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    sla = load_sla_hours()
    missing = [c for c in _CAT if c not in sla]
    if missing:
        raise ValueError(f"assets/sla.toml has no deadline for {', '.join(missing)}")
    sla_s = np.array([sla[c] * HOUR for c in _CAT], dtype=np.int64)
    end = _epoch(anchor) + DAY - 1

    city = _build_city(spec, seed, report)
    report("生成参考表 / reference tables", 0.15)
    days = _days(anchor, spec.years)
    day_starts = np.array([_epoch(d) for d in days], dtype=np.int64)
    cells = _case_cells(spec, days, seed)  # (day, cat, src)
    per_day = cells.sum(axis=(1, 2))
    total = int(per_day.sum())

    # chunks of whole days, about spec.chunk_cases cases each
    bounds = [0]
    acc = 0
    for i, c in enumerate(per_day):
        acc += int(c)
        if acc >= spec.chunk_cases and i + 1 < len(days):
            bounds.append(i + 1)
            acc = 0
    bounds.append(len(days))
    n_chunks = len(bounds) - 1

    flat_counts = cells.reshape(-1)
    n_cs = cells.shape[1] * cells.shape[2]

    def chunk(k: int) -> pl.DataFrame:
        lo, hi = bounds[k], bounds[k + 1]
        cell_idx = np.repeat(np.arange(lo * n_cs, hi * n_cs), flat_counts[lo * n_cs : hi * n_cs])
        d, rest = np.divmod(cell_idx, n_cs)
        c, s = np.divmod(rest, cells.shape[2])
        return _cases_chunk(
            city,
            np.random.default_rng([seed, 100, k]),
            day_starts=day_starts,
            day_dates=days,
            day=d,
            cat=c,
            src=s,
            sla_s=sla_s,
            end=end,
        )

    rows: dict[str, int] = {}
    done = 0
    if n_chunks == 1:
        report("生成案事件 / cases", 0.2)
        cases = chunk(0)
        write_tables(out, {"cases": cases})
        rows["cases"] = cases.height
        del cases
    else:
        import pyarrow.parquet as pq

        final = table_path(out, "cases")
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        writer = None
        try:
            for k in range(n_chunks):
                report(f"生成案事件 / cases {k + 1}/{n_chunks}", 0.2 + 0.72 * done / max(total, 1))
                frame = chunk(k)
                table = frame.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                else:
                    table = table.cast(writer.schema)
                writer.write_table(table, row_group_size=_ROW_GROUP)
                done += frame.height
                del frame, table
            writer.close()
            writer = None
            os.replace(tmp, final)
            report("写入案事件 / cases written", 0.92)
        finally:
            if writer is not None:
                writer.close()
            if tmp.exists():
                tmp.unlink()
        rows["cases"] = done

    report("生成志愿服务与微心愿 / volunteers, wishes", 0.93)
    teams, activities = _volunteers(city, days, seed)
    party = _party_reports(city, days, seed)
    wishes = _wishes(city, days, seed, end)
    frames = {
        "streets": city.streets,
        "communities": city.communities,
        "grids": city.grids,
        "compounds": city.compounds,
        "volunteer_teams": teams,
        "activities": activities,
        "party_reports": party,
        "wishes": wishes,
    }
    report("写入文件 / writing tables", 0.97)
    write_tables(out, frames)
    rows.update({k: v.height for k, v in frames.items()})
    report("完成 / done", 1.0)
    return {t: rows[t] for t in schema.TABLES}
