"""Both sources, the same figures: the pages and the briefing on the Parquet directory and on the
same data loaded into PostgreSQL must agree (the KPIs are checked byte for byte in
test_pg_source.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_session import sign_in
from fixtures_tiny import AS_OF, S1
from streamlit.testing.v1 import AppTest

from data_layer.domain.scope import Scope
from data_layer.storage import pg_admin
from data_layer.storage.postgres import read_dataset
from data_layer.storage.source import open_dataset
from documents.briefing import build_briefing
from documents.meeting import Meeting

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "cases", "coverage", "volunteer", "ranking", "meeting"]
MARCH = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "as_of": AS_OF.isoformat()}


def rendered(monkeypatch, page: str, *, data_dir: Path, db: str | None) -> dict:
    """What a page shows that is data: cards, captions, tables."""
    monkeypatch.setenv("GRIDPULSE_DATA", str(data_dir))
    if db:
        monkeypatch.setenv("GRIDPULSE_DATABASE_URL", db)
    else:
        monkeypatch.delenv("GRIDPULSE_DATABASE_URL", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    sign_in(at, data_dir)  # stored where the app reads accounts: the database with --db
    for key, value in MARCH.items():
        at.query_params[key] = value
    if page != "overview":
        at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return {
        "metrics": [(m.label, m.value) for m in at.metric],
        "captions": [c.value for c in at.caption if "GridPulse" not in c.value],
        # JSON, so that a missing value (NaN) equals a missing value
        "tables": [d.value.to_json(orient="split", force_ascii=False) for d in at.dataframe],
    }


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_the_same_on_both_sources(monkeypatch, tiny_dir, pg_url, page):
    pg_admin.load(pg_url, tiny_dir)
    from_dir = rendered(monkeypatch, page, data_dir=tiny_dir, db=None)
    from_db = rendered(monkeypatch, page, data_dir=tiny_dir, db=pg_url)
    assert from_db == from_dir
    assert from_dir["metrics"] or from_dir["tables"]  # the page did show figures


def test_the_briefing_is_the_same_on_both_sources(tiny_dir, pg_url):
    pg_admin.load(pg_url, tiny_dir)
    meeting = Meeting.for_month(2025, 3, as_of=AS_OF, streets=(S1,))
    from_dir = build_briefing(open_dataset(tiny_dir), meeting, Scope.everything())
    from_db = build_briefing(read_dataset(pg_url), meeting, Scope.everything())
    # the last slide names the source and its version, which differ by nature
    assert from_db.slides[:-1] == from_dir.slides[:-1]
    assert (from_db.title, from_db.scope_label, from_db.period_label) == (
        from_dir.title,
        from_dir.scope_label,
        from_dir.period_label,
    )
    assert from_db.map_values.equals(from_dir.map_values)
