"""The one masking implementation (data_layer.domain.privacy) and everything that uses it.

Property-based: mobile numbers in every common writing and ID card numbers, embedded in random
Chinese/ASCII text, are always masked; masking is idempotent; case ids, dates, amounts, grid
codes and landlines are never touched.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from data_layer.domain.privacy import mask_name_expr, mask_personal, mask_phone_expr, mask_text
from data_layer.ingest.report import mask_report
from documents import exports

ID_NUMBER = "360102198512045678"  # born 1985-12-04
ID_MASKED = "360102********5678"
# The old rule in plain Python (look-around): an 11-digit mobile number standing on its own.
PLAIN_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")

# each example runs polars a few times; on a shared machine that is more than the default 200 ms
MASKING = settings(deadline=None, database=None)
_FULL_WIDTH = str.maketrans("0123456789+()", "０１２３４５６７８９＋（）")


def _groups(n: str, sep: str) -> str:
    return f"{n[:3]}{sep}{n[3:7]}{sep}{n[7:]}"


# How people write 13912345678 (the national number ``n``).
PHONE_FORMATS = {
    "plain": lambda n: n,
    "dashes": lambda n: _groups(n, "-"),
    "spaces": lambda n: _groups(n, " "),
    "+86": lambda n: "+86" + n,
    "+86 spaced": lambda n: "+86 " + _groups(n, " "),
    "+86-dashed": lambda n: "+86-" + _groups(n, "-"),
    "(+86)": lambda n: "(+86)" + n,
    "（+86）": lambda n: "（+86）" + _groups(n, "-"),
    "0086": lambda n: "0086" + n,
    "0086 spaced": lambda n: "0086 " + _groups(n, " "),
    "86": lambda n: "86" + n,
    "full-width": lambda n: n.translate(_FULL_WIDTH),
    "full-width +86": lambda n: ("+86 " + _groups(n, " ")).translate(_FULL_WIDTH),
    "ideographic space": lambda n: _groups(n, "\u3000"),
}
MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
TEXT = st.text(alphabet=st.one_of(CJK, ASCII), max_size=30)
# a character that is no digit: what keeps a number standing on its own
EDGE = st.one_of(CJK, ASCII.filter(lambda c: not c.isdigit()))


def embedded(token: st.SearchStrategy[str]) -> st.SearchStrategy[tuple[str, str]]:
    """(text, token): ``token`` inside random text, a non-digit on either side."""
    return st.tuples(TEXT, EDGE, token, EDGE, TEXT).map(lambda p: ("".join(p), p[2]))


def assert_masked_only_by_stars(text: str, masked: str) -> None:
    assert len(masked) == len(text)
    assert all(a == b for a, b in zip(text, masked, strict=True) if b != "*")
    assert mask_text(masked) == masked  # idempotent


@MASKING
@given(st.sampled_from(sorted(PHONE_FORMATS)), MOBILES, TEXT, EDGE, EDGE, TEXT)
def test_a_mobile_number_in_any_writing_is_masked_in_any_text(kind, n, left, a, b, right):
    write = PHONE_FORMATS[kind]
    text = f"{left}{a}{write(n)}{b}{right}"
    masked = mask_text(text)
    assert write(n[:3] + "****" + n[7:]) in masked
    assert write(n) not in masked
    assert_masked_only_by_stars(text, masked)


@st.composite
def id_numbers(draw) -> tuple[str, str]:
    """(number, masked): 18 digits (last may be X) or the old 15-digit form."""
    area = draw(st.from_regex(r"[1-8][0-9]{5}", fullmatch=True))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    if draw(st.booleans()):
        born = draw(st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)))
        check = draw(st.sampled_from("0123456789Xx"))
        return f"{area}{born:%Y%m%d}{seq}{check}", f"{area}{'*' * 8}{seq}{check}"
    born = draw(st.dates(dt.date(1920, 1, 1), dt.date(1999, 12, 31)))
    return f"{area}{born:%y%m%d}{seq}", f"{area}{'*' * 6}{seq}"


@MASKING
@given(id_numbers(), TEXT, EDGE, EDGE, TEXT)
def test_an_id_card_number_is_masked_in_any_text(number, left, a, b, right):
    raw, expected = number
    text = f"{left}{a}{raw}{b}{right}"
    masked = mask_text(text)
    assert f"{a}{expected}{b}" in masked and raw not in masked
    assert_masked_only_by_stars(text, masked)


@st.composite
def non_personal(draw) -> str:
    """A number that is no one's: case id, date, time, amount, grid code, landline."""
    day = draw(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31)))
    grid = draw(
        st.from_regex(
            r"[1-8][0-9]{5}(0[0-9][0-9]|1[0-9][0-9])[0-3][0-9]{2}[0-9]{3}", fullmatch=True
        )
    )
    return draw(
        st.sampled_from(
            [
                f"AJ{day:%Y%m%d}{draw(st.integers(0, 999_999)):06d}",
                f"{day:%Y-%m-%d}",
                f"{day:%Y/%m/%d %H:%M:%S}",
                f"{day:%Y%m%d}",
                f"{day.year}年{day.month}月{day.day}日 {day:%H:%M}",
                f"{draw(st.floats(0, 1e9, allow_nan=False)):,.2f}",
                grid,
                f"0{draw(st.integers(100, 999))}-{draw(st.integers(2000_0000, 8999_9999))}",
                f"0791-{draw(st.integers(2000, 8999))} {draw(st.integers(1000, 9999))}",
            ]
        )
    )


@MASKING
@given(st.lists(st.tuples(non_personal(), EDGE), min_size=1, max_size=6))
def test_case_ids_dates_amounts_grid_codes_and_landlines_are_not_mangled(parts):
    text = "".join(a + b for a, b in parts)
    assert mask_text(text) == text
    frame = pl.DataFrame({"case_id": [p[0] for p in parts], "grid_code": [p[0] for p in parts]})
    assert mask_personal(frame).equals(frame)


def test_the_formats_of_the_review():
    assert mask_text("138-1234-5678") == "138-****-5678"
    assert mask_text("139 1234 5678") == "139 **** 5678"
    assert mask_text("+8613912345678") == "+86139****5678"
    assert mask_text("电话(+86)13912345678。") == "电话(+86)139****5678。"
    assert mask_text("１３９１２３４５６７８") == "１３９****５６７８"
    assert mask_text(f"身份证{ID_NUMBER}") == f"身份证{ID_MASKED}"
    assert mask_text("旧证360102851204123") == "旧证360102******123"
    assert mask_text("固话0791-8888 8888") == "固话0791-8888 8888"


def _column(expr: pl.Expr, values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr)["v"].to_list()


def test_names_and_phones_are_masked_unless_allowed():
    frame = pl.DataFrame(
        {
            "reporter_name": ["张三", "欧阳娜娜", "王*明", " 李四", None],
            "reporter_phone": ["13812341234", "0791-8888", "+86 139 1234 5678", "０１３", None],
        }
    )
    masked = mask_personal(frame)
    assert masked["reporter_name"].to_list() == ["张*", "欧***", "王**", "李*", None]
    assert masked["reporter_phone"].to_list() == [
        "138****1234",
        "******88",
        "139****5678",
        "*13",
        None,
    ]
    assert mask_personal(frame, allowed=True).equals(frame)
    assert mask_personal(frame.lazy()).collect().equals(masked)


@MASKING
@given(st.sampled_from(sorted(PHONE_FORMATS)), MOBILES)
def test_a_phone_column_in_any_writing_keeps_3_and_4_digits(kind, n):
    assert _column(mask_phone_expr("v"), [PHONE_FORMATS[kind](n)]) == [f"{n[:3]}****{n[7:]}"]


@MASKING
@given(st.text(alphabet=st.one_of(CJK, ASCII), min_size=1).filter(str.strip))
def test_a_name_is_always_its_first_character_and_stars(name):
    masked = _column(mask_name_expr("v"), [name])[0]
    kept = name.strip()
    assert masked == kept[0] + "*" * max(len(kept) - 1, 1)


def test_an_id_number_is_masked_everywhere_the_text_rule_runs():
    text = f"身份证{ID_NUMBER}，电话13812341234"
    expected = f"身份证{ID_MASKED}，电话138****1234"
    assert mask_text(text) == expected
    frame = pl.DataFrame({"case_id": ["A1"], "description": [text]})
    assert mask_personal(frame)["description"].item() == expected
    assert expected in exports.csv_bytes(frame).decode("utf-8-sig")
    report = pl.DataFrame(
        {"field": ["description", "reporter_phone"], "value": [text, "139 1234 5678"]}
    )
    assert mask_report(report)["value"].to_list() == [expected, "139****5678"]


@MASKING
@given(st.lists(st.one_of(TEXT, MOBILES, MOBILES.map(PHONE_FORMATS["dashes"])), max_size=6))
def test_joined_numbers_follow_the_old_rule_too(pieces):
    masked = mask_text("".join(pieces))
    assert not PLAIN_PHONE.search(masked)


@MASKING
@given(st.lists(st.one_of(st.none(), TEXT, MOBILES), max_size=8))
def test_masking_twice_changes_nothing(values):
    for expr in (mask_name_expr("v"), mask_phone_expr("v")):
        once = _column(expr, values)
        assert _column(expr, once) == once
    phones = _column(mask_phone_expr("v"), values)
    assert not any(v and PLAIN_PHONE.search(v) for v in phones)


def test_a_masked_frame_masked_again_stays_readable():
    frame = pl.DataFrame({"reporter_name": ["张三"], "reporter_phone": ["0791-88881234"]})
    once = mask_personal(frame)
    assert mask_personal(once).equals(once)
    assert once.row(0) == ("张*", "079****1234")


def test_preview_style_columns_can_be_named():
    sample = pl.DataFrame({"联系人": ["张三"], "联系电话": ["13812341234"], "备注": ["李四"]})
    masked = mask_personal(sample, names=["联系人"], phones=["联系电话"])
    assert masked.row(0) == ("张*", "138****1234", "李四")


def test_area_code_columns_are_not_read_as_old_ids():
    township_grid = "360102201001001"  # 乡 201, community 001: digits 7-12 read as 1920-10-01
    frame = pl.DataFrame(
        {"grid_code": [township_grid], "code": [township_grid], "note": [township_grid]}
    )
    masked = mask_personal(frame)
    assert masked.row(0) == (township_grid, township_grid, "360102******001")
