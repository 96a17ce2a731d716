"""Browser-test harness: a real Streamlit server and Debian Chromium, offline.

Fixtures
--------
streamlit_server_factory (session)
    ``start(script, *, env=None, args=()) -> StreamlitServer``: runs
    ``streamlit run <script> --server.port <free port> --server.headless true``
    from the repo root (so ``.streamlit/config.toml`` applies), waits until
    ``/_stcore/health`` answers and returns the server (``.base_url``). Servers
    are shared per (script, env, args) within the session and stopped at the
    end. Server output goes to ``tests/artifacts/streamlit-<script>-<port>.log``.
chromium_browser (session)
    Debian Chromium (``/usr/bin/chromium``, or ``$GRIDPULSE_CHROMIUM``) driven by
    Playwright. Missing browser: the test is skipped, or fails when ``CI=true``.
offline_page (function)
    An :class:`OfflinePage`: a fresh browser context whose every request to a
    host other than localhost/127.0.0.1/::1 is aborted and recorded, with
    console errors, uncaught page errors and HTTP errors recorded too; a
    screenshot is saved to ``tests/artifacts/`` when the test fails.

Every test under ``tests/browser/`` gets the ``browser`` marker, so
``pytest -m "not browser"`` runs the fast suite only.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS, Server, new_context, start_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
HEALTH_TIMEOUT_S = 90.0
APP_TIMEOUT_MS = 60_000

_THIS_DIR = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- #
# marker
# --------------------------------------------------------------------------- #
def pytest_configure(config: pytest.Config) -> None:
    if not any(str(line).startswith("browser") for line in config.getini("markers")):
        config.addinivalue_line(
            "markers", "browser: drives headless Chromium against a running app"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _THIS_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"_report_{report.when}", report)
    return report


def _unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where the browser must be there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120]


# --------------------------------------------------------------------------- #
# Streamlit server
# --------------------------------------------------------------------------- #
StreamlitServer = Server  # the server/browser plumbing lives once, in bench/browser.py


def start_streamlit(
    script: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
    timeout: float = HEALTH_TIMEOUT_S,
) -> StreamlitServer:
    """Start ``streamlit run`` on a free port and wait until it is healthy.

    ``script`` is absolute or relative to the repo root; ``env`` is added to the current
    environment (e.g. ``{"GRIDPULSE_DATA": "/tmp/x"}``); ``args`` are extra ``streamlit run``
    options. Server output goes to tests/artifacts/. Call ``.stop()`` when done.
    """
    script_path = Path(script)
    if not script_path.is_absolute():
        script_path = ROOT / script_path
    if not script_path.is_file():
        raise FileNotFoundError(script_path)
    return start_server(script_path, env=env, args=args, log_dir=ARTIFACTS, timeout=timeout)


@pytest.fixture(scope="session")
def streamlit_server_factory() -> Iterator[Callable[..., StreamlitServer]]:
    """Start (or reuse) Streamlit servers; all are stopped at session end."""
    servers: dict[tuple[Any, ...], StreamlitServer] = {}

    def start(
        script: Path | str,
        *,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> StreamlitServer:
        key = (str(script), tuple(sorted((env or {}).items())), tuple(args))
        server = servers.get(key)
        if server is None or server.process.poll() is not None:
            server = start_streamlit(script, env=env, args=args)
            servers[key] = server
        return server

    try:
        yield start
    finally:
        for server in servers.values():
            server.stop()


# --------------------------------------------------------------------------- #
# Chromium
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium_browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class OfflinePage:
    """A Playwright page that can reach only this machine, with what went wrong."""

    page: Page
    name: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def goto_app(self, base_url: str, path: str = "", *, timeout: int = APP_TIMEOUT_MS) -> None:
        """Open the app and wait until its script run has finished."""
        self.page.goto(base_url.rstrip("/") + "/" + path.lstrip("/"), timeout=timeout)
        self.wait_for_script(timeout=timeout)

    def sign_in(
        self,
        base_url: str,
        path: str = "",
        *,
        account: str = "district",
        password: str | None = None,
        timeout: int = APP_TIMEOUT_MS,
    ) -> None:
        """Open the app at ``path`` and sign in with one click on the demo account ``account``
        (the data directory holds the generated demo), or, given ``password``, through the
        sign-in form as the stored account ``account``; the app then shows ``path``."""
        self.goto_app(base_url, path, timeout=timeout)
        if password is None:
            button = self.page.locator(f".st-key-signin_demo_{account} button")
        else:
            self.page.locator(".st-key-signin_username input").fill(account, timeout=timeout)
            self.page.locator(".st-key-signin_password input").fill(password, timeout=timeout)
            button = self.page.locator(".st-key-signin_submit button")
        button.click(timeout=timeout)
        button.wait_for(state="detached", timeout=timeout)
        self.wait_for_script(timeout=timeout)

    def wait_for_script(self, *, timeout: int = APP_TIMEOUT_MS) -> None:
        """Wait until Streamlit reports that no script run is in progress."""
        self.page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]',
            state="attached",
            timeout=timeout,
        )

    def screenshot(self, name: str | None = None, *, full_page: bool = True) -> Path:
        """Save a PNG screenshot under tests/artifacts/ and return its path."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{_slug(name or self.name)}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def problems(self) -> dict[str, list[str]]:
        return {
            "blocked requests": self.blocked,
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "HTTP errors": self.http_errors,
        }

    def assert_clean(self) -> None:
        """Fail if anything was blocked, logged as an error, thrown or 4xx/5xx."""
        bad = {k: v for k, v in self.problems().items() if v}
        assert not bad, f"browser problems: {bad}"


@pytest.fixture
def offline_page(
    chromium_browser: Browser, request: pytest.FixtureRequest
) -> Iterator[OfflinePage]:
    offline = new_context(chromium_browser, width=1280, height=900)
    context = offline.context
    page = context.new_page()
    op = OfflinePage(page=page, name=request.node.name, blocked=offline.blocked)
    page.on("request", lambda req: op.requests.append(req.url))
    page.on(
        "console",
        lambda msg: (
            op.console_errors.append(f"{msg.text} @ {msg.location.get('url', '')}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: op.page_errors.append(str(exc)))
    page.on(
        "response",
        lambda resp: (
            op.http_errors.append(f"{resp.status} {resp.url}") if resp.status >= 400 else None
        ),
    )
    try:
        yield op
    finally:
        call_report = getattr(request.node, "_report_call", None)
        if call_report is not None and call_report.failed:
            with contextlib.suppress(Exception):
                op.screenshot(f"FAILED-{op.name}")
        context.close()


# -- the generated tiny district, served by the real app (map, meeting and sign-in tests) ------


@pytest.fixture(scope="module")
def tiny_district(tmp_path_factory) -> Path:
    """The demo generator's tiny district (with its demo accounts), frozen on 2026-06-30."""
    import datetime as dt

    from data_layer import demo

    out = tmp_path_factory.mktemp("district")
    demo.generate(out=out, scale="tiny", seed=11, anchor=dt.date(2026, 6, 30))
    return out


@pytest.fixture(scope="module")
def server(streamlit_server_factory, tiny_district):
    """app.py (through serve.py, as every launcher) over ``tiny_district``; a module with its
    own data overrides this fixture."""
    app = Path(__file__).resolve().parents[2] / "serve.py"
    return streamlit_server_factory(app, env={"GRIDPULSE_DATA": str(tiny_district)})
