"""Code checks of one level: duplicates, the documented form (DESIGN §3: a street code is 9
digits, a community 12, a grid 15, each its parent's code + 3 digits) and parents that exist."""

from __future__ import annotations

from geo.boundaries.problems import Problem

_CODE_DIGITS = {"street": 9, "community": 12, "grid": 15}


def code_problems(
    *,
    level: str,
    codes: list[str],
    parent_codes: list[str] | None = None,
    known_parents: set[str] | None = None,
) -> list[Problem]:
    """Duplicate, malformed and orphaned codes of one level, in row order.

    Parameters
    ----------
    level
        ``"street"``, ``"community"`` or ``"grid"``.
    codes
        The level's codes, one per row.
    parent_codes
        The parent code each row names (None for the top level: no nesting checks).
    known_parents
        The codes of the level above; a row naming another parent is an orphan.
    """
    problems: list[Problem] = []
    seen: set[str] = set()
    digits = _CODE_DIGITS[level]
    for i, code in enumerate(codes):
        if code in seen:
            problems.append(
                Problem(level, code, "duplicate_code", f"{level} 编码重复 / duplicate code {code}")
            )
        seen.add(code)
        if not (len(code) == digits and code.isascii() and code.isdigit()):
            problems.append(
                Problem(
                    level,
                    code,
                    "bad_code",
                    f"{level} 编码 {code} 格式不对，应为 {digits} 位数字 / code must be {digits} digits",
                )
            )
        if parent_codes is not None:
            problems += _nesting_problems(
                level=level, code=code, parent=parent_codes[i], known_parents=known_parents
            )
    return problems


def _nesting_problems(
    *, level: str, code: str, parent: str, known_parents: set[str] | None
) -> list[Problem]:
    """An orphan (the parent does not exist), else a code that does not extend its parent's."""
    if known_parents is not None and parent not in known_parents:
        return [
            Problem(
                level,
                code,
                "orphan",
                f"{level} {code} 的上级 {parent} 不存在 / parent code not found",
            )
        ]
    if not code.startswith(parent) or len(code) != len(parent) + 3:
        return [
            Problem(
                level,
                code,
                "bad_code",
                f"{level} 编码 {code} 应为上级编码 {parent} 加 3 位 / must be its parent code + 3 digits",
            )
        ]
    return []
