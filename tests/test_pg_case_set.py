"""The live working set's cases: partitions that a refresh rebuilds one at a time."""

from __future__ import annotations

import polars as pl
import pytest
from fixtures_tiny import tiny_tables

from data_layer.storage import case_set
from data_layer.storage.case_set import CaseSet

NO_IDS = pl.Series([], dtype=pl.String)


@pytest.fixture
def cases(monkeypatch) -> pl.DataFrame:
    monkeypatch.setattr(case_set, "PARTITION_ROWS", 4)
    return tiny_tables()["cases"].sort("case_id")


def ids(frame: pl.DataFrame) -> list[str]:
    return frame["case_id"].to_list()


def test_a_full_read_is_cut_into_partitions_and_served_as_one_frame(cases):
    held = CaseSet.of(cases)
    sizes = [p.frame.height for p in held.parts]
    assert sizes == [4] * (cases.height // 4) + ([cases.height % 4] if cases.height % 4 else [])
    assert held.height == cases.height
    assert held.frame.equals(cases)


def test_rows_read_again_unchanged_are_no_change(cases):
    held = CaseSet.of(cases)
    same, changed = held.apply(changed=cases.slice(2, 5), deleted=pl.Series(["not-there"]))
    assert (same, changed) == (held, 0) and same is held


def test_an_update_overwrites_the_case_in_place_in_its_partition_only(cases):
    held = CaseSet.of(cases)
    target = ids(held.parts[1].frame)[2]
    update = cases.filter(pl.col("case_id") == target).with_columns(
        rework_count=pl.lit(5, pl.Int32), satisfaction=pl.lit(None, pl.String)
    )
    after, changed = held.apply(changed=update, deleted=NO_IDS)
    assert changed == 1 and ids(after.frame) == ids(held.frame)  # same place, same order
    assert after.parts[0] is held.parts[0] and after.parts[2] is held.parts[2]
    assert after.parts[1].hashes is held.parts[1].hashes  # same ids: nothing hashed again
    row = after.frame.filter(pl.col("case_id") == target)
    assert row["rework_count"].to_list() == [5] and row["satisfaction"].to_list() == [None]
    assert row.drop("rework_count", "satisfaction").equals(
        update.drop("rework_count", "satisfaction")
    )
    # the old set, which viewers may still be reading, is untouched
    assert held.frame.equals(cases)
    assert after.frame.filter(pl.col("case_id") != target).equals(
        cases.filter(pl.col("case_id") != target)
    )


def test_an_update_and_a_delete_in_one_partition(cases):
    held = CaseSet.of(cases)
    first, second = ids(held.parts[0].frame)[:2]
    update = cases.filter(pl.col("case_id") == second).with_columns(
        rework_count=pl.lit(4, pl.Int32)
    )
    after, changed = held.apply(changed=update, deleted=pl.Series([first]))
    assert changed == 2
    assert ids(after.frame) == ids(cases)[1:]
    assert after.frame.filter(pl.col("case_id") == second)["rework_count"].to_list() == [4]
    assert after.parts[0].hashes.to_list() == after.parts[0].frame["case_id"].hash().to_list()


def test_new_cases_fill_the_last_partition_then_open_a_new_one(cases):
    held = CaseSet.of(cases.head(7))  # partitions of 4 and 3
    new = cases.tail(3).with_columns(pl.col("case_id") + "-new")
    after, changed = held.apply(changed=new.head(1), deleted=NO_IDS)
    assert changed == 1 and [p.frame.height for p in after.parts] == [4, 4]
    after, changed = after.apply(changed=new.tail(2), deleted=NO_IDS)
    assert [p.frame.height for p in after.parts] == [4, 4, 2]
    assert ids(after.frame)[-3:] == ids(new)


def test_deleted_ids_leave_and_unknown_ones_are_ignored(cases):
    held = CaseSet.of(cases)
    gone = ids(cases)[:2]
    after, changed = held.apply(changed=cases.head(0), deleted=pl.Series([*gone, "unknown"]))
    assert changed == 2
    assert ids(after.frame) == ids(cases)[2:]


def test_a_row_and_a_tombstone_for_one_id_keep_the_row(cases):
    held = CaseSet.of(cases)
    target = ids(cases)[0]
    row = cases.head(1).with_columns(rework_count=pl.lit(2, pl.Int32))
    after, _ = held.apply(changed=row, deleted=pl.Series([target]))
    assert after.frame.filter(pl.col("case_id") == target)["rework_count"].to_list() == [2]


def test_an_empty_set_takes_new_cases(cases):
    held = CaseSet.of(cases.head(0))
    assert held.frame.schema == cases.schema and held.height == 0
    after, changed = held.apply(changed=cases.head(2), deleted=NO_IDS)
    assert changed == 2 and after.frame.equals(cases.head(2))
