"""Streamlit server + headless Debian Chromium for the benchmark (no pytest).

The one implementation of the server/browser plumbing; tests/browser/conftest.py builds its
pytest fixtures on it (bench/ itself imports nothing from tests/). Run
``streamlit run`` on a free localhost port in its own process group, wait for
``/_stcore/health``; drive ``/usr/bin/chromium`` (or ``$GRIDPULSE_CHROMIUM``) with
Playwright in a fresh context per page load (cold browser cache), every request to a
host other than localhost blocked, and the bytes received over Streamlit's websocket
counted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
CHROMIUM = Path(os.environ.get("GRIDPULSE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``streamlit run`` subprocess on 127.0.0.1."""

    script: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_server(
    script: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    log_dir: Path = OUT,
    timeout: float = 300.0,
) -> Server:
    """Start ``streamlit run script`` from the repo root and wait until it is healthy.

    ``env`` is added to the current environment (the repo root goes on PYTHONPATH), ``args``
    are extra ``streamlit run`` options, the server's output goes to ``log_dir``.
    """
    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"streamlit-{script.stem}-{port}.log"
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    full_env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    full_env.update(env or {})
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        *args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            cmd,
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(script=script, port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + timeout
    health = f"http://127.0.0.1:{port}/_stcore/health"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(health, timeout=2) as resp:  # noqa: S310 - localhost
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError(f"{health} did not answer:\n{server.log_tail()}")
        time.sleep(0.25)


@contextlib.contextmanager
def running(script: Path, *, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    server = start_server(script, env=env)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PageLoad:
    """One page load in an offline browser context (a fresh one unless ``own_context`` is
    False: then the page shares a kept context and its cache)."""

    page: Any
    context: Any
    ws_bytes: int = 0
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    own_context: bool = True

    def close(self) -> None:
        if self.own_context:
            self.context.close()
        else:
            self.page.close()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


async def open_offline(browser: Any, errors: list[str], **options: Any) -> tuple[Any, Any]:
    """(context, page) of an async Playwright ``browser`` that loads only loopback URLs:
    every blocked request, uncaught page error and console error goes to ``errors``."""
    context = await browser.new_context(
        viewport={"width": 1400, "height": 1000}, service_workers="block", **options
    )

    async def route(route: Any) -> None:
        if _is_local(route.request.url):
            await route.continue_()
        else:
            errors.append(f"blocked {route.request.url}")
            await route.abort("blockedbyclient")

    await context.route("**/*", route)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console {msg.text}") if msg.type == "error" else None,
    )
    return context, page


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium (Playwright ``Browser``)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OfflineContext:
    """A Playwright browser context that may reach only this machine; ``blocked`` lists
    the requests to other hosts it aborted."""

    context: Any
    blocked: list[str] = field(default_factory=list)

    def close(self) -> None:
        self.context.close()


def new_context(browser: Any, *, width: int = 1400, height: int = 1000) -> OfflineContext:
    """A browser context with its own, empty cache; requests to hosts other than this
    machine are aborted and recorded."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, service_workers="block"
    )
    offline = OfflineContext(context=context)

    def route(route: Any) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            offline.blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", route)
    return offline


def new_page(
    browser: Any,
    *,
    context: OfflineContext | None = None,
    width: int = 1400,
    height: int = 1000,
) -> PageLoad:
    """A page in a fresh context (cold browser cache), or in the kept ``context`` (its
    cache is warm after the first load)."""
    own = context is None
    offline = new_context(browser, width=width, height=height) if own else context
    offline.blocked.clear()
    page = offline.context.new_page()
    load = PageLoad(page=page, context=offline.context, own_context=own)
    load.blocked = offline.blocked

    def on_ws(ws: Any) -> None:
        def count(payload: Any) -> None:
            load.ws_bytes += len(payload) if isinstance(payload, bytes) else len(payload.encode())

        ws.on("framereceived", count)

    page.on("websocket", on_ws)
    page.on("pageerror", lambda exc: load.errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: load.errors.append(msg.text) if msg.type == "error" else None,
    )
    return load


def wait_script_done(page: Any, *, timeout_ms: int = 120_000) -> None:
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]',
        state="attached",
        timeout=timeout_ms,
    )


def map_frame(page: Any, *, timeout_ms: int = 120_000) -> Any:
    """The st_folium component's frame (waits for the iframe element)."""
    handle = page.wait_for_selector(MAP_IFRAME, state="attached", timeout=timeout_ms)
    frame = handle.content_frame()
    if frame is None:
        raise RuntimeError("map iframe has no frame")
    return frame


# Number of area polygons Leaflet has projected (SVG or Canvas alike): layers with a
# feature, interactive, and pixel bounds computed.
COUNT_POLYGONS_JS = """
() => {
  const m = window.map;
  if (!m || !m._layers || !window.L) return 0;
  let n = 0;
  for (const id in m._layers) {
    const l = m._layers[id];
    if (l instanceof L.Polygon && l.feature && l.options.interactive !== false && l._pxBounds) n++;
  }
  return n;
}
"""

TWO_FRAMES_JS = """
() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))
"""


def wait_polygons(frame: Any, n: int, *, timeout_ms: int = 180_000) -> None:
    """Wait until ``n`` area polygons are projected in the map, then two frames (painted)."""
    frame.wait_for_function(
        f"({COUNT_POLYGONS_JS})() >= {int(n)}", polling="raf", timeout=timeout_ms
    )
    frame.evaluate(TWO_FRAMES_JS)


def wait_layer_painted(
    frame: Any, name: str, *, after: float = 0.0, timeout_ms: int = 60_000
) -> None:
    """Wait until layer ``name`` was added after ``after`` (the frame's
    ``performance.now()``) and painted: assets/js/runtime.js records
    ``window.gridpulse.layers[name] = {added, painted}``, ``painted`` two animation frames
    after the layer's data was added."""
    frame.wait_for_function(
        """([name, after]) => {
            const rec = window.gridpulse && window.gridpulse.layers[name];
            return !!rec && rec.added > after && rec.painted !== null;
        }""",
        arg=[name, after],
        polling="raf",
        timeout=timeout_ms,
    )


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return float("nan")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def settle(*, idle: float = 0.8, window_s: float = 0.2, max_wait_s: float = 5.0) -> float:
    """Wait until the CPUs are at least ``idle`` idle over ``window_s`` (or ``max_wait_s``
    passed); return the seconds waited.

    A timed load must not start while the last one is still being torn down (Chromium
    closing its renderer processes, a server finishing its script run): on a 2-core
    machine that leftover work is a large, random part of a ~2 s load. Every page waits
    alike. Where /proc/stat does not exist, waits nothing.
    """
    if not Path("/proc/stat").exists():
        return 0.0
    started = time.perf_counter()
    while time.perf_counter() - started < max_wait_s:
        idle0, total0 = _cpu_times()
        time.sleep(window_s)
        idle1, total1 = _cpu_times()
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) >= idle:
            break
    return time.perf_counter() - started
