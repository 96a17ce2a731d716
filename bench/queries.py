"""Query benchmark (issue 16, "province query speed"): ``python bench/queries.py``.

Times, at province scale (``bench/data-province``, 10M cases), every data-layer query the
Overview, Map and 案件办结 pages make for one filter, for a few filters (本年, 本月, 近30天;
the whole province and one street; both bases 统计口径): the median of ``--runs`` calls per
query after one untimed call (on a running server the first call of a data version builds
what is memoised on the dataset; that build is reported on its own, ``first_s``). Also the
dataset load time and the process RSS after it.

``--path exact`` runs the same calls on the exact reference path (the full-scan evaluation
the fast path must agree with, ``figures.exact_path``); ``--path both`` (the default) runs
both in one process, query by query in turn, so the ratio is of the same run and load. Results: a table on stdout and
``bench/queries.json`` (``--label`` names the run, e.g. ``before`` / ``after``; earlier
labels in the file are kept, so before/after sit side by side).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data_layer.domain.filters import Filter, Window, now_local  # noqa: E402
from data_layer.domain.scope import Scope  # noqa: E402
from data_layer.queries import cases, figures, history  # noqa: E402
from data_layer.storage.source import Dataset, open_dataset  # noqa: E402

RESULTS = ROOT / "bench" / "queries.json"
PERIODS = ("this_year", "this_month", "last_30_days")
BASES = ("report", "assessment")
TARGET_S = 0.100  # per query, per filter, at 10M cases


def rss_mb() -> float:
    """Resident set size of this process now (MB)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_queries(
    ds: Dataset, flt: Filter, scope: Scope, window: Window
) -> dict[str, Callable[[], object]]:
    """Every query the Overview, Map and 案件办结 pages make for ``flt`` (pages/*.py, ui/)."""
    level = "grid" if flt.communities else "community"
    return {
        # Overview, Map and 案件办结: the KPI cards and their 较上期 (ui.state.headline_pair)
        "kpis": lambda: figures.kpis(ds, flt, scope, window=window),
        "kpis_previous": lambda: figures.kpis(ds, flt, scope, window=window.previous()),
        # Overview table and map, Map page (level of detail: communities at province)
        "kpis_by_area": lambda: figures.kpis(ds, flt, scope, by=level, window=window),
        "area_names": lambda: figures.area_names(ds, flt, scope, level=level),
        # Map page, case layer "points"
        "case_points": lambda: figures.case_points(ds, flt, scope, window=window),
        # 案件办结
        "case_funnel": lambda: cases.case_funnel(ds, flt, scope, window=window),
        "case_trend": lambda: cases.case_trend(
            ds, flt, scope, window=window, every="week" if window.days <= 92 else "month"
        ),
        "breakdown_category": lambda: cases.case_breakdown(
            ds, flt, scope, window=window, by="category"
        ),
        "breakdown_source": lambda: cases.case_breakdown(
            ds, flt, scope, window=window, by="source"
        ),
        "unit_scorecard": lambda: cases.unit_scorecard(ds, flt, scope, window=window),
        "close_time_stats": lambda: cases.close_time_stats(ds, flt, scope, window=window),
        "open_overdue": lambda: cases.open_cases(ds, flt, scope, window=window, kind="overdue"),
        "open_at_risk": lambda: cases.open_cases(ds, flt, scope, window=window, kind="at_risk"),
    }


def filters(ds: Dataset, *, streets: bool = True) -> list[tuple[str, Filter]]:
    street = ds["streets"]["street_code"].sort()[0]
    out = []
    for period in PERIODS:
        for area, codes in [("all", ()), ("street", (street,))] if streets else [("all", ())]:
            for basis in BASES:
                out.append(
                    (f"{period}/{area}/{basis}", Filter(period=period, streets=codes, basis=basis))
                )
    return out


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """(first call, median of ``runs`` further calls) in seconds."""
    gc.collect()
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return first, statistics.median(times)


def run(ds: Dataset, *, runs: int, paths: tuple[str, ...], as_of, only: set[str] | None) -> dict:
    """Per filter, per query: each path in turn (so both see the same machine load)."""
    scope = Scope.everything()
    out: dict = {path: {} for path in paths}
    for name, flt in filters(ds):
        if only and not any(name.startswith(o) for o in only):
            continue
        window = flt.window(now=as_of)
        rows: dict = {path: {} for path in paths}
        for query in page_queries(ds, flt, scope, window):
            for path in paths:
                ctx = figures.exact_path() if path == "exact" else contextlib.nullcontext()
                with ctx:
                    fn = page_queries(ds, flt, scope, window)[query]
                    first, median = timed(fn, runs)
                rows[path][query] = {"first_s": round(first, 4), "median_s": round(median, 4)}
        for path in paths:
            out[path][name] = row = rows[path]
            slowest = max(row.items(), key=lambda kv: kv[1]["median_s"])
            print(
                f"{path:6} {name:32} max {slowest[1]['median_s'] * 1000:8.1f} ms ({slowest[0]})"
                f"  sum {sum(v['median_s'] for v in row.values()) * 1000:8.1f} ms",
                flush=True,
            )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "data-province")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--path", choices=("fast", "exact", "both"), default="both")
    ap.add_argument("--label", default="after")
    ap.add_argument("--only", nargs="*", help="filter name prefixes, e.g. this_year/all")
    ap.add_argument("--as-of", help="ISO local time (default: now, floored to the minute)")
    args = ap.parse_args(argv)
    if not (args.data / "cases.parquet").exists():
        print(
            f"no data in {args.data}: python -m data_layer demo --out {args.data} --scale province",
            file=sys.stderr,
        )
        return 2
    import datetime as dt

    as_of = dt.datetime.fromisoformat(args.as_of) if args.as_of else now_local().replace(second=0)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    ds = open_dataset(args.data, serving=True)  # as the app loads it (ui.state)
    load_s = time.perf_counter() - t0
    # as the app serves it, but built on first use: its build is in the first call's time
    history.serve(ds, background=False)
    rss_loaded = rss_mb()
    print(
        f"load {load_s:.2f} s, RSS {rss0:.0f} → {rss_loaded:.0f} MB, cases {ds['cases'].height:,}"
    )
    result = {
        "data": str(args.data),
        "cases": ds["cases"].height,
        "as_of": as_of.isoformat(),
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg()[0],
        "load_s": round(load_s, 3),
        "rss_loaded_mb": round(rss_loaded, 1),
    }
    paths = ("fast", "exact") if args.path == "both" else (args.path,)
    only = set(args.only) if args.only else None
    result.update(run(ds, runs=args.runs, paths=paths, as_of=as_of, only=only))
    result["rss_after_queries_mb"] = round(rss_mb(), 1)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    summary(result)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored[args.label] = result
    RESULTS.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n")
    return 0


def summary(result: dict) -> None:
    """Per query: the worst median over the filters, and the ratio exact / fast."""
    fast, exact = result.get("fast"), result.get("exact")
    base = fast or exact
    queries = next(iter(base.values())).keys()
    print(
        f"\n{'query':22} {'fast max ms':>12} {'exact max ms':>13} {'ratio':>7}  (≤ {TARGET_S * 1000:.0f} ms)"
    )
    for q in queries:
        f = max(v[q]["median_s"] for v in fast.values()) if fast else None
        e = max(v[q]["median_s"] for v in exact.values()) if exact else None
        ratio = f"{e / f:6.1f}×" if f and e else ""
        fs = f"{f * 1000:12.1f}" if f is not None else " " * 12
        es = f"{e * 1000:13.1f}" if e is not None else " " * 13
        flag = "  over" if f is not None and f > TARGET_S else ""
        print(f"{q:22} {fs} {es} {ratio:>7}{flag}")
    print(
        f"load {result['load_s']:.2f} s, RSS after load {result['rss_loaded_mb']:.0f} MB, peak {result['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    raise SystemExit(main())
