"""The .xlsx import template of each reference table: how a district feeds the platform.

Sheet one holds the headers (the Chinese headers the importer recognises, required ones
shaded) and one example row; sheet 说明 explains every column the importer understands —
meaning, required or not, allowed values, format. The example's grid, community and team are
taken from the data when there are any, so the example row imports as it is. Written with
xlsxwriter like every other workbook GridPulse makes (``documents.exports``), with the same
options (``spreadsheet.XLSX_OPTIONS``: no string becomes a formula or a link) and every text
cell defused (``spreadsheet.defuse_cell``).
"""

from __future__ import annotations

import io

import polars as pl

from data_layer.domain import spreadsheet
from data_layer.ingest import table_specs as T
from data_layer.ingest.tables import spec_of

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ABOUT_SHEET = "说明"
# examples when the data has no areas yet (the tiny codes of docs/data-format.md)
FALLBACK = {
    "grid_code": "360102001001001",
    "grid_name": "第1网格",
    "community_code": "360102001001",
    "community_name": "幸福社区",
    "team_id": "",
}
FORMATS = {
    T.ID: "文本（保留前导 0）/ text",
    T.TEXT: "文本 / text",
    T.COUNT: "非负整数 / whole number ≥ 0",
    T.NUMBER: "数字 / number",
    T.DATE: "日期 YYYY-MM-DD（也可 2025/3/1、2025年3月1日）/ date",
    T.DATETIME: "日期时间 YYYY-MM-DD HH:MM（也可只填日期）/ date and time",
    T.WORD: "下列取值之一 / one of the values",
    T.AREA: "编码或名称（文本）/ code or name",
}


def example_areas(tables: dict[str, pl.DataFrame] | None) -> dict[str, str]:
    """The first grid of the data (by code), its community, and that community's first team;
    the fallback codes where the data has none."""
    out = dict(FALLBACK)
    if not tables:
        return out
    grids = tables.get("grids")
    if grids is not None and grids.height:
        first = grids.sort("grid_code").row(0, named=True)
        out["grid_code"], out["grid_name"] = first["grid_code"], first["name"] or ""
        out["community_code"] = first["community_code"]
        communities = tables.get("communities")
        if communities is not None:
            names = communities.filter(pl.col("community_code") == first["community_code"])
            if names.height:
                out["community_name"] = names["name"][0] or ""
    teams = tables.get("volunteer_teams")
    if teams is not None and teams.height:
        mine = teams.filter(pl.col("community_code") == out["community_code"])
        out["team_id"] = (mine if mine.height else teams).sort("team_id")["team_id"][0]
    return out


def _required_text(spec: T.TableSpec, field: T.Field) -> str:
    if field.required:
        return "必填 / required"
    if field.name in spec.locate_by:
        either = " / ".join(spec.field(n).zh for n in spec.locate_by)
        return f"至少填一项 / one of: {either}"
    return "选填 / optional"


def _allowed(field: T.Field) -> str:
    return T.allowed_text(field.words) if field.kind == T.WORD else ""


def template_bytes(table: str, *, tables: dict[str, pl.DataFrame] | None = None) -> bytes:
    """The .xlsx template of ``table`` (``tables``: the current data, for the example's areas)."""
    import xlsxwriter

    spec = spec_of(table)
    areas = example_areas(tables)
    columns = [f for f in spec.fields if f.template]
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True, **spreadsheet.XLSX_OPTIONS}) as book:
        bold = book.add_format({"bold": True, "border": 1})
        shaded = book.add_format({"bold": True, "border": 1, "bg_color": "#FDE9D9"})
        text = book.add_format({"num_format": "@"})
        sheet = book.add_worksheet(spec.zh[:31])
        for col, field in enumerate(columns):
            sheet.set_column(col, col, max(12, 2 * len(field.zh) + 4), text)
            sheet.write_string(0, col, field.zh, shaded if field.required else bold)
            sheet.write_string(1, col, spreadsheet.defuse_cell(field.example.format(**areas)))
        sheet.freeze_panes(1, 0)
        _about(book, spec, bold)
    return buffer.getvalue()


def _about(book, spec: T.TableSpec, bold) -> None:
    """The second sheet: one line per column the importer understands, then the rules."""
    about = book.add_worksheet(ABOUT_SHEET)
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    heads = (
        "列名 column",
        "字段 field",
        "含义 meaning",
        "必填 required",
        "可选值 allowed",
        "格式 format",
        "也识别的列名 also read",
    )
    widths = (16, 16, 48, 22, 48, 30, 36)
    for col, (head, width) in enumerate(zip(heads, widths, strict=True)):
        about.set_column(col, col, width, wrap)
        about.write_string(0, col, head, bold)
    for row, field in enumerate(spec.fields, start=1):
        cells = (
            field.zh,
            field.name,
            field.meaning + ("" if field.template else "（模板中未列出，可自行加列）"),
            _required_text(spec, field),
            _allowed(field),
            FORMATS[field.kind],
            "、".join(a for a in field.aliases if a not in (field.name, field.zh)),
        )
        for col, value in enumerate(cells):
            about.write_string(row, col, value)
    notes = (
        f"{spec.zh}（{spec.table}）：每行一条记录，第一行是表头，第二行是示例（可改写或删除）。",
        f"编号（{spec.field(spec.key).zh}）相同的行再次导入时更新原记录；同一文件内重复的编号只保留第一行。",
        "被拒绝的行在导入报告中列出行号、列、取值和原因；读取 = 导入 + 拒绝。",
        "One record per row; re-importing an id updates it; rejected rows are reported.",
    )
    start = len(spec.fields) + 2
    for i, note in enumerate(notes):
        about.write_string(start + i, 0, note)
