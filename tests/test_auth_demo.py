"""Demo accounts: one per role in a generated directory, none once an import replaced it."""

from __future__ import annotations

import datetime as dt

import pytest
from fixtures_tiny import C1, G1, S1

from data_layer import demo
from data_layer.auth.demo import demo_logins, demo_users
from data_layer.auth.errors import InvalidCredentials
from data_layer.auth.roles import Role, scope_for
from data_layer.auth.users import UserStore
from data_layer.ingest import run_import
from data_layer.storage import origin

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
HEADER = "事件编号,所属网格,事件类型,来源,上报时间,状态"


@pytest.fixture
def demo_dir(tiny_dir):
    origin.mark_demo(tiny_dir, scale="tiny", seed=1, anchor=dt.date(2025, 3, 31))
    return tiny_dir


def cases_csv(path):
    path.write_text(
        f"{HEADER}\nN1,{G1},环境卫生,网格员上报,2025-03-01 08:05,已受理\n", encoding="utf-8"
    )
    return path


def test_one_account_per_role_scoped_to_demo_areas(demo_dir):
    users = demo_users(demo_dir)
    assert {u.role for u in users.values()} == set(Role)
    assert scope_for(users["street"]).streets == {S1}
    assert scope_for(users["community"]).communities == {C1}
    for login in demo_logins():
        assert (
            UserStore(demo_dir).authenticate(login.username, login.password, now=T0)
            == users[login.username]
        )


def test_the_generator_marks_its_directory(tmp_path):
    out = tmp_path / "demo"
    demo.generate(out=out, scale="tiny", seed=3, anchor=dt.date(2026, 6, 30))
    assert origin.is_demo(out)
    assert set(demo_users(out)) == {login.username for login in demo_logins()}


def test_no_demo_accounts_without_the_mark(tiny_dir):
    assert demo_users(tiny_dir) == {}
    login = demo_logins()[0]
    with pytest.raises(InvalidCredentials):
        UserStore(tiny_dir).authenticate(login.username, login.password, now=T0)


def test_an_import_removes_the_demo_accounts(demo_dir, tmp_path):
    src = cases_csv(tmp_path / "cases.csv")
    run_import(demo_dir, cases=src, dry_run=True)
    assert demo_users(demo_dir)  # a dry run changes nothing
    (result,) = run_import(demo_dir, cases=src)
    assert result.imported == 1
    assert not origin.is_demo(demo_dir) and demo_users(demo_dir) == {}
    login = demo_logins()[0]
    with pytest.raises(InvalidCredentials):
        UserStore(demo_dir).authenticate(login.username, login.password, now=T0)


def test_a_stored_account_of_the_same_name_wins(demo_dir):
    from data_layer.auth.roles import User

    UserStore(demo_dir).add(
        User(username="district", display_name="真", role="screen"), password="own password"
    )
    with pytest.raises(InvalidCredentials):
        UserStore(demo_dir).authenticate("district", "district-demo", now=T0)
    assert UserStore(demo_dir).authenticate("district", "own password", now=T0).role is Role.SCREEN


def test_wrong_demo_password_is_refused(demo_dir):
    with pytest.raises(InvalidCredentials):
        UserStore(demo_dir).authenticate("district", "street-demo", now=T0)
