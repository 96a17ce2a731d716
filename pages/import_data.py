"""数据导入 Import: choose what (cases, boundaries or a reference table), download its template,
upload, preview, map columns (save a mapping file), dry run, confirm, report.

Thin: every check and every write is ``data_layer.ingest`` (the CLI runs the same code), the
widgets are ``ui.import_view``. With the live database as the source
(``GRIDPULSE_DATABASE_URL``) the import goes there, as ``import --db`` does.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from data_layer import settings
from data_layer.ingest import Mapping
from data_layer.ingest.preview import preview
from data_layer.ingest.table_specs import SPECS, fields_of, missing_of
from data_layer.storage.source import DataError
from ui import audit, signin
from ui.errors import show_error
from ui.i18n import t
from ui.import_view import (
    mapping_editor,
    progress_callback,
    result_lines,
    show_result,
    template_download,
)

log = logging.getLogger("gridpulse.import")  # masked (ui installs the log masking)
CRS_CHOICES = ["", "wgs84", "gcj02", "bd09", "cgcs2000", "EPSG:4547", "EPSG:4548", "EPSG:3857"]
CASE_TYPES = ["csv", "txt", "xlsx", "json"]
BOUNDARY_TYPES = ["geojson", "json", "zip", "gpkg"]
TABLE_TYPES = ["csv", "txt", "xlsx"]
KINDS = ["cases", "boundaries", *SPECS]
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


def _choices() -> tuple[str, str | None, str, bool]:
    """What to import (cases, boundaries or a table), the boundary level, the source CRS and
    whether the boundary file is a re-division (--replace)."""
    kind = st.radio(
        t("import.kind"),
        KINDS,
        format_func=lambda k: t(f"import.kind.{k}"),
        horizontal=True,
        key="import_kind",
    )
    if kind in SPECS:
        st.caption(t(f"import.table.{kind}"))
        template_download(kind)
        return kind, None, "", False
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
    """The file to import and a saved mapping file (boundaries: its [boundary_columns])."""
    types = {"cases": CASE_TYPES, "boundaries": BOUNDARY_TYPES}.get(kind, TABLE_TYPES)
    upload = st.file_uploader(
        t("import.upload"),
        type=types,
        help=t("import.upload.help"),
        key=f"import_upload_{kind}",
        max_upload_size=settings.upload_max_mb(),
    )
    mapping_upload = st.file_uploader(
        t("import.mapping.upload"), type=["toml"], key=f"import_mapping_upload_{kind}"
    )
    return upload, mapping_upload


def _preview(kind: str, path: Path, mapping: Mapping) -> Mapping:
    """What was detected, the first rows, the column mapping (editable, saveable)."""
    info = preview(path, mapping, rows=PREVIEW_ROWS, table=kind)
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
    mapping = mapping_editor(info, mapping, fields=fields_of(kind), key=kind)
    missing = missing_of(kind, info["headers"], mapping)
    if missing:
        st.warning(t("import.map.missing", fields="；".join(missing)))
    st.download_button(
        t("import.map.save"),
        mapping.to_toml().encode("utf-8"),
        file_name="mapping.toml" if kind == "cases" else f"mapping-{kind}.toml",
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
    bar, progress = progress_callback()
    url = settings.database_url()  # the live source: the import goes to the database
    if url:
        from data_layer.ingest.database import import_into_database as run_import  # psycopg
    else:
        from data_layer.ingest import run_import
    try:
        results = run_import(
            url or settings.data_dir(),
            cases=path if kind == "cases" else None,
            boundaries=path if kind == "boundaries" else None,
            level=level,
            table=kind if kind in SPECS else None,
            file=path if kind in SPECS else None,
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
    ended = not dry and signin.demo_ended_by_import()  # this import ended the demo accounts
    show_result(results, dry_run=dry, last_run=ended)
    if ended:
        signin.demo_ended_notice(result_lines(results))


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
                Mapping.from_toml(
                    mapping_upload.getvalue().decode("utf-8"),
                    fields=None if kind == "boundaries" else fields_of(kind),
                )
                if mapping_upload
                else Mapping()
            )
            if kind != "boundaries":
                mapping = _preview(kind, path, mapping)
        except DataError as exc:
            show_error(t("import.error"), reason=exc)
            return
        _run(kind, path, level=level, mapping=mapping, crs=crs, replace=replace)


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
