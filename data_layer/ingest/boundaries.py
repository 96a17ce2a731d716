"""Boundary import: streets, communities or grids from GeoJSON, a (zipped) Shapefile or a
GeoPackage, converted to WGS 84 and merged into the reference tables by code.

* The file is read and converted by ``boundary_files.read_boundaries`` (drivers, encoding, CRS).
* Each feature lands or is rejected (row = 1-based feature number): missing / unknown code,
  code not of the documented form, a parent given that contradicts the code prefix, duplicate
  codes, missing or non-polygonal geometry, invalid geometry that ``make_valid`` cannot repair
  without changing its area by more than 1 %. Safe repairs land and are reported as warnings.
* A level may come without the levels above: parents are joined by code (or by name), and
  parents missing from the data directory are created by dissolving their children.
* After the merge the whole hierarchy is checked (``geo.boundaries.check_hierarchy``): gaps,
  overlaps between siblings, a grid not inside its community — reported as warnings (``strict``
  turns them into an error that stops the import).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

from data_layer.domain import schema
from data_layer.domain.areas import DIGITS, KEY, PARENT, TABLE, code_of, district_of
from data_layer.domain.filters import now_local
from data_layer.ingest.boundary_files import read_boundaries
from data_layer.ingest.mapping import BOUNDARY_ALIASES, Mapping, same_attribute
from data_layer.ingest.redivision import NOTE, Redivision, apply_replace, current_only
from data_layer.ingest.report import FULL_REPORT_COLUMNS, ImportResult, message
from data_layer.storage.source import DataError
from geo.boundaries import check_hierarchy

REPAIR_TOLERANCE = 0.01  # relative area change accepted for a repaired geometry
KIND_WORDS = {
    "基础网格": "basic",
    "基本网格": "basic",
    "basic": "basic",
    "专属网格": "dedicated",
    "dedicated": "dedicated",
}
PARTY_ORG_WORDS = {
    "党支部": "branch",
    "网格党支部": "branch",
    "branch": "branch",
    "党小组": "group",
    "group": "group",
    "无": "none",
    "none": "none",
}


# --------------------------------------------------------------------------------------------
# attributes
# --------------------------------------------------------------------------------------------


def _attr_columns(gdf: gpd.GeoDataFrame, level: str, mapping: Mapping) -> dict[str, str]:
    """field → attribute column: the mapping file's ``[boundary_columns]`` first, then the
    built-in aliases; exact names before names cut to a Shapefile's 10 bytes. Each field
    takes the first attribute that fits, and an attribute feeds one field."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    explicit = mapping.boundary_mapping(level)
    ignored = {a for a, fld in explicit.items() if not fld}
    out: dict[str, str] = {}

    def take(fld: str, names: list[str], *, truncated: bool) -> None:
        for name in names:
            hit = next(
                (
                    c
                    for c in columns
                    if c not in out.values()
                    and not any(same_attribute(c, a) for a in ignored)
                    and same_attribute(c, name, truncated=truncated)
                ),
                None,
            )
            if hit is not None:
                out[fld] = hit
                return

    for truncated in (False, True):
        for attr, fld in explicit.items():
            if fld and fld not in out:
                take(fld, [attr], truncated=truncated)
        for fld in BOUNDARY_ALIASES[level]:
            if fld not in out:
                take(fld, looked_for(level, fld, mapping), truncated=truncated)
    return out


def looked_for(level: str, fld: str, mapping: Mapping) -> list[str]:
    """The attribute names a boundary field of ``level`` is looked for under: the mapping
    file's, then the built-in aliases (each also cut to 10 bytes, as a Shapefile has it)."""
    explicit = [a for a, f in mapping.boundary_mapping(level).items() if f == fld]
    return list(dict.fromkeys([*explicit, *BOUNDARY_ALIASES[level].get(fld, ())]))


def _names_text(names: list[str], limit: int = 30) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f" … (+{len(names) - limit})" if len(names) > limit else "")


def _text(series) -> list[str | None]:
    out = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = str(v).strip()
        out.append(s or None)
    return out


@dataclass
class _Features:
    """The file's features: text attributes, and what the checks settle — the code (given, or
    found by name), the parent code (the code's prefix) and the geometry (safely repaired)."""

    codes: list[str | None]
    names: list[str | None]
    parent_codes: list[str | None]
    parent_names: list[str | None]
    geometry: np.ndarray  # of shapely geometries (or None)
    parents: list[str | None]

    @classmethod
    def read(cls, gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> _Features:
        n = len(gdf)

        def col(fld: str) -> list[str | None]:
            return _text(gdf[cols[fld]]) if fld in cols else [None] * n

        return cls(
            codes=[None if c is None else c.removesuffix(".0") for c in col("code")],
            names=col("name"),
            parent_codes=col("parent_code"),
            parent_names=col("parent_name"),
            geometry=np.asarray(gdf.geometry.values, dtype=object).copy(),
            parents=[None] * n,
        )


@dataclass
class _Problems:
    """Report rows (``FULL_REPORT_COLUMNS``); ``row`` is the 1-based feature number."""

    columns: dict[str, str]  # field → attribute column
    rows: list[dict] = field(default_factory=list)

    def add(
        self, row: int, fld: str, value, reason: str, detail: str = "", severity: str = "rejected"
    ) -> None:
        self.rows.append(
            {
                "row": row,
                "column": self.columns.get(fld, fld),
                "field": fld,
                "value": None if value is None else str(value)[:200],
                "reason": reason,
                "message": message(reason) + (f": {detail}" if detail else ""),
                "severity": severity,
            }
        )

    def frame(self) -> pl.DataFrame:
        if not self.rows:
            return pl.DataFrame(schema=FULL_REPORT_COLUMNS)
        return pl.DataFrame(self.rows, schema=FULL_REPORT_COLUMNS)


# --------------------------------------------------------------------------------------------
# the import of one level
# --------------------------------------------------------------------------------------------


def import_boundaries(
    path: Path | str,
    *,
    level: str,
    existing: dict[str, pl.DataFrame],
    mapping: Mapping,
    crs: str | None,
    strict: bool = False,
    replace: bool = False,
    now: dt.datetime | None = None,
    progress=None,
) -> tuple[ImportResult, dict[str, pl.DataFrame]]:
    """Read, validate and merge one level; returns the result and the updated tables.

    ``replace``: the file is the new division of the parents it covers (``redivision``): the
    areas it no longer has are retired at ``now``; ``result.detected["retired"]`` lists them
    per level. A file with a rejected feature does not re-divide anything (DataError): a
    feature that failed a check would otherwise be taken for a retired area."""
    started = time.monotonic()
    gdf, source = read_boundaries(
        path, crs=crs or mapping.options.get("crs"), layer=mapping.options.get("layer")
    )
    cols = _attr_columns(gdf, level, mapping)
    n = len(gdf)
    result = ImportResult(kind=f"boundaries:{level}", read=n)
    result.detected = {
        "format": Path(path).suffix.lower().lstrip("."),
        "crs": source,
        "mapping": cols,
        "features": n,
    }
    problems = _Problems(cols)
    feats = _Features.read(gdf, cols)
    rejected = _check_codes(
        feats,
        level=level,
        existing=existing,
        problems=problems,
        where=_code_where(gdf, level=level, mapping=mapping, cols=cols),
    )
    rejected |= _check_geometries(feats, skip=rejected, problems=problems)
    ok = np.flatnonzero(~rejected)

    frame = _level_frame(feats, ok, level=level, gdf=gdf, cols=cols)
    district = _district_name(mapping, existing)
    if level == "street" and district:
        frame = frame.with_columns(pl.col("district").fill_null(pl.lit(district)))
    tables, result.updated = _merge(existing, level=level, frame=frame)
    result.notes += _dissolve_missing_parents(
        tables, level=level, names=_parent_names(feats, ok), district=district
    )
    if replace:
        _refuse_partial_replace(problems, rejected=int(rejected.sum()))
        when = now or now_local()
        tables, redivided = apply_replace(
            existing, tables, level=level, file_codes=[feats.codes[i] for i in ok], now=when
        )
        result.detected["redivided_at"] = when
        result.detected["retired"] = redivided.retired
        result.detected["added"] = redivided.added
        result.notes += _redivision_notes(redivided)
        problems.rows += _retired_rows(redivided)
    row_of = {feats.codes[i]: i + 1 for i in ok}
    problems.rows += _hierarchy_warnings(current_only(tables), row_of=row_of, strict=strict)

    result.report = problems.frame()
    result.imported = len(ok)
    result.rejected = int(rejected.sum())
    result.inserted = result.imported - result.updated
    result.warnings = [p["message"] for p in problems.rows if p["severity"] == "warning"]
    result.seconds = time.monotonic() - started
    if progress:
        progress(n, 1.0, f"boundaries:{level}")
    return result, tables


def _refuse_partial_replace(problems: _Problems, *, rejected: int) -> None:
    if not rejected:
        return
    first = [p for p in problems.rows if p["severity"] == "rejected"][:5]
    raise DataError(
        f"--replace 需要文件中的每个要素都能导入，{rejected} 个被拒绝，未做任何更改 / --replace needs "
        f"every feature to land; {rejected} rejected, nothing changed (a rejected area would be "
        "taken for a retired one): "
        + "; ".join(f"#{p['row']} {p['message']}" for p in first)
        + ". 请修正后重试，或先不带 --replace 做 --dry-run 查看完整报告 / fix them and import "
        "again (a --dry-run without --replace shows the full report)."
    )


def _redivision_notes(redivided: Redivision) -> list[str]:
    notes = [
        f"网格调整：撤销 {len(codes)} 个{lv} / re-division: retired {len(codes)} {lv}(s): "
        + ", ".join(codes[:10])
        + (" …" if len(codes) > 10 else "")
        for lv, codes in redivided.retired.items()
        if codes
    ]
    if redivided.added:
        notes.append(
            f"网格调整：新增 {len(redivided.added)} 个 / re-division: {len(redivided.added)} "
            "new area(s), in the division from now on"
        )
    return notes


def _retired_rows(redivided: Redivision) -> list[dict]:
    return [
        {
            "row": None,
            "column": "code",
            "field": "code",
            "value": code,
            "reason": "area_retired",
            "message": f"{message('area_retired')} ({lv})",
            "severity": NOTE,
        }
        for lv, codes in redivided.retired.items()
        for code in codes
    ]


# --- validate ----------------------------------------------------------------------------------


def _code_where(
    gdf: gpd.GeoDataFrame, *, level: str, mapping: Mapping, cols: dict[str, str]
) -> str:
    """Where the code was looked for, for a missing_code rejection: the attribute used (it was
    empty), or the names looked for and the names the file has."""
    if "code" in cols:
        return f"属性 {cols['code']} 为空 / attribute {cols['code']} is empty"
    attributes = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    return (
        f"查找的属性名 / attribute names looked for: {_names_text(looked_for(level, 'code', mapping))}"
        f"（含截为 10 字节的形式 / or cut to 10 bytes）; 文件中的属性 / the file has: "
        f"{_names_text(attributes) or '—'}; 可在映射文件 [boundary_columns] 中指定 / map it "
        'in a mapping file: [boundary_columns] "<attribute>" = "code"'
    )


def _check_codes(
    feats: _Features,
    *,
    level: str,
    existing: dict[str, pl.DataFrame],
    problems: _Problems,
    where: str = "",
) -> np.ndarray:
    """Codes: given, or found by (parent, name) among existing areas; of the documented form,
    agreeing with a given parent, unique. Sets ``feats.codes`` / ``feats.parents``; returns the
    rejected features. ``where`` says where a missing code was looked for."""
    parent_level = PARENT[level]
    by_name, parent_by_name = _known_names(level, existing)
    rejected = np.zeros(len(feats.codes), dtype=bool)
    seen: dict[str, int] = {}
    for i in range(len(feats.codes)):
        pc = feats.parent_codes[i]
        if pc is None and feats.parent_names[i] is not None and parent_level:
            found = parent_by_name.get(feats.parent_names[i], set())
            pc = next(iter(found)) if len(found) == 1 else None
        if feats.codes[i] is None and feats.names[i] is not None:
            feats.codes[i] = by_name.get((pc, feats.names[i]))
        problem = _code_problem(feats, i, level=level, parent=pc, seen=seen, where=where)
        if problem is not None:
            problems.add(i + 1, *problem)
            rejected[i] = True
            continue
        if parent_level:
            feats.parents[i] = code_of(feats.codes[i], level=parent_level)
        seen[feats.codes[i]] = i + 1
    return rejected


def _known_names(
    level: str, existing: dict[str, pl.DataFrame]
) -> tuple[dict[tuple[str | None, str], str], dict[str, set[str]]]:
    """((parent code, name) → code of this level, parent name → parent codes) in the data."""
    parent_level = PARENT[level]
    old, key = existing[TABLE[level]], KEY[level]
    by_name: dict[tuple[str | None, str], str] = {}
    if old.height:
        parent_key = KEY[parent_level] if parent_level else None
        for r in old.iter_rows(named=True):
            by_name.setdefault((r[parent_key] if parent_key else None, r["name"]), r[key])
    parent_by_name: dict[str, set[str]] = {}
    parents_old = existing[TABLE[parent_level]] if parent_level else None
    if parents_old is not None and parents_old.height:
        for code, nm in zip(
            parents_old[KEY[parent_level]].to_list(), parents_old["name"].to_list(), strict=True
        ):
            parent_by_name.setdefault(nm, set()).add(code)
    return by_name, parent_by_name


def _code_problem(
    feats: _Features,
    i: int,
    *,
    level: str,
    parent: str | None,
    seen: dict[str, int],
    where: str = "",
) -> tuple[str, object, str, str] | None:
    """(field, value, reason, detail) of the first thing wrong with feature ``i``'s code."""
    code, digits, parent_level = feats.codes[i], DIGITS[level], PARENT[level]
    if code is None:
        return (
            "code",
            None,
            "missing_code",
            f"{level} 需要 {digits} 位编码 / needs a {digits}-digit code"
            + (f"; {where}" if where else ""),
        )
    if not (len(code) == digits and code.isascii() and code.isdigit()):
        return "code", code, "bad_code", f"应为 {digits} 位数字 / must be {digits} digits"
    if parent_level:
        prefix = code_of(code, level=parent_level)
        if parent is not None and parent != prefix:
            given = feats.parent_codes[i]
            return (
                "parent_code" if given else "parent_name",
                given or feats.parent_names[i],
                "parent_mismatch",
                f"{code} → {prefix}",
            )
    if code in seen:
        return (
            "code",
            code,
            "duplicate_id",
            f"与第 {seen[code]} 个要素相同 / same as feature {seen[code]}",
        )
    return None


def _check_geometries(feats: _Features, *, skip: np.ndarray, problems: _Problems) -> np.ndarray:
    """Geometry present, polygonal, valid or safely repaired (a warning); 2D. Repairs
    ``feats.geometry`` in place; returns the rejected features."""
    rejected = np.zeros(len(feats.geometry), dtype=bool)
    for i, g in enumerate(feats.geometry):
        if skip[i]:
            continue
        code = feats.codes[i]
        if g is None or g.is_empty:
            problems.add(i + 1, "geometry", code, "missing_geometry")
            rejected[i] = True
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            problems.add(i + 1, "geometry", code, "not_polygon", g.geom_type)
            rejected[i] = True
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            repaired = _repaired(g)
            if repaired is None:
                problems.add(i + 1, "geometry", code, "unrepairable_geometry", reason)
                rejected[i] = True
                continue
            problems.add(i + 1, "geometry", code, "invalid_geometry", reason, severity="warning")
            feats.geometry[i] = repaired
        if feats.geometry[i].geom_type in ("MultiPolygon", "Polygon"):
            feats.geometry[i] = shapely.force_2d(feats.geometry[i])
    return rejected


def _repaired(g):
    """``make_valid``'s polygons, or None when they change the area by more than the tolerance."""
    polys = [
        p
        for p in shapely.get_parts(shapely.make_valid(g))
        if p.geom_type in ("Polygon", "MultiPolygon")
    ]
    repaired = shapely.union_all(polys) if polys else None
    before = abs(shapely.area(shapely.buffer(g, 0))) or 1e-30
    if (
        repaired is None
        or repaired.is_empty
        or abs(repaired.area - before) / before > REPAIR_TOLERANCE
    ):
        return None
    return repaired


# --- build tables ------------------------------------------------------------------------------


def _district_name(mapping: Mapping, existing: dict[str, pl.DataFrame]) -> str | None:
    """The district name of streets that do not state one: ``--district`` / [options]
    district, else the one name every existing street carries."""
    given = mapping.option("district")
    if given:
        return str(given).strip() or None
    names = existing["streets"]["district"].drop_nulls().unique()
    return names.item() if names.len() == 1 else None


def _level_frame(
    feats: _Features, ok: np.ndarray, *, level: str, gdf: gpd.GeoDataFrame, cols: dict[str, str]
) -> pl.DataFrame:
    """The accepted features as rows of the level's table (attributes not in the file: null)."""
    key, parent_level = KEY[level], PARENT[level]
    frame = pl.DataFrame(
        {
            key: [feats.codes[i] for i in ok],
            "name": [feats.names[i] or feats.codes[i] for i in ok],
            "geometry": [shapely.to_wkb(feats.geometry[i]) for i in ok],
        },
        schema={key: pl.String, "name": pl.String, "geometry": pl.Binary},
    )
    if parent_level:
        frame = frame.with_columns(
            pl.Series(KEY[parent_level], [feats.parents[i] for i in ok], dtype=pl.String)
        )
    target_schema = schema.TABLES[TABLE[level]]
    for fld, dtype in target_schema.items():
        if fld in frame.columns:
            continue
        if fld in cols:
            vals = _text(gdf[cols[fld]])
            s = pl.Series(fld, [vals[i] for i in ok], dtype=pl.String)
            if dtype == pl.String:
                frame = frame.with_columns(s)
            else:
                frame = frame.with_columns(s.str.replace(r"\.0+$", "").cast(dtype, strict=False))
        else:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(fld))
    if level == "grid":
        frame = frame.with_columns(
            pl.col("kind").replace_strict(KIND_WORDS, default="basic", return_dtype=pl.String),
            pl.col("party_org").replace_strict(
                PARTY_ORG_WORDS, default=None, return_dtype=pl.String
            ),
        )
    return frame.select(list(target_schema))


def _merge(
    existing: dict[str, pl.DataFrame], *, level: str, frame: pl.DataFrame
) -> tuple[dict[str, pl.DataFrame], int]:
    """(tables with the level merged by code, features that updated an existing area): given
    attributes win, missing ones keep the existing values."""
    table, key = TABLE[level], KEY[level]
    old = existing[table]
    target_schema = schema.TABLES[table]
    old_cols = [c for c in target_schema if c != key]
    merged = frame.join(old, on=key, how="left", suffix="__old")
    merged = merged.with_columns(
        pl.coalesce(pl.col(c), pl.col(f"{c}__old")).alias(c)
        for c in old_cols
        if f"{c}__old" in merged.columns
    ).select(list(target_schema))
    updated = frame.join(old, on=key, how="semi").height
    new_table = pl.concat([old.join(frame, on=key, how="anti"), merged], how="vertical").sort(key)
    tables = dict(existing)
    tables[table] = schema.conform(table, new_table)
    return tables, updated


def _parent_names(feats: _Features, ok: np.ndarray) -> dict[str, str]:
    """Parent code → the parent name the file gives (first feature wins)."""
    names: dict[str, str] = {}
    for i in ok:
        if feats.parent_names[i] and feats.parents[i]:
            names.setdefault(feats.parents[i], feats.parent_names[i])
    return names


def _dissolve_missing_parents(
    tables: dict[str, pl.DataFrame],
    *,
    level: str,
    names: dict[str, str],
    district: str | None = None,
) -> list[str]:
    """Create the parents (and theirs) that do not exist yet by dissolving their children, in
    ``tables``; ``names`` names the level's own parents, ``district`` is the created streets'
    district name. Returns a note per level created."""
    notes = []
    child_level = level
    while PARENT[child_level]:
        par = PARENT[child_level]
        ptable, pkey = TABLE[par], KEY[par]
        children = tables[TABLE[child_level]]
        missing = sorted(
            set(children[pkey].drop_nulls().to_list()) - set(tables[ptable][pkey].to_list())
        )
        if not missing:
            break
        created = _dissolved(
            children, par, missing, names if child_level == level else {}, district
        )
        tables[ptable] = schema.conform(
            ptable, pl.concat([tables[ptable], created], how="vertical").sort(pkey)
        )
        notes.append(
            f"由下级边界合并生成 {len(missing)} 个{par} / created {len(missing)} {par}(s) by dissolving their {child_level}s: {', '.join(missing[:5])}"
        )
        child_level = par
    return notes


def _dissolved(
    children: pl.DataFrame,
    par: str,
    missing: list[str],
    names: dict[str, str],
    district: str | None = None,
) -> pl.DataFrame:
    """Rows of level ``par`` for the ``missing`` codes: the union of their children, and the
    children's households and population summed (a community's street: its code prefix)."""
    ptable, pkey = TABLE[par], KEY[par]
    rows = []
    for pcode in missing:
        kids = children.filter(pl.col(pkey) == pcode)
        union = shapely.union_all(shapely.from_wkb(kids["geometry"].to_numpy()))
        row = {c: None for c in schema.TABLES[ptable]}
        row.update(
            {pkey: pcode, "name": names.get(pcode, pcode), "geometry": shapely.to_wkb(union)}
        )
        if par == "community":
            row["street_code"] = code_of(pcode, level="street")
            for c in ("households", "population"):
                row[c] = int(kids[c].sum()) if kids[c].null_count() < kids.height else None
        if par == "street":
            row["district"] = district or district_of(pcode)
        rows.append(row)
    return pl.DataFrame(rows, schema=schema.TABLES[ptable])


# --- check the hierarchy -------------------------------------------------------------------------


def _hierarchy_warnings(
    tables: dict[str, pl.DataFrame], *, row_of: dict[str, int], strict: bool
) -> list[dict]:
    """Gaps, overlaps, a grid outside its community (``geo.boundaries.check_hierarchy``) as
    warning rows, at the feature that has the first code named; ``strict``: an error instead."""
    found = check_hierarchy(
        streets=tables["streets"], communities=tables["communities"], grids=tables["grids"]
    )
    if strict and found:
        raise DataError(
            f"边界检查发现 {len(found)} 个问题（--strict）/ boundary checks found {len(found)} problem(s): "
            + "; ".join(p.message for p in found[:5])
        )
    return [
        {
            "row": row_of.get(p.code.split("/")[0]),
            "column": "geometry",
            "field": "geometry",
            "value": p.code,
            "reason": "boundary_warning",
            "message": f"{message('boundary_warning')} ({p.kind}): {p.message}",
            "severity": "warning",
        }
        for p in found
    ]
