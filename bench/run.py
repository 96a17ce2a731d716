"""Map benchmark (issue 3, "Fast"): ``make bench`` / ``python bench/run.py [--scales district]``.

Measures, in headless Debian Chromium with every non-local request blocked, the time
from navigation to *page ready*:

* ``empty``  — an empty Streamlit page (bench/empty_app.py): title shown, script done;
* ``naive``  — bench/naive_app.py, the reference build (one GeoJson, Python
  ``style_function``, full-precision coordinates, SVG, default ``returned_objects``);
* ``ours``   — bench/ours_app.py (geo/maps: stable base map + feature groups, packed
  simplified geometry, colour as a property, Canvas, limited ``returned_objects``,
  level of detail);

where a map page is ready when Leaflet has projected every area polygon (interactive
layers with a feature; SVG or Canvas alike) and two more animation frames have run
(painted). Each app runs in its own ``streamlit run`` server over the same data directory;
one untimed warm-up load per server fills the server caches (dataset, kpis, simplified
geometry) as on a running server. Each page is timed with a cold browser cache (a fresh
context per load: a first visit) and a warm one (a new page per load in one kept context: a
returning visitor), ``--cache``. Medians of ``--district-runs`` (11) or ``--runs`` (5, province)
loads are reported, and for the district also the paired ratio: the median over rounds of
ours / empty in the same round.

Also measured: the filter-change repaint (switching the metric radio: Python rerun, new
feature group, swap in the browser, painted — read from ``window.gridpulse``), the
payload of the GeoJSON layer for all grids of the scale (ours: the packed text embedded in
the page; naive: the GeoJSON folium embeds) and the bytes received over Streamlit's
websocket per page load.

Data directories ``bench/data-<scale>`` are generated when missing
(``python -m data_layer demo --out bench/data-<scale> --scale <scale>``; province takes a
minute or two). Results: a table on stdout and ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import browser as b  # noqa: E402

BENCH = ROOT / "bench"
EMPTY_APP = BENCH / "empty_app.py"
BARE_APP = BENCH / "bare_app.py"
NAIVE_APP = BENCH / "naive_app.py"
OURS_APP = BENCH / "ours_app.py"
RESULTS = BENCH / "results.json"
SCALES = ("district", "province")
METRICS = ("closure_rate", "on_time_rate")

TARGETS = {
    "district_ours_vs_empty": 1.3,  # ours <= 1.3 x empty page
    "district_repaint_s": 0.6,
    "province_first_map_s": 4.0,
    "province_speedup": 4.0,  # naive / ours >= 4
    "payload_mb": 6.0,  # packed layer of 25k grids
}


def data_dir(scale: str) -> Path:
    return BENCH / f"data-{scale}"


def ensure_data(scale: str) -> Path:
    out = data_dir(scale)
    if (out / "grids.parquet").is_file() and (out / "cases.parquet").is_file():
        return out
    print(f"generating {out} (scale {scale}) ...", flush=True)
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "data_layer", "demo", "--out", str(out), "--scale", scale],
        cwd=ROOT,
        check=True,
    )
    return out


# --------------------------------------------------------------------------------------- #
# what each page should draw
# --------------------------------------------------------------------------------------- #
def expected_counts(data: Path, *, max_features: int) -> dict[str, Any]:
    """Polygons the naive and our pages draw, and the payload sizes."""
    import geopandas as gpd
    import polars as pl
    import shapely

    from data_layer.domain.filters import Filter
    from data_layer.domain.scope import Scope
    from data_layer.queries import figures
    from data_layer.queries.map_legend import color_scale
    from data_layer.queries.map_values import area_rows
    from data_layer.storage.source import open_dataset
    from geo import maps
    from geo.selection import Selection, effective_level

    ds = open_dataset(data)
    counts = {
        "street": ds["streets"].height,
        "community": ds["communities"].height,
        "grid": ds["grids"].height,
    }
    level = effective_level(Selection(level="grid"), counts=counts, max_features=max_features)
    last = ds["cases"]["reported_at"].max()
    flt = Filter(period="last_12_months")
    window = flt.window(now=last)
    grid_kpis = figures.kpis(ds, flt, Scope.everything(), by="grid", window=window)
    # ours: the packed layer of every grid (what would be sent without level of detail)
    started = time.perf_counter()
    scale = color_scale(metric="closure_rate", values=grid_kpis)
    fc = maps.area_features(
        geometries=maps.level_geometries(ds, level="grid"),
        areas=area_rows(values=grid_kpis, metric="closure_rate", scale=scale),
        level="grid",
        version=ds.version,
    )
    cold_features_s = time.perf_counter() - started
    started = time.perf_counter()
    payload = maps.feature_payload(fc)
    payload_s = time.perf_counter() - started
    # naive: what folium embeds for the naive page (GeoDataFrame → __geo_interface__ → JSON)
    frame = grid_kpis.select("code", "name", "closure_rate", "closed", "due").join(
        ds["grids"].select(pl.col("grid_code").alias("code"), "geometry"), on="code"
    )
    gdf = gpd.GeoDataFrame(
        frame.drop("geometry").to_pandas(),
        geometry=shapely.from_wkb(frame["geometry"].to_numpy()),
        crs="EPSG:4326",
    )
    naive_text = json.dumps(gdf.__geo_interface__)
    return {
        "areas": counts,
        "ours_level": level,
        "ours_polygons": counts[level],
        "naive_polygons": frame.height,
        "payload_ours_mb": len(payload.encode()) / 1e6,
        "payload_naive_mb": len(naive_text.encode()) / 1e6,
        "payload_grids": len(fc["features"]),
        "features_cold_s": cold_features_s,
        "payload_build_s": payload_s,
    }


# --------------------------------------------------------------------------------------- #
# page loads
# --------------------------------------------------------------------------------------- #
def load_empty(
    browser: Any, server: b.Server, context: b.OfflineContext | None = None
) -> tuple[float, int]:
    load = b.new_page(browser, context=context)
    try:
        started = time.perf_counter()
        load.page.goto(server.url)
        load.page.wait_for_selector("text=ready", timeout=120_000)
        b.wait_script_done(load.page)
        load.page.evaluate(b.TWO_FRAMES_JS)
        return time.perf_counter() - started, load.ws_bytes
    finally:
        load.close()


def load_map(
    browser: Any, server: b.Server, polygons: int, context: b.OfflineContext | None = None
) -> tuple[float, int, list[str]]:
    load = b.new_page(browser, context=context)
    try:
        started = time.perf_counter()
        load.page.goto(server.url)
        try:
            frame = b.map_frame(load.page, timeout_ms=300_000)
            b.wait_polygons(frame, polygons, timeout_ms=300_000)
        except Exception as exc:  # a load that never got ready: keep the evidence
            shot = b.OUT / f"not-ready-{server.script.stem}-{int(time.time())}.png"
            with contextlib.suppress(Exception):
                load.page.screenshot(path=str(shot))
            raise LoadFailed(
                f"{type(exc).__name__} (screenshot {shot.name}); {load.errors[:3]}"
            ) from exc
        elapsed = time.perf_counter() - started
        return elapsed, load.ws_bytes, load.errors + [f"blocked {u}" for u in load.blocked]
    finally:
        load.close()


class LoadFailed(RuntimeError):
    """A timed page load that did not become ready (counted, not timed)."""


def repaint_times(
    browser: Any, server: b.Server, polygons: int, level: str, runs: int
) -> list[float]:
    """Switch the metric radio back and forth; time until the new layer is painted."""
    load = b.new_page(browser)
    times: list[float] = []
    try:
        load.page.goto(server.url)
        frame = b.map_frame(load.page)
        b.wait_polygons(frame, polygons)
        b.wait_script_done(load.page)
        current = METRICS[0]
        for _ in range(runs):
            target = METRICS[1] if current == METRICS[0] else METRICS[0]
            now = frame.evaluate("performance.now()")
            started = time.perf_counter()
            load.page.get_by_text(target, exact=True).click()
            b.wait_layer_painted(frame, f"{level}:{target}", after=now)
            times.append(time.perf_counter() - started)
            b.wait_script_done(load.page)
            current = target
        if load.errors:
            print("  browser errors:", load.errors[:5], flush=True)
    finally:
        load.close()
    return times


@dataclass
class Timings:
    """The timed loads of one page in one browser-cache state."""

    times: list[float] = field(default_factory=list)
    ws: list[int] = field(default_factory=list)
    failed: int = 0  # loads that never got ready (not in the median)
    rounds: list[int] = field(default_factory=list)  # the round of each time

    def result(self) -> dict[str, Any]:
        return {
            "median_s": b.median(self.times),
            "runs_s": [round(t, 3) for t in self.times],
            "rounds": self.rounds,
            "failed_loads": self.failed,
            "websocket_mb": b.median(self.ws) / 1e6 if self.ws else float("nan"),
        }


@dataclass
class Page:
    """One app under test: its server and how to measure a load.

    ``cold``: every load in a fresh browser context (nothing cached: a first visit).
    ``warm``: every load a new page (a new Streamlit session) in one kept context whose
    HTTP cache the warm-up load filled (a returning visitor: Streamlit's and the map's
    JavaScript come from the browser cache; the data still comes from the server).
    """

    key: str
    app: Path
    polygons: int | None  # None: the empty page
    env: dict[str, str]
    runs: int
    repaint_level: str | None = None
    server: b.Server | None = None
    context: b.OfflineContext | None = None  # the kept context of the warm loads
    timings: dict[str, Timings] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warmup_s: float = float("nan")
    repaint: list[float] = field(default_factory=list)

    def load(self, browser: Any, cache: str = "cold") -> tuple[float, int, list[str]]:
        assert self.server is not None
        context = self.context if cache == "warm" else None
        b.settle()
        if self.polygons is None:
            t, w = load_empty(browser, self.server, context)
            return t, w, []
        return load_map(browser, self.server, self.polygons, context)

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for cache, timing in self.timings.items():
            if cache == "cold":
                out.update(timing.result())
            else:
                out[cache] = timing.result()
        out["warmup_s"] = round(self.warmup_s, 3)
        out["errors"] = sorted(set(self.errors))[:10]
        if self.repaint:
            out["repaint_median_s"] = b.median(self.repaint)
            out["repaint_runs_s"] = [round(t, 3) for t in self.repaint]
        return out


def measure(browser: Any, pages: list[Page], caches: Sequence[str] = ("cold",)) -> None:
    """Start every page's server, warm each up, then interleave the timed loads (round
    robin over pages and cache states), so that load on the machine affects every page
    alike."""
    with contextlib.ExitStack() as stack:
        for page in pages:
            print(f"  {page.key}: starting server ...", flush=True)
            page.server = stack.enter_context(b.running(page.app, env=page.env))
            if "warm" in caches:
                page.context = b.new_context(browser)
                stack.callback(page.context.close)
        for page in pages:
            # server caches (dataset, kpis, geometry); the warm context's HTTP cache
            page.warmup_s = page.load(browser, "warm" if "warm" in caches else "cold")[0]
            print(f"  {page.key}: warm-up {page.warmup_s:.2f} s", flush=True)
        for i in range(max(p.runs for p in pages)):
            line = []
            for cache in caches:
                for page in pages:
                    if i >= page.runs:
                        continue
                    timing = page.timings.setdefault(cache, Timings())
                    try:
                        t, w, e = page.load(browser, cache)
                    except LoadFailed as exc:
                        timing.failed += 1
                        page.errors.append(f"{cache} load {i + 1} not ready: {exc}")
                        line.append(f"{page.key}{'' if cache == 'cold' else '/' + cache} FAILED")
                        continue
                    timing.times.append(t)
                    timing.rounds.append(i)
                    timing.ws.append(w)
                    page.errors += e
                    line.append(f"{page.key}{'' if cache == 'cold' else '/' + cache} {t:.2f}")
            print(f"  run {i + 1}: " + ", ".join(line) + " s", flush=True)
        for page in pages:
            if page.repaint_level is not None and page.polygons is not None:
                assert page.server is not None
                page.repaint = repaint_times(
                    browser, page.server, page.polygons, page.repaint_level, page.runs
                )
                print(
                    f"  {page.key} repaint: {', '.join(f'{t:.2f}' for t in page.repaint)} s",
                    flush=True,
                )


# --------------------------------------------------------------------------------------- #
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales", default=",".join(SCALES), help="comma-separated: district,province"
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="timed loads per page of the province (median)"
    )
    parser.add_argument(
        "--district-runs",
        type=int,
        default=11,
        help="timed loads per page of the district (quick loads, and the 1.3 x target is a "
        "ratio of two ~1.5 s medians: more rounds)",
    )
    parser.add_argument(
        "--province-naive-runs", type=int, default=3, help="timed loads of the slow naive page"
    )
    parser.add_argument("--max-features", type=int, default=5_000, help="level-of-detail cap")
    parser.add_argument(
        "--cache",
        choices=("cold", "warm", "both"),
        default="both",
        help="browser cache per load: cold (fresh context), warm (kept context), or both",
    )
    parser.add_argument(
        "--no-all-grids",
        action="store_true",
        help="skip the extra row: ours drawing every grid of the province (no level of detail)",
    )
    args = parser.parse_args(argv)
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    caches = ("cold", "warm") if args.cache == "both" else (args.cache,)
    for s in scales:
        if s not in SCALES:
            parser.error(f"unknown scale {s!r}; choose from {', '.join(SCALES)}")

    results: dict[str, Any] = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
        },
        "chromium": str(b.CHROMIUM),
        "runs": {"district": args.district_runs, "province": args.runs},
        "targets": TARGETS,
        "caches": list(caches),
        "method": (
            "cold: fresh browser context per load (nothing cached, a first visit); warm: a "
            "new page per load in one kept context whose HTTP cache the warm-up filled (a "
            "returning visitor); servers warmed up by one untimed load; loads interleaved "
            "round robin across the pages of a scale and the cache states; each timed load "
            "starts once the CPUs are >= 80 % idle over 0.2 s (at most 5 s)"
        ),
        "scales": {},
    }
    with b.chromium() as browser:
        results["chromium_version"] = browser.version
        for scale in scales:
            data = ensure_data(scale)
            print(f"{scale}: {data}", flush=True)
            exp = expected_counts(data, max_features=args.max_features)
            print(
                f"  naive draws {exp['naive_polygons']} grids; ours draws {exp['ours_polygons']} "
                f"{exp['ours_level']} areas; payload of {exp['payload_grids']} grids: "
                f"ours {exp['payload_ours_mb']:.2f} MB, naive {exp['payload_naive_mb']:.2f} MB",
                flush=True,
            )
            data_env = {"GRIDPULSE_DATA": str(data)}
            runs = args.district_runs if scale == "district" else args.runs
            naive_runs = args.province_naive_runs if scale == "province" else runs
            lod = {**data_env, "BENCH_MAX_FEATURES": str(args.max_features)}
            pages = [
                Page("empty", EMPTY_APP, None, {}, runs),
                Page("bare", BARE_APP, 1, {}, runs),
                Page("naive", NAIVE_APP, exp["naive_polygons"], data_env, naive_runs),
                # our map with its legend, alone on the page like the naive map
                Page(
                    "ours",
                    OURS_APP,
                    exp["ours_polygons"],
                    {**lod, "BENCH_CONTROLS": "none"},
                    runs,
                ),
                # + what the Map page puts beside it: breadcrumb, caption, the metric radio
                Page(
                    "ours_controls",
                    OURS_APP,
                    exp["ours_polygons"],
                    {**lod, "BENCH_CONTROLS": "bottom"},
                    runs,
                    repaint_level=exp["ours_level"],
                ),
            ]
            if scale == "province" and not args.no_all_grids:
                pages.append(
                    Page(
                        "ours_all_grids",
                        OURS_APP,
                        exp["areas"]["grid"],
                        {**data_env, "BENCH_MAX_FEATURES": "1000000", "BENCH_CONTROLS": "bottom"},
                        runs,
                        repaint_level="grid",
                    )
                )
            measure(browser, pages, caches)
            entry: dict[str, Any] = {"expected": exp}
            entry.update({page.key: page.result() for page in pages})
            results["scales"][scale] = entry
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print_table(results)
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")
    return 0


def paired_ratio(page: dict[str, Any], empty: dict[str, Any]) -> float:
    """Median over rounds of (this page's time / the empty page's time in the same round):
    the two loads of a round are seconds apart, so a machine that gets slower or faster
    during the run changes both alike."""
    by_round = dict(zip(empty.get("rounds", []), empty["runs_s"], strict=True))
    ratios = [
        t / by_round[r]
        for r, t in zip(page.get("rounds", []), page["runs_s"], strict=True)
        if r in by_round
    ]
    return b.median(ratios)


def _timing(entry: dict[str, Any], cache: str) -> dict[str, Any] | None:
    """A page's timings for one cache state (``cold`` is stored at the top level)."""
    if cache == "cold":
        return entry if "median_s" in entry else None
    return entry.get(cache)


def print_table(results: dict[str, Any]) -> None:
    print()
    m = results["machine"]
    print(
        f"{m['cpus']} CPUs, load average at start {m['loadavg_at_start'][0]:.1f}, "
        f"at end {m.get('loadavg_at_end', [float('nan')])[0]:.1f} (timings need a quiet machine)"
    )
    caches = results.get("caches", ["cold"])
    head = (
        f"{'scale':<22}{'cache':>6}{'polygons n/o':>18}{'empty s':>8}{'bare s':>8}"
        f"{'naive s':>9}{'ours s':>8}{'naive/ours':>11}{'ours/empty':>11}{'paired':>7}"
        f"{'repaint s':>10}"
        f"{'payload MB o/n':>16}{'ws MB n/o':>12}"
    )
    print(head)
    print("-" * len(head))
    for scale, e in results["scales"].items():
        exp = e["expected"]
        rows = [(scale, "ours", exp["ours_polygons"], exp["ours_level"])]
        if "ours_controls" in e:
            rows.append(
                (f"{scale} +controls", "ours_controls", exp["ours_polygons"], exp["ours_level"])
            )
        if "ours_all_grids" in e:
            rows.append((f"{scale} (all grids)", "ours_all_grids", exp["areas"]["grid"], "grid"))
        for name, key, n, level in rows:
            for cache in caches:
                t = {k: _timing(e[k], cache) for k in ("empty", "bare", "naive", key)}
                if any(v is None for v in t.values()):
                    continue
                empty, naive, o = (t[k]["median_s"] for k in ("empty", "naive", key))
                polys = f"{exp['naive_polygons']}/{n} {level[:4]}"
                repaint = (
                    e[key].get("repaint_median_s", float("nan"))
                    if cache == caches[0]
                    else float("nan")
                )
                print(
                    f"{name:<22}{cache:>6}{polys:>18}{empty:>8.2f}{t['bare']['median_s']:>8.2f}"
                    f"{naive:>9.2f}{o:>8.2f}{naive / o:>11.1f}{o / empty:>11.2f}"
                    f"{paired_ratio(t[key], t['empty']):>7.2f}{repaint:>10.2f}"
                    f"{exp['payload_ours_mb']:>9.2f}/{exp['payload_naive_mb']:<6.2f}"
                    f"{t['naive']['websocket_mb']:>6.2f}/{t[key]['websocket_mb']:<5.2f}"
                )
    print(
        "payload: the layer of every grid of the scale "
        f"({', '.join(str(e['expected']['payload_grids']) for e in results['scales'].values())}"
        " grids); ws: bytes received over Streamlit's websocket per load; cold: nothing in "
        "the browser cache (first visit), warm: Streamlit's and the map's JavaScript cached; "
        "paired: median over rounds of ours / empty in the same round; +controls: the map "
        "with the breadcrumb and the metric radio below it"
    )
    for scale, e in results["scales"].items():
        for key, entry in e.items():
            for cache in caches:
                timing = _timing(entry, cache) if isinstance(entry, dict) else None
                if timing and timing.get("failed_loads"):
                    print(
                        f"  {scale} {key} ({cache}): {timing['failed_loads']} load(s) never ready"
                    )
    print()
    for text, ok in target_checks(results):
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")
    for scale, e in results["scales"].items():
        for cache in caches:
            ours, empty = _timing(e.get("ours_controls", {}), cache), _timing(e["empty"], cache)
            if ours and empty:
                print(
                    f"  [info] {scale} map + breadcrumb + metric radio {ours['median_s']:.2f} s"
                    f" = {ours['median_s'] / empty['median_s']:.2f} x empty "
                    f"(paired {paired_ratio(ours, empty):.2f}; {cache} cache)"
                )


def target_checks(results: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each target of the issue against this run, per browser-cache state."""
    checks: list[tuple[str, bool]] = []
    t = results["targets"]
    caches = results.get("caches", ["cold"])
    if "district" in results["scales"]:
        d = results["scales"]["district"]
        for cache in caches:
            ours, empty = _timing(d["ours"], cache), _timing(d["empty"], cache)
            if ours and empty:
                ratio = ours["median_s"] / empty["median_s"]
                checks.append(
                    (
                        f"district map {ours['median_s']:.2f} s = {ratio:.2f} x empty "
                        f"{empty['median_s']:.2f} s <= {t['district_ours_vs_empty']} "
                        f"(paired {paired_ratio(ours, empty):.2f}; {cache} cache)",
                        ratio <= t["district_ours_vs_empty"],
                    )
                )
        rp = d["ours_controls"].get("repaint_median_s")
        if rp is not None:
            checks.append(
                (
                    f"district repaint {rp:.2f} s <= {t['district_repaint_s']} s",
                    rp <= t["district_repaint_s"],
                )
            )
    if "province" in results["scales"]:
        p = results["scales"]["province"]
        for cache in caches:
            ours, naive = _timing(p["ours"], cache), _timing(p["naive"], cache)
            if not (ours and naive):
                continue
            first = ours["median_s"]
            speed = naive["median_s"] / first
            checks.append(
                (
                    f"province first map {first:.2f} s <= {t['province_first_map_s']} s ({cache} cache)",
                    first <= t["province_first_map_s"],
                )
            )
            checks.append(
                (
                    f"province {speed:.1f} x faster than naive >= {t['province_speedup']} ({cache} cache)",
                    speed >= t["province_speedup"],
                )
            )
        mb = p["expected"]["payload_ours_mb"]
        checks.append(
            (
                f"payload of {p['expected']['payload_grids']} grids {mb:.2f} MB <= {t['payload_mb']} MB",
                mb <= t["payload_mb"],
            )
        )
    return checks


if __name__ == "__main__":
    raise SystemExit(main())
