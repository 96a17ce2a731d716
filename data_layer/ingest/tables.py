"""Import of the reference tables a district keeps outside the case system: compounds (小区),
volunteer teams, activities, party report-ins (在职党员报到) and micro-wishes (微心愿).

A file (CSV / .xlsx, the template of ``template`` or a platform's export) is read with the
case importer's readers, its headers matched by the table's aliases (``table_specs``), its
values parsed with ``values`` and checked by ``table_rules``. Every row lands or is rejected
with its row, column, value and reason; read = imported + rejected. Rows are upserted by the
table's id: a new id is added, a known one replaced, ids the file does not name are kept — so
importing the same file twice leaves the same table. ``run_import`` writes the result into
the new version (or, with ``--db``, ``ingest.database`` writes the difference).

These tables are small (a district has hundreds of compounds, thousands of activities), so a
file is validated whole rather than batch by batch.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl

from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.ingest import table_specs as T
from data_layer.ingest import values as V
from data_layer.ingest.mapping import Mapping, resolve_columns
from data_layer.ingest.readers import ERROR, ROW, open_cases_file, text_fields
from data_layer.ingest.reference import (
    AreaNames,
    Reference,
    excel_code,
    match_by_code_or_name,
    stated_areas,
)
from data_layer.ingest.report import (
    FULL_REPORT_COLUMNS,
    ImportResult,
    duplicate_report,
    first_of_each_id,
    mask_report,
)
from data_layer.ingest.table_rules import Places, TableRows, Teams, rejections
from data_layer.ingest.table_specs import SPECS, TableSpec
from data_layer.storage.source import DataError

# a unit after a number, as exports write it: "420户", "36人", "2.5小时", "3 h"
UNITS = {
    T.COUNT: r"\s*(户|人|名|个|次|项)$",
    T.NUMBER: r"\s*(个小时|小时|时|h|hrs?|hours?)$",
}
AREA_FIELDS = (
    "grid_code",
    "grid_name",
    "community_code",
    "community_name",
    "street_code",
    "street_name",
)


def spec_of(table: str) -> TableSpec:
    """The import spec of ``table``; a DataError naming the tables there are."""
    if table not in SPECS:
        raise DataError(
            f"未知的表 / unknown table {table!r}: 可用 / known: cases, {', '.join(SPECS)}"
        )
    return SPECS[table]


def import_table(
    table: str,
    path: Path | str,
    *,
    reference: Reference,
    previous: pl.DataFrame,
    teams: pl.DataFrame,
    mapping: Mapping,
    now: dt.datetime | None = None,
) -> tuple[ImportResult, pl.DataFrame]:
    """Validate ``path`` as rows of ``table`` and upsert them into ``previous`` by id.

    ``reference``: the areas rows are matched against; ``teams``: the volunteer teams an
    activity may name. Returns the result (report masked) and the table to write.

    Raises
    ------
    DataError
        For a file that cannot be used at all (unreadable, no rows, required fields missing).
    """
    started = time.monotonic()
    spec = spec_of(table)
    frame, resolved, info = read_file(spec, path, mapping)
    rows = parse(
        spec,
        frame,
        resolved,
        names=AreaNames.of(reference),
        teams=teams,
        mapping=mapping,
        now=now or now_local(),
    )
    problems = rejections(rows)
    built = rows_frame(rows).filter(~pl.col(ROW).is_in(problems["row"].implode()))
    first, dups = first_of_each_id(built, key=spec.key)
    problems = pl.concat(
        [problems, duplicate_report(dups, key=spec.key, column=resolved.get(spec.key, spec.key))]
    )
    fresh = built.join(dups.select(ROW), on=ROW, how="anti").drop(ROW)
    result = ImportResult(kind=table, read=frame.height, detected={**info, "mapping": resolved})
    result.report = (
        mask_report(problems)
        .with_columns(pl.lit("rejected").alias("severity"))
        .sort("row", "column")
        .select(list(FULL_REPORT_COLUMNS))
    )
    result.rejected = problems["row"].n_unique()
    result.imported = fresh.height
    merged, result.updated = upsert(table, previous, fresh)
    result.inserted = result.imported - result.updated
    if not result.reconciled:  # an invariant, not a user error
        raise RuntimeError(f"import does not reconcile: {result.summary()}")
    result.seconds = time.monotonic() - started
    return result, merged


def read_file(
    spec: TableSpec, path: Path | str, mapping: Mapping
) -> tuple[pl.DataFrame, dict[str, str], dict[str, object]]:
    """(every row as text + ROW / ERROR, field → header, what was detected); a DataError when
    a required field has no column or the file has no rows."""
    table = open_cases_file(path, mapping, header_index=spec.index)
    resolved = resolve_columns(table.headers, mapping, index=spec.index)
    missing = spec.missing(resolved)
    if missing:
        raise DataError(
            f"{spec.zh}: 缺少必填字段 / required fields not mapped: {'; '.join(missing)}. "
            f"文件中的表头 / headers in the file: {', '.join(table.headers[:40])}. "
            "可下载导入模板，或在映射文件 [columns] 中指定 / use the template or a mapping file."
        )
    batches = list(table.batches)
    if not batches or sum(b.height for b in batches) == 0:
        raise DataError("文件中没有数据行（只有表头） / the file has a header but no data rows")
    info = {"format": table.format, "encoding": table.encoding, "header_row": table.header_row}
    return pl.concat(batches), resolved, info


# --------------------------------------------------------------------------------------------
# parse
# --------------------------------------------------------------------------------------------


def parse(
    spec: TableSpec,
    frame: pl.DataFrame,
    resolved: dict[str, str],
    *,
    names: AreaNames,
    teams: pl.DataFrame,
    mapping: Mapping,
    now: dt.datetime,
) -> TableRows:
    """The file's text per field, each value parsed, and the rows' places."""
    fields = dict.fromkeys([*(f.name for f in spec.fields), *AREA_FIELDS, "team_id", "team_name"])
    raw = text_fields(frame, resolved, fields)
    values: dict[str, pl.Series] = {}
    errors: dict[str, pl.Series] = {}
    for f in spec.fields:
        values[f.name], errors[f.name] = _value(raw, f, mapping)
    raw, stated = stated_areas(raw)
    team_rows = _teams(raw, teams) if spec.table == "activities" else None
    return TableRows(
        spec=spec,
        raw=raw,
        header=dict(resolved),
        now=now,
        broken=raw[ERROR].is_not_null(),
        values=values,
        errors=errors,
        place=_places(raw, stated, names, team_rows, teams),
        teams=team_rows,
    )


def _value(raw: pl.DataFrame, f: T.Field, mapping: Mapping) -> tuple[pl.Series, pl.Series]:
    """(value, error code or null) of one field."""
    none = pl.Series(f.name, [None] * raw.height, dtype=pl.String)
    if f.kind == T.ID:
        return excel_code(raw[f.name]), none
    if f.kind in (T.TEXT, T.AREA):
        return raw[f.name], none
    if f.kind in UNITS:
        bare = raw.select(pl.col(f.name).str.replace(UNITS[f.kind], ""))
        parse = V.parse_int if f.kind == T.COUNT else V.parse_float
        return parse(bare, f.name)
    if f.kind in (T.DATE, T.DATETIME):
        value, err = V.parse_datetime(raw, f.name, mapping.date_format(f.name))
        return (value.dt.date() if f.kind == T.DATE else value), err
    if f.kind == T.WORD:
        _, codes, _, contains = T.WORDS[f.words]
        lookup = V.word_lookup(
            T.words_of(f.words), mapping.values.get(f.name), codes, contains=contains
        )
        return V.map_words(raw[f.name], lookup)
    raise ValueError(f"unknown field kind {f.kind}")


def _teams(raw: pl.DataFrame, teams: pl.DataFrame) -> Teams:
    """The team an activity names: its id, or a name only one team has."""
    by_name = teams.group_by("name").agg(pl.col("team_id").first(), pl.len().alias("n"))
    stated = pl.DataFrame({"team_id": excel_code(raw["team_id"]), "name": raw["team_name"]})
    found = stated.join(
        by_name.rename({"team_id": "_by_name"}), on="name", how="left", maintain_order="left"
    )
    known = teams["team_id"].to_list()
    team = found.select(
        pl.when(pl.col("team_id").is_not_null())
        .then(pl.when(pl.col("team_id").is_in(known)).then(pl.col("team_id")))
        .when(pl.col("n") == 1)
        .then(pl.col("_by_name"))
    ).to_series()
    return Teams(
        team_id=stated["team_id"],
        team_name=stated["name"],
        by_name_count=found["n"],
        team=team,
        known=known,
    )


def _places(
    raw: pl.DataFrame,
    stated: dict[str, pl.Series],
    names: AreaNames,
    team_rows: Teams | None,
    teams: pl.DataFrame,
) -> Places:
    """The grid (by code, or a name unique in the stated community or the district) and the
    community (stated code, a name unique in the stated street or the district, else the
    grid's, else the activity's team's)."""
    g = match_by_code_or_name(raw, stated, names)
    grid_info = pl.DataFrame({"grid_code": g["_grid"]}).join(
        names.grid_info, on="grid_code", how="left", maintain_order="left"
    )
    known = names.known_communities
    code = stated["community_code"]
    by_name = g.select(
        pl.coalesce("_cs_code", "_csn_code", pl.when(pl.col("_cn_n") == 1).then("_cn_code"))
    ).to_series()
    team_community = (
        pl.DataFrame({"team_id": team_rows.team})
        .join(
            teams.select("team_id", "community_code"),
            on="team_id",
            how="left",
            maintain_order="left",
        )
        .get_column("community_code")
        if team_rows is not None
        else pl.Series([None] * raw.height, dtype=pl.String)
    )
    community = pl.select(
        pl.coalesce(
            pl.when(code.is_in(known)).then(code),
            pl.when(code.is_null()).then(by_name),
            pl.when(code.is_null() & raw["community_name"].is_null()).then(
                pl.coalesce(grid_info["_g_comm"], team_community)
            ),
        )
    ).to_series()
    community_street = (
        pl.DataFrame({"community_code": community})
        .join(names.community_info, on="community_code", how="left", maintain_order="left")
        .get_column("_c_street")
    )
    return Places(
        grid_code=stated["grid_code"],
        grid_name=stated["grid_name"],
        grid_by_name_count=g["_by_name_n"],
        grid=g["_grid"],
        grid_community=grid_info["_g_comm"],
        community_code=code,
        community_name=raw["community_name"],
        community_by_name=by_name,
        community_by_name_count=g["_cn_n"],
        community=community,
        community_street=community_street,
        street_code=stated["street_code"],
        street_name=raw["street_name"],
        street_by_name=g["_sn_code"],
        known_communities=known,
        known_streets=names.known_streets,
    )


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def rows_frame(r: TableRows) -> pl.DataFrame:
    """Every row of the file in the table's schema (``ROW`` kept, to drop the rejected)."""
    columns: dict[str, pl.Series] = {ROW: r.raw[ROW]}
    for column, dtype in schema.TABLES[r.spec.table].items():
        if column == "grid_code":
            value = r.place.grid
        elif column == "community_code":
            value = r.place.community
        elif column == "team_id" and r.teams is not None:
            value = r.teams.team
        else:
            value = r.values[column]
        columns[column] = value.cast(dtype).alias(column)
    return pl.DataFrame(columns)


def upsert(table: str, previous: pl.DataFrame, fresh: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(the previous rows whose id the file does not name, then the file's; how many of the
    file's ids were there before)."""
    key = schema.KEYS[table]
    previous = schema.conform(table, previous)
    updated = previous.join(fresh.select(key), on=key, how="semi").height
    kept = previous.join(fresh.select(key), on=key, how="anti", maintain_order="left")
    return pl.concat([kept, schema.conform(table, fresh)]), updated
