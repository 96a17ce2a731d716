"""Scale-out on one machine: PostgreSQL, 2–3 app replicas and nginx, driven by many viewers.

    .venv/bin/python bench/cluster.py                      # 3 replicas, 40 viewers (make cluster-bench)
    .venv/bin/python bench/cluster.py --replicas 2 --viewers 8 --scale tiny
    .venv/bin/python bench/cluster.py nginx --listen 80 --replica 10.0.0.11:8501 --replica ...

The run (docs/deploy.md):

1. generates the demo district (fixed seed and last day, so the figures are known) into a
   temporary folder, starts a private PostgreSQL + PostGIS (``pg_local``, as ``db local``),
   creates the schema and loads the district (``db load``);
2. starts the replicas: ``streamlit run serve.py`` (app.py in st.App) with
   ``GRIDPULSE_DATABASE_URL`` (the shared state), ``GRIDPULSE_DATA`` (the shared folder of
   accounts and audit log), one ``server.cookieSecret`` and one session secret for all, ``server.fileWatcherType none``; warms each up once;
3. renders ``docs/deploy/gridpulse.nginx.conf`` — the documented file — and runs nginx on it as
   a foreground child with its own prefix, on a free loopback port;
4. drives the viewers through nginx in headless Chromium (one browser, a context each, at most
   ``--concurrency`` loading at once, started ``--stagger`` seconds apart): sign in, Overview
   on a frozen link (``as_of``), then a filter change (统计口径 → 按考核时间); each keeps its
   page (and its session) open;
5. SIGTERMs the replica with the most viewers, waits for its viewers to reconnect through
   nginx to another replica, where their session cookie signs them in again without a click
   (``GRIDPULSE_SESSION_SECRET``, the same for all replicas; ``--no-session-cookie``: they
   are shown the sign-in page and click, as before the cookie), and checks their figures,
   then changes the filter back on every viewer.

It checks that every viewer saw the same KPI cards for the same filter, before and after the
fail-over, that every request went to the replica its route cookie names (nginx's access log),
and that the moved viewers' cookies now name a live replica. Writes
``bench/results-cluster.json`` and prints a table. Every address is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: bench/ and data_layer/ from the repo root
    sys.path.insert(0, str(ROOT))

from bench.browser import CHROMIUM, CHROMIUM_ARGS, Server, free_port, start_server  # noqa: E402

TEMPLATE = ROOT / "docs" / "deploy" / "gridpulse.nginx.conf"
RESULTS = ROOT / "bench" / "results-cluster.json"
OUT = ROOT / "bench" / "out"
ANCHOR = dt.date(2026, 6, 30)  # the demo's last day: the frozen link below sees all of it
FROZEN = "as_of=2026-06-30T18:00:00&period=this_year"
ACCOUNT = "district"
ROUTE_COOKIE = "gridpulse_route"
SESSION_COOKIE = "gridpulse_session"  # data_layer.settings.SESSION_COOKIE (ui/web_session.py)
READY_MS = 120_000
RECONNECT_MS = 120_000
METRICS_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
  (m.querySelector('[data-testid="stMetricLabel"]') || {innerText: ''}).innerText.trim(),
  (m.querySelector('[data-testid="stMetricValue"]') || {innerText: ''}).innerText.trim()])"""
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
BASIS_LABEL = {"report": "按上报时间", "assessment": "按考核时间"}
HEADLINE_CARDS = 9  # pages/overview.py: HEADLINE + HEADLINE_2


# -- nginx: the documented template --------------------------------------------------------


def render_nginx(
    replicas: Sequence[str],
    *,
    listen: str,
    server_name: str = "_",
    access_log: str = "/var/log/nginx/gridpulse.access.log",
    upload_max_mb: int = 200,
    secure_cookie: bool = False,
    fail_timeout_s: int = 10,
) -> str:
    """The http-level nginx configuration for ``replicas`` (``host:port`` each): the template
    ``docs/deploy/gridpulse.nginx.conf`` with its ``{{name}}`` places filled in.

    Route ``r<i>`` is replica i: an upstream with replica i first and replica i+1 (in a ring)
    as its backup, so a stopped replica's viewers all move to one known place.
    """
    if not replicas:
        raise ValueError("at least one replica")
    routes = [f"r{i + 1}" for i in range(len(replicas))]
    route_map = "\n".join(f"    {r} gridpulse_{r};" for r in routes)
    served_map = "\n".join(
        f'    "~(^|, ){re.escape(addr)}$" {r};' for r, addr in zip(routes, replicas, strict=True)
    )
    same_route = "\n".join(f'    "{r}/{r}" "";' for r in routes)
    server_line = f"max_fails=1 fail_timeout={fail_timeout_s}s"
    servers_any = "\n".join(f"    server {addr} {server_line};" for addr in replicas)
    blocks = []
    for i, (route, addr) in enumerate(zip(routes, replicas, strict=True)):
        lines = [f"upstream gridpulse_{route} {{", f"    server {addr} {server_line};"]
        if len(replicas) > 1:
            lines.append(f"    server {replicas[(i + 1) % len(replicas)]} backup;")
        lines.append("}")
        blocks.append("\n".join(lines))
    values = {
        "route_map": route_map,
        "served_map": served_map,
        "same_route": same_route,
        "servers_any": servers_any,
        "route_upstreams": "\n".join(blocks),
        "listen": listen,
        "server_name": server_name,
        "access_log": access_log,
        "upload_max_mb": str(upload_max_mb),
        "cookie_secure": "; Secure" if secure_cookie else "",
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    missing = set(re.findall(r"\{\{(\w+)\}\}", text)) - set(values)
    if missing:
        raise ValueError(f"the template has places nobody fills: {sorted(missing)}")
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m[1]], text)


@dataclass
class Nginx:
    """nginx in the foreground (``daemon off``) with its own prefix in a temporary folder."""

    prefix: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def log_lines(self) -> list[dict[str, str]]:
        """The access log, one dict per line (status, method, uri, route, upstream, served)."""
        rows = []
        pattern = re.compile(
            r"(?P<time>\S+) (?P<status>\d+) (?P<method>\S+) (?P<uri>\S+) route=(?P<route>\S*) "
            r'upstream="(?P<upstream>[^"]*)" served=(?P<served>\S*) time=(?P<rt>\S+)'
        )
        with contextlib.suppress(FileNotFoundError):
            for line in self.access_log.read_text(errors="replace").splitlines():
                match = pattern.match(line)
                if match:
                    rows.append(match.groupdict())
        return rows

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finishes and flushes its logs
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def start_nginx(prefix: Path, replicas: Sequence[str], *, upload_max_mb: int = 200) -> Nginx:
    """Render the template for ``replicas`` and run nginx on a free loopback port."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx not found (apt-get install nginx)")
    prefix.mkdir(parents=True, exist_ok=True)
    temp = prefix / "temp"
    temp.mkdir(exist_ok=True)
    temp.chmod(0o777)  # as root, nginx's workers run as nobody
    port = free_port()
    site = render_nginx(
        replicas,
        listen=f"127.0.0.1:{port}",
        server_name="localhost",
        access_log=str(prefix / "access.log"),
        upload_max_mb=upload_max_mb,
    )
    (prefix / "gridpulse.conf").write_text(site, encoding="utf-8")
    paths = "\n".join(
        f"    {kind}_temp_path {temp / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = (
        "worker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        f"{paths}\n"
        f"    include {prefix / 'gridpulse.conf'};\n"
        "}\n"
    )
    conf = prefix / "nginx.conf"
    conf.write_text(main, encoding="utf-8")
    base = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [*base, "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "stderr.log").open("wb"),
        start_new_session=True,
    )
    nginx = Nginx(prefix=prefix, port=port, process=process)
    deadline = time.monotonic() + 20
    import socket

    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited: {(prefix / 'error.log').read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return nginx
        time.sleep(0.1)
    nginx.stop()
    raise TimeoutError("nginx did not listen")


# -- the cluster ---------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    """Resident memory of process ``pid`` in MB (VmRSS), None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Cluster:
    """PostgreSQL, the replicas and nginx, all on 127.0.0.1, in ``workdir``."""

    workdir: Path
    data_dir: Path
    database_url: str
    replicas: list[Server]
    nginx: Nginx
    pg: Any
    session_cookie: bool = True
    stopped: list[int] = field(default_factory=list)

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{s.port}" for s in self.replicas]

    def route_of(self, index: int) -> str:
        return f"r{index + 1}"

    def index_of(self, route: str) -> int:
        return int(route.removeprefix("r")) - 1

    def rss(self) -> list[float | None]:
        return [
            None if i in self.stopped else rss_mb(s.process.pid)
            for i, s in enumerate(self.replicas)
        ]

    def stop_replica(self, index: int) -> None:
        """SIGTERM one replica (Streamlit shuts down and closes its websockets)."""
        server = self.replicas[index]
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(timeout=30)
        self.stopped.append(index)


def generate_demo(out: Path, *, scale: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "data_layer", "demo", "--out", str(out), "--scale", scale,
         "--seed", "42", "--anchor", ANCHOR.isoformat()],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@contextlib.contextmanager
def cluster(
    *,
    replicas: int = 3,
    scale: str = "district",
    workdir: Path | None = None,
    session_cookie: bool = True,
    env: dict[str, str] | None = None,
    log=print,
) -> Iterator[Cluster]:
    """Start everything; stop everything (and delete the folder) at the end.

    ``session_cookie``: one ``GRIDPULSE_SESSION_SECRET`` for all replicas, so a viewer moved
    by the fail-over stays signed in (False: the replicas run without it, and a moved viewer
    signs in again, as before the cookie). ``env``: more variables for every replica.
    """
    from data_layer.storage import migrate, pg_admin
    from data_layer.storage.pg_local import local_server

    own = workdir is None
    # not pytest's tmp_path: PostgreSQL runs as nobody and must reach its folder
    work = Path(tempfile.mkdtemp(prefix="gridpulse-cluster-")) if own else workdir
    work.chmod(0o755)
    started: list[Server] = []
    nginx = None
    pg = local_server(work / "pg")
    try:
        data = work / "data"
        t0 = time.monotonic()
        generate_demo(data, scale=scale)
        log(f"demo {scale} generated in {time.monotonic() - t0:.1f} s")
        pg.init()
        pg.start(durable=False)
        url = pg.url()
        migrate.migrate(url)
        t0 = time.monotonic()
        counts = pg_admin.load(url, data, if_empty=False)
        log(f"PostgreSQL on port {pg.port}: loaded {counts.get('cases', 0):,} cases in "
            f"{time.monotonic() - t0:.1f} s")  # fmt: skip
        cookie_secret = secrets.token_hex(32)  # one for all replicas (st.login's cookie)
        env = {
            **(env or {}),
            "GRIDPULSE_DATA": str(data),
            "GRIDPULSE_DATABASE_URL": url,
            # Streamlit refuses this one on the command line
            "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret,
        }
        if session_cookie:  # one for all replicas: any of them takes any replica's cookie
            env["GRIDPULSE_SESSION_SECRET"] = secrets.token_hex(32)
        for i in range(replicas):
            t0 = time.monotonic()
            started.append(start_server(ROOT / "serve.py", env=env, log_dir=work / "logs"))
            log(f"replica r{i + 1} on port {started[-1].port} up in {time.monotonic() - t0:.1f} s")
        nginx = start_nginx(work / "nginx", [f"127.0.0.1:{s.port}" for s in started])
        log(f"nginx on port {nginx.port}")
        yield Cluster(
            workdir=work,
            data_dir=data,
            database_url=url,
            replicas=started,
            nginx=nginx,
            pg=pg,
            session_cookie=session_cookie,
        )
    finally:
        if nginx is not None:
            nginx.stop()
        for server in started:
            server.stop()
        with contextlib.suppress(Exception):
            pg.stop()
        if own:
            shutil.rmtree(work, ignore_errors=True)


# -- the viewers ---------------------------------------------------------------------------


@dataclass
class Viewer:
    index: int
    page: Any = None
    context: Any = None
    replica: str = ""  # the route of the replica that served its first page
    times: dict[str, float] = field(default_factory=dict)
    figures: dict[str, list[list[str]]] = field(default_factory=dict)
    after: dict[str, list[list[str]]] = field(default_factory=dict)
    moved_to: str = ""
    session_cookie: dict[str, Any] = field(default_factory=dict)  # its flags, as the browser has it
    signed_in_again: bool = False  # a moved viewer that was shown the sign-in page
    expect_cookie: bool = True  # the replicas run with GRIDPULSE_SESSION_SECRET
    errors: list[str] = field(default_factory=list)


async def _new_page(browser: Any) -> tuple[Any, Any]:
    context = await browser.new_context(
        viewport={"width": 1400, "height": 1000}, service_workers="block"
    )

    async def route(r: Any) -> None:  # this machine only
        host = re.match(r"^[a-z]+://([^/:]+)", r.request.url)
        if host is None or host[1] in ("127.0.0.1", "localhost"):
            await r.continue_()
        else:
            await r.abort("blockedbyclient")

    await context.route("**/*", route)
    return context, await context.new_page()


async def _figures(page: Any) -> list[list[str]]:
    """The KPI cards (label, value) once the script run is done and all cards are there."""
    await page.wait_for_function(
        f"() => document.querySelector('{SCRIPT_DONE}') && "
        f"document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= {HEADLINE_CARDS}",
        timeout=READY_MS,
    )
    return await page.evaluate(METRICS_JS)


async def _sign_in(page: Any) -> None:
    button = page.locator(f".st-key-signin_demo_{ACCOUNT} button")
    await button.click(timeout=RECONNECT_MS)
    await button.wait_for(state="detached", timeout=READY_MS)


async def _set_basis(page: Any, basis: str) -> list[list[str]]:
    await (
        page.locator('[data-testid="stSidebar"]')
        .get_by_text(BASIS_LABEL[basis])
        .click(timeout=READY_MS)
    )
    await page.wait_for_function(
        f"() => location.search.includes('basis={basis}') || "
        f"('{basis}' === 'report' && !location.search.includes('basis='))",
        timeout=READY_MS,
    )
    await page.wait_for_selector(SCRIPT_DONE, state="attached", timeout=READY_MS)
    return await _figures(page)


async def _route_cookie(context: Any) -> str:
    cookies = await context.cookies()
    return next((c["value"] for c in cookies if c["name"] == ROUTE_COOKIE), "")


async def _session_cookie(page: Any, context: Any) -> dict[str, Any]:
    """After a sign-in: wait until the page handed its code over (assets/js/session_cookie.js)
    and return the session cookie as the browser stores it (flags; the value's length only)."""
    await page.wait_for_function(
        "() => document.documentElement.dataset.gridpulseSession === 'set'", timeout=READY_MS
    )
    cookie = next((c for c in await context.cookies() if c["name"] == SESSION_COOKIE), None)
    if cookie is None:
        return {}
    flags = {k: cookie[k] for k in ("path", "httpOnly", "secure", "sameSite", "expires")}
    return {**flags, "value_chars": len(cookie["value"])}


# Sets window.__gpRan once a script run starts from now on: the stale cards of the stopped
# replica's page must not count as the new replica's page.
WATCH_RUN_JS = """() => {
  window.__gpRan = false;
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.oldValue === 'running' || app.getAttribute('data-test-script-state') === 'running') {
        window.__gpRan = true;
      }
    }
  }).observe(app, {attributes: true, attributeOldValue: true,
                   attributeFilter: ['data-test-script-state']});
}"""


async def _signed_in_or_asked(page: Any) -> str:
    """After a reconnect and a script run on the new replica (``WATCH_RUN_JS`` set before):
    "page" once the KPI cards show, "sign-in" if the sign-in page does."""
    signin = f".st-key-signin_demo_{ACCOUNT} button"
    handle = await page.wait_for_function(
        f"() => !window.__gpRan ? null : document.querySelector('{signin}') ? 'sign-in' : "
        f"(document.querySelector('{SCRIPT_DONE}') && document.querySelectorAll("
        f"'[data-testid=\"stMetricValue\"]').length >= {HEADLINE_CARDS} ? 'page' : null)",
        timeout=RECONNECT_MS,
    )
    return await handle.json_value()


async def open_viewer(browser: Any, base_url: str, viewer: Viewer) -> None:
    """Sign in, Overview on the frozen link, then 统计口径 → 按考核时间; the page stays open."""
    viewer.context, viewer.page = await _new_page(browser)
    page = viewer.page
    started = time.perf_counter()
    response = await page.goto(f"{base_url}/?{FROZEN}", timeout=READY_MS)
    viewer.replica = (response.headers.get("x-gridpulse-replica") if response else "") or ""
    await _sign_in(page)
    viewer.figures["report"] = await _figures(page)
    viewer.times["overview"] = time.perf_counter() - started
    if viewer.expect_cookie:
        viewer.session_cookie = await _session_cookie(page, viewer.context)
    started = time.perf_counter()
    viewer.figures["assessment"] = await _set_basis(page, "assessment")
    viewer.times["filter"] = time.perf_counter() - started
    cookie = await _route_cookie(viewer.context)
    if cookie != viewer.replica:
        viewer.errors.append(f"cookie {cookie!r} but served by {viewer.replica!r}")


async def after_stop(viewer: Viewer, *, moved: bool) -> None:
    """Every viewer changes the filter back (统计口径 → 按上报时间).

    A moved viewer's page reconnects to another replica (nginx: the backup of its route) with
    a new, empty session; Streamlit's frontend reruns a page on reconnect only when it has live
    parts (``run_every``), so the frozen page reruns at this click. With the session cookie the
    new replica restores the viewer's sign-in from it (no click) and the page is back on its
    link's filter (按考核时间, kept in the URL); without it the new replica shows its sign-in
    page and the viewer signs in again (``signed_in_again``). Then it changes the filter back
    like everybody else.
    """
    page = viewer.page
    if moved:
        started = time.perf_counter()
        await page.evaluate(WATCH_RUN_JS)
        with contextlib.suppress(Exception):  # the click may land while the page is redrawn
            await (
                page.locator('[data-testid="stSidebar"]')
                .get_by_text(BASIS_LABEL["report"])
                .click(timeout=RECONNECT_MS)
            )
        if await _signed_in_or_asked(page) == "sign-in":
            viewer.signed_in_again = True
            await _sign_in(page)  # the new replica's sign-in page
        viewer.after["assessment"] = await _figures(page)
        viewer.times["reconnect"] = time.perf_counter() - started
        viewer.moved_to = await _route_cookie(viewer.context)
    started = time.perf_counter()
    viewer.after["report"] = await _set_basis(page, "report")
    viewer.times["filter_after"] = time.perf_counter() - started


async def _guarded(viewer: Viewer, coro: Any, what: str) -> None:
    try:
        await coro
    except Exception as exc:  # a viewer that fails is counted and reported, not fatal
        viewer.errors.append(f"{what}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        with contextlib.suppress(Exception):
            OUT.mkdir(parents=True, exist_ok=True)
            await viewer.page.screenshot(path=str(OUT / f"cluster-viewer{viewer.index}-{what}.png"))


async def warm_up(browser: Any, cl: Cluster) -> None:
    """One untimed load per replica, directly (its dataset and caches filled)."""
    for server in cl.replicas:
        viewer = Viewer(index=-1, expect_cookie=cl.session_cookie)
        await _guarded(viewer, open_viewer(browser, server.base_url, viewer), "warm-up")
        await viewer.context.close()
        if viewer.errors:
            raise RuntimeError(f"warm-up of {server.base_url} failed: {viewer.errors}")


async def wall_fail_over(cl: Cluster, *, link: str = "period=this_year") -> dict[str, Any]:
    """A wall screen (the demo ``screen`` account) on a live link (no ``as_of``: its cards
    refresh by themselves) through nginx; its replica is stopped and nobody clicks. Returns
    what the page showed afterwards ("page" or "sign-in"), how long after the SIGTERM, and the
    route cookie then."""
    from playwright.async_api import async_playwright

    signin = ".st-key-signin_demo_screen button"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context, page = await _new_page(browser)
            response = await page.goto(f"{cl.nginx.base_url}/?{link}", timeout=READY_MS)
            route = (response.headers.get("x-gridpulse-replica") if response else "") or ""
            button = page.locator(signin)
            await button.click(timeout=READY_MS)
            await button.wait_for(state="detached", timeout=READY_MS)
            if cl.session_cookie:
                await _session_cookie(page, context)
            await page.wait_for_selector('[data-testid="stMetricValue"]', timeout=READY_MS)
            await page.evaluate(WATCH_RUN_JS)
            cl.stop_replica(cl.index_of(route))
            started = time.perf_counter()
            handle = await page.wait_for_function(
                f"() => !window.__gpRan ? null : document.querySelector('{signin}') ? 'sign-in' "
                f": (document.querySelector('{SCRIPT_DONE}') && document.querySelector("
                "'[data-testid=\"stMetricValue\"]') ? 'page' : null)",
                timeout=RECONNECT_MS,
            )
            shown = await handle.json_value()
            return {
                "route_before": route,
                "shown": shown,
                "back_after_s": round(time.perf_counter() - started, 2),
                "route_after": await _route_cookie(context),
            }
        finally:
            await browser.close()


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_s": _round(_percentile(values, 0.5)),
        "p95_s": _round(_percentile(values, 0.95)),
        "max_s": _round(max(values)) if values else None,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


async def drive(
    cl: Cluster,
    *,
    viewers: int,
    concurrency: int = 4,
    stagger_s: float = 1.0,
    stop_one: bool = True,
    log=print,
) -> dict[str, Any]:
    """Run the viewers through nginx, stop one replica, and gather what was measured."""
    from playwright.async_api import async_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found (apt-get install chromium)")
    rss_idle = cl.rss()
    peak: list[float] = [0.0] * len(cl.replicas)

    def sample() -> None:
        for i, mb in enumerate(cl.rss()):
            if mb is not None:
                peak[i] = max(peak[i], mb)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            t0 = time.monotonic()
            await warm_up(browser, cl)
            log(f"warmed up {len(cl.replicas)} replicas in {time.monotonic() - t0:.1f} s")
            rss_warm = cl.rss()
            people = [Viewer(index=i, expect_cookie=cl.session_cookie) for i in range(viewers)]
            gate = asyncio.Semaphore(concurrency)

            async def one(viewer: Viewer) -> None:
                await asyncio.sleep(viewer.index * stagger_s)
                async with gate:
                    await _guarded(viewer, open_viewer(browser, cl.nginx.base_url, viewer), "open")
                sample()
                done = viewer.times.get("overview")
                log(f"  viewer {viewer.index:2} on {viewer.replica or '?'}: "
                    + (f"ready in {done:.1f} s" if done else f"failed {viewer.errors}"))  # fmt: skip

            t0 = time.monotonic()
            await asyncio.gather(*(one(v) for v in people))
            load_s = time.monotonic() - t0
            sample()
            rss_loaded = cl.rss()
            log(f"{viewers} viewers signed in and loaded in {load_s:.1f} s")
            sessions = Counter(v.replica for v in people if not v.errors)
            stopped_route = None
            if stop_one and len(cl.replicas) > 1:
                stopped_route = max(
                    (cl.route_of(i) for i in range(len(cl.replicas))),
                    key=lambda r: (sessions.get(r, 0), -cl.index_of(r)),
                )
                cl.stop_replica(cl.index_of(stopped_route))
                log(
                    f"stopped replica {stopped_route} (SIGTERM), {sessions[stopped_route]} viewers on it"
                )

            async def later(viewer: Viewer) -> None:
                if viewer.errors:
                    return
                async with gate:
                    await _guarded(
                        viewer, after_stop(viewer, moved=viewer.replica == stopped_route), "after"
                    )

            t0 = time.monotonic()
            await asyncio.gather(*(later(v) for v in people))
            after_s = time.monotonic() - t0
            sample()
            rss_end = cl.rss()
            for viewer in people:
                with contextlib.suppress(Exception):
                    await viewer.context.close()
        finally:
            await browser.close()
    cl.nginx.stop()  # flushes the access log; the websockets' lines are written on close
    return summarise(
        cl, people, stopped_route=stopped_route, load_s=load_s, after_s=after_s,
        rss={"idle": rss_idle, "warm": rss_warm, "loaded": rss_loaded, "peak": peak,
             "end": rss_end},
    )  # fmt: skip


def summarise(
    cl: Cluster,
    people: list[Viewer],
    *,
    stopped_route: str | None,
    load_s: float,
    after_s: float,
    rss: dict[str, list],
) -> dict[str, Any]:
    ok = [v for v in people if not v.errors]
    reference = {b: ok[0].figures[b] for b in ("report", "assessment")} if ok else {}
    differ = [v.index for v in ok if any(v.figures.get(b) != reference[b] for b in reference)]
    differ_after = [
        v.index for v in ok
        if v.after.get("report") != reference.get("report")
        or ("assessment" in v.after and v.after["assessment"] != reference.get("assessment"))
    ]  # fmt: skip
    moved = [v for v in people if v.replica == stopped_route]
    moved_bad = [v.index for v in moved if not v.moved_to or v.moved_to == stopped_route]
    lines = cl.nginx.log_lines()
    not_sticky = [
        line for line in lines
        if line["route"] not in ("", "-") and line["served"] and line["route"] != line["served"]
        and line["route"] != stopped_route
    ]  # fmt: skip
    failed_over = [
        line for line in lines if stopped_route and line["route"] == stopped_route
        and line["served"] and line["served"] != stopped_route
    ]  # fmt: skip
    websockets = Counter(
        line["served"]
        for line in lines
        if line["uri"] == "/_stcore/stream" and line["status"] == "101"
    )
    routes = [cl.route_of(i) for i in range(len(cl.replicas))]
    per_replica = []
    for i, route in enumerate(routes):
        per_replica.append(
            {
                "route": route,
                "port": cl.replicas[i].port,
                "viewers_first": sum(1 for v in ok if v.replica == route),
                "viewers_after_stop": sum(
                    1 for v in ok if (v.moved_to or v.replica) == route and route != stopped_route
                ),
                "websocket_sessions": websockets.get(route, 0),
                "rss_idle_mb": _round(rss["idle"][i]),
                "rss_warm_mb": _round(rss["warm"][i]),
                "rss_loaded_mb": _round(rss["loaded"][i]),
                "rss_peak_mb": _round(rss["peak"][i]),
                "rss_end_mb": _round(rss["end"][i]),
                "stopped": route == stopped_route,
            }
        )
    with contextlib.suppress(OSError):
        load_avg = os.getloadavg()
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_at_end": [round(x, 2) for x in load_avg],
        "cpus": os.cpu_count(),
        "viewers": len(people),
        "viewers_failed": {v.index: v.errors for v in people if v.errors},
        "replicas": per_replica,
        "stopped_route": stopped_route,
        "overview_ready": _stats([v.times["overview"] for v in ok if "overview" in v.times]),
        "filter_ready": _stats([v.times["filter"] for v in ok if "filter" in v.times]),
        "reconnect_ready": _stats([v.times["reconnect"] for v in ok if "reconnect" in v.times]),
        "filter_after_stop": _stats(
            [v.times["filter_after"] for v in ok if "filter_after" in v.times]
        ),
        "all_viewers_seconds": round(load_s, 1),
        "after_stop_seconds": round(after_s, 1),
        "figures": reference,
        "figures_differ": differ,
        "figures_differ_after_stop": differ_after,
        "moved_viewers": [v.index for v in moved],
        "moved_to": dict(Counter(v.moved_to for v in moved)),
        "moved_not_reconnected": moved_bad,
        "session_cookie": cl.session_cookie,
        "session_cookie_flags": ok[0].session_cookie if ok else {},
        "moved_signed_in_again": [v.index for v in moved if v.signed_in_again],
        "requests_logged": len(lines),
        "requests_not_sticky": len(not_sticky),
        "not_sticky_examples": not_sticky[:5],
        "requests_failed_over": len(failed_over),
    }


def passed(result: dict[str, Any]) -> list[str]:
    """What went wrong (empty: every check passed)."""
    problems = []
    if result["viewers_failed"]:
        problems.append(f"{len(result['viewers_failed'])} viewers failed")
    if result["figures_differ"] or result["figures_differ_after_stop"]:
        problems.append("viewers saw different figures for the same filter")
    if result["requests_not_sticky"]:
        problems.append(f"{result['requests_not_sticky']} requests went to another replica")
    if result["moved_not_reconnected"]:
        problems.append(f"viewers {result['moved_not_reconnected']} did not move to a live replica")
    if result["stopped_route"] and not result["moved_viewers"]:
        problems.append("the stopped replica had no viewers")
    if result["session_cookie"] and result["moved_signed_in_again"]:
        problems.append(f"viewers {result['moved_signed_in_again']} had to sign in again")
    wall = result.get("wall_screen")
    if wall and result["session_cookie"] and wall["shown"] != "page":
        problems.append("the wall screen was shown the sign-in page after the fail-over")
    return problems


def print_table(result: dict[str, Any]) -> None:
    print()
    print(f"{'replica':8} {'viewers':>8} {'ws':>4} {'after stop':>10} {'RSS idle':>9} "
          f"{'warm':>7} {'loaded':>7} {'peak':>7} {'end':>7}")  # fmt: skip
    for r in result["replicas"]:

        def mb(key: str, r: dict = r) -> str:
            return "—" if r[key] is None else f"{r[key]:.0f}"

        name = r["route"] + (" (stopped)" if r["stopped"] else "")
        print(f"{name:8} {r['viewers_first']:>8} {r['websocket_sessions']:>4} "
              f"{r['viewers_after_stop']:>10} {mb('rss_idle_mb'):>9} {mb('rss_warm_mb'):>7} "
              f"{mb('rss_loaded_mb'):>7} {mb('rss_peak_mb'):>7} {mb('rss_end_mb'):>7}")  # fmt: skip
    print()
    for key in ("overview_ready", "filter_ready", "reconnect_ready", "filter_after_stop"):
        s = result[key]
        print(f"{key:18} n={s['n']:<3} p50 {s['p50_s']} s  p95 {s['p95_s']} s  max {s['max_s']} s")
    print(
        f"\nfigures differ: {result['figures_differ']} / after stop "
        f"{result['figures_differ_after_stop']}; not sticky: {result['requests_not_sticky']} "
        f"of {result['requests_logged']} requests; failed over: {result['requests_failed_over']}; "
        f"moved viewers {len(result['moved_viewers'])} → {result['moved_to']}, signed in again: "
        f"{result['moved_signed_in_again']} (session cookie "
        f"{'on' if result['session_cookie'] else 'off'})"
    )
    wall = result.get("wall_screen")
    if wall:
        print(
            f"wall screen (live link, nobody clicks): {wall['route_before']} stopped → "
            f"{wall['shown']} on {wall['route_after']} after {wall['back_after_s']} s"
        )
    problems = passed(result)
    print("checks:", "all passed" if not problems else "; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    render = sub.add_parser("nginx", help="print the nginx configuration for given replicas")
    render.add_argument("--replica", action="append", required=True, metavar="HOST:PORT")
    render.add_argument("--listen", default="80")
    render.add_argument("--server-name", default="_")
    render.add_argument("--access-log", default="/var/log/nginx/gridpulse.access.log")
    render.add_argument("--upload-max-mb", type=int, default=None)
    render.add_argument("--secure-cookie", action="store_true", help="for TLS (listen 443 ssl)")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--viewers", type=int, default=40)
    parser.add_argument("--scale", default="district", choices=["tiny", "district", "city"])
    parser.add_argument("--concurrency", type=int, default=3, help="viewers loading at once")
    parser.add_argument("--stagger", type=float, default=1.5, help="seconds between starts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--no-session-cookie",
        action="store_true",
        help="replicas without GRIDPULSE_SESSION_SECRET: a moved viewer signs in again",
    )
    parser.add_argument(
        "--no-wall", action="store_true", help="skip the wall screen's fail-over (a live link)"
    )
    args = parser.parse_args(argv)
    if args.command == "nginx":
        from data_layer import settings

        mb = args.upload_max_mb or settings.upload_max_mb()
        print(render_nginx(args.replica, listen=args.listen, server_name=args.server_name,
                           access_log=args.access_log, upload_max_mb=mb,
                           secure_cookie=args.secure_cookie), end="")  # fmt: skip
        return 0
    load_start = os.getloadavg()
    cookie = not args.no_session_cookie
    with cluster(replicas=args.replicas, scale=args.scale, session_cookie=cookie) as cl:
        result = asyncio.run(
            drive(cl, viewers=args.viewers, concurrency=args.concurrency, stagger_s=args.stagger)
        )
    if not args.no_wall:  # the unattended wall on a live link, on a small cluster of its own
        with cluster(
            replicas=2,
            scale="tiny",
            session_cookie=cookie,
            env={"GRIDPULSE_REFRESH_SECONDS": "10"},
            log=lambda *_: None,
        ) as small:
            result["wall_screen"] = asyncio.run(wall_fail_over(small))
    result["load_average_at_start"] = [round(x, 2) for x in load_start]
    result["settings"] = {
        "replicas": args.replicas,
        "scale": args.scale,
        "concurrency": args.concurrency,
        "stagger_s": args.stagger,
        "session_cookie": cookie,
    }
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print_table(result)
    print(f"\nwrote {args.out}")
    return 0 if not passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
