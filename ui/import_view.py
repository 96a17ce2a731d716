"""The 数据导入 page's widgets: progress, the column mapping, the result and report, the
template downloads. The checks and writes are ``data_layer.ingest``; the page lays these out.
"""

from __future__ import annotations

import time

import streamlit as st

from data_layer.domain.schema import SOURCES
from data_layer.ingest import Mapping
from data_layer.ingest.report import by_reason, lines_of, localise, report_csv_bytes
from data_layer.ingest.table_specs import SPECS
from data_layer.ingest.template import XLSX_MIME, template_bytes
from ui import audit, state
from ui.i18n import code_label, lang, one_language, t
from ui.plain import plain


def progress_callback():
    """A progress bar and the ``Progress`` callback that moves it."""
    bar = st.progress(0.0, text=t("import.progress", rows=0, rate=0))
    started = time.monotonic()

    def update(rows: int, fraction: float | None, stage: str) -> None:
        rate = rows / max(time.monotonic() - started, 1e-6)
        bar.progress(
            min(max(fraction or 0.0, 0.0), 1.0),
            text=t("import.progress", rows=f"{rows:,}", rate=f"{rate:,.0f}"),
        )

    return bar, update


def mapping_editor(info: dict, base: Mapping, *, fields: dict[str, str], key: str) -> Mapping:
    """One select box per column of the file, prefilled with what was recognised; ``fields``:
    field → '中文 / English' of what is imported (cases: with the default source)."""
    st.subheader(t("import.map"))
    st.caption(t("import.map.help"))
    by_header = {header: field for field, header in info["resolved"].items()}
    options = ["", *fields]
    columns: dict[str, str] = {}
    cols = st.columns(3)
    for i, header in enumerate(info["headers"]):
        with cols[i % 3]:
            columns[header] = st.selectbox(
                plain(header),  # the file's own header: data, never Markdown
                options,
                index=options.index(by_header.get(header, "")),
                # the field's name in the UI language, then its code (the mapping file's)
                format_func=lambda f: (
                    t("import.map.none") if not f else f"{one_language(fields[f])} · {f}"
                ),
                key=f"import_map_{key}_{header}",
            )
    if key != "cases":
        return Mapping(
            columns=columns,
            values=base.values,
            options=dict(base.options),
            date_formats=base.date_formats,
        )
    default_source = st.selectbox(
        t("import.default_source"),
        ["", *SOURCES],
        format_func=lambda s: t("import.default_source.none") if not s else code_label("source", s),
        key="import_default_source",
    )
    options_out = dict(base.options)
    if default_source:
        options_out["default_source"] = default_source
    return Mapping(
        columns=columns, values=base.values, options=options_out, date_formats=base.date_formats
    )


def result_lines(results) -> list[str]:
    """One line per result: what was imported (小区, 边界 · 网格), read = imported + rejected."""
    lines = []
    for r in results:
        kind, _, level = r.kind.partition(":")
        what = t(f"import.kind.{kind}") + (f" · {t(f'import.level.{level}')}" if level else "")
        counts = {
            "read": f"{r.read:,}",
            "imported": f"{r.imported:,}",
            "rejected": f"{r.rejected:,}",
        }
        lines.append(f"{what}：{t('import.reconcile', **counts)}")
    return lines


def show_result(results, *, dry_run: bool, last_run: bool = False) -> None:
    """Counts, the reconciliation, notes, the problems by reason, the rejected rows and the
    warnings apart, and the report CSV. ``last_run``: the session ends on its next run (the
    import ended the demo account), so downloading the report must not rerun the page."""
    st.subheader(t("import.result.dry") if dry_run else t("import.result.done"))
    for r in results:
        a, b, c, d, e = st.columns(5)
        a.metric(t("import.read"), f"{r.read:,}")
        b.metric(t("import.imported"), f"{r.imported:,}")
        c.metric(t("import.rejected"), f"{r.rejected:,}")
        d.metric(t("import.updated"), f"{r.updated:,}")
        e.metric(t("import.warned"), f"{r.warned:,}")
        counts = {
            "read": f"{r.read:,}",
            "imported": f"{r.imported:,}",
            "rejected": f"{r.rejected:,}",
        }
        if r.reconciled:
            st.success(t("import.reconcile", **counts))
        else:
            st.error(t("import.reconcile.bad", **counts))
        for note in r.notes:
            st.info(plain(note))
        if not r.report.is_empty():
            shown = localise(r.report, lang=lang())  # labels in the UI language, codes kept
            st.markdown(f"**{t('import.reasons')}**")
            st.dataframe(
                by_reason(shown),
                hide_index=True,
                column_order=["severity", "reason", "rows"],
                column_config={
                    "severity": t("import.col.severity"),
                    "reason": t("import.col.reason"),
                    "rows": t("import.col.rows"),
                },
            )
            for severity, title in (("rejected", "import.rows"), ("warning", "import.warnings")):
                # rejected rows, then the imported ones listed
                lines = lines_of(shown, severity)
                if lines.is_empty():
                    continue
                st.markdown(f"**{t(title)}**")
                st.dataframe(
                    lines.head(1000),
                    hide_index=True,
                    column_order=["row", "column", "value", "reason", "detail"],
                    column_config={
                        "row": t("import.col.row"),
                        "column": t("import.map.column"),
                        "value": t("import.col.value"),
                        "reason": t("import.col.reason"),
                        "detail": t("import.col.message"),
                    },
                )
            name = f"import-report-{r.kind.replace(':', '-')}.csv"
            st.download_button(
                t("import.report.download"),
                audit.recorded(
                    report_csv_bytes(r.report, lang=lang()),
                    action="download",
                    target=name,
                    flt=None,
                ),
                file_name=name,
                mime="text/csv",
                key=f"import_report_{r.kind}_{dry_run}",
                on_click="ignore" if last_run else "rerun",
            )
    if not dry_run and not any(r.imported for r in results):
        st.warning(t("import.nothing"))


def template_download(table: str) -> None:
    """The .xlsx template of ``table``: headers, one example row (a grid, community and team
    of the current data) and the 说明 sheet."""
    spec = SPECS[table]
    name = f"gridpulse-template-{table}.xlsx"
    tables = state.dataset().tables  # cached; the bytes are made when the button is pressed
    st.download_button(
        t("import.template.download", table=t(f"import.kind.{table}")),
        audit.recorded(
            lambda: template_bytes(table, tables=tables),
            action="download",
            target=name,
            flt=None,
        ),
        file_name=name,
        mime=XLSX_MIME,
        help=t("import.template.help"),
        key=f"import_template_{spec.table}",
    )
