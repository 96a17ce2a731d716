"""GridPulse 网格治理驾驶舱 — entry point: page config, the one shared filter, navigation."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from pathlib import Path

import streamlit as st

from data_layer.domain.filters import PERIODS, Filter
from data_layer.domain.labels import LANGS
from data_layer.domain.schema import CATEGORIES, SOURCES
from data_layer.storage.source import DataError
from ui import state
from ui.i18n import code_label, t
from ui.state import SessionKey

log = logging.getLogger("gridpulse")
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"

# The menu: group → (file, title key, icon, URL path); the default page has no URL path.
PAGES = {
    "nav.group.dashboard": [
        ("pages/overview.py", "nav.overview", ":material/dashboard:", ""),
        ("pages/map.py", "nav.map", ":material/map:", "map"),
    ],
    "nav.group.meeting": [
        ("pages/meeting.py", "nav.meeting", ":material/co_present:", "meeting"),
    ],
    "nav.group.analysis": [
        ("pages/cases.py", "nav.cases", ":material/task_alt:", "cases"),
        ("pages/coverage.py", "nav.coverage", ":material/grid_on:", "coverage"),
        ("pages/volunteer.py", "nav.volunteer", ":material/volunteer_activism:", "volunteer"),
        ("pages/ranking.py", "nav.ranking", ":material/leaderboard:", "ranking"),
    ],
    "nav.group.data": [
        ("pages/import_data.py", "import.nav", ":material/upload_file:", "import"),
    ],
}

PAGE_FILES = {url_path: path for pages in PAGES.values() for path, _, _, url_path in pages}

# Pages that work without a readable data directory (a first import fills it).
WITHOUT_DATA = ("import",)

LANG_PARAM = "lang"  # the URL key this file owns beside the filter's (FilterParam)


def page_url_keys(path: str) -> tuple[str, ...]:
    """The URL keys the page at ``path`` keeps for itself: its module's ``URL_KEYS``.

    Importing a page runs its top level only (the body runs when ``__name__`` is
    ``"__main__"``, as under st.navigation), so the keys are known before the page runs.
    """
    return importlib.import_module(path.removesuffix(".py").replace("/", ".")).URL_KEYS


def load_url_once() -> None:
    """On a session's first run, seed the filter widgets from the URL (shared links)."""
    if st.session_state.get(SessionKey.URL_LOADED):
        return
    params = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
    flt = Filter.from_query_params(params)
    lang = (params.get(LANG_PARAM) or ["zh"])[0]
    st.session_state.update(
        {
            SessionKey.LANG: lang if lang in LANGS else "zh",
            SessionKey.STREETS: list(flt.streets),
            SessionKey.COMMUNITIES: list(flt.communities),
            SessionKey.PERIOD: flt.period,
            SessionKey.RANGE: (flt.start, flt.end) if flt.period == "custom" else (),
            SessionKey.CATEGORIES: list(flt.categories),
            SessionKey.SOURCES: list(flt.sources),
            SessionKey.AS_OF: flt.as_of,
            SessionKey.URL_LOADED: True,
        }
    )


def keep_known(key: str, options: list[str]) -> None:
    """Drop selections that are no longer options (e.g. a community of an unchosen street)."""
    st.session_state[key] = [v for v in st.session_state.get(key, []) if v in options]


def reset_filter() -> None:
    for key in (
        SessionKey.STREETS,
        SessionKey.COMMUNITIES,
        SessionKey.CATEGORIES,
        SessionKey.SOURCES,
    ):
        st.session_state[key] = []
    st.session_state[SessionKey.PERIOD] = "this_month"
    st.session_state[SessionKey.RANGE] = ()
    st.session_state[SessionKey.AS_OF] = None


def filter_sidebar() -> Filter:
    """The one shared filter: street → community, period, category, source."""
    pending = st.session_state.pop(SessionKey.PENDING_AREAS, None)
    if pending is not None:  # a page asked for other areas (map click, breadcrumb)
        st.session_state[SessionKey.STREETS] = list(pending[0])
        st.session_state[SessionKey.COMMUNITIES] = list(pending[1])
    with st.sidebar:
        st.radio(
            t("lang.label"),
            LANGS,
            key=SessionKey.LANG,
            horizontal=True,
            format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        )
        st.header(t("filter.header"))
        streets = state.street_options()
        keep_known(SessionKey.STREETS, list(streets))
        chosen_streets = st.multiselect(
            t("filter.street"),
            list(streets),
            key=SessionKey.STREETS,
            format_func=streets.get,
            placeholder=t("filter.all"),
        )
        communities = state.community_options(tuple(chosen_streets))
        keep_known(SessionKey.COMMUNITIES, list(communities))
        chosen_communities = st.multiselect(
            t("filter.community"),
            list(communities),
            key=SessionKey.COMMUNITIES,
            format_func=communities.get,
            placeholder=t("filter.all"),
        )
        period = st.selectbox(
            t("filter.period"),
            PERIODS,
            key=SessionKey.PERIOD,
            format_func=lambda p: t(f"period.{p}"),
        )
        start = end = None
        if period == "custom":
            today = state.live_now().date()
            if len(st.session_state.get(SessionKey.RANGE) or ()) != 2:
                st.session_state[SessionKey.RANGE] = (today.replace(day=1), today)
            picked = st.date_input(
                t("filter.range"), key=SessionKey.RANGE, max_value=today + dt.timedelta(days=366)
            )
            if isinstance(picked, tuple | list) and len(picked) == 2:
                start, end = picked
        keep_known(SessionKey.CATEGORIES, list(CATEGORIES))
        categories = st.multiselect(
            t("filter.category"),
            CATEGORIES,
            key=SessionKey.CATEGORIES,
            format_func=lambda c: code_label("category", c),
            placeholder=t("filter.all"),
        )
        keep_known(SessionKey.SOURCES, list(SOURCES))
        sources = st.multiselect(
            t("filter.source"),
            SOURCES,
            key=SessionKey.SOURCES,
            format_func=lambda c: code_label("source", c),
            placeholder=t("filter.all"),
        )
        as_of = st.session_state.get(SessionKey.AS_OF)
        if as_of:
            st.info(t("filter.as_of_frozen", as_of=as_of.isoformat(sep=" ", timespec="minutes")))
        st.button(t("filter.reset"), on_click=reset_filter)
    if period == "custom" and not (start and end):
        period = "this_month"  # half-picked range: keep the page usable until both ends are set
    return Filter(
        streets=tuple(chosen_streets),
        communities=tuple(chosen_communities),
        period=period,
        start=start,
        end=end,
        categories=tuple(categories),
        sources=tuple(sources),
        as_of=as_of,
    )


def write_url(flt: Filter, *, page_keys: tuple[str, ...]) -> None:
    """Mirror the filter into the URL so reload keeps it and a copied link reproduces it.

    The keys of the page being shown (``page_keys``) are kept for the page to manage; keys
    of other pages are dropped.
    """
    params: dict[str, str | list[str]] = {
        key: st.query_params.get_all(key) for key in st.query_params.keys() if key in page_keys
    }
    params.update(flt.to_query_params())
    if st.session_state.get(SessionKey.LANG, "zh") != "zh":
        params[LANG_PARAM] = st.session_state[SessionKey.LANG]
    current = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
    wanted = {key: value if isinstance(value, list) else [value] for key, value in params.items()}
    if current != wanted:
        st.query_params.from_dict(params)


def main() -> None:
    st.set_page_config(page_title="GridPulse 网格治理驾驶舱", page_icon=str(ICON), layout="wide")
    load_url_once()
    try:
        state.dataset()
        data_error = None
    except DataError as exc:
        data_error = exc
    if data_error is None:
        flt = filter_sidebar()
        st.session_state[SessionKey.FILTER] = flt
    page = st.navigation(
        {
            t(group): [
                st.Page(path, title=t(title), icon=icon, url_path=url_path, default=not url_path)
                for path, title, icon, url_path in pages
            ]
            for group, pages in PAGES.items()
        }
    )
    if data_error is not None and page.url_path not in WITHOUT_DATA:
        st.title(t("app.title"))
        st.error(f"**{t('error.data')}**\n\n{data_error}\n\n{t('error.data.fix')}")
        st.stop()
    if data_error is None:
        write_url(flt, page_keys=page_url_keys(PAGE_FILES[page.url_path]))
    state.live_banner()
    try:
        page.run()
    except Exception:  # a page bug must not put a traceback in front of a district leader
        log.exception("page %s failed", page.title)
        st.error(t("error.page"))


main()
