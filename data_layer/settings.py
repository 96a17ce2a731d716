"""Settings: the environment variables, the shipped files and the local timezone, read here only.

Environment variables are read when asked for (not at import), so a test or a restarted
page sees a changed value. Nothing here imports the rest of the project: every layer may
use it (geo/ keeps its own vendor path, because geo imports nothing of data_layer).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

# Times in the data are naive local time of this zone (DESIGN §2, §3).
TIMEZONE = ZoneInfo("Asia/Shanghai")

ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
I18N_DIR = ASSETS_DIR / "i18n"
FONTS_DIR = ASSETS_DIR / "fonts"
SLA_TOML = ASSETS_DIR / "sla.toml"
RANKING_TOML = ASSETS_DIR / "ranking.toml"
APP_CSS = ASSETS_DIR / "css" / "app.css"  # ui/style.py

DEFAULT_DATA_DIR = "data"
DEFAULT_REFRESH_SECONDS = 60.0
DEFAULT_BASEMAP = "none"
DEFAULT_MIN_DENOMINATOR = 30


def data_dir() -> Path:
    """The data directory: ``$GRIDPULSE_DATA`` or ``./data``."""
    return Path(os.environ.get("GRIDPULSE_DATA") or DEFAULT_DATA_DIR)


def refresh_seconds() -> float:
    """How often live views refresh: ``$GRIDPULSE_REFRESH_SECONDS`` (default 60; 0 = never).

    A value that is not a number falls back to the default rather than stopping the app.
    """
    try:
        return float(os.environ.get("GRIDPULSE_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS))
    except ValueError:
        return DEFAULT_REFRESH_SECONDS


def min_denominator() -> int:
    """The low-volume threshold (样本少, DESIGN §2): a rate over fewer cases than this is
    flagged, not compared. ``$GRIDPULSE_MIN_DENOMINATOR`` (default 30).

    A malformed or negative value falls back to the default: a typo in a setting must not
    stop the dashboard from starting.
    """
    try:
        value = int(os.environ.get("GRIDPULSE_MIN_DENOMINATOR", DEFAULT_MIN_DENOMINATOR))
    except ValueError:
        return DEFAULT_MIN_DENOMINATOR
    return value if value >= 0 else DEFAULT_MIN_DENOMINATOR


@dataclass(frozen=True)
class BaseMap:
    """The map's background tiles: ``none``, ``tianditu`` (needs a key), ``amap`` or ``custom``
    (needs a tile URL)."""

    base_layer: str
    tile_url: str | None
    tianditu_key: str | None


def base_map() -> BaseMap:
    """``$GRIDPULSE_BASEMAP``, ``$GRIDPULSE_TILE_URL`` and ``$GRIDPULSE_TIANDITU_KEY``."""
    return BaseMap(
        base_layer=os.environ.get("GRIDPULSE_BASEMAP", DEFAULT_BASEMAP),
        tile_url=os.environ.get("GRIDPULSE_TILE_URL") or None,
        tianditu_key=os.environ.get("GRIDPULSE_TIANDITU_KEY") or None,
    )


# -- sign-in (data_layer/auth) ------------------------------------------------------------------

DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCK_MINUTES = 15.0
DEFAULT_IDLE_MINUTES = 30.0
DEFAULT_CLAIMS = {
    "role": "gridpulse_role",
    "streets": "gridpulse_streets",
    "communities": "gridpulse_communities",
    "rights": "gridpulse_rights",
}


def max_failures() -> int:
    """Failed sign-ins in a row before an account is locked: ``$GRIDPULSE_LOGIN_MAX_FAILURES``."""
    return max(1, int(_number("GRIDPULSE_LOGIN_MAX_FAILURES", DEFAULT_MAX_FAILURES)))


def lock_minutes() -> float:
    """How long a locked account stays locked: ``$GRIDPULSE_LOGIN_LOCK_MINUTES``."""
    return max(0.0, _number("GRIDPULSE_LOGIN_LOCK_MINUTES", DEFAULT_LOCK_MINUTES))


def idle_minutes() -> float:
    """Minutes without activity before a session ends: ``$GRIDPULSE_IDLE_MINUTES`` (0: never)."""
    return max(0.0, _number("GRIDPULSE_IDLE_MINUTES", DEFAULT_IDLE_MINUTES))


DEFAULT_ACCOUNTS_CACHE_SECONDS = 10.0


def accounts_cache_seconds() -> float:
    """With the live source, how long a replica reuses the accounts it read from the database:
    ``$GRIDPULSE_ACCOUNTS_CACHE_SECONDS`` (default 10; 0 = read on every run). A removed or
    changed account takes effect on every replica within this time (docs/security.md)."""
    return max(0.0, _number("GRIDPULSE_ACCOUNTS_CACHE_SECONDS", DEFAULT_ACCOUNTS_CACHE_SECONDS))


DEFAULT_SESSION_HOURS = 24.0
MIN_SESSION_SECRET_CHARS = 32
SESSION_COOKIE = "gridpulse_session"


class SettingError(ValueError):
    """A setting that is present but unusable: the feature it turns on refuses to start."""


def session_secret() -> bytes | None:
    """``$GRIDPULSE_SESSION_SECRET``: the key of the session cookie's HMAC (the same on every
    replica). Unset: no session cookie (a fail-over asks for the password again). Set but
    shorter than 32 characters: ``SettingError`` (a weak key is refused, never padded)."""
    value = os.environ.get("GRIDPULSE_SESSION_SECRET") or ""
    if not value:
        return None
    if len(value) < MIN_SESSION_SECRET_CHARS:
        raise SettingError(
            f"GRIDPULSE_SESSION_SECRET must have at least {MIN_SESSION_SECRET_CHARS} characters "
            "(e.g. `openssl rand -hex 32`)"
        )
    return value.encode("utf-8")


def session_hours() -> float:
    """The absolute lifetime of a session cookie, in hours: ``$GRIDPULSE_SESSION_HOURS``
    (default 24; at least 0.01). After it the password is asked again, idle or not."""
    return max(0.01, _number("GRIDPULSE_SESSION_HOURS", DEFAULT_SESSION_HOURS))


def secure_cookie() -> bool:
    """``$GRIDPULSE_SECURE_COOKIE`` (1/true/yes): the session cookie is ``Secure`` (sent over
    HTTPS only). Set it with TLS, as nginx's route cookie (``bench/cluster.py nginx
    --secure-cookie``)."""
    return os.environ.get("GRIDPULSE_SECURE_COOKIE", "").strip().lower() in ("1", "true", "yes")


def claim_names() -> dict[str, str]:
    """OIDC claim names for role, streets, communities and rights:
    ``$GRIDPULSE_OIDC_ROLE_CLAIM``, ``..._STREETS_CLAIM``, ``..._COMMUNITIES_CLAIM``,
    ``..._RIGHTS_CLAIM``."""
    return {
        key: os.environ.get(f"GRIDPULSE_OIDC_{key.upper()}_CLAIM") or default
        for key, default in DEFAULT_CLAIMS.items()
    }


# -- audit log (data_layer/storage/audit.py) --------------------------------------------------

DEFAULT_AUDIT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_AUDIT_BACKUPS = 5


@dataclass(frozen=True)
class AuditSettings:
    path: Path | None  # None: <data dir>/_audit/audit.jsonl
    max_bytes: int
    backups: int


def audit() -> AuditSettings:
    """``$GRIDPULSE_AUDIT_LOG``, ``$GRIDPULSE_AUDIT_MAX_BYTES`` and ``$GRIDPULSE_AUDIT_BACKUPS``."""
    path = os.environ.get("GRIDPULSE_AUDIT_LOG")
    return AuditSettings(
        path=Path(path) if path else None,
        max_bytes=int(_number("GRIDPULSE_AUDIT_MAX_BYTES", DEFAULT_AUDIT_MAX_BYTES)),
        backups=int(_number("GRIDPULSE_AUDIT_BACKUPS", DEFAULT_AUDIT_BACKUPS)),
    )


# -- uploads (pages/import_data.py, data_layer/ingest/archives.py) ----------------------------

DEFAULT_UPLOAD_MAX_MB = 200
DEFAULT_UNCOMPRESSED_MAX_MB = 1024
DEFAULT_ARCHIVE_MAX_MEMBERS = 1000
MB = 1024 * 1024  # Streamlit's megabyte, so the page and server.maxUploadSize agree


def upload_max_mb() -> int:
    """The largest file the import page takes, in MB: ``$GRIDPULSE_UPLOAD_MAX_MB`` (default 200).

    ``make run`` passes it to Streamlit as ``server.maxUploadSize`` (docs/import.md).
    """
    return max(1, int(_number("GRIDPULSE_UPLOAD_MAX_MB", DEFAULT_UPLOAD_MAX_MB)))


@dataclass(frozen=True)
class ArchiveLimits:
    """What a zip (zipped Shapefile, .xlsx) may unpack to, checked before unpacking."""

    max_unpacked_bytes: int
    max_members: int


def archive_limits() -> ArchiveLimits:
    """``$GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB`` (default 1024) and
    ``$GRIDPULSE_UPLOAD_MAX_MEMBERS`` (default 1000)."""
    mb = _number("GRIDPULSE_UPLOAD_MAX_UNCOMPRESSED_MB", DEFAULT_UNCOMPRESSED_MAX_MB)
    return ArchiveLimits(
        max_unpacked_bytes=max(1, int(mb * MB)),
        max_members=max(
            1, int(_number("GRIDPULSE_UPLOAD_MAX_MEMBERS", DEFAULT_ARCHIVE_MAX_MEMBERS))
        ),
    )


def _number(name: str, default: float) -> float:
    # A setting that is not a number falls back to the default rather than stopping the app.
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


# -- the live source: PostgreSQL + PostGIS (data_layer/storage/postgres.py, docs/live-source.md) --

DEFAULT_DB_POLL_SECONDS = 5.0
DEFAULT_DB_LOOKBACK_SECONDS = 300.0
DEFAULT_DB_RETRY_SECONDS = 5.0
DEFAULT_DB_RETRY_MAX_SECONDS = 300.0


def database_url() -> str | None:
    """``$GRIDPULSE_DATABASE_URL`` (``postgresql://user@host:port/db``): when set, the app reads
    the live PostgreSQL source instead of the data directory."""
    return os.environ.get("GRIDPULSE_DATABASE_URL") or None


@dataclass(frozen=True)
class LiveRefresh:
    """How the live source pulls changed cases and retries after an outage."""

    poll_seconds: float  # the shortest time between two pulls (viewers in between share one)
    lookback_seconds: float  # re-read cases updated this long before the watermark (late commits)
    retry_seconds: float  # first wait after a failed refresh; doubles on each failure
    retry_max_seconds: float  # the longest wait between two attempts


def live_refresh() -> LiveRefresh:
    """``$GRIDPULSE_DB_POLL_SECONDS`` (default 5), ``$GRIDPULSE_DB_LOOKBACK_SECONDS`` (300),
    ``$GRIDPULSE_DB_RETRY_SECONDS`` (5) and ``$GRIDPULSE_DB_RETRY_MAX_SECONDS`` (300)."""
    return LiveRefresh(
        poll_seconds=max(0.0, _number("GRIDPULSE_DB_POLL_SECONDS", DEFAULT_DB_POLL_SECONDS)),
        lookback_seconds=max(
            0.0, _number("GRIDPULSE_DB_LOOKBACK_SECONDS", DEFAULT_DB_LOOKBACK_SECONDS)
        ),
        retry_seconds=max(0.1, _number("GRIDPULSE_DB_RETRY_SECONDS", DEFAULT_DB_RETRY_SECONDS)),
        retry_max_seconds=max(
            0.1, _number("GRIDPULSE_DB_RETRY_MAX_SECONDS", DEFAULT_DB_RETRY_MAX_SECONDS)
        ),
    )


def pg_bindir() -> Path | None:
    """``$GRIDPULSE_PG_BIN``: where ``initdb`` and ``pg_ctl`` are, for the local server of
    ``make run-db`` and the tests (default: Debian's /usr/lib/postgresql/<n>/bin or the PATH)."""
    value = os.environ.get("GRIDPULSE_PG_BIN")
    return Path(value) if value else None
