"""Display text of figures: one form for the KPI cards, tables, map and briefing."""

from __future__ import annotations

import polars as pl
import pytest

from data_layer.domain import metrics
from data_layer.domain.formatting import (
    DASH,
    ColumnFormat,
    column_format,
    format_change,
    format_fraction,
    format_value,
    is_unchanged,
    number_format,
)
from documents.slides import figure


def test_a_rate_over_a_zero_denominator_shows_a_dash():
    frame = metrics.add_rates(pl.DataFrame({"closed": [0, 3], "due": [0, 4]}))
    shown = [format_value("closure_rate", v) for v in frame["closure_rate"].to_list()]
    assert shown == [DASH, "75.0%"]
    assert format_value("closure_rate", float("nan")) == DASH
    assert format_value("hours_to_close_median", None) == DASH
    assert format_fraction(0, 0) == "0 / 0"
    assert format_fraction(None, None) == f"{DASH} / {DASH}"


def test_published_example():
    assert format_value("closure_rate", 70897 / 70970) == "99.9%"
    assert format_fraction(70897, 70970) == "70,897 / 70,970"
    assert format_value("reported", 70970) == "70,970"
    assert format_value("workers_per_10k", 18.25) == "18.2"
    assert format_fraction(12.5, 3) == "12.5 / 3"


@pytest.mark.parametrize(
    "key, now, before, lang, expected",
    [
        ("closure_rate", 0.9, 0.275, "zh", "+62.5 百分点"),
        ("closure_rate", 0.5, 0.6, "en", "-10.0 pp"),
        ("closure_rate", 0.5, 0.5, "zh", "±0.0 百分点"),
        ("closure_rate", 0.5, 0.50001, "zh", "±0.0 百分点"),  # rounds to zero: no direction
        ("reported", 10, 1, "zh", "+9"),
        ("reported", 1_000, 3_500, "zh", "-2,500"),
        ("overdue_open", 4, 4, "zh", "±0"),
        ("volunteer_hours", 12.25, 10.0, "zh", "+2.2"),
        ("hours_to_close_median", 10.0, 10.04, "zh", "±0.0"),
        ("closure_rate", None, 0.5, "zh", None),
        ("closure_rate", 0.5, None, "zh", None),
    ],
)
def test_change_text(key, now, before, lang, expected):
    assert format_change(key, now, before, lang=lang) == expected


def test_an_unchanged_figure_is_recognised():
    assert is_unchanged(format_change("reported", 3, 3, lang="zh"))
    assert not is_unchanged(format_change("reported", 3, 2, lang="zh"))


def test_the_briefing_shows_the_same_change_as_the_screen():
    row, previous = {"closure_rate": 0.9, "closed": 27, "due": 30}, {"closure_rate": 0.275}
    fig = figure("closure_rate", row, lang="zh", previous=previous)
    assert fig.delta == format_change("closure_rate", 0.9, 0.275, lang="zh")
    assert fig.value == "90.0%" and fig.fraction == "27 / 30"
    assert not fig.low_volume and fig.higher_is_better is True
    # below the low-volume threshold (30 due cases): the same change, marked and uncoloured
    small = figure("closure_rate", {**row, "closed": 9, "due": 10}, lang="zh", previous=previous)
    assert small.delta == f"{format_change('closure_rate', 0.9, 0.275, lang='zh')} · 样本少"
    assert small.low_volume and small.higher_is_better is None


def test_table_number_formats():
    assert number_format("closure_rate") == "{:.1%}"
    assert number_format("reported") == "{:,.0f}"
    assert number_format("volunteer_hours_per_1k") == "{:,.1f}"
    assert number_format("ranking_score") == "{:,.1f}"  # a detail figure
    assert number_format("name") is None


def _printf(fmt: ColumnFormat, value: float) -> str:
    """What the browser prints for ``value`` (sprintf-js, ``,`` = thousands), in Python."""
    comma, decimals, percent = (
        fmt.printf[1] == ",",
        int(fmt.printf.split(".")[1][0]),
        "%%" in fmt.printf,
    )
    text = f"{value * fmt.scale:{',' if comma else ''}.{decimals}f}"
    return text + ("%" if percent else "")


@pytest.mark.parametrize(
    "fmt, printf, scale, value, shown",
    [
        ("{:.1%}", "%.1f%%", 100.0, 70897 / 70970, "99.9%"),
        ("{:.1%}", "%.1f%%", 100.0, 0.75, "75.0%"),
        ("{:,.0f}", "%,.0f", 1.0, 70970, "70,970"),
        ("{:,.1f}", "%,.1f", 1.0, 8876.5, "8,876.5"),
    ],
)
def test_table_columns_keep_numbers_and_show_the_same_text(fmt, printf, scale, value, shown):
    column = column_format(fmt)
    assert column == ColumnFormat(printf, scale)
    assert fmt.format(value) == shown == _printf(column, value)
    assert column.scaled([value, None, float("nan")])[1] is None  # missing stays missing
    assert column.scaled([value])[0] == value * scale  # a number: sorting stays numeric


def test_every_metric_has_a_table_column_format():
    for key in metrics.METRICS:
        assert column_format(number_format(key)).printf.startswith("%")
    with pytest.raises(ValueError):
        column_format("{}")
