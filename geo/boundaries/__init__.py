"""Boundary checks: do the grids, communities and streets form a nested partition?

Pure functions, no Streamlit. Geometry comes in as WKB (the ``geometry`` column of the
streets / communities / grids tables, EPSG:4326) or as shapely geometries; areas are measured
in a local projected CRS (a CGCS2000 3-degree Gauss-Krüger zone picked from the data's
longitude, UTM outside China), so every tolerance is in square metres::

    problems = boundaries.check_hierarchy(streets=..., communities=..., grids=...)
    problems = boundaries.check_partition(parent=..., children=..., child_codes=...)

The modules, one concern each:

=============  ===============================================================================
problems.py    :class:`Problem`, the problem kinds, the default tolerance
frames.py      reading input: WKB columns, GeoSeries, GeoDataFrames → shapely arrays, codes
measure.py     the local metric CRS; areas in m², factors, places named for people
sanity.py      missing / empty / invalid / non-polygonal geometry; repairs
codes.py       duplicate, malformed and orphaned codes
levels.py      one level against the level above: outside, overlaps, childless, gaps
hierarchy.py   the public checks: one partition, the whole hierarchy
=============  ===============================================================================
"""

from geo.boundaries.frames import from_wkb
from geo.boundaries.hierarchy import check_hierarchy, check_partition
from geo.boundaries.measure import local_crs
from geo.boundaries.problems import DEFAULT_TOLERANCE_M2, Problem

__all__ = [
    "DEFAULT_TOLERANCE_M2",
    "Problem",
    "check_hierarchy",
    "check_partition",
    "from_wkb",
    "local_crs",
]
