"""Case validation rules: one small function per rule, run in the order ``RULES`` lists them.

A rule looks at one parsed batch (``CaseRows``) and yields ``Rejection``s — the rows it refuses,
the field to blame, a reason code (``report.REASONS``) and, where it helps, the value to show and
a detail for the message. ``rejections`` runs every rule and turns what they yield into report
rows (``report.REPORT_COLUMNS``); the order of ``RULES`` is the order of the report.

``WARNINGS`` are rules of the same form for rows that land but are inconsistent (an open status
with a closing time, an update before the report): ``problems`` lists them, with severity
"warning", after the rejections, for the rows no rule refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from data_layer.domain import schema
from data_layer.domain.privacy import mask_text_expr
from data_layer.ingest import values as V
from data_layer.ingest.check import TIME_ORDER as CHECK_TIME_ORDER
from data_layer.ingest.check import TIME_WARNINGS as CHECK_TIME_WARNINGS
from data_layer.ingest.check import out_of_order
from data_layer.ingest.readers import ERROR, ROW
from data_layer.ingest.report import FULL_REPORT_COLUMNS, REPORT_COLUMNS, Rejection, rejection_rows

EVENT_TIMES = (
    "reported_at",
    "registered_at",
    "dispatched_at",
    "handled_at",
    "verified_at",
    "closed_at",
    "updated_at",
)
TIME_ORDER = [(a, b) for table, a, b in CHECK_TIME_ORDER if table == "cases"]
TIME_WARNINGS = [(a, b) for table, a, b in CHECK_TIME_WARNINGS if table == "cases"]
OPEN_STAGES = ("reported", "registered", "dispatched", "handled")
FUTURE_SLACK = dt.timedelta(hours=1)
# word fields whose unknown words are rejected, and what the message lists as allowed
ALLOWED_WORDS = {
    "source": "可用 / allowed: " + ", ".join(schema.SOURCES),
    "status": "可用 / allowed: " + ", ".join(V.STAGES),
    "satisfaction": "满意/基本满意/不满意",
    "rejected": "是/否",
    "postponed": "是/否",
}


# --------------------------------------------------------------------------------------------
# what a rule sees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """Code words mapped to the app's codes (null where a word maps to none)."""

    category: pl.Series  # an unknown category is "other"
    source: pl.Series
    status: pl.Series  # the stage of the loop (``values.STAGES``)
    satisfaction: pl.Series
    rejected: pl.Series  # "true" / "false"
    postponed: pl.Series  # "true" / "false"
    errors: dict[str, pl.Series]  # field of ``ALLOWED_WORDS`` → error code, null if fine


@dataclass(frozen=True)
class Loop:
    """The closed loop as the file states it, filled in from the status."""

    is_closed: pl.Series  # the status says closed
    closed_at: pl.Series  # the closing time, or the update time of a closed case
    registered_at: pl.Series  # the registration time, or the report time of a case that moved on
    rejected: pl.Series  # Boolean


@dataclass(frozen=True)
class Points:
    """Coordinates: as parsed from the file, and in WGS 84 (NaN where there is no point)."""

    lon_error: pl.Series
    lat_error: pl.Series
    half: pl.Series  # only one of lon / lat
    zero: pl.Series  # (0, 0)
    text: pl.Series  # "lon,lat" as in the file, for the report
    lon: np.ndarray
    lat: np.ndarray
    has_point: np.ndarray
    outside: np.ndarray  # outside the district's bounding box (with a margin)
    usable: np.ndarray  # a point inside the district


@dataclass(frozen=True)
class Place:
    """The grid a row names or lies in, and the community / street it states."""

    code: pl.Series  # grid code given (grid code column, or a 15-digit grid name)
    name: pl.Series  # grid name given (not a code)
    by_name_count: pl.Series  # grids in the district with that name
    matched: pl.Series  # grid found by code or name
    located: np.ndarray  # rows placed by their coordinates
    grid: pl.Series  # the grid: matched, or found by point-in-polygon
    grid_community: pl.Series  # community of ``grid``
    grid_street: pl.Series  # street of ``grid``
    community_code: pl.Series  # stated (code column, or a 12-digit community name)
    community_by_name: pl.Series  # community code found from the stated name
    community_by_name_count: pl.Series
    street_code: pl.Series  # stated (code column, or a 9-digit street name)
    street_by_name: pl.Series
    known_communities: list[str]
    known_streets: list[str]

    @property
    def name_only(self) -> pl.Series:
        return self.name.is_not_null() & self.code.is_null()

    @property
    def ambiguous(self) -> pl.Series:
        return self.name_only & self.matched.is_null() & (self.by_name_count > 1).fill_null(False)


@dataclass(frozen=True)
class CaseRows:
    """One batch, parsed: the file's text per field (stripped, empty → null) and its values."""

    raw: pl.DataFrame  # ROW, ERROR and one text column per field
    header: dict[str, str]  # field → header in the file
    now: dt.datetime
    broken: pl.Series  # ragged or malformed rows
    case_id: pl.Series
    times: dict[str, pl.Series]  # ``EVENT_TIMES``
    time_errors: dict[str, pl.Series]  # field → ``values.parse_datetime``'s error code or null
    words: Words
    rework_count: pl.Series
    rework_error: pl.Series
    loop: Loop
    due_at: pl.Series
    due_unparseable: pl.Series
    points: Points
    place: Place


Rule = Callable[[CaseRows], Iterator[Rejection]]


# --------------------------------------------------------------------------------------------
# the rules
# --------------------------------------------------------------------------------------------


def broken_row(r: CaseRows) -> Iterator[Rejection]:
    """Ragged CSV lines, syntax errors: the reader says why."""
    yield Rejection(r.broken, "", "bad_row", detail=r.raw[ERROR])


def missing_case_id(r: CaseRows) -> Iterator[Rejection]:
    yield Rejection(r.case_id.is_null() & ~r.broken, "case_id", "missing_required")


def bad_event_time(r: CaseRows) -> Iterator[Rejection]:
    """Each event time parses, exists, has a plausible year and is not in the future; the
    message quotes the value (masked: a phone number in a date column stays masked)."""
    latest = r.now + FUTURE_SLACK
    for fld in EVENT_TIMES:
        quoted = r.raw.select(mask_text_expr(pl.col(fld))).to_series()
        for reason in (V.UNRECOGNISED, V.IMPOSSIBLE, V.YEAR_OUT_OF_RANGE):
            yield Rejection(r.time_errors[fld] == reason, fld, reason, detail=quoted)
        yield Rejection(r.times[fld] > latest, fld, "future")


def missing_reported_at(r: CaseRows) -> Iterator[Rejection]:
    missing = r.times["reported_at"].is_null() & r.raw["reported_at"].is_null() & ~r.broken
    yield Rejection(missing, "reported_at", "missing_required")


def unknown_word(r: CaseRows) -> Iterator[Rejection]:
    """Source, status, satisfaction and yes/no words must map to a code (categories need not:
    an unknown one is "other")."""
    for fld, allowed in ALLOWED_WORDS.items():
        yield Rejection(r.words.errors[fld].is_not_null(), fld, "unknown_value", detail=allowed)


def rework_not_a_count(r: CaseRows) -> Iterator[Rejection]:
    yield Rejection(r.rework_error.is_not_null(), "rework_count", "not_a_count")


def closed_without_time(r: CaseRows) -> Iterator[Rejection]:
    """A closed status needs a closing time (or an update time to take it from)."""
    loop = r.loop
    no_time = loop.closed_at.is_null() & r.raw["closed_at"].is_null()
    yield Rejection(loop.is_closed & no_time, "status", "closed_without_time")


def unparseable_due(r: CaseRows) -> Iterator[Rejection]:
    """Neither a date nor a time limit ('72小时', '5个工作日')."""
    yield Rejection(r.due_unparseable, "due_at", "unparseable")


def _loop_times(r: CaseRows) -> pl.DataFrame:
    """The event times as the cases table will hold them (the loop filled in)."""
    return pl.DataFrame(
        {**r.times, "registered_at": r.loop.registered_at, "closed_at": r.loop.closed_at}
    )


def _before(r: CaseRows, early: str, late: str) -> tuple[pl.Series, str]:
    """``check.out_of_order`` on the batch, and the detail naming the file's two columns."""
    mask = _loop_times(r).select(out_of_order(early, late)).to_series()
    return mask, f"{r.header.get(late, late)} < {r.header.get(early, early)}"


def time_order(r: CaseRows) -> Iterator[Rejection]:
    """The loop runs forward (``check.TIME_ORDER``); nothing closes before it was reported."""
    for early, late in TIME_ORDER:
        reason = (
            "closed_before_reported"
            if (early, late) == ("reported_at", "closed_at")
            else "time_order"
        )
        mask, detail = _before(r, early, late)
        yield Rejection(mask, late, reason, detail=detail)


def coordinate_not_a_number(r: CaseRows) -> Iterator[Rejection]:
    yield Rejection(r.points.lon_error.is_not_null(), "lon", "not_a_number")
    yield Rejection(r.points.lat_error.is_not_null(), "lat", "not_a_number")


def half_coordinates(r: CaseRows) -> Iterator[Rejection]:
    p = r.points
    half = p.half & p.lon_error.is_null() & p.lat_error.is_null()
    yield Rejection(half, "lon" if "lon" in r.header else "lat", "half_coordinates")


def zero_coordinates(r: CaseRows) -> Iterator[Rejection]:
    yield Rejection(r.points.zero, "lon", "zero_coordinates", value=r.points.text)


def outside_district(r: CaseRows) -> Iterator[Rejection]:
    p = r.points
    yield Rejection(pl.Series(p.outside), "lon", "outside_district", value=p.text)


def unknown_grid_code(r: CaseRows) -> Iterator[Rejection]:
    at = r.place
    fld = "grid_code" if "grid_code" in r.header else "grid_name"
    yield Rejection(
        at.code.is_not_null() & at.matched.is_null(), fld, "unknown_grid", value=at.code
    )


def ambiguous_grid_name(r: CaseRows) -> Iterator[Rejection]:
    """A name several grids share, with no community to tell them apart."""
    yield Rejection(r.place.ambiguous, "grid_name", "ambiguous_grid")


def unknown_grid_name(r: CaseRows) -> Iterator[Rejection]:
    """A grid name that matches nothing, on a row without a usable point to place it by."""
    at = r.place
    unknown = at.name_only & at.matched.is_null() & ~at.ambiguous
    yield Rejection(unknown & ~pl.Series(r.points.usable), "grid_name", "unknown_grid")


def outside_grids(r: CaseRows) -> Iterator[Rejection]:
    """A point in the district that falls in no grid."""
    missed = pl.Series(r.place.located) & r.place.grid.is_null()
    yield Rejection(missed, "lon", "outside_grids", value=r.points.text)


def no_location(r: CaseRows) -> Iterator[Rejection]:
    """No grid code, grid name or coordinates at all (bad coordinates are reported as such)."""
    p, at = r.points, r.place
    nothing = (
        at.code.is_null()
        & at.name.is_null()
        & pl.Series(~p.has_point)
        & ~r.broken
        & ~p.half
        & ~p.zero
        & p.lon_error.is_null()
        & p.lat_error.is_null()
    )
    fld = "grid_code" if "grid_code" in r.header or "grid_name" not in r.header else "grid_name"
    yield Rejection(nothing, fld, "no_location")


def unknown_community(r: CaseRows) -> Iterator[Rejection]:
    at = r.place
    code = at.community_code
    fld = "community_code" if "community_code" in r.header else "community_name"
    unknown = code.is_not_null() & ~code.is_in(at.known_communities)
    yield Rejection(unknown, fld, "unknown_community", value=code)
    unknown_name = r.raw["community_name"].is_not_null() & at.community_by_name.is_null()
    yield Rejection(unknown_name, "community_name", "unknown_community")


def grid_not_in_community(r: CaseRows) -> Iterator[Rejection]:
    at = r.place
    by_name = pl.when(at.community_by_name_count == 1).then(at.community_by_name)
    stated = pl.select(pl.coalesce(at.community_code, by_name)).to_series()
    outside = (
        at.grid.is_not_null()
        & stated.is_not_null()
        & stated.is_in(at.known_communities)
        & (at.grid_community != stated)
    )
    fld = "community_code" if "community_code" in r.header else "community_name"
    given = pl.select(pl.coalesce(at.community_code, r.raw["community_name"])).to_series()
    yield Rejection(outside, fld, "grid_not_in_community", value=given)


def unknown_street(r: CaseRows) -> Iterator[Rejection]:
    at = r.place
    code = at.street_code
    fld = "street_code" if "street_code" in r.header else "street_name"
    yield Rejection(
        code.is_not_null() & ~code.is_in(at.known_streets), fld, "unknown_street", value=code
    )
    unknown_name = r.raw["street_name"].is_not_null() & at.street_by_name.is_null()
    yield Rejection(unknown_name, "street_name", "unknown_street")


def grid_not_in_street(r: CaseRows) -> Iterator[Rejection]:
    at = r.place
    stated = pl.select(pl.coalesce(at.street_code, at.street_by_name)).to_series()
    outside = (
        at.grid.is_not_null()
        & stated.is_not_null()
        & stated.is_in(at.known_streets)
        & (at.grid_street != stated)
    )
    fld = "street_code" if "street_code" in r.header else "street_name"
    given = pl.select(pl.coalesce(at.street_code, r.raw["street_name"])).to_series()
    yield Rejection(outside, fld, "grid_not_in_street", value=given)


RULES: list[Rule] = [
    broken_row,
    missing_case_id,
    bad_event_time,
    missing_reported_at,
    unknown_word,
    rework_not_a_count,
    closed_without_time,
    unparseable_due,
    time_order,
    coordinate_not_a_number,
    half_coordinates,
    zero_coordinates,
    outside_district,
    unknown_grid_code,
    ambiguous_grid_name,
    unknown_grid_name,
    outside_grids,
    no_location,
    unknown_community,
    grid_not_in_community,
    unknown_street,
    grid_not_in_street,
]


# --------------------------------------------------------------------------------------------
# warnings: the row lands, and is listed
# --------------------------------------------------------------------------------------------


def open_status_with_closing_time(r: CaseRows) -> Iterator[Rejection]:
    """The status says the case is still open (上报 … 已处置) but a closing time is given: it is
    counted as closed at that time, since the time is the more specific statement."""
    still_open = r.words.status.is_in(OPEN_STAGES) & r.times["closed_at"].is_not_null()
    closing = r.header.get("closed_at", "closed_at")
    yield Rejection(
        still_open,
        "status",
        "open_status_with_closing_time",
        detail=f"按已办结计（{closing}）/ counted as closed at {closing}",
    )


def time_warnings(r: CaseRows) -> Iterator[Rejection]:
    """``check.TIME_WARNINGS``: updated before created or closed, verified before handled …"""
    for early, late in TIME_WARNINGS:
        mask, detail = _before(r, early, late)
        reason = (
            "updated_before_reported"
            if (early, late) == ("reported_at", "updated_at")
            else "time_order_warning"
        )
        yield Rejection(mask, late, reason, detail=detail)


WARNINGS: list[Rule] = [open_status_with_closing_time, time_warnings]


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------


def problems(r: CaseRows) -> pl.DataFrame:
    """The batch's report (``FULL_REPORT_COLUMNS``): every rejection, then the warnings of the
    rows that land."""
    rejected = rejections(r)
    refused = r.raw[ROW].is_in(rejected["row"].implode())
    landed = (replace(x, mask=x.mask & ~refused) for rule in WARNINGS for x in rule(r))
    frames = [f for x in landed if (f := _report_rows(r, x)) is not None]
    parts = [rejected.with_columns(pl.lit("rejected").alias("severity"))]
    parts += [f.with_columns(pl.lit("warning").alias("severity")) for f in frames]
    return pl.concat(parts, how="vertical").select(list(FULL_REPORT_COLUMNS))


def rejections(r: CaseRows) -> pl.DataFrame:
    """Every rule's rejections as report rows, in rule order, then rows without a source."""
    frames = [f for rule in RULES for x in rule(r) if (f := _report_rows(r, x)) is not None]
    report = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=REPORT_COLUMNS)
    without = _report_rows(r, _missing_source(r, report))
    return report if without is None else pl.concat([report, without])


def _missing_source(r: CaseRows, report: pl.DataFrame) -> Rejection:
    """A row with no source is rejected, but named for it only when no rule refused it already
    (an unknown source word has its own reason)."""
    mask = r.words.source.is_null() & ~r.raw[ROW].is_in(report["row"].implode())
    return Rejection(
        mask,
        "source",
        "missing_required",
        value=pl.repeat(None, r.raw.height, dtype=pl.String, eager=True),
        detail=(
            "来源（可在映射文件 [options] 中指定 default_source）"
            " / source (set default_source under [options] in a mapping file)"
        ),
    )


def _report_rows(r: CaseRows, x: Rejection) -> pl.DataFrame | None:
    return rejection_rows(r.raw, r.header, x)
