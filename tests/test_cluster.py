"""Scale-out (docs/deploy.md): two replicas behind nginx over one PostgreSQL, four viewers.

The small version of ``bench/cluster.py`` (the same code: the documented nginx template, the
same viewers): each viewer signs in through nginx and stays on one replica for every request
(route cookie), every viewer sees the same KPI cards for the same filter, both replicas get
viewers; then one replica is stopped (SIGTERM) and its viewers reconnect through nginx to the
other one, which signs them in from their session cookie (HttpOnly, SameSite=Strict; no
sign-in click), and they see their link's filter and the same figures, and keep working.

Needs nginx, PostgreSQL with PostGIS and Chromium: skipped without them, failed under CI=true
(``.ci/run`` installs all three).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from bench import cluster as bench_cluster
from data_layer.cli import main as cli_main
from data_layer.domain.formatting import format_value
from data_layer.storage.pg_audit import PgAuditLog
from data_layer.storage.pg_local import find_bindir, has_postgis


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the cluster test must run)", pytrace=False)
    pytest.skip(reason)


def _needs() -> None:
    if bench_cluster.nginx_binary() is None:
        _unavailable("nginx is not installed (apt-get install nginx)")
    bindir = find_bindir()
    if bindir is None or not has_postgis(bindir):
        _unavailable("PostgreSQL with PostGIS is not installed (postgresql-15-postgis-3)")
    if not bench_cluster.CHROMIUM.exists():
        _unavailable(f"{bench_cluster.CHROMIUM} not found (apt-get install chromium)")


def test_rendered_template_is_valid_nginx(tmp_path: Path) -> None:
    """The documented template renders for three replicas and ``nginx -t`` accepts it."""
    binary = bench_cluster.nginx_binary()
    if binary is None:
        _unavailable("nginx is not installed (apt-get install nginx)")
    replicas = ["10.0.0.11:8501", "10.0.0.12:8501", "10.0.0.13:8501"]
    log = str(tmp_path / "access.log")
    text = bench_cluster.render_nginx(replicas, listen="127.0.0.1:8080", access_log=log)
    assert "{{" not in text
    # route r2 is replica 2, with replica 3 as its backup; r3 wraps round to replica 1
    assert re.search(r"upstream gridpulse_r2 \{\s+server 10\.0\.0\.12:8501 [^;]*;\s+"
                     r"server 10\.0\.0\.13:8501 backup;", text)  # fmt: skip
    assert re.search(r"upstream gridpulse_r3 \{\s+server 10\.0\.0\.13:8501 [^;]*;\s+"
                     r"server 10\.0\.0\.11:8501 backup;", text)  # fmt: skip
    assert "ip_hash" not in text.split("Not ip_hash")[1]  # explained, not used
    (tmp_path / "site.conf").write_text(text)
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nevents {{}}\n"
        f"http {{ client_body_temp_path {temp}; proxy_temp_path {temp};\n"
        f"include {tmp_path / 'site.conf'}; }}\n"
    )
    done = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def cli_figures(data: Path, basis: str, capsys) -> dict:
    """The figures of the frozen link, from the data directory (not the database)."""
    argv = ["kpis", "--data", str(data), "--period", "this_year", "--as-of", "2026-06-30T18:00"]
    assert cli_main([*argv, "--basis", basis]) == 0
    return json.loads(capsys.readouterr().out)[0]["metrics"]


@pytest.mark.browser  # drives Chromium: `pytest -m "not browser"` leaves it out
def test_two_replicas_sticky_and_fail_over(capsys) -> None:
    _needs()
    with bench_cluster.cluster(replicas=2, scale="tiny", log=lambda *_: None) as cl:
        expected = {b: cli_figures(cl.data_dir, b, capsys) for b in ("report", "assessment")}
        try:
            # a thread of its own: the browser tests' sync Playwright keeps an event loop
            # running in this thread for the whole session
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                result = pool.submit(
                    asyncio.run,
                    bench_cluster.drive(
                        cl, viewers=4, concurrency=2, stagger_s=0.5, log=lambda *_: None
                    ),
                ).result()
        finally:
            logs = "\n".join(s.log_tail(15) for s in cl.replicas)
        sign_ins = Counter(e.result for e in PgAuditLog(cl.database_url).read_events(
            action="sign_in_ok"))  # fmt: skip
    assert not result["viewers_failed"], (result["viewers_failed"], logs)
    assert bench_cluster.passed(result) == []

    # the same figures for the same filter, and the ones the data directory gives
    cards = {b: dict(map(tuple, result["figures"][b])) for b in ("report", "assessment")}
    assert len(cards["report"]) == bench_cluster.HEADLINE_CARDS
    for basis in ("report", "assessment"):
        for key, label in (("reported", "上报数"), ("on_time_rate", "按期办结率")):
            want = format_value(key, expected[basis][key]["value"])
            assert cards[basis][label] == want, (basis, key)
    assert cards["report"]["按期办结率"] != cards["assessment"]["按期办结率"]  # the filter acted
    assert result["figures_differ"] == result["figures_differ_after_stop"] == []

    # sticky: both replicas had viewers, and every request went to its cookie's replica
    replicas = {r["route"]: r for r in result["replicas"]}
    assert all(r["viewers_first"] >= 1 for r in replicas.values()), replicas
    assert result["requests_logged"] > 50
    assert result["requests_not_sticky"] == 0, result["not_sticky_examples"]

    # fail-over: the stopped replica's viewers moved to the other one and kept working
    stopped = result["stopped_route"]
    other = next(route for route in replicas if route != stopped)
    moved = result["moved_viewers"]
    assert moved and result["moved_to"] == {other: len(moved)}
    assert result["moved_not_reconnected"] == []
    assert result["requests_failed_over"] >= len(moved)
    assert result["reconnect_ready"]["n"] == len(moved)
    # ... still signed in: the other replica took the session cookie (no sign-in page shown)
    assert result["session_cookie"] is True
    assert result["moved_signed_in_again"] == []
    flags = result["session_cookie_flags"]
    assert (flags["httpOnly"], flags["sameSite"], flags["path"], flags["secure"]) == (
        True,
        "Strict",
        "/",
        False,
    )
    assert flags["value_chars"] > 40  # a signed token, not a placeholder
    # audited like a sign-in: 4 viewers + 2 warm-ups by password, each moved one by its cookie
    assert sign_ins == {"password": 6, "session cookie": len(moved)}, sign_ins
    assert result["filter_after_stop"]["n"] == 4
    assert replicas[other]["websocket_sessions"] >= replicas[other]["viewers_first"] + len(moved)
    assert replicas[stopped]["rss_end_mb"] is None and replicas[other]["rss_end_mb"] > 0


@pytest.mark.browser
@pytest.mark.parametrize("cookie", [True, False], ids=["session-cookie", "no-secret"])
def test_a_wall_screen_on_a_live_link_survives_a_fail_over_without_a_click(cookie) -> None:
    """The command-centre wall (role ``screen``, live cards refreshing every 10 s): its replica
    stops, nobody touches it. With the session secret it is back on the backup replica,
    signed in from its cookie and audited; without it, the wall shows the sign-in page."""
    _needs()
    env = {"GRIDPULSE_REFRESH_SECONDS": "10"}
    with bench_cluster.cluster(
        replicas=2, scale="tiny", session_cookie=cookie, env=env, log=lambda *_: None
    ) as cl:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            wall = pool.submit(asyncio.run, bench_cluster.wall_fail_over(cl)).result()
        sign_ins = [
            (e.user, e.result) for e in PgAuditLog(cl.database_url).read_events(action="sign_in_ok")
        ]
    assert wall["route_after"] not in ("", wall["route_before"]), wall
    if cookie:
        assert wall["shown"] == "page", wall
        assert sorted(sign_ins) == [("screen", "password"), ("screen", "session cookie")]
    else:
        assert wall["shown"] == "sign-in", wall
        assert sign_ins == [("screen", "password")]
