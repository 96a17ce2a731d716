"""Boundary import: streets, communities or grids from GeoJSON, a (zipped) Shapefile or a
GeoPackage, converted to WGS 84 and merged into the reference tables by code.

* CRS: the file's own (``.prj``, GeoPackage SRS) unless ``--crs`` says otherwise; a file without
  any CRS needs ``--crs`` and says so. GeoJSON is WGS 84 by its specification, so a GeoJSON
  digitised on AMap (GCJ-02) or Baidu (BD-09) needs ``--crs gcj02`` / ``--crs bd09``.
* Shapefile attribute encoding from the ``.cpg``; without one, UTF-8 is tried, then GB18030.
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

import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import polars as pl
import shapely

from data_layer.domain import schema
from data_layer.domain.areas import DIGITS, KEY, PARENT, TABLE, code_of, district_of
from data_layer.ingest.mapping import BOUNDARY_ALIASES, Mapping, normalize_header
from data_layer.ingest.report import FULL_REPORT_COLUMNS, ImportResult, message
from data_layer.storage.source import DataError

REPAIR_TOLERANCE = 0.01  # relative area change accepted for a repaired geometry
CHINA = (73.0, 3.0, 136.0, 54.0)


def _pick_layer_file(path: Path, tmp: Path) -> tuple[str, bool]:
    """(path for pyogrio, has .cpg) — a zip is extracted and its .shp / .gpkg / .geojson found."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile as exc:
            raise DataError(f"不是有效的 zip 文件 / not a valid zip: {path.name}") from exc
        for ext in (".shp", ".gpkg", ".geojson", ".json"):
            found = sorted(p for p in tmp.rglob(f"*{ext}") if not p.name.startswith("._"))
            if found:
                return str(found[0]), found[0].with_suffix(".cpg").exists()
        raise DataError(f"zip 中没有 .shp / .gpkg / .geojson / no boundary file in {path.name}")
    return str(path), path.with_suffix(".cpg").exists()


def read_boundaries(
    path: Path | str, *, crs: str | None = None, layer: str | None = None
) -> tuple[gpd.GeoDataFrame, str]:
    """The features in WGS 84 and the source CRS used."""
    import pyogrio

    from geo.crs import CRSError, to_wgs84

    path = Path(path)
    if not path.is_file():
        raise DataError(f"文件不存在 / file not found: {path}")
    if path.stat().st_size == 0:
        raise DataError(f"文件为空 / the file is empty: {path.name}")
    ext = path.suffix.lower()
    if ext not in (".zip", ".shp", ".geojson", ".json", ".gpkg"):
        raise DataError(
            f"不支持的边界文件 / unsupported boundary file {ext}: 请用 GeoJSON、Shapefile(.zip) 或 GeoPackage。"
        )
    with tempfile.TemporaryDirectory() as tmp:
        src, has_cpg = _pick_layer_file(path, Path(tmp))
        is_shp = src.lower().endswith(".shp")
        if is_shp and not Path(src).with_suffix(".dbf").exists():
            raise DataError(
                "Shapefile 缺少 .dbf 文件 / the shapefile has no .dbf (zip the .shp, .shx, .dbf, .prj and .cpg together)"
            )
        try:
            if is_shp and not has_cpg:
                try:
                    gdf = pyogrio.read_dataframe(src, layer=layer, encoding="utf-8")
                except Exception:  # not UTF-8: Chinese shapefiles without .cpg are GBK
                    gdf = pyogrio.read_dataframe(src, layer=layer, encoding="gb18030")
            else:
                gdf = pyogrio.read_dataframe(src, layer=layer)
        except DataError:
            raise
        except Exception as exc:
            raise DataError(
                f"无法读取边界文件 / cannot read {path.name}: {str(exc).splitlines()[0]}"
            ) from exc
    if gdf.empty:
        raise DataError(f"边界文件中没有要素 / no features in {path.name}")
    if crs is None:
        if gdf.crs is None:
            raise DataError(
                f"{path.name} 没有坐标系信息（缺少 .prj 等）/ the file has no CRS information: "
                "请用 --crs 指定，例如 --crs gcj02（高德）、bd09（百度）、cgcs2000、wgs84 或 EPSG:4547。"
            )
        epsg = gdf.crs.to_epsg()
        source = (
            "cgcs2000"
            if epsg == 4490
            else "wgs84"
            if gdf.crs.is_geographic
            else f"EPSG:{epsg}"
            if epsg
            else None
        )
        if source is None:
            gdf = gdf.to_crs("EPSG:4326")
            source = gdf.crs.to_string()
        else:
            gdf = to_wgs84(gdf, source=source)
    else:
        source = crs
        try:
            gdf = to_wgs84(gdf, source=crs)
        except CRSError as exc:
            raise DataError(f"坐标系不一致 / CRS mismatch: {exc}") from exc
    valid = gdf.geometry[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if len(valid):
        x0, y0, x1, y1 = valid.total_bounds
        if not (
            np.isfinite([x0, y0, x1, y1]).all()
            and x0 >= CHINA[0]
            and x1 <= CHINA[2]
            and y0 >= CHINA[1]
            and y1 <= CHINA[3]
        ):
            raise DataError(
                f"换算后的坐标不在中国境内 / coordinates are outside China after conversion "
                f"({x0:.3f},{y0:.3f} – {x1:.3f},{y1:.3f}): 坐标系是否指定错了？请检查 --crs。"
            )
    return gdf, source


def _attr_columns(gdf: gpd.GeoDataFrame, level: str, mapping: Mapping) -> dict[str, str]:
    """field → attribute column."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    explicit = {normalize_header(k): v for k, v in mapping.columns.items()}
    out: dict[str, str] = {}
    for c in columns:
        target = explicit.get(normalize_header(c))
        if target and target not in out:
            out[target] = c
    aliases = BOUNDARY_ALIASES[level]
    for fld, names in aliases.items():
        if fld in out:
            continue
        wanted = [normalize_header(n) for n in names]
        for n in wanted:
            hit = next(
                (c for c in columns if normalize_header(c) == n and c not in out.values()), None
            )
            if hit:
                out[fld] = hit
                break
    return out


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


def import_boundaries(
    path: Path | str,
    *,
    level: str,
    existing: dict[str, pl.DataFrame],
    mapping: Mapping,
    crs: str | None,
    strict: bool = False,
    progress=None,
) -> tuple[ImportResult, dict[str, pl.DataFrame]]:
    """Read, validate and merge one level; returns the result and the updated tables."""
    import time

    from geo.boundaries import check_hierarchy

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
    rows = list(range(1, n + 1))
    problems: list[dict] = []

    def problem(
        i: int, fld: str, value, reason: str, detail: str = "", severity: str = "rejected"
    ) -> None:
        problems.append(
            {
                "row": rows[i],
                "column": cols.get(fld, fld),
                "field": fld,
                "value": None if value is None else str(value)[:200],
                "reason": reason,
                "message": message(reason) + (f": {detail}" if detail else ""),
                "severity": severity,
            }
        )

    def col(fld: str) -> list[str | None]:
        return _text(gdf[cols[fld]]) if fld in cols else [None] * n

    codes = [None if c is None else c.removesuffix(".0") for c in col("code")]
    names = col("name")
    parent_codes = col("parent_code")
    parent_names = col("parent_name")
    digits = DIGITS[level]
    parent_level = PARENT[level]
    table = TABLE[level]
    key = KEY[level]
    old = existing[table]
    parent_table = TABLE[parent_level] if parent_level else None
    parents_old = existing[parent_table] if parent_table else None
    rejected = np.zeros(n, dtype=bool)

    # codes: given, or found by (parent, name) among existing areas
    old_by_name = {}
    if old.height:
        parent_key = KEY[parent_level] if parent_level else None
        for r in old.iter_rows(named=True):
            old_by_name.setdefault((r[parent_key] if parent_key else None, r["name"]), r[key])
    parent_by_name = {}
    if parents_old is not None and parents_old.height:
        for code, nm in zip(
            parents_old[KEY[parent_level]].to_list(), parents_old["name"].to_list(), strict=True
        ):
            parent_by_name.setdefault(nm, set()).add(code)

    final_parent: list[str | None] = [None] * n
    seen: dict[str, int] = {}
    for i in range(n):
        pc = parent_codes[i]
        if pc is None and parent_names[i] is not None and parent_level:
            found = parent_by_name.get(parent_names[i], set())
            pc = next(iter(found)) if len(found) == 1 else None
        code = codes[i]
        if code is None and names[i] is not None:
            code = old_by_name.get((pc, names[i]))
            codes[i] = code
        if code is None:
            problem(
                i,
                "code",
                None,
                "missing_code",
                f"{level} 需要 {digits} 位编码 / needs a {digits}-digit code",
            )
            rejected[i] = True
            continue
        if not (len(code) == digits and code.isascii() and code.isdigit()):
            problem(i, "code", code, "bad_code", f"应为 {digits} 位数字 / must be {digits} digits")
            rejected[i] = True
            continue
        if parent_level:
            prefix = code_of(code, level=parent_level)
            if pc is not None and pc != prefix:
                problem(
                    i,
                    "parent_code" if parent_codes[i] else "parent_name",
                    parent_codes[i] or parent_names[i],
                    "parent_mismatch",
                    f"{code} → {prefix}",
                )
                rejected[i] = True
                continue
            final_parent[i] = prefix
        if code in seen:
            problem(
                i,
                "code",
                code,
                "duplicate_id",
                f"与第 {seen[code]} 个要素相同 / same as feature {seen[code]}",
            )
            rejected[i] = True
            continue
        seen[code] = rows[i]

    # geometry: present, polygonal, valid (or safely repaired)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    fixed = geoms.copy()
    for i in range(n):
        if rejected[i]:
            continue
        g = geoms[i]
        if g is None or g.is_empty:
            problem(i, "geometry", codes[i], "missing_geometry")
            rejected[i] = True
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            problem(i, "geometry", codes[i], "not_polygon", g.geom_type)
            rejected[i] = True
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            repaired = shapely.make_valid(g)
            polys = [
                p for p in shapely.get_parts(repaired) if p.geom_type in ("Polygon", "MultiPolygon")
            ]
            repaired = shapely.union_all(polys) if polys else None
            before = abs(shapely.area(shapely.buffer(g, 0))) or 1e-30
            if (
                repaired is None
                or repaired.is_empty
                or abs(repaired.area - before) / before > REPAIR_TOLERANCE
            ):
                problem(i, "geometry", codes[i], "unrepairable_geometry", reason)
                rejected[i] = True
                continue
            problem(i, "geometry", codes[i], "invalid_geometry", reason, severity="warning")
            fixed[i] = repaired
        if fixed[i].geom_type == "MultiPolygon" or fixed[i].geom_type == "Polygon":
            fixed[i] = shapely.force_2d(fixed[i])

    ok = np.flatnonzero(~rejected)
    frame = pl.DataFrame(
        {
            key: [codes[i] for i in ok],
            "name": [names[i] or codes[i] for i in ok],
            "geometry": [shapely.to_wkb(fixed[i]) for i in ok],
        },
        schema={key: pl.String, "name": pl.String, "geometry": pl.Binary},
    )
    if parent_level:
        frame = frame.with_columns(
            pl.Series(KEY[parent_level], [final_parent[i] for i in ok], dtype=pl.String)
        )
    target_schema = schema.TABLES[table]
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
        kind_words = {
            "基础网格": "basic",
            "基本网格": "basic",
            "basic": "basic",
            "专属网格": "dedicated",
            "dedicated": "dedicated",
        }
        org_words = {
            "党支部": "branch",
            "网格党支部": "branch",
            "branch": "branch",
            "党小组": "group",
            "group": "group",
            "无": "none",
            "none": "none",
        }
        frame = frame.with_columns(
            pl.col("kind").replace_strict(kind_words, default="basic", return_dtype=pl.String),
            pl.col("party_org").replace_strict(org_words, default=None, return_dtype=pl.String),
        )
    frame = frame.select(list(target_schema))

    # merge by code: given attributes win, missing ones keep the existing values
    old_cols = [c for c in target_schema if c != key]
    merged = frame.join(old, on=key, how="left", suffix="__old")
    merged = merged.with_columns(
        pl.coalesce(pl.col(c), pl.col(f"{c}__old")).alias(c)
        for c in old_cols
        if f"{c}__old" in merged.columns
    ).select(list(target_schema))
    result.updated = frame.join(old, on=key, how="semi").height
    new_table = pl.concat([old.join(frame, on=key, how="anti"), merged], how="vertical").sort(key)
    tables = dict(existing)
    tables[table] = schema.conform(table, new_table)

    # parents that do not exist yet: dissolve their children
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
        name_of = {}
        if child_level == level:
            for i in ok:
                if parent_names[i] and final_parent[i]:
                    name_of.setdefault(final_parent[i], parent_names[i])
        new_rows = []
        for pcode in missing:
            kids = children.filter(pl.col(pkey) == pcode)
            union = shapely.union_all(shapely.from_wkb(kids["geometry"].to_numpy()))
            row = {c: None for c in schema.TABLES[ptable]}
            row.update(
                {pkey: pcode, "name": name_of.get(pcode, pcode), "geometry": shapely.to_wkb(union)}
            )
            if par == "community":
                row["street_code"] = code_of(pcode, level="street")
                for c in ("households", "population"):
                    row[c] = int(kids[c].sum()) if kids[c].null_count() < kids.height else None
            if par == "street":
                row["district"] = district_of(pcode)
            new_rows.append(row)
        tables[ptable] = schema.conform(
            ptable,
            pl.concat(
                [tables[ptable], pl.DataFrame(new_rows, schema=schema.TABLES[ptable])],
                how="vertical",
            ).sort(pkey),
        )
        result.notes.append(
            f"由下级边界合并生成 {len(missing)} 个{par} / created {len(missing)} {par}(s) by dissolving their {child_level}s: {', '.join(missing[:5])}"
        )
        child_level = par

    # hierarchy checks on the result
    found = check_hierarchy(
        streets=tables["streets"], communities=tables["communities"], grids=tables["grids"]
    )
    row_of = {codes[i]: rows[i] for i in ok}
    relevant = found
    for p in relevant:
        first_code = p.code.split("/")[0]
        problems.append(
            {
                "row": row_of.get(first_code),
                "column": "geometry",
                "field": "geometry",
                "value": p.code,
                "reason": "boundary_warning",
                "message": f"{message('boundary_warning')} ({p.kind}): {p.message}",
                "severity": "warning",
            }
        )
    if strict and relevant:
        raise DataError(
            f"边界检查发现 {len(relevant)} 个问题（--strict）/ boundary checks found {len(relevant)} problem(s): "
            + "; ".join(p.message for p in relevant[:5])
        )
    result.report = (
        pl.DataFrame(problems, schema=FULL_REPORT_COLUMNS)
        if problems
        else pl.DataFrame(schema=FULL_REPORT_COLUMNS)
    )
    result.imported = len(ok)
    result.rejected = int(rejected.sum())
    result.inserted = result.imported - result.updated
    result.warnings = [p["message"] for p in problems if p["severity"] == "warning"]
    result.seconds = time.monotonic() - started
    if progress:
        progress(n, 1.0, f"boundaries:{level}")
    return result, tables
