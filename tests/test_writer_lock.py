"""One writer lock for every writer (issue 14, hole 5): ``simulate`` never loses an import.

Before the fix a ``simulate`` tick read the cases, an import committed a new version, and the
tick then wrote its stale copy into that new version: 5 imported cases, 0 remained.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fixtures_tiny import G1

from data_layer.demo import simulate
from data_layer.ingest import run_import
from data_layer.storage import versions
from data_layer.storage.source import DataError, open_dataset

ROOT = Path(__file__).resolve().parent.parent
HEADER = "事件编号,所属网格,事件类型,来源,上报时间,状态"
REPORTED = "2025-03-01 08:05"
STRESS_S = 4.0  # how long simulate and the imports run against each other
# The simulator process: a tick every 50 ms until the stop file appears; prints each tick's
# new cases (it stops between ticks, so every committed tick is counted).
SIMULATOR = """
import sys, time
from pathlib import Path
import numpy as np
from data_layer.demo import simulate
data_dir, stop = Path(sys.argv[1]), Path(sys.argv[2])
rng = np.random.default_rng(5)
while not stop.exists():
    result = simulate.tick(data_dir, per_minute=3000, interval_s=0.05, rng=rng)
    print(result.new_cases, flush=True)
    time.sleep(0.05)
"""


def cases_csv(path: Path, ids: list[str], *, bad: int = 0) -> Path:
    """Good rows for ``ids`` in grid G1, then ``bad`` rows in a grid that does not exist."""
    lines = [HEADER]
    lines += [f"{case_id},{G1},环境卫生,网格员上报,{REPORTED},已受理" for case_id in ids]
    lines += [
        f"{path.stem}-bad{i},999999999999999,环境卫生,网格员上报,{REPORTED},已受理"
        for i in range(bad)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def case_ids(data_dir: Path) -> list[str]:
    return open_dataset(data_dir)["cases"]["case_id"].to_list()


def test_an_import_committed_while_a_tick_works_is_kept(tiny_dir, tmp_path, monkeypatch):
    """simulate reads, then an import commits, then simulate writes — deterministically."""
    imported_ids = [f"IMP{i}" for i in range(5)]
    src = cases_csv(tmp_path / "five.csv", imported_ids)
    before = len(case_ids(tiny_dir))
    read_done, go_on = threading.Event(), threading.Event()

    real_advance = simulate.advance

    def advance_after_the_import(cases, **kwargs):
        read_done.set()  # the tick has read the current cases ...
        assert go_on.wait(30)  # ... and goes on once the import committed or waits for the lock
        return real_advance(cases, **kwargs)

    real_try = getattr(versions, "_try_flock", None)

    def try_and_tell(fh) -> bool:
        got = real_try(fh)
        if not got:
            go_on.set()  # the import is waiting for the tick's lock
        return got

    monkeypatch.setattr(simulate, "advance", advance_after_the_import)
    if real_try is not None:  # (absent before the fix: the import then never waits)
        monkeypatch.setattr(versions, "_try_flock", try_and_tell)
    results: dict[str, object] = {}

    def importer() -> None:
        try:
            assert read_done.wait(30)
            results["import"] = run_import(tiny_dir, cases=src)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            results["error"] = exc
        finally:
            go_on.set()

    thread = threading.Thread(target=importer)
    thread.start()
    tick = simulate.tick(tiny_dir, per_minute=120, interval_s=10, rng=np.random.default_rng(1))
    thread.join(60)
    assert "error" not in results, results.get("error")
    (result,) = results["import"]
    assert result.imported == 5
    ids = case_ids(tiny_dir)
    assert [i for i in imported_ids if i in ids] == imported_ids  # was: 0 of 5 remained
    assert len(ids) == before + 5 + tick.new_cases  # and the tick's new cases are there too
    assert len(ids) == len(set(ids))


def test_a_second_writer_waits_for_the_lock_then_gives_up_with_a_message(tiny_dir):
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with versions.writer_lock(tiny_dir):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30)
        started = time.monotonic()
        with pytest.raises(DataError, match="another import or writer"):
            with versions.staging(tiny_dir, wait_s=0.3):
                pass
        assert time.monotonic() - started >= 0.3
    finally:
        release.set()
        thread.join()
    with versions.staging(tiny_dir, wait_s=0.3):  # free again
        pass


def test_every_write_is_a_new_version_and_old_versions_stay_as_they_were(tiny_dir):
    rng = np.random.default_rng(2)
    simulate.tick(tiny_dir, per_minute=600, interval_s=10, rng=rng)
    first = versions.current_version(tiny_dir)
    frozen = pl.read_parquet(tiny_dir / "versions" / first / "cases.parquet")
    simulate.tick(tiny_dir, per_minute=600, interval_s=10, rng=rng)
    second = versions.current_version(tiny_dir)
    assert second != first and second > first
    assert pl.read_parquet(tiny_dir / "versions" / first / "cases.parquet").equals(frozen)


def test_prune_keeps_versions_a_reader_may_still_be_reading(tiny_dir):
    rng = np.random.default_rng(3)
    for _ in range(versions.KEEP_VERSIONS + 3):
        simulate.tick(tiny_dir, per_minute=60, interval_s=10, rng=rng)
    made = versions.list_versions(tiny_dir)
    assert len(made) == versions.KEEP_VERSIONS + 4  # + the flat data's first version
    versions.prune(tiny_dir, grace_s=3600)  # all retired within the hour: all kept
    assert versions.list_versions(tiny_dir) == made
    versions.prune(tiny_dir, grace_s=0)
    assert versions.list_versions(tiny_dir) == made[-versions.KEEP_VERSIONS :]
    assert versions.current_version(tiny_dir) == made[-1]


def test_simulate_and_repeated_imports_in_two_processes_never_lose_rows(tiny_dir, tmp_path):
    """A simulate process ticks every 50 ms while this process imports again and again."""
    before = len(case_ids(tiny_dir))
    stop = tmp_path / "stop"
    sim = subprocess.Popen(
        [sys.executable, "-c", SIMULATOR, str(tiny_dir), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    imported: list[str] = []
    rounds = 0
    try:
        time.sleep(1.5)  # let the simulator start ticking
        deadline = time.monotonic() + STRESS_S
        while time.monotonic() < deadline:
            ids = [f"R{rounds}-{i}" for i in range(4)]
            src = cases_csv(tmp_path / f"round{rounds}.csv", ids, bad=rounds % 3)
            (result,) = run_import(tiny_dir, cases=src)
            assert result.read == result.imported + result.rejected == 4 + rounds % 3
            assert (result.imported, result.rejected) == (4, rounds % 3)
            imported += ids
            rounds += 1
    finally:
        stop.touch()
        out, err = sim.communicate(timeout=60)
    assert sim.returncode == 0, err[-2000:]
    ticks = [int(n) for n in out.split()]
    simulated = sum(ticks)
    assert rounds >= 3 and len(ticks) >= 5, (rounds, len(ticks))
    ids = case_ids(tiny_dir)
    assert len(ids) == len(set(ids))
    assert set(imported) <= set(ids)  # every imported case is still there
    # nothing else was lost either: every tick's new cases and every imported row
    assert len(ids) == before + len(imported) + simulated
