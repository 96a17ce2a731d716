"""AppTest sessions with a signed-in user — the one way tests get past the sign-in gate.

``sign_in(at, data_dir, ...)`` stores the account in the app's user store — the data
directory's, or the database's when ``GRIDPULSE_DATABASE_URL`` is set, as the app reads it (no
password: nothing to hash, and the gate re-reads the account on every run, as in
production) and puts the user into the AppTest's session state, as a sign-in would. No
switch in production code lets a session in without signing in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from streamlit.testing.v1 import AppTest

from data_layer import settings
from data_layer.auth.roles import User
from data_layer.auth.users import store_for
from ui.state import SessionKey


def account(
    data_dir: Path | str,
    *,
    role: str = "district",
    username: str | None = None,
    streets: Iterable[str] = (),
    communities: Iterable[str] = (),
    rights: Iterable[str] = (),
) -> User:
    """The stored account ``username`` (default: the role's name), added if missing."""
    user = User(
        username=username or role,
        display_name=f"test {role}",
        role=role,
        streets=frozenset(streets),
        communities=frozenset(communities),
        rights=frozenset(rights),
    )
    store = store_for(data_dir, settings.database_url())
    if store.users().get(user.username) != user:
        if user.username in store.users():
            store.remove(user.username)
        store.add(user, password=None)
    return user


def sign_in(at: AppTest, data_dir: Path | str, **kwargs) -> User:
    """Sign ``at``'s session in as a (stored) account; ``kwargs`` as for ``account``."""
    user = account(data_dir, **kwargs)
    at.session_state[SessionKey.USER] = user
    return user


# -- what a session was shown, and what it could take away ---------------------------------


def shown_text(at: AppTest) -> str:
    """Everything the run put on the page, as text: every element's message (labels, values,
    options, the map component's arguments) and every table's cells."""
    from google.protobuf import text_format

    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(text_format.MessageToString(proto, as_utf8=True))
        value = getattr(node, "value", None) if type(node).__name__ in _TABLES else None
        if hasattr(value, "to_csv"):
            parts.append(value.to_csv())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return _unescaped("\n".join(parts))


_TABLES = {"Dataframe", "Table"}


def _unescaped(text: str) -> str:
    """JSON inside the map's arguments escapes non-ASCII text (``\\u4e1c``): decode it."""
    import re

    for _ in range(3):
        text = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)
    return text


def file_text(name: str, data: bytes) -> str:
    """The text of a downloaded file: CSV, Excel, PowerPoint or PDF."""
    import io

    if name.endswith(".csv"):
        return data.decode("utf-8-sig")
    if name.endswith(".xlsx"):
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    if name.endswith(".pptx"):
        from pptx import Presentation

        texts = []
        for slide in Presentation(io.BytesIO(data)).slides:
            for shape in slide.shapes:
                if shape.has_text_frame:
                    texts.append(shape.text_frame.text)
                if shape.has_table:
                    texts += [cell.text for row in shape.table.rows for cell in row.cells]
        return "\n".join(texts)
    if name.endswith(".pdf"):
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    raise ValueError(f"no reader for {name}")
