"""Area levels and codes: one place says how codes nest and where each level lives."""

from __future__ import annotations

import polars as pl

from data_layer.domain import areas, schema


def test_every_level_has_a_table_a_key_and_a_code_length():
    assert areas.LEVELS == ("street", "community", "grid")
    for level in areas.LEVELS:
        assert areas.KEY[level] in schema.TABLES[areas.TABLE[level]]
        parent = areas.PARENT[level]
        if parent is not None:
            assert areas.KEY[parent] in schema.TABLES[areas.TABLE[level]]
            assert areas.DIGITS[level] == areas.DIGITS[parent] + 3


def test_a_code_holds_the_codes_of_its_parents():
    grid = "360102001001007"
    assert areas.code_of(grid, level="community") == "360102001001"
    assert areas.code_of(grid, level="street") == "360102001"
    assert areas.code_of("360102001", level="street") == "360102001"
    assert areas.district_of(grid) == "360102"
    codes = pl.Series(["360102001001007", "360102002003"])
    assert areas.codes_of(codes, level="street").to_list() == ["360102001", "360102002"]
    frame = pl.DataFrame({"code": codes})
    assert frame.select(areas.codes_of(pl.col("code"), level="street"))["code"].to_list() == [
        "360102001",
        "360102002",
    ]
