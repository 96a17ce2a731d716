"""The map's simplified geometry is keyed by the boundary tables only: a new batch of cases
(a live feed writes one every 10 s) does not simplify every boundary again (issue #16)."""

from __future__ import annotations

from data_layer.storage.source import Dataset
from ui.map_view import geometry_version

STAMPS = (("streets", 1, 10), ("communities", 2, 20), ("grids", 3, 30))


def test_new_cases_keep_the_geometry_version():
    before = Dataset(tables={}, version=(*STAMPS, ("cases", 100, 5000)))
    after = Dataset(tables={}, version=(*STAMPS, ("cases", 200, 5100)))
    assert geometry_version(before) == geometry_version(after) == STAMPS


def test_new_boundaries_change_it():
    before = Dataset(tables={}, version=(*STAMPS, ("cases", 100, 5000)))
    moved = Dataset(tables={}, version=(*STAMPS[:2], ("grids", 4, 31), ("cases", 100, 5000)))
    assert geometry_version(before) != geometry_version(moved)
    assert geometry_version(Dataset(tables={}, version=())) == ()
