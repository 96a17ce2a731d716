"""ui.cached's process-wide memo (issue #16: server CPU per warm view): a warm view of the
案件办结 page sends exactly what a cold one sends, without building figures or tables again;
what is kept depends on the frame, the language and the columns, and goes with the frame."""

from __future__ import annotations

import gc
from pathlib import Path

import polars as pl
import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import cases
from ui import cached, charts, downloads
from ui.downloads import Col

ROOT = Path(__file__).resolve().parent.parent
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}
MARCH_FILTER = Filter(period="custom", start=AS_OF.date().replace(day=1), as_of=AS_OF)


def _sent(at: AppTest) -> tuple[list[bytes], list[bytes]]:
    """The messages of the run's plotly charts (spec, config, id) and tables (Arrow data,
    column config), in page order."""
    specs = [chart.proto.SerializeToString() for chart in at.get("plotly_chart")]
    tables = [frame.proto.SerializeToString() for frame in at.dataframe]
    return specs, tables


def _builds(monkeypatch) -> dict[str, int]:
    """Counts of figures and shown tables made from here on."""
    made = {"figures": 0, "tables": 0}
    figure_init = charts.go.Figure.__init__
    display = downloads._display

    def count_figure(self, *args, **kwargs):
        made["figures"] += 1
        figure_init(self, *args, **kwargs)

    def count_table(*args, **kwargs):
        made["tables"] += 1
        return display(*args, **kwargs)

    monkeypatch.setattr(charts.go.Figure, "__init__", count_figure)
    monkeypatch.setattr(downloads, "_display", count_table)
    return made


def test_a_warm_view_sends_the_same_page_without_building_it_again(monkeypatch, tiny_dir):
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in MARCH.items():
        at.query_params[key] = value
    at.switch_page(f"{ROOT}/pages/cases.py")
    sign_in(at, tiny_dir)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    cold = _sent(at)
    assert len(cold[0]) >= 6 and len(cold[1]) >= 6  # funnel, trends, bars, box; tables

    made = _builds(monkeypatch)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert _sent(at) == cold  # the same specs, the same Arrow bytes
    assert made == {"figures": 0, "tables": 0}


def test_the_kept_table_is_the_arrow_data_streamlit_would_send(tiny):
    """``st.dataframe`` of the kept pyarrow table sends the bytes Streamlit makes of the
    pandas frame itself (``convert_pandas_df_to_arrow_bytes``): numbers, None, dates, text."""
    everyone = Scope.everything()
    overdue = cases.open_cases(tiny, MARCH_FILTER, everyone, kind="overdue")
    funnel = cases.case_funnel(tiny, MARCH_FILTER, everyone)
    for frame, cols in (
        (overdue, [Col("case_id"), Col("category", codes="category"), Col("reported_at")]),
        (funnel, [Col("stage", codes="stage"), Col("count", fmt="{:,.0f}"), Col("share")]),
    ):
        assert frame.height
        shown, _ = downloads._display(frame, cols)
        table, _ = downloads._shown(frame, cols)
        assert dataframe_util.convert_arrow_table_to_arrow_bytes(
            table
        ) == dataframe_util.convert_pandas_df_to_arrow_bytes(shown)


@pytest.fixture
def kept():
    """A frame as ``cached_query`` hands it out (registered in the memo)."""
    frame = pl.DataFrame({"code": ["dispute", "repair"], "reported": [3, 1]})
    cached._recent().put("test_view_memo", ("key", id(frame)), frame)
    return frame


def test_what_is_kept_depends_on_frame_language_and_arguments(monkeypatch, kept):
    built = []

    def build(frame, *, tag):
        built.append(tag)
        return object()

    kept_build = cached.per_frame(build)
    first = kept_build(kept, tag="a")
    assert kept_build(kept, tag="a") is first and built == ["a"]
    assert kept_build(kept, tag="b") is not first  # other arguments
    monkeypatch.setattr(cached.i18n, "lang", lambda: "en")
    assert kept_build(kept, tag="a") is not first  # the other language
    assert built == ["a", "b", "a"]

    other = pl.DataFrame({"code": ["dispute"], "reported": [3]})  # not from a query
    assert kept_build(other, tag="a") is not kept_build(other, tag="a")


def test_columns_made_anew_every_run_are_not_kept(kept):
    stable = [Col("code"), Col("reported", fmt="{:,.0f}")]
    assert downloads._shown(kept, stable)[0] is downloads._shown(kept, stable)[0]
    fresh = [Col("code", fmt=lambda c: c.upper()), Col("reported")]
    assert downloads._shown(kept, fresh)[0] is not downloads._shown(kept, fresh)[0]


def test_what_is_kept_goes_with_the_frame():
    recent = cached._Recent()
    frames = [pl.DataFrame({"n": [i]}) for i in range(cached.RECENT_PER_QUERY + 3)]
    for i, frame in enumerate(frames):
        recent.put("q", i, frame)
        recent.derived(frame, "figure", object)
    assert recent.get("q", 0) is None and recent.get("q", len(frames) - 1) is frames[-1]
    del frames, frame
    gc.collect()
    assert len(recent._derived) == cached.RECENT_PER_QUERY  # the evicted frames' are gone


def test_a_warm_overview_sends_the_same_tables_without_building_them(monkeypatch, tiny_dir):
    """The KPI frames are handed out as the same objects (``state.kpis`` through the memo),
    so the community tables are kept with them; what is sent stays byte for byte."""
    from ui import widgets

    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in MARCH.items():
        at.query_params[key] = value
    sign_in(at, tiny_dir)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    cold = _sent(at)[1]
    assert len(cold) == 3  # cases, coverage, volunteer

    built = []
    table = widgets._table
    monkeypatch.setattr(widgets, "_table", lambda *a, **kw: built.append(1) or table(*a, **kw))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert _sent(at)[1] == cold and built == []


def test_the_metric_table_sends_what_streamlit_makes_of_the_pandas_frame(tiny):
    from data_layer.queries import figures
    from ui import widgets

    frame = figures.kpis(tiny, MARCH_FILTER, Scope.everything(), by="community")
    for group in ("cases", "coverage", "volunteer"):
        shown, _ = widgets._table_frame(frame, group)
        table, _ = widgets._table(frame, group)
        assert dataframe_util.convert_arrow_table_to_arrow_bytes(
            table
        ) == dataframe_util.convert_pandas_df_to_arrow_bytes(shown)
