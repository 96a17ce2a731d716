"""Area layers: the filled areas (choropleth), outlines of a higher level, and the legend.

The fill colour travels as a feature property and ONE JavaScript style function reads it
(assets/js/fill_areas.js); folium's ``style_function`` instead calls Python per feature and
emits a ``switch`` with one ``case`` per feature. The layer embeds the packed payload
(geo/maps/payload.py), decoded in the browser before ``L.geoJson(...).addData``, so
Leaflet, the tooltip and ``st_folium``'s ``last_active_drawing`` see ordinary features.

Names are data: the tooltip and the legend are built in the browser as DOM text
(``gridpulse.text``), never as HTML. folium's ``GeoJsonTooltip`` writes the properties into
``innerHTML``, and the component's iframe is same-origin with the app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import folium
from folium.utilities import camelize

from geo.maps.colours import NO_VALUE_COLOR, Scale
from geo.maps.features import feature_payload
from geo.maps.panes import OUTLINE_PANE
from geo.scripts import ScriptCall

__all__ = ["FillAreas", "choropleth_layer", "legend_layer", "outline_layer"]

_CHORO_STYLE: Final = {
    "color": "#ffffff",
    "weight": 0.8,
    "opacity": 1.0,
    "fillOpacity": 0.78,
    "fillColor": NO_VALUE_COLOR,
}
_LOW_STYLE: Final = {"dashArray": "3 3", "color": "#888888", "fillOpacity": 0.6}
_HIGHLIGHT_STYLE: Final = {"weight": 3, "color": "#222222", "fillOpacity": 0.9}
_SELECTED_STYLE: Final = {"weight": 3.5, "color": "#1f1f1f", "dashArray": None}
_LEGEND_BOX_STYLE: Final = (
    "background:rgba(255,255,255,0.92);padding:6px 8px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.3);font:12px/1.35 sans-serif;color:#222"
)


class FillAreas(folium.GeoJson, ScriptCall):
    """GeoJson drawn by ``gridpulse.fillAreas`` from the packed payload of its features."""

    _template = ScriptCall._template
    scripts = ("runtime", "fill_areas")
    function = "fillAreas"

    def __init__(
        self,
        data: dict,
        *,
        layer_key: str,
        base_style: Mapping[str, Any],
        low_style: Mapping[str, Any] | None = None,
        selected_style: Mapping[str, Any] | None = None,
        highlight_style: Mapping[str, Any] | None = None,
        tooltip: Sequence[tuple[str, str]] = (),
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(data, name=name, **kwargs)
        self._name = "GeoJson"
        self.config = {
            "layerKey": layer_key,
            "count": len(data.get("features", ())),
            "baseStyle": dict(base_style),
            "lowStyle": dict(low_style or {}),
            "selectedStyle": dict(selected_style or {}),
            "highlightStyle": dict(highlight_style) if highlight_style else None,
            "tooltip": [list(row) for row in tooltip],
            # L.geoJson options (pane, interactive ...), named as Leaflet names them
            "options": {camelize(k): v for k, v in self.options.items()},
        }
        self.payload = feature_payload(data)

    def _get_self_bounds(self) -> list[list[float | None]]:
        bbox = self.data.get("bbox")
        if bbox:
            return [[bbox[1], bbox[0]], [bbox[3], bbox[2]]]
        return [[None, None], [None, None]]


def choropleth_layer(
    *,
    features: dict,
    name: str,
    tooltip: Sequence[tuple[str, str]] = (),
    style: Mapping[str, Any] | None = None,
    highlight: Mapping[str, Any] | None = None,
    show: bool = True,
) -> folium.FeatureGroup:
    """The filled areas, coloured by ``properties.fill``, for ``feature_group_to_add``.

    Parameters
    ----------
    features : dict
        From :func:`geo.maps.area_features`.
    name : str
        Layer name; also the key of ``window.gridpulse.layers`` (use e.g.
        ``f"{level}:{metric}"``).
    tooltip : sequence of (property, label)
        Tooltip rows (the label, then the property's value, both drawn as text), e.g.
        ``[("name", "社区"), ("value", "办结率"), ("fraction", "结案数 / 应结案数"),
        ("code", "编码")]``; rows whose property the features lack are left out. Empty: no
        tooltip.
    style, highlight : mapping, optional
        Leaflet path options overriding the defaults (white 0.8 px borders, fill opacity
        0.78; hover: 3 px dark border). Low-volume areas get a dashed grey border.
    show : bool
        Whether the layer starts visible.

    Returns
    -------
    folium.FeatureGroup
        Pass it (in a list) as ``st_folium(..., feature_group_to_add=...)``.
    """
    group = folium.FeatureGroup(name=name, show=show)
    first = features["features"][0]["properties"] if features.get("features") else {}
    FillAreas(
        features,
        layer_key=name,
        base_style={**_CHORO_STYLE, **(style or {})},
        low_style=_LOW_STYLE,
        selected_style=_SELECTED_STYLE,
        highlight_style={**_HIGHLIGHT_STYLE, **(highlight or {})},
        tooltip=[(k, label) for k, label in tooltip if k in first],
        name=name,
    ).add_to(group)
    return group


def outline_layer(
    *,
    features: dict,
    name: str,
    color: str = "#333333",
    weight: float = 2.2,
    opacity: float = 0.9,
    dash_array: str | None = None,
) -> folium.FeatureGroup:
    """Boundaries of a higher level over the choropleth: no fill, thicker, not interactive.

    Drawn in the :data:`geo.maps.OUTLINE_PANE` pane (created by ``base_map``, above the
    choropleth, ignores the mouse), so clicks and tooltips reach the areas below.
    """
    group = folium.FeatureGroup(name=name)
    style: dict[str, Any] = {
        "fill": False,
        "color": color,
        "weight": weight,
        "opacity": opacity,
    }
    if dash_array:
        style["dashArray"] = dash_array
    FillAreas(
        features,
        layer_key=name,
        base_style=style,
        name=name,
        interactive=False,
        pane=OUTLINE_PANE,
    ).add_to(group)
    return group


class _Legend(ScriptCall):
    """The colour legend as a Leaflet control that comes and goes with its feature group."""

    scripts = ("runtime", "legend")
    function = "legend"

    def __init__(self, scale: Scale, *, title: str, position: str):
        super().__init__()
        self._name = "Legend"
        self.config = {
            "title": title,
            "entries": [[e.color, e.label] for e in scale.entries],
            "position": position,
            "boxStyle": _LEGEND_BOX_STYLE,
        }


def legend_layer(
    *, scale: Scale, title: str = "", name: str = "legend", position: str = "bottomright"
) -> folium.FeatureGroup:
    """The legend of ``scale`` drawn inside the map, for ``feature_group_to_add``.

    A Leaflet control rather than a Streamlit element beside the map: it stays with the
    map on a projector and in a screenshot, and the page loads no HTML-markdown code for
    it. It is replaced with the other layers when the metric changes. The title and the
    labels are drawn as text.
    """
    group = folium.FeatureGroup(name=name, control=False)
    _Legend(scale, title=title, position=position).add_to(group)
    return group
