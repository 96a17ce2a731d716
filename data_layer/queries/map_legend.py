"""The colour classes and legend of a metric on the map: a :class:`geo.maps.Scale`.

Fixed bands where the metric has a governance meaning (closure rates: < 90 %, 90-95 %,
95-98 %, 98-99 %, >= 99 %, red to green; coverage rates with 100 % as the top class;
rework rate green to red; community workers around the standard of 18), quantile classes
otherwise (5 classes of the values shown, low-volume areas left out; counts whose goal is 0
have 0 as a class of its own). Low-volume and no-value areas are grey. The map builders
(geo/maps) draw the scale they are given; the same scale colours the live map and the
briefing's static map.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import polars as pl

from data_layer import settings
from data_layer.domain import metrics
from data_layer.domain.formatting import format_value
from data_layer.queries.map_values import low_volume_mask, map_text
from geo.maps import LOW_VOLUME_COLOR, NO_VALUE_COLOR, LegendEntry, Scale
from geo.maps.colours import BLUES_5, GNYLRD_5, GREENS_5, RDYLGN_5, REDS_4, REDS_ZERO, YLORRD_5

__all__ = ["color_scale"]


@dataclass(frozen=True)
class _ScaleSpec:
    method: str  # "bands" (fixed breaks) | "quantiles" | "zero_quantiles" (0 is its own class)
    palette: tuple[str, ...]
    breaks: tuple[float, ...] = ()


# Fixed bands where the metric has a governance meaning; quantiles for volumes.
_SPECS: Final[Mapping[str, _ScaleSpec]] = {
    # closure: <90%, 90-95%, 95-98%, 98-99%, >=99% (published district figures run ~99.9%)
    "closure_rate": _ScaleSpec("bands", RDYLGN_5, (0.90, 0.95, 0.98, 0.99)),
    "on_time_rate": _ScaleSpec("bands", RDYLGN_5, (0.90, 0.95, 0.98, 0.99)),
    "satisfaction_rate": _ScaleSpec("bands", RDYLGN_5, (0.85, 0.90, 0.95, 0.98)),
    "response_rate": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 0.98)),
    # lower is better
    "rework_rate": _ScaleSpec("bands", GNYLRD_5, (0.01, 0.03, 0.05, 0.10)),
    # coverage: the standard is 100% ("一格一专职"), so 100% is its own top class
    "full_time_coverage": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 1.0)),
    "party_org_coverage": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 1.0)),
    "property_coverage": _ScaleSpec("bands", RDYLGN_5, (0.80, 0.90, 0.95, 1.0)),
    "size_standard_rate": _ScaleSpec("bands", RDYLGN_5, (0.60, 0.75, 0.90, 1.0)),
    "wish_fulfilment_rate": _ScaleSpec("bands", RDYLGN_5, (0.50, 0.70, 0.85, 0.95)),
    # standard >= 18 community workers per 10,000 residents
    "workers_per_10k": _ScaleSpec("bands", RDYLGN_5, (12.0, 15.0, 18.0, 24.0)),
    # counts where 0 is the goal: 0 is its own (near-white) class, then quantiles in reds
    "overdue_open": _ScaleSpec("zero_quantiles", REDS_4),
    "at_risk": _ScaleSpec("zero_quantiles", REDS_4),
    # durations: longer is worse
    "hours_to_close_median": _ScaleSpec("quantiles", YLORRD_5),
    "hours_to_close_p90": _ScaleSpec("quantiles", YLORRD_5),
    # volunteer volumes: more is better, but not judged red/green
    "volunteer_hours": _ScaleSpec("quantiles", GREENS_5),
    "volunteer_hours_per_1k": _ScaleSpec("quantiles", GREENS_5),
    "activities": _ScaleSpec("quantiles", GREENS_5),
    "party_members_reported": _ScaleSpec("quantiles", GREENS_5),
}
_DEFAULT_SPEC: Final = _ScaleSpec("quantiles", BLUES_5)  # neutral volumes (reported, per 1k ...)


def color_scale(
    *,
    metric: str,
    values: Any,
    low_volume: Iterable[bool] | None = None,
    lang: str = "zh",
) -> Scale:
    """Build the colour scale of ``metric`` for the values shown (see the module docstring).

    Parameters
    ----------
    metric : str
        A key of :data:`data_layer.domain.metrics.METRICS`.
    values : polars.DataFrame, polars.Series or sequence of numbers
        The kpis frame (then the low-volume mask comes from the metric's denominator
        column, see :func:`metrics.flags_low_volume`) or the plain values (None = no
        value).
    low_volume : iterable of bool, optional
        Low-volume mask when ``values`` is not a frame (or to override it).
    lang : {"zh", "en"}
        Language of the low-volume / no-value legend labels.
    """
    spec = _spec(metric)
    vals, low = _values_and_low(metric, values, low_volume)
    integer = metrics.METRICS[metric].kind == "count"
    if spec.method == "bands":
        breaks, colors = list(spec.breaks), tuple(spec.palette)
        labels = _band_labels(metric, breaks, integer=False)
    else:
        keep = ~np.isnan(vals)
        if len(low) == len(vals):
            keep &= ~low
        classify = _zero_quantiles if spec.method == "zero_quantiles" else _quantiles
        breaks, colors, labels = classify(metric, spec, vals[keep], integer=integer)
    return Scale(
        metric=metric,
        method=spec.method,
        breaks=tuple(float(b) for b in breaks),
        colors=tuple(colors),
        labels=tuple(labels),
        no_value=LegendEntry(NO_VALUE_COLOR, map_text("no_value", lang)),
        low_volume=_low_volume_entry(metric, lang),
    )


def _spec(metric: str) -> _ScaleSpec:
    if metric in _SPECS:
        return _SPECS[metric]
    m = metrics.METRICS[metric]
    if m.kind == "rate" and m.higher_is_better is not None:
        return _ScaleSpec("quantiles", RDYLGN_5 if m.higher_is_better else GNYLRD_5)
    return _DEFAULT_SPEC


def _zero_quantiles(
    metric: str, spec: _ScaleSpec, usable: np.ndarray, *, integer: bool
) -> tuple[list[float], tuple[str, ...], list[str]]:
    """0 a class of its own, then quantile classes of the positive values."""
    positive = usable[usable > 0]
    qb = _quantile_breaks(positive, len(spec.palette), integer=integer)
    lowest = float(positive.min()) if positive.size else 1.0
    if integer:
        lowest = max(1.0, math.ceil(lowest))
    breaks = [lowest, *[b for b in qb if b > lowest]] if positive.size else [1.0]
    colors = (REDS_ZERO, *_spread(spec.palette, len(breaks)))
    labels = ["0", *_band_labels(metric, breaks, integer=integer)[1:]]
    return breaks, colors, labels


def _quantiles(
    metric: str, spec: _ScaleSpec, usable: np.ndarray, *, integer: bool
) -> tuple[list[float], tuple[str, ...], list[str]]:
    """Quantile classes; one class (labelled with the first value) when all are alike."""
    breaks = _quantile_breaks(usable, len(spec.palette), integer=integer)
    colors = _spread(spec.palette, len(breaks) + 1)
    if breaks:
        labels = _band_labels(metric, breaks, integer=integer)
    else:
        only = usable[0] if usable.size else None
        labels = [format_value(metric, only) if only is not None else "—"]
    return breaks, colors, labels


def _low_volume_entry(metric: str, lang: str) -> LegendEntry | None:
    if not metrics.flags_low_volume(metric):
        return None
    label = map_text("low_volume", lang)
    limit = settings.min_denominator()
    return LegendEntry(
        LOW_VOLUME_COLOR, f"{label}（< {limit}）" if lang == "zh" else f"{label} (< {limit})"
    )


def _fmt_break(metric: str, x: float) -> str:
    m = metrics.METRICS[metric]
    if m.kind == "rate":
        pct = round(x * 100, 1)
        return f"{pct:g}%"
    if m.kind == "count":
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{round(x, 1):g}"


def _band_labels(metric: str, breaks: Sequence[float], *, integer: bool) -> list[str]:
    f = lambda x: _fmt_break(metric, x)  # noqa: E731
    if not breaks:
        return ["—"]
    labels = [f"< {f(breaks[0])}" if not integer else _int_range(None, breaks[0], metric)]
    for lo, hi in zip(breaks[:-1], breaks[1:], strict=True):
        labels.append(_int_range(lo, hi, metric) if integer else f"{f(lo)} – {f(hi)}")
    top = breaks[-1]
    if metrics.METRICS[metric].kind == "rate" and top >= 1.0:
        labels.append(f(top))  # "100%"
    else:
        labels.append(f"≥ {f(top)}")
    return labels


def _int_range(lo: float | None, hi: float, metric: str) -> str:
    f = lambda x: _fmt_break(metric, x)  # noqa: E731
    if lo is None:
        return f"< {f(hi)}"
    last = hi - 1
    return f(lo) if last <= lo else f"{f(lo)} – {f(last)}"


def _quantile_breaks(values: np.ndarray, k: int, *, integer: bool) -> list[float]:
    if values.size == 0:
        return []
    qs = np.quantile(values, np.linspace(0, 1, k + 1)[1:-1])
    if integer:
        qs = np.ceil(qs)
    lo = float(values.min())
    out: list[float] = []
    for q in qs:
        q = float(q)
        if q > lo and (not out or q > out[-1]):
            out.append(q)
    return out


def _spread(palette: Sequence[str], n: int) -> tuple[str, ...]:
    if n >= len(palette):
        return tuple(palette)
    if n <= 1:
        return (palette[len(palette) // 2],)
    idx = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return tuple(palette[i] for i in idx)


def _values_and_low(
    metric: str, values: Any, low_volume: Iterable[bool] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Metric values as float array (NaN = no value) and the low-volume mask."""
    if isinstance(values, pl.DataFrame):
        if metric not in values.columns:
            raise KeyError(f"values frame has no column {metric!r}")
        vals = values[metric].cast(pl.Float64).to_numpy()
        low = (
            low_volume_mask(values, metric)
            if low_volume is None
            else np.asarray(list(low_volume), dtype=bool)
        )
        return np.asarray(vals, dtype=np.float64), low
    if isinstance(values, pl.Series):
        vals = values.cast(pl.Float64).to_numpy()
    else:
        vals = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    low = (
        np.zeros(len(vals), dtype=bool)
        if low_volume is None
        else np.asarray(list(low_volume), dtype=bool)
    )
    return np.asarray(vals, dtype=np.float64), low
