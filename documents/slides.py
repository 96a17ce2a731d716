"""The seven slides of a briefing as data: titles, figures and tables (the model) and one
builder per slide.

Every number is read from the rows ``briefing.build_briefing`` gets from ``figures.kpis`` and
the page-family queries, and formatted by ``formatting.format_value`` / ``format_fraction`` —
the same as ``python -m data_layer kpis``. Personal data leaves this module masked
(``privacy.mask_personal``, even for a role that may see it on screen).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_layer import settings
from data_layer.domain import metrics
from data_layer.domain.filters import Window
from data_layer.domain.formatting import DASH, format_change, format_fraction, format_value
from data_layer.domain.labels import code_label, metric_formula, metric_label, text
from data_layer.domain.metrics import metric_def
from data_layer.domain.privacy import mask_personal
from data_layer.queries import ranking

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


def compare_label(window: Window, *, lang: str) -> str:
    # the days the comparison really counts: a running period against the same elapsed days
    before = window.previous()
    return text("meeting.headline.compare", lang=lang, start=before.start, end=before.last_day)


def headline_slide(
    current: dict, previous: dict, window: Window, *, basis: str, lang: str
) -> Slide:
    return Slide(
        key="headline",
        number=1,
        title=text("meeting.slide.headline", lang=lang),
        subtitle=f"{compare_label(window, lang=lang)} · {basis_label(basis, lang=lang)}",
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


def map_slide(current: dict, by_community: pl.DataFrame, *, lang: str) -> Slide:
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


def _community_table(board, config, *, lang: str) -> tuple[Table, Table]:
    """The red and the black list of communities."""
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
    return red, black


def _unit_table(units: pl.DataFrame, config, *, lang: str) -> Table:
    """The handling units at the top and the bottom, and how many were too small to rank."""
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
    return Table(
        text("meeting.ranking.units", lang=lang, n=UNIT_TOP),
        unit_columns,
        tuple(unit_rows),
        (False, False, True, True, True),
        note=text(
            "meeting.ranking.units_flagged", lang=lang, n=unranked, min=config.min_denominator
        )
        if unranked
        else None,
        empty=text("meeting.ranking.none", lang=lang, n=config.min_denominator),
    )


def ranking_slide(board, units: pl.DataFrame, config, *, lang: str) -> Slide:
    red, black = _community_table(board, config, lang=lang)
    notes = []
    if board.flagged:
        notes.append(text("meeting.ranking.flagged", lang=lang, n=board.flagged))
    weights = "，".join(f"{metric_label(k, lang=lang)} {w:g}" for k, w in config.weights)
    notes.append(text("meeting.ranking.rule", lang=lang, weights=weights, n=config.min_denominator))
    return Slide(
        key="ranking",
        number=3,
        title=text("meeting.slide.ranking", lang=lang),
        tables=(red, black, _unit_table(units, config, lang=lang)),
        notes=tuple(notes),
    )


def overdue_slide(current: dict, overdue: pl.DataFrame, *, lang: str) -> Slide:
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


def _grid_list_table(key: str, grids: pl.DataFrame, *, third: tuple, lang: str) -> Table:
    """A list of grids (name, community, one more column ``third`` = (column label key,
    value of a row, right-aligned)), cut to ``MAX_ROWS`` with a note of the rest."""
    column, value, numeric = third
    rows, note = _cut(
        [
            (r["grid_name"], r["community_name"] or DASH, value(r))
            for r in grids.iter_rows(named=True)
        ],
        lang=lang,
        unit=text("meeting.unit.grids", lang=lang),
    )
    return Table(
        text(key, lang=lang, n=grids.height),
        (
            text("meeting.col.grid", lang=lang),
            text("meeting.col.community", lang=lang),
            text(column, lang=lang),
        ),
        rows,
        (False, False, numeric),
        note=note,
        empty=text(f"{key}.none", lang=lang),
    )


def coverage_slide(
    current: dict, no_ft: pl.DataFrame, no_party: pl.DataFrame, *, lang: str
) -> Slide:
    ft = _grid_list_table(
        "meeting.coverage.no_ft",
        no_ft,
        third=("meeting.col.households", lambda r: f"{r['households'] or 0:,}", True),
        lang=lang,
    )
    party = _grid_list_table(
        "meeting.coverage.no_party",
        no_party,
        third=(
            "meeting.col.kind",
            lambda r: text(f"meeting.grid_kind.{r['kind']}", lang=lang),
            False,
        ),
        lang=lang,
    )
    return Slide(
        key="coverage",
        number=5,
        title=text("meeting.slide.coverage", lang=lang),
        subtitle=text("meeting.coverage.subtitle", lang=lang),
        figures=tuple(figure(k, current, lang=lang) for k in COVERAGE),
        tables=(ft, party),
    )


def volunteer_slide(
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


def notes_slide(
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
