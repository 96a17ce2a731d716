"""Server CPU per live refresh on the PostgreSQL source (issue #16): ``python
bench/live_refresh.py --db URL --data DIR [--viewers 1 5] [--minutes 3]``.

The live refresh target: "≤ 300 ms server CPU per interval, whatever the number of
viewers". The database must be loaded already (a size where the settled history is used,
``history.MIN_ROWS`` = 1M cases; e.g. ``db local``, ``db init``, ``db load`` of a part of
the province, bench/README.md). For each count of ``--viewers`` it starts the real app
(``app.py`` from ``--root``, default this checkout: another checkout's gives the before)
with ``GRIDPULSE_DATABASE_URL``, ``GRIDPULSE_DATA`` (the accounts) and a live refresh every
``--refresh`` seconds, runs ``python -m data_layer simulate --db`` beside it (``--per-minute``
new cases, every 10 s), signs the viewers in (headless Chromium, one context each) on the
Overview, lets ``--warm`` seconds pass (the first read, the case index, the settled
history's first build), then measures the server process's CPU time over ``--minutes``
while every viewer's Overview refreshes by itself. Reported per run: CPU per refresh
interval, the load average, server RSS, errors, and whether the viewers' KPI cards moved
on. Results: stdout and ``bench/results-live-refresh.json``. One run; never a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
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

RESULTS = ROOT / "bench" / "results-live-refresh.json"
TARGET_CPU_PER_INTERVAL_S = 0.3


def start_app(root: Path, env: dict[str, str]) -> b.Server:
    """``streamlit run serve.py`` of ``root`` (as ``bench.browser.start_server`` starts it;
    ``app.py`` for an older checkout without the server entry)."""
    entry = root / "serve.py" if (root / "serve.py").exists() else root / "app.py"
    port = b.free_port()
    b.OUT.mkdir(parents=True, exist_ok=True)
    log_path = b.OUT / f"streamlit-live-{port}.log"
    full_env = {**os.environ, "PYTHONPATH": str(root), **env}
    full_env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(entry),
        "--server.port", str(port), "--server.headless", "true",
        "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            cmd, cwd=root, env=full_env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    server = b.Server(script=entry, port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + 300
    while not _healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"streamlit did not start:\n{server.log_tail()}")
        time.sleep(0.25)
    return server


def _healthy(port: int) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:  # noqa: S310 - localhost
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def simulate(url: str, per_minute: float) -> subprocess.Popen[bytes]:
    log = (b.OUT / "live-refresh-simulate.log").open("ab")
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "data_layer", "simulate", "--db", url,
         "--per-minute", str(per_minute), "--interval", "10", "--seed", "16"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def one_run(args: argparse.Namespace, viewers: int) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    env = {
        "GRIDPULSE_DATABASE_URL": args.db,
        "GRIDPULSE_DATA": str(args.data),
        "GRIDPULSE_REFRESH_SECONDS": str(args.refresh),
    }
    server = start_app(Path(args.root).resolve(), env)
    writer = simulate(args.db, args.per_minute)
    pid = server.process.pid
    people: list[v.Viewer] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(b.CHROMIUM), args=b.CHROMIUM_ARGS, headless=True
            )
            for i in range(viewers):
                viewer = v.Viewer(browser=browser, base_url=server.base_url, name=f"v{i}")
                await viewer.open_context()
                await viewer.sign_in()
                people.append(viewer)
            await asyncio.sleep(args.warm)
            before = [await p.kpis("start") for p in people]
            load_start = os.getloadavg()
            cpu0, t0 = v.cpu_seconds(pid), time.monotonic()
            await asyncio.sleep(args.minutes * 60)
            cpu, elapsed = v.cpu_seconds(pid) - cpu0, time.monotonic() - t0
            load_end = os.getloadavg()
            after = [await p.kpis("end") for p in people]
            boxes = sum(
                [await p.page.locator('[data-testid="stException"]').count() for p in people]
            )
            rss = v.rss_mb(pid)
            for p in people:
                await p.close()
            await browser.close()
    finally:
        writer.terminate()
        writer.wait(timeout=20)
        log = server.log_tail(400)
        server.stop()
    intervals = elapsed / args.refresh
    return {
        "viewers": viewers,
        "root": str(args.root),
        "seconds": round(elapsed, 1),
        "refresh_s": args.refresh,
        "server_cpu_s": round(cpu, 2),
        "cpu_per_interval_s": round(cpu / intervals, 3),
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in load_end],
        "rss_mb": round(rss, 1),
        "figures_moved_on": all(a != z for a, z in zip(before, after, strict=True)),
        "same_figures": all(z == after[0] for z in after),
        "exception_boxes": boxes,
        "browser_errors": [e for p in people for e in p.errors],
        "server_tracebacks": log.count("Traceback"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a loaded GridPulse database URL")
    parser.add_argument("--data", required=True, type=Path, help="GRIDPULSE_DATA (accounts)")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose app.py runs")
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--warm", type=float, default=90.0, help="seconds before measuring")
    parser.add_argument("--refresh", type=float, default=10.0)
    parser.add_argument("--per-minute", type=float, default=60.0)
    parser.add_argument("--label", default="", help="a name for this run in the results")
    args = parser.parse_args(argv)
    runs = []
    for n in args.viewers:
        result = asyncio.run(one_run(args, n))
        result["label"] = args.label
        runs.append(result)
        ok = result["cpu_per_interval_s"] <= TARGET_CPU_PER_INTERVAL_S
        print(
            f"{args.label or args.root}: {n} viewer(s): server CPU {result['server_cpu_s']} s in "
            f"{result['seconds']} s = {result['cpu_per_interval_s']} s per {args.refresh:g} s "
            f"interval ({'PASS' if ok else 'FAIL'} <= {TARGET_CPU_PER_INTERVAL_S}); load "
            f"{result['loadavg_start']} → {result['loadavg_end']}; RSS {result['rss_mb']} MB; "
            f"figures moved on {result['figures_moved_on']}, same {result['same_figures']}; "
            f"errors {len(result['browser_errors'])} + {result['exception_boxes']} boxes, "
            f"tracebacks {result['server_tracebacks']}",
            flush=True,
        )
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    RESULTS.write_text(
        json.dumps(
            [*previous, {"when": dt.datetime.now().isoformat(timespec="seconds"), "runs": runs}],
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
