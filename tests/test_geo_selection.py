"""geo.selection: st_folium click → drill-down selection, breadcrumb, level of detail.

The ``returned`` dicts mimic what streamlit-folium 0.27 sends for a click on a polygon of
a GeoJson layer with ``returned_objects=RETURNED_OBJECTS`` (``last_active_drawing`` is
``layer.toGeoJSON()``: the feature with our properties).
"""

from __future__ import annotations

import pytest

from geo.selection import (
    RETURNED_OBJECTS,
    Crumb,
    Selection,
    apply_click,
    breadcrumb,
    click_token,
    clicked_feature,
    drill_down,
    effective_level,
    go_up,
    parent_code,
)

S1, S2 = "360102001", "360102002"
C11, C12, C21 = "360102001001", "360102001002", "360102002001"
G111, G112, G211 = "360102001001001", "360102001001002", "360102002001001"
NAMES = {
    S1: "江城街道",
    S2: "湖滨街道",
    C11: "和坊东社区",
    C12: "北庄社区",
    C21: "南湖社区",
    G111: "和坊东社区第1网格",
}


def click(code: str, level: str, *, count: int = 3, lat: float = 28.7, lng: float = 115.9) -> dict:
    return {
        "last_active_drawing": {
            "type": "Feature",
            "id": code,
            "properties": {
                "code": code,
                "name": NAMES.get(code, code),
                "level": level,
                "value": "98.5%",
                "fill": "#a6d96a",
            },
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[lng, lat], [lng + 0.01, lat], [lng, lat + 0.01], [lng, lat]]],
            },
        },
        "last_object_clicked": {"lat": lat, "lng": lng},
        "last_object_clicked_count": count,
    }


def test_returned_objects_are_minimal() -> None:
    assert set(RETURNED_OBJECTS) == {
        "last_active_drawing",
        "last_object_clicked",
        "last_object_clicked_count",
    }
    # nothing that changes on pan/zoom (which would rerun the script)
    assert not {"bounds", "zoom", "center", "last_clicked"} & set(RETURNED_OBJECTS)


def test_no_click_yet() -> None:
    sel = Selection()
    for returned in (None, {}, {"last_active_drawing": None, "last_object_clicked_count": None}):
        result = apply_click(returned=returned, selection=sel)
        assert result.selection == sel
        assert not result.changed
        assert result.token is None


def test_click_a_street_shows_its_communities() -> None:
    result = apply_click(returned=click(S1, "street"), selection=Selection())
    assert result.changed
    assert result.selection == Selection(level="community", streets=(S1,))
    assert result.token is not None


def test_click_a_community_shows_its_grids() -> None:
    sel = Selection(level="community", streets=(S1,))
    result = apply_click(returned=click(C12, "community"), selection=sel)
    assert result.selection == Selection(level="grid", streets=(S1,), communities=(C12,))


def test_click_a_community_without_street_uses_the_code_hierarchy() -> None:
    """Level of detail: communities of the whole province shown, none chosen."""
    result = apply_click(returned=click(C21, "community"), selection=Selection(level="community"))
    assert result.selection == Selection(level="grid", streets=(S2,), communities=(C21,))


def test_parents_mapping_wins_over_code_prefix() -> None:
    odd = "X-COMMUNITY"
    result = apply_click(
        returned=click(odd, "community"),
        selection=Selection(level="community"),
        parents={odd: "X-STREET"},
    )
    assert result.selection == Selection(level="grid", streets=("X-STREET",), communities=(odd,))


def test_click_a_grid_selects_it() -> None:
    sel = Selection(level="grid", streets=(S1,), communities=(C11,))
    result = apply_click(returned=click(G112, "grid"), selection=sel)
    assert result.selection == Selection(level="grid", streets=(S1,), communities=(C11,), grid=G112)
    assert result.changed


def test_click_a_grid_of_several_chosen_communities_keeps_the_filter() -> None:
    sel = Selection(level="grid", streets=(S1, S2), communities=(C11, C21))
    result = apply_click(returned=click(G211, "grid"), selection=sel)
    assert result.selection == Selection(
        level="grid", streets=(S1, S2), communities=(C11, C21), grid=G211
    )


def test_same_click_returned_again_is_ignored() -> None:
    """st_folium returns its last value on every rerun (live refresh, sidebar change)."""
    first = apply_click(returned=click(S1, "street"), selection=Selection())
    # the page stores first.token; the next run gets the same value back
    again = apply_click(
        returned=click(S1, "street"), selection=first.selection, last_token=first.token
    )
    assert not again.changed
    assert again.selection == first.selection
    assert again.token == first.token


def test_stale_click_of_another_level_is_ignored() -> None:
    sel = Selection(level="grid", streets=(S1,), communities=(C11,))
    result = apply_click(returned=click(C12, "community", count=9), selection=sel)
    assert not result.changed
    assert result.selection == sel
    assert result.token is not None  # remembered, so it is not re-examined


def test_back_up_then_click_the_same_area_again_drills_again() -> None:
    sel = Selection()
    r1 = apply_click(returned=click(S1, "street", count=3), selection=sel)
    up = go_up(r1.selection, level="all")
    assert up == Selection()
    # the same polygon clicked again: the counter moved on, so it is a new click
    r2 = apply_click(returned=click(S1, "street", count=6), selection=up, last_token=r1.token)
    assert r2.changed
    assert r2.selection == Selection(level="community", streets=(S1,))


def test_after_a_remount_the_counter_restarts_but_the_position_differs() -> None:
    r1 = apply_click(returned=click(S1, "street", count=3, lat=28.70), selection=Selection())
    up = go_up(r1.selection, level="all")
    r2 = apply_click(
        returned=click(S1, "street", count=3, lat=28.71), selection=up, last_token=r1.token
    )
    assert r2.changed


def test_shown_level_for_level_of_detail() -> None:
    """The user asked for grids, the province is drawn as communities: clicks drill."""
    sel = Selection(level="grid")
    result = apply_click(returned=click(C11, "community"), selection=sel, shown_level="community")
    assert result.selection == Selection(level="grid", streets=(S1,), communities=(C11,))


def test_feature_without_code_is_not_an_area() -> None:
    returned = click(S1, "street")
    returned["last_active_drawing"]["properties"] = {"name": "case 1"}
    assert clicked_feature(returned) is None
    assert click_token(returned) is None
    assert not apply_click(returned=returned, selection=Selection()).changed


def test_drill_down_directly() -> None:
    assert drill_down(Selection(), level="street", code=S2) == Selection(
        level="community", streets=(S2,)
    )
    with pytest.raises(ValueError):
        drill_down(Selection(), level="district", code="x")


def test_parent_code() -> None:
    assert parent_code(G111, level="grid") == C11
    assert parent_code(C11, level="community") == S1
    with pytest.raises(ValueError):
        parent_code(S1, level="street")


def test_breadcrumb_and_going_up() -> None:
    sel = Selection(level="grid", streets=(S1,), communities=(C11,), grid=G111)
    crumbs = breadcrumb(sel, names=NAMES)
    assert crumbs == [
        Crumb("all", None, "全区"),
        Crumb("street", S1, "江城街道"),
        Crumb("community", C11, "和坊东社区"),
        Crumb("grid", G111, "和坊东社区第1网格"),
    ]
    assert go_up(sel, level="community") == Selection(
        level="grid", streets=(S1,), communities=(C11,)
    )
    assert go_up(sel, level="street") == Selection(level="community", streets=(S1,))
    assert go_up(sel, level="all") == Selection(level="street")
    assert go_up(sel, level="grid").grid is None
    with pytest.raises(ValueError):
        go_up(sel, level="district")


def test_breadcrumb_of_several_streets_and_unknown_names() -> None:
    sel = Selection(level="community", streets=(S1, S2))
    assert breadcrumb(sel, names=NAMES, root="Whole district") == [
        Crumb("all", None, "Whole district"),
        Crumb("street", None, "江城街道、湖滨街道"),
    ]
    assert breadcrumb(Selection(level="community", streets=("999",)), names={})[1] == Crumb(
        "street", "999", "999"
    )


def test_selection_from_filter_areas_and_back() -> None:
    assert Selection.from_areas() == Selection(level="street")
    assert Selection.from_areas(streets=[S1]) == Selection(level="community", streets=(S1,))
    sel = Selection.from_areas(streets=[S1], communities=[C11])
    assert sel.level == "grid"
    assert sel.areas() == ((S1,), (C11,))
    with pytest.raises(ValueError):
        Selection(level="province")


def test_effective_level() -> None:
    province = {"street": 180, "community": 1_800, "grid": 25_000}
    assert effective_level(Selection(level="grid"), counts=province) == "community"
    assert effective_level(Selection(level="grid"), counts=province, max_features=1_000) == "street"
    one_street = {"street": 1, "community": 10, "grid": 140}
    assert effective_level(Selection(level="grid", streets=(S1,)), counts=one_street) == "grid"
    assert effective_level(Selection(level="street"), counts=province) == "street"
