"""Every chart carries the app's theme (CJK font, projector sizes) from the default
template, which holds only the trace types the charts draw (issue #16: plotly copies the
whole template into every figure)."""

from __future__ import annotations

import polars as pl

from ui import charts


def test_a_chart_has_the_theme_and_a_slim_template():
    frame = pl.DataFrame({"unit": ["东湖", "西湖"], "reported": [3, 1]})
    fig = charts.grouped_bars(frame, code_column="unit", code_kind=None, keys=["reported"])
    template = fig.layout.template
    assert template.layout.font.family == charts.FONT_FAMILY
    assert template.layout.font.size == charts.FONT_SIZE
    assert template.layout.yaxis.rangemode == "tozero"
    assert template.layout.plot_bgcolor == "white"  # plotly_white underneath
    used = set(template.data.to_plotly_json())
    assert used <= set(charts.TRACE_TYPES) and "bar" in used
    assert "scene" not in template.layout.to_plotly_json()
