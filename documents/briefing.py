"""The joint-conference briefing (联席会议): one model for the screen, the PPTX and the PDF.

One ``Briefing`` feeds the screen (pages/meeting.py), the PPTX (``pptx_writer``) and the PDF
(``pdf_writer``), so the three cannot disagree. ``build_briefing`` runs the queries for a
``meeting.Meeting`` and gives their rows to the slide builders of ``slides``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from data_layer.domain.filters import Filter
from data_layer.domain.formatting import DASH
from data_layer.domain.labels import text
from data_layer.domain.scope import Scope
from data_layer.queries import cases, coverage, figures, ranking, volunteer
from data_layer.storage.source import Dataset
from documents.meeting import Meeting, file_stem, period_label
from documents.slides import (
    Slide,
    basis_label,
    compare_label,
    coverage_slide,
    headline_slide,
    map_slide,
    notes_slide,
    overdue_slide,
    ranking_slide,
    volunteer_slide,
)


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
        headline_slide(current, previous, window, basis=meeting.basis, lang=lang),
        map_slide(current, by_community, lang=lang),
        ranking_slide(board, units, config, lang=lang),
        overdue_slide(current, overdue, lang=lang),
        coverage_slide(current, no_ft, no_party, lang=lang),
        volunteer_slide(current, previous, summary, active, lang=lang),
        notes_slide(
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
        compare_label=compare_label(window, lang=lang),
        basis_label=basis_label(meeting.basis, lang=lang),
        slides=slides,
        file_stem=file_stem(meeting),
        map_values=by_community,
    )
