"""Issue #16: the briefing map is drawn once per picture, not per meeting or viewer.

The projected outline of the communities is kept per boundary version and selection; the
PNG is cached by what it shows (``static_map.picture``) and the boundary version, so a
meeting frozen a minute later, or another viewer, with the same colours reuses the image —
and the image is the same bytes as one drawn from scratch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, S1, tiny_dataset
from streamlit.testing.v1 import AppTest

from data_layer.domain.scope import Scope
from documents import static_map
from documents.briefing import build_briefing
from documents.meeting import Meeting

ROOT = Path(__file__).resolve().parent.parent
VERSION = (("streets", 1, 10), ("communities", 2, 20), ("grids", 3, 30))


@pytest.fixture(scope="module")
def tiny():
    return tiny_dataset()


def _values(ds, **meeting):
    return build_briefing(ds, Meeting.for_month(2025, 3, **meeting), Scope.everything()).map_values


def test_a_cached_outline_draws_the_same_bytes_as_a_fresh_one(tiny):
    static_map.clear_outline_cache()
    values = _values(tiny, as_of=AS_OF)
    fresh = static_map.choropleth_png(tiny, values)
    cached = [static_map.choropleth_png(tiny, values, geometry_version=VERSION) for _ in "ab"]
    assert cached == [fresh, fresh]
    street = _values(tiny, as_of=AS_OF, streets=(S1,))
    assert static_map.choropleth_png(
        tiny, street, geometry_version=VERSION
    ) == static_map.choropleth_png(tiny, street)


def test_the_outline_is_kept_per_boundary_version_and_selection(tiny):
    static_map.clear_outline_cache()
    whole = static_map._selection(tiny, _values(tiny, as_of=AS_OF), "closure_rate")
    part = static_map._selection(tiny, _values(tiny, as_of=AS_OF, streets=(S1,)), "closure_rate")
    first = static_map.outline(tiny, whole, geometry_version=VERSION)
    assert static_map.outline(tiny, whole, geometry_version=VERSION) is first
    assert static_map.outline(tiny, part, geometry_version=VERSION) is not first
    assert static_map.outline(tiny, whole, geometry_version=(*VERSION, "x")) is not first
    assert static_map.outline(tiny, whole, geometry_version=None) is not first
    assert len(first.points) == whole.height and first.paths


def test_the_picture_names_what_is_drawn(tiny):
    values = _values(tiny, as_of=AS_OF)
    pic = static_map.picture(tiny, values)
    assert pic == static_map.picture(tiny, values.clone())
    hash(pic)  # a cache key
    assert pic.codes and len(pic.codes) == len(pic.names) == len(pic.colors)
    assert static_map.picture(tiny, values, lang="en") != pic  # legend labels
    assert static_map.picture(tiny, values, metric="reported") != pic
    assert static_map.picture(tiny, values, dpi=100) != pic
    recoloured = dataclasses.replace(pic, colors=tuple(reversed(pic.colors)))
    assert recoloured != pic


def test_a_meeting_frozen_a_minute_later_reuses_the_map(monkeypatch, tiny_dir):
    built: list[str] = []
    png = static_map.choropleth_png
    monkeypatch.setattr(
        static_map, "choropleth_png", lambda *a, **k: built.append("png") or png(*a, **k)
    )
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    for as_of in (AS_OF + dt.timedelta(days=30), AS_OF + dt.timedelta(days=30, minutes=1)):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        params = {"mt_period": "month", "mt_month": "2025-03", "slide": "2"}
        for key, value in {**params, "mt_as_of": as_of.isoformat()}.items():
            at.query_params[key] = value
        at.switch_page(f"{ROOT}/pages/meeting.py")
        sign_in(at, tiny_dir)
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert "各社区办结率" in [t.value for t in at.title]  # the map slide
    assert built == ["png"]  # two meetings, one picture: drawn once


def test_the_font_subset_is_cut_once_per_character_set():
    from documents import fonts

    fonts._subset.cache_clear()
    first = fonts.subset_font("联席会议 2025-03\n")
    again = fonts.subset_font("会议联席 \t5230-")  # the same characters, in another order
    assert again is first  # kept, not cut again
    assert fonts._subset.cache_info().misses == 1
    assert fonts.subset_font("网格") != first
