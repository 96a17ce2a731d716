"""The map's own panes: outlines above the areas (ignoring the mouse), cases above those."""

from __future__ import annotations

from typing import Final

import folium

__all__ = ["CASES_PANE", "OUTLINE_PANE", "add_panes"]

OUTLINE_PANE: Final = "gridpulseOutlines"
CASES_PANE: Final = "gridpulseCases"


def add_panes(m: folium.Map) -> None:
    """Create both panes on ``m`` (Leaflet's overlay pane, with the areas, is at 400)."""
    folium.map.CustomPane(OUTLINE_PANE, z_index=450, pointer_events=False).add_to(m)
    folium.map.CustomPane(CASES_PANE, z_index=460, pointer_events=True).add_to(m)
