"""Every UI string exists in both languages; every code has a label."""

from data_layer.domain import labels, metrics, schema
from data_layer.domain.labels import LANGS, strings


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


def test_text_takes_the_language_and_format_arguments():
    assert labels.text("kpi.pp", lang="zh") == "百分点"
    assert labels.text("kpi.pp", lang="en") == "pp"
    assert labels.text("no.such.key", lang="en") == "no.such.key"  # a gap shows as its key
    assert "3" in labels.text("meeting.more", lang="en", n=3, unit="rows")


def test_one_lookup_for_every_kind_of_code():
    assert labels.code_label("category", "dispute", lang="zh") == "矛盾纠纷"
    assert labels.code_label("stage", "closed", lang="en") == "Closed"
    assert labels.code_label("grid_kind", "basic", lang="zh") == "基础网格"
    assert labels.code_label("size", "within", lang="en") == "300–500"
    assert labels.code_label("grid_kind", "unknown", lang="zh") == "unknown"
    assert labels.metric_label("closure_rate", lang="zh") == "办结率"
    assert labels.metric_formula("closure_rate", lang="en") != "closure_rate"
