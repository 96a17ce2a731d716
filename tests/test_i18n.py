"""Every UI string exists in both languages; every code has a label."""

from data_layer.domain import metrics, schema
from ui.i18n import LANGS, strings


def test_every_string_has_chinese_and_english():
    for section, entries in strings().items():
        for key, pair in entries.items():
            assert isinstance(pair, list) and len(pair) == len(LANGS) and all(pair), (section, key)


def test_every_metric_and_code_has_a_label_and_formula():
    s = strings()
    for key in metrics.METRICS:
        assert key in s["metric"] and key in s["formula"], key
    for section, codes in [
        ("category", schema.CATEGORIES),
        ("source", schema.SOURCES),
        ("team_kind", schema.TEAM_KINDS),
        ("activity_kind", schema.ACTIVITY_KINDS),
        ("claimer_kind", schema.CLAIMER_KINDS),
    ]:
        assert set(codes) <= set(s[section]), section
