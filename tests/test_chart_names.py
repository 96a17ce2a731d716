"""Names in plotly charts are text: plotly turns ``<a href>``, ``<b>``, ``<br>`` … of tick
labels and hover text into markup, so an area named ``<a href="http://evil">`` put a link
in a chart. The charts that draw names hand plotly entity-escaped text (issue 14, hole 2)."""

from __future__ import annotations

import polars as pl

from ui import charts

LINK = '<a href="http://evil">东湖</a>'
BOLD = "<b>西湖</b>&"
ESCAPED = ['&lt;a href="http://evil"&gt;东湖&lt;/a&gt;', "&lt;b&gt;西湖&lt;/b&gt;&amp;"]


def test_score_bars_escape_the_names():
    frame = pl.DataFrame({"name": [LINK, BOLD], "ranking_score": [90.0, 80.0], "rank": [1, 2]})
    (bars,) = charts.score_bars(frame).data
    assert list(bars.y) == ESCAPED


def test_grouped_bars_escape_names_and_given_labels():
    frame = pl.DataFrame({"unit": [LINK, BOLD], "reported": [3, 1]})
    (bars,) = charts.grouped_bars(frame, code_column="unit", code_kind=None, keys=["reported"]).data
    assert list(bars.x) == ESCAPED
    labelled = charts.grouped_bars(
        frame, code_column="unit", code_kind=None, keys=["reported"], labels=[BOLD, LINK]
    )
    assert list(labelled.data[0].x) == ESCAPED[::-1]


def test_active_bars_escape_the_names():
    frame = pl.DataFrame(
        {
            "group": ["most", "least"],
            "name": [LINK, BOLD],
            "volunteer_hours_per_1k": [12.0, 1.0],
            "volunteer_hours": [120.0, 10.0],
            "activities": [6, 1],
        }
    )
    fig = charts.active_bars(frame)
    assert [list(trace.y) for trace in fig.data] == [[ESCAPED[0]], [ESCAPED[1]]]
