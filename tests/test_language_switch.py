"""The language switch keeps the shared filter's choices (issue: after switching to English,
the next page change reset a custom period to "This month").

Cause: Streamlit carries a select box's (radio's, multiselect's) value between browser and
server as its label. After the switch the browser still held 自定义, which no English option
matches, so the next run that took the browser's value (a page change) fell back to the
first option. The switch now makes the server send every choice back, labelled in the new
language: the browser then holds "Custom range" and sends that on the page change.
AppTest keeps values on the server side, so the test checks what the browser is sent.
"""

from __future__ import annotations

from test_app import assert_clean, run_app

CUSTOM = {"period": "custom", "from": "2025-03-01", "to": "2025-03-31", "category": "dispute"}


def test_after_a_language_switch_the_browser_holds_the_choices_in_the_new_language(
    monkeypatch, tiny_dir
):
    at = run_app(monkeypatch, tiny_dir, CUSTOM)
    assert_clean(at)
    period = at.sidebar.selectbox(key="f_period").proto
    assert period.raw_value == "自定义"
    at.sidebar.radio(key="lang").set_value("en").run()
    assert_clean(at)
    period = at.sidebar.selectbox(key="f_period").proto
    # the browser is told the value anew, as an English label it can send back
    assert period.set_value and period.raw_value == "Custom range"
    assert period.raw_value in period.options
    categories = at.sidebar.multiselect(key="f_categories").proto
    assert categories.set_value and list(categories.raw_values) == ["Dispute"]
    flt = at.session_state["filter"]
    assert (flt.period, str(flt.start), str(flt.end)) == ("custom", "2025-03-01", "2025-03-31")
