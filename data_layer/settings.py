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

DEFAULT_DATA_DIR = "data"
DEFAULT_REFRESH_SECONDS = 60.0
DEFAULT_BASEMAP = "none"


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
