"""The import report: every rejected row with row number, column, value and reason.

Reasons are stable codes with a bilingual message (below). Values of personal columns are
masked (``data_layer.domain.privacy``) and mobile and ID card numbers inside any value are
masked too, so the report — on screen, in the CSV and in logs — never carries unmasked personal
data. The CSV is written through ``data_layer.domain.spreadsheet``: a value from the file that
starts like a formula (``=HYPERLINK(…)``) is text in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_layer.domain import spreadsheet
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

REASONS: dict[str, str] = {
    "bad_row": "行结构错误 / broken row",
    "missing_required": "缺少必填值 / required value missing",
    "unrecognised": (
        '无法识别的日期格式，请在映射文件 [options] 中指定 date_format（如 "%m/%d/%y %H:%M"）'
        " / unrecognised date format: set date_format under [options] in a mapping file"
        ' (e.g. "%m/%d/%y %H:%M")'
    ),
    "impossible": (
        "不存在的日期或时间（如 2 月 30 日、25 点） / impossible date or time (such as 30 February"
        " or 25 o'clock)"
    ),
    "year_out_of_range": "年份不在 1990–2100 之间 / year outside 1990–2100",
    "unparseable": (
        "既不是日期也不是时限（如 72小时、5个工作日） / neither a date nor a time limit"
        " (such as 72小时, 5个工作日)"
    ),
    "future": "时间晚于导入时刻 / time is in the future",
    "not_a_number": "不是数字 / not a number",
    "not_a_count": "应为非负整数 / must be a whole number ≥ 0",
    "time_order": "时间先后顺序错误 / events out of order",
    "closed_before_reported": "办结时间早于上报时间 / closed before reported",
    "unknown_value": "无法识别的取值（可在映射文件 [values] 中补充） / unknown value (add it under [values] in a mapping file)",
    "unknown_grid": "网格不存在 / unknown grid",
    "ambiguous_grid": "网格名称不唯一，请提供网格编码或所属社区 / grid name is not unique",
    "unknown_community": "社区不存在 / unknown community",
    "unknown_street": "街道不存在 / unknown street",
    "grid_not_in_community": "网格不属于所填社区 / grid is not in the given community",
    "grid_not_in_street": "网格不属于所填街道 / grid is not in the given street office",
    "no_location": "没有网格编码、网格名称或坐标，无法确定所属网格 / no grid code, grid name or coordinates",
    "zero_coordinates": "坐标为 (0,0) / coordinates are (0, 0)",
    "half_coordinates": "只有经度或纬度之一 / only one of longitude and latitude",
    "outside_district": "坐标在辖区之外（经纬度是否颠倒或坐标系不对？） / coordinates outside the district (swapped, or wrong --crs?)",
    "outside_grids": "坐标不在任何网格内 / coordinates fall in no grid",
    "duplicate_id": "文件内编号重复（保留首次出现的行） / duplicate id in the file (the first row is kept)",
    "closed_without_time": "状态为已办结但没有办结时间 / status is closed but there is no closing time",
    # warnings: the row is imported
    "open_status_with_closing_time": "状态未办结，但有办结时间 / the status says open, but a closing time is given",
    "updated_before_reported": "更新时间早于上报时间 / updated before it was reported",
    "time_order_warning": "时间先后不一致 / times out of order",
    # boundaries
    "missing_code": "缺少编码 / code missing",
    "bad_code": "编码格式不对 / code has the wrong form",
    "unknown_parent": "上级不存在 / parent not found",
    "parent_mismatch": "上级编码与编码前缀不一致 / parent code does not match the code prefix",
    "invalid_geometry": "边界无效，已修复 / invalid geometry, repaired",
    "unrepairable_geometry": "边界无效且无法安全修复 / invalid geometry that cannot be repaired safely",
    "missing_geometry": "没有边界 / no geometry",
    "not_polygon": "边界不是面 / geometry is not a polygon",
    "boundary_warning": "边界检查提示 / boundary check",
    # compounds, volunteer teams, activities, party report-ins, micro-wishes
    "community_not_in_street": "社区不属于所填街道 / community is not in the given street office",
    "ambiguous_community": "社区名称不唯一，请提供社区编码或所属街道 / community name is not unique",
    "unknown_team": "志愿服务队不存在（请先导入志愿服务队） / unknown volunteer team (import the teams first)",
    "ambiguous_team": "队伍名称不唯一，请提供队伍编号 / team name is not unique",
    "out_of_range": "数值超出合理范围 / value out of range",
    "claimed_before_created": "认领时间早于提出时间 / claimed before it was raised",
    "fulfilled_before_claimed": "实现时间早于认领时间 / fulfilled before it was claimed",
    "fulfilled_without_claim": "有实现时间但没有认领时间 / fulfilled but never claimed",
    # re-division (import --boundaries --replace): notes, not problems
    "area_retired": "已撤销（文件中不再有）/ retired (no longer in the file)",
    "case_reassigned": "案件按坐标改派到现有网格 / case re-assigned by its point",
    "case_kept": "案件保留在已撤销网格 / case kept under the retired grid",
    "no_point": "没有坐标 / no coordinates",
}


def message(reason: str) -> str:
    return REASONS.get(reason, reason)


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


def report_csv_bytes(report: pl.DataFrame) -> bytes:
    """The (already masked) report as UTF-8 CSV with BOM, so Excel opens the Chinese text."""
    return spreadsheet.csv_bytes(
        report.select("row", "column", "value", "severity", "reason", "message")
    )


def write_report_csv(report: pl.DataFrame, path: Path | str) -> None:
    """``report_csv_bytes`` written to ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(report_csv_bytes(report))
