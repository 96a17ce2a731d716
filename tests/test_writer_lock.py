"""One writer lock for every writer (issue 14, hole 5): ``simulate`` never loses an import.

Before the fix a ``simulate`` tick read the cases, an import committed a new version, and the
tick then wrote its stale copy into that new version: 5 imported cases, 0 remained.

The lock is also fair (first come, first served): with a bare polled ``flock`` a stream of
imports re-took it within a millisecond of letting go, and a waiting ``simulate`` tick sat
behind 15-33 imports in a row.
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
from writer_waits import WaitWatch

from data_layer.demo import simulate
from data_layer.ingest import run_import
from data_layer.storage import versions
from data_layer.storage.source import DataError, open_dataset

ROOT = Path(__file__).resolve().parent.parent
HEADER = "事件编号,所属网格,事件类型,来源,上报时间,状态"
REPORTED = "2025-03-01 08:05"
ROUNDS = 6  # at least this many imports, and this many ticks while the imports run
STRESS_DEADLINE_S = 120.0  # a generous bound on this loaded machine; a fair lock needs ~3 s
# The simulator process: a tick every 50 ms until the stop file appears. For each committed
# tick it prints its new cases and how many other writers committed between the moment it
# was queued for the lock and its own commit (it stops between ticks, so every tick counts).
SIMULATOR = """
import sys, time
from pathlib import Path
import numpy as np
from data_layer.demo import simulate
from data_layer.storage import versions
sys.path.insert(0, "tests")
from writer_waits import WaitWatch
data_dir, stop = Path(sys.argv[1]), Path(sys.argv[2])
waits = WaitWatch(data_dir)
rng = np.random.default_rng(5)
while not stop.exists():
    result = simulate.tick(data_dir, per_minute=3000, interval_s=0.05, rng=rng)
    print(result.new_cases, waits.pop(), flush=True)
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


def test_a_writer_that_asks_again_at_once_is_queued_behind_the_one_waiting(tiny_dir):
    """First come, first served: the holder lets go and asks again straight away (the next
    import of a stream); the writer that was already waiting gets the lock first."""
    order: list[str] = []
    held, queued = threading.Event(), threading.Event()
    queue = tiny_dir / versions.QUEUE_DIR

    def waiter() -> None:
        assert held.wait(30)
        with versions.writer_lock(tiny_dir, wait_s=30):
            order.append("waiting writer")

    thread = threading.Thread(target=waiter)
    thread.start()
    with versions.writer_lock(tiny_dir):
        held.set()
        deadline = time.monotonic() + 30
        while not list(queue.glob("0*")) and time.monotonic() < deadline:
            time.sleep(0.01)  # the waiter's ticket is in the queue
        queued.set()
    with versions.writer_lock(tiny_dir, wait_s=30):  # at once, as a stream of imports does
        order.append("holder again")
    thread.join(30)
    assert queued.is_set()
    assert order == ["waiting writer", "holder again"]
    assert not list(queue.glob("0*"))  # every ticket is gone


def test_a_dead_writers_ticket_does_not_block_and_a_timed_out_one_is_removed(tiny_dir):
    queue = tiny_dir / versions.QUEUE_DIR
    queue.mkdir()
    dead = queue / "000000000001-99999-deadbeef"  # left by a killed writer: nobody locks it
    dead.touch()
    with versions.staging(tiny_dir, wait_s=0.5):
        pass
    assert not dead.exists()
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with versions.writer_lock(tiny_dir):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(DataError, match="another import or writer"):
            with versions.writer_lock(tiny_dir, wait_s=0.2):
                pass
        assert not list(queue.glob("0*"))  # the writer that gave up left the queue
    finally:
        release.set()
        thread.join()


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
    """A simulate process ticks every 50 ms while this process imports again and again:
    nothing is lost, and neither writer is starved — each waits behind at most one commit
    of the other, however the two processes happen to be scheduled."""
    versions.ensure_versioned(tiny_dir)  # so every wait is measured between two versions
    before = len(case_ids(tiny_dir))
    stop, err = tmp_path / "stop", tmp_path / "simulator.err"
    with open(err, "w") as err_file:  # a file: a full stderr pipe could stall the simulator
        sim = subprocess.Popen(
            [sys.executable, "-c", SIMULATOR, str(tiny_dir), str(stop)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
        )
    ticks: list[tuple[int, int]] = []  # (new cases, imports committed while it waited)
    reader = threading.Thread(
        target=lambda: ticks.extend(tuple(map(int, line.split())) for line in sim.stdout)
    )
    reader.start()
    imported: list[str] = []
    import_waits: list[int] = []  # ticks committed while an import waited
    rounds = 0
    waits = WaitWatch(tiny_dir)
    try:
        deadline = time.monotonic() + STRESS_DEADLINE_S
        while not ticks and time.monotonic() < deadline and sim.poll() is None:
            time.sleep(0.05)  # the simulator has started ticking (its imports take a while)
        ticks_before = len(ticks)
        while time.monotonic() < deadline and sim.poll() is None:
            if rounds >= ROUNDS and len(ticks) - ticks_before >= ROUNDS:
                break  # both writers made progress while contending
            ids = [f"R{rounds}-{i}" for i in range(4)]
            src = cases_csv(tmp_path / f"round{rounds}.csv", ids, bad=rounds % 3)
            (result,) = run_import(tiny_dir, cases=src)
            import_waits.append(waits.pop())
            assert result.read == result.imported + result.rejected == 4 + rounds % 3
            assert (result.imported, result.rejected) == (4, rounds % 3)
            imported += ids
            rounds += 1
        ticks_during = len(ticks) - ticks_before
    finally:
        waits.undo()
        stop.touch()
        sim.wait(timeout=60)
        reader.join(60)  # the only reader of its stdout: every tick's line, whole
    assert sim.returncode == 0, err.read_text()[-2000:]
    # both made progress against each other (the deadline is only a bound on a hung run)
    assert rounds >= ROUNDS and ticks_during >= ROUNDS, (rounds, ticks_during)
    # fair: no writer let the other commit twice while it waited (an unfair lock: 15 imports)
    assert max(import_waits) <= 1, import_waits
    assert max(w for _, w in ticks) <= 1, [w for _, w in ticks]
    ids = case_ids(tiny_dir)
    assert len(ids) == len(set(ids))
    assert set(imported) <= set(ids)  # every imported case is still there
    # nothing else was lost either: every tick's new cases and every imported row
    assert len(ids) == before + len(imported) + sum(n for n, _ in ticks)


def test_a_copy_that_lost_its_links_is_refused_with_a_message_and_kept_readable(tiny_dir, tmp_path):
    """A versioned directory copied without its links (``shutil.copytree``, ``cp -rL``) has a
    folder where ``current`` was: a writer says so and how to copy it, instead of an
    IsADirectoryError mid-write; readers still see the same tables."""
    import shutil

    simulate.tick(tiny_dir, per_minute=120, interval_s=10, rng=np.random.default_rng(1))
    assert versions.current_version(tiny_dir) is not None  # versioned now
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dir, copy)  # follows the links
    assert (copy / "current").is_dir() and not (copy / "current").is_symlink()
    with pytest.raises(DataError, match="cp -a"):
        simulate.tick(copy, per_minute=120, interval_s=10, rng=np.random.default_rng(2))
    assert open_dataset(copy)["cases"].equals(open_dataset(tiny_dir)["cases"])
