"""What the map shows of a kpis frame: one display row per area, and the map's labels.

The map builders (geo/maps) are *given* everything they show; this module computes it from
the figures, once for the live map (ui/map_view.py, pages/coverage.py) and the briefing's
static map (documents/static_map.py). The colour classes are in map_legend.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from data_layer.domain import metrics
from data_layer.domain.formatting import format_fraction, format_value
from data_layer.domain.labels import lookup
from geo.maps import Scale

__all__ = ["area_rows", "low_volume_mask", "map_text", "tooltip_rows"]

_TOOLTIP_KEYS = ("name", "value", "fraction", "code")


def map_text(key: str, lang: str) -> str:
    """Map labels from the one string table (assets/i18n/map.toml, section [maptext])."""
    return lookup("maptext", key, language=lang)


def low_volume_mask(values: pl.DataFrame, metric: str) -> np.ndarray:
    """Per row of the kpis frame ``values``: is ``metric`` low volume there?"""
    m = metrics.METRICS[metric]
    if not metrics.flags_low_volume(metric) or m.denominator not in values.columns:
        return np.zeros(values.height, dtype=bool)
    den = values[m.denominator].to_list()
    return np.array([metrics.is_low_volume(d) for d in den], dtype=bool)


def area_rows(*, values: pl.DataFrame, metric: str, scale: Scale, lang: str = "zh") -> pl.DataFrame:
    """The ``areas`` of :func:`geo.maps.area_features` for ``metric`` of a kpis frame.

    Parameters
    ----------
    values : polars.DataFrame
        :func:`data_layer.queries.figures.kpis` by a level: ``code``, ``name``, the metric
        and its numerator/denominator columns.
    metric : str
        Key of :data:`data_layer.domain.metrics.METRICS`.
    scale : geo.maps.Scale
        The colour scale (:func:`data_layer.queries.map_legend.color_scale`), the one the
        legend shows.
    lang : {"zh", "en"}
        Language of the low-volume note.

    Returns
    -------
    polars.DataFrame
        ``code``, ``name``, ``value`` (:func:`formatting.format_value`, with the low-volume
        note appended when low), ``fill`` (hex colour), and for rates and ratios whose
        columns are there ``fraction`` (``"70,897 / 70,970"``); ``low`` for metrics that
        flag low volume.
    """
    m = metrics.METRICS[metric]
    cols = ["code", "name", metric]
    has_fraction = m.is_rate and m.numerator in values.columns and m.denominator in values.columns
    if has_fraction:
        cols += [m.numerator, m.denominator]
    rows = values.select(cols).rows()
    low = low_volume_mask(values, metric)
    data: dict[str, list] = {
        "code": [r[0] for r in rows],
        "name": [r[1] for r in rows],
        "value": _value_texts(metric, [r[2] for r in rows], low, lang=lang),
        "fill": scale.colors_for((r[2] for r in rows), low),
    }
    if has_fraction:
        data["fraction"] = [format_fraction(r[3], r[4]) for r in rows]
    if metrics.flags_low_volume(metric):
        data["low"] = low.tolist()
    schema = {k: pl.Boolean if k == "low" else pl.String for k in data}
    return pl.DataFrame(data, schema=schema)


def _value_texts(metric: str, values: Sequence, low: np.ndarray, *, lang: str) -> list[str]:
    """Display text of each value; a low-volume one (when the metric flags it) noted."""
    flag_low = metrics.flags_low_volume(metric)
    label = map_text("low_volume", lang)
    note = f"（{label}）" if lang == "zh" else f" ({label})"
    texts = []
    for value, is_low in zip(values, low.tolist(), strict=True):
        if isinstance(value, float) and math.isnan(value):
            value = None
        text = format_value(metric, value)
        texts.append(text + note if (flag_low and is_low and value is not None) else text)
    return texts


def tooltip_rows(lang: str) -> list[tuple[str, str]]:
    """Generic tooltip rows (name, value, fraction, code) in ``lang`` for ``choropleth_layer``
    (it leaves out the rows whose property the features lack)."""
    return [(k, map_text(k, lang)) for k in _TOOLTIP_KEYS]
