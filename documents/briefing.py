"""The joint-conference briefing (联席会议) as data: seven slides of titles, figures and tables.

One model feeds the screen (pages/meeting.py), the PPTX (``briefing_pptx``) and the PDF
(``briefing_pdf``), so the three cannot disagree. Every number is read from
``figures.kpis`` and the page-family queries and formatted by ``formatting.format_value`` /
``format_fraction`` — the same as ``python -m data_layer kpis`` for the meeting's scope,
period and as-of. Personal data leaves this module masked (``privacy.mask_personal``, even
for a role that may see it on screen).

A ``Meeting`` is the frozen choice — period (a month, a quarter or a custom range), streets,
basis (统计口径) and as-of — with its URL form, so the same link shows the same numbers later.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from data_layer import settings
from data_layer.domain import metrics, url_values
from data_layer.domain.filters import BASES, DEFAULT_BASIS, Filter, Window, now_local
from data_layer.domain.formatting import DASH, format_change, format_fraction, format_value
from data_layer.domain.labels import code_label, metric_formula, metric_label, text
from data_layer.domain.metrics import metric_def
from data_layer.domain.privacy import mask_personal
from data_layer.domain.scope import Scope
from data_layer.queries import cases, coverage, figures, ranking, volunteer
from data_layer.storage.source import Dataset

KINDS = ("month", "quarter", "custom")
SLIDES = ("headline", "map", "ranking", "overdue", "coverage", "volunteer", "notes")
HEADLINE = (
    "reported",
    "closure_rate",
    "on_time_rate",
    "overdue_open",
    "satisfaction_rate",
    "response_rate",
    "full_time_coverage",
    "party_org_coverage",
)
COVERAGE = ("full_time_coverage", "party_org_coverage", "size_standard_rate", "property_coverage")
VOLUNTEER = (
    "activities",
    "volunteer_hours",
    "volunteer_hours_per_1k",
    "party_members_reported",
    "wishes_collected",
    "wishes_fulfilled",
    "wish_fulfilment_rate",
)
VOLUNTEER_DETAIL = ("teams", "team_members", "participants")
MAX_ROWS = 10  # table rows on one slide; the rest is counted in a note
UNIT_TOP = 3  # handling units on the red and black list
URL_KEYS = (
    "mt_period",
    "mt_month",
    "mt_quarter",
    "mt_from",
    "mt_to",
    "mt_street",
    "mt_basis",
    "mt_as_of",
)


# -- the meeting: frozen period, scope and as-of, and its URL form ----------------------------


def month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return start, following - dt.timedelta(days=1)


def quarter_range(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    start, _ = month_range(year, 3 * quarter - 2)
    _, end = month_range(year, 3 * quarter)
    return start, end


@dataclass(frozen=True)
class Meeting:
    """A meeting's frozen view: whole days ``start``..``end``, streets (empty = whole
    district), the basis (统计口径, ``filters.BASES``), everything counted as known at
    ``as_of``."""

    kind: str
    start: dt.date
    end: dt.date
    as_of: dt.datetime
    streets: tuple[str, ...] = ()
    basis: str = DEFAULT_BASIS

    @classmethod
    def for_month(
        cls, year: int, month: int, *, as_of: dt.datetime, streets=(), basis: str = DEFAULT_BASIS
    ) -> Meeting:
        start, end = month_range(year, month)
        return cls("month", start, end, as_of, tuple(streets), basis)

    @classmethod
    def for_quarter(
        cls, year: int, quarter: int, *, as_of: dt.datetime, streets=(), basis: str = DEFAULT_BASIS
    ) -> Meeting:
        start, end = quarter_range(year, quarter)
        return cls("quarter", start, end, as_of, tuple(streets), basis)

    @classmethod
    def default(
        cls, *, now: dt.datetime, streets: Sequence[str] = (), basis: str = DEFAULT_BASIS
    ) -> Meeting:
        """The month before ``now``, frozen at ``now`` (floored to the minute)."""
        as_of = now.replace(second=0, microsecond=0)
        last = as_of.date().replace(day=1) - dt.timedelta(days=1)
        return cls.for_month(last.year, last.month, as_of=as_of, streets=streets, basis=basis)

    @property
    def month(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def quarter(self) -> str:
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    def filter(self) -> Filter:
        """The shared ``Filter`` of this meeting (a custom period, frozen)."""
        return Filter(
            streets=self.streets,
            period="custom",
            start=self.start,
            end=self.end,
            as_of=self.as_of,
            basis=self.basis,
        )

    def window(self) -> Window:
        return self.filter().window()

    def with_streets(self, streets: Sequence[str]) -> Meeting:
        return Meeting(self.kind, self.start, self.end, self.as_of, tuple(streets), self.basis)

    def with_basis(self, basis: str) -> Meeting:
        return Meeting(self.kind, self.start, self.end, self.as_of, self.streets, basis)

    def to_query_params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {"mt_period": self.kind}
        if self.kind == "month":
            params["mt_month"] = self.month
        elif self.kind == "quarter":
            params["mt_quarter"] = self.quarter
        else:
            params["mt_from"], params["mt_to"] = self.start.isoformat(), self.end.isoformat()
        if self.streets:
            params["mt_street"] = list(self.streets)
        params["mt_basis"] = self.basis  # always: a frozen link keeps its 统计口径
        params["mt_as_of"] = self.as_of.isoformat(timespec="minutes")
        return params

    @classmethod
    def from_query_params(
        cls, params: Mapping[str, str | Sequence[str]], *, dropped: list[str] | None = None
    ) -> Meeting | None:
        """Parse the URL; None when it carries no valid meeting (no, a malformed or an
        out-of-range as-of). Keys whose values were unusable are appended to ``dropped``.

        Like ``Filter.from_query_params`` this never raises, and every day and the as-of lie
        within ``url_values.date_bounds``: a shared link with a typo falls back to the
        default meeting (the month before its as-of).
        """
        notes = [] if dropped is None else dropped
        today = now_local().date()
        lo, hi = url_values.date_bounds(today=today)
        first_at, last_at = url_values.time_bounds(today=today)
        as_of = url_values.one_datetime(params.get("mt_as_of"), lo=first_at, hi=last_at)
        if as_of is None:
            if url_values.given(params.get("mt_as_of")):
                notes.append("mt_as_of")
            return None
        streets = url_values.codes(params.get("mt_street"))
        basis = url_values.one_choice(params.get("mt_basis"), BASES) or DEFAULT_BASIS
        kind = url_values.one_choice(params.get("mt_period"), KINDS) or "month"
        years = range(lo.year, hi.year + 1)
        if kind == "month":
            days = _month(url_values.first(params.get("mt_month")), years=years)
        elif kind == "quarter":
            days = _quarter(url_values.first(params.get("mt_quarter")), years=years)
        else:
            start, end = (
                url_values.one_date(params.get(key), lo=lo, hi=hi) for key in ("mt_from", "mt_to")
            )
            days = tuple(sorted((start, end))) if start and end else None
        if days is None or not (lo <= days[0] and days[1] <= hi):
            # as-of given but the period is not: the month before as-of
            period_keys = [k for k in URL_KEYS if k not in ("mt_street", "mt_as_of", "mt_basis")]
            if any(url_values.given(params.get(key)) for key in period_keys):
                notes.append("mt_period")
            return cls.default(now=as_of, streets=streets, basis=basis)
        return cls(kind, days[0], days[1], as_of, streets, basis)


def _month(text: str | None, *, years: range) -> tuple[dt.date, dt.date] | None:
    """First and last day of the month ``YYYY-MM``; None unless it is one in ``years``."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text or "", re.ASCII)
    if not match or int(match[1]) not in years or not 1 <= int(match[2]) <= 12:
        return None
    return month_range(int(match[1]), int(match[2]))


def _quarter(text: str | None, *, years: range) -> tuple[dt.date, dt.date] | None:
    """First and last day of the quarter ``YYYY-Qn``; None unless it is one in ``years``."""
    match = re.fullmatch(r"(\d{4})-?Q([1-4])", (text or "").upper(), re.ASCII)
    if not match or int(match[1]) not in years:
        return None
    return quarter_range(int(match[1]), int(match[2]))


def month_choices(as_of: dt.datetime, n: int = 24) -> list[str]:
    """``YYYY-MM`` of the as-of month and the ``n - 1`` before it, newest first."""
    year, month = as_of.year, as_of.month
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def quarter_choices(as_of: dt.datetime, n: int = 8) -> list[str]:
    year, quarter = as_of.year, (as_of.month - 1) // 3 + 1
    out = []
    for _ in range(n):
        out.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return out


# -- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One number on a slide: display text, numerator/denominator, change, formula."""

    key: str
    label: str
    value: str
    fraction: str | None
    formula: str
    delta: str | None = None
    higher_is_better: bool | None = True
    raw: float | int | None = None
    numerator: float | int | None = None
    denominator: float | int | None = None
    low_volume: bool = False  # 样本少: its change is shown but not coloured good or bad
    change: str | None = None  # the change alone (``delta`` adds the 样本少 marker)


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()  # right-aligned columns
    note: str | None = None
    empty: str = DASH


@dataclass(frozen=True)
class Slide:
    key: str
    number: int
    title: str
    subtitle: str = ""
    figures: tuple[Figure, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Briefing:
    meeting: Meeting
    lang: str
    title: str
    scope_label: str
    period_label: str
    as_of_label: str
    compare_label: str
    basis_label: str
    slides: tuple[Slide, ...]
    file_stem: str
    map_values: pl.DataFrame = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    @property
    def footer(self) -> str:
        """On every slide and page: what the figures are, including the 统计口径."""
        parts = (
            self.title,
            self.scope_label,
            self.period_label,
            self.basis_label,
            self.as_of_label,
        )
        return " · ".join(parts)


def figure(key: str, row: dict, *, lang: str, previous: dict | None = None) -> Figure:
    metric = metric_def(key)
    value = row.get(key)
    if isinstance(value, float) and value != value:
        value = None
    numerator = denominator = fraction = None
    if metric.is_rate and metric.numerator in row:
        numerator, denominator = row.get(metric.numerator), row.get(metric.denominator)
        fraction = format_fraction(numerator, denominator)
    change = delta = None
    if previous is not None and metric.group != "coverage":
        change = delta = format_change(key, value, previous.get(key), lang=lang)
    low_volume = denominator is not None and metrics.low_volume_in(key, row)
    if low_volume:  # 样本少 on the slide itself, and the change stays uncoloured
        marker = text("kpi.low_volume", lang=lang)
        delta = f"{change} · {marker}" if change else marker
    return Figure(
        key=key,
        label=metric_label(key, lang=lang),
        value=format_value(key, value),
        fraction=fraction,
        formula=metric_formula(key, lang=lang),
        delta=delta,
        higher_is_better=None if low_volume else metric.higher_is_better,
        raw=value,
        numerator=numerator,
        denominator=denominator,
        low_volume=low_volume,
        change=change,
    )


def _cut(rows: list[tuple[str, ...]], *, lang: str, unit: str) -> tuple[tuple, str | None]:
    if len(rows) <= MAX_ROWS:
        return tuple(rows), None
    return tuple(rows[:MAX_ROWS]), text(
        "meeting.more", lang=lang, n=len(rows) - MAX_ROWS, unit=unit
    )


def _hours(value) -> str:
    return DASH if value is None else f"{value:,.0f}"


def _rank_change(value) -> str:
    if value is None:
        return DASH
    return f"↑{value}" if value > 0 else f"↓{-value}" if value < 0 else "＝"


# -- slides ----------------------------------------------------------------------------------


def basis_label(basis: str, *, lang: str) -> str:
    """统计口径：按上报时间 / 按考核时间 — stated on every slide, card row and export."""
    return text("basis.stated", lang=lang, basis=text(f"basis.{basis}", lang=lang))


def _compare_label(window: Window, *, lang: str) -> str:
    # the days the comparison really counts: a running period against the same elapsed days
    before = window.previous()
    return text("meeting.headline.compare", lang=lang, start=before.start, end=before.last_day)


def _headline(current: dict, previous: dict, window: Window, *, basis: str, lang: str) -> Slide:
    return Slide(
        key="headline",
        number=1,
        title=text("meeting.slide.headline", lang=lang),
        subtitle=f"{_compare_label(window, lang=lang)} · {basis_label(basis, lang=lang)}",
        figures=tuple(figure(k, current, lang=lang, previous=previous) for k in HEADLINE),
        notes=(
            text("meeting.headline.note", lang=lang),
            text(f"basis.{basis}.note", lang=lang),
            text(
                f"kpi.cases_identity.{basis}",
                lang=lang,
                registered=format_value("registered", current.get("registered")),
                due=format_value("due", current.get("due")),
                in_progress=format_value("in_progress", current.get("in_progress")),
            ),
        ),
    )


def _map_slide(current: dict, by_community: pl.DataFrame, *, lang: str) -> Slide:
    low_volume = metrics.is_low_volume(pl.col("due"))
    rated = by_community.filter(pl.col("closure_rate").is_not_null() & ~low_volume).sort(
        ["closure_rate", "code"]
    )
    rows = [
        (
            r["name"],
            format_value("closure_rate", r["closure_rate"]),
            format_fraction(r["closed"], r["due"]),
            format_value("overdue_open", r["overdue_open"]),
        )
        for r in rated.head(8).iter_rows(named=True)
    ]
    low = by_community.filter(low_volume).height
    threshold = settings.min_denominator()
    table = Table(
        title=text("meeting.map.lowest", lang=lang),
        columns=(
            text("meeting.col.community", lang=lang),
            metric_label("closure_rate", lang=lang),
            text("meeting.col.fraction", lang=lang),
            metric_label("overdue_open", lang=lang),
        ),
        rows=tuple(rows),
        numeric=(False, True, True, True),
        note=text("meeting.map.low_volume", lang=lang, n=low, min=threshold) if low else None,
        empty=text("meeting.map.none_ranked", lang=lang, min=threshold),
    )
    return Slide(
        key="map",
        number=2,
        title=text("meeting.slide.map", lang=lang),
        subtitle=text("meeting.map.subtitle", lang=lang, min=threshold),
        figures=(figure("closure_rate", current, lang=lang),),
        tables=(table,),
    )


def _unit_lists(units: pl.DataFrame, config: ranking.RankingConfig) -> tuple:
    scored = units.with_columns(metrics.composite_score_expr(config.weight_map)).filter(
        pl.col("ranking_score").is_not_null()
        & ~metrics.is_low_volume(pl.col("due"), threshold=config.min_denominator)
    )
    ranked = scored.sort(["ranking_score", "handling_unit"], descending=[True, False])
    top = ranked.head(UNIT_TOP)
    rest = ranked.slice(top.height)
    bottom = rest.tail(min(UNIT_TOP, rest.height)).reverse()
    return top, bottom, units.height - scored.height


def _ranking_slide(board, units: pl.DataFrame, config, *, lang: str) -> Slide:
    columns = (
        text("meeting.col.rank", lang=lang),
        text("meeting.col.community", lang=lang),
        text("meeting.col.score", lang=lang),
        text("meeting.col.change", lang=lang),
        metric_label("closure_rate", lang=lang),
        metric_label("on_time_rate", lang=lang),
    )
    numeric = (True, False, True, True, True, True)

    def community_rows(frame: pl.DataFrame) -> tuple:
        return tuple(
            (
                DASH if r["rank"] is None else str(r["rank"]),
                r["name"],
                format_value("ranking_score", r["ranking_score"]),
                _rank_change(r["rank_change"]),
                format_value("closure_rate", r["closure_rate"]),
                format_value("on_time_rate", r["on_time_rate"]),
            )
            for r in frame.iter_rows(named=True)
        )

    none = text("meeting.ranking.none", lang=lang, n=config.min_denominator)
    red = Table(
        text("meeting.ranking.red", lang=lang, n=config.top_n),
        columns,
        community_rows(board.red),
        numeric,
        empty=none,
    )
    black = Table(
        text("meeting.ranking.black", lang=lang, n=config.top_n),
        columns,
        community_rows(board.black),
        numeric,
        empty=none if board.red.is_empty() else text("meeting.ranking.black_empty", lang=lang),
    )
    top, bottom, unranked = _unit_lists(units, config)
    unit_columns = (
        text("meeting.col.list", lang=lang),
        text("meeting.col.unit", lang=lang),
        text("meeting.col.score", lang=lang),
        metric_label("on_time_rate", lang=lang),
        metric_label("overdue_open", lang=lang),
    )
    unit_rows = [
        (
            text(f"meeting.list.{group}", lang=lang),
            r["handling_unit"],
            format_value("ranking_score", r["ranking_score"]),
            format_value("on_time_rate", r["on_time_rate"]),
            format_value("overdue_open", r["overdue_open"]),
        )
        for group, frame in (("red", top), ("black", bottom))
        for r in frame.iter_rows(named=True)
    ]
    units_table = Table(
        text("meeting.ranking.units", lang=lang, n=UNIT_TOP),
        unit_columns,
        tuple(unit_rows),
        (False, False, True, True, True),
        note=text(
            "meeting.ranking.units_flagged", lang=lang, n=unranked, min=config.min_denominator
        )
        if unranked
        else None,
        empty=none,
    )
    notes = []
    if board.flagged:
        notes.append(text("meeting.ranking.flagged", lang=lang, n=board.flagged))
    weights = "，".join(f"{metric_label(k, lang=lang)} {w:g}" for k, w in config.weights)
    notes.append(text("meeting.ranking.rule", lang=lang, weights=weights, n=config.min_denominator))
    return Slide(
        key="ranking",
        number=3,
        title=text("meeting.slide.ranking", lang=lang),
        tables=(red, black, units_table),
        notes=tuple(notes),
    )


def _overdue_slide(current: dict, overdue: pl.DataFrame, *, lang: str) -> Slide:
    overdue = mask_personal(overdue)  # masked by the query unless allowed; never on a slide
    units = (
        overdue.with_columns(pl.col("handling_unit").fill_null(text("meeting.no_unit", lang=lang)))
        .group_by("handling_unit")
        .agg(
            pl.len().alias("n"),
            pl.col("hours_overdue").max().alias("max_hours"),
            pl.col("hours_overdue").median().alias("median_hours"),
        )
        .sort(["n", "max_hours", "handling_unit"], descending=[True, True, False])
    )
    unit_rows = [
        (r["handling_unit"], f"{r['n']:,}", _hours(r["max_hours"]), _hours(r["median_hours"]))
        for r in units.iter_rows(named=True)
    ]
    rows, note = _cut(unit_rows, lang=lang, unit=text("meeting.unit.units", lang=lang))
    by_unit = Table(
        text("meeting.overdue.by_unit", lang=lang),
        (
            text("meeting.col.unit", lang=lang),
            text("meeting.col.overdue_n", lang=lang),
            text("meeting.col.max_hours", lang=lang),
            text("meeting.col.median_hours", lang=lang),
        ),
        rows,
        (False, True, True, True),
        note=note,
        empty=text("meeting.overdue.none", lang=lang),
    )
    case_rows = [
        (
            r["handling_unit"] or DASH,
            r["case_id"],
            r["grid_name"] or r["community_name"] or DASH,
            code_label("category", r["category"], lang=lang),
            _hours(r["hours_overdue"]),
            r["reporter_name"] or DASH,
            r["reporter_phone"] or DASH,
        )
        for r in overdue.sort(
            ["handling_unit", "hours_overdue"], descending=[False, True], nulls_last=True
        ).iter_rows(named=True)
    ]
    rows, note = _cut(case_rows, lang=lang, unit=text("meeting.unit.cases", lang=lang))
    cases = Table(
        text("meeting.overdue.cases", lang=lang),
        (
            text("meeting.col.unit", lang=lang),
            text("meeting.col.case", lang=lang),
            text("meeting.col.where", lang=lang),
            text("meeting.col.category", lang=lang),
            text("meeting.col.hours_overdue", lang=lang),
            text("meeting.col.reporter", lang=lang),
            text("meeting.col.phone", lang=lang),
        ),
        rows,
        (False, False, False, False, True, False, False),
        note=note,
        empty=text("meeting.overdue.none", lang=lang),
    )
    return Slide(
        key="overdue",
        number=4,
        title=text("meeting.slide.overdue", lang=lang),
        subtitle=text("meeting.overdue.subtitle", lang=lang),
        figures=(figure("overdue_open", current, lang=lang), figure("at_risk", current, lang=lang)),
        tables=(by_unit, cases),
        notes=(text("meeting.privacy", lang=lang),),
    )


def _coverage_slide(
    current: dict, no_ft: pl.DataFrame, no_party: pl.DataFrame, *, lang: str
) -> Slide:
    ft_rows = [
        (r["grid_name"], r["community_name"] or DASH, f"{r['households'] or 0:,}")
        for r in no_ft.iter_rows(named=True)
    ]
    rows, note = _cut(ft_rows, lang=lang, unit=text("meeting.unit.grids", lang=lang))
    ft = Table(
        text("meeting.coverage.no_ft", lang=lang, n=no_ft.height),
        (
            text("meeting.col.grid", lang=lang),
            text("meeting.col.community", lang=lang),
            text("meeting.col.households", lang=lang),
        ),
        rows,
        (False, False, True),
        note=note,
        empty=text("meeting.coverage.no_ft.none", lang=lang),
    )
    party_rows = [
        (
            r["grid_name"],
            r["community_name"] or DASH,
            text(f"meeting.grid_kind.{r['kind']}", lang=lang),
        )
        for r in no_party.iter_rows(named=True)
    ]
    rows, note = _cut(party_rows, lang=lang, unit=text("meeting.unit.grids", lang=lang))
    party = Table(
        text("meeting.coverage.no_party", lang=lang, n=no_party.height),
        (
            text("meeting.col.grid", lang=lang),
            text("meeting.col.community", lang=lang),
            text("meeting.col.kind", lang=lang),
        ),
        rows,
        (False, False, False),
        note=note,
        empty=text("meeting.coverage.no_party.none", lang=lang),
    )
    return Slide(
        key="coverage",
        number=5,
        title=text("meeting.slide.coverage", lang=lang),
        subtitle=text("meeting.coverage.subtitle", lang=lang),
        figures=tuple(figure(k, current, lang=lang) for k in COVERAGE),
        tables=(ft, party),
    )


def _volunteer_slide(
    current: dict, previous: dict, summary: dict, active: pl.DataFrame, *, lang: str
) -> Slide:
    figures = [figure(k, current, lang=lang, previous=previous) for k in VOLUNTEER]
    figures += [figure(k, summary, lang=lang) for k in VOLUNTEER_DETAIL]
    most = active.filter((pl.col("group") == "most") & (pl.col("volunteer_hours") > 0))
    rows = tuple(
        (
            r["name"],
            format_value("volunteer_hours_per_1k", r["volunteer_hours_per_1k"]),
            format_value("volunteer_hours", r["volunteer_hours"]),
            format_value("activities", r["activities"]),
        )
        for r in most.iter_rows(named=True)
    )
    table = Table(
        text("meeting.volunteer.most", lang=lang, n=most.height),
        (
            text("meeting.col.community", lang=lang),
            metric_label("volunteer_hours_per_1k", lang=lang),
            metric_label("volunteer_hours", lang=lang),
            metric_label("activities", lang=lang),
        ),
        rows,
        (False, True, True, True),
        empty=text("meeting.volunteer.none", lang=lang),
    )
    return Slide(
        key="volunteer",
        number=6,
        title=text("meeting.slide.volunteer", lang=lang),
        figures=tuple(figures),
        tables=(table,),
    )


def _notes_slide(
    window: Window, config, *, basis: str, lang: str, scope_label: str, source: str, version: str
) -> Slide:
    keys = list(
        dict.fromkeys(
            [*HEADLINE, "at_risk", *COVERAGE, *VOLUNTEER, *VOLUNTEER_DETAIL, "ranking_score"]
        )
    )
    rows = tuple((metric_label(k, lang=lang), metric_formula(k, lang=lang)) for k in keys)
    before = window.previous()
    notes = (
        text("meeting.notes.scope", lang=lang, scope=scope_label),
        text("meeting.notes.period", lang=lang, start=window.start, end=window.end),
        text(
            "meeting.notes.basis",
            lang=lang,
            basis=text(f"basis.{basis}", lang=lang),
            note=text(f"basis.{basis}.note", lang=lang),
        ),
        text(
            "meeting.notes.as_of",
            lang=lang,
            as_of=window.as_of.isoformat(sep=" ", timespec="minutes"),
        ),
        text(
            "meeting.notes.compare",
            lang=lang,
            start=before.start,
            end=before.last_day,
            as_of=before.as_of.isoformat(sep=" ", timespec="minutes"),
        ),
        text("meeting.notes.source", lang=lang, source=source, version=version),
        text("meeting.notes.rules", lang=lang, n=settings.min_denominator()),
        text("meeting.privacy", lang=lang),
    )
    return Slide(
        key="notes",
        number=7,
        title=text("meeting.slide.notes", lang=lang),
        tables=(
            Table(
                text("meeting.notes.formulas", lang=lang),
                (text("meeting.col.metric", lang=lang), text("meeting.col.formula", lang=lang)),
                rows,
                (False, False),
            ),
        ),
        notes=notes,
    )


def scope_label(ds: Dataset, flt: Filter, scope: Scope, *, lang: str) -> str:
    """The areas the briefing covers: the whole district, or the names of its streets (of its
    communities for a community account) — never an area outside ``scope``."""
    if scope.communities is not None:
        level = "community"
    elif flt.streets or scope.streets is not None:
        level = "street"
    else:
        return text("scope.all", lang=lang)
    names = figures.area_names(ds, flt, scope, level=level)["name"].to_list()
    return "、".join(names) or DASH


def file_stem(meeting: Meeting) -> str:
    """``联席会议简报_<scope>_<period>_asof-<time>`` (safe on Windows and Linux)."""
    scope = "all" if not meeting.streets else "street-" + "+".join(meeting.streets[:3])
    if len(meeting.streets) > 3:
        scope += f"+{len(meeting.streets) - 3}more"
    period = {
        "month": meeting.month,
        "quarter": meeting.quarter,
        "custom": f"{meeting.start:%Y%m%d}-{meeting.end:%Y%m%d}",
    }[meeting.kind]
    return f"gridpulse_briefing_{scope}_{period}_asof-{meeting.as_of:%Y%m%d-%H%M}"


def period_label(meeting: Meeting, *, lang: str) -> str:
    if meeting.kind == "month":
        name = text(
            "meeting.period.month_name",
            lang=lang,
            year=meeting.start.year,
            month=meeting.start.month,
        )
    elif meeting.kind == "quarter":
        name = text(
            "meeting.period.quarter_name",
            lang=lang,
            year=meeting.start.year,
            quarter=(meeting.start.month - 1) // 3 + 1,
        )
    else:
        name = text("meeting.period.custom_name", lang=lang)
    return text("meeting.period.label", lang=lang, name=name, start=meeting.start, end=meeting.end)


def build_briefing(
    ds: Dataset,
    meeting: Meeting,
    scope: Scope,
    *,
    config: ranking.RankingConfig | None = None,
    lang: str = "zh",
) -> Briefing:
    """The seven slides of ``meeting`` — every figure from data_layer.queries, masked."""
    flt = meeting.filter()
    window = meeting.window()
    config = config or ranking.load_ranking_config()
    current = figures.kpis(ds, flt, scope, window=window).row(0, named=True)
    previous = figures.kpis(ds, flt, scope, window=window.previous()).row(0, named=True)
    by_community = figures.kpis(ds, flt, scope, by="community", window=window)
    board = ranking.ranking_board(ds, flt, scope, window=window, config=config)
    units = cases.unit_scorecard(ds, flt, scope, window=window)
    overdue = cases.open_cases(ds, flt, scope, window=window, kind="overdue")
    no_ft = coverage.grids_without_full_time(ds, flt, scope, as_of=window.as_of)
    no_party = coverage.grids_without_party_org(ds, flt, scope, as_of=window.as_of)
    summary = volunteer.volunteer_summary(ds, flt, scope, window=window).row(0, named=True)
    active = volunteer.most_and_least_active(ds, flt, scope, window=window)

    scope_text = scope_label(ds, flt, scope, lang=lang)
    source = str(ds.data_dir.name) if ds.data_dir else "—"
    version = max((stamp for _, stamp, _ in ds.version), default=None) if ds.version else None
    version_text = (
        dt.datetime.fromtimestamp(version / 1e9).isoformat(sep=" ", timespec="seconds")
        if version
        else DASH
    )
    slides = (
        _headline(current, previous, window, basis=meeting.basis, lang=lang),
        _map_slide(current, by_community, lang=lang),
        _ranking_slide(board, units, config, lang=lang),
        _overdue_slide(current, overdue, lang=lang),
        _coverage_slide(current, no_ft, no_party, lang=lang),
        _volunteer_slide(current, previous, summary, active, lang=lang),
        _notes_slide(
            window,
            config,
            basis=meeting.basis,
            lang=lang,
            scope_label=scope_text,
            source=source,
            version=version_text,
        ),
    )
    return Briefing(
        meeting=meeting,
        lang=lang,
        title=text("meeting.title", lang=lang),
        scope_label=scope_text,
        period_label=period_label(meeting, lang=lang),
        as_of_label=text(
            "meeting.as_of", lang=lang, as_of=window.as_of.isoformat(sep=" ", timespec="minutes")
        ),
        compare_label=_compare_label(window, lang=lang),
        basis_label=basis_label(meeting.basis, lang=lang),
        slides=slides,
        file_stem=file_stem(meeting),
        map_values=by_community,
    )
