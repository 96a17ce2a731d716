"""The role scope: what part of the district a signed-in user may see and do.

Every query applies it (``queries`` intersects it with the filter), so no page can forget
it. ``data_layer.auth.roles.scope_for`` fills it from the signed-in user; code that runs
with no user (the CLI) uses ``Scope.everything()``. It is frozen and hashable, so it can be
part of every cache key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    streets: frozenset[str] | None = None  # None: every street
    communities: frozenset[str] | None = None  # None: every community (within ``streets``)
    personal_data: bool = False  # may see reporter names and phones unmasked
    may_import: bool = False  # may replace the district's data (the data administrator)
    may_export: bool = True  # may download files and briefings (not a wall display)

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    def allowed_streets(self, wanted: tuple[str, ...]) -> tuple[str, ...] | None:
        """Streets a query may read: the wanted ones within the scope; None means all."""
        return _allowed(self.streets, wanted)

    def allowed_communities(self, wanted: tuple[str, ...]) -> tuple[str, ...] | None:
        """Communities a query may read: the wanted ones within the scope; None means all."""
        return _allowed(self.communities, wanted)


def _allowed(scope: frozenset[str] | None, wanted: tuple[str, ...]) -> tuple[str, ...] | None:
    if scope is None:
        return wanted or None
    if not wanted:
        return tuple(sorted(scope))
    return tuple(code for code in wanted if code in scope)
