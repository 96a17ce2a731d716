"""ui.cached.cached_query: typed page callables over data_layer queries, cached per scope."""

from __future__ import annotations

import inspect

from fixtures_tiny import AS_OF, MARCH, S2
from streamlit.testing.v1 import AppTest

from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.queries import cases, coverage
from ui import queries, state

MARCH_FILTER = Filter(period="custom", start=MARCH[0], end=MARCH[1], as_of=AS_OF)


def test_the_page_callable_is_the_query_without_dataset_and_scope():
    wrapped = inspect.signature(queries.case_trend)
    query = inspect.signature(cases.case_trend)
    assert list(wrapped.parameters) == ["flt", "window", "every", "compare"]
    assert [p.default for p in wrapped.parameters.values()][1:] == [
        query.parameters[name].default for name in ("window", "every", "compare")
    ]
    assert queries.case_trend.__name__ == "case_trend"
    assert queries.case_trend.__doc__ == cases.case_trend.__doc__
    assert list(inspect.signature(queries.grid_kinds).parameters) == ["flt", "as_of"]


def test_each_query_has_its_own_cache(monkeypatch, tiny_dir, tiny):
    """Same arguments, different queries: st.cache_data must not hand one the other's frame."""
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    everyone = Scope.everything()
    monkeypatch.setattr(state, "scope", lambda: everyone)  # bare mode: no session, no user
    assert queries.grid_kinds(MARCH_FILTER).equals(
        coverage.grid_kinds(tiny, MARCH_FILTER, everyone)
    )
    assert queries.party_orgs(MARCH_FILTER).equals(
        coverage.party_orgs(tiny, MARCH_FILTER, everyone)
    )
    window = MARCH_FILTER.window()
    overdue = queries.open_cases(MARCH_FILTER, window=window, kind="overdue")
    at_risk = queries.open_cases(MARCH_FILTER, kind="at_risk")  # the filter's window
    assert overdue.equals(cases.open_cases(tiny, MARCH_FILTER, everyone, kind="overdue"))
    assert at_risk.equals(cases.open_cases(tiny, MARCH_FILTER, everyone, kind="at_risk"))


def _grids_per_scope() -> None:
    import streamlit as st

    from data_layer.auth.roles import User
    from ui import queries
    from ui.state import SessionKey

    found = {}
    for streets in st.session_state["order"]:
        st.session_state[SessionKey.USER] = User(  # no streets: a district reader
            username="u",
            display_name="u",
            role="street" if streets else "district",
            streets=streets or frozenset(),
        )
        found[streets] = int(queries.grid_kinds(st.session_state["flt"])["grids"].sum())
    st.session_state["found"] = found


def test_the_scope_is_part_of_every_cache_key(monkeypatch, tiny_dir):
    """Two scopes, one filter, one process, both orders: no cached result crosses."""
    monkeypatch.setenv("GRIDPULSE_DATA", str(tiny_dir))
    only_s2 = frozenset({S2})
    for order in ((only_s2, None), (None, only_s2)):
        at = AppTest.from_function(_grids_per_scope)
        at.session_state["order"] = order
        at.session_state["flt"] = MARCH_FILTER
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert at.session_state["found"] == {None: 5, only_s2: 1}, order
