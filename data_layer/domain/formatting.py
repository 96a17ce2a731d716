"""Display text of figures: values, rates, fractions and changes — one form for screen and briefing.

Every number the dashboard shows goes through here, so a KPI card, a table, the map and
the meeting briefing print the same figure the same way (DESIGN §2: a rate with its
numerator and denominator, "—" when there is no value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from data_layer.domain.labels import text
from data_layer.domain.metrics import DETAIL_METRICS, METRICS, metric_def

DASH = "—"
UNCHANGED = "±"  # leads a change that rounds to zero, which has no direction


def _missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def format_value(key: str, value: float | int | None) -> str:
    """Display text of a metric value: rates as percentages, "—" when there is no value."""
    if _missing(value):
        return DASH
    metric = metric_def(key)
    if metric.kind == "rate":
        return f"{value * 100:.{metric.decimals}f}%"
    if metric.kind == "count":
        return f"{int(value):,}"
    return f"{value:,.{metric.decimals}f}"


def format_fraction(numerator: float | int | None, denominator: float | int | None) -> str:
    """ "70,897 / 70,970" — the numerator and denominator behind a rate."""

    def num(v: float | int | None) -> str:
        if v is None:
            return DASH
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"

    return f"{num(numerator)} / {num(denominator)}"


def format_change(
    key: str, now: float | int | None, before: float | int | None, *, lang: str
) -> str | None:
    """Change against the previous period: ``+1.2 百分点`` for rates, ``+12`` for counts.

    None when either value is missing; a change that rounds to zero reads ``±0.0 百分点``.
    """
    if _missing(now) or _missing(before):
        return None
    metric = metric_def(key)
    diff = now - before
    if metric.kind == "rate":
        change = f"{diff * 100:+.1f} {text('kpi.pp', lang=lang)}"
    elif metric.kind == "count":
        change = f"{int(diff):+,}"
    else:
        change = f"{diff:+,.{metric.decimals}f}"
    number = change.lstrip("+-").split(" ")[0]
    return UNCHANGED + change.lstrip("+-") if number.strip("0.,") == "" else change


def is_unchanged(change: str) -> bool:
    """Whether a ``format_change`` text is a change that rounds to zero."""
    return change.startswith(UNCHANGED)


def number_format(key: str) -> str | None:
    """Format string of a metric in a sortable table (values stay numbers); None: not a metric."""
    if key not in METRICS and key not in DETAIL_METRICS:
        return None
    metric = metric_def(key)
    if metric.kind == "rate":
        return "{:.1%}"
    if metric.kind == "count":
        return "{:,.0f}"
    return f"{{:,.{metric.decimals}f}}"


@dataclass(frozen=True)
class ColumnFormat:
    """How a sortable table column shows a ``number_format``: the column keeps numbers
    (value × ``scale``) and the browser prints them with ``printf`` (sprintf-js, ``,`` for
    thousands separators), so the text is the same as ``number_format`` gives and sorting
    stays numeric, with no pandas Styler on the server."""

    printf: str
    scale: float = 1.0

    def scaled(self, values: list) -> list:
        """``values`` as the column holds them (missing values stay missing)."""
        if self.scale == 1.0:
            return values
        return [None if _missing(v) else v * self.scale for v in values]


_NUMBER_FORMAT = re.compile(r"\{:(,?)\.(\d+)([f%])\}")


def column_format(fmt: str) -> ColumnFormat:
    """The table-column form of a number format string (``number_format`` or a page's own):
    ``{:,.0f}`` → ``%,.0f``; ``{:.1%}`` → ``%.1f%%`` of the value × 100."""
    found = _NUMBER_FORMAT.fullmatch(fmt)
    if found is None:
        raise ValueError(f"not a number format of a table column: {fmt!r}")
    comma, decimals, kind = found.groups()
    if kind == "%":
        return ColumnFormat(f"%{comma}.{decimals}f%%", 100.0)
    return ColumnFormat(f"%{comma}.{decimals}f")
