"""Map click → selection: the drill-down street → community → grid, as plain functions.

AppTest cannot drive the folium component (DESIGN §5), so everything the page decides
from a map click lives here and is unit-tested (tests/test_geo_selection.py).

What ``st_folium`` returns for a click
--------------------------------------
streamlit-folium 0.27 binds its click handler to every layer of the map. A click on a
polygon of a ``GeoJson`` layer sets

* ``last_active_drawing``: ``layer.toGeoJSON()`` of the clicked polygon — the whole
  feature, with its ``properties`` (our ``code``, ``name``, ``level``, ...) and geometry;
* ``last_object_clicked``: the clicked ``{"lat", "lng"}``;
* ``last_object_clicked_count``: a counter, +1 per layer the click bubbles through;
* ``last_object_clicked_tooltip``: the tooltip's *text* (all rows run together — not
  parseable reliably, so not used).

The component re-sends its value only when one of the ``returned_objects`` changes, and
returns the *last* value on every later rerun (a live refresh, a sidebar change), so a
click must be recognised as new. :data:`RETURNED_OBJECTS` asks for exactly what that
needs: the feature (``last_active_drawing``) plus the counter and the click position
(together a token that changes on every click, also on the same polygon). Not asking for
``bounds``/``zoom``/``center`` means panning and zooming never rerun the script.

Drill-down
----------
=================  =====================  ==========================================
shown level        click on area ``X``    new selection
=================  =====================  ==========================================
street             street S               communities of S (``streets=(S,)``)
community          community C            grids of C (``streets=(S,), communities=(C,)``)
grid               grid G                 stays on the grids, ``grid=G`` selected
=================  =====================  ==========================================

A click on a feature whose ``properties.level`` is not the level shown is stale (the map
has already changed) and ignored. The parent of a community/grid comes from ``parents``
(code → parent code, from the kpis/area frame) or, failing that, from the code hierarchy
of DESIGN §3 (community = street code + 3 digits, grid = community code + 3 digits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, NamedTuple

__all__ = [
    "LEVELS",
    "RETURNED_OBJECTS",
    "ClickResult",
    "Crumb",
    "Selection",
    "apply_click",
    "breadcrumb",
    "click_token",
    "clicked_feature",
    "drill_down",
    "effective_level",
    "go_up",
    "parent_code",
]

LEVELS: Final = ("street", "community", "grid")
CHILD: Final = {"street": "community", "community": "grid"}

RETURNED_OBJECTS: Final[tuple[str, ...]] = (
    "last_active_drawing",
    "last_object_clicked",
    "last_object_clicked_count",
)
"""Pass as ``st_folium(..., returned_objects=list(RETURNED_OBJECTS))``."""

ROOT: Final = "all"  # level of the first breadcrumb (the whole scope)


@dataclass(frozen=True)
class Selection:
    """What the map shows and which areas are chosen.

    ``level`` is the level drawn; ``streets``/``communities`` are the filter's areas
    (empty = all in scope); ``grid`` is a selected grid (shown, not filtered on).
    """

    level: str = "street"
    streets: tuple[str, ...] = ()
    communities: tuple[str, ...] = ()
    grid: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")

    @classmethod
    def from_areas(
        cls,
        *,
        streets: Sequence[str] = (),
        communities: Sequence[str] = (),
        level: str | None = None,
        grid: str | None = None,
    ) -> Selection:
        """The selection for a filter's areas (e.g. after a sidebar change or from the URL).

        Without ``level``: streets level when nothing is chosen, communities when only
        streets are, grids when communities are.
        """
        if level is None:
            level = "grid" if communities else "community" if streets else "street"
        return cls(level=level, streets=tuple(streets), communities=tuple(communities), grid=grid)

    def areas(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(streets, communities)`` for ``Filter.with_areas``."""
        return self.streets, self.communities


class Crumb(NamedTuple):
    """One breadcrumb: ``level`` is ``"all"``, ``"street"``, ``"community"`` or ``"grid"``;
    ``code`` is None for the root (and for a multi-area crumb)."""

    level: str
    code: str | None
    name: str


class ClickResult(NamedTuple):
    selection: Selection
    token: tuple | None  # store it; pass it back as ``last_token`` on the next run
    changed: bool


def parent_code(code: str, *, level: str, parents: Mapping[str, str] | None = None) -> str:
    """Code of the parent of area ``code`` of ``level`` (community → street, grid → community)."""
    if parents and code in parents and parents[code]:
        return str(parents[code])
    if level in ("community", "grid"):
        return code[:-3]
    raise ValueError(f"a {level} has no parent in the drill-down")


def clicked_feature(returned: Mapping[str, Any] | None) -> dict | None:
    """The ``properties`` of the clicked feature, or None (no click, or not one of ours)."""
    if not returned:
        return None
    drawing = returned.get("last_active_drawing")
    if not isinstance(drawing, Mapping):
        return None
    props = drawing.get("properties")
    if not isinstance(props, Mapping) or not props.get("code"):
        return None
    return dict(props)


def click_token(returned: Mapping[str, Any] | None) -> tuple | None:
    """A value that changes on every click (counter + position + feature code)."""
    props = clicked_feature(returned)
    if props is None:
        return None
    where = returned.get("last_object_clicked") if returned else None
    lat = lng = None
    if isinstance(where, Mapping):
        lat, lng = where.get("lat"), where.get("lng")
    count = returned.get("last_object_clicked_count") if returned else None
    return (count, lat, lng, str(props.get("code")), props.get("level"))


def drill_down(
    selection: Selection,
    *,
    level: str,
    code: str,
    parents: Mapping[str, str] | None = None,
) -> Selection:
    """The selection after choosing area ``code`` of ``level`` (see the module table)."""
    if level == "street":
        return Selection(level="community", streets=(code,))
    if level == "community":
        street = parent_code(code, level="community", parents=parents)
        return Selection(level="grid", streets=(street,), communities=(code,))
    if level == "grid":
        community = parent_code(code, level="grid", parents=parents)
        if community in selection.communities:
            return Selection(
                level="grid",
                streets=selection.streets,
                communities=selection.communities,
                grid=code,
            )
        street = parent_code(community, level="community", parents=parents)
        return Selection(level="grid", streets=(street,), communities=(community,), grid=code)
    raise ValueError(f"level must be one of {LEVELS}, got {level!r}")


def apply_click(
    *,
    returned: Mapping[str, Any] | None,
    selection: Selection,
    last_token: tuple | None = None,
    parents: Mapping[str, str] | None = None,
    shown_level: str | None = None,
) -> ClickResult:
    """Map ``st_folium``'s return value to the new selection.

    Parameters
    ----------
    returned : mapping or None
        What ``st_folium`` returned this run.
    selection : Selection
        The current selection (what the map shows).
    last_token : tuple or None
        The token of the last click already handled (keep it in ``st.session_state``).
    parents : mapping, optional
        code → parent code of the areas shown (else the code hierarchy is used).
    shown_level : str, optional
        The level actually drawn when it differs from ``selection.level`` (level of
        detail, :func:`effective_level`); clicks on areas of that level drill down.

    Returns
    -------
    ClickResult
        ``(selection, token, changed)``. ``changed`` is False when there was no new click
        (no click yet, the same click returned again on a rerun, a click on a feature of
        another level than the one shown, or on a feature that is not an area).
        Always store ``token``.
    """
    token = click_token(returned)
    if token is None or token == last_token:
        return ClickResult(selection, last_token if token is None else token, False)
    props = clicked_feature(returned) or {}
    shown = shown_level or selection.level
    level = props.get("level") or shown
    if level != shown or level not in LEVELS:
        return ClickResult(selection, token, False)
    new = drill_down(selection, level=level, code=str(props["code"]), parents=parents)
    return ClickResult(new, token, new != selection)


def go_up(selection: Selection, *, level: str) -> Selection:
    """The selection after clicking the breadcrumb of ``level`` ("all", "street",
    "community"); ``"grid"`` only clears the selected grid."""
    if level == ROOT:
        return Selection(level="street")
    if level == "street":
        return Selection(level="community", streets=selection.streets)
    if level == "community":
        return Selection(level="grid", streets=selection.streets, communities=selection.communities)
    if level == "grid":
        return replace(selection, grid=None)
    raise ValueError(f"level must be 'all' or one of {LEVELS}, got {level!r}")


def breadcrumb(
    selection: Selection,
    *,
    names: Mapping[str, str],
    root: str = "全区",
    separator: str = "、",
) -> list[Crumb]:
    """The path from the whole scope down to the selection.

    ``names`` maps codes to display names (missing codes show as the code). Several
    chosen streets or communities make one crumb with joined names and ``code`` None.
    """

    def crumb(level: str, codes: Sequence[str]) -> Crumb:
        label = separator.join(names.get(c, c) for c in codes)
        return Crumb(level, codes[0] if len(codes) == 1 else None, label)

    out = [Crumb(ROOT, None, root)]
    if selection.streets:
        out.append(crumb("street", selection.streets))
    if selection.communities:
        out.append(crumb("community", selection.communities))
    if selection.grid:
        out.append(crumb("grid", (selection.grid,)))
    return out


def effective_level(
    selection: Selection,
    *,
    counts: Mapping[str, int],
    max_features: int = 5_000,
) -> str:
    """Level of detail: the level to draw so that at most ``max_features`` polygons are sent.

    ``counts`` is the number of areas of each level in the current scope. The requested
    ``selection.level`` is kept if it fits; otherwise the next coarser level that fits
    (a province shows communities — or streets — until a street is chosen).
    """
    order = list(LEVELS)
    i = order.index(selection.level)
    while i > 0 and counts.get(order[i], 0) > max_features:
        i -= 1
    return order[i]
