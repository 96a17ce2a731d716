"""审计日志 Audit log: who did what and when — for district leaders and data administrators."""

import datetime as dt

import streamlit as st

from ui import audit, signin, state
from ui.i18n import t

URL_KEYS: tuple[str, ...] = ()  # no controls of its own in the URL
DAYS = 30  # the date range the page opens with


def body() -> None:
    signin.require(signin.may_read_audit)
    st.title(t("audit.title"))
    st.caption(t("audit.intro"))
    today = state.live_now().date()
    left, middle, right = st.columns([2, 3, 2])
    user = left.selectbox(
        t("audit.user"),
        ["", *audit.users_seen()],
        format_func=lambda name: name or t("filter.all"),
        key="audit_user",
    )
    actions = middle.multiselect(
        t("audit.action"),
        audit.actions(),
        format_func=lambda action: t(f"audit.action.{action}"),
        placeholder=t("filter.all"),
        key="audit_actions",
    )
    picked = right.date_input(
        t("audit.dates"),
        value=(today - dt.timedelta(days=DAYS), today),
        max_value=today,
        key="audit_dates",
    )
    if not (isinstance(picked, tuple | list) and len(picked) == 2):
        return  # half-picked range: wait for the second day
    frame, more = audit.events_table(user=user, actions=actions, start=picked[0], end=picked[1])
    if frame.empty:
        st.info(t("audit.empty"))
        return
    st.caption(t("audit.count", n=f"{len(frame):,}"))
    if more:
        st.warning(t("audit.more", n=f"{audit.MAX_ROWS:,}"))
    st.dataframe(frame, hide_index=True, width="stretch")


if __name__ == "__main__":  # run by st.navigation; app.py imports the module for URL_KEYS
    body()
