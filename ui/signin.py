"""Sign-in: the gate before every page, the sign-in page, sign-out, the idle timeout.

Two ways in (issue #14):

- **OIDC** when ``.streamlit/secrets.toml`` has an ``[auth]`` section: ``st.login`` and
  ``st.user``; the claims become a ``User`` through ``data_layer.auth.oidc`` (role claims, or
  the local account keyed by the identity).
- **Local accounts** otherwise: user name and password against ``data_layer.auth.users``
  (argon2id, throttling, lock-out). While the data directory holds the generated demo, the
  sign-in page lists the demo accounts, one click each.

``current_user`` runs first in every full run of app.py. It ends a session that was idle
longer than ``settings.idle_minutes()`` (a wall display is exempt, see
``state.idle_expired``), and re-reads the account, so a removed account or a changed role
takes effect on the next click, not at the next sign-in. Every sign-in, failure, sign-out
and session end is audited.

With the live source (``GRIDPULSE_DATABASE_URL``) the accounts are the database's
(``auth.users.DbUserStore``), shared by every replica. The re-read on each run then comes from
a per-process cache of at most ``settings.accounts_cache_seconds()`` (10 s), so a removed or
changed account takes effect on every replica within that time; a sign-in itself always asks
the database. While the database cannot be reached the last accounts read stay in force
(nobody can change them meanwhile: the ``users`` command writes to the same database).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping

import streamlit as st
from streamlit.errors import StreamlitAuthError

from data_layer import settings
from data_layer.auth import demo, oidc, tokens, web_sessions
from data_layer.auth.errors import AccountLocked, AuthError, NoAccess
from data_layer.auth.roles import Role, User
from data_layer.auth.users import UserStore, store_for
from data_layer.domain.labels import LANGS
from data_layer.storage.pg_conn import DatabaseUnavailable
from data_layer.storage.source import DataError
from ui import audit, state, web_session
from ui.i18n import t
from ui.state import SessionKey

log = logging.getLogger("gridpulse.signin")

LANG_PARAM = "lang"  # the URL key of the language (app.py keeps it in the URL)
USERNAME, PASSWORD = "signin_username", "signin_password"  # the form's widgets
_NOTICE = "_signin_notice"  # i18n key of a message for the next sign-in page
_ERROR = "_signin_error"  # why the last attempt was refused (text of an AuthError)
_REFUSED = "_signin_refused"  # an OIDC identity without access was audited in this session
# the import that ended the demo: its result lines, for the sign-in page after the sign-out
_DEMO_ENDED = "_demo_ended_by_import"
MAX_AUDITED_NAME = 64  # a typed user name is audited, cut to this length
_CODE = re.compile(r"[0-9A-Za-z]{1,24}")  # what an area code in a link may look like


# -- who is signed in --------------------------------------------------------------------


def oidc_configured() -> bool:
    """Whether an ``[auth]`` section is configured in the secrets (then OIDC only)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def current_user() -> User | None:
    """The signed-in user for this run, or None: then draw nothing but ``sign_in_page``."""
    user = _oidc_user() if oidc_configured() else _local_user()
    if user is not None:
        now = _now()
        st.session_state[SessionKey.USER] = user
        st.session_state[SessionKey.LAST_SEEN] = now
        web_session.touch(now)  # the cookie's last activity, for the other replicas
    return user


def _local_user() -> User | None:
    user = state.user()
    if user is None:
        return _from_cookie()
    if state.idle_expired(user):
        _end(user, action="session_expired", result="idle", notice="auth.expired")
        return None
    try:
        fresh = _account(user.username)
    except (OSError, ValueError, DataError):  # the store unreadable: nobody stays in
        log.exception("the user store cannot be read")
        _end(
            user,
            action="session_expired",
            result="user store unreadable",
            notice="auth.store_broken",
        )
        return None
    if fresh is None:
        ended = st.session_state.get(_DEMO_ENDED)
        if ended is not None:  # this session's own import ended the demo (it was told so)
            _end(user, action="session_expired", result="demo ended", notice="auth.demo_ended")
            st.session_state[_DEMO_ENDED] = ended  # the result, again on the sign-in page
        else:
            _end(user, action="session_expired", result="account removed", notice="auth.gone")
    return fresh


def _from_cookie() -> User | None:
    """A new Streamlit session (page load, fail-over reconnect) whose browser holds a session
    cookie (``ui.web_session``): the cookie's user, when the token's signature and lifetime,
    its server-side session (not revoked, not idle) and the account as it is now all allow
    it; audited like a sign-in. Looked at once per Streamlit session."""
    if st.session_state.get(web_session.TRIED) or not web_session.enabled():
        return None
    st.session_state[web_session.TRIED] = True
    raw = web_session.read_cookie()
    if raw is None:
        return None
    now = _now()
    try:
        claims = tokens.verify(
            raw,
            settings.session_secret() or b"",
            now=now.timestamp(),
            max_age_s=settings.session_hours() * 3600,
        )
    except tokens.InvalidToken as exc:
        audit.record("sign_in_failed", user="-", result=f"session cookie: {exc.reason}")
        web_session.clear_cookie()
        return None
    try:
        record = web_session.store().get(claims.sid)
        user = _account(claims.username)
    except (OSError, ValueError, DataError):  # unreadable: the sign-in page; the cookie stays
        log.exception("the session or user store cannot be read")
        return None
    reason = web_sessions.refusal(record, user=user, username=claims.username, now=now)
    if reason is not None:
        audit.record("sign_in_failed", user=claims.username, result=f"session cookie: {reason}")
        if record is not None and record.revoked_at is None:
            try:  # idle or removed: no replica takes this cookie again
                web_session.store().revoke(claims.sid, now)
            except (OSError, ValueError, DataError):
                log.exception("the session store cannot be written")
        web_session.clear_cookie()
        return None
    web_session.adopt(claims.sid, now)
    audit.record("sign_in_ok", user=user, result="session cookie")
    return user


def _account(username: str) -> User | None:
    """The account as it is now: stored, else a demo account (stored ones win)."""
    data_dir = settings.data_dir()
    return stored_users().get(username) or demo.demo_users(data_dir).get(username)


def user_store() -> UserStore:
    """The accounts of the app's source: the database's with the live source, else the data
    directory's ``_auth/users.json``."""
    return store_for(settings.data_dir(), settings.database_url())


def stored_users() -> dict[str, User]:
    """The stored accounts (no hashes); with the live source from the short-lived cache."""
    url = settings.database_url()
    if url is None:
        return UserStore(settings.data_dir()).users()
    ttl = settings.accounts_cache_seconds()
    last_good = _last_good_users()
    try:
        if ttl > 0:
            users = _db_users(url, _cache_period(ttl))
        else:
            users = store_for(None, url).users()
    except DatabaseUnavailable:
        if url not in last_good:
            raise
        log.warning("the accounts database cannot be reached: using the accounts read last")
        return last_good[url]
    last_good[url] = users
    return users


def _cache_period(ttl: float) -> int:
    """The number of the current ``ttl``-long period: the cache key that expires the accounts."""
    return int(time.time() // ttl)


@st.cache_data(max_entries=4, show_spinner=False)
def _db_users(url: str, period: int) -> dict[str, User]:
    """The database's accounts, once per ``period`` (a time bucket of the cache's length)."""
    return store_for(None, url).users()


@st.cache_resource(show_spinner=False)
def _last_good_users() -> dict[str, dict[str, User]]:
    """URL → the accounts read last, for a database outage (one per process)."""
    return {}


def demo_ended_by_import() -> bool:
    """Whether the signed-in account was a demo account the data no longer has: an import
    in this run made the data real (the demo accounts follow the demo marker, docs/security.md)."""
    user = state.user()
    if user is None or oidc_configured():
        return False
    if user.username not in {login.username for login in demo.demo_logins()}:
        return False
    try:
        return _account(user.username) is None
    except (OSError, ValueError, DataError):
        return False


def demo_ended_notice(result_lines: list[str]) -> None:
    """Under the result of the import that ended the demo: the demo accounts end now, how to
    make a real account, and a button to sign out. The session ends on its next run (the
    rule stays: a demo account cannot outlive the demo); the sign-in page repeats the
    result lines, so nothing of the import is lost."""
    st.session_state[_DEMO_ENDED] = list(result_lines)
    st.warning(t("auth.demo_ended.now"), icon=":material/person_off:")
    st.code(t("auth.demo_ended.command"), language="bash")
    st.button(t("auth.demo_ended.sign_out"), key="demo_ended_sign_out")


def _oidc_user() -> User | None:
    previous = state.user()
    if not st.user.is_logged_in:
        if previous is not None:
            _forget()
        return None
    if previous is not None and state.idle_expired(previous):
        _end(previous, action="session_expired", result="idle", notice="auth.expired")
        st.logout()
        return None
    claims = st.user.to_dict()
    try:
        user = oidc.user_from_claims(claims, users=stored_users())
    except NoAccess as exc:
        if previous is not None or not st.session_state.get(_REFUSED):
            identity = str(claims.get("email") or claims.get("sub") or "-")
            audit.record("sign_in_failed", user=identity, result=f"oidc: {exc.reason}")
            st.session_state[_REFUSED] = True
        st.session_state[_ERROR] = str(exc)
        st.session_state.pop(SessionKey.USER, None)
        return None
    if previous is None or previous.username != user.username:
        audit.record("sign_in_ok", user=user, result="oidc")
    return user


# -- signing in and out ------------------------------------------------------------------


def _sign_in(username: str | None = None, password: str | None = None) -> None:
    """Callback of the form (no arguments) and of a demo account's button."""
    if username is None:
        username = str(st.session_state.get(USERNAME) or "").strip()
        password = str(st.session_state.get(PASSWORD) or "")
        st.session_state[PASSWORD] = ""
    try:
        user = user_store().authenticate(username, password or "")
    except AuthError as exc:
        result = "locked" if isinstance(exc, AccountLocked) else "wrong user name or password"
        audit.record("sign_in_failed", user=username[:MAX_AUDITED_NAME] or "-", result=result)
        st.session_state[_ERROR] = str(exc)
        return
    except (OSError, ValueError, DataError):
        log.exception("the user store cannot be read")
        st.session_state[_NOTICE] = "auth.store_broken"
        return
    st.session_state.pop(_ERROR, None)
    st.session_state.pop(_NOTICE, None)
    now = _now()
    st.session_state[SessionKey.USER] = user
    st.session_state[SessionKey.LAST_SEEN] = now
    audit.record("sign_in_ok", user=user, result="password")
    try:
        web_session.issue(user, now)  # the cookie that survives a fail-over (when configured)
    except Exception:  # noqa: BLE001 - signed in all the same, only without the cookie
        log.exception("no session cookie for this sign-in")


def _sign_out() -> None:
    """Callback of the sign-out button: audited; the session forgets the user, its filter
    and its page state; the URL keeps only the language."""
    user = state.user()
    if user is not None:
        audit.record("sign_out", user=user)
    web_session.revoke(_now())
    lang = st.query_params.get(LANG_PARAM)
    _forget()
    st.query_params.clear()
    if lang:
        st.query_params[LANG_PARAM] = lang
    st.session_state[_NOTICE] = "auth.signed_out"
    if oidc_configured():
        st.logout()


def _end(user: User, *, action: str, result: str, notice: str) -> None:
    audit.record(action, user=user, result=result)
    web_session.revoke(_now())
    _forget()
    st.session_state[_NOTICE] = notice


def _forget() -> None:
    """Drop everything of the session but its language and the cookie's pending hand-over
    (the browser still has to drop the cookie; this session does not look at it again)."""
    kept = {key: st.session_state[key] for key in web_session.KEPT if key in st.session_state}
    lang = st.session_state.get(SessionKey.LANG)
    st.session_state.clear()
    if lang:
        st.session_state[SessionKey.LANG] = lang
    st.session_state.update(kept)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- the sign-in page --------------------------------------------------------------------


def sign_in_page() -> None:
    """The only thing a session without a user sees: no data, no filter, no menu."""
    _language()
    web_session.hand_over()  # a sign-out's or refused cookie's "drop it", or a fresh sign-in's
    st.title(t("app.title"))
    st.caption(t("app.subtitle"))
    left, _ = st.columns([2, 3])
    with left:
        st.subheader(t("auth.title"))
        st.caption(t("auth.intro"))
        if notice := st.session_state.pop(_NOTICE, None):
            st.info(t(notice))
        if ended := st.session_state.pop(_DEMO_ENDED, None):
            for line in ended:  # the result of the import that ended the demo
                st.success(line)
            st.code(t("auth.demo_ended.command"), language="bash")
        if error := st.session_state.pop(_ERROR, None):
            st.error(error)
        if oidc_configured():
            _oidc_buttons()
            return
        _password_form()
    logins = _demo_logins()
    if logins:
        _demo_accounts(logins)
    elif not _has_accounts():
        st.info(t("auth.no_accounts"))


def _language() -> None:
    """The sign-in page speaks the URL's language; the switch writes it to the URL, where
    the app picks it up after sign-in."""
    lang = st.query_params.get(LANG_PARAM, "zh")
    st.session_state[SessionKey.LANG] = lang if lang in LANGS else "zh"

    def switch() -> None:
        chosen = st.session_state["signin_lang"]
        st.query_params[LANG_PARAM] = chosen
        st.session_state[SessionKey.LANG] = chosen

    st.session_state["signin_lang"] = st.session_state[SessionKey.LANG]
    st.radio(
        t("lang.label"),
        LANGS,
        key="signin_lang",
        horizontal=True,
        on_change=switch,
        format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        label_visibility="collapsed",
    )


def _password_form() -> None:
    with st.form("signin", border=True):
        st.text_input(t("auth.username"), key=USERNAME, autocomplete="username")
        st.text_input(
            t("auth.password"), key=PASSWORD, type="password", autocomplete="current-password"
        )
        st.form_submit_button(
            t("auth.submit"),
            on_click=_sign_in,
            type="primary",
            icon=":material/login:",
            key="signin_submit",
        )


def _demo_logins() -> list[demo.DemoLogin]:
    """The demo logins of this data directory (none unless it holds the generated demo)."""
    users = demo.demo_users(settings.data_dir())
    return [login for login in demo.demo_logins() if login.username in users]


def _demo_accounts(logins: list[demo.DemoLogin]) -> None:
    st.subheader(t("auth.demo.title"))
    st.caption(t("auth.demo.help"))
    for login in logins:
        with st.container(border=True, horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{t(f'role.{login.role}')}**", width=140)
            st.markdown(
                t(
                    "auth.demo.account",
                    username=f"`{login.username}`",
                    password=f"`{login.password}`",
                )
            )
            st.button(
                t("auth.demo.sign_in"),
                key=f"signin_demo_{login.username}",
                on_click=_sign_in,
                kwargs={"username": login.username, "password": login.password},
                icon=":material/login:",
            )


def _has_accounts() -> bool:
    try:
        return bool(stored_users())
    except (OSError, ValueError, DataError):
        return True  # unreadable, not empty: sign-in says so


def _oidc_buttons() -> None:
    """One button per configured provider (``[auth]`` itself, or ``[auth.<name>]``)."""
    auth = st.secrets["auth"]
    named = [name for name, value in auth.items() if isinstance(value, Mapping)]
    providers = named if named and "client_id" not in auth else [None]
    for provider in providers:
        label = (
            t("auth.oidc.button_named", provider=provider) if provider else t("auth.oidc.button")
        )
        if st.button(label, type="primary", icon=":material/login:", key=f"oidc_{provider}"):
            try:
                st.login(provider)
            except StreamlitAuthError:
                log.exception("st.login failed")
                st.error(t("auth.oidc.unavailable"))
    if st.session_state.get(_REFUSED):
        st.button(t("auth.oidc.switch"), on_click=_sign_out, key="oidc_switch")


# -- signed in ---------------------------------------------------------------------------


def account_sidebar(user: User) -> None:
    """Who is signed in, and the sign-out button."""
    with st.sidebar:
        web_session.hand_over()  # the session cookie of a fresh sign-in (no visible element)
        st.caption(
            t("auth.signed_in_as", name=_plain(user.display_name), role=t(f"role.{user.role}"))
        )
        st.button(
            t("auth.sign_out"), on_click=_sign_out, icon=":material/logout:", key="auth_sign_out"
        )


def may_import(user: User) -> bool:
    return user.role is Role.DATA_ADMIN


def may_read_audit(user: User) -> bool:
    return user.role in (Role.DISTRICT, Role.DATA_ADMIN)


def require(allowed: Callable[[User], bool]) -> User:
    """The signed-in user when ``allowed(user)``; else "not allowed" and the page stops.

    Pages that guard themselves call it first, so a page file that Streamlit ran without
    app.py (``state.run_app_first``) never draws anything before the sign-in gate.
    """
    user = state.user()
    if user is None:
        state.run_app_first()
    if not allowed(user):
        not_allowed()
        st.stop()
    return user


def not_allowed() -> None:
    """The body of a page the user's role may not open (its URL stays reachable)."""
    st.error(t("auth.not_allowed"), icon=":material/block:")


def warn_outside_scope(params: Mapping[str, list[str]], *, keys: tuple[str, ...]) -> None:
    """Warn "not in your scope" about the area codes of a link (under ``keys``) that the
    user may not see, and drop them from the URL so no page takes them up (the filter's
    codes are dropped by the sidebar too: its options are the scope's areas).

    Only the codes themselves are named (no name, no figure of the other area), and only
    values that look like codes, so a crafted link cannot put text on the page.
    """
    wanted = {key: _codes(params.get(key, [])) for key in keys}
    foreign = state.outside_scope([code for codes in wanted.values() for code in codes])
    if not foreign:
        return
    for key, codes in wanted.items():
        kept = [code for code in codes if code not in foreign]
        if kept:
            st.query_params[key] = kept
        elif key in st.query_params:
            del st.query_params[key]
    shown = [code for code in foreign if _CODE.fullmatch(code)][:5]
    text = "、".join(shown)
    if len(foreign) > len(shown):
        text += (" " if text else "") + t("scope.outside.more", n=len(foreign) - len(shown))
    st.warning(t("scope.outside", codes=text), icon=":material/block:")


def _codes(values: list[str]) -> list[str]:
    """Codes of a URL key: repeated or comma-separated, as ``Filter.from_query_params``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _plain(text: str) -> str:
    """``text`` with Markdown (and Streamlit's ``:icon:`` syntax) switched off."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)
