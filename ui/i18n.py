"""UI strings (assets/i18n/*.toml), Chinese by default with an English switch.

All strings live in one folder, one file per area of the app (core, map, cases, import…);
the files are merged by section, and a key defined twice is an error, not a silent override.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import streamlit as st

STRINGS_DIR = Path(__file__).resolve().parent.parent / "assets" / "i18n"
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
                    raise ValueError(f"{path.name}: [{section}] keys defined twice: {sorted(twice)}")
                target.update(entries)
    return merged


def lang() -> str:
    value = st.session_state.get("lang", DEFAULT_LANG)
    return value if value in LANGS else DEFAULT_LANG


def lookup(section: str, key: str, *, language: str) -> str:
    """A string of ``section`` in ``language``; the key itself when missing, so gaps show."""
    pair = strings().get(section, {}).get(key)
    if not pair:
        return key
    return pair[LANGS.index(language)]


def t(key: str, **fmt) -> str:
    """A UI string in the current language, formatted with ``fmt``."""
    text = lookup("ui", key, language=lang())
    return text.format(**fmt) if fmt else text


def metric_label(key: str) -> str:
    return lookup("metric", key, language=lang())


def metric_formula(key: str) -> str:
    return lookup("formula", key, language=lang())


def code_label(kind: str, code: str) -> str:
    """Label of a stable code, e.g. ``code_label("category", "dispute")`` → 矛盾纠纷."""
    return lookup(kind, code, language=lang())
