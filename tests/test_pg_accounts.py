"""Accounts and the audit log in the live database (#15/#16): ``users … --db`` against a real
PostgreSQL, a password sign-in through app.py against an account stored there, two processes
and two app sessions seeing the same account, and a removed account refused everywhere."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, S1
from streamlit.testing.v1 import AppTest

from data_layer.auth import passwords
from data_layer.auth.errors import AccountLocked, InvalidCredentials
from data_layer.auth.roles import User
from data_layer.auth.users import DbUserStore, UserStore, UserStoreError
from data_layer.cli import main
from data_layer.storage import migrate, pg_admin, pg_users
from data_layer.storage.pg_audit import PgAuditLog
from data_layer.storage.pg_conn import DatabaseUnavailable
from data_layer.storage.source import DataError
from ui import signin

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PASSWORD = "correct horse battery"
WRONG = "用户名或密码错误 / wrong user name or password"
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}


def users_cli(monkeypatch, url: str, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["users", *args, "--db", url])


def users_process(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m data_layer users … --db URL`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "data_layer", "users", *args, "--db", url],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=120,
    )


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


# -- users … --db ------------------------------------------------------------------------------


def test_add_passwd_grant_remove_with_db_write_the_table_and_audit_there(
    monkeypatch, capsys, pg_url, tmp_path
):
    monkeypatch.chdir(tmp_path)  # nothing may land in a data directory
    add = ["add", "wang", "--role", "street", "--street", S1, "--name", "王", "--password-stdin"]
    assert users_cli(monkeypatch, pg_url, *add, stdin=PASSWORD + "\n") == 0
    [(name, role, streets, hashed)] = rows(
        pg_url, "SELECT display_name, role, streets, password_hash FROM gridpulse.users"
    )
    assert (name, role, streets) == ("王", "street", [S1])
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    store = DbUserStore(pg_url)
    assert store.authenticate("wang", PASSWORD).streets == {S1}

    assert (
        users_cli(monkeypatch, pg_url, "passwd", "wang", "--password-stdin", stdin="new pw 12345\n")
        == 0
    )
    with pytest.raises(InvalidCredentials):
        store.authenticate("wang", PASSWORD)
    assert store.authenticate("wang", "new pw 12345").username == "wang"

    assert users_cli(monkeypatch, pg_url, "grant", "wang", "--role", "district", "--all-areas") == 0
    assert store.users()["wang"] == User(username="wang", display_name="王", role="district")

    capsys.readouterr()
    assert users_cli(monkeypatch, pg_url, "list") == 0
    listed = capsys.readouterr().out
    assert "wang\t王\trole=district" in listed and "$argon2" not in listed

    assert users_cli(monkeypatch, pg_url, "remove", "wang") == 0
    assert rows(pg_url, "SELECT count(*) FROM gridpulse.users") == [(0,)]

    events = PgAuditLog(pg_url).read_events()
    assert [(e.action, e.target) for e in events] == [
        ("user_change", "wang"),
        ("user_change", "wang"),
        ("role_change", "wang"),
        ("user_change", "wang"),
    ]
    assert [e.result for e in events][::3] == [
        f"added role=street streets={S1} communities=- rights=-",
        "removed",
    ]
    assert all(e.user.startswith("cli") for e in events)
    assert not list(tmp_path.iterdir())  # no users.json, no audit.jsonl anywhere


def test_refused_changes_exit_2_and_leave_the_table_as_it_was(monkeypatch, capsys, pg_url):
    add = ["add", "li", "--role", "district", "--password-stdin"]
    assert users_cli(monkeypatch, pg_url, *add, stdin=PASSWORD + "\n") == 0
    before = rows(pg_url, "SELECT * FROM gridpulse.users")
    assert users_cli(monkeypatch, pg_url, *add, stdin=PASSWORD + "\n") == 2
    assert users_cli(monkeypatch, pg_url, "remove", "nobody") == 2
    assert users_cli(monkeypatch, pg_url, "passwd", "li", "--password-stdin", stdin="short\n") == 2
    assert "exists already" in capsys.readouterr().err
    assert rows(pg_url, "SELECT * FROM gridpulse.users") == before
    assert len(PgAuditLog(pg_url).read_events()) == 1  # only the change that was made


def test_data_and_db_are_mutually_exclusive(tmp_path, pg_url):
    with pytest.raises(SystemExit):
        main(["users", "list", "--data", str(tmp_path), "--db", pg_url])


def test_a_change_that_fails_half_way_writes_nothing(monkeypatch, pg_url):
    store = DbUserStore(pg_url)
    store.add(User(username="a", display_name="a", role="district"), password=None)
    with pytest.raises(RuntimeError), store._editing() as accounts:
        del accounts["a"]
        raise RuntimeError("crash")
    assert set(store.users()) == {"a"}


def test_lock_out_is_counted_in_the_database(monkeypatch, pg_url):
    monkeypatch.setenv("GRIDPULSE_LOGIN_MAX_FAILURES", "2")
    store = DbUserStore(pg_url)
    store.add(
        User(username="wang", display_name="w", role="street", streets={S1}), password=PASSWORD
    )
    with pytest.raises(InvalidCredentials):
        DbUserStore(pg_url).authenticate("wang", "wrong password")
    with pytest.raises(AccountLocked):  # the second failure, counted in the table
        DbUserStore(pg_url).authenticate("wang", "wrong password")
    [(locked,)] = rows(pg_url, "SELECT locked_until FROM gridpulse.users")
    assert locked is not None  # a second replica sees the lock too


def test_the_audit_table_is_append_only(pg_url):
    PgAuditLog(pg_url).record(user="wang", role="street", action="sign_in_ok", result="password")
    for sql in (
        "UPDATE gridpulse.audit_events SET user_name = 'x'",
        "DELETE FROM gridpulse.audit_events",
        "TRUNCATE gridpulse.audit_events",
    ):
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            rows(pg_url, sql)
    assert [e.user for e in PgAuditLog(pg_url).read_events()] == ["wang"]


def test_only_argon2_hashes_are_stored(pg_url):
    with pytest.raises(psycopg.errors.CheckViolation):
        rows(
            pg_url,
            "INSERT INTO gridpulse.users (username, display_name, role, password_hash) "
            "VALUES ('x', 'x', 'district', 'plain text')",
        )
    assert passwords.hash_password(PASSWORD).startswith("$argon2")


# -- the app on the live source --------------------------------------------------------------


@pytest.fixture
def live(monkeypatch, pg_url, tiny_dir) -> str:
    """The app on the tiny district loaded into PostgreSQL; the data directory has no accounts."""
    pg_admin.load(pg_url, tiny_dir)
    monkeypatch.setenv("GRIDPULSE_DATABASE_URL", pg_url)
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    signin._db_users.clear()
    return pg_url


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in MARCH.items():
        at.query_params[key] = value
    return at


def submit(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="signin_username").input(username)
    at.text_input(key="signin_password").input(password)
    at.button(key="signin_submit").click()
    return at.run()


def on_sign_in_page(at: AppTest) -> bool:
    keys = {w.key for w in at.text_input}
    return {"signin_username", "signin_password"} <= keys and not at.metric


def reported(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "上报数")


def test_two_processes_and_two_sessions_share_one_account_and_its_removal(
    live, tiny_dir, monkeypatch
):
    added = users_process(
        live,
        "add",
        "wang",
        "--role",
        "street",
        "--street",
        S1,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # process 1: the operator's shell on another host
    assert added.returncode == 0, added.stderr
    first, second = submit(app().run(), "wang", PASSWORD), submit(app().run(), "wang", PASSWORD)
    for at in (first, second):  # this process: two app sessions
        assert not at.exception and not at.error
        assert reported(at) == "9"  # the street's scope, from the database's account
    assert not (tiny_dir / "_auth").exists() and not (tiny_dir / "_audit").exists()
    assert [e.result for e in PgAuditLog(live).read_events(action="sign_in_ok")] == [
        "password",
        "password",
    ]

    # the cache period is held still: on a loaded machine 10 s may pass before the next run
    period = signin._cache_period(10)
    monkeypatch.setattr(signin, "_cache_period", lambda ttl: period)
    removed = users_process(live, "remove", "wang")
    assert removed.returncode == 0, removed.stderr
    assert on_sign_in_page(submit(app().run(), "wang", PASSWORD))  # a new sign-in: at once
    first.run()  # within the cache period the session may still run on the cached account
    assert reported(first) == "9"
    monkeypatch.setattr(signin, "_cache_period", lambda ttl: period + 1)  # the period ended
    for at in (first, second):
        at.run()
        assert on_sign_in_page(at)
    ended = PgAuditLog(live).read_events(action="session_expired")
    assert [e.result for e in ended] == ["account removed", "account removed"]
    assert PgAuditLog(live).read_events(action="sign_in_failed")[-1].user == "wang"


def test_with_no_cache_a_role_change_applies_on_the_next_run(live, monkeypatch):
    monkeypatch.setenv("GRIDPULSE_ACCOUNTS_CACHE_SECONDS", "0")
    DbUserStore(live).add(
        User(username="wang", display_name="w", role="street", streets={S1}), password=PASSWORD
    )
    at = submit(app().run(), "wang", PASSWORD)
    assert reported(at) == "9"
    DbUserStore(live).grant("wang", role="district", streets=())
    at.run()
    assert reported(at) == "10"  # the whole district


def test_the_audit_page_reads_the_database(live, tiny_dir):
    log = PgAuditLog(live)
    log.record(user="wang", role="street", action="sign_in_ok", result="password")
    log.record(user="li", role="district", action="download", target="overdue_cases.csv")
    at = app()
    sign_in(at, tiny_dir, role="district")  # stored in the database (GRIDPULSE_DATABASE_URL)
    at.switch_page(str(ROOT / "pages" / "audit.py"))
    at.run()
    assert not at.exception and not at.error
    frame = at.dataframe[0].value
    assert list(frame["用户"]) == ["li", "wang"]


def test_a_database_account_does_not_exist_for_the_directory_and_vice_versa(live, tiny_dir):
    DbUserStore(live).add(User(username="db", display_name="d", role="district"), password=PASSWORD)
    assert "db" not in UserStore(tiny_dir).users()
    with pytest.raises(UserStoreError):
        DbUserStore(live).remove("nobody")


def test_a_database_before_schema_3_says_to_run_db_init(
    monkeypatch, capsys, pg_empty_url, tmp_path
):
    old = tmp_path / "migrations"
    old.mkdir()
    for path in sorted(migrate.MIGRATIONS_DIR.glob("000[12]_*.sql")):
        (old / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    migrate.migrate(pg_empty_url, directory=old)
    capsys.readouterr()
    assert users_cli(monkeypatch, pg_empty_url, "list") == 2
    assert "db init" in capsys.readouterr().err
    with pytest.raises(DataError, match="db init"):
        PgAuditLog(pg_empty_url).read_events()
    assert migrate.migrate(pg_empty_url) == ["0003_accounts", "0004_web_sessions"]
    assert users_cli(monkeypatch, pg_empty_url, "list") == 0


def test_users_copy_moves_a_users_json_into_the_database_with_its_hashes(
    monkeypatch, capsys, pg_url, tmp_path
):
    data = tmp_path / "data"
    UserStore(data).add(
        User(username="wang", display_name="王", role="street", streets={S1}), password=PASSWORD
    )
    UserStore(data).add(User(username="li", display_name="李", role="district"), password=None)
    DbUserStore(pg_url).add(User(username="li", display_name="db li", role="screen"), password=None)
    capsys.readouterr()
    assert main(["users", "copy", "--from-data", str(data), "--db", pg_url]) == 0
    out = capsys.readouterr().out
    assert "wang: copied from users.json" in out and "li: skipped" in out
    db = DbUserStore(pg_url)
    assert db.authenticate("wang", PASSWORD).streets == {S1}  # the same argon2 hash
    assert db.users()["li"].display_name == "db li"  # what the database had stays
    assert [(e.target, e.result) for e in PgAuditLog(pg_url).read_events()] == [
        ("wang", "copied from users.json")
    ]


def test_in_a_database_outage_sessions_keep_the_last_accounts_and_new_sign_ins_wait(
    live, monkeypatch
):
    monkeypatch.setenv("GRIDPULSE_ACCOUNTS_CACHE_SECONDS", "0")  # every run asks the database
    DbUserStore(live).add(
        User(username="wang", display_name="w", role="street", streets={S1}), password=PASSWORD
    )
    at = submit(app().run(), "wang", PASSWORD)
    assert reported(at) == "9"

    def down(*args, **kwargs):
        raise DatabaseUnavailable("cannot reach the database")

    monkeypatch.setattr(pg_users, "read_records", down)
    monkeypatch.setattr(pg_users, "editing", down)
    at.run()
    assert not at.exception and reported(at) == "9"  # the accounts read last
    fresh = submit(app().run(), "wang", PASSWORD)
    assert on_sign_in_page(fresh) and not fresh.exception
    assert "账号数据无法读取" in [i.value for i in fresh.info][0]
