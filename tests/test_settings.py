"""Settings: environment variables read in one place, when asked for."""

from __future__ import annotations

from pathlib import Path

from data_layer import settings


def test_data_dir_defaults_to_data_and_follows_the_environment(monkeypatch):
    monkeypatch.delenv("GRIDPULSE_DATA", raising=False)
    assert settings.data_dir() == Path("data")
    monkeypatch.setenv("GRIDPULSE_DATA", "/tmp/district")
    assert settings.data_dir() == Path("/tmp/district")


def test_refresh_seconds_falls_back_on_a_bad_value(monkeypatch):
    monkeypatch.delenv("GRIDPULSE_REFRESH_SECONDS", raising=False)
    assert settings.refresh_seconds() == 60
    monkeypatch.setenv("GRIDPULSE_REFRESH_SECONDS", "0")
    assert settings.refresh_seconds() == 0
    monkeypatch.setenv("GRIDPULSE_REFRESH_SECONDS", "soon")
    assert settings.refresh_seconds() == 60


def test_base_map(monkeypatch):
    for name in ("GRIDPULSE_BASEMAP", "GRIDPULSE_TILE_URL", "GRIDPULSE_TIANDITU_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert settings.base_map() == settings.BaseMap("none", None, None)
    monkeypatch.setenv("GRIDPULSE_BASEMAP", "tianditu")
    monkeypatch.setenv("GRIDPULSE_TIANDITU_KEY", "k")
    monkeypatch.setenv("GRIDPULSE_TILE_URL", "")
    assert settings.base_map() == settings.BaseMap("tianditu", None, "k")


def test_shipped_files_exist():
    for path in (settings.I18N_DIR, settings.FONTS_DIR, settings.SLA_TOML, settings.RANKING_TOML):
        assert path.exists(), path
