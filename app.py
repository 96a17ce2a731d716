"""GridPulse 网格治理驾驶舱 — entry point: page config, sign-in, the one shared filter,
navigation per role."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from pathlib import Path

import streamlit as st

from data_layer.auth.roles import User
from data_layer.domain.filters import (
    BASES,
    DEFAULT_BASIS,
    DEFAULT_PERIOD,
    PERIODS,
    Filter,
    FilterParam,
)
from data_layer.domain.labels import LANGS
from data_layer.domain.schema import CATEGORIES, SOURCES
from data_layer.storage.source import DataError
from ui import activity, signin, state, style
from ui.errors import show_error
from ui.i18n import code_label, t
from ui.map_view import GRID_PARAM
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
        ("pages/audit.py", "audit.nav", ":material/policy:", "audit"),
    ],
}
# Pages only some roles may open; for the others their URL shows "not allowed".
RESTRICTED = {"import": signin.may_import, "audit": signin.may_read_audit}
# URL keys that carry area codes (a link with codes outside the scope gets a warning).
AREA_KEYS = (FilterParam.STREET, FilterParam.COMMUNITY, GRID_PARAM, "mt_street")

PAGE_FILES = {url_path: path for pages in PAGES.values() for path, _, _, url_path in pages}

# Pages that work without a readable data directory (a first import fills it).
WITHOUT_DATA = ("import",)
# Pages with controls of their own instead of the shared filter (the meeting's are frozen):
# the sidebar does not show a filter that would look as if it applied.
WITHOUT_FILTER = ("meeting",)
# Session keys of the shared filter's widgets (kept while a page does not draw them).
FILTER_KEYS = (
    SessionKey.STREETS,
    SessionKey.COMMUNITIES,
    SessionKey.PERIOD,
    SessionKey.RANGE,
    SessionKey.CATEGORIES,
    SessionKey.SOURCES,
    SessionKey.BASIS,
)

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
    dropped: list[str] = []
    flt = Filter.from_query_params(params, dropped=dropped)
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
            SessionKey.BASIS: flt.basis,
            SessionKey.AS_OF: flt.as_of,
            SessionKey.PERIOD_DEFAULTED: FilterParam.PERIOD not in params,
            SessionKey.URL_LOADED: True,
        }
    )
    if dropped:  # the keys are the filter's own (FilterParam), never text from the link
        st.toast(t("url.dropped", keys=", ".join(dropped)), icon=":material/link_off:")


def open_on_data() -> None:
    """A first view whose link names no period: when the default period (近30天) has no
    cases but the data has some earlier (an imported export of last year), open on the
    latest month with cases rather than on a page of zeros, and say so."""
    if not st.session_state.pop(SessionKey.PERIOD_DEFAULTED, False):
        return
    flt = session_filter()
    window = state.window(flt)
    latest = state.latest_month_with_cases(flt, win=window)
    if latest is not None and latest[1] < window.start:
        st.session_state[SessionKey.PERIOD] = "custom"
        st.session_state[SessionKey.RANGE] = latest
        st.session_state[SessionKey.OPENED_ON_DATA] = latest


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
    st.session_state[SessionKey.PERIOD] = DEFAULT_PERIOD
    st.session_state[SessionKey.RANGE] = ()
    st.session_state[SessionKey.BASIS] = DEFAULT_BASIS
    st.session_state[SessionKey.AS_OF] = None


def language_switch() -> None:
    with st.sidebar:
        st.radio(
            t("lang.label"),
            LANGS,
            key=SessionKey.LANG,
            on_change=state.resend_choices,  # the browser holds choices by their label
            horizontal=True,
            format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        )


def session_filter() -> Filter:
    """The shared filter as its widgets last left it, for a page that does not draw them.

    Streamlit forgets the value of a widget that is not drawn in a run; writing the values
    back keeps the filter for the next page that shows it.
    """
    for key in FILTER_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    picked = st.session_state.get(SessionKey.RANGE) or ()
    period = st.session_state.get(SessionKey.PERIOD, DEFAULT_PERIOD)
    if period == "custom" and len(picked) != 2:
        period = DEFAULT_PERIOD
    start, end = picked if period == "custom" else (None, None)
    return Filter(
        streets=tuple(st.session_state.get(SessionKey.STREETS, ())),
        communities=tuple(st.session_state.get(SessionKey.COMMUNITIES, ())),
        period=period,
        start=start,
        end=end,
        categories=tuple(st.session_state.get(SessionKey.CATEGORIES, ())),
        sources=tuple(st.session_state.get(SessionKey.SOURCES, ())),
        as_of=st.session_state.get(SessionKey.AS_OF),
        basis=st.session_state.get(SessionKey.BASIS, DEFAULT_BASIS),
    )


def _apply_pending() -> None:
    """Areas or a period a page asked for on the last run (map click, breadcrumb, latest month)."""
    pending = st.session_state.pop(SessionKey.PENDING_AREAS, None)
    if pending is not None:
        st.session_state[SessionKey.STREETS] = list(pending[0])
        st.session_state[SessionKey.COMMUNITIES] = list(pending[1])
    period_asked = st.session_state.pop(SessionKey.PENDING_PERIOD, None)
    if period_asked is not None:
        st.session_state[SessionKey.PERIOD] = "custom"
        st.session_state[SessionKey.RANGE] = period_asked


def _multiselect(key: str, label: str, options: list, format_func) -> list:
    """A multiselect that forgets codes no longer offered; empty means all."""
    keep_known(key, options)
    return st.multiselect(
        label, options, key=key, format_func=format_func, placeholder=t("filter.all")
    )


def _area_pickers() -> tuple[list[str], list[str]]:
    streets = state.street_options()
    chosen_streets = _multiselect(
        SessionKey.STREETS, t("filter.street"), list(streets), streets.get
    )
    communities = state.community_options(tuple(chosen_streets))
    chosen_communities = _multiselect(
        SessionKey.COMMUNITIES, t("filter.community"), list(communities), communities.get
    )
    return chosen_streets, chosen_communities


def _period_picker() -> tuple[str, dt.date | None, dt.date | None]:
    """The period, and for a custom one its first and last day once both are picked."""
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
    return period, start, end


def _basis_picker() -> str:
    return st.radio(
        t("filter.basis"),
        BASES,
        key=SessionKey.BASIS,
        horizontal=True,
        format_func=lambda b: t(f"basis.{b}"),
        help=f"{t('basis.report')}：{t('basis.report.note')}\n\n"
        f"{t('basis.assessment')}：{t('basis.assessment.note')}",
    )


def filter_sidebar() -> Filter:
    """The one shared filter: street → community, period, basis, category, source."""
    _apply_pending()
    with st.sidebar:
        st.header(t("filter.header"))
        streets, communities = _area_pickers()
        period, start, end = _period_picker()
        basis = _basis_picker()
        categories = _multiselect(
            SessionKey.CATEGORIES,
            t("filter.category"),
            list(CATEGORIES),
            lambda c: code_label("category", c),
        )
        sources = _multiselect(
            SessionKey.SOURCES, t("filter.source"), list(SOURCES), lambda c: code_label("source", c)
        )
        as_of = st.session_state.get(SessionKey.AS_OF)
        if as_of:
            st.info(t("filter.as_of_frozen", as_of=as_of.isoformat(sep=" ", timespec="minutes")))
        st.button(t("filter.reset"), on_click=reset_filter)
    if period == "custom" and not (start and end):
        period = DEFAULT_PERIOD  # half-picked range: keep the page usable until both are set
    return Filter(
        streets=tuple(streets),
        communities=tuple(communities),
        period=period,
        start=start,
        end=end,
        categories=tuple(categories),
        sources=tuple(sources),
        as_of=as_of,
        basis=basis,
    )


def write_url(flt: Filter | None, *, page_keys: tuple[str, ...]) -> None:
    """Mirror the filter into the URL so reload keeps it and a copied link reproduces it.

    The keys of the page being shown (``page_keys``) are kept for the page to manage; keys
    of other pages are dropped. ``flt`` None: the page does not use the shared filter, so
    its link does not carry it.
    """
    params: dict[str, str | list[str]] = {
        key: st.query_params.get_all(key) for key in st.query_params.keys() if key in page_keys
    }
    if flt is not None:
        params.update(flt.to_query_params())
    if st.session_state.get(SessionKey.LANG, "zh") != "zh":
        params[LANG_PARAM] = st.session_state[SessionKey.LANG]
    current = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
    wanted = {key: value if isinstance(value, list) else [value] for key, value in params.items()}
    if current != wanted:
        st.query_params.from_dict(params)


def pages_for(user: User | None) -> dict[str, list]:
    """The menu of ``user``: a page the role may not open is hidden and says "not allowed".
    Before sign-in (None) every page is listed, hidden, so the URL of a link survives."""
    menu: dict[str, list] = {}
    for group, pages in PAGES.items():
        entries = []
        for path, title, icon, url_path in pages:
            check = RESTRICTED.get(url_path)
            if user is not None and check is not None and not check(user):
                entries.append(
                    st.Page(
                        signin.not_allowed, title=t(title), url_path=url_path, visibility="hidden"
                    )
                )
                continue
            entries.append(
                st.Page(path, title=t(title), icon=icon, url_path=url_path, default=not url_path)
            )
        menu[t(group)] = entries
    return menu


def main() -> None:
    st.set_page_config(page_title="GridPulse 网格治理驾驶舱", page_icon=str(ICON), layout="wide")
    state.preload()  # the data is read while the sign-in page shows
    style.apply()  # assets/css/app.css: KPI names wrap instead of being cut
    user = signin.current_user()
    if user is None:  # nothing but the sign-in page: no data, no filter, no menu
        st.navigation(pages_for(None), position="hidden")
        signin.sign_in_page()
        return
    first_run = not st.session_state.get(SessionKey.URL_LOADED)
    url = {key: st.query_params.get_all(key) for key in st.query_params.keys()}
    load_url_once()
    try:
        state.dataset()
        data_error = None
    except DataError as exc:
        data_error = exc
    signin.account_sidebar(user)
    page = st.navigation(pages_for(user))
    language_switch()
    if data_error is None:
        if first_run:
            signin.warn_outside_scope(url, keys=AREA_KEYS)
        open_on_data()
        shared = page.url_path not in WITHOUT_FILTER
        flt = filter_sidebar() if shared else session_filter()
        st.session_state[SessionKey.FILTER] = flt
    if data_error is not None and page.url_path not in WITHOUT_DATA:
        st.title(t("app.title"))
        show_error(t("error.data"), reason=data_error, fix=t("error.data.fix"))
        st.stop()
    if data_error is None:
        write_url(flt if shared else None, page_keys=page_url_keys(PAGE_FILES[page.url_path]))
        opened = st.session_state.pop(SessionKey.OPENED_ON_DATA, None)
        if opened is not None and shared:
            st.info(
                t(
                    "empty.opened_on_data",
                    period=t(f"period.{DEFAULT_PERIOD}"),
                    start=opened[0],
                    end=opened[1],
                ),
                icon=":material/history:",
            )
    state.live_banner()
    try:
        page.run()
    except Exception:  # a page bug must not put a traceback in front of a district leader
        log.exception("page %s failed", page.title)
        st.error(t("error.page"))


with activity.script_run():  # background builds wait for a quiet server (ui.activity)
    main()
