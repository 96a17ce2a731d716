"""data_layer.queries.map_values / map_legend: what the map is given from the figures.

The colour classes of each metric, and the display rows of the areas (value text with the
low-volume note, fraction, low flag, fill), checked through ``geo.maps.area_features`` too.
Hand-made kpis-like values for six grids (codes of DESIGN §3).
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import shapely
from shapely import box

from data_layer.domain import metrics
from data_layer.queries.map_legend import color_scale
from data_layer.queries.map_values import area_rows, low_volume_mask, tooltip_rows
from geo import maps
from geo.maps.colours import BLUES_5, RDYLGN_5, REDS_ZERO

COMMUNITY = "360102001001"
CODES = [f"{COMMUNITY}{i:03d}" for i in range(1, 7)]


def _values() -> pl.DataFrame:
    # closed / due: 99.5%, 96%, low volume (10), no cases (due 0), 85%, 100%
    closed = [199, 96, 9, 0, 85, 50]
    due = [200, 100, 10, 0, 100, 50]
    rate = [c / d if d else None for c, d in zip(closed, due, strict=True)]
    return pl.DataFrame(
        {
            "level": ["grid"] * 6,
            "code": CODES,
            "name": [f"和坊东社区第{i}网格" for i in range(1, 7)],
            "closed": closed,
            "due": due,
            "closure_rate": rate,
            "overdue_open": [0, 3, 1, 0, 12, 0],
            "reported_per_1k_households": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "reported": [300, 110, 12, 0, 120, 60],
            "households": [400, 410, 380, 390, 420, 300],
            "basic_grids_full_time": [1, 0, 1, 1, 1, 1],
            "basic_grids": [1, 1, 1, 1, 1, 1],
            "full_time_coverage": [1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
            "updated": pl.Series([None] * 6, dtype=pl.Datetime("us")),
        }
    )


# --------------------------------------------------------------------------------------- #
# colour scales
# --------------------------------------------------------------------------------------- #
def test_closure_rate_uses_fixed_bands_red_to_green() -> None:
    scale = color_scale(metric="closure_rate", values=_values())
    assert scale.method == "bands"
    assert scale.breaks == (0.90, 0.95, 0.98, 0.99)
    assert scale.labels == ("< 90%", "90% – 95%", "95% – 98%", "98% – 99%", "≥ 99%")
    assert scale.colors == RDYLGN_5
    assert scale.color(0.85) == RDYLGN_5[0]
    assert scale.color(0.999) == RDYLGN_5[4]
    assert scale.color(0.999, low=True) == maps.LOW_VOLUME_COLOR
    labels = [e.label for e in scale.entries]
    assert labels[-2:] == ["样本少（< 30）", "无数据"]  # the default low-volume threshold


def test_rework_rate_is_green_when_low() -> None:
    scale = color_scale(metric="rework_rate", values=[0.0, 0.02, 0.2])
    assert scale.color(0.0) == RDYLGN_5[-1]  # green
    assert scale.color(0.2) == RDYLGN_5[0]  # red


def test_coverage_rate_has_100_percent_as_top_class_and_no_low_volume() -> None:
    scale = color_scale(metric="full_time_coverage", values=_values(), lang="en")
    assert scale.labels[-1] == "100%"
    assert scale.color(1.0) == RDYLGN_5[-1]
    assert scale.color(0.99) == RDYLGN_5[-2]
    assert scale.low_volume is None
    assert scale.entries[-1].label == "no data"
    assert not metrics.flags_low_volume("full_time_coverage")
    assert metrics.flags_low_volume("closure_rate")


def test_overdue_counts_have_zero_as_its_own_class() -> None:
    scale = color_scale(metric="overdue_open", values=[0, 0, 1, 2, 3, 5, 8, 13, 40])
    assert scale.method == "zero_quantiles"
    assert scale.labels[0] == "0"
    assert scale.color(0) == REDS_ZERO
    assert scale.color(40) == scale.colors[-1]
    assert scale.color(1) != scale.color(0)
    # integer classes read as closed ranges, e.g. "1 – 2", and the top class "≥ n"
    assert scale.labels[-1].startswith("≥ ")
    assert all(re.fullmatch(r"\d[\d,]*( – [\d,]+)?", lab) for lab in scale.labels[1:-1])


def test_volumes_use_neutral_quantiles_without_low_volume() -> None:
    scale = color_scale(metric="reported_per_1k_households", values=_values())
    assert scale.method == "quantiles"
    assert set(scale.colors) <= set(BLUES_5)
    assert len(scale.colors) == len(scale.breaks) + 1
    assert scale.low_volume is None


def test_quantiles_leave_low_volume_areas_out() -> None:
    values = [0.5, 0.9, 0.91, 0.92, 0.93, 0.94]
    low = [True, False, False, False, False, False]
    with_low = color_scale(metric="hours_to_close_median", values=values, low_volume=low)
    without = color_scale(metric="hours_to_close_median", values=values)
    assert min(with_low.breaks) > min(without.breaks)


def test_all_equal_values_make_one_class() -> None:
    scale = color_scale(metric="reported", values=[5, 5, 5])
    assert scale.breaks == ()
    assert len(scale.colors) == 1
    assert scale.labels == ("5",)
    assert scale.color(5) == scale.colors[0]


def test_every_metric_has_a_scale() -> None:
    for key in metrics.METRICS:
        scale = color_scale(metric=key, values=[0.1, 0.5, 0.9, None])
        assert len(scale.colors) == len(scale.labels) == len(scale.breaks) + 1
        assert all(e.label and e.color.startswith("#") for e in scale.entries)


# --------------------------------------------------------------------------------------- #
# area rows
# --------------------------------------------------------------------------------------- #
def _grid_geometries() -> pl.DataFrame:
    corners = [(115.9 + 0.005 * (i % 3), 28.7 + 0.005 * (i // 3)) for i in range(6)]
    geoms = [box(x, y, x + 0.005, y + 0.005) for x, y in corners]
    return pl.DataFrame(
        {"code": CODES, "geometry": shapely.to_wkb(np.array(geoms, dtype=object))},
        schema={"code": pl.String, "geometry": pl.Binary},
    )


def _props(metric: str = "closure_rate", *, lang: str = "zh") -> list[dict]:
    values = _values()
    scale = color_scale(metric=metric, values=values, lang=lang)
    fc = maps.area_features(
        geometries=_grid_geometries(),
        areas=area_rows(values=values, metric=metric, scale=scale, lang=lang),
        level="grid",
    )
    return [f["properties"] for f in fc["features"]]


def test_area_rows_as_the_map_shows_them() -> None:
    scale = color_scale(metric="closure_rate", values=_values())
    props = _props()
    assert props[0] == {
        "code": CODES[0],
        "name": "和坊东社区第1网格",
        "level": "grid",
        "value": "99.5%",
        "fraction": "199 / 200",
        "low": False,
        "fill": scale.color(0.995),
    }
    assert props[2]["low"] is True
    assert props[2]["value"] == "90.0%（样本少）"
    assert props[2]["fill"] == maps.LOW_VOLUME_COLOR
    assert props[3]["value"] == "—"
    assert props[3]["fraction"] == "0 / 0"
    assert props[3]["fill"] == maps.NO_VALUE_COLOR
    assert props[4]["fill"] == RDYLGN_5[0]


def test_counts_have_no_fraction_and_no_low_flag() -> None:
    props = _props("overdue_open")[1]
    assert props["value"] == "3"
    assert "fraction" not in props and "low" not in props


def test_english_note() -> None:
    assert _props(lang="en")[2]["value"] == "90.0% (low volume)"


def test_low_volume_mask_only_for_sampled_rates() -> None:
    assert low_volume_mask(_values(), "closure_rate").tolist() == [
        False,
        False,
        True,
        True,
        False,
        False,
    ]
    assert not low_volume_mask(_values(), "full_time_coverage").any()


def test_tooltip_rows() -> None:
    assert tooltip_rows("zh") == [
        ("name", "名称"),
        ("value", "数值"),
        ("fraction", "分子 / 分母"),
        ("code", "编码"),
    ]
    assert tooltip_rows("en")[0] == ("name", "Name")
