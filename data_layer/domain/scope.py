"""The role scope: what part of the district a signed-in user may see.

Every query applies it (``queries`` intersects it with the filter), so no page can forget
it. Until sign-in exists, everybody gets ``Scope.everything()``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    streets: frozenset[str] | None = None  # None: the whole district
    personal_data: bool = False  # may see reporter names and phones unmasked

    @classmethod
    def everything(cls) -> Scope:
        return cls()

    def allowed_streets(self, wanted: tuple[str, ...]) -> tuple[str, ...] | None:
        """Streets a query may read: the wanted ones within the scope; None means all."""
        if self.streets is None:
            return wanted or None
        if not wanted:
            return tuple(sorted(self.streets))
        return tuple(s for s in wanted if s in self.streets)
