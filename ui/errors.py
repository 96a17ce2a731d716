"""Error messages on screen: the reason and the fix, never a server path or a traceback.

Exception texts quote paths (``cannot read '/tmp/gridpulse-upload-x1/区界.geojson'``,
``[Errno 13] Permission denied: '/srv/gridpulse/data/cases.parquet'``). A viewer needs the
file's name, not where the server keeps it, so ``show_error`` passes every reason through
``without_paths``: the data directory, the temporary directory, the home directory and the
app's own folder become ``‹data›``, ``‹tmp›``, ``‹home›`` and ``‹app›``, and any other
absolute path is cut to its last part (``…/os-release``). The log keeps the full text.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from data_layer import settings
from ui.plain import plain

# An absolute POSIX or Windows path: starts after a space, quote or bracket (not inside a word,
# a number like 1/2, a relative path or a URL's host part) and runs to the next space or quote.
_ABSOLUTE_PATH = re.compile(
    r"(?<![\w./\\])(?:/|[A-Za-z]:[\\/])[^\s'\"`“”‘’「」<>|,，;；()（）\[\]{}]+"
)
_APP_DIR = Path(__file__).resolve().parents[1]


def _roots() -> list[tuple[str, str]]:
    """(folder, placeholder), the longest folder first (the data dir may be inside the app's)."""
    named = [
        (settings.data_dir(), "‹data›"),
        (Path(tempfile.gettempdir()), "‹tmp›"),
        (Path("/tmp"), "‹tmp›"),
        (Path.home(), "‹home›"),
        (_APP_DIR, "‹app›"),
    ]
    roots = {
        str(form): label
        for folder, label in named
        for form in (folder.absolute(), folder.resolve())
        if str(form) != "/"
    }
    return sorted(roots.items(), key=lambda item: len(item[0]), reverse=True)


def without_paths(text: str) -> str:
    """``text`` with every absolute path replaced by a placeholder and the part a person needs."""
    roots = _roots()

    def replace(match: re.Match[str]) -> str:
        path = match.group(0).rstrip(".:。")  # the end of a sentence is no part of the path
        end = match.group(0)[len(path) :]
        for root, label in roots:
            if path == root or path.startswith((root + "/", root + "\\")):
                return label + path[len(root) :] + end
        last = re.split(r"[\\/]+", path.rstrip("\\/"))[-1]
        return (f"…/{last}" if last else "…") + end

    return _ABSOLUTE_PATH.sub(replace, text)


def show_error(headline: str, *, reason: object = None, fix: str | None = None) -> None:
    """``st.error``: the headline in bold, then the reason (an exception or its text) without
    server paths and as plain text (it may quote a file's content), then how to fix it."""
    parts = [f"**{headline}**"]
    if reason is not None:
        parts.append(plain(without_paths(str(reason))))
    if fix:
        parts.append(fix)
    st.error("\n\n".join(parts))
