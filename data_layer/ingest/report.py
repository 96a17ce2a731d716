"""The import report: every rejected row with row number, column, value and reason.

Reasons are stable codes with a bilingual message (below). Values of personal columns are
masked (``data_layer.domain.privacy``) and mobile and ID card numbers inside any value are
masked too, so the report — on screen, in the CSV and in logs — never carries unmasked personal
data. The CSV is written through ``data_layer.domain.spreadsheet``: a value from the file that
starts like a formula (``=HYPERLINK(…)``) is text in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_layer.domain import labels, spreadsheet
from data_layer.domain.privacy import mask_name_expr, mask_phone_expr, mask_text_expr
from data_layer.ingest.readers import ROW

REPORT_COLUMNS = {
    "row": pl.Int64,
    "column": pl.String,
    "field": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "message": pl.String,
}
# the report as written and shown: severity "rejected" (the row did not land), "warning"
# (it landed, e.g. a repaired boundary or an overlap found by the boundary checks) or "note"
# (what a re-division did: an area retired, a case re-assigned or kept; row is null for a case)
FULL_REPORT_COLUMNS = {**REPORT_COLUMNS, "severity": pl.String}

# A reason's labels live with every other string (assets/i18n/import_reasons.toml, keys
# ``code.reason.<code>``); the report's message is both, "中文 / English" (the CLI, logs),
# and the page and the report CSV show one language (``localise``).
REASON_PREFIX = "code.reason."
REASONS: dict[str, str] = {
    key.removeprefix(REASON_PREFIX): f"{zh} / {en}"
    for key, (zh, en) in labels.strings()["ui"].items()
    if key.startswith(REASON_PREFIX)
}
SEVERITIES = ("rejected", "warning", "note")
# "中文 / English" in a rule's detail (与第 3 行相同 / same as row 3, 可用 / allowed: …): one
# slash between Chinese (or a closing bracket) and a Latin letter or digit; a detail with none,
# or more than one, is data and stays as it is (满意/基本满意/不满意, 3/1/25)
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_LEAD = re.compile(r"^(\s*\([^()]*\))?\s*[:：]\s*")
_LANG_SLASH = re.compile(rf"(?<=[{_CJK})])\s*/\s*(?=[A-Za-z0-9])")


def message(reason: str) -> str:
    """A reason's message in both languages, "中文 / English" (the CLI, the log)."""
    return REASONS.get(reason, reason)


def reason_label(reason: str, *, lang: str) -> str:
    """A reason code as shown in ``lang`` (not_a_count → 应为非负整数 / Must be a whole …)."""
    return _capital(labels.code_label("reason", reason, lang=lang), lang=lang)


def severity_label(severity: str, *, lang: str) -> str:
    """rejected → 未导入 / Rejected, warning → 警告（已导入）/ Warning (imported)."""
    return labels.code_label("severity", severity, lang=lang)


def localised_message(reason: str, text: str | None, *, lang: str) -> str | None:
    """A report message in one language: the reason's label in ``lang`` and the rule's
    detail, whose "中文 / English" part is cut to ``lang`` too; data stays as it is."""
    if text is None:
        return None
    prefix = message(reason)
    if not text.startswith(prefix):
        return _one_side(text, lang=lang)
    return reason_label(reason, lang=lang) + _one_side(text[len(prefix) :], lang=lang, inner=True)


def _one_side(text: str, *, lang: str, inner: bool = False) -> str:
    lead = ""
    if inner:  # ": detail", " (overlap): detail"
        found = _LEAD.match(text)
        if found is None:
            return text
        lead, text = found[0], text[found.end() :]
    cuts = list(_LANG_SLASH.finditer(text))
    if len(cuts) != 1:
        return lead + text
    zh, en = text[: cuts[0].start()], text[cuts[0].end() :]
    if ":" not in zh and ": " in en:  # 可用 / allowed: 专业化, 无 — the list is both's
        zh += en[en.index(": ") :]
    return lead + (zh.strip() if lang == "zh" else en.strip())


def _capital(text: str, *, lang: str) -> str:
    return text[:1].upper() + text[1:] if lang == "en" else text


def localise(report: pl.DataFrame, *, lang: str) -> pl.DataFrame:
    """The report as the page and the report CSV show it in ``lang``: ``severity`` and
    ``reason`` as labels, ``message`` in that language (``detail``: without the reason's
    label); the codes stay beside them in ``severity_code`` and ``reason_code`` (a district
    filters on those)."""
    pairs = report.select("reason", "message").unique()
    shown = {
        (reason, text): localised_message(reason, text, lang=lang)
        for reason, text in pairs.iter_rows()
    }
    codes = report.with_columns(
        pl.col("severity").alias("severity_code"), pl.col("reason").alias("reason_code")
    )
    shown_frame = codes.with_columns(
        pl.col("severity").replace_strict(
            {s: severity_label(s, lang=lang) for s in SEVERITIES},
            default=pl.col("severity"),
            return_dtype=pl.String,
        ),
        pl.col("reason").replace_strict(
            {r: reason_label(r, lang=lang) for r in report["reason"].unique().drop_nulls()},
            default=pl.col("reason"),
            return_dtype=pl.String,
        ),
        pl.struct("reason", "message")
        .map_elements(lambda x: shown[(x["reason"], x["message"])], return_dtype=pl.String)
        .alias("message"),
    )
    # the message without the reason's label in front, for a table that shows the reason
    label = pl.col("reason")
    return shown_frame.with_columns(
        pl.when(pl.col("message").str.starts_with(label))
        .then(pl.col("message").str.slice(label.str.len_chars()).str.strip_chars_start(":： "))
        .otherwise(pl.col("message"))
        .alias("detail")
    )


@dataclass(frozen=True)
class Rejection:
    """Rows a validation rule refuses. ``value`` defaults to the field's text in the file;
    ``detail`` is added to the reason's message — one text for all rows, or one per row."""

    mask: pl.Series
    field: str
    reason: str
    value: pl.Series | None = None
    detail: str | pl.Series = ""


def rejection_rows(raw: pl.DataFrame, header: dict[str, str], x: Rejection) -> pl.DataFrame | None:
    """A rule's rejections as report rows: ``raw`` holds ``__row__`` and one text column per
    field, ``header`` maps field → the file's header (the report's column)."""
    mask = x.mask.fill_null(False)
    if not mask.any():
        return None
    n = int(mask.sum())
    values = raw[x.field] if x.value is None and x.field in raw.columns else x.value
    if values is None:
        values = pl.Series([None] * raw.height, dtype=pl.String)
    if isinstance(x.detail, pl.Series):
        text = message(x.reason) + ": " + x.detail.filter(mask)
    else:
        text = [message(x.reason) + (f": {x.detail}" if x.detail else "")] * n
    return pl.DataFrame(
        {
            "row": raw[ROW].filter(mask),
            "column": [header.get(x.field, x.field)] * n,
            "field": [x.field] * n,
            "value": values.cast(pl.String).filter(mask),
            "reason": [x.reason] * n,
            "message": text,
        },
        schema=REPORT_COLUMNS,
    )


def empty_report() -> pl.DataFrame:
    return pl.DataFrame(schema=FULL_REPORT_COLUMNS)


def mask_report(frame: pl.DataFrame) -> pl.DataFrame:
    """Mask the value column where it holds a name or phone, and phone and ID numbers anywhere."""
    if frame.is_empty():
        return frame
    masked_name = mask_name_expr("value")
    masked_phone = mask_phone_expr("value")
    anywhere = mask_text_expr(pl.col("value"))
    return frame.with_columns(
        pl.when(pl.col("field") == "reporter_name")
        .then(masked_name)
        .when(pl.col("field") == "reporter_phone")
        .then(masked_phone)
        .otherwise(anywhere)
        .alias("value")
    )


def first_of_each_id(
    accepted: pl.LazyFrame | pl.DataFrame, *, key: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``key`` and ROW of each id's first accepted row, the later rows with ``first_row``)."""
    ids = accepted.lazy().select(key, ROW).collect()
    first = ids.filter(pl.col(key).is_first_distinct())
    dups = ids.filter(~pl.col(key).is_first_distinct()).join(
        first.rename({ROW: "first_row"}), on=key, how="left"
    )
    return first, dups


def duplicate_report(dups: pl.DataFrame, *, key: str, column: str) -> pl.DataFrame:
    """Report rows for the later rows of an id the file repeats (``column``: its header)."""
    return pl.DataFrame(
        {
            "row": dups[ROW],
            "column": [column] * dups.height,
            "field": [key] * dups.height,
            "value": dups[key],
            "reason": ["duplicate_id"] * dups.height,
            "message": [
                f"{message('duplicate_id')}: 与第 {r} 行相同 / same as row {r}"
                for r in dups["first_row"].to_list()
            ],
        },
        schema=REPORT_COLUMNS,
    )


@dataclass
class ImportResult:
    """What an import (or dry run) did. ``read == imported + rejected`` always holds."""

    kind: str  # "cases" | "boundaries"
    read: int = 0
    imported: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    warned: int = 0  # imported rows listed with a warning (not rejections: they landed)
    report: pl.DataFrame = field(default_factory=empty_report)  # masked
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    detected: dict[str, object] = field(
        default_factory=dict
    )  # format, encoding, header row, mapping
    seconds: float = 0.0

    @property
    def reconciled(self) -> bool:
        return self.read == self.imported + self.rejected

    def problems(self, severity: str) -> pl.DataFrame:
        """The report's lines of one severity: "rejected" (not imported) or "warning"."""
        return self.report.filter(pl.col("severity") == severity)

    def reasons(self) -> pl.DataFrame:
        """Rejected problems counted by reason (a row may have several)."""
        if self.report.is_empty():
            return pl.DataFrame(
                schema={
                    "severity": pl.String,
                    "reason": pl.String,
                    "rows": pl.UInt32,
                    "message": pl.String,
                }
            )
        return (
            self.report.with_columns(pl.col("message").str.split(":").list.first())
            .group_by("severity", "reason")
            .agg(pl.col("row").n_unique().alias("rows"), pl.col("message").first())
            .sort("severity", "rows", "reason", descending=[False, True, False])
        )

    def summary(self) -> str:
        text = (
            f"{self.kind}: 读取 read {self.read:,} = 导入 imported {self.imported:,} "
            f"+ 拒绝 rejected {self.rejected:,}"
        )
        if not self.kind.startswith("boundaries"):
            text += f" (新增 new {self.inserted:,}, 更新 updated {self.updated:,})"
        if self.warned:
            text += f"; 有警告 with warnings {self.warned:,}"
        return text


def by_reason(shown: pl.DataFrame) -> pl.DataFrame:
    """``localise``d problems counted by reason (a row may have several), rejections first."""
    return (
        shown.group_by("severity_code", "reason_code")
        .agg(
            pl.col("severity").first(),
            pl.col("reason").first(),
            pl.col("row").n_unique().alias("rows"),
        )
        .with_columns(
            pl.col("severity_code")
            .replace_strict({"rejected": 0, "warning": 1}, default=2, return_dtype=pl.Int8)
            .alias("order")
        )
        .sort("order", "rows", "reason_code", descending=[False, True, False])
    )


def lines_of(shown: pl.DataFrame, severity: str) -> pl.DataFrame:
    """The ``localise``d report's lines of one severity code."""
    return shown.filter(pl.col("severity_code") == severity)


CSV_COLUMNS = ("row", "column", "value", "severity", "reason", "message")


def report_csv_bytes(report: pl.DataFrame, *, lang: str | None = None) -> bytes:
    """The (already masked) report as UTF-8 CSV with BOM, so Excel opens the Chinese text.

    ``lang`` None (the CLI): the codes, the message in both languages. With a language (the
    page's download): headers, severity, reason and message in that language, and the
    codes in ``severity_code`` and ``reason_code`` so a district can filter on them."""
    if lang is None:
        return spreadsheet.csv_bytes(report.select(CSV_COLUMNS))
    shown = localise(report, lang=lang).select(*CSV_COLUMNS, "severity_code", "reason_code")
    return spreadsheet.csv_bytes(
        shown.rename({c: labels.text(f"import.csv.{c}", lang=lang) for c in CSV_COLUMNS})
    )


def write_report_csv(report: pl.DataFrame, path: Path | str) -> None:
    """``report_csv_bytes`` written to ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(report_csv_bytes(report))
