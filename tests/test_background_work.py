"""Background work waits for a quiet server (issue #16): the settled history's build starts
only once ``idle()`` says no page is running, and ``ui.activity`` counts the script runs in
flight (app.py wraps each run)."""

from __future__ import annotations

import threading

import pytest
from fixtures_tiny import tiny_tables

from data_layer.queries import history
from data_layer.storage.source import Dataset
from ui import activity


@pytest.fixture(autouse=True)
def history_on(monkeypatch):
    monkeypatch.setattr(history, "MIN_ROWS", 0)
    monkeypatch.setattr(history, "START_DELAY_S", 0.0)
    monkeypatch.setattr(history, "IDLE_POLL_S", 0.001)


def test_the_background_build_waits_until_the_server_is_idle():
    asked = []
    quiet = threading.Event()

    def idle() -> bool:
        asked.append(quiet.is_set())
        return quiet.is_set()

    ds = Dataset(tables=tiny_tables())
    history.serve(ds, background=True, idle=idle)
    assert history.ready(ds) is None  # the worker starts, and waits
    history.wait(ds, timeout=0.2)
    assert history.ready(ds) is None and asked and not any(asked)
    quiet.set()
    history.wait(ds)
    assert history.ready(ds) is not None
    assert asked[-1]


def test_without_idle_the_build_starts_after_the_delay():
    ds = Dataset(tables=tiny_tables())
    history.serve(ds, background=True)
    history.ready(ds)
    history.wait(ds)
    assert history.ready(ds) is not None


def test_a_script_run_in_flight_is_not_idle():
    assert activity.idle(quiet_s=0.0)
    with activity.script_run():
        assert not activity.idle(quiet_s=0.0)
        with activity.script_run():  # two sessions at once
            pass
        assert not activity.idle(quiet_s=0.0)
    assert activity.idle(quiet_s=0.0)
    assert not activity.idle(quiet_s=3600.0)  # one just ended


def test_a_stopped_run_counts_as_ended():
    with pytest.raises(RuntimeError), activity.script_run():
        raise RuntimeError("a StopException or RerunException ends a run the same way")
    assert activity.idle(quiet_s=0.0)
