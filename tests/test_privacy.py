"""The one masking implementation (data_layer.domain.privacy) and everything that uses it."""

from __future__ import annotations

import io
import logging
import re

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from data_layer.domain.privacy import (
    mask_log_record,
    mask_name_expr,
    mask_personal,
    mask_phone_expr,
    mask_phone_text,
)
from data_layer.ingest.report import mask_report
from documents import exports

ID_NUMBER = "360102198512345678"  # 18 digits: not a phone, whatever digits it holds
# The rule in plain Python (look-around): a mobile number not inside a longer run of digits.
PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")

TEXT = st.text(alphabet="0123456789138 -+*()张三电话，a\n", max_size=60)
PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
TEXT_WITH_PHONES = st.lists(st.one_of(TEXT, PHONES), max_size=6).map("".join)


def _column(expr: pl.Expr, values: list[str | None]) -> list[str | None]:
    return pl.DataFrame({"v": values}, schema={"v": pl.String}).select(expr)["v"].to_list()


def test_names_and_phones_are_masked_unless_allowed():
    frame = pl.DataFrame(
        {
            "reporter_name": ["张三", "欧阳娜娜", None],
            "reporter_phone": ["13812341234", "0791-8888", None],
        }
    )
    masked = mask_personal(frame)
    assert masked["reporter_name"].to_list() == ["张*", "欧***", None]
    assert masked["reporter_phone"].to_list() == ["138****1234", "******88", None]
    assert mask_personal(frame, allowed=True).equals(frame)
    assert mask_personal(frame.lazy()).collect().equals(masked)


def test_phone_numbers_in_free_text_are_masked():
    assert mask_phone_text("电话13812341234，备用15900001111") == "电话138****1234，备用159****1111"
    assert mask_phone_text("13812341234,13912345678") == "138****1234,139****5678"


def test_an_id_number_is_not_half_masked_anywhere():
    text = f"身份证{ID_NUMBER}，电话13812341234"
    expected = f"身份证{ID_NUMBER}，电话138****1234"
    assert mask_phone_text(text) == expected
    frame = pl.DataFrame({"case_id": ["A1"], "description": [text]})
    assert mask_personal(frame)["description"].item() == expected
    assert expected in exports.csv_bytes(frame).decode("utf-8-sig")
    report = pl.DataFrame(
        {"field": ["description", "reporter_phone"], "value": [text, "13812341234"]}
    )
    assert mask_report(report)["value"].to_list() == [expected, "138****1234"]


@given(TEXT_WITH_PHONES)
def test_text_masking_follows_the_rule_and_touches_nothing_else(text):
    masked = mask_phone_text(text)
    assert masked == PHONE.sub(r"\1****\2", text)
    assert not PHONE.search(masked)
    assert len(masked) == len(text)
    assert all(a == b for a, b in zip(text, masked, strict=True) if b != "*")
    assert mask_phone_text(masked) == masked


@given(st.lists(st.one_of(st.none(), TEXT, PHONES), max_size=8))
def test_masking_twice_changes_nothing(values):
    for expr in (mask_name_expr("v"), mask_phone_expr("v")):
        once = _column(expr, values)
        assert _column(expr, once) == once
    phones = _column(mask_phone_expr("v"), values)
    assert not any(v and PHONE.search(v) for v in phones)


def test_a_masked_frame_masked_again_stays_readable():
    frame = pl.DataFrame({"reporter_name": ["张三"], "reporter_phone": ["0791-88881234"]})
    once = mask_personal(frame)
    assert mask_personal(once).equals(once)
    assert once.row(0) == ("张*", "079****1234")


def test_preview_style_columns_can_be_named():
    sample = pl.DataFrame({"联系人": ["张三"], "联系电话": ["13812341234"], "备注": ["李四"]})
    masked = mask_personal(sample, names=["联系人"], phones=["联系电话"])
    assert masked.row(0) == ("张*", "138****1234", "李四")


def test_logs_carry_no_phone_number():
    out = io.StringIO()
    log = logging.getLogger("gridpulse.test_privacy")
    handler = logging.StreamHandler(out)
    log.addHandler(handler)
    log.addFilter(mask_log_record)
    log.addFilter(mask_log_record)  # the same filter twice is one filter
    try:
        try:
            raise ValueError("bad row: 13812341234")
        except ValueError:
            log.exception("import of %s failed", "13912345678")
    finally:
        log.removeHandler(handler)
        log.removeFilter(mask_log_record)
    text = out.getvalue()
    assert "139****5678" in text and "138****1234" in text
    assert not PHONE.search(text)
    assert log.filters == []
