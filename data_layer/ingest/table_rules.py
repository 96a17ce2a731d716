"""Validation rules of the reference-table imports, one small function per check.

Compounds, volunteer teams, activities, party report-ins and micro-wishes are parsed by
``tables`` into ``TableRows``; each rule here looks at them and yields ``report.Rejection`` for
the rows it refuses (field, reason code of ``report.REASONS``, value, detail). ``RULES`` says
which rules run for which table, in the report's order; ``rejections`` runs them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import polars as pl

from data_layer.ingest import table_specs as T
from data_layer.ingest import values as V
from data_layer.ingest.case_rules import unknown_street  # the same check on a case's street
from data_layer.ingest.readers import ERROR, ROW
from data_layer.ingest.report import REPORT_COLUMNS, Rejection, rejection_rows
from data_layer.ingest.table_specs import TableSpec, allowed_text

FUTURE_SLACK = dt.timedelta(hours=1)  # as for cases: a clock a little ahead is no error


@dataclass(frozen=True)
class Places:
    """The grid and community a row names, as stated and as found."""

    grid_code: pl.Series  # stated (code column, or a 15-digit grid name)
    grid_name: pl.Series  # stated name (not a code)
    grid_by_name_count: pl.Series  # grids in the district with that name
    grid: pl.Series  # found by code or name
    grid_community: pl.Series  # community of ``grid``
    community_code: pl.Series  # stated (code column, or a 12-digit community name)
    community_name: pl.Series  # stated name (not a code)
    community_by_name: pl.Series  # found from the name (unique in the street or district)
    community_by_name_count: pl.Series  # communities in the district with that name
    community: pl.Series  # the row's community: stated, else the grid's, else the team's
    community_street: pl.Series  # street of ``community``
    street_code: pl.Series  # stated
    street_name: pl.Series
    street_by_name: pl.Series
    known_communities: list[str]
    known_streets: list[str]


@dataclass(frozen=True)
class Teams:
    """The volunteer team an activity names (by id, or by a unique name)."""

    team_id: pl.Series  # stated id
    team_name: pl.Series  # stated name
    by_name_count: pl.Series
    team: pl.Series  # found
    known: list[str]


@dataclass(frozen=True)
class TableRows:
    """One file, parsed: the text per field (stripped, empty → null) and its values."""

    spec: TableSpec
    raw: pl.DataFrame  # ROW, ERROR and one text column per field
    header: dict[str, str]  # field → header in the file
    now: dt.datetime
    broken: pl.Series
    values: dict[str, pl.Series]  # field → parsed value
    errors: dict[str, pl.Series]  # field → error code ("unparseable", "not_a_count"…) or null
    place: Places
    teams: Teams | None  # activities only

    def given(self, field: str) -> pl.Series:
        return self.raw[field].is_not_null()

    def states(self, field: str) -> pl.Series:
        """Whether a row states ``field`` (an area: a code typed into the name column counts
        as the code)."""
        at, teams = self.place, self.teams
        stated = {
            "grid_code": at.grid_code,
            "grid_name": at.grid_name,
            "community_code": at.community_code,
            "community_name": at.community_name,
            "team_id": teams.team_id if teams is not None else None,
        }.get(field)
        return stated.is_not_null() if stated is not None else self.given(field)


Rule = Callable[[TableRows], Iterator[Rejection]]


# --------------------------------------------------------------------------------------------
# every table
# --------------------------------------------------------------------------------------------


def broken_row(r: TableRows) -> Iterator[Rejection]:
    """Ragged CSV lines, syntax errors: the reader says why."""
    yield Rejection(r.broken, "", "bad_row", detail=r.raw[ERROR])


def missing_key(r: TableRows) -> Iterator[Rejection]:
    key = r.spec.key
    yield Rejection(r.values[key].is_null() & ~r.broken, key, "missing_required")


def missing_value(r: TableRows) -> Iterator[Rejection]:
    """Required fields other than the id and the place (their rules say more)."""
    for f in r.spec.fields:
        if f.required and f.name != r.spec.key and f.kind != T.AREA:
            yield Rejection(~r.given(f.name) & ~r.broken, f.name, "missing_required")


def bad_time(r: TableRows) -> Iterator[Rejection]:
    """Each date and time parses, exists and is not in the future."""
    for f in r.spec.by_kind(T.DATE, T.DATETIME):
        for reason in (V.UNRECOGNISED, V.IMPOSSIBLE, V.YEAR_OUT_OF_RANGE):
            yield Rejection(r.errors[f.name] == reason, f.name, reason)
        latest = r.now.date() if f.kind == T.DATE else r.now + FUTURE_SLACK
        yield Rejection(r.values[f.name] > latest, f.name, "future")


def not_a_number(r: TableRows) -> Iterator[Rejection]:
    for f in r.spec.by_kind(T.NUMBER):
        yield Rejection(r.errors[f.name] == "not_a_number", f.name, "not_a_number")


def not_a_count(r: TableRows) -> Iterator[Rejection]:
    """Households, members, participants, posts: whole numbers ≥ 0 (a negative count too)."""
    for f in r.spec.by_kind(T.COUNT):
        yield Rejection(r.errors[f.name].is_not_null(), f.name, "not_a_count")


def unknown_word(r: TableRows) -> Iterator[Rejection]:
    """Property modes, team / activity kinds, claimer kinds must map to a code."""
    for f in r.spec.by_kind(T.WORD):
        allowed = "可用 / allowed: " + allowed_text(f.words)
        yield Rejection(r.errors[f.name].is_not_null(), f.name, "unknown_value", detail=allowed)


# --------------------------------------------------------------------------------------------
# where a row belongs
# --------------------------------------------------------------------------------------------


def _grid_field(r: TableRows) -> str:
    return "grid_code" if "grid_code" in r.header else "grid_name"


def _community_field(r: TableRows) -> str:
    return "community_code" if "community_code" in r.header else "community_name"


def unknown_grid_code(r: TableRows) -> Iterator[Rejection]:
    at = r.place
    unknown = at.grid_code.is_not_null() & at.grid.is_null()
    yield Rejection(unknown, _grid_field(r), "unknown_grid", value=at.grid_code)


def _grid_name_only(at: Places) -> pl.Series:
    return at.grid_name.is_not_null() & at.grid_code.is_null() & at.grid.is_null()


def ambiguous_grid_name(r: TableRows) -> Iterator[Rejection]:
    """A name several grids share, with no community to tell them apart."""
    at = r.place
    many = _grid_name_only(at) & (at.grid_by_name_count > 1).fill_null(False)
    yield Rejection(many, "grid_name", "ambiguous_grid")


def unknown_grid_name(r: TableRows) -> Iterator[Rejection]:
    at = r.place
    none = _grid_name_only(at) & ~(at.grid_by_name_count > 1).fill_null(False)
    yield Rejection(none, "grid_name", "unknown_grid")


def unknown_community(r: TableRows) -> Iterator[Rejection]:
    at = r.place
    code = at.community_code
    unknown = code.is_not_null() & ~code.is_in(at.known_communities)
    yield Rejection(unknown, _community_field(r), "unknown_community", value=code)
    no_such_name = at.community_name.is_not_null() & at.community_by_name_count.is_null()
    yield Rejection(no_such_name, "community_name", "unknown_community", value=at.community_name)


def ambiguous_community(r: TableRows) -> Iterator[Rejection]:
    """A name several communities share, with no code or street to tell them apart."""
    at = r.place
    many = (
        at.community_name.is_not_null()
        & at.community_code.is_null()
        & at.community_by_name.is_null()
        & (at.community_by_name_count > 1).fill_null(False)
    )
    yield Rejection(many, "community_name", "ambiguous_community", value=at.community_name)


def _outside(
    area: pl.Series,
    parent: pl.Series,
    *,
    code: pl.Series,
    known: list[str],
    by_name: pl.Series,
) -> pl.Series:
    """Rows whose ``area`` lies in a ``parent`` other than the one stated (by a known
    ``code``, else by a name found as ``by_name``)."""
    stated = pl.select(pl.coalesce(pl.when(code.is_in(known)).then(code), by_name)).to_series()
    return area.is_not_null() & stated.is_not_null() & (parent != stated)


def grid_not_in_community(r: TableRows) -> Iterator[Rejection]:
    at = r.place
    outside = _outside(
        at.grid,
        at.grid_community,
        code=at.community_code,
        known=at.known_communities,
        by_name=at.community_by_name,
    )
    given = pl.select(pl.coalesce(at.community_code, at.community_name)).to_series()
    yield Rejection(outside, _community_field(r), "grid_not_in_community", value=given)


def community_not_in_street(r: TableRows) -> Iterator[Rejection]:
    at = r.place
    outside = _outside(
        at.community,
        at.community_street,
        code=at.street_code,
        known=at.known_streets,
        by_name=at.street_by_name,
    )
    fld = "street_code" if "street_code" in r.header else "street_name"
    given = pl.select(pl.coalesce(at.street_code, at.street_name)).to_series()
    yield Rejection(outside, fld, "community_not_in_street", value=given)


def no_location(r: TableRows) -> Iterator[Rejection]:
    """Nothing that names the row's grid (compounds) or community (the others)."""
    stated = pl.select(pl.any_horizontal(r.states(f) for f in r.spec.locate_by)).to_series()
    yield Rejection(~stated & ~r.broken, r.spec.locate_by[0], "no_location")


# --------------------------------------------------------------------------------------------
# one table each
# --------------------------------------------------------------------------------------------


def unknown_team(r: TableRows) -> Iterator[Rejection]:
    """An activity's team must be in the volunteer teams (imported before the activities)."""
    teams = r.teams
    if teams is None:
        return
    by_id = teams.team_id.is_not_null() & ~teams.team_id.is_in(teams.known)
    yield Rejection(by_id, "team_id", "unknown_team", value=teams.team_id)
    name_only = teams.team_name.is_not_null() & teams.team_id.is_null()
    yield Rejection(name_only & teams.by_name_count.is_null(), "team_name", "unknown_team")
    yield Rejection(
        name_only & (teams.by_name_count > 1).fill_null(False), "team_name", "ambiguous_team"
    )


def hours_out_of_range(r: TableRows) -> Iterator[Rejection]:
    """Service hours are person-hours: more than 0, at most 24 per participant."""
    hours, people = r.values["hours"], r.values["participants"]
    cap = people.cast(pl.Float64) * T.MAX_HOURS_PER_PARTICIPANT
    cap = cap.fill_null(T.MAX_HOURS_WITHOUT_PARTICIPANTS)
    bad = hours.is_not_null() & ((hours <= 0) | (hours > cap))
    detail = (
        f"0 < 服务时长 ≤ {T.MAX_HOURS_PER_PARTICIPANT:g} × 参与人数 "
        f"(未填人数 ≤ {T.MAX_HOURS_WITHOUT_PARTICIPANTS:,.0f}) / "
        f"0 < hours ≤ {T.MAX_HOURS_PER_PARTICIPANT:g} × participants"
    )
    yield Rejection(bad, "hours", "out_of_range", detail=detail)


def claimed_before_created(r: TableRows) -> Iterator[Rejection]:
    v = r.values
    yield Rejection(v["claimed_at"] < v["created_at"], "claimed_at", "claimed_before_created")


def fulfilled_before_claimed(r: TableRows) -> Iterator[Rejection]:
    v = r.values
    yield Rejection(v["fulfilled_at"] < v["claimed_at"], "fulfilled_at", "fulfilled_before_claimed")


def fulfilled_without_claim(r: TableRows) -> Iterator[Rejection]:
    """A wish fulfilled was claimed first (the funnel 征集 ≥ 认领 ≥ 实现)."""
    v = r.values
    never = v["fulfilled_at"].is_not_null() & ~r.given("claimed_at")
    yield Rejection(never, "fulfilled_at", "fulfilled_without_claim")


COMMON: list[Rule] = [
    broken_row,
    missing_key,
    missing_value,
    bad_time,
    not_a_number,
    not_a_count,
    unknown_word,
]
PLACE: list[Rule] = [
    unknown_grid_code,
    ambiguous_grid_name,
    unknown_grid_name,
    unknown_community,
    ambiguous_community,
    grid_not_in_community,
    unknown_street,
    community_not_in_street,
    no_location,
]
RULES: dict[str, list[Rule]] = {
    "compounds": [*COMMON, *PLACE],
    "volunteer_teams": [*COMMON, *PLACE],
    "activities": [*COMMON, unknown_team, *PLACE, hours_out_of_range],
    "party_reports": [*COMMON, *PLACE],
    "wishes": [
        *COMMON,
        *PLACE,
        claimed_before_created,
        fulfilled_before_claimed,
        fulfilled_without_claim,
    ],
}


def rejections(r: TableRows) -> pl.DataFrame:
    """Every rule's rejections as report rows, in rule order; then rows whose place is still
    unknown though no rule said why (a safety net: nothing lands without its area)."""
    frames = [
        f
        for rule in RULES[r.spec.table]
        for x in rule(r)
        if (f := rejection_rows(r.raw, r.header, x)) is not None
    ]
    report = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=REPORT_COLUMNS)
    place = r.place.grid if r.spec.place == "grid" else r.place.community
    unplaced = place.is_null() & ~r.raw[ROW].is_in(report["row"].implode())
    extra = rejection_rows(r.raw, r.header, Rejection(unplaced, r.spec.locate_by[0], "no_location"))
    return report if extra is None else pl.concat([report, extra])
