"""Cached loaders, the current filter and the session keys — where pages get data from.

One ``Dataset`` per data version is shared by every viewer (``st.cache_resource``);
query results are cached per (data version, filter, scope, window) with ``st.cache_data``
(here, and for the analytics queries in ``ui.queries``), so a meeting room full of
browsers costs one copy of the data and one query each.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from data_layer import settings
from data_layer.domain import areas
from data_layer.domain.filters import Filter, Window, now_local
from data_layer.domain.scope import Scope
from data_layer.queries import figures, ranking
from data_layer.storage.source import Dataset, open_dataset, signature


class SessionKey:
    """Keys of ``st.session_state`` shared by app.py, ui and pages, one name each.

    A page's own widget keys stay in the page, next to its widgets.
    """

    FILTER = "filter"  # the Filter app.py built for this run
    PENDING_AREAS = "_pending_areas"  # areas a page asked for; app.py applies them on rerun
    SCOPE = "scope"  # the signed-in user's Scope
    LANG = "lang"  # the language switch
    URL_LOADED = "_url_loaded"  # the URL has seeded the filter widgets in this session
    MAP_LEVEL = "map_level"  # the map page's level control; a drill-down click sets it
    # the shared filter's sidebar widgets
    STREETS = "f_streets"
    COMMUNITIES = "f_communities"
    PERIOD = "f_period"
    RANGE = "f_range"
    CATEGORIES = "f_categories"
    SOURCES = "f_sources"
    AS_OF = "f_as_of"


def refresh_interval(flt: Filter) -> dt.timedelta | None:
    """How often live figures refresh: ``GRIDPULSE_REFRESH_SECONDS`` (default 60, 0 = off).

    A frozen view (``as_of`` set, e.g. a meeting) never refreshes.
    """
    if flt.as_of is not None:
        return None
    seconds = settings.refresh_seconds()
    return dt.timedelta(seconds=seconds) if seconds > 0 else None


@st.cache_resource(show_spinner=False, max_entries=2)
def _load_dataset(data_dir: str, version: tuple) -> Dataset:
    return open_dataset(data_dir)


@st.cache_resource(show_spinner=False)
def _live_source(url: str):
    from data_layer.storage.live import LiveSource  # ADBC loads only for the live source

    return LiveSource(url)


def dataset() -> Dataset:
    """The current dataset: the live database's working set when ``GRIDPULSE_DATABASE_URL`` is
    set (pulled again every few seconds), else the data directory, re-read once (for everybody)
    when a table file changes."""
    url = settings.database_url()
    if url:
        return _live_source(url).dataset()
    data_dir = settings.data_dir()
    return _load_dataset(str(data_dir), signature(data_dir))


def live_banner() -> None:
    """While the live database cannot be read: a warning saying how old the data shown is."""
    url = settings.database_url()
    status = _live_source(url).status() if url else None
    if status is not None and status.stale:
        from ui.i18n import t  # ui.i18n imports this module

        read_at = status.read_at.astimezone(settings.TIMEZONE)
        minutes = int(status.age().total_seconds() // 60)
        st.warning(t("live.stale", minutes=minutes, time=f"{read_at:%H:%M:%S}"), icon="⚠️")


def live_now() -> dt.datetime:
    """Live as-of: now, floored to the minute so viewers within a minute share results."""
    return now_local().replace(second=0)


def scope() -> Scope:
    return st.session_state.get(SessionKey.SCOPE, Scope.everything())


def current_filter() -> Filter:
    """The shared filter app.py set for this run.

    Missing only when Streamlit ran a page file without app.py: with a ``pages/`` folder
    next to the entry point, the first run after the server starts may take the old
    folder-based navigation and run e.g. pages/map.py for ``/map`` directly (DESIGN §5).
    Switch that mode off for the process and rerun, so app.py and st.navigation take over.
    """
    if SessionKey.FILTER not in st.session_state:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
    return st.session_state[SessionKey.FILTER]


def window(flt: Filter) -> Window:
    return flt.window(now=live_now())


@st.cache_data(show_spinner=False, max_entries=512)
def _kpis(version: tuple, flt: Filter, scope_: Scope, by: str | None, win: Window) -> pl.DataFrame:
    return figures.kpis(dataset(), flt, scope_, by=by, window=win)


def kpis(flt: Filter, *, by: str | None = None, win: Window | None = None) -> pl.DataFrame:
    """Metrics for the filter (one row, or one row per area of ``by``)."""
    ds = dataset()
    return _kpis(ds.version, flt, scope(), by, win or window(flt))


def headline_pair(flt: Filter) -> tuple[dict, dict, Window]:
    """The KPI row now and for the previous period of equal length, and the window."""
    win = window(flt)
    current = kpis(flt, win=win).row(0, named=True)
    previous = kpis(flt, win=win.previous()).row(0, named=True)
    return current, previous, win


@st.cache_data(show_spinner=False, max_entries=64)
def _street_options(version: tuple, scope_: Scope) -> pl.DataFrame:
    return figures.street_options(dataset(), scope_)


@st.cache_data(show_spinner=False, max_entries=256)
def _community_options(version: tuple, scope_: Scope, streets: tuple[str, ...]) -> pl.DataFrame:
    return figures.community_options(dataset(), scope_, streets=streets)


def street_options() -> dict[str, str]:
    """code → name of the streets the user may pick."""
    frame = _street_options(dataset().version, scope())
    return dict(zip(frame["code"], frame["name"], strict=True))


def community_options(streets: tuple[str, ...]) -> dict[str, str]:
    frame = _community_options(dataset().version, scope(), streets)
    return dict(zip(frame["code"], frame["name"], strict=True))


def ranking_config() -> ranking.RankingConfig:
    """The ranking settings, read from assets/ranking.toml on every run (edit, reload)."""
    return ranking.load_ranking_config()


def request_areas(*, streets: tuple[str, ...], communities: tuple[str, ...]) -> None:
    """Change the shared filter's areas from a page (a map click, a breadcrumb) and rerun.

    The sidebar widgets already exist in this run, so their values cannot be set here;
    app.py applies the request before it draws them on the rerun.
    """
    st.session_state[SessionKey.PENDING_AREAS] = (tuple(streets), tuple(communities))
    st.rerun(scope="app")


@st.cache_data(show_spinner=False, max_entries=256)
def _case_points(
    version: tuple, flt: Filter, scope_: Scope, win: Window, since: dt.datetime | None
) -> pl.DataFrame:
    return figures.case_points(dataset(), flt, scope_, window=win, since=since)


def case_points(flt: Filter, *, win: Window, since: dt.datetime | None) -> pl.DataFrame:
    return _case_points(dataset().version, flt, scope(), win, since)


@st.cache_data(show_spinner=False, max_entries=64)
def _area_counts(version: tuple, flt: Filter, scope_: Scope) -> dict[str, int]:
    ds = dataset()
    return {
        level: figures.area_names(ds, flt, scope_, level=level).height for level in areas.LEVELS
    }


def area_counts(flt: Filter) -> dict[str, int]:
    """How many streets, communities and grids the filter covers (for the map's level of detail)."""
    return _area_counts(dataset().version, flt, scope())


@st.cache_data(show_spinner=False, max_entries=8)
def _area_names(version: tuple) -> dict[str, str]:
    ds = dataset()
    names: dict[str, str] = {}
    for level in areas.LEVELS:
        table, key = areas.TABLE[level], areas.KEY[level]
        names.update(zip(ds[table][key].to_list(), ds[table]["name"].to_list(), strict=True))
    return names


def area_names() -> dict[str, str]:
    """code → name of every street, community and grid."""
    return _area_names(dataset().version)


# -- meeting mode (documents.briefing): one model for the screen, the PPTX and the PDF -------


@st.cache_data(show_spinner=False, max_entries=32)
def _briefing(version: tuple, meeting, scope_: Scope, config, lang: str):
    from documents import briefing

    return briefing.build_briefing(dataset(), meeting, scope_, config=config, lang=lang)


def briefing(meeting, *, lang: str):
    """The seven slides of a frozen ``briefing.Meeting`` (cached per data version)."""
    return _briefing(dataset().version, meeting, scope(), ranking_config(), lang)


@st.cache_data(show_spinner=False, max_entries=32)
def _briefing_map(version: tuple, meeting, scope_: Scope, config, lang: str) -> bytes:
    from documents.static_map import choropleth_png

    model = _briefing(version, meeting, scope_, config, lang)
    return choropleth_png(dataset(), model.map_values, metric="closure_rate", lang=lang)


def briefing_map(meeting, *, lang: str) -> bytes:
    """The closure-rate map of the briefing as a PNG (the same picture on screen and paper)."""
    return _briefing_map(dataset().version, meeting, scope(), ranking_config(), lang)


@st.cache_data(show_spinner=False, max_entries=16)
def _briefing_file(version: tuple, meeting, scope_: Scope, config, lang: str, fmt: str) -> bytes:
    from documents import pdf_writer, pptx_writer

    model = _briefing(version, meeting, scope_, config, lang)
    png = _briefing_map(version, meeting, scope_, config, lang)
    writer = pptx_writer.pptx_bytes if fmt == "pptx" else pdf_writer.pdf_bytes
    return writer(model, map_png=png)


def briefing_file(meeting, *, lang: str, fmt: str) -> bytes:
    """The briefing as ``pptx`` or ``pdf`` bytes."""
    if fmt not in ("pptx", "pdf"):
        raise ValueError(f"fmt must be 'pptx' or 'pdf', got {fmt!r}")
    return _briefing_file(dataset().version, meeting, scope(), ranking_config(), lang, fmt)
