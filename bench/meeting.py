"""The 联席会议 (meeting) page's time and server CPU (issue #16): ``python bench/meeting.py``.

Starts the real app (``app.py``) on a data directory (``--data``, default
``bench/data-district``, generated when missing) and drives one headless Debian Chromium on
loopback (every non-local request blocked), signed in as the demo account ``district``:

- **cold**: right after the server starts, sign in, open 联席会议 from the sidebar menu,
  step through its seven slides (← →), enter presentation mode, step through them again,
  leave it, and prepare the PPTX and the PDF (click the download button, until the file
  arrived);
- **warm** (``--rounds``): a fresh browser session signs in on Overview and does the same
  (its default meeting is last month frozen at the current minute: the briefing is built
  again when the minute has moved on, the map picture is reused when it is unchanged);
- **shared link**: one more session opens the frozen link the cold view ended on (sign-in
  included: the browser loads the app from scratch), as the other leaders in the room do.

Each step is timed until the page is *ready* (the heading shown, the script run finished,
the slide's image decoded on the map slide, two frames painted) and costed in the server
process's own CPU time (``/proc/<pid>/stat`` utime + stime) until the server is idle.
Results: a summary on stdout and ``--out`` (JSON). One run, medians; never a timed unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import browser as b  # noqa: E402
from bench.run import ensure_data  # noqa: E402
from bench.viewers import APP, cpu_seconds, rss_mb, wait_idle  # noqa: E402

ACCOUNT = "district"
SLIDES = 7
TIMEOUT_MS = 180_000
# the script run finished (twice in a row, a run can start late), and every image decoded
READY_JS = """(counter) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (!document.querySelector('h1')) return false;
  if (counter) {
    const c = document.querySelector('[data-testid="mt-counter"]');
    if (!c || !c.textContent.trim().startsWith(counter)) return false;
  }
  for (const img of document.querySelectorAll('[data-testid="stImage"] img, img[data-testid="stImage"]'))
    if (!img.complete || img.naturalWidth === 0) return false;
  return true;
}"""


class Meeting:
    def __init__(self, browser: Any, server: b.Server) -> None:
        self.browser, self.server = browser, server
        self.pid = server.process.pid
        self.steps: list[dict[str, Any]] = []
        self.errors: list[str] = []

    async def open_context(self) -> None:
        self.context, self.page = await b.open_offline(
            self.browser, self.errors, accept_downloads=True
        )
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    async def ready(self, counter: str | None) -> None:
        for _ in range(2):
            await self.page.wait_for_function(READY_JS, arg=counter, timeout=TIMEOUT_MS)
            await self.page.wait_for_timeout(100)
        await self.page.evaluate(b.TWO_FRAMES_JS)
        boxes = await self.page.locator('[data-testid="stException"]').count()
        boxes += await self.page.locator('[data-testid="stAlertContentError"]').count()
        if boxes:
            self.errors.append(f"{boxes} error box(es) on the page")

    async def step(self, name: str, action, *, counter: str | None) -> float:
        await asyncio.to_thread(wait_idle, self.pid)
        cpu = cpu_seconds(self.pid)
        started = time.perf_counter()
        await action()
        await self.ready(counter)
        elapsed = time.perf_counter() - started
        await asyncio.to_thread(wait_idle, self.pid)
        spent = cpu_seconds(self.pid) - cpu
        self.steps.append({"step": name, "ready_s": round(elapsed, 3), "cpu_s": round(spent, 3)})
        print(f"  {name:<22} ready {elapsed:6.2f} s   server CPU {spent:6.2f} s", flush=True)
        return elapsed

    async def sign_in(self, url: str) -> None:
        await self.page.goto(url, timeout=TIMEOUT_MS)
        button = self.page.locator(f".st-key-signin_demo_{ACCOUNT} button")
        await button.click(timeout=TIMEOUT_MS)
        await button.wait_for(state="detached", timeout=TIMEOUT_MS)
        await self.ready(None)

    async def click(self, key: str) -> None:
        await self.page.locator(f".st-key-{key} button").first.click(timeout=TIMEOUT_MS)

    async def slides(self, prefix: str) -> None:
        for n in range(2, SLIDES + 1):
            await self.step(
                f"{prefix}slide {n}", lambda: self.click("mt_next"), counter=f"{n} / {SLIDES}"
            )

    async def download(self, fmt: str) -> None:
        await asyncio.to_thread(wait_idle, self.pid)
        cpu = cpu_seconds(self.pid)
        started = time.perf_counter()
        async with self.page.expect_download(timeout=TIMEOUT_MS) as info:
            await self.click(f"mt_download_{fmt}")
        download = await info.value
        path = await download.path()
        elapsed = time.perf_counter() - started
        await asyncio.to_thread(wait_idle, self.pid)
        spent = cpu_seconds(self.pid) - cpu
        size = Path(path).stat().st_size if path else 0
        self.steps.append(
            {"step": f"download {fmt}", "ready_s": round(elapsed, 3), "cpu_s": round(spent, 3)}
        )
        print(
            f"  {'download ' + fmt:<22} ready {elapsed:6.2f} s   server CPU {spent:6.2f} s"
            f"   ({size:,} bytes)",
            flush=True,
        )

    async def run(self, *, link: str | None) -> str:
        """The whole visit; returns the frozen link it ended on."""
        await self.open_context()
        base = self.server.base_url
        if link is None:  # sign in on Overview, then the menu
            await self.sign_in(base)

            async def menu() -> None:
                sel = f'[data-testid="stSidebarNav"] a[href="{base}/meeting"]'
                await self.page.locator(sel).click(timeout=TIMEOUT_MS)

            await self.step("open 联席会议 (menu)", menu, counter=f"1 / {SLIDES}")
        else:  # a leader opens the shared link: sign in lands on the meeting

            async def deep() -> None:
                await self.sign_in(link)

            await self.step("open the shared link", deep, counter=f"1 / {SLIDES}")
        await self.slides("")
        await self.step("presentation mode", lambda: self.click("mt_present"), counter=None)
        # presentation mode keeps the slide: back to 1 with ←
        for n in range(SLIDES - 1, 0, -1):
            await self.step(
                f"present slide {n}", lambda: self.click("mt_prev"), counter=f"{n} / {SLIDES}"
            )
        await self.step("leave presentation", lambda: self.click("mt_exit"), counter=None)
        await self.download("pptx")
        await self.download("pdf")
        url = self.page.url
        await self.context.close()
        return url


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    data = Path(args.data) if args.data else ensure_data("district")
    server = await asyncio.to_thread(b.start_server, APP, env={"GRIDPULSE_DATA": str(data)})
    rounds: list[dict[str, Any]] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(b.CHROMIUM), args=b.CHROMIUM_ARGS, headless=True
            )
            try:
                link = None
                for n in range(args.rounds + 2):
                    kind = "cold" if n == 0 else "warm" if n <= args.rounds else "shared link"
                    print(f"round {n} ({kind}):", flush=True)
                    visit = Meeting(browser, server)
                    found = await visit.run(link=link if n > args.rounds else None)
                    link = link or found
                    rounds.append({"kind": kind, "steps": visit.steps, "errors": visit.errors})
            finally:
                await browser.close()
        rss = rss_mb(server.process.pid)
    finally:
        server.stop()
    warm: dict[str, dict[str, float]] = {}
    for r in rounds[1:]:
        if r["kind"] != "warm":
            continue
        for s in r["steps"]:
            warm.setdefault(s["step"], {"ready": [], "cpu": []})
            warm[s["step"]]["ready"].append(s["ready_s"])
            warm[s["step"]]["cpu"].append(s["cpu_s"])
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "data": str(data),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg()},
        "platform": platform.platform(),
        "cold": rounds[0],
        "warm_median": {
            k: {"ready_s": b.median(v["ready"]), "cpu_s": b.median(v["cpu"])}
            for k, v in warm.items()
        },
        "warm_rounds": rounds[1:],
        "rss_mb": rss,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="data directory (default bench/data-district)")
    parser.add_argument("--rounds", type=int, default=2, help="warm visits after the cold one")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "meeting.json"))
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("warm medians:")
    for step, v in result["warm_median"].items():
        print(f"  {step:<22} ready {v['ready_s']:6.2f} s   server CPU {v['cpu_s']:6.2f} s")
    errors = [e for r in [result["cold"], *result["warm_rounds"]] for e in r["errors"]]
    print(f"errors: {errors or 'none'}; RSS {result['rss_mb']:.0f} MB; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
