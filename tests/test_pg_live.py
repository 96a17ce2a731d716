"""The live source through an outage: the last good data is served with its age and the error,
retries back off, and the source recovers by itself when the database is back."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import psycopg
import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, S1, tiny_tables
from streamlit.testing.v1 import AppTest

from data_layer import settings
from data_layer.storage import pg_admin
from data_layer.storage.case_set import CaseSet
from data_layer.storage.live import LiveSource
from data_layer.storage.pg_conn import DatabaseUnavailable
from data_layer.storage.postgres import REFERENCE, Snapshot
from data_layer.storage.source import DataError

FAST = settings.LiveRefresh(
    poll_seconds=0.0, lookback_seconds=60.0, retry_seconds=0.2, retry_max_seconds=0.8
)
ROOT_APP = str(Path(__file__).resolve().parent.parent / "app.py")


def snapshot(revision: int = 0) -> Snapshot:
    tables = tiny_tables()
    return Snapshot(
        label="fake",
        tables={t: tables[t] for t in REFERENCE},
        cases=CaseSet.of(tables["cases"]),
        counters={},
        watermark=AS_OF,
        tomb_watermark=dt.datetime(2025, 3, 31, tzinfo=dt.UTC),
        revision=revision,
        changed_rows=0,
        stamps={t: revision for t in tables},
    )


class FakeReader:
    """Answers pulls from a script: a Snapshot, or an exception to raise."""

    def __init__(self, *answers) -> None:
        self.answers, self.calls = list(answers), 0
        self.gate: threading.Event | None = None

    def pull(self, previous):
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def live(reader: FakeReader, clock: Clock, **refresh) -> LiveSource:
    settings_ = settings.LiveRefresh(
        **{
            "poll_seconds": 5.0,
            "lookback_seconds": 60.0,
            "retry_seconds": 5.0,
            "retry_max_seconds": 30.0,
            **refresh,
        }
    )
    return LiveSource("postgresql://x@127.0.0.1/x", refresh=settings_, reader=reader, clock=clock)


# -- the policy, on a scripted reader -----------------------------------------------------------


def test_viewers_within_the_poll_interval_share_one_pull():
    reader, clock = FakeReader(snapshot(0), snapshot(1)), Clock()
    source = live(reader, clock)
    first = source.dataset()
    clock.now += 4.9
    assert source.dataset() is first and reader.calls == 1
    clock.now += 0.2
    assert source.dataset().version[0][1] == 1 and reader.calls == 2


def test_failed_pulls_back_off_doubling_up_to_the_maximum_and_serve_the_last_good_data():
    down = DatabaseUnavailable("无法连接数据库 / cannot reach the database: refused")
    reader, clock = FakeReader(snapshot(0), down, down, down, down, snapshot(1)), Clock()
    source = live(reader, clock)
    good = source.dataset()
    waits = []
    for failure in range(1, 5):
        clock.now += 1000  # well past any retry time
        assert source.dataset() is good
        waits.append(source.status().retry_in_s)
        assert source.dataset() is good  # a viewer right after the failure does not retry
        assert reader.calls == 1 + failure
    assert waits == [5.0, 10.0, 20.0, 30.0]
    status = source.status()
    assert status.stale and status.failures == 4 and "cannot reach" in status.error
    clock.now += 30
    assert source.dataset().version[0][1] == 1
    status = source.status()
    assert not status.stale and status.error is None and status.failures == 0


def test_with_nothing_read_yet_the_error_is_raised_and_not_retried_on_every_run():
    reader, clock = FakeReader(DataError("数据库尚未初始化 / run db init"), snapshot(0)), Clock()
    source = live(reader, clock)
    with pytest.raises(DataError, match="db init"):
        source.dataset()
    with pytest.raises(DataError, match="db init"):
        source.dataset()
    assert reader.calls == 1
    assert not source.status().stale  # nothing to be stale: the page shows the error instead
    clock.now += 5
    assert source.dataset().version[0][1] == 0


def test_a_viewer_does_not_wait_for_another_viewers_pull():
    reader, clock = FakeReader(snapshot(0), snapshot(1)), Clock()
    source = live(reader, clock)
    first = source.dataset()
    clock.now += 10
    reader.gate = threading.Event()
    puller = threading.Thread(target=source.dataset)
    puller.start()
    while reader.calls < 2:  # the other viewer is inside its pull
        time.sleep(0.01)
    started = time.monotonic()
    assert source.dataset() is first
    assert time.monotonic() - started < 1.0
    reader.gate.set()
    puller.join(5)
    assert source.dataset().version[0][1] == 1


# -- a real outage ------------------------------------------------------------------------------


def test_the_server_killed_mid_session_then_started_again(pg_server, pg_url, tiny_dir):
    pg_admin.load(pg_url, tiny_dir)
    source = LiveSource(pg_url, refresh=FAST)
    good = source.dataset()
    assert good["cases"].height == 12 and source.status().error is None
    port = pg_server.port
    pg_server.stop(mode="immediate")  # a crash: no goodbye to the connected reader
    try:
        served = source.dataset()
        status = source.status()
        assert served is good
        assert status.stale and status.failures == 1
        assert "cannot read the database" in status.error or "cannot reach" in status.error
        assert status.age() > dt.timedelta(0) and status.read_at is not None
        time.sleep(FAST.retry_seconds + 0.05)
        assert source.dataset() is good and source.status().failures == 2
        assert source.status().retry_in_s == pytest.approx(0.4, abs=0.05)  # doubled
    finally:
        pg_server.start(port=port, durable=False)
    with psycopg.connect(pg_url) as conn:  # written while the reader was away
        now = _db_local_now(conn)
        conn.execute("UPDATE gridpulse.cases SET rework_count = 8, updated_at = %s", (now,))
    for _ in range(100):  # the next retry is due within FAST.retry_max_seconds
        time.sleep(0.1)
        recovered = source.dataset()
        if source.status().error is None:
            break
    status = source.status()
    assert status.error is None and status.failures == 0 and not status.stale
    assert recovered is not good
    assert recovered["cases"]["rework_count"].unique().to_list() == [8]
    source.close()


def test_the_app_shows_the_stale_banner_in_an_outage_and_drops_it_after(
    monkeypatch, pg_server, pg_url, tiny_dir
):
    pg_admin.load(pg_url, tiny_dir)
    monkeypatch.setenv("GRIDPULSE_DATABASE_URL", pg_url)
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))  # sign-in and audit stay in the directory
    monkeypatch.setenv("GRIDPULSE_DB_POLL_SECONDS", "0")
    monkeypatch.setenv("GRIDPULSE_DB_RETRY_SECONDS", "0.1")
    params = {
        "period": "custom",
        "from": "2025-03-01",
        "to": "2025-03-31",
        "as_of": AS_OF.isoformat(),
        "street": S1,
    }
    at = AppTest.from_file(ROOT_APP, default_timeout=60)
    sign_in(at, tiny_dir)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.error and not at.warning
    metrics = {m.label: m.value for m in at.metric}
    # S1 in March: 4 closed of 6 due (the seventh registered case is not yet due at as_of)
    assert metrics["办结率"] == f"{4 / 6 * 100:.1f}%"
    port = pg_server.port
    pg_server.stop(mode="immediate")
    try:
        at.run()
        assert not at.exception and not at.error
        assert any("实时数据库暂时无法连接" in w.value for w in at.warning)
        assert {m.label: m.value for m in at.metric} == metrics  # the last good figures
    finally:
        pg_server.start(port=port, durable=False)
    time.sleep(0.3)
    at.run()
    assert not at.exception and not at.error
    assert not any("实时数据库" in w.value for w in at.warning)


def _db_local_now(conn) -> dt.datetime:
    now = conn.execute("SELECT now()").fetchone()[0]
    return now.astimezone(settings.TIMEZONE).replace(tzinfo=None)


def test_the_banner_key_exists_in_both_languages():
    from data_layer.domain import labels

    for lang in labels.LANGS:
        text = labels.text("live.stale", lang=lang, minutes=3, time="09:00:00")
        assert "3" in text and "09:00:00" in text


def test_live_settings_read_the_environment_and_survive_bad_values(monkeypatch):
    monkeypatch.delenv("GRIDPULSE_DATABASE_URL", raising=False)
    assert settings.database_url() is None
    monkeypatch.setenv("GRIDPULSE_DATABASE_URL", "postgresql://gp@db/gp")
    assert settings.database_url() == "postgresql://gp@db/gp"
    for name in ("POLL", "LOOKBACK", "RETRY", "RETRY_MAX"):
        monkeypatch.delenv(f"GRIDPULSE_DB_{name}_SECONDS", raising=False)
    assert settings.live_refresh() == settings.LiveRefresh(5.0, 300.0, 5.0, 300.0)
    monkeypatch.setenv("GRIDPULSE_DB_POLL_SECONDS", "soon")
    monkeypatch.setenv("GRIDPULSE_DB_RETRY_SECONDS", "-3")
    refresh = settings.live_refresh()
    assert refresh.poll_seconds == 5.0 and refresh.retry_seconds == 0.1
