"""Made-up place and person names, phone numbers and district codes for the demo city."""

from __future__ import annotations

import numpy as np
import polars as pl

from data_layer.demo.draws import cdf_pick

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
COMMUNITY_SUFFIX = ["", "", "", "路", "花园", "新村", "里", "东", "西", "南", "北"]
COMPOUND_SUFFIX = [
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
FACILITIES = [
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


def district_codes(n: int) -> list[tuple[str, str]]:
    """``n`` (code, name) districts: the seven shipped ones, then made-up ones across cities."""
    if n <= len(_DISTRICTS):
        return _DISTRICTS[:n]
    out = []
    names = [a + b + "区" for a in _NAME_A for b in _NAME_B if a != b]
    suffixes = ["02", "03", "04", "05", "11", "12", "13", "21", "22", "23", "24"]
    i = 0
    for city in _PROVINCE_CITIES:
        for suf in suffixes[:4]:
            out.append((city + suf, names[(i * 37) % len(names)]))
            i += 1
            if len(out) == n:
                return out
    raise ValueError("too many districts")


def names_pool(rng: np.random.Generator, n: int, suffixes: list[str], tail: str) -> list[str]:
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


def place_words(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` random two-character place words (repeats allowed), e.g. for roads and facilities."""
    return [a + b for a, b in zip(rng.choice(_NAME_A, n), rng.choice(_NAME_B, n), strict=True)]


def person_names(rng: np.random.Generator, n: int) -> pl.Series:
    """``n`` Chinese person names: a weighted surname and one or (70 %) two given characters."""
    sur = pl.Series(_SURNAMES).gather(cdf_pick(rng.random(n), _SURNAME_W))
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


def phones(rng: np.random.Generator, n: int) -> pl.Series:
    """``n`` mobile numbers (11 digits, real prefixes, made-up rest)."""
    prefix = _PHONE_PREFIX[rng.integers(0, len(_PHONE_PREFIX), n)]
    rest = rng.integers(0, 100_000_000, n)
    return pl.Series((prefix * 100_000_000 + rest).astype(np.int64)).cast(pl.String)
