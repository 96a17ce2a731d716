"""A local PostgreSQL + PostGIS server in a folder, for trying the live source and for tests.

``python -m data_layer db local --dir .pgdata`` (``make run-db``) and the test fixture
(tests/pg.py) both use it: ``initdb`` into ``DIR/cluster``, a free loopback port, the unix
socket inside ``DIR`` (never ``/var/run``), ``pg_ctl`` to start and stop. PostgreSQL refuses
to run as root, so when we are root (CI containers, this machine) the folder is handed to the
unprivileged ``nobody`` user and every server command runs as that user (``runuser``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from data_layer import settings

SUPERUSER = "gridpulse"
DATABASE = "gridpulse"
SERVER_USER = "nobody"  # who runs the server when we are root
PORT_FILE = "port"


class LocalServerError(RuntimeError):
    """The local server could not be set up; the message says what is missing."""


def find_bindir() -> Path | None:
    """The PostgreSQL server binaries: ``$GRIDPULSE_PG_BIN``, Debian's newest
    ``/usr/lib/postgresql/<n>/bin``, or ``initdb`` on the PATH; None when there are none."""
    configured = settings.pg_bindir()
    candidates = [configured] if configured else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)
        )
        candidates += [p / "bin" for p in reversed(versions)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


def has_postgis(bindir: Path) -> bool:
    """Whether the PostGIS extension is installed for the server in ``bindir``."""
    sharedir = subprocess.run(
        [str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not sharedir:  # Debian's server bin folder has no pg_config; the share folder is beside it
        sharedir = str(Path("/usr/share/postgresql") / bindir.parent.name)
    return (Path(sharedir) / "extension" / "postgis.control").is_file()


def free_port() -> int:
    """A loopback port nobody listens on right now (the server may still lose a race for it;
    ``start`` then tries another)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalServer:
    """A PostgreSQL cluster in ``directory`` (``cluster/``, the socket, ``server.log``)."""

    directory: Path
    bindir: Path
    port: int | None = None

    @property
    def cluster(self) -> Path:
        return self.directory / "cluster"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    def url(self, database: str = DATABASE) -> str:
        if self.port is None:
            raise LocalServerError("the server has not been started")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- lifecycle ---------------------------------------------------------------------------

    def init(self) -> None:
        """``initdb`` once (trust auth: the server listens on loopback and a private socket)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._hand_over()
        if (self.cluster / "PG_VERSION").is_file():
            return
        self._run(
            "initdb",
            "-D",
            str(self.cluster),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )

    def start(self, *, port: int | None = None, durable: bool = True, attempts: int = 5) -> None:
        """Start on ``port`` (or a free one), listening on 127.0.0.1 only, and create the
        ``gridpulse`` database with PostGIS. ``durable=False`` turns fsync off (tests)."""
        if self.running():
            self.port = self.port or self._saved_port()
            return
        for attempt in range(attempts):
            self.port = port or free_port()
            options = [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.directory}",
                "-c unix_socket_permissions=0700",
            ]
            if not durable:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.cluster),
                "-l",
                str(self.log_file),
                "-o",
                " ".join(options),
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if done.returncode == 0:
                (self.directory / PORT_FILE).write_text(str(self.port))
                self._create_database()
                return
            if port is not None or attempt == attempts - 1:
                raise LocalServerError(
                    f"PostgreSQL did not start (see {self.log_file}): {done.stderr.strip()}"
                )

    def stop(self, *, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast`` (or ``immediate``: a crash, as in the outage test)."""
        if self.running():
            self._run("pg_ctl", "-D", str(self.cluster), "-m", mode, "-w", "stop", check=False)

    def running(self) -> bool:
        if not (self.cluster / "PG_VERSION").is_file():
            return False
        status = self._run("pg_ctl", "-D", str(self.cluster), "status", check=False)
        return status.returncode == 0

    # -- helpers -----------------------------------------------------------------------------

    def _saved_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.directory / PORT_FILE).read_text())
        return None

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def _hand_over(self) -> None:
        # As root the server runs as `nobody`, which must own the folder (initdb checks it).
        if os.geteuid() != 0:
            return
        private = [p for p in self.directory.parents if not p.stat().st_mode & 0o001]
        if private:
            raise LocalServerError(
                f"the server runs as {SERVER_USER}, who cannot enter {private[0]}: "
                "put the folder somewhere others may pass through (e.g. /tmp or the project)"
            )
        user = pwd.getpwnam(SERVER_USER)
        for path in (self.directory, *self.directory.rglob("*")):
            os.lchown(path, user.pw_uid, user.pw_gid)
        self.directory.chmod(0o700)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd=self.directory
        )
        if check and done.returncode != 0:
            raise LocalServerError(
                f"{program} failed: {done.stderr.strip() or done.stdout.strip()}"
            )
        return done


def local_server(directory: Path | str) -> LocalServer:
    """The server kept in ``directory`` (not yet initialised or started)."""
    bindir = find_bindir()
    if bindir is None:
        raise LocalServerError(
            "PostgreSQL server binaries not found (initdb, pg_ctl): install postgresql-15 "
            "and postgresql-15-postgis-3, or set GRIDPULSE_PG_BIN"
        )
    if not has_postgis(bindir):
        raise LocalServerError(
            f"PostGIS is not installed for {bindir}: install postgresql-15-postgis-3"
        )
    return LocalServer(directory=Path(directory).resolve(), bindir=bindir)
