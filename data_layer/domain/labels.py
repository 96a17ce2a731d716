"""Every label lookup: UI text, metric names and formulas, code labels — language as an argument.

All text lives in one folder (assets/i18n/*.toml), one file per area of the app; the files
are merged by section, and a key defined twice is an error, not a silent override. A key
missing from the tables shows as itself, so a gap is visible rather than blank.
``ui.i18n`` adds the session's language on top; the briefing and the exports pass theirs.
"""

from __future__ import annotations

import tomllib
from functools import cache

from data_layer.settings import I18N_DIR

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
# Codes with a section of their own in core.toml; other kinds live in [ui] (see ``code_label``).
CODE_SECTIONS = ("category", "source", "team_kind", "activity_kind", "claimer_kind")
# Stage codes keep their own prefix in [ui] (``stage.closed``), other kinds ``code.<kind>.``.
STAGE_KINDS = ("stage", "wish_stage")


@cache
def strings() -> dict[str, dict[str, list[str]]]:
    """Every table, merged by section: ``{section: {key: [zh, en]}}``."""
    merged: dict[str, dict[str, list[str]]] = {}
    for path in sorted(I18N_DIR.glob("*.toml")):
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


def text(key: str, *, lang: str, **fmt: object) -> str:
    """A UI string (section [ui]) in ``lang``, formatted with ``fmt``."""
    found = lookup("ui", key, language=lang)
    return found.format(**fmt) if fmt else found


def metric_label(key: str, *, lang: str) -> str:
    """The name of a metric, e.g. ``closure_rate`` → 办结率."""
    return lookup("metric", key, language=lang)


def metric_formula(key: str, *, lang: str) -> str:
    """The definition of a metric as shown on hover and in the briefing's notes."""
    return lookup("formula", key, language=lang)


def code_label(kind: str, code: str, *, lang: str) -> str:
    """Label of a stable code, e.g. ``code_label("category", "dispute", lang="zh")`` → 矛盾纠纷.

    ``kind`` is a code section of core.toml (``category``, ``source``…), a funnel stage kind
    (``stage``, ``wish_stage``) or a ``code.<kind>.*`` kind of analytics.toml (``grid_kind``,
    ``party_org``…). A code without a label shows as itself.
    """
    if kind in CODE_SECTIONS:
        return lookup(kind, code, language=lang)
    key = f"{kind}.{code}" if kind in STAGE_KINDS else f"code.{kind}.{code}"
    if key not in strings().get("ui", {}):
        return str(code)
    return lookup("ui", key, language=lang)


def one_language(pair: str, *, lang: str) -> str:
    """One side of a data-layer label written "中文 / English" (``mapping.CASE_FIELDS``,
    ``table_specs``): 联系人 / reporter name → 联系人, or "Reporter name" in English."""
    zh, sep, en = pair.partition(" / ")
    if not sep:
        return pair
    return zh if lang != "en" else en[:1].upper() + en[1:]


def area_name(name: str | None, *, retired: bool, level: str, lang: str) -> str | None:
    """An area's name as shown: marked 已撤销网格 / "retired grid" (or community, street) when a
    re-division retired it and it is listed for the cases it still holds (docs/import.md)."""
    if not retired:
        return name
    return text(f"area.retired.{level}", lang=lang, name=name or "")
