"""``python -m data_layer users add|list|passwd|grant|remove``, run as a subprocess."""

from __future__ import annotations

import datetime as dt
import functools
import io
import subprocess
import sys
from pathlib import Path

import pytest

from data_layer.auth.errors import InvalidCredentials
from data_layer.auth.roles import Role
from data_layer.auth.users import UserStore
from data_layer.cli import main
from data_layer.storage.audit import AuditLog

ROOT = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def users(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "data_layer", "users", *args, "--data", str(data)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        timeout=120,
    )


def test_add_list_passwd_grant_remove(tmp_path):
    data = tmp_path / "data"
    add = users(
        data,
        "add",
        "wang",
        "--role",
        "street",
        "--street",
        "360102001",
        "--name",
        "王",
        "--password-stdin",
        stdin="first password\n",
    )
    assert add.returncode == 0, add.stderr
    store = UserStore(data)
    assert store.authenticate("wang", "first password", now=T0).streets == {"360102001"}

    listed = users(data, "list")
    assert listed.returncode == 0 and "wang\t王\trole=street streets=360102001" in listed.stdout
    assert "argon2" not in listed.stdout and "$" not in listed.stdout

    assert (
        users(data, "passwd", "wang", "--password-stdin", stdin="second password\n").returncode == 0
    )
    with pytest.raises(InvalidCredentials):
        store.authenticate("wang", "first password", now=T0)
    assert store.authenticate("wang", "second password", now=T0).username == "wang"

    grant = users(
        data, "grant", "wang", "--role", "district", "--all-areas", "--right", "personal_data"
    )
    assert grant.returncode == 0, grant.stderr
    user = store.users()["wang"]
    assert user.role is Role.DISTRICT and not user.streets and user.personal_data
    assert users(data, "grant", "wang", "--revoke", "personal_data").returncode == 0
    assert not store.users()["wang"].personal_data

    assert users(data, "remove", "wang").returncode == 0
    assert store.users() == {}
    assert "no users" in users(data, "list").stdout

    events = AuditLog.for_data_dir(data).read_events()
    assert [(e.action, e.target) for e in events] == [
        ("user_change", "wang"),
        ("user_change", "wang"),
        ("role_change", "wang"),
        ("role_change", "wang"),
        ("user_change", "wang"),
    ]
    assert all(e.user.startswith("cli") for e in events)
    assert not any("password" in (e.result or "") and "second" in e.result for e in events)


def cli(monkeypatch, capsys, data: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    """In-process run (the refusals need no fresh interpreter): exit code and stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    try:
        code = main(["users", *args, "--data", str(data)])
    except SystemExit as exc:  # argparse
        code = exc.code
    return code, capsys.readouterr().err


def test_refusals_exit_nonzero_with_a_message(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    run = functools.partial(cli, monkeypatch, capsys, data)
    assert run("add", "li", "--role", "district", "--password", "x" * 10)[0] == 2  # no such option
    code, err = run("add", "li", "--role", "district")  # no terminal to prompt on
    assert code == 2 and "--password-stdin" in err
    code, err = run("add", "li", "--role", "district", "--password-stdin", stdin="short\n")
    assert code == 2 and "8" in err
    code, err = run("add", "li", "--role", "street", "--no-password")
    assert code == 2 and "street" in err
    code, err = run("remove", "nobody")
    assert code == 2 and "nobody" in err
    assert UserStore(data).users() == {} and AuditLog.for_data_dir(data).read_events() == []


def test_oidc_only_account(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    assert (
        cli(
            monkeypatch,
            capsys,
            data,
            "add",
            "li@district.gov.cn",
            "--role",
            "screen",
            "--no-password",
        )[0]
        == 0
    )
    assert main(["users", "list", "--data", str(data)]) == 0
    assert "sign-in=oidc" in capsys.readouterr().out
