"""GridPulse command line: ``python -m data_layer {demo,kpis,check} --help``.

The CLI is the contract that other tools and the benchmark use; ``kpis`` prints exactly the
figures the pages show for the same filter.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import time
from pathlib import Path

from data_layer.domain import areas, metrics
from data_layer.domain.filters import Filter, now_local
from data_layer.domain.scope import Scope
from data_layer.queries import figures
from data_layer.storage.source import DataError, open_dataset


class ProgressBar:
    """A one-line progress bar on stderr: ``[#####     ]  50%  stage  12.3 s``."""

    def __init__(self, *, stream=sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self.started = stream, width, time.monotonic()
        self.last = ""

    def __call__(self, stage: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = int(self.width * fraction)
        line = (
            f"\r[{'#' * filled}{' ' * (self.width - filled)}] {fraction * 100:5.1f}%  "
            f"{stage[:50]:<50} {time.monotonic() - self.started:6.1f} s"
        )
        if line != self.last:
            self.stream.write(line)
            self.stream.flush()
            self.last = line

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _datetime(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not an ISO time (YYYY-MM-DDTHH:MM[:SS]): {text!r}"
        ) from exc


def cmd_demo(args: argparse.Namespace) -> int:
    from data_layer import demo

    bar = ProgressBar()
    started = time.monotonic()
    try:
        counts = demo.generate(
            out=Path(args.out), scale=args.scale, seed=args.seed, anchor=args.anchor, progress=bar
        )
    finally:
        bar.close()
    rows = ", ".join(f"{table} {n:,}" for table, n in counts.items())
    print(
        f"demo district ({args.scale}, seed {args.seed}) written to {args.out} in {time.monotonic() - started:.1f} s: {rows}"
    )
    return 0


def filter_from_args(args: argparse.Namespace) -> Filter:
    as_of = args.as_of or now_local()
    if args.date_from or args.date_to:
        if not args.date_from:
            raise DataError("--to needs --from as well")
        end = args.date_to or as_of.date()
        return Filter(
            streets=tuple(args.street or ()),
            communities=tuple(args.community or ()),
            period="custom",
            start=args.date_from,
            end=end,
            categories=tuple(args.category or ()),
            sources=tuple(args.source or ()),
            as_of=as_of,
        )
    return Filter(
        streets=tuple(args.street or ()),
        communities=tuple(args.community or ()),
        period=args.period,
        categories=tuple(args.category or ()),
        sources=tuple(args.source or ()),
        as_of=as_of,
    )


def kpi_rows(frame) -> list[dict]:
    """Result rows in the CLI's JSON form: level, code, name and every metric of DESIGN §2."""
    out = []
    for row in frame.iter_rows(named=True):
        out.append(
            {
                "level": row["level"],
                "code": None if row["level"] == "scope" else row["code"],
                "name": row["name"],
                "metrics": {key: metrics.metric_fields(row, key) for key in metrics.METRICS},
            }
        )
    return out


def cmd_kpis(args: argparse.Namespace) -> int:
    ds = open_dataset(args.data)
    flt = filter_from_args(args)
    window = flt.window()
    frame = figures.kpis(ds, flt, Scope.everything(), by=args.by, window=window)
    rows = kpi_rows(frame)
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        header = ["level", "code", "name"]
        for key, metric in metrics.METRICS.items():
            header.append(key)
            if metric.is_rate:
                header += [f"{key}.numerator", f"{key}.denominator"]
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        for row in rows:
            line = [row["level"], row["code"], row["name"]]
            for key, metric in metrics.METRICS.items():
                fields = row["metrics"][key]
                line.append(fields["value"])
                if metric.is_rate:
                    line += [fields["numerator"], fields["denominator"]]
            writer.writerow(["" if v is None else v for v in line])
    print(
        f"period {window.start}..{window.end}, as of {window.as_of.isoformat(timespec='seconds')}",
        file=sys.stderr,
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from data_layer.ingest.check import check_dataset

    ds = open_dataset(args.data)
    problems = check_dataset(ds, geometry=not args.no_geometry)
    for problem in problems:
        print(f"- {problem}")
    rows = ", ".join(f"{t} {ds[t].height:,}" for t in ds.tables)
    if problems:
        print(f"{len(problems)} problem(s) in {args.data} ({rows})")
        return 1
    print(f"OK: {args.data} ({rows})")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from data_layer.demo import simulate

    def report(result: simulate.TickResult) -> None:
        print(
            f"{result.at:%H:%M:%S}  +{result.new_cases} new, {result.advanced} moved on, {result.total:,} cases",
            flush=True,
        )

    try:
        simulate.run(
            args.data,
            per_minute=args.per_minute,
            interval_s=args.interval,
            ticks=args.ticks,
            seed=args.seed,
            report=report,
        )
    except KeyboardInterrupt:
        print("stopped")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from data_layer.ingest import run_import
    from data_layer.ingest.report import write_report_csv

    started = time.monotonic()

    def progress(rows: int, fraction: float | None, stage: str) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        frac = fraction if fraction is not None else 0.0
        bar(f"{stage}: {rows:,} rows, {rows / elapsed:,.0f} rows/s", frac)

    bar = ProgressBar()
    try:
        results = run_import(
            args.data,
            cases=args.cases,
            boundaries=args.boundaries,
            level=args.level,
            mapping=args.mapping,
            crs=args.crs,
            dry_run=args.dry_run,
            strict=args.strict,
            progress=progress,
        )
    finally:
        bar.close()
    elapsed = time.monotonic() - started
    for r in results:
        print(r.summary())
        for note in r.notes:
            print(f"  {note}")
        reasons = r.reasons()
        for row in reasons.iter_rows(named=True):
            print(
                f"  - [{row['severity']}] {row['reason']}: {row['rows']:,} row(s) — {row['message']}"
            )
        if r.kind == "cases" and r.seconds:
            print(f"  {r.read / r.seconds:,.0f} rows/s")
    if args.report:
        import polars as pl

        write_report_csv(pl.concat([r.report for r in results]), args.report)
        print(f"report: {args.report}")
    imported = any(r.imported for r in results)
    if args.dry_run:
        print(f"dry run: nothing written to {args.data} ({elapsed:.1f} s)")
    elif imported:
        print(f"imported into {args.data} ({elapsed:.1f} s)")
    else:
        print(f"nothing imported; {args.data} unchanged")
    return 0 if imported or args.dry_run else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_layer",
        description="GridPulse 网格治理驾驶舱 — data tools: generate a demo district, print KPIs, check a data directory.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    from data_layer.demo.scales import SCALES

    scales = "; ".join(f"{name}: {info['description']}" for name, info in SCALES.items())
    demo = sub.add_parser(
        "demo",
        help="generate a deterministic demo district",
        description=f"Generate a demo district into a data directory. Scales — {scales}.",
        epilog="example: python -m data_layer demo --out data --scale district --seed 42 --anchor 2026-11-29",
    )
    demo.add_argument("--out", required=True, help="data directory to write (created if missing)")
    demo.add_argument("--scale", choices=list(SCALES), default="district")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument(
        "--anchor", type=_date, default=None, help="last day of data, YYYY-MM-DD (default: today)"
    )
    demo.set_defaults(func=cmd_demo)

    kpis = sub.add_parser(
        "kpis",
        help="print every metric with numerator and denominator",
        description="Print every metric of the reference design (docs/metrics.md) for a filter — the same figures the pages show.",
        epilog=(
            "example: python -m data_layer kpis --data data --street 360102001 --from 2026-01-01 "
            "--to 2026-03-31 --as-of 2026-04-01T09:00 --by community --format json"
        ),
    )
    kpis.add_argument("--data", required=True, type=Path, help="data directory")
    kpis.add_argument(
        "--street", nargs="+", action="extend", metavar="CODE", help="street office code(s)"
    )
    kpis.add_argument(
        "--community", nargs="+", action="extend", metavar="CODE", help="community code(s)"
    )
    kpis.add_argument(
        "--category", nargs="+", action="extend", metavar="CODE", help="case category code(s)"
    )
    kpis.add_argument(
        "--source", nargs="+", action="extend", metavar="CODE", help="case source code(s)"
    )
    kpis.add_argument(
        "--period",
        default="this_month",
        choices=["this_month", "this_quarter", "this_year", "last_12_months"],
        help="preset period up to the as-of day when --from/--to are not given (default this_month)",
    )
    kpis.add_argument(
        "--from", dest="date_from", type=_date, metavar="YYYY-MM-DD", help="first day of the period"
    )
    kpis.add_argument(
        "--to",
        dest="date_to",
        type=_date,
        metavar="YYYY-MM-DD",
        help="last day of the period (default: as-of day)",
    )
    kpis.add_argument(
        "--as-of",
        dest="as_of",
        type=_datetime,
        metavar="ISO-TIME",
        help="count everything as known at this local time (default: now)",
    )
    kpis.add_argument(
        "--by", choices=list(areas.LEVELS), help="one row per street, community or grid in scope"
    )
    kpis.add_argument("--format", choices=["json", "csv"], default="json")
    kpis.set_defaults(func=cmd_kpis)

    sim = sub.add_parser(
        "simulate",
        help="keep reporting new cases and moving open ones through the loop (live demo)",
        description=(
            "Simulate a live system on a data directory: every --interval seconds, report new cases "
            "(about --per-minute a minute) and move open cases one stage on "
            "(立案 → 派遣 → 处置 → 核查 → 结案). cases.parquet is replaced atomically, so readers never "
            "see a half-written file. Stop with Ctrl-C."
        ),
        epilog="example: python -m data_layer simulate --data data --per-minute 12",
    )
    sim.add_argument("--data", required=True, type=Path, help="data directory")
    sim.add_argument(
        "--per-minute", type=float, default=6.0, help="new cases per minute (default 6)"
    )
    sim.add_argument(
        "--interval", type=float, default=10.0, help="seconds between writes (default 10)"
    )
    sim.add_argument(
        "--ticks",
        type=int,
        default=None,
        help="stop after this many writes (default: run until Ctrl-C)",
    )
    sim.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    sim.set_defaults(func=cmd_simulate)

    check = sub.add_parser(
        "check",
        help="validate a data directory",
        description="Validate a data directory: schema, keys, references, code nesting, values, time order and boundary nesting (gaps, overlaps). Exit 1 on problems.",
        epilog="example: python -m data_layer check --data data",
    )
    check.add_argument("--data", required=True, type=Path, help="data directory")
    check.add_argument("--no-geometry", action="store_true", help="skip the boundary checks")
    check.set_defaults(func=cmd_check)

    imp = sub.add_parser(
        "import",
        help="import cases (Excel/CSV/Open311 JSON) and boundaries (GeoJSON/Shapefile/GeoPackage)",
        description=(
            "Import real data into a data directory as a new version (docs/import.md). Every row "
            "lands or is rejected with row, column, value and reason; read = imported + rejected. "
            "The data directory switches to the new version only when everything is written; a "
            "failure leaves it unchanged. Exit 0 when rows were imported (or on --dry-run), 1 when "
            "nothing could be imported, 2 when the file cannot be used at all."
        ),
        epilog=(
            "example: python -m data_layer import --data data --boundaries grids.zip --level grid "
            "--crs gcj02 --cases 案件导出.xlsx --report report.csv --dry-run"
        ),
    )
    imp.add_argument("--data", required=True, type=Path, help="data directory (created if missing)")
    imp.add_argument("--cases", type=Path, help="cases: .csv (UTF-8/GBK), .xlsx or Open311 .json")
    imp.add_argument(
        "--boundaries", type=Path, help="boundaries: .geojson, .zip (Shapefile), .shp or .gpkg"
    )
    imp.add_argument("--level", choices=list(areas.LEVELS), help="level of --boundaries")
    imp.add_argument(
        "--mapping", type=Path, help="column mapping file (TOML; the import page saves one)"
    )
    imp.add_argument(
        "--crs",
        help="coordinate system of the file(s): wgs84, cgcs2000, gcj02, bd09 or EPSG:NNNN "
        "(boundaries: overrides the file's; cases: default wgs84)",
    )
    imp.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    imp.add_argument("--report", type=Path, help="write the row report (CSV, personal data masked)")
    imp.add_argument(
        "--strict", action="store_true", help="stop when the boundary checks find gaps/overlaps"
    )
    imp.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
