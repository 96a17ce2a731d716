"""Long work shows what it is doing (issue #16): every ``state.working("spinner.…")`` in
ui/ names its work in both languages, and the cached functions that can take over a second
on a miss (the data read, the figures, the analysis queries, the map, the briefing) have
one."""

from __future__ import annotations

import re
from pathlib import Path

from data_layer.domain import labels

ROOT = Path(__file__).resolve().parents[1]
WORKING = re.compile(r'working\("(spinner\.[a-z_.]+)"\)')


def _uses() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / "ui").glob("*.py"):
        for key in WORKING.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, set()).add(path.name)
    return found


def test_every_spinner_names_its_work_in_both_languages():
    uses = _uses()
    assert uses
    for key in uses:
        zh, en = labels.text(key, lang="zh"), labels.text(key, lang="en")
        assert zh != key and en != key, key
        assert zh.endswith("…") and en.endswith("…"), key


def test_the_slow_parts_have_a_spinner():
    uses = _uses()
    assert uses["spinner.dataset"] == {"state.py"}
    assert uses["spinner.figures"] == {"state.py"}
    assert uses["spinner.query"] == {"cached.py"}
    assert uses["spinner.map"] == {"map_view.py"}
    assert {"spinner.briefing", "spinner.briefing_map", "spinner.case_points"} <= set(uses)
