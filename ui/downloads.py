"""Tables with their downloads: every table the analytics pages show can be taken away.

``table`` shows a collected frame as a sortable table (Chinese headers, rates as
percentages, codes as labels, "—" for no value) and puts a CSV and an Excel button under
it. The files come from ``documents.exports``: stable column keys (plus a ``*_label``
column for each code column), personal data masked, file name carrying the filter and the
period. The bytes are made only when a button is pressed (deferred download), and each
press is audited (``ui.audit.recorded``). A role that may not export (a wall display) gets
no buttons; a table that shows reporter names or phones unmasked is audited as a view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import polars as pl
import pyarrow as pa
import streamlit as st

from data_layer.domain.filters import Filter, Window
from data_layer.domain.formatting import DASH, number_format
from data_layer.domain.metrics import DETAIL_METRICS, METRICS
from documents import exports
from ui import audit, state
from ui.cached import derived
from ui.i18n import code_label, lang, metric_formula, metric_label, t
from ui.widgets import number_column


@dataclass(frozen=True)
class Col:
    """A shown column: frame column ``key``; header ``label`` (default: the metric label or
    ``col.<key>``); ``codes`` = kind of code to show as its label (``category``,
    ``grid_kind``…); ``fmt`` = a function value → text, or a format string."""

    key: str
    label: str | None = None
    codes: str | None = None
    fmt: Callable[[object], str] | str | None = None

    def header(self) -> str:
        if self.label:
            return self.label
        if self.key in METRICS or self.key in DETAIL_METRICS:
            return metric_label(self.key)
        return t(f"col.{self.key}")


def _code_labels(kind: str, codes: list) -> list[str]:
    return [DASH if code is None else code_label(kind, code) for code in codes]


def _display(frame: pl.DataFrame, cols: Sequence[Col]) -> tuple[pd.DataFrame, dict]:
    """The shown table and its column config: numbers stay numbers (sortable) and are
    formatted by the browser (``widgets.number_column``), no pandas Styler."""
    data: dict[str, list] = {}
    config: dict[str, object] = {}
    for col in cols:
        header = col.header()
        values = frame[col.key].to_list()
        metric = col.key in METRICS or col.key in DETAIL_METRICS
        help_text = metric_formula(col.key) if metric else None
        if col.codes:
            values = _code_labels(col.codes, values)
        elif callable(col.fmt):
            values = [col.fmt(v) for v in values]
        elif frame.schema[col.key] in (pl.Datetime, pl.Datetime("us")) or isinstance(
            frame.schema[col.key], pl.Datetime
        ):
            values = [v.strftime("%Y-%m-%d %H:%M") if v is not None else None for v in values]
        elif frame.schema[col.key] == pl.Boolean:
            values = [t("col.low_volume") if v else "" for v in values]
        else:
            fmt = col.fmt if isinstance(col.fmt, str) else number_format(col.key)
            if fmt:
                column, config[header] = number_column(fmt, help=help_text)
                values = column.scaled(values)
        data[header] = values
        if metric and header not in config:
            config[header] = st.column_config.Column(help=help_text)
    return pd.DataFrame(data), config


def iso_day(day: object) -> str:
    """A date as ``2025-03-01``, "—" for none (e.g. a trend bucket)."""
    return day.isoformat() if day else DASH


def _stable(cols: Sequence[Col]) -> bool:
    """Whether ``cols`` are the same from run to run, so what is made of them can be kept: a
    ``fmt`` function must come from an imported module (a page script runs anew every run,
    so its functions, like lambdas and functions defined in functions, are new objects)."""
    return not any(
        callable(c.fmt)
        and (
            getattr(c.fmt, "__module__", "__main__") == "__main__"
            or "<" in getattr(c.fmt, "__qualname__", "<")
        )
        for c in cols
    )


def _shown(frame: pl.DataFrame, cols: Sequence[Col]) -> tuple[pa.Table | pd.DataFrame, dict]:
    """The table as ``st.dataframe`` sends it — the Arrow table Streamlit itself would make
    of the pandas frame (``pa.Table.from_pandas``, the same bytes) — and its column config,
    kept with the frame (``ui.cached.derived``) so a warm view does not format and convert
    every cell again (issue #16)."""

    def build() -> tuple[pa.Table | pd.DataFrame, dict]:
        shown, config = _display(frame, cols)
        try:
            return pa.Table.from_pandas(shown), config
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            return shown, config  # Streamlit's own conversion fixes mixed columns

    if not _stable(cols):
        return build()
    return derived(frame, ("table", tuple(cols), lang()), build)


def export_frame(frame: pl.DataFrame, cols: Sequence[Col]) -> pl.DataFrame:
    """The frame as downloaded: every column under its key, plus ``<key>_label`` per code
    column (the label in the current language)."""
    codes = tuple((c.key, c.codes) for c in cols if c.codes)
    if not codes:
        return frame

    def build() -> pl.DataFrame:
        labels = [
            pl.Series(f"{key}_label", _code_labels(kind, frame[key].to_list()))
            for key, kind in codes
        ]
        return frame.with_columns(labels)

    return derived(frame, ("export", codes, lang()), build)


def download_buttons(
    frame: pl.DataFrame, *, name: str, flt: Filter, window: Window | None, key: str
) -> None:
    """CSV and Excel buttons for ``frame`` (masked unless the user has the personal-data
    right; bytes made on click; none for a role that may not export)."""
    scope = state.scope()
    if not scope.may_export:
        return
    allowed = scope.personal_data
    csv_name = exports.file_name(name, flt, window, ext="csv")
    xlsx_name = exports.file_name(name, flt, window, ext="xlsx")
    row = st.container(horizontal=True, gap="small")
    with row:
        st.download_button(
            t("download.csv"),
            data=audit.recorded(
                lambda: exports.csv_bytes(frame, allowed=allowed),
                action="download",
                target=csv_name,
                flt=flt,
            ),
            file_name=csv_name,
            mime=exports.CSV_MIME,
            key=f"{key}_csv",
            on_click="ignore",
            icon=":material/download:",
            help=t("download.help"),
        )
        st.download_button(
            t("download.xlsx"),
            data=audit.recorded(
                lambda: exports.xlsx_bytes(
                    frame, flt=flt, window=window, sheet=name, allowed=allowed
                ),
                action="download",
                target=xlsx_name,
                flt=flt,
            ),
            file_name=xlsx_name,
            mime=exports.XLSX_MIME,
            key=f"{key}_xlsx",
            on_click="ignore",
            icon=":material/table_view:",
            help=t("download.help"),
        )


def table(
    frame: pl.DataFrame,
    cols: Sequence[Col],
    *,
    key: str,
    name: str,
    flt: Filter,
    window: Window | None,
    height: int | str = "auto",
) -> None:
    """A sortable table of ``cols`` of ``frame`` and its CSV / Excel downloads."""
    if frame.height:
        audit.unmasked_view([c.key for c in cols], view=name, flt=flt)
    shown, config = _shown(frame, cols)
    st.dataframe(
        shown,
        hide_index=True,
        column_config=config,  # Streamlit copies it before changing anything
        key=key,
        width="stretch",
        height=height,
        placeholder=DASH,
    )
    download_buttons(export_frame(frame, cols), name=name, flt=flt, window=window, key=key)


def metric_downloads(
    frame: pl.DataFrame, *, group: str, name: str, flt: Filter, window: Window | None, key: str
) -> None:
    """Downloads of a ``widgets.metric_table``: code, name and every metric of ``group`` with
    its numerator and denominator."""
    wanted = ["level", "code", "name", "retired"]
    for metric in METRICS.values():
        if metric.group == group:
            wanted += [metric.key] + (
                [metric.numerator, metric.denominator] if metric.is_rate else []
            )
    columns = [c for c in dict.fromkeys(wanted) if c in frame.columns]
    download_buttons(frame.select(columns), name=name, flt=flt, window=window, key=key)
