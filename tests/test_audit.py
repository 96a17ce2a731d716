"""The audit log: append, filter, rotate, and several processes appending at once."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing

import pytest

from data_layer.domain.filters import Filter
from data_layer.storage.audit import AuditLog

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_events_carry_who_what_when_and_the_filter_in_url_form(tmp_path):
    log = AuditLog.for_data_dir(tmp_path)
    flt = Filter(streets=("360102001",), period="this_year")
    log.record(
        user="wang", role="street", action="download", target="cases.csv", filter=flt, now=T0
    )
    log.record(user="li", role="district", action="sign_in_failed", result="refused", now=T0)
    (line, _) = (tmp_path / "_audit" / "audit.jsonl").read_text().splitlines()
    assert json.loads(line) == {
        "ts": "2026-03-02T08:00:00.000+00:00",
        "user": "wang",
        "role": "street",
        "action": "download",
        "target": "cases.csv",
        "filter": {"street": ["360102001"], "period": "this_year"},
        "result": "ok",
    }
    (event,) = log.read_events(user="wang")
    assert event.ts == T0 and Filter.from_query_params(event.filter) == flt


def test_unknown_actions_and_naive_times_are_refused(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    with pytest.raises(ValueError):
        log.record(user="u", role=None, action="delete_everything")
    with pytest.raises(ValueError):
        log.record(user="u", role=None, action="sign_out", now=dt.datetime(2026, 1, 1))


def test_read_filters_by_user_action_and_time(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    for i, (user, action) in enumerate(
        [("a", "sign_in_ok"), ("b", "download"), ("a", "download"), ("a", "sign_out")]
    ):
        log.record(user=user, role="district", action=action, now=T0 + dt.timedelta(minutes=i))
    assert [e.action for e in log.read_events(user="a")] == ["sign_in_ok", "download", "sign_out"]
    assert [e.user for e in log.read_events(action="download")] == ["b", "a"]
    window = log.read_events(since=T0 + dt.timedelta(minutes=1), until=T0 + dt.timedelta(minutes=3))
    assert [(e.user, e.action) for e in window] == [("b", "download"), ("a", "download")]
    assert [e.action for e in log.read_events(limit=1)] == ["sign_out"]
    assert AuditLog(tmp_path / "none" / "a.jsonl").read_events() == []


def test_a_torn_line_is_skipped_and_the_next_event_kept(tmp_path):
    log = AuditLog(tmp_path / "a.jsonl")
    log.record(user="a", role=None, action="sign_in_ok", now=T0)
    with open(log.path, "a") as fh:
        fh.write('{"ts": "2026-03-02T08:0')  # a writer that died mid-line
    log.record(user="b", role=None, action="sign_in_ok", now=T0)
    assert [e.user for e in log.read_events()] == ["a", "b"]


def test_rotation_keeps_the_newest_files_and_reads_across_them(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_AUDIT_MAX_BYTES", "1000")
    monkeypatch.setenv("GRIDPULSE_AUDIT_BACKUPS", "2")
    monkeypatch.setenv("GRIDPULSE_AUDIT_LOG", str(tmp_path / "logs" / "audit.jsonl"))
    log = AuditLog.for_data_dir(tmp_path / "ignored")
    for i in range(60):
        log.record(user=f"u{i}", role=None, action="download", now=T0 + dt.timedelta(seconds=i))
    files = sorted(p.name for p in log.path.parent.iterdir() if not p.name.startswith("."))
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert all(p.stat().st_size <= 1000 for p in log.path.parent.glob("audit.jsonl*"))
    users = [e.user for e in log.read_events()]
    assert users == [f"u{i}" for i in range(60 - len(users), 60)]  # newest kept, in order
    assert 10 < len(users) < 60


def _append_many(path: str, writer: int, n: int) -> None:
    log = AuditLog(path, max_bytes=20_000, backups=50)
    for i in range(n):
        log.record(
            user=f"w{writer}", role="district", action="download", target=f"{i:04d}" + "x" * 200
        )


def test_processes_appending_at_once_never_interleave_lines(tmp_path):
    path = tmp_path / "audit.jsonl"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(str(path), w, 150)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
        assert p.exitcode == 0
    lines = []
    for file in tmp_path.glob("audit.jsonl*"):
        lines += file.read_text().splitlines()
    assert len(lines) == 450
    events = [json.loads(line) for line in lines]  # every line whole
    for w in range(3):
        mine = sorted(e["target"][:4] for e in events if e["user"] == f"w{w}")
        assert mine == [f"{i:04d}" for i in range(150)]
    assert len(AuditLog(path, max_bytes=20_000, backups=50).read_events()) == 450
