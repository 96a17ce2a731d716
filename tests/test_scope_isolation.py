"""Who sees what, in the Superset RLS cache-isolation style: users with different scopes in
ONE process (AppTest runs share the process's ``st.cache_data``), in both orders, on every
page, every download and the meeting briefing. Nothing of another user's area — no name, no
code, no figure — reaches a page or a file, and the figures are those of
``python -m data_layer kpis --user``.

The tiny district (tests/fixtures_tiny.py), March 2025: street A = S1 东湖街道 (9 cases),
street B = S2 西湖街道 (1 case), community C = C1 一社区 (8 cases).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_session import account, file_text, shown_text, sign_in
from fixtures_tiny import AS_OF, C1, C2, C3, C4, G1, G2, G3, G4, G5, S1, S2, cli_kpis
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}
MEETING = {"mt_period": "month", "mt_month": "2025-03", "mt_as_of": "2025-03-31T12:00"}
PAGES = ["overview", "map", "cases", "coverage", "volunteer", "ranking", "meeting"]
USERS = {
    "street_a": {"role": "street", "streets": [S1]},
    "street_b": {"role": "street", "streets": [S2]},
    "community_c": {"role": "community", "communities": [C1]},
}
OWN = {"street_a": "东湖街道", "street_b": "西湖街道", "community_c": "一社区"}
REPORTED = {"street_a": "9", "street_b": "1", "community_c": "8"}
FOREIGN_NAMES = {
    "street_a": ["西湖街道", "四社区"],
    "street_b": ["东湖街道", "一社区", "二社区", "三社区"],
    "community_c": ["西湖街道", "二社区", "三社区", "四社区"],
}
FOREIGN_CODES = {
    "street_a": [S2, C4, G5],
    "street_b": [S1, C1, C2, C3, G1, G2, G3, G4],
    "community_c": [S2, C2, C3, C4, G3, G4, G5],
}
ORDERS = [("street_a", "street_b", "community_c"), ("community_c", "street_b", "street_a")]


@pytest.fixture(autouse=True)
def _data(monkeypatch, tiny_dir):
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))


def run_page(data_dir, user: str, page: str, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in {**MARCH, **(MEETING if page == "meeting" else {}), **(params or {})}.items():
        at.query_params[key] = value
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    sign_in(at, data_dir, username=user, **USERS[user])
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def assert_nothing_foreign(user: str, text: str, *, where: str, codes: bool = True) -> None:
    for name in FOREIGN_NAMES[user]:
        assert name not in text, f"{user} saw {name} in {where}"
    for code in FOREIGN_CODES[user] if codes else ():
        assert code not in text, f"{user} saw {code} in {where}"


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("order", ORDERS, ids=["a-b-c", "c-b-a"])
@pytest.mark.parametrize("page", PAGES)
def test_no_page_and_no_file_shows_another_users_area(tiny_dir, downloads, page, order):
    for user in order:
        downloads.clear()
        at = run_page(tiny_dir, user, page)
        text = shown_text(at)
        assert_nothing_foreign(user, text, where=f"the {page} page")
        if page != "volunteer":  # the volunteer page lists teams and activities, not areas
            assert OWN[user] in text, f"{user} does not see {OWN[user]} on {page}"
        for name, make in downloads.items():
            assert_nothing_foreign(user, file_text(name, make()), where=f"{name} ({page})")
        if page in ("overview", "map", "cases"):
            assert metric(at, "上报数") == REPORTED[user]
        if page == "meeting":
            assert {n.rsplit(".", 1)[1] for n in downloads} == {"pptx", "pdf"}
        elif page not in ("overview", "map"):
            assert downloads, f"no downloads on {page}"


@pytest.mark.parametrize("user", list(USERS))
def test_the_pages_figures_are_the_clis_for_that_user(tiny_dir, capsys, user):
    at = run_page(tiny_dir, user, "overview")
    cli = cli_kpis(tiny_dir, capsys, "--user", user)
    assert metric(at, "上报数") == str(cli["reported"]["value"]) == REPORTED[user]
    assert metric(at, "超期未结") == str(cli["overdue_open"]["value"])


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    "user, crafted",
    [
        ("street_a", {"street": S2}),
        ("street_b", {"street": S1, "community": C1}),
        ("community_c", {"community": C2}),
        ("street_a", {"grid": G5}),
        ("street_a", {"mt_street": S2}),
    ],
)
def test_a_link_into_another_area_warns_and_shows_the_own_scope(
    tiny_dir, downloads, page, user, crafted
):
    if "grid" in crafted and page != "map" or "mt_street" in crafted and page != "meeting":
        pytest.skip("the key belongs to another page")
    at = run_page(tiny_dir, user, page, crafted)
    warnings = [w.value for w in at.warning if "不在您的权限范围内" in w.value]
    assert len(warnings) == 1, [w.value for w in at.warning]
    shown = {code for value in crafted.values() for code in value.split(",")}
    assert all(code in warnings[0] for code in shown)
    text = shown_text(at)
    assert_nothing_foreign(user, text, where=f"{page} with {crafted}", codes=False)
    # the codes themselves appear only in the warning (and nowhere as a selection)
    rest = text.replace(warnings[0], "")
    for code in shown:
        assert code not in rest, f"{code} shown outside the warning on {page}"
    if page in ("overview", "map", "cases"):
        assert metric(at, "上报数") == REPORTED[user]
    for name, make in downloads.items():
        assert_nothing_foreign(user, file_text(name, make()), where=name)


def test_a_link_inside_the_scope_does_not_warn(tiny_dir):
    at = run_page(tiny_dir, "community_c", "overview", {"street": S1, "community": C1})
    assert not at.warning
    assert metric(at, "上报数") == "8"


def test_a_district_account_sees_every_area(tiny_dir):
    account(tiny_dir, role="district", username="leader")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in MARCH.items():
        at.query_params[key] = value
    sign_in(at, tiny_dir, username="leader", role="district")
    at.run()
    text = shown_text(at)
    assert metric(at, "上报数") == "10"
    assert all(name in text for name in ("东湖街道", "西湖街道", "一社区", "四社区"))
