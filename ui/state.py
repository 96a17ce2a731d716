"""Cached loaders, the current filter, the signed-in user and the session keys — where pages
get data from.

One ``Dataset`` per data version is shared by every viewer (``st.cache_resource``);
query results are cached per (data version, filter, scope, window) with ``st.cache_data``
(here, and for the analytics queries in ``ui.queries``), so a meeting room full of
browsers costs one copy of the data and one query each. The scope is the signed-in user's
(``scope_for``) and an argument of every cached query, so two users never share a result.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from data_layer import settings
from data_layer.auth.roles import Role, User, scope_for
from data_layer.auth.sessions import session_expired
from data_layer.domain import areas
from data_layer.domain.filters import Filter, Window, now_local
from data_layer.domain.scope import Scope
from data_layer.queries import case_index, figures, history, ranking
from data_layer.storage.source import DataError, Dataset, open_dataset, signature
from ui import activity

log = logging.getLogger("gridpulse")


class SessionKey:
    """Keys of ``st.session_state`` shared by app.py, ui and pages, one name each.

    A page's own widget keys stay in the page, next to its widgets.
    """

    FILTER = "filter"  # the Filter app.py built for this run
    PENDING_AREAS = "_pending_areas"  # areas a page asked for; app.py applies them on rerun
    USER = "_user"  # the signed-in data_layer.auth.roles.User (ui.signin sets it)
    LAST_SEEN = "_last_seen"  # UTC time of the session's last full run (the idle timeout)
    PENDING_PERIOD = "_pending_period"  # a period a page asked for (the latest month with data)
    OPENED_ON_DATA = "_opened_on_data"  # the first view moved off an empty default period
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
    BASIS = "f_basis"
    AS_OF = "f_as_of"
    # the URL named no period: a first view may open on the latest month with data instead
    PERIOD_DEFAULTED = "_period_defaulted"


def resend_choices() -> None:
    """Callback of the language switch: write every choice widget's value back to itself.

    Streamlit sends a select box's, radio's or multiselect's value between browser and
    server as its *label* (``format_func``), not its code. After a language switch the
    browser still holds the old language's label (自定义), which the next run (a page
    change) cannot match to an English option, so the widget fell back to its first option
    (a custom period became "This month"). Writing the values back makes the server send
    them to the browser again, labelled in the new language. Only plain values (text,
    dates, lists of them) are written: buttons, uploads and editors keep theirs.
    """
    for key in list(st.session_state.keys()):
        if key.startswith("_") or key == SessionKey.LANG:
            continue
        value = st.session_state[key]
        if isinstance(value, bool | int | float) or not _plain_choice(value):
            continue
        st.session_state[key] = value


def _plain_choice(value: object) -> bool:
    if isinstance(value, str | dt.date):
        return True
    return isinstance(value, list | tuple) and all(
        isinstance(v, str | dt.date | int) and not isinstance(v, bool) for v in value
    )


def refresh_interval(flt: Filter) -> dt.timedelta | None:
    """How often live figures refresh: ``GRIDPULSE_REFRESH_SECONDS`` (default 60, 0 = off).

    A frozen view (``as_of`` set, e.g. a meeting) never refreshes.
    """
    if flt.as_of is not None:
        return None
    seconds = settings.refresh_seconds()
    return dt.timedelta(seconds=seconds) if seconds > 0 else None


@contextlib.contextmanager
def working(key: str) -> Iterator[None]:
    """A spinner naming the work (``key``: a ``spinner.*`` string), shown once the work has
    taken 0.5 s. Put it around the body of a cached function, so it costs nothing on a hit
    and shows on the misses that can take over a second (a province read, a cold query)."""
    from ui.i18n import t  # ui.i18n imports this module

    if get_script_run_ctx(suppress_warning=True) is None:  # the preload: nobody to show it to
        yield
        return
    with st.spinner(t(key)):
        yield


@st.cache_resource(show_spinner=False, max_entries=2)
def _load_dataset(data_dir: str, version: tuple) -> Dataset:
    with working("spinner.dataset"):
        ds = open_dataset(data_dir, serving=True)
    # a large data directory gets its settled history built behind the pages, when no
    # page is running
    history.serve(ds, background=True, idle=activity.idle)
    return ds


def preload() -> None:
    """On the process's first script run (a sign-in page), start reading the data directory,
    building its case index and simplifying the map's geometry in a thread, so that the
    first signed-in page finds them (at province: 2-7 s of reading, 1-1.5 s of sorting,
    0.5-1 s of geometry; issue #16). A run that needs the
    dataset meanwhile waits for this read (``st.cache_resource`` computes a key once)."""
    if not settings.database_url():  # the live source pulls on its own
        _preloader(str(settings.data_dir()))


@st.cache_resource(show_spinner=False)
def _preloader(data_dir: str) -> threading.Thread:
    thread = threading.Thread(
        target=_preload, args=(data_dir,), name="preload-dataset", daemon=True
    )
    thread.start()
    return thread


def _preload(data_dir: str) -> None:
    from ui.map_view import warm_geometry  # ui.map_view imports this module

    try:
        ds = _load_dataset(data_dir, signature(Path(data_dir)))
        case_index.case_index(ds)
        warm_geometry(ds)
    except DataError:  # the first page says what is wrong
        return
    except Exception:  # never take the server down; the page will try again
        log.exception("preloading the data directory failed")


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
        ds = _live_source(url).dataset()
        # each pull's version follows the previous one's settled history (history_follow)
        history.serve(ds, background=True, idle=activity.idle)
        return ds
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


# What a session without a signed-in user may see: nothing.
NO_ACCESS = Scope(streets=frozenset(), communities=frozenset(), may_export=False)


def user() -> User | None:
    """The signed-in user of this session (None before sign-in)."""
    return st.session_state.get(SessionKey.USER)


def idle_expired(signed_in: User, *, now: dt.datetime | None = None) -> bool:
    """Whether the session of ``signed_in`` passed the idle timeout (``settings.idle_minutes``).

    A wall display (``screen``) is exempt: nobody touches it, its pages refresh themselves,
    and it can neither download nor import (see docs/security.md).
    """
    last = st.session_state.get(SessionKey.LAST_SEEN)
    if signed_in.role is Role.SCREEN or last is None:
        return False
    now = now or dt.datetime.now(dt.UTC)
    return session_expired(last, now, idle_minutes=settings.idle_minutes())


def scope() -> Scope:
    """The signed-in user's Scope; ``NO_ACCESS`` without one.

    A page part that refreshes by itself (a fragment) does not pass the sign-in gate in
    app.py, so the idle timeout is checked here too: an expired session reruns the whole
    app, which shows the sign-in page instead of fresh figures.
    """
    signed_in = user()
    if signed_in is None:
        return NO_ACCESS
    if idle_expired(signed_in):
        st.rerun(scope="app")
    return scope_for(signed_in)


def run_app_first() -> None:
    """Rerun through app.py when Streamlit ran a page file without it.

    With a ``pages/`` folder next to the entry point, the first run after the server starts
    may take the old folder-based navigation and run e.g. pages/map.py for ``/map`` directly
    (DESIGN §5), past the sign-in gate. Switch that mode off for the process and rerun, so
    app.py and st.navigation take over.
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False
    st.rerun()


def current_filter() -> Filter:
    """The shared filter app.py set for this run (missing only when a page file ran without
    app.py: then ``run_app_first``)."""
    if SessionKey.FILTER not in st.session_state:
        run_app_first()
    return st.session_state[SessionKey.FILTER]


def window(flt: Filter) -> Window:
    return flt.window(now=live_now())


# Results keyed by the data version are dead once a new version comes (a live feed writes
# one every few seconds): they expire after LIVE_TTL instead of piling up to max_entries
# (the soak's RSS grew with them, issue #16). Live figures are recomputed every minute
# anyway (as_of moves on); a frozen view recomputes once per LIVE_TTL.
LIVE_TTL = dt.timedelta(minutes=10)


@st.cache_data(show_spinner=False, max_entries=512, ttl=LIVE_TTL)
def _kpis(version: tuple, flt: Filter, scope_: Scope, by: str | None, win: Window) -> pl.DataFrame:
    with working("spinner.figures"):
        return figures.kpis(dataset(), flt, scope_, by=by, window=win)


# the KPI frames a few pages and filters ask for (current, previous, by area) stay unpickled
KPIS_KEPT = 32


def kpis(flt: Filter, *, by: str | None = None, win: Window | None = None) -> pl.DataFrame:
    """Metrics for the filter (one row, or one row per area of ``by``). A warm call hands out
    the same frame (``ui.cached.recent``: no unpickling, and the map's and tables' rows built
    from it are kept with it); never change it."""
    from ui import cached  # ui.cached imports this module

    key = (dataset().version, flt, scope(), by, win or window(flt))
    return cached.recent("state.kpis", key, _kpis, size=KPIS_KEPT)


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


@st.cache_data(show_spinner=False, max_entries=256)
def _latest_month(
    version: tuple, flt: Filter, scope_: Scope, as_of: dt.datetime
) -> tuple[dt.date, dt.date] | None:
    return figures.latest_month_with_cases(dataset(), flt, scope_, as_of=as_of)


def latest_month_with_cases(flt: Filter, *, win: Window) -> tuple[dt.date, dt.date] | None:
    """The latest month with cases for the filter's areas, categories, sources and basis."""
    return _latest_month(dataset().version, flt, scope(), win.as_of)


def request_period(*, start: dt.date, end: dt.date) -> None:
    """Change the shared filter's period to ``start``..``end`` from a page and rerun
    (app.py applies it before it draws the sidebar, like ``request_areas``)."""
    st.session_state[SessionKey.PENDING_PERIOD] = (start, end)
    st.rerun(scope="app")


def request_areas(*, streets: tuple[str, ...], communities: tuple[str, ...]) -> None:
    """Change the shared filter's areas from a page (a map click, a breadcrumb) and rerun.

    The sidebar widgets already exist in this run, so their values cannot be set here;
    app.py applies the request before it draws them on the rerun.
    """
    st.session_state[SessionKey.PENDING_AREAS] = (tuple(streets), tuple(communities))
    st.rerun(scope="app")


@st.cache_data(show_spinner=False, max_entries=256, ttl=LIVE_TTL)
def _case_points(
    version: tuple, flt: Filter, scope_: Scope, win: Window, since: dt.datetime | None
) -> pl.DataFrame:
    with working("spinner.case_points"):
        return figures.case_points(dataset(), flt, scope_, window=win, since=since)


def case_points(flt: Filter, *, win: Window, since: dt.datetime | None) -> pl.DataFrame:
    return _case_points(dataset().version, flt, scope(), win, since)


@st.cache_data(show_spinner=False, max_entries=64, ttl=LIVE_TTL)
def _area_counts(version: tuple, flt: Filter, scope_: Scope) -> dict[str, int]:
    ds = dataset()
    return {
        level: figures.area_names(ds, flt, scope_, level=level).height for level in areas.LEVELS
    }


def area_counts(flt: Filter) -> dict[str, int]:
    """How many streets, communities and grids the filter covers (for the map's level of detail)."""
    return _area_counts(dataset().version, flt, scope())


@st.cache_data(show_spinner=False, max_entries=64)
def _area_names(version: tuple, scope_: Scope) -> dict[str, str]:
    ds = dataset()
    names: dict[str, str] = {}
    for level in areas.LEVELS:
        frame = figures.area_names(ds, Filter(), scope_, level=level)
        names.update(zip(frame["code"].to_list(), frame["name"].to_list(), strict=True))
    return names


def area_names() -> dict[str, str]:
    """code → name of every street, community and grid in the user's scope (a code from
    elsewhere, e.g. in a crafted link, has no name here)."""
    return _area_names(dataset().version, scope())


def outside_scope(codes: list[str]) -> list[str]:
    """The area codes of ``codes`` that are not in the user's scope (or do not exist: the
    two look the same, so a link cannot probe which codes exist elsewhere)."""
    known = area_names()
    return [code for code in dict.fromkeys(codes) if code not in known]


def scoped_meeting(meeting):
    """``meeting`` with its streets cut to the user's scope; none left: the whole scope."""
    allowed = street_options()
    return meeting.with_streets([s for s in meeting.streets if s in allowed])


# -- meeting mode (documents.briefing): one model for the screen, the PPTX and the PDF -------


BRIEFING_MAP_METRIC = "closure_rate"


@st.cache_data(show_spinner=False, max_entries=32)
def _briefing(version: tuple, meeting, scope_: Scope, config, lang: str):
    from documents import briefing

    with working("spinner.briefing"):
        return briefing.build_briefing(dataset(), meeting, scope_, config=config, lang=lang)


def briefing(meeting, *, lang: str):
    """The seven slides of a frozen ``meeting.Meeting`` (cached per data version)."""
    return _briefing(dataset().version, scoped_meeting(meeting), scope(), ranking_config(), lang)


def _briefing_map(version: tuple, meeting, scope_: Scope, config, lang: str) -> bytes:
    """The briefing's map PNG, from the cache of pictures: keyed by what it shows (the
    communities, names, class colours, legend, language, size) and the boundary version,
    not by the meeting, so another meeting, as-of or viewer with the same picture reuses it
    (the meeting page and both files show the same bytes)."""
    from documents import static_map
    from ui.map_view import geometry_version

    model = _briefing(version, meeting, scope_, config, lang)
    ds = dataset()
    picture = static_map.picture(ds, model.map_values, metric=BRIEFING_MAP_METRIC, lang=lang)
    return _map_png(geometry_version(ds), picture, model.map_values)


@st.cache_data(show_spinner=False, max_entries=32)
def _map_png(geometry_version: tuple, picture, _values: pl.DataFrame) -> bytes:
    """``static_map.choropleth_png`` of ``_values`` (not hashed: ``picture`` is what it
    draws of them), once per picture and boundary version for every viewer."""
    from documents import static_map

    with working("spinner.briefing_map"):
        return static_map.choropleth_png(
            dataset(),
            _values,
            metric=picture.metric,
            lang=picture.lang,
            width_in=picture.size[0],
            height_in=picture.size[1],
            dpi=picture.size[2],
            geometry_version=geometry_version,
        )


def briefing_map(meeting, *, lang: str) -> bytes:
    """The closure-rate map of the briefing as a PNG (the same picture on screen and paper)."""
    meeting = scoped_meeting(meeting)
    return _briefing_map(dataset().version, meeting, scope(), ranking_config(), lang)


@st.cache_data(show_spinner=False, max_entries=16)
def _briefing_file(version: tuple, meeting, scope_: Scope, config, lang: str, fmt: str) -> bytes:
    from documents import pdf_writer, pptx_writer

    model = _briefing(version, meeting, scope_, config, lang)
    png = _briefing_map(version, meeting, scope_, config, lang)
    writer = pptx_writer.pptx_bytes if fmt == "pptx" else pdf_writer.pdf_bytes
    return writer(model, map_png=png)


def briefing_file(meeting, *, lang: str, fmt: str) -> Callable[[], bytes]:
    """Build the briefing as ``pptx`` or ``pdf`` bytes when called — for
    ``st.download_button(data=...)``, which calls it only when the file is asked for.

    Streamlit runs the call on a thread of its own, outside this session, so the data
    version, scope and ranking settings are taken now (the file matches the page shown).

    Raises
    ------
    PermissionError
        The user may not take files away (a wall display), even if a page asks.
    """
    if fmt not in ("pptx", "pdf"):
        raise ValueError(f"fmt must be 'pptx' or 'pdf', got {fmt!r}")
    scope_ = scope()
    if not scope_.may_export:
        raise PermissionError("this account may not download files")
    args = (dataset().version, scoped_meeting(meeting), scope_, ranking_config(), lang, fmt)
    return lambda: _briefing_file(*args)
