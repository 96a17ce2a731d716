"""数据导入 Import: upload, preview, map columns (save a mapping file), dry run, confirm, report.

Thin: every check and every write is ``data_layer.ingest`` (the CLI runs the same code).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from data_layer import settings
from data_layer.domain.schema import SOURCES
from data_layer.ingest import Mapping, run_import
from data_layer.ingest.mapping import CASE_FIELDS, missing_required, resolve_columns
from data_layer.ingest.preview import preview
from data_layer.ingest.report import report_csv_bytes
from data_layer.storage.source import DataError
from ui import audit, signin
from ui.errors import show_error
from ui.i18n import code_label, t
from ui.plain import plain

log = logging.getLogger("gridpulse.import")  # masked (ui installs the log masking)
CRS_CHOICES = ["", "wgs84", "gcj02", "bd09", "cgcs2000", "EPSG:4547", "EPSG:4548", "EPSG:3857"]
CASE_TYPES = ["csv", "txt", "xlsx", "json"]
BOUNDARY_TYPES = ["geojson", "json", "zip", "gpkg"]
PREVIEW_ROWS = 20
URL_KEYS: tuple[str, ...] = ()  # no controls of its own in the URL


@contextmanager
def _upload_on_disk(upload) -> Iterator[Path]:
    """The upload as a file in a private temporary folder, for this script run only.

    Raw case files hold names and phone numbers: the folder is deleted when the run ends —
    after a preview, a dry run, an import or an error alike — and written again by the next.
    """
    folder = Path(tempfile.mkdtemp(prefix="gridpulse-upload-"))
    try:
        path = folder / _file_name(upload.name)
        path.write_bytes(upload.getbuffer())
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _file_name(name: str) -> str:
    """The upload's own name reduced to letters, digits, ``-_.``: never a path or a URL."""
    return re.sub(r"[^\w.-]", "_", Path(name).name).lstrip(".") or "upload"


def _too_large(upload) -> bool:
    """The page's own check of ``GRIDPULSE_UPLOAD_MAX_MB`` (Streamlit's server limit is set from
    it by ``make run``; this holds however the app was started)."""
    limit = settings.upload_max_mb()
    if upload.size <= limit * settings.MB:
        return False
    st.error(t("import.too_large", size=f"{upload.size / settings.MB:,.1f}", limit=limit))
    return True


def _progress_callback():
    bar = st.progress(0.0, text=t("import.progress", rows=0, rate=0))
    started = time.monotonic()

    def update(rows: int, fraction: float | None, stage: str) -> None:
        rate = rows / max(time.monotonic() - started, 1e-6)
        bar.progress(
            min(max(fraction or 0.0, 0.0), 1.0),
            text=t("import.progress", rows=f"{rows:,}", rate=f"{rate:,.0f}"),
        )

    return bar, update


def _mapping_editor(info: dict, base: Mapping) -> Mapping:
    """One select box per column of the file, prefilled with what was recognised."""
    st.subheader(t("import.map"))
    st.caption(t("import.map.help"))
    by_header = {header: field for field, header in info["resolved"].items()}
    options = ["", *CASE_FIELDS]
    columns: dict[str, str] = {}
    cols = st.columns(3)
    for i, header in enumerate(info["headers"]):
        with cols[i % 3]:
            columns[header] = st.selectbox(
                plain(header),  # the file's own header: data, never Markdown
                options,
                index=options.index(by_header.get(header, "")),
                format_func=lambda f: t("import.map.none") if not f else f"{f} · {CASE_FIELDS[f]}",
                key=f"import_map_{header}",
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
    return Mapping(columns=columns, values=base.values, options=options_out)


def _show_result(results, *, dry_run: bool) -> None:
    st.subheader(t("import.result.dry") if dry_run else t("import.result.done"))
    for r in results:
        a, b, c, d = st.columns(4)
        a.metric(t("import.read"), f"{r.read:,}")
        b.metric(t("import.imported"), f"{r.imported:,}")
        c.metric(t("import.rejected"), f"{r.rejected:,}")
        d.metric(t("import.updated"), f"{r.updated:,}")
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
            st.markdown(f"**{t('import.reasons')}**")
            st.dataframe(
                r.reasons(),
                hide_index=True,
                column_config={
                    "severity": t("import.col.severity"),
                    "reason": t("import.col.reason"),
                    "rows": t("import.col.rows"),
                    "message": t("import.col.message"),
                },
            )
            st.markdown(f"**{t('import.rows')}**")
            st.dataframe(
                r.report.head(1000),
                hide_index=True,
                column_order=["row", "column", "value", "severity", "reason", "message"],
                column_config={
                    "row": t("import.col.row"),
                    "column": t("import.map.column"),
                    "value": t("import.col.value"),
                    "severity": t("import.col.severity"),
                    "reason": t("import.col.reason"),
                    "message": t("import.col.message"),
                },
            )
            name = f"import-report-{r.kind.replace(':', '-')}.csv"
            st.download_button(
                t("import.report.download"),
                audit.recorded(
                    report_csv_bytes(r.report), action="download", target=name, flt=None
                ),
                file_name=name,
                mime="text/csv",
                key=f"import_report_{r.kind}_{dry_run}",
            )
    if not dry_run and not any(r.imported for r in results):
        st.warning(t("import.nothing"))


def _choices() -> tuple[str, str | None, str, bool]:
    """What to import (cases or boundaries), the boundary level, the source CRS and whether
    the boundary file is a re-division (--replace)."""
    kind = st.radio(
        t("import.kind"),
        ["cases", "boundaries"],
        format_func=lambda k: t(f"import.kind.{k}"),
        horizontal=True,
        key="import_kind",
    )
    level, replace = None, False
    left, right = st.columns(2)
    if kind == "boundaries":
        level = left.selectbox(
            t("import.level"),
            ["grid", "community", "street"],
            format_func=lambda v: t(f"import.level.{v}"),
            key="import_level",
        )
        st.caption(t("import.boundaries.note"))
        replace = st.checkbox(
            t("import.replace"), help=t("import.replace.help"), key="import_replace"
        )
    crs = right.selectbox(
        t("import.crs"),
        CRS_CHOICES,
        format_func=lambda c: t("import.crs.auto") if not c else c,
        help=t("import.crs.help"),
        key="import_crs",
    )
    return kind, level, crs, replace


def _uploads(kind: str):
    """The file to import and (for cases) a saved mapping file."""
    upload = st.file_uploader(
        t("import.upload"),
        type=CASE_TYPES if kind == "cases" else BOUNDARY_TYPES,
        help=t("import.upload.help"),
        key=f"import_upload_{kind}",
        max_upload_size=settings.upload_max_mb(),
    )
    mapping_upload = st.file_uploader(
        t("import.mapping.upload"), type=["toml"], key="import_mapping_upload"
    )  # boundaries: its [boundary_columns]
    return upload, mapping_upload


def _case_preview(path: Path, mapping: Mapping) -> Mapping:
    """What was detected, the first rows, the column mapping (editable, saveable)."""
    info = preview(path, mapping, rows=PREVIEW_ROWS)
    st.caption(
        t(
            "import.detected",
            format=info["format"],
            encoding=info["encoding"] or "—",
            header_row=info["header_row"],
        )
    )
    st.markdown(f"**{t('import.preview', n=PREVIEW_ROWS)}**")
    st.dataframe(info["sample"], hide_index=True)
    mapping = _mapping_editor(info, mapping)
    missing = missing_required(resolve_columns(info["headers"], mapping))
    if missing:
        st.warning(t("import.map.missing", fields="；".join(missing)))
    st.download_button(
        t("import.map.save"),
        mapping.to_toml().encode("utf-8"),
        file_name="mapping.toml",
        mime="application/toml",
    )
    return mapping


def _run(
    kind: str, path: Path, *, level: str | None, mapping: Mapping, crs: str, replace: bool = False
) -> None:
    """Dry run or import on a button press, with progress and the result."""
    run_dry, run_real = st.columns(2)
    dry = run_dry.button(t("import.dry_run"), type="secondary", key="import_dry")
    real = run_real.button(
        t("import.confirm"), type="primary", help=t("import.confirm.help"), key="import_go"
    )
    if not (dry or real):
        return
    bar, progress = _progress_callback()
    try:
        results = run_import(
            settings.data_dir(),
            cases=path if kind == "cases" else None,
            boundaries=path if kind == "boundaries" else None,
            level=level,
            mapping=mapping,
            crs=crs or None,
            dry_run=dry,
            replace=replace,
            progress=progress,
        )
    except DataError as exc:
        bar.empty()
        _audit(kind, level, dry_run=dry, result="refused")
        show_error(t("import.error"), reason=exc)
        return
    except Exception:  # never a traceback on screen; the data directory is unchanged
        bar.empty()
        log.exception("import failed")
        _audit(kind, level, dry_run=dry, result="failed")
        st.error(t("import.error.unexpected"))
        return
    _audit(
        kind,
        level,
        dry_run=dry,
        result=f"imported {sum(r.imported for r in results)} of {sum(r.read for r in results)}",
    )
    rows = sum(r.read for r in results)
    seconds = sum(r.seconds for r in results)
    bar.progress(
        1.0,
        text=t(
            "import.progress", rows=f"{rows:,}", rate=f"{rows / seconds:,.0f}" if seconds else "—"
        ),
    )
    _show_result(results, dry_run=dry)


def _audit(kind: str, level: str | None, *, dry_run: bool, result: str) -> None:
    """An import (not a dry run) in the audit log: what kind, and the row counts — never the
    file's name, which may carry a person's name."""
    if not dry_run:
        audit.record("import", target=f"{kind}:{level}" if level else kind, result=result)


def body() -> None:
    signin.require(signin.may_import)
    st.title(t("import.title"))
    st.caption(t("import.intro"))
    kind, level, crs, replace = _choices()
    upload, mapping_upload = _uploads(kind)
    if upload is None:
        st.info(t("import.need_file"))
        return
    if _too_large(upload):
        return
    with _upload_on_disk(upload) as path:
        try:
            mapping = (
                Mapping.from_toml(mapping_upload.getvalue().decode("utf-8"))
                if mapping_upload
                else Mapping()
            )
            if kind == "cases":
                mapping = _case_preview(path, mapping)
        except DataError as exc:
            show_error(t("import.error"), reason=exc)
            return
        _run(kind, path, level=level, mapping=mapping, crs=crs, replace=replace)


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
