"""``cached_query``: a data_layer query as a typed, cached callable for pages.

A query of ``data_layer.queries`` takes ``(ds, flt, scope, *, window=None, **options)``.
Wrapped, a page calls it as ``(flt, *, window=None, **options)``: the dataset and the
signed-in user's scope come from ``ui.state``, and a period query without a window gets the
live one. Results are cached with ``st.cache_data`` per (data version, filter, scope,
options incl. the window) — the small keys the DESIGN asks for (§5); options must be
hashable (strings, numbers, frozen dataclasses such as ``RankingConfig``). The wrapper keeps
the query's name, docstring and keyword options, so editors and type checkers follow it.

A warm view should cost the server little (issue #16: ≤ 0.15 s of CPU per page view). Two
process-wide memos, shared by every session (``st.cache_resource``), sit in front of the
``st.cache_data`` call:

- ``cached_query`` first looks the result up by the same key in a small LRU (plain Python
  hashing of the frozen key: no Streamlit hashing of the filter and scope dataclasses, no
  unpickling of the frame), so a warm call hands out the *same* frame object. Frames handed
  out are shared: read them, never change them in place (polars works on copies anyway).
- ``recent(name, key, compute)`` is that lookup for any ``st.cache_data`` function
  (``state.kpis``: the KPI frames of the cards, the map and the community tables).
- ``derived(frame, key, build)`` keeps what the ui makes from such a frame — a plotly figure,
  a table's Arrow data — next to it, so a warm view does not rebuild it (``per_frame``
  decorates a builder ``(frame, *args, **kw)``; the session's language is part of the key).
  It lives as long as the frame's entry, and a frame that did not come from ``cached_query``
  gets no memo: ``build()`` runs every time.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Concatenate, ParamSpec, TypeVar

import streamlit as st

from data_layer.domain.filters import Filter
from data_layer.domain.scope import Scope
from data_layer.storage.source import Dataset
from ui import i18n, state

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable)

RECENT_PER_QUERY = 16  # results kept unpickled per query (the st.cache_data entries: 64)
DERIVED_PER_FRAME = 32  # figures / tables kept per frame


class _Recent:
    """A thread-safe LRU of query results by key, and what the ui derived from each."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._results: dict[str, OrderedDict] = {}
        self._derived: dict[int, dict] = {}  # id(frame) → {key: value}; gone with the frame

    def get(self, name: str, key: Hashable) -> object | None:
        with self._lock:
            results = self._results.get(name)
            if results is None or key not in results:
                return None
            results.move_to_end(key)
            return results[key]

    def put(self, name: str, key: Hashable, value: object, *, size: int = RECENT_PER_QUERY) -> None:
        evicted = []  # dropped after the lock: a frame freed runs its finalizer (_forget)
        with self._lock:
            results = self._results.setdefault(name, OrderedDict())
            results[key] = value
            results.move_to_end(key)
            while len(results) > size:
                evicted.append(results.popitem(last=False))
            if id(value) not in self._derived:
                try:
                    weakref.finalize(value, self._forget, id(value))
                except TypeError:  # not weak-referenceable: no derived memo for it
                    return
                self._derived[id(value)] = {}
        del evicted

    def _forget(self, ident: int) -> None:
        # No lock: a finalizer may run inside any allocation, also while this thread holds
        # the lock (a deadlock); dict.pop is atomic.
        self._derived.pop(ident, None)

    def derived(self, frame: object, key: Hashable, build: Callable[[], R]) -> R:
        with self._lock:
            memo = self._derived.get(id(frame))
            if memo is not None and key in memo:
                return memo[key]
        value = build()  # outside the lock: another session may build the same, one wins
        if memo is not None:
            with self._lock:
                if len(memo) >= DERIVED_PER_FRAME:
                    memo.clear()
                memo[key] = value
        return value


@st.cache_resource(show_spinner=False)
def _recent() -> _Recent:
    return _Recent()


def recent(name: str, key: tuple, compute: Callable[..., R], *, size: int = RECENT_PER_QUERY) -> R:
    """``compute(*key)`` — a ``st.cache_data`` function — looked up first in the process-wide
    LRU under ``name`` (``size`` results), so a warm call hands out the same object and what
    ``derived`` keeps with it is found again. A key Python cannot hash: ``compute`` alone."""
    try:
        found = _recent().get(name, key)
    except TypeError:
        return compute(*key)
    if found is None:
        found = compute(*key)
        _recent().put(name, key, found, size=size)
    return found


def derived(frame: object, key: Hashable, build: Callable[[], R]) -> R:
    """``build()``, kept with ``frame`` (a result of a ``cached_query``) under ``key``, which
    must name everything besides the frame that the value depends on. Values are shared by
    every session: never change one."""
    try:
        hash(key)
    except TypeError:
        return build()
    return _recent().derived(frame, key, build)


def _frozen(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def per_frame(build: F) -> F:
    """``build(frame, *args, **kw)`` kept per frame, arguments and session language (see
    ``derived``): for builders of figures that are shown as they are, never changed after."""

    @functools.wraps(build)
    def call(frame, *args, **kw):
        key = (build.__module__, build.__qualname__, i18n.lang(), _frozen(args), _frozen(kw))
        return derived(frame, key, lambda: build(frame, *args, **kw))

    return call  # type: ignore[return-value]


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
        return recent(run.__qualname__, (state.dataset().version, flt, state.scope(), key), cached)

    call.__signature__ = signature.replace(parameters=[flt_param, *options_params])
    return call
