"""Server CPU per view and a room full of viewers (issue #16): ``python bench/viewers.py``.

Starts the real app (``app.py``: sign-in, the real pages) on ``bench/data-<scale>``
(generated when missing) and drives headless Debian Chromium on loopback, every non-local
request blocked:

1. **One viewer, N views** (``--views``): sign in with the demo account ``district``, then
   open Overview, Map and 案件办结 (案件办结 = ``cases``) in turn through the sidebar menu,
   each view until it is *ready* (the page's title shown, the script run finished, the
   map's areas painted on the map pages), then wait until the server is idle. The server
   process's own CPU time (``/proc/<pid>/stat`` utime + stime) before and after each view
   is that view's cost; the first round is a warm-up (caches filled), not counted.
2. **A batch of concurrent viewers** (``--viewers``, default 10): each its own browser
   context, all started at once: sign in, open Overview, Map and 案件办结, and on each page
   change the shared filter (one street). Checked: every viewer painted every page, no
   error on any page (uncaught errors, console errors, Streamlit exception boxes), and all
   viewers read the same KPI card text per page and filter. Reported: server CPU per view
   over the batch (the batch's CPU / its views), p50/p95 page-ready, server RSS.

Results: a summary on stdout and ``bench/results-viewers.json``. One run, medians and
ratios; never a timed unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from playwright.async_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from bench import browser as b  # noqa: E402
from bench.run import data_dir, ensure_data  # noqa: E402
from data_layer.domain.filters import DEFAULT_PERIOD  # noqa: E402
from data_layer.domain.labels import text  # noqa: E402

APP = ROOT / "serve.py"  # the server entry: app.py in st.App with the session route
RESULTS = ROOT / "bench" / "results-viewers.json"
TARGET_CPU_PER_VIEW_S = 0.15
TARGET_RSS_MB = 4096
ACCOUNT = "district"
# page → (URL path, title key, has a map)
PAGES: dict[str, tuple[str, str, bool]] = {
    "overview": ("", "app.title", True),
    "map": ("map", "map.title", True),
    "cases": ("cases", "cases.title", False),
}
CLK_TCK = os.sysconf("SC_CLK_TCK")
TIMEOUT_MS = 180_000
AS_OF = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


# -- the server process ------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process ``pid`` has used so far, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_idle(pid: int, *, quiet_s: float = 0.4, step_s: float = 0.2, max_s: float = 10.0) -> None:
    """Wait until the server has used (almost) no CPU for ``quiet_s`` (a view's tail: its
    last messages, static files), at most ``max_s``."""
    started = time.monotonic()
    last = cpu_seconds(pid)
    still = 0.0
    while time.monotonic() - started < max_s:
        time.sleep(step_s)
        now = cpu_seconds(pid)
        still = still + step_s if now - last <= 0.02 else 0.0
        last = now
        if still >= quiet_s:
            return


def start_app(
    scale: str, *, env: dict[str, str] | None = None, args: list[str] | tuple[str, ...] = ()
) -> b.Server:
    data = ensure_data(scale)
    return b.start_server(APP, env={"GRIDPULSE_DATA": str(data), **(env or {})}, args=args)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (as numpy's default)."""
    s = sorted(values)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


# -- one viewer in the browser (async: a batch runs concurrently in one Chromium) ---------

# From the page itself (the component's iframe is same-origin), so that an iframe replaced
# while we wait is simply looked up again: the map's areas added, projected and painted.
# ``fresh``: only a layer not marked stale by ``MARK_STALE_JS`` counts (the map after a page
# change or a filter change, not the one that was already there).
MAP_PAINTED_JS = """(fresh) => {
  const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
  const w = f && f.contentWindow;
  if (!w || !w.gridpulse || !w.gridpulse.layers || !w.L || !w.map || !w.map._layers) return false;
  const painted = Object.values(w.gridpulse.layers).some(
    r => r && r.painted !== null && r.count > 0 && !(fresh && r.stale));
  if (!painted) return false;
  for (const id in w.map._layers) {
    const l = w.map._layers[id];
    if (l instanceof w.L.Polygon && l.feature && l.options.interactive !== false && l._pxBounds)
      return true;
  }
  return false;
}"""
MARK_STALE_JS = """() => {
  for (const f of document.querySelectorAll('iframe[title="streamlit_folium.st_folium"]')) {
    const w = f.contentWindow;
    if (w && w.gridpulse && w.gridpulse.layers)
      for (const r of Object.values(w.gridpulse.layers)) if (r) r.stale = true;
  }
}"""
PAGE_DONE_JS = """(title) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const h1 = document.querySelector('h1');
  return !!h1 && h1.textContent.trim().startsWith(title);
}"""


@dataclass
class Viewer:
    """One browser context on the app: signs in, opens pages, reads the KPI cards."""

    browser: Any
    base_url: str
    name: str
    context: Any = None
    page: Any = None
    errors: list[str] = field(default_factory=list)
    ready_s: list[float] = field(default_factory=list)
    sign_in_s: float | None = None
    sign_in_click_s: float | None = None  # from the click on the demo account to ready
    figures: dict[str, list[str]] = field(default_factory=dict)
    last_change_s: float | None = None
    current: str | None = None  # the page shown

    async def open_context(self) -> None:
        self.context, self.page = await b.open_offline(self.browser, self.errors)

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()

    async def sign_in(self) -> float:
        """Open the app, click the demo account: until Overview is ready (seconds from the
        navigation; ``sign_in_click_s`` holds the part from the click)."""
        started = time.perf_counter()
        await self.page.goto(self.base_url, timeout=TIMEOUT_MS)
        button = self.page.locator(f".st-key-signin_demo_{ACCOUNT} button")
        await button.wait_for(timeout=TIMEOUT_MS)
        clicked = time.perf_counter()
        await button.click(timeout=TIMEOUT_MS)
        await button.wait_for(state="detached", timeout=TIMEOUT_MS)
        await self.wait_ready("overview")
        self.current = "overview"
        done = time.perf_counter()
        self.sign_in_click_s = done - clicked
        return done - started

    async def open(self, page: str) -> float:
        """Click ``page`` in the sidebar menu; seconds until it is ready."""
        path = PAGES[page][0]
        link = self.page.locator(f'[data-testid="stSidebarNav"] a[href="{self.base_url}/{path}"]')
        await self.page.evaluate(MARK_STALE_JS)
        started = time.perf_counter()
        await link.click(timeout=TIMEOUT_MS)
        await self.wait_ready(page, fresh=True)
        self.current = page
        elapsed = time.perf_counter() - started
        self.ready_s.append(elapsed)
        return elapsed

    async def wait_ready(self, page: str, *, fresh: bool = False) -> None:
        """Until ``page`` is ready: its title shown, the script run finished and, on a map
        page, the map's areas painted (with ``fresh``, by a layer added since the last
        ``MARK_STALE_JS``: a page or filter change)."""
        _, title_key, has_map = PAGES[page]
        title = text(title_key, lang="zh")
        # the page's title and a finished script run, twice in a row (a run can start late)
        for _ in range(2):
            await self.page.wait_for_function(PAGE_DONE_JS, arg=title, timeout=TIMEOUT_MS)
            await self.page.wait_for_timeout(100)
        if has_map:
            await self.page.wait_for_function(
                MAP_PAINTED_JS, arg=fresh, polling=100, timeout=TIMEOUT_MS
            )
        await self.page.evaluate(b.TWO_FRAMES_JS)
        boxes = await self.page.locator('[data-testid="stException"]').count()
        boxes += await self.page.locator('[data-testid="stAlertContentError"]').count()
        if boxes:
            self.errors.append(f"{page}: {boxes} error box(es) on the page")

    async def kpis(self, label: str) -> list[str]:
        """The KPI cards' label and value text, as the viewer sees them, under ``label`` and
        the as-of minute the page states (live figures move on with the minute)."""
        cards = self.page.locator('[data-testid="stMetric"]')
        texts = [" ".join((await c.inner_text()).split()) for c in await cards.all()]
        captions = " ".join(
            await self.page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
        )
        found = AS_OF.search(captions)
        self.figures[f"{label}@{found.group(0) if found else '?'}"] = texts
        return texts

    async def _change(self, page: str, click: Any, url_ok: Any) -> float:
        """A filter change: ``click()`` (the widget's action), then until the URL says the
        run began (``url_ok``) and ``page`` is ready again, its map repainted. Seconds from
        the click."""
        await self.page.evaluate(MARK_STALE_JS)
        started = time.perf_counter()
        await click()
        await self.page.wait_for_url(url_ok, timeout=TIMEOUT_MS)
        await self.wait_ready(page, fresh=True)
        return time.perf_counter() - started

    async def _open_menu(self, control: Any, option: Any, *, tries: int = 3) -> None:
        """Click ``control`` until its menu shows ``option`` (a click can land while another
        menu is open, and only close that one)."""
        for attempt in range(tries):
            await control.click(timeout=TIMEOUT_MS)
            try:
                await option.wait_for(timeout=5_000)
                return
            except PlaywrightTimeout:
                if attempt == tries - 1:
                    raise
                await self.page.keyboard.press("Escape")

    async def _pick(self, key: str, option: Any) -> None:
        await option.click(timeout=TIMEOUT_MS)
        if key == "f_streets":  # a multiselect stays open
            await self.page.keyboard.press("Escape")

    async def pick_street(self, page: str, index: int = 0, *, name: str | None = None) -> str:
        """Change the shared filter: choose the ``index``-th street, or the street ``name``
        (typed into the box); wait until ready (``last_change_s``: seconds from the click
        on the street)."""
        box = self.page.locator(".st-key-f_streets input")
        options = self.page.locator('[role="option"]').filter(has_not_text="Select all")
        await self._open_menu(box, options.first)
        if name is not None:
            await box.fill(name)
            option = options.filter(has_text=name).first
        else:
            option = options.nth(index)
        name = (await option.inner_text()).strip()
        self.last_change_s = await self._change(
            page, lambda: self._pick("f_streets", option), "**street=*"
        )
        self.ready_s.append(self.last_change_s)
        return name

    async def clear_streets(self, page: str, name: str) -> float:
        """Remove the street chosen by ``pick_street``; seconds until ready."""
        button = self.page.locator(f'button[aria-label="Remove {name}"]')
        return await self._change(
            page,
            lambda: button.click(timeout=TIMEOUT_MS),
            lambda url: "street=" not in url,
        )

    async def pick_period(self, page: str, period: str) -> float:
        """Choose ``period`` (a code of ``PERIODS``) in the sidebar's period select box;
        seconds until ready. The default period leaves the URL without ``period=``."""
        label = text(f"period.{period}", lang="zh")
        option = self.page.locator('[role="option"]').filter(has_text=label).first
        await self._open_menu(self.page.locator(".st-key-f_period input"), option)
        if period == DEFAULT_PERIOD:
            url_ok: Any = lambda url: "period=" not in url  # noqa: E731
        else:
            url_ok = f"**period={period}*"
        return await self._change(page, lambda: self._pick("f_period", option), url_ok)


# -- 1. one viewer, N views --------------------------------------------------------------


def py_spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` of the server into ``out`` (collapsed stacks), if py-spy is there
    (``$PY_SPY`` or on PATH); None otherwise."""
    exe = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not exe:
        print("py-spy not found: no profile (set PY_SPY=/path/to/py-spy)")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [
            exe,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "200",
            "--output",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_py_spy(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


async def solo_views(
    viewer: Viewer, pid: int, *, views: int, profile: Path | None = None
) -> dict[str, Any]:
    """A signed-in ``viewer`` opens Overview, Map and 案件办结 from the menu, ``views`` + 1
    rounds; round 0 fills the caches and is not counted. Per view: the server's CPU (from
    an idle server until it is idle again) and the page-ready time."""
    per_page: dict[str, list[float]] = {p: [] for p in PAGES}
    ready: dict[str, list[float]] = {p: [] for p in PAGES}
    order = ["map", "cases", "overview"]
    spy = None
    try:
        for round_ in range(views + 1):
            if round_ == 1 and profile is not None:
                spy = py_spy(pid, profile)
            for page in order:
                await asyncio.to_thread(wait_idle, pid)
                before = cpu_seconds(pid)
                elapsed = await viewer.open(page)
                await asyncio.to_thread(wait_idle, pid)
                spent = cpu_seconds(pid) - before
                if round_:
                    per_page[page].append(spent)
                    ready[page].append(elapsed)
    finally:
        stop_py_spy(spy)
    return {
        "views_per_page": views,
        "cpu_per_view_s": {p: b.median(v) for p, v in per_page.items()},
        "cpu_per_view_all_s": per_page,
        "ready_s": {p: b.median(v) for p, v in ready.items()},
        "ready_p95_s": {p: percentile(v, 0.95) for p, v in ready.items()},
        "ready_all_s": ready,
    }


async def one_viewer(
    browser: Any, server: b.Server, *, views: int, profile: Path | None = None
) -> dict[str, Any]:
    pid = server.process.pid
    viewer = Viewer(browser=browser, base_url=server.base_url, name="solo")
    await viewer.open_context()
    try:
        await asyncio.to_thread(wait_idle, pid)
        before = cpu_seconds(pid)
        await viewer.sign_in()
        await asyncio.to_thread(wait_idle, pid)
        sign_in_cpu = cpu_seconds(pid) - before  # a cold start: data read, first queries
        out = {"first_sign_in_cpu_s": sign_in_cpu}
        out.update(await solo_views(viewer, pid, views=views, profile=profile))
        out["errors"] = viewer.errors
        out["rss_mb"] = rss_mb(pid)
        return out
    finally:
        await viewer.close()


# -- 2. a batch of concurrent viewers ----------------------------------------------------


async def evidence(viewer: Viewer, exc: Exception) -> None:
    """A viewer that did not get through: counted, with a screenshot."""
    viewer.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    with contextlib.suppress(Exception):
        b.OUT.mkdir(parents=True, exist_ok=True)
        shot = b.OUT / f"viewer-{viewer.name}-{int(time.time())}.png"
        await viewer.page.screenshot(path=str(shot))


async def viewer_sign_in(viewer: Viewer) -> bool:
    await viewer.open_context()
    try:
        viewer.sign_in_s = await viewer.sign_in()
        return True
    except Exception as exc:
        await evidence(viewer, exc)
        return False


async def viewer_browse(viewer: Viewer) -> int:
    """Per page: open it (Overview is open after sign-in), read the cards, choose the first
    street, read them again, remove the street. Returns the number of views."""
    views = 0
    try:
        for page in ("overview", "map", "cases"):
            if page != "overview":
                await viewer.open(page)
                views += 1
            await viewer.kpis(f"{page}/all")
            name = await viewer.pick_street(page)
            views += 1
            await viewer.kpis(f"{page}/street")
            await viewer.clear_streets(page, name)
            views += 1
    except Exception as exc:
        await evidence(viewer, exc)
    return views


async def batch(browser: Any, server: b.Server, *, n: int) -> dict[str, Any]:
    pid = server.process.pid
    await asyncio.to_thread(wait_idle, pid)
    viewers = [Viewer(browser=browser, base_url=server.base_url, name=f"v{i}") for i in range(n)]
    rss_peak = rss_mb(pid)
    before = cpu_seconds(pid)
    started = time.perf_counter()
    done = False

    async def sample() -> None:
        nonlocal rss_peak
        while not done:
            rss_peak = max(rss_peak, rss_mb(pid))
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    signed_in = await asyncio.gather(*(viewer_sign_in(v) for v in viewers))
    await asyncio.to_thread(wait_idle, pid)
    middle = cpu_seconds(pid)
    views = await asyncio.gather(
        *(viewer_browse(v) for v, ok in zip(viewers, signed_in, strict=True) if ok)
    )
    wall = time.perf_counter() - started
    await asyncio.to_thread(wait_idle, pid)
    spent = cpu_seconds(pid) - middle
    done = True
    await sampler
    for v in viewers:
        await v.close()
    total_views = sum(views)
    ready = [s for v in viewers for s in v.ready_s]  # page opens and filter changes
    # every reading of a page and filter at the same as-of minute must agree
    readings: dict[str, list[tuple[str, list[str]]]] = {}
    for v in viewers:
        for key, texts in v.figures.items():
            readings.setdefault(key, []).append((v.name, texts))
    differing = sorted(
        {name for group in readings.values() for name, texts in group if texts != group[0][1]}
    )
    same = not differing
    painted = all(len(v.figures) == 2 * len(PAGES) for v in viewers)
    return {
        "viewers": n,
        "signed_in": sum(signed_in),
        "sign_in_cpu_s": middle - before,
        "sign_in_cpu_per_viewer_s": (middle - before) / n,
        "views": total_views,
        "wall_s": wall,
        "server_cpu_s": spent,
        "cpu_per_view_s": spent / total_views if total_views else float("nan"),
        "ready_p50_s": percentile(ready, 0.5),
        "ready_p95_s": percentile(ready, 0.95),
        "sign_in_p50_s": percentile([v.sign_in_s for v in viewers if v.sign_in_s], 0.5),
        "every_viewer_painted": painted,
        "same_figures": same,
        "figures": {key: group[0][1] for key, group in readings.items()},
        "readings_per_figure": {key: len(group) for key, group in readings.items()},
        "differing": differing,
        "errors": {v.name: v.errors for v in viewers if v.errors},
        "rss_peak_mb": rss_peak,
        "rss_after_mb": rss_mb(pid),
    }


# -- main --------------------------------------------------------------------------------


async def run_scale(scale: str, args: argparse.Namespace) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    server = await asyncio.to_thread(start_app, scale, args=args.server_arg)
    try:
        pid = server.process.pid
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=str(b.CHROMIUM), args=b.CHROMIUM_ARGS, headless=True
            )
            try:
                out: dict[str, Any] = {"rss_start_mb": rss_mb(pid)}
                profile = ROOT / "bench" / "out" / f"py-spy-{scale}.txt" if args.profile else None
                out["one_viewer"] = await one_viewer(
                    browser, server, views=args.views, profile=profile
                )
                print(f"[{scale}] one viewer: {json.dumps(out['one_viewer']['cpu_per_view_s'])}")
                for n in args.viewers:
                    result = await batch(browser, server, n=n)
                    out[f"batch_{n}"] = result
                    print(
                        f"[{scale}] {n} viewers: cpu/view {result['cpu_per_view_s']:.3f} s, "
                        f"ready p50 {result['ready_p50_s']:.2f} s p95 "
                        f"{result['ready_p95_s']:.2f} s, same figures {result['same_figures']}"
                        f", errors {len(result['errors'])}, RSS peak "
                        f"{result['rss_peak_mb']:.0f} MB",
                        flush=True,
                    )
                return out
            finally:
                await browser.close()
    finally:
        server.stop()


def checks(results: dict[str, Any]) -> list[tuple[str, bool]]:
    out = []
    for scale, r in results["scales"].items():
        solo = r["one_viewer"]["cpu_per_view_s"]
        for page, cpu in solo.items():
            out.append(
                (
                    f"{scale} {page}: CPU/view {cpu:.3f} s <= {TARGET_CPU_PER_VIEW_S}",
                    cpu <= TARGET_CPU_PER_VIEW_S,
                )
            )
        for key, batch_ in r.items():
            if not key.startswith("batch_"):
                continue
            n = batch_["viewers"]
            out.append(
                (f"{scale} {n} viewers: every viewer painted", batch_["every_viewer_painted"])
            )
            out.append((f"{scale} {n} viewers: no errors", not batch_["errors"]))
            out.append((f"{scale} {n} viewers: same figures", batch_["same_figures"]))
            out.append(
                (
                    f"{scale} {n} viewers: CPU/view {batch_['cpu_per_view_s']:.3f} s <= "
                    f"{TARGET_CPU_PER_VIEW_S}",
                    batch_["cpu_per_view_s"] <= TARGET_CPU_PER_VIEW_S,
                )
            )
            out.append(
                (
                    f"{scale} {n} viewers: RSS peak {batch_['rss_peak_mb']:.0f} MB <= {TARGET_RSS_MB}",
                    batch_["rss_peak_mb"] <= TARGET_RSS_MB,
                )
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="district", help="district, province, or both: all")
    parser.add_argument("--views", type=int, default=5, help="counted views per page, 1 viewer")
    parser.add_argument(
        "--viewers", default="10", help="comma-separated batch sizes of concurrent viewers"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy record the server during the counted single-viewer views "
        "(bench/out/py-spy-<scale>.txt, collapsed stacks; needs py-spy or $PY_SPY)",
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra `streamlit run` option for an A/B, e.g. --server-arg=--server.fileWatcherType"
        " --server-arg=auto",
    )
    args = parser.parse_args(argv)
    args.viewers = [int(x) for x in args.viewers.split(",") if x.strip() and int(x) > 0]
    if args.scale == "all":
        scales = ["district"] + (["province"] if data_dir("province").is_dir() else [])
    else:
        scales = [args.scale]
    results: dict[str, Any] = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "loadavg_at_start": os.getloadavg(),
        },
        "method": (
            "real app.py signed in as the demo district account; a view = a page opened from "
            "the sidebar menu or a filter change, until the title is shown, the script run "
            "finished and the map painted; server CPU = utime + stime of the streamlit "
            "process from /proc, until the server is idle after the view"
        ),
        "scales": {},
    }
    for scale in scales:
        results["scales"][scale] = asyncio.run(run_scale(scale, args))
    results["checks"] = [{"check": c, "ok": ok} for c, ok in checks(results)]
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for c, ok in checks(results):
        print(f"{'PASS' if ok else 'FAIL'}  {c}")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
