"""Colours: the palettes, and a classed colour scale that also is the map's legend.

A :class:`Scale` is *given* its classes (breaks, colours, labels): which classes a metric
gets is decided by the caller (for GridPulse: data_layer/queries/map_legend.py). Here a
scale only colours values and lists its legend rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = [
    "BLUES_5",
    "GNYLRD_5",
    "GREENS_5",
    "LOW_VOLUME_COLOR",
    "NO_VALUE_COLOR",
    "RDYLGN_5",
    "REDS_4",
    "REDS_ZERO",
    "YLORRD_5",
    "LegendEntry",
    "Scale",
]

# ColorBrewer palettes (colorbrewer2.org, Cynthia Brewer, Apache-2.0 licensed colours)
RDYLGN_5: Final = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641")
GNYLRD_5: Final = tuple(reversed(RDYLGN_5))
REDS_4: Final = ("#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
REDS_ZERO: Final = "#fff5f0"
BLUES_5: Final = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
GREENS_5: Final = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")
YLORRD_5: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_VALUE_COLOR: Final = "#eeeeee"
LOW_VOLUME_COLOR: Final = "#bdbdbd"


@dataclass(frozen=True)
class LegendEntry:
    color: str
    label: str


@dataclass(frozen=True)
class Scale:
    """A classed colour scale.

    Class ``i`` holds values ``breaks[i-1] <= v < breaks[i]`` (class 0 everything below
    ``breaks[0]``, the last class everything at or above ``breaks[-1]``); ``colors`` and
    ``labels`` have one entry per class. ``method`` names how the breaks were chosen
    (e.g. ``"bands"`` or ``"quantiles"``), for the reader. Values with no value get
    ``no_value``; values flagged low (when ``low_volume`` is set) get its grey.
    """

    metric: str
    method: str
    breaks: tuple[float, ...]
    colors: tuple[str, ...]
    labels: tuple[str, ...]
    no_value: LegendEntry
    low_volume: LegendEntry | None = None

    @property
    def entries(self) -> tuple[LegendEntry, ...]:
        """Legend rows, lowest class first, then low volume (if used) and no value."""
        rows = [LegendEntry(c, lab) for c, lab in zip(self.colors, self.labels, strict=True)]
        if self.low_volume is not None:
            rows.append(self.low_volume)
        rows.append(self.no_value)
        return tuple(rows)

    def color(self, value: float | None, *, low: bool = False) -> str:
        """Fill colour of one value."""
        return self.colors_for([value], [low])[0]

    def classes(self, values: Iterable[float | None]) -> np.ndarray:
        """Class index of each value; -1 for no value."""
        arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
        idx = np.searchsorted(np.asarray(self.breaks, dtype=np.float64), arr, side="right")
        return np.where(np.isnan(arr), -1, idx)

    def colors_for(
        self, values: Iterable[float | None], low: Iterable[bool] | None = None
    ) -> list[str]:
        """Fill colour of each value: class colour, low-volume grey or no-value grey."""
        idx = self.classes(values)
        lows = np.zeros(len(idx), dtype=bool) if low is None else np.asarray(list(low), dtype=bool)
        palette = np.array([*self.colors, self.no_value.color], dtype=object)
        out = palette[np.where(idx < 0, len(self.colors), idx)]
        if self.low_volume is not None:
            out = np.where(lows & (idx >= 0), self.low_volume.color, out)
        return out.tolist()
