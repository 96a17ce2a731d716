"""Import real data into a data directory: cases from Excel / CSV / Open311 JSON, boundaries
from GeoJSON / Shapefile / GeoPackage, and the reference tables (compounds, volunteer teams,
activities, party report-ins, micro-wishes; ``tables``) from Excel / CSV — validated, atomic,
nothing lost (docs/import.md).

``run_import`` is the one entry point; the CLI (``python -m data_layer import``) and the
数据导入 page both call it. An import builds a new version of the data directory and switches to
it only when everything has been written (``versions``); a dry run does all the work in a
temporary folder and changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from data_layer.domain import areas, schema
from data_layer.ingest.cases import OUTPUT_SCHEMA, CaseBatcher
from data_layer.ingest.mapping import Mapping, missing_required, resolve_columns
from data_layer.ingest.readers import ROW, FastPathFailed, Table, open_cases_file
from data_layer.ingest.reference import Reference
from data_layer.ingest.report import (
    FULL_REPORT_COLUMNS,
    ImportResult,
    duplicate_report,
    first_of_each_id,
    mask_report,
)
from data_layer.ingest.tables import import_table, spec_of
from data_layer.storage import versions
from data_layer.storage.source import DataError, table_path, tables_dir

__all__ = [
    "DataError",
    "ImportResult",
    "Mapping",
    "Progress",
    "run_import",
]

# progress(rows_done, fraction 0..1 or None, stage)
Progress = Callable[[int, float | None, str], None]
REFERENCE_TABLES = ("streets", "communities", "grids")


def _noop(rows: int, fraction: float | None, stage: str) -> None:
    return None


def _existing(prev: Path | None, table: str) -> pl.DataFrame:
    if prev is not None and table_path(prev, table).is_file():
        return schema.conform(table, pl.read_parquet(table_path(prev, table)))
    return schema.empty(table)


@dataclass
class _Work:
    """Where a run writes: the staging folder of a new version, or a temporary folder."""

    path: Path
    previous: Path | None
    scratch: Path

    def table_file(self, table: str) -> Path:
        return table_path(self.path, table)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------


def run_import(
    data_dir: Path | str,
    *,
    cases: Path | str | None = None,
    boundaries: Path | str | None = None,
    level: str | None = None,
    table: str | None = None,
    file: Path | str | None = None,
    mapping: Mapping | Path | str | None = None,
    crs: str | None = None,
    district: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    replace: bool = False,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
    _fail_after_write: bool = False,
) -> list[ImportResult]:
    """Import boundaries, cases and/or one reference table into ``data_dir`` as one new version
    (``district``: the district name imported streets carry when the file has none).

    ``table`` (compounds, volunteer_teams, activities, party_reports, wishes; or cases) names
    what ``file`` holds. Boundaries are imported first, so cases and tables are matched against
    the new grids. Nothing in ``data_dir`` changes on a dry run, on any exception, or when no
    row could be imported. ``replace``: the boundary file is a re-division
    (``ingest.redivision``, docs/import.md).

    Raises
    ------
    DataError
        For a file that cannot be used at all (empty, wrong encoding, required fields not mapped,
        no CRS, …): the message says what and how to fix it.
    """
    if (table is None) != (file is None):
        raise DataError("--table 与 --file 需同时指定 / --table and --file go together")
    if table == "cases":
        if cases is not None:
            raise DataError("--cases 与 --table cases 只能用一个 / give the cases file once")
        cases, table, file = file, None, None
    fields = spec_of(table).names() if table is not None else None
    if cases is None and boundaries is None and table is None:
        raise DataError("请指定 --cases、--boundaries 或 --table / nothing to import")
    if cases is not None and table is not None:
        raise DataError("--cases 与 --table 不能同时使用 / one of --cases and --table")
    if boundaries is not None and level not in areas.LEVELS:
        raise DataError("导入边界需要 --level street|community|grid / boundaries need --level")
    if replace and boundaries is None:
        raise DataError("--replace 只用于边界导入 / --replace needs --boundaries")
    job = _Job(
        cases=cases,
        boundaries=boundaries,
        level=level,
        table=table,
        file=file,
        crs=_normalized_crs(crs),
        mapping=_with_district(
            mapping if isinstance(mapping, Mapping) else Mapping.load(mapping, fields=fields),
            district,
        ),
        strict=strict,
        replace=replace,
        progress=progress or _noop,
        now=now,
    )
    data_dir = Path(data_dir)
    if dry_run:
        return _dry_run(data_dir, job)
    return _new_version(data_dir, job, fail_after_write=_fail_after_write)


def _with_district(mapping: Mapping, district: str | None) -> Mapping:
    """``--district`` (the name imported streets carry) over the mapping's [options] district."""
    if not district:
        return mapping
    return dataclasses.replace(mapping, options={**mapping.options, "district": district})


def _normalized_crs(crs: str | None) -> str | None:
    if not crs:
        return crs
    from geo.crs import CRSError, normalize_crs  # pyproj only for runs that name a CRS

    try:
        return normalize_crs(crs)
    except CRSError as exc:
        raise DataError(f"坐标系无效 / bad --crs: {exc}") from exc


@dataclass(frozen=True)
class _Job:
    """What one run imports, and how."""

    cases: Path | str | None
    boundaries: Path | str | None
    level: str | None
    table: str | None
    file: Path | str | None
    crs: str | None
    mapping: Mapping
    strict: bool
    replace: bool
    progress: Progress
    now: dt.datetime | None

    def run(self, work: _Work) -> list[ImportResult]:
        """Boundaries, then cases or a table against the grids as they are after the
        boundaries."""
        results: list[ImportResult] = []
        ref_tables = {t: _existing(work.previous, t) for t in REFERENCE_TABLES}
        if self.boundaries is not None:
            results.append(self._import_boundaries(work, ref_tables))
        if self.cases is not None:
            results.append(
                import_cases(
                    self.cases,
                    work,
                    Reference.from_tables(ref_tables),
                    self.mapping,
                    crs=self.crs,
                    now=self.now,
                    progress=self.progress,
                )
            )
        if self.boundaries is not None and results[0].detected.get("retired", {}).get("grid"):
            _move_cases(work, ref_tables, results[0], now=self.now)
        if self.table is not None:
            results.append(self._import_table(work, ref_tables))
        return results

    def _import_table(self, work: _Work, ref_tables: dict[str, pl.DataFrame]) -> ImportResult:
        """Import the table file into ``work`` (written only when a row lands)."""
        self.progress(0, None, self.table)
        result, frame = import_table(
            self.table,
            self.file,
            reference=Reference.from_tables(ref_tables),
            previous=_existing(work.previous, self.table),
            teams=_existing(work.previous, "volunteer_teams"),
            mapping=self.mapping,
            now=self.now,
        )
        if result.imported:
            schema.conform(self.table, frame).write_parquet(
                work.table_file(self.table), compression="zstd"
            )
        self.progress(result.read, 1.0, self.table)
        return result

    def _import_boundaries(self, work: _Work, ref_tables: dict[str, pl.DataFrame]) -> ImportResult:
        """Import the boundary file into ``work``; ``ref_tables`` takes the merged tables."""
        # geopandas and the geometry checks load only for runs with a boundary file
        from data_layer.ingest.boundaries import import_boundaries

        result, tables = import_boundaries(
            self.boundaries,
            level=self.level,
            existing=ref_tables,
            mapping=self.mapping,
            crs=self.crs,
            strict=self.strict,
            replace=self.replace,
            now=self.now,
            progress=self.progress,
        )
        if result.imported:
            for table, frame in tables.items():
                schema.conform(table, frame).write_parquet(
                    work.table_file(table), compression="zstd"
                )
                ref_tables[table] = frame
        return result

    def version_info(self, results: list[ImportResult]) -> dict:
        """What the new version records about the run."""
        return {
            "at": dt.datetime.now().isoformat(timespec="seconds"),
            "cases": str(self.cases) if self.cases else None,
            "boundaries": str(self.boundaries) if self.boundaries else None,
            "level": self.level,
            "table": self.table,
            "file": str(self.file) if self.file else None,
            "results": [r.summary() for r in results],
        }


def _move_cases(
    work: _Work, ref_tables: dict[str, pl.DataFrame], result: ImportResult, *, now
) -> None:
    """Cases of the grids a re-division retired: moved by their point, or kept (redivision)."""
    from data_layer.ingest import redivision  # shapely only for re-divisions

    source = work.table_file("cases")
    if not source.is_file() and work.previous is not None:
        source = table_path(work.previous, "cases")
    if not source.is_file():
        return
    cases = pl.read_parquet(source, columns=["case_id", "grid_code", "lon", "lat"])
    now = result.detected.get("redivided_at") or now
    plan = redivision.plan_moves(
        cases, ref_tables, retired=result.detected["retired"]["grid"], now=now
    )
    if source != work.table_file("cases"):
        shutil.copyfile(source, work.table_file("cases"))
    redivision.write_moved_cases(work.table_file("cases"), plan.moves)
    moves = pl.concat([_existing(work.previous, "case_moves"), plan.moves], how="vertical")
    moves.write_parquet(work.table_file("case_moves"), compression="zstd")
    result.report = pl.concat([result.report, plan.report()], how="vertical")
    result.detected["cases_reassigned"] = plan.moves.height
    result.detected["cases_kept"] = plan.kept.height
    result.notes.append(
        f"网格调整：{plan.moves.height} 件案件按坐标改派，{plan.kept.height} 件保留在已撤销网格 / "
        f"re-division: {plan.moves.height} case(s) re-assigned by their point, "
        f"{plan.kept.height} kept under their retired grid (listed in the report)"
    )


def _dry_run(data_dir: Path, job: _Job) -> list[ImportResult]:
    """All the work in a temporary folder that is then thrown away."""
    with tempfile.TemporaryDirectory(prefix="gridpulse-dry-run-") as tmp:
        previous = tables_dir(data_dir) if data_dir.is_dir() else None
        return job.run(_Work(Path(tmp), previous, Path(tmp)))


def _new_version(data_dir: Path, job: _Job, *, fail_after_write: bool) -> list[ImportResult]:
    """The work in a staging folder that becomes the current version once it is all written
    (and is discarded when no row could be imported)."""
    # staging holds the one writer lock: a simulate tick waits, or builds on this version
    with versions.staging(data_dir) as stage:
        previous = (
            stage.previous
            if any(table_path(stage.previous, t).is_file() for t in schema.TABLES)
            else None
        )
        results = job.run(_Work(stage.path, previous, stage.path.parent))
        if not any(r.imported for r in results):
            return results  # nothing to switch to: the staging folder is discarded
        if fail_after_write:  # tests: an exception after the tables are written, before the switch
            raise RuntimeError("simulated failure before the version switch")
        name = stage.commit(job.version_info(results))
        for r in results:
            r.notes.append(f"版本 / version {name}")
        return results


# --------------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------------


def import_cases(
    path: Path | str,
    work: _Work,
    reference: Reference,
    mapping: Mapping,
    *,
    crs: str | None,
    now: dt.datetime | None,
    progress: Progress,
) -> ImportResult:
    """Import a case file into ``work``; polars' fast CSV reader first, and if it gives up
    mid-file (an odd quote), once more with the careful reader."""
    try:
        return _import_cases(path, work, reference, mapping, crs=crs, now=now, progress=progress)
    except FastPathFailed:
        return _import_cases(
            path, work, reference, mapping, crs=crs, now=now, progress=progress, fast=False
        )


def _import_cases(
    path: Path | str,
    work: _Work,
    reference: Reference,
    mapping: Mapping,
    *,
    crs: str | None,
    now: dt.datetime | None,
    progress: Progress,
    fast: bool = True,
) -> ImportResult:
    """Validate the file batch by batch into parts (accepted rows, problems) in a scratch
    folder, keep the first row of each case id, and write the cases table: the previous
    cases the file does not name, then the file's."""
    started = time.monotonic()
    parts = Path(tempfile.mkdtemp(prefix=".parts-", dir=work.scratch))
    try:
        table, resolved = _open_mapped(path, mapping, parts=parts, fast=fast)
        crs = crs or mapping.option("crs", "wgs84")
        batcher = CaseBatcher(
            resolved,
            mapping,
            reference,
            crs=crs,
            default_source=mapping.option("default_source"),
            now=now,
            open311=table.format == "open311",
        )
        result = ImportResult(kind="cases")
        result.detected = {
            "format": table.format,
            "encoding": table.encoding,
            "header_row": table.header_row,
            "mapping": resolved,
            "crs": crs,
        }
        _validate_batches(table, batcher, parts=parts, result=result, progress=progress)
        accepted = pl.scan_parquet(sorted(parts.glob("a*.parquet")))
        first, dups = first_of_each_id(accepted, key="case_id")
        problems = pl.concat(
            [pl.read_parquet(p) for p in sorted(parts.glob("p*.parquet"))]
            + [
                duplicate_report(
                    dups, key="case_id", column=resolved.get("case_id", "case_id")
                ).with_columns(severity=pl.lit("rejected"))
            ],
            how="vertical",
        )
        rejected = problems.filter(pl.col("severity") == "rejected")["row"]
        # a warning of a row rejected later (a duplicate id) is not listed
        problems = problems.filter(
            (pl.col("severity") == "rejected") | ~pl.col("row").is_in(rejected.implode())
        )
        result.report = problems.sort("row", "column").select(list(FULL_REPORT_COLUMNS))
        result.rejected = rejected.n_unique()
        result.warned = problems.filter(pl.col("severity") == "warning")["row"].n_unique()
        result.imported = first.height
        _write_cases(accepted, first=first, dups=dups, work=work, result=result, progress=progress)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
    if not result.reconciled:  # an invariant, not a user error
        raise RuntimeError(f"import does not reconcile: {result.summary()}")
    result.seconds = time.monotonic() - started
    return result


def _open_mapped(
    path: Path | str, mapping: Mapping, *, parts: Path, fast: bool
) -> tuple[Table, dict[str, str]]:
    """The open file and its column mapping (field → header); a DataError when a required
    field has no column."""
    table = open_cases_file(path, mapping, scratch=parts, fast=fast)
    resolved = resolve_columns(table.headers, mapping)
    missing = missing_required(resolved)
    if missing:
        raise DataError(
            f"缺少必填字段 / required fields not mapped: {'; '.join(missing)}. "
            f"文件中的表头（{len(table.headers)} 个）/ the file's {len(table.headers)} headers: "
            f"{', '.join(table.headers)}. "
            "请在映射文件 [columns] 中指定（导入页面可以生成映射文件）/ map them in a mapping file."
        )
    return table, resolved


def _validate_batches(
    table: Table,
    batcher: CaseBatcher,
    *,
    parts: Path,
    result: ImportResult,
    progress: Progress,
) -> None:
    """Each batch's accepted rows and (masked) problems as parquet parts; counts rows read."""
    n_parts = 0
    for batch in table.batches:
        accepted, problems = batcher.process(batch)
        accepted.write_parquet(parts / f"a{n_parts:05d}.parquet")
        mask_report(problems).write_parquet(parts / f"p{n_parts:05d}.parquet")
        n_parts += 1
        result.read += batch.height
        if table.total_rows:
            fraction = result.read / table.total_rows
        else:
            fraction = table.position() / table.size if table.size else None
        progress(result.read, fraction, "cases")
    if result.read == 0:
        raise DataError("文件中没有数据行（只有表头） / the file has a header but no data rows")


def _write_cases(
    accepted: pl.LazyFrame,
    *,
    first: pl.DataFrame,
    dups: pl.DataFrame,
    work: _Work,
    result: ImportResult,
    progress: Progress,
) -> None:
    """The cases table of ``work``: previous cases whose id the file does not name (the
    others count as updated), then the file's first row of each id."""
    new_ids = first.select("case_id").lazy()
    prev_file = table_path(work.previous, "cases") if work.previous else None
    if prev_file is not None and prev_file.is_file():
        prev = pl.scan_parquet(prev_file)
        result.updated = (
            prev.join(new_ids, on="case_id", how="semi").select(pl.len()).collect().item()
        )
        kept = prev.join(new_ids, on="case_id", how="anti")
    else:
        kept = schema.empty("cases").lazy()
    result.inserted = result.imported - result.updated
    progress(result.read, 1.0, "writing")
    fresh = accepted.join(dups.select(ROW).lazy(), on=ROW, how="anti").drop(ROW)
    merged = pl.concat([kept, fresh], how="diagonal_relaxed").select(
        pl.col(c).cast(t)
        if c in kept.collect_schema().names() or c in fresh.collect_schema().names()
        else pl.lit(None, dtype=t).alias(c)
        for c, t in OUTPUT_SCHEMA.items()
    )
    merged.sink_parquet(work.table_file("cases"), compression="zstd", statistics=True)
