"""What a boundary check finds: :class:`Problem`, its kinds, the default area tolerance.

Problem kinds
-------------
``missing``        geometry is null or not readable WKB
``empty``          geometry is empty
``invalid``        geometry is not valid (self-intersection, …); checked after ``make_valid``
``not_polygonal``  geometry is not a Polygon / MultiPolygon
``gap``            part of the parent is covered by none of its children
``overlap``        two siblings (or any two children of the level) share area
``outside``        part of a child lies outside its parent
``duplicate_code`` a code appears twice in one table
``bad_code``       a code does not have the documented form (digits, length, parent prefix)
``orphan``         a child names a parent code that does not exist
``childless``      a parent has no children at all (its whole area is a gap)
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TOLERANCE_M2 = 1.0
"""Default area tolerance (m²): slivers smaller than this are rounding noise, not problems."""


@dataclass(frozen=True)
class Problem:
    """One finding of a boundary check.

    Attributes
    ----------
    level
        The level checked: ``"district"``, ``"street"``, ``"community"`` or ``"grid"``.
    code
        The code the problem belongs to (the child's code; the parent's code for a gap; both
        codes joined by ``"/"`` for an overlap).
    kind
        One of the kinds listed in the module docstring.
    message
        A sentence for people, naming the codes, the area in m² and where it is.
    area_m2
        The area involved (0 when the problem is not about area).
    """

    level: str
    code: str
    kind: str
    message: str
    area_m2: float = 0.0
