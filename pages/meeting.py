"""联席会议 Joint-conference meeting mode: a frozen period on a projector, and the briefing.

The meeting (period, streets, basis, as-of) lives in the URL (``mt_*`` keys, ``slide``,
``present``), so the same link shows the same numbers later; figures are frozen at as-of and
never refresh here. The shared sidebar filter is not shown here (app.py): the meeting's own
controls are the only ones that apply. The PPTX and the PDF are built only when a download
is clicked. Presentation mode hides the sidebar and menus, uses big type, and moves
with buttons or the arrow keys (Esc leaves). The slides, the PPTX and the PDF come from one
model, ``documents.briefing``; this page only lays it out.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from data_layer.domain import url_values
from data_layer.domain.filters import BASES
from documents import pdf_writer, pptx_writer
from documents.layout import layout
from documents.meeting import KINDS, Meeting, month_choices, quarter_choices
from documents.meeting import URL_KEYS as MEETING_URL_KEYS
from documents.slides import SLIDES
from ui import audit, state
from ui.i18n import lang, t
from ui.plain import plain, plain_table

SLIDE_PARAM, PRESENT_PARAM = "slide", "present"
URL_KEYS = (*MEETING_URL_KEYS, SLIDE_PARAM, PRESENT_PARAM)
MEETING, SLIDE, PRESENT = "_mt_meeting", "_mt_slide", "_mt_present"  # session
# session keys of the setup widgets
W_KIND, W_MONTH, W_QUARTER, W_RANGE = "mt_w_kind", "mt_w_month", "mt_w_quarter", "mt_w_range"
W_STREETS, W_AS_OF_DATE, W_AS_OF_TIME = "mt_w_streets", "mt_w_as_of_date", "mt_w_as_of_time"
W_BASIS = "mt_w_basis"

PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stSidebarNav"],
header, footer { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container {
  max-width: 100% !important; padding: 1.2rem 2.6rem 0.8rem !important; }
[data-testid="stAppViewContainer"] { margin-left: 0 !important; }
h1 { font-size: 3.1rem !important; padding-top: 0 !important; }
h3 { font-size: 1.8rem !important; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  font-size: 3.6rem !important; line-height: 1.15 !important; font-weight: 600 !important; }
[data-testid="stMetricLabel"] p { font-size: 1.5rem !important; }
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * { font-size: 1.3rem !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { font-size: 1.2rem !important; }
[data-testid="stTable"] table { font-size: 1.3rem !important; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: 1.25rem; }
</style>
"""


# -- the meeting in the URL and the session -------------------------------------------------


def _url_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params.keys()}


def _default() -> Meeting:
    """Last month frozen now, for the streets and basis the viewer had chosen; when last
    month has no cases but earlier months do (imported history), the latest month with cases."""
    shared = state.current_filter()
    meeting = Meeting.default(now=state.live_now(), streets=shared.streets, basis=shared.basis)
    latest = state.latest_month_with_cases(meeting.filter(), win=meeting.window())
    if latest is not None and latest[1] < meeting.start:
        meeting = Meeting.for_month(
            latest[0].year,
            latest[0].month,
            as_of=meeting.as_of,
            streets=meeting.streets,
            basis=meeting.basis,
        )
    return meeting


def _current() -> Meeting:
    """The session's meeting; on a first visit the URL's, else ``_default``."""
    meeting = st.session_state.get(MEETING)
    if meeting is None:
        params = _url_params()
        dropped: list[str] = []
        meeting = state.scoped_meeting(
            Meeting.from_query_params(params, dropped=dropped) or _default()
        )
        st.session_state[MEETING] = meeting
        slide = url_values.one_int(params.get(SLIDE_PARAM), lo=1, hi=len(SLIDES))
        if slide is None and url_values.given(params.get(SLIDE_PARAM)):
            dropped.append(SLIDE_PARAM)
        st.session_state[SLIDE] = slide or 1
        st.session_state[PRESENT] = url_values.one_choice(params.get(PRESENT_PARAM), ("1",)) == "1"
        if dropped:
            st.toast(t("url.dropped", keys=", ".join(dropped)), icon=":material/link_off:")
    return meeting


def _write_url(meeting: Meeting) -> None:
    wanted = meeting.to_query_params()
    wanted[SLIDE_PARAM] = str(st.session_state[SLIDE])
    if st.session_state[PRESENT]:
        wanted[PRESENT_PARAM] = "1"
    for key in URL_KEYS:
        value = wanted.get(key)
        current = st.query_params.get_all(key)
        if value is None:
            if current:
                del st.query_params[key]
        elif current != (value if isinstance(value, list) else [value]):
            st.query_params[key] = value


# -- callbacks ------------------------------------------------------------------------------


def _go(step: int, total: int) -> None:
    st.session_state[SLIDE] = min(max(1, st.session_state[SLIDE] + step), total)


def _present(on: bool) -> None:
    st.session_state[PRESENT] = on


def _freeze_now() -> None:
    now = state.live_now()
    st.session_state[W_AS_OF_DATE] = now.date()
    st.session_state[W_AS_OF_TIME] = now.time().replace(second=0, microsecond=0)


# -- setup --------------------------------------------------------------------------------------


def _seed(meeting: Meeting) -> None:
    """Widgets take the meeting's values when they are (re)created."""
    seeds = {
        W_KIND: meeting.kind,
        W_MONTH: meeting.month,
        W_QUARTER: meeting.quarter,
        W_RANGE: (meeting.start, meeting.end),
        W_STREETS: list(meeting.streets),
        W_BASIS: meeting.basis,
        W_AS_OF_DATE: meeting.as_of.date(),
        W_AS_OF_TIME: meeting.as_of.time(),
    }
    for key, value in seeds.items():
        st.session_state.setdefault(key, value)


def _setup(meeting: Meeting) -> Meeting:
    _seed(meeting)
    with st.container(border=True):
        st.markdown(f"**{t('meeting.setup')}**", help=t("meeting.setup.help"))
        left, middle, right = st.columns([2, 2, 2])
        with right:
            day = st.date_input(t("meeting.as_of_date"), key=W_AS_OF_DATE)
            clock = st.time_input(t("meeting.as_of_time"), key=W_AS_OF_TIME, step=60)
            st.button(t("meeting.freeze_now"), on_click=_freeze_now, icon=":material/schedule:")
        as_of = dt.datetime.combine(day, clock.replace(second=0, microsecond=0))
        with left:
            kind = st.radio(
                t("meeting.kind"),
                KINDS,
                key=W_KIND,
                horizontal=True,
                format_func=lambda k: t(f"meeting.kind.{k}"),
            )
            if kind == "month":
                options = month_choices(as_of)
                if st.session_state[W_MONTH] not in options:
                    options.append(st.session_state[W_MONTH])
                picked = st.selectbox(t("meeting.month"), options, key=W_MONTH)
                year, month = (int(x) for x in picked.split("-"))
                chosen = Meeting.for_month(year, month, as_of=as_of)
            elif kind == "quarter":
                options = quarter_choices(as_of)
                if st.session_state[W_QUARTER] not in options:
                    options.append(st.session_state[W_QUARTER])
                picked = st.selectbox(t("meeting.quarter"), options, key=W_QUARTER)
                chosen = Meeting.for_quarter(int(picked[:4]), int(picked[-1]), as_of=as_of)
            else:
                picked = st.date_input(t("meeting.range"), key=W_RANGE)
                if isinstance(picked, tuple | list) and len(picked) == 2:
                    chosen = Meeting("custom", *sorted(picked), as_of)
                else:  # half-picked range: keep the meeting until both ends are set
                    chosen = Meeting("custom", meeting.start, meeting.end, as_of)
        with middle:
            streets = state.street_options()
            st.multiselect(
                t("meeting.streets"),
                list(streets),
                key=W_STREETS,
                format_func=lambda code: streets.get(code, code),
                placeholder=t("scope.all"),
            )
            basis = st.radio(
                t("filter.basis"),
                BASES,
                key=W_BASIS,
                horizontal=True,
                format_func=lambda b: t(f"basis.{b}"),
                help=f"{t('basis.report')}：{t('basis.report.note')}\n\n"
                f"{t('basis.assessment')}：{t('basis.assessment.note')}",
            )
    return chosen.with_streets(st.session_state[W_STREETS]).with_basis(basis)


def _downloads(meeting: Meeting, stem: str) -> None:
    if not state.scope().may_export:  # a wall display takes no files away
        return
    st.markdown(f"**{t('meeting.download')}**", help=t("meeting.download.help"))
    files = (
        ("pptx", pptx_writer.MIME, ":material/slideshow:"),
        ("pdf", pdf_writer.MIME, ":material/picture_as_pdf:"),
    )
    for column, (fmt, mime, icon) in zip(st.columns([1, 1, 3]), files, strict=False):
        with column:
            st.download_button(  # the file is built when clicked, not on every view
                t(f"meeting.download.{fmt}"),
                data=audit.recorded(
                    state.briefing_file(meeting, lang=lang(), fmt=fmt),
                    action="briefing",
                    target=f"{stem}.{fmt}",
                    flt=meeting.filter(),
                ),
                file_name=f"{stem}.{fmt}",
                mime=mime,
                icon=icon,
                on_click="ignore",
                key=f"mt_download_{fmt}",
            )


# -- one slide --------------------------------------------------------------------------------


def _figures(figures, cols: int) -> None:
    for start in range(0, len(figures), cols):
        row = figures[start : start + cols]
        for column, fig in zip(st.columns(cols), row, strict=False):
            with column, st.container(border=True):
                # ±0 and a bare 样本少 get no arrow; a 样本少 change has no good/bad colour
                signed = fig.delta is not None and fig.delta[:1] in ("+", "-")
                color = {True: "normal", False: "inverse", None: "off"}[fig.higher_is_better]
                st.metric(
                    plain(fig.label),
                    fig.value,  # value and delta are formatted numbers; st.metric reads the sign
                    delta=fig.delta,
                    delta_color=color if signed else "off",
                    delta_arrow="auto" if signed else "off",
                    help=plain(fig.formula),
                )
                st.caption(f"= {plain(fig.fraction)}" if fig.fraction else "\u00a0")


def _table(table) -> None:
    st.subheader(plain(table.title))
    if not table.rows:
        st.info(plain(table.empty))
    else:
        frame = pd.DataFrame(list(table.rows), columns=list(table.columns))
        st.table(plain_table(frame.set_index(frame.columns[0])))
    if table.note:
        st.caption(plain(table.note))


def _notes(notes) -> None:
    if notes:
        st.markdown("\n".join(f"- {plain(line)}" for line in notes))


def _slide(slide, *, meeting: Meeting) -> None:
    st.title(plain(slide.title))
    if slide.subtitle:
        st.caption(plain(slide.subtitle))
    blocks = {b.kind: b for b in layout(slide)}
    cols = blocks["figures"].cols if "figures" in blocks else 4
    tables = slide.tables
    if slide.key == "map":
        left, right = st.columns([3, 2])
        with left:
            st.image(state.briefing_map(meeting, lang=lang()), width="stretch")
        with right:
            _figures(slide.figures, 1)
            _table(tables[0])
    elif slide.key == "overdue":
        left, right = st.columns([1, 2])
        with left:
            _figures(slide.figures, 2)
            _table(tables[0])
        with right:
            _table(tables[1])
        _notes(slide.notes)
    elif slide.key == "notes":
        left, right = st.columns([2, 3])
        with left:
            _notes(slide.notes)
        with right:
            _table(tables[0])
    else:
        _figures(slide.figures, cols)
        for start in range(0, len(tables), 2):
            pair = tables[start : start + 2]
            holders = st.columns(2) if len(pair) > 1 else [st.container()]
            for column, table in zip(holders, pair, strict=True):
                with column:
                    _table(table)
        _notes(slide.notes)


def _nav(total: int, *, present: bool) -> None:
    current = st.session_state[SLIDE]
    columns = st.columns([1, 1, 1, 4, 1] if present else [1, 1, 1, 5])
    with columns[0]:
        st.button(
            t("meeting.prev"),
            on_click=_go,
            args=(-1, total),
            disabled=current <= 1,
            icon=":material/chevron_left:",
            shortcut="Left",
            key="mt_prev",
        )
    with columns[1]:
        st.markdown(
            f"<div data-testid='mt-counter' style='text-align:center;font-size:1.4rem;"
            f"padding-top:0.2rem'><b>{t('meeting.counter', n=current, total=total)}</b></div>",
            unsafe_allow_html=True,
        )
    with columns[2]:
        st.button(
            t("meeting.next"),
            on_click=_go,
            args=(1, total),
            disabled=current >= total,
            icon=":material/chevron_right:",
            shortcut="Right",
            key="mt_next",
        )
    # Presentation clickers send PageUp/PageDown; one shortcut per button, so two more
    # buttons, kept out of sight, do the same as ← and →.
    with st.container(key="mt_clicker_keys"):
        st.markdown("<style>.st-key-mt_clicker_keys{display:none}</style>", unsafe_allow_html=True)
        st.button(
            "PageUp",
            on_click=_go,
            args=(-1, total),
            disabled=current <= 1,
            shortcut="PageUp",
            key="mt_prev_page",
        )
        st.button(
            "PageDown",
            on_click=_go,
            args=(1, total),
            disabled=current >= total,
            shortcut="PageDown",
            key="mt_next_page",
        )
    if present:
        with columns[4]:
            st.button(
                t("meeting.exit"),
                on_click=_present,
                args=(False,),
                icon=":material/close_fullscreen:",
                shortcut="Esc",
                key="mt_exit",
            )


# -- the page ---------------------------------------------------------------------------------


def body() -> None:
    state.current_filter()  # app.py ran (the shared filter is not used by the meeting)
    meeting = _current()
    present = st.session_state[PRESENT]
    if not present:
        st.title(t("nav.meeting"))
        meeting = _setup(meeting)
        st.session_state[MEETING] = meeting
    model = state.briefing(meeting, lang=lang())
    total = len(model.slides)
    st.session_state[SLIDE] = min(max(1, st.session_state[SLIDE]), total)
    _write_url(meeting)
    window = meeting.window()
    if not present:
        st.success(
            t(
                "meeting.frozen",
                period=plain(model.period_label),
                scope=plain(f"{model.scope_label} · {model.basis_label}"),
                as_of=window.as_of.isoformat(sep=" ", timespec="minutes"),
            ),
            icon=":material/lock_clock:",
        )
        if window.as_of > state.live_now():
            st.warning(t("meeting.future_as_of"))
        if not state.kpis(meeting.filter(), win=window)["grids"][0]:
            st.warning(t("meeting.empty"))
            return
        top = st.columns([1, 1, 3])
        with top[0]:
            st.button(
                t("meeting.present"),
                on_click=_present,
                args=(True,),
                type="primary",
                icon=":material/slideshow:",
                help=t("meeting.present.help"),
                key="mt_present",
            )
        _downloads(meeting, model.file_stem)
        st.divider()
        st.caption(t("meeting.preview"))
    else:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)
    slide = model.slides[st.session_state[SLIDE] - 1]
    _nav(total, present=present)
    with st.container(key=f"mt_slide_{slide.key}"):
        _slide(slide, meeting=meeting)
    st.caption(plain(model.footer))


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
