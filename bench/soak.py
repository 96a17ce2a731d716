"""Soak (issue #16): ``python bench/soak.py [--minutes 30] [--scale district]``.

The real app (``app.py``, signed in) on a copy of ``bench/data-<scale>`` (so the bench data
stays as generated), live refresh every ``--refresh`` seconds (``GRIDPULSE_REFRESH_SECONDS``,
default 10), ``python -m data_layer simulate`` writing ``--per-minute`` new cases (default
60) every 10 s beside it, and one viewer in headless Chromium on the Map page the whole
time. Every minute it samples the server process's RSS and CPU time (``/proc``) and the
KPI cards the viewer sees. Reported: the RSS slope (least squares over the minute samples
after the first, MB/min), server CPU per refresh interval, errors (browser console, page
errors, exception boxes, the server log's tracebacks) and whether the viewer's figures
changed. Results: stdout and ``bench/results-soak.json``. One run; never a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import browser as b  # noqa: E402
from bench import viewers as v  # noqa: E402
from bench.run import ensure_data  # noqa: E402

RESULTS = ROOT / "bench" / "results-soak.json"
TARGET_CPU_PER_INTERVAL_S = 0.3


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y) points; nan for fewer than two."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    source = ensure_data(args.scale)
    data = b.OUT / f"soak-data-{args.scale}"
    if data.exists():
        shutil.rmtree(data)
    shutil.copytree(source, data, symlinks=True)  # keep the version links
    server = b.start_server(
        v.APP,
        env={"GRIDPULSE_DATA": str(data), "GRIDPULSE_REFRESH_SECONDS": str(args.refresh)},
    )
    sim_log = (b.OUT / "soak-simulate.log").open("wb")
    simulate = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "data_layer",
            "simulate",
            "--data",
            str(data),
            "--per-minute",
            str(args.per_minute),
            "--interval",
            "10",
            "--seed",
            "16",
        ],
        cwd=ROOT,
        stdout=sim_log,
        stderr=subprocess.STDOUT,
    )
    pid = server.process.pid
    samples: list[dict[str, Any]] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(b.CHROMIUM), args=b.CHROMIUM_ARGS, headless=True
            )
            viewer = v.Viewer(browser=browser, base_url=server.base_url, name="soak")
            await viewer.open_context()
            await viewer.sign_in()
            await viewer.open("map")
            started = time.monotonic()
            cpu0 = v.cpu_seconds(pid)
            for minute in range(args.minutes + 1):
                if minute:
                    await asyncio.sleep(max(0.0, started + 60 * minute - time.monotonic()))
                boxes = await viewer.page.locator('[data-testid="stException"]').count()
                if boxes:
                    viewer.errors.append(f"minute {minute}: {boxes} exception box(es)")
                cards = await viewer.kpis(f"minute {minute}")
                sample = {
                    "minute": minute,
                    "rss_mb": v.rss_mb(pid),
                    "cpu_s": v.cpu_seconds(pid) - cpu0,
                    "kpis": cards,
                }
                samples.append(sample)
                print(
                    f"min {minute:3d}  RSS {sample['rss_mb']:6.1f} MB  CPU {sample['cpu_s']:7.2f} s"
                    f"  {cards[0] if cards else '-'}",
                    flush=True,
                )
            await viewer.close()
            await browser.close()
    finally:
        simulate.terminate()
        try:
            simulate.wait(timeout=20)
        except subprocess.TimeoutExpired:
            simulate.kill()
        sim_log.close()
        server_log = server.log_tail(400)
        server.stop()
    minutes = samples[-1]["minute"] if samples else 0
    intervals = minutes * 60 / args.refresh
    cpu = samples[-1]["cpu_s"] if samples else float("nan")
    after_first = [(s["minute"], s["rss_mb"]) for s in samples[1:]]
    tracebacks = server_log.count("Traceback")
    figures = [s["kpis"] for s in samples]
    changed = sum(1 for a, z in zip(figures, figures[1:], strict=False) if a != z)
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "scale": args.scale,
        "minutes": minutes,
        "refresh_s": args.refresh,
        "per_minute": args.per_minute,
        "loadavg_at_start": os.getloadavg(),
        "rss_first_mb": samples[0]["rss_mb"] if samples else None,
        "rss_last_mb": samples[-1]["rss_mb"] if samples else None,
        "rss_slope_mb_per_min": slope(after_first),
        "server_cpu_s": cpu,
        "refresh_intervals": intervals,
        "cpu_per_interval_s": cpu / intervals if intervals else float("nan"),
        "figures_changed_minutes": changed,
        "figures_changed": changed > 0 and figures[0] != figures[-1],
        "browser_errors": viewer.errors,
        "server_tracebacks": tracebacks,
        "simulate_exit": simulate.returncode,
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--scale", default="district")
    parser.add_argument("--refresh", type=float, default=10.0, help="live refresh, seconds")
    parser.add_argument("--per-minute", type=float, default=60.0, help="simulated cases/minute")
    args = parser.parse_args(argv)
    result = asyncio.run(soak(args))
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    ok_cpu = result["cpu_per_interval_s"] <= TARGET_CPU_PER_INTERVAL_S
    print(
        f"RSS {result['rss_first_mb']:.0f} → {result['rss_last_mb']:.0f} MB, slope "
        f"{result['rss_slope_mb_per_min']:+.2f} MB/min; server CPU per {args.refresh:g} s "
        f"interval {result['cpu_per_interval_s']:.3f} s "
        f"({'PASS' if ok_cpu else 'FAIL'} <= {TARGET_CPU_PER_INTERVAL_S}); figures changed "
        f"in {result['figures_changed_minutes']} of {result['minutes']} minutes; browser "
        f"errors {len(result['browser_errors'])}, server tracebacks "
        f"{result['server_tracebacks']}"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
