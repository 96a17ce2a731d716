"""``cached_query``: a data_layer query as a typed, cached callable for pages.

A query of ``data_layer.queries`` takes ``(ds, flt, scope, *, window=None, **options)``.
Wrapped, a page calls it as ``(flt, *, window=None, **options)``: the dataset and the
signed-in user's scope come from ``ui.state``, and a period query without a window gets the
live one. Results are cached with ``st.cache_data`` per (data version, filter, scope,
options incl. the window) — the small keys the DESIGN asks for (§5); options must be
hashable (strings, numbers, frozen dataclasses such as ``RankingConfig``). The wrapper keeps
the query's name, docstring and keyword options, so editors and type checkers follow it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

import streamlit as st

from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.storage.source import Dataset
from ui import state

P = ParamSpec("P")
R = TypeVar("R")


def cached_query(
    query: Callable[Concatenate[Dataset, Filter, Scope, P], R], *, max_entries: int = 64
) -> Callable[Concatenate[Filter, P], R]:
    """``query`` without its dataset and scope, cached per data version, filter, scope and
    options (see the module docstring)."""
    signature = inspect.signature(query)
    _, flt_param, _, *options_params = signature.parameters.values()
    takes_window = "window" in signature.parameters

    def run(version: tuple, flt: Filter, scope: Scope, options: tuple) -> R:
        with state.working("spinner.query"):  # a cache miss only
            return query(state.dataset(), flt, scope, **dict(options))

    # st.cache_data names a cache by the function's module, qualified name and source, and
    # every ``run`` has the same source: give each its query's name, or all would share one.
    run.__qualname__ = f"cached_query.{query.__module__}.{query.__qualname__}"
    cached = st.cache_data(show_spinner=False, max_entries=max_entries)(run)

    @functools.wraps(query)
    def call(flt: Filter, *args: P.args, **options: P.kwargs) -> R:
        if args:
            raise TypeError(f"{query.__name__}() takes its options by keyword only")
        if takes_window and options.get("window") is None:
            options["window"] = state.window(flt)
        key = tuple(sorted(options.items()))
        return cached(state.dataset().version, flt, state.scope(), key)

    call.__signature__ = signature.replace(parameters=[flt_param, *options_params])
    return call
