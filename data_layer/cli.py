"""GridPulse command line: ``python -m data_layer {demo,kpis,check,import,simulate,db} --help``.

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

from data_layer.domain import areas, logging_filter, metrics, spreadsheet
from data_layer.domain.filters import (
    BASES,
    DEFAULT_BASIS,
    DEFAULT_PERIOD,
    PERIODS,
    Filter,
    now_local,
)
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
            basis=args.basis,
        )
    return Filter(
        streets=tuple(args.street or ()),
        communities=tuple(args.community or ()),
        period=args.period,
        categories=tuple(args.category or ()),
        sources=tuple(args.source or ()),
        as_of=as_of,
        basis=args.basis,
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
        if row.get("retired"):  # a grid retired by a re-division that still holds cases
            out[-1]["retired"] = True
    return out


def scope_from_args(args: argparse.Namespace) -> Scope:
    """``--user NAME``: that account's scope (a local or a demo account of ``--data``), so
    the figures are the ones that user sees in the app; without it the whole district (an
    operator at the shell)."""
    if not args.user:
        return Scope.everything()
    from data_layer.auth.demo import demo_users
    from data_layer.auth.roles import scope_for
    from data_layer.auth.users import store_for

    data_dir = getattr(args, "data", None)
    store = store_for(data_dir, getattr(args, "db", None))
    demo = demo_users(data_dir) if data_dir is not None else {}
    user = store.users().get(args.user) or demo.get(args.user)
    if user is None:
        raise DataError(
            f"no account {args.user!r} in {store.where} (python -m data_layer users list)"
        )
    return scope_for(user)


def add_source_args(
    parser: argparse.ArgumentParser, *, data_help: str = "data directory", required: bool = True
) -> None:
    """``--data DIR`` or ``--db URL`` (the live PostgreSQL source, docs/live-source.md)."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--data", type=Path, help=data_help)
    where.add_argument(
        "--db", metavar="URL", help="PostgreSQL database instead: postgresql://user@host:port/db"
    )


def open_source(args: argparse.Namespace):
    """The Dataset named by ``--data`` or ``--db``."""
    if args.db:
        from data_layer.storage.postgres import read_dataset

        return read_dataset(args.db)
    return open_dataset(args.data)


def source_name(args: argparse.Namespace) -> str:
    if args.db:
        from data_layer.storage.pg_conn import redact

        return redact(args.db)
    return str(args.data)


def cmd_kpis(args: argparse.Namespace) -> int:
    ds = open_source(args)
    flt = filter_from_args(args)
    window = flt.window()
    frame = figures.kpis(ds, flt, scope_from_args(args), by=args.by, window=window)
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
            writer.writerow(["" if v is None else spreadsheet.defuse_cell(v) for v in line])
    print(
        f"period {window.start}..{window.end}, as of {window.as_of.isoformat(timespec='seconds')}, "
        f"basis {flt.basis}",
        file=sys.stderr,
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from data_layer.ingest.check import check_dataset

    ds = open_source(args)
    problems = check_dataset(ds, geometry=not args.no_geometry)
    for problem in problems:
        print(f"- {problem}")
    rows = ", ".join(f"{t} {ds[t].height:,}" for t in ds.tables)
    if problems:
        print(f"{len(problems)} problem(s) in {source_name(args)} ({rows})")
        return 1
    print(f"OK: {source_name(args)} ({rows})")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    if args.db:
        from data_layer.demo import simulate_db as simulate
    else:
        from data_layer.demo import simulate

    def report(result: simulate.TickResult) -> None:
        print(
            f"{result.at:%H:%M:%S}  +{result.new_cases} new, {result.advanced} moved on, {result.total:,} cases",
            flush=True,
        )

    try:
        simulate.run(
            args.db or args.data,
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
    if args.db:  # the same import, validated the same way, written to the database
        from data_layer.ingest.database import import_into_database as run_import
    else:
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
            args.db or args.data,
            cases=args.cases,
            boundaries=args.boundaries,
            level=args.level,
            table=args.table,
            file=args.file,
            mapping=args.mapping,
            crs=args.crs,
            district=args.district,
            dry_run=args.dry_run,
            strict=args.strict,
            replace=args.replace,
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
        print(f"dry run: nothing written to {source_name(args)} ({elapsed:.1f} s)")
    elif imported:
        print(f"imported into {source_name(args)} ({elapsed:.1f} s)")
    else:
        print(f"nothing imported; {source_name(args)} unchanged")
    return 0 if imported or args.dry_run else 1


def cmd_template(args: argparse.Namespace) -> int:
    from data_layer.ingest.template import template_bytes

    tables = open_source(args).tables if (args.data or args.db) else None
    data = template_bytes(args.table, tables=tables)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"template of {args.table} written to {args.out} ({len(data):,} bytes)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_layer",
        description="GridPulse 网格治理驾驶舱 — data tools: generate a demo district, print KPIs, check a data directory.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_demo_parser,
        _add_kpis_parser,
        _add_simulate_parser,
        _add_check_parser,
        _add_import_parser,
        _add_template_parser,
        add_users_parser,
        add_db_parser,
    ):
        add(sub)
    return parser


def _add_demo_parser(sub) -> None:
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


def _add_kpis_parser(sub) -> None:
    kpis = sub.add_parser(
        "kpis",
        help="print every metric with numerator and denominator",
        description="Print every metric of the reference design (docs/metrics.md) for a filter — the same figures the pages show.",
        epilog=(
            "example: python -m data_layer kpis --data data --street 360102001 --from 2026-01-01 "
            "--to 2026-03-31 --as-of 2026-04-01T09:00 --by community --format json"
        ),
    )
    add_source_args(kpis)
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
        default=DEFAULT_PERIOD,
        choices=[p for p in PERIODS if p != "custom"],
        help="preset period up to the as-of day when --from/--to are not given (default: "
        f"{DEFAULT_PERIOD}, like the live pages)",
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
        "--basis",
        default=DEFAULT_BASIS,
        choices=list(BASES),
        help="统计口径: report = cases reported in the period (按上报时间); assessment = cases "
        "assessed in the period, at min(closed_at, due_at) (按考核时间) (default report)",
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
    kpis.add_argument(
        "--user",
        metavar="NAME",
        help="apply the scope of this account (local or demo): the figures that user sees in "
        "the app; codes outside it count nothing (default: the whole district)",
    )
    kpis.add_argument("--format", choices=["json", "csv"], default="json")
    kpis.set_defaults(func=cmd_kpis)


def _add_simulate_parser(sub) -> None:
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
    add_source_args(sim)
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


def _add_check_parser(sub) -> None:
    check = sub.add_parser(
        "check",
        help="validate a data directory",
        description="Validate a data directory: schema, keys, references, code nesting, values, time order and boundary nesting (gaps, overlaps). Exit 1 on problems.",
        epilog="example: python -m data_layer check --data data",
    )
    add_source_args(check)
    check.add_argument("--no-geometry", action="store_true", help="skip the boundary checks")
    check.set_defaults(func=cmd_check)


def _add_import_parser(sub) -> None:
    from data_layer.ingest.table_specs import TABLES as IMPORT_TABLES

    imp = sub.add_parser(
        "import",
        help=(
            "import cases (Excel/CSV/Open311 JSON), boundaries (GeoJSON/Shapefile/GeoPackage) "
            "and the reference tables (Excel/CSV)"
        ),
        description=(
            "Import real data into a data directory as a new version (docs/import.md). Every row "
            "lands or is rejected with row, column, value and reason; read = imported + rejected. "
            "The data directory switches to the new version only when everything is written; a "
            "failure leaves it unchanged. Exit 0 when rows were imported (or on --dry-run), 1 when "
            "nothing could be imported, 2 when the file cannot be used at all."
        ),
        epilog=(
            "examples: python -m data_layer import --data data --boundaries grids.zip --level grid "
            "--crs gcj02 --cases 案件导出.xlsx --report report.csv --dry-run; "
            "python -m data_layer import --data data --table compounds --file 小区.xlsx"
        ),
    )
    add_source_args(imp, data_help="data directory (created if missing)")
    imp.add_argument("--cases", type=Path, help="cases: .csv (UTF-8/GBK), .xlsx or Open311 .json")
    imp.add_argument(
        "--boundaries", type=Path, help="boundaries: .geojson, .zip (Shapefile), .shp or .gpkg"
    )
    imp.add_argument("--level", choices=list(areas.LEVELS), help="level of --boundaries")
    imp.add_argument(
        "--table",
        choices=["cases", *IMPORT_TABLES],
        help="what --file holds (a template: python -m data_layer template --table T)",
    )
    imp.add_argument("--file", type=Path, help="the file of --table: .csv (UTF-8/GBK) or .xlsx")
    imp.add_argument(
        "--mapping", type=Path, help="column mapping file (TOML; the import page saves one)"
    )
    imp.add_argument(
        "--crs",
        help="coordinate system of the file(s): wgs84, cgcs2000, gcj02, bd09 or EPSG:NNNN "
        "(boundaries: overrides the file's; cases: default wgs84)",
    )
    imp.add_argument(
        "--district",
        help="name of the district the imported streets belong to (when the file has no "
        "district attribute; or [options] district in the mapping file)",
    )
    imp.add_argument("--dry-run", action="store_true", help="validate and report, write nothing")
    imp.add_argument("--report", type=Path, help="write the row report (CSV, personal data masked)")
    imp.add_argument(
        "--strict", action="store_true", help="stop when the boundary checks find gaps/overlaps"
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="re-division (网格调整): areas of --level under the parents the file covers that "
        "the file no longer has are retired; their cases move by their point (docs/import.md)",
    )
    imp.set_defaults(func=cmd_import)


def _add_template_parser(sub) -> None:
    from data_layer.ingest.table_specs import TABLES as IMPORT_TABLES

    tpl = sub.add_parser(
        "template",
        help="write the .xlsx import template of a table",
        description=(
            "Write the .xlsx template of a table: the Chinese headers, one example row and a "
            "sheet 说明 explaining each column (docs/import.md). With --data/--db the example "
            "row names a grid, community and team of that data, so it imports as it is."
        ),
        epilog="example: python -m data_layer template --table compounds --out 小区模板.xlsx --data data",
    )
    tpl.add_argument("--table", required=True, choices=list(IMPORT_TABLES))
    tpl.add_argument("--out", required=True, type=Path, help="the .xlsx to write")
    add_source_args(tpl, data_help="data directory for the example's areas", required=False)
    tpl.set_defaults(func=cmd_template)


def _read_password(args: argparse.Namespace) -> str:
    """A new password from stdin (``--password-stdin``) or typed twice at a prompt — never
    from the command line, where ``ps`` and the shell history would show it."""
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise ValueError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass("新密码 / new password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    import getpass

    from data_layer.auth.users import store_for
    from data_layer.storage import audit

    store = store_for(args.data, args.db)  # --db: gridpulse.users, else DIR/_auth/users.json
    try:
        if args.users_command == "list":
            return _list_users(store)
        if args.users_command == "copy":
            changes = _copy_users(store, args)
        else:
            changes = [(args.username, *_change_user(store, args))]
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        operator = f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in a bare container
        operator = "cli"
    log = audit.for_source(args.data, args.db)
    for username, action, result in changes:
        log.record(user=operator, role=None, action=action, target=username, result=result)
        print(f"{username}: {result}")
    return 0


def _copy_users(store, args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """``users copy --from-data DIR --db URL``: the accounts of DIR's users.json into the
    database (names it has already are left as they are)."""
    from data_layer.auth.users import UserStore

    copied, skipped = store.copy_from(UserStore(args.from_data).accounts())
    for name in skipped:
        print(f"{name}: skipped (the database has this account already)")
    if not copied and not skipped:
        print(f"no accounts in {UserStore(args.from_data).where}")
    return [(name, "user_change", "copied from users.json") for name in copied]


def _list_users(store) -> int:
    from data_layer.auth.demo import demo_users

    rows = [
        (name, a.user, "password" if a.password_hash else "oidc", a.locked_until)
        for name, a in sorted(store.accounts().items())
    ]
    stored = {r[0] for r in rows}
    demo = demo_users(store.data_dir) if store.data_dir is not None else {}
    rows += [(n, u, "demo", None) for n, u in demo.items() if n not in stored]
    for name, user, sign_in, locked in rows:
        lock = f" locked until {locked:%Y-%m-%d %H:%M} UTC" if locked else ""
        print(f"{name}\t{user.display_name}\t{_describe(user)}\tsign-in={sign_in}{lock}")
    if not rows:
        print(f"no users in {store.where}")
    return 0


def _change_user(store, args: argparse.Namespace) -> tuple[str, str]:
    """Make the change; returns the audit action and result (codes and role only)."""
    from data_layer.auth.roles import User

    if args.users_command == "add":
        user = User(
            username=args.username,
            display_name=args.name or args.username,
            role=args.role,
            streets=frozenset(args.street or ()),
            communities=frozenset(args.community or ()),
            rights=frozenset(args.right or ()),
        )
        store.add(user, password=None if args.no_password else _read_password(args))
        return "user_change", f"added {_describe(user)}"
    if args.users_command == "remove":
        store.remove(args.username)
        return "user_change", "removed"
    if args.users_command == "passwd":
        store.set_password(args.username, _read_password(args))
        return "user_change", "password set"
    old = store.users().get(args.username)
    rights = None
    if old is not None and (args.right or args.revoke):
        rights = (old.rights | set(args.right or ())) - set(args.revoke or ())
    user = store.grant(
        args.username,
        role=args.role,
        streets=() if args.all_areas else args.street,
        communities=() if args.all_areas else args.community,
        rights=rights,
    )
    return "role_change", _describe(user)


def _describe(user) -> str:
    return (
        f"role={user.role} streets={','.join(sorted(user.streets)) or '-'} "
        f"communities={','.join(sorted(user.communities)) or '-'} "
        f"rights={','.join(sorted(user.rights)) or '-'}"
    )


def add_users_parser(sub) -> None:
    from data_layer.auth.roles import RIGHTS, Role

    users = sub.add_parser(
        "users",
        help="manage local sign-in accounts (add, remove, list, passwd, grant)",
        description=(
            "Manage the local accounts of a data directory (kept in DIR/_auth/users.json, outside "
            "the imported tables) or, with --db, of the live database (table gridpulse.users, "
            "shared by every app replica). Passwords are read from a prompt or --password-stdin, never "
            "from the command line. Every change is written to the audit log."
        ),
        epilog=(
            "example: printf '%s\\n' \"$PW\" | python -m data_layer users add wang --data data "
            "--role street --street 360102001 --password-stdin"
        ),
    )
    users_sub = users.add_subparsers(dest="users_command", required=True)

    def command(name: str, help: str, *, username: bool = True) -> argparse.ArgumentParser:
        p = users_sub.add_parser(name, help=help, description=help)
        if username:
            p.add_argument("username", help="user name (for OIDC: the e-mail or sub)")
        add_source_args(p)
        p.set_defaults(func=cmd_users)
        return p

    def area_flags(p: argparse.ArgumentParser, *, role_required: bool) -> None:
        p.add_argument("--role", choices=list(Role), required=role_required, help="the role")
        p.add_argument(
            "--street", nargs="+", action="extend", metavar="CODE", help="street code(s)"
        )
        p.add_argument(
            "--community", nargs="+", action="extend", metavar="CODE", help="community code(s)"
        )
        p.add_argument("--right", action="append", choices=sorted(RIGHTS), help="add a right")

    command("list", "list the accounts (never their password hashes)", username=False)
    add = command("add", "add an account")
    area_flags(add, role_required=True)
    add.add_argument("--name", help="display name (default: the user name)")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    secret.add_argument(
        "--no-password", action="store_true", help="an account that signs in through OIDC only"
    )
    command("remove", "remove an account")
    passwd = command("passwd", "set a new password (also lifts a lock-out)")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    copy = users_sub.add_parser(
        "copy",
        help="copy the accounts of a data directory's users.json into the database",
        description=(
            "Copy every account of DIR/_auth/users.json that the database lacks into "
            "gridpulse.users, password hashes as they are, in one transaction (moving a "
            "deployment to the live source). Accounts the database has already stay as they are."
        ),
    )
    copy.add_argument("--from-data", required=True, type=Path, help="data directory to copy from")
    copy.add_argument("--db", required=True, metavar="URL", help="the live database")
    copy.set_defaults(func=cmd_users, data=None)
    grant = command("grant", "change role, areas or rights of an account")
    area_flags(grant, role_required=False)
    grant.add_argument("--all-areas", action="store_true", help="remove the area limits")
    grant.add_argument(
        "--revoke", action="append", choices=sorted(RIGHTS), help="take a right away"
    )


def cmd_db(args: argparse.Namespace) -> int:
    from data_layer.storage import migrate, pg_admin

    if args.db_command == "init":
        applied = migrate.migrate(args.db)
        print(f"applied {', '.join(applied)}" if applied else "schema is up to date")
        return 0
    if args.db_command == "load":
        started = time.monotonic()
        counts = pg_admin.load(args.db, args.data, if_empty=args.if_empty)
        if counts is None:
            print("the database already has data: nothing loaded (--if-empty)")
            return 0
        rows = ", ".join(f"{table} {n:,}" for table, n in counts.items())
        print(f"loaded {args.data} in {time.monotonic() - started:.1f} s: {rows}")
        return 0
    if args.db_command == "prune":
        gone = pg_admin.prune_tombstones(args.db, keep_days=args.keep_days)
        print(f"pruned {gone:,} tombstone(s) older than {args.keep_days} days")
        return 0
    for line in pg_admin.status(args.db).lines():
        print(line)
    return 0


def cmd_db_local(args: argparse.Namespace) -> int:
    from data_layer.storage.pg_local import LocalServerError, local_server

    try:
        server = local_server(args.dir)
        if args.stop:
            server.stop()
            print(f"stopped the server in {args.dir}")
            return 0
        server.init()
        server.start(port=args.port)
    except LocalServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(server.url())
    return 0


def add_db_parser(sub) -> None:
    db = sub.add_parser(
        "db",
        help="the live PostgreSQL/PostGIS source: init, load, status, local server",
        description=(
            "Set up the live source (docs/live-source.md): create or migrate its schema, copy a "
            "data directory in, show what it holds, or run a local PostgreSQL for trying it."
        ),
        epilog=(
            "example: python -m data_layer db init --db postgresql://gridpulse@127.0.0.1:5432/gridpulse"
        ),
    )
    db_sub = db.add_subparsers(dest="db_command", required=True)
    url_help = "database: postgresql://user@host:port/dbname"
    init = db_sub.add_parser(
        "init",
        help="create or migrate the schema (safe to repeat)",
        description="Apply the schema migrations the database has not had yet, in one transaction.",
    )
    init.add_argument("--db", required=True, metavar="URL", help=url_help)
    load = db_sub.add_parser(
        "load",
        help="copy a data directory into the database (one transaction)",
        description="Replace every table with a data directory's (COPY), in one transaction.",
    )
    load.add_argument("--data", required=True, type=Path, help="data directory to copy")
    load.add_argument("--db", required=True, metavar="URL", help=url_help)
    load.add_argument(
        "--if-empty", action="store_true", help="load only into a database with no rows yet"
    )
    status = db_sub.add_parser(
        "status",
        help="schema version, row counts and the last refresh",
        description="Show the schema version, rows and change counters per table, and the last writes.",
    )
    status.add_argument("--db", required=True, metavar="URL", help=url_help)
    prune = db_sub.add_parser(
        "prune",
        help="delete old tombstones (deleted cases); readers then reload cases once",
        description=(
            "Delete the tombstones of cases deleted more than --keep-days ago, in one "
            "transaction; when any goes, every reader reloads cases whole once, so none misses "
            "a deletion. Run it from cron, e.g. nightly."
        ),
    )
    prune.add_argument("--db", required=True, metavar="URL", help=url_help)
    prune.add_argument(
        "--keep-days", type=int, default=30, help="keep this many days of tombstones (default 30)"
    )
    for command in (init, load, status, prune):
        command.set_defaults(func=cmd_db)
    local = db_sub.add_parser(
        "local",
        help="start (or --stop) a local PostgreSQL + PostGIS in a folder; prints its URL",
        description=(
            "initdb into DIR (once), start the server on 127.0.0.1 and a free port, create the "
            "gridpulse database with PostGIS, and print its URL (make run-db uses it)."
        ),
    )
    local.add_argument("--dir", required=True, type=Path, help="folder for the cluster")
    local.add_argument("--port", type=int, help="port (default: a free one)")
    local.add_argument("--stop", action="store_true", help="stop the server instead")
    local.set_defaults(func=cmd_db_local)


def main(argv: list[str] | None = None) -> int:
    logging_filter.install()
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
