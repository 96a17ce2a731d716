"""The string tables (assets/i18n/*.toml), readable without Streamlit.

All UI text lives in one folder, one file per area of the app; the files are merged by
section, and a key defined twice is an error, not a silent override. ``ui.i18n`` adds the
current session's language on top; geo/ and the exports use ``lookup`` directly.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

STRINGS_DIR = Path(__file__).resolve().parents[2] / "assets" / "i18n"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


@cache
def strings() -> dict[str, dict[str, list[str]]]:
    merged: dict[str, dict[str, list[str]]] = {}
    for path in sorted(STRINGS_DIR.glob("*.toml")):
        with open(path, "rb") as fh:
            for section, entries in tomllib.load(fh).items():
                target = merged.setdefault(section, {})
                twice = set(target) & set(entries)
                if twice:
                    raise ValueError(
                        f"{path.name}: [{section}] keys defined twice: {sorted(twice)}"
                    )
                target.update(entries)
    return merged


def lookup(section: str, key: str, *, language: str = DEFAULT_LANG) -> str:
    """A string of ``section`` in ``language``; the key itself when missing, so gaps show."""
    pair = strings().get(section, {}).get(key)
    if not pair:
        return key
    return pair[LANGS.index(language) if language in LANGS else 0]
