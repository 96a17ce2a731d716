"""The import preview the 数据导入 page shows before an import: what was detected, how the
columns map, and the first rows with personal data masked.

A file can hold personal data under any header, not only the columns mapped to the reporter's
name and phone: a second contact (``联系人`` beside ``来电人``), a column the user chose to
ignore, an ID card column. So every column whose header looks like a person or a phone number
is masked whole (``_personal_headers``), and phone and ID card numbers are masked in every
other text column (``data_layer.domain.privacy``).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_layer.domain.privacy import mask_personal
from data_layer.ingest.mapping import (
    CASE_ALIASES,
    Mapping,
    alias_target,
    missing_required,
    normalize_header,
    resolve_columns,
)
from data_layer.ingest.readers import open_cases_file
from data_layer.ingest.tables import spec_of

# Words in a header that mark a person's name or a personal number (the mapping's aliases and
# a few more); a header ending in 人 (来电人, 投诉人, 当事人) names a person too.
_NAME_WORDS = (*CASE_ALIASES["reporter_name"], "名字", "name", "contact", "caller")
_NUMBER_WORDS = (*CASE_ALIASES["reporter_phone"], "mobile", "身份证", "证件")
_NAME_KEYS = tuple(normalize_header(w) for w in _NAME_WORDS)
_PERSONAL_FIELDS = {"reporter_name": "name", "reporter_phone": "phone"}
_NUMBER_KEYS = tuple(normalize_header(w) for w in _NUMBER_WORDS)


def _kind(header: str, field: str | None, index: dict[str, str] | None = None) -> str | None:
    """``"name"``, ``"phone"`` or None (nothing personal) for a column and the field it feeds.

    A header looks personal unless it is a built-in header of another field (``grid_name``,
    a compound's ``name``; ``index``: the table's aliases, default the cases');
    mapping a personal-looking column to some other field does not unmask it.
    """
    builtin = alias_target(header, index)
    for target in (field, builtin):
        if target in _PERSONAL_FIELDS:
            return _PERSONAL_FIELDS[target]
    if builtin:
        return None
    key = normalize_header(header)
    if any(word in key for word in _NUMBER_KEYS):
        return "phone"
    if key.endswith("人") or any(word in key for word in _NAME_KEYS):
        return "name"
    return None


def _personal_headers(
    headers: list[str], resolved: dict[str, str], index: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """The headers to mask whole, by kind (``name``, ``phone``)."""
    fed = {header: field for field, header in resolved.items()}
    kinds: dict[str, list[str]] = {"name": [], "phone": []}
    for header in headers:
        kind = _kind(header, fed.get(header), index)
        if kind:
            kinds[kind].append(header)
    return kinds


def preview(
    path: Path | str, mapping: Mapping | None = None, *, rows: int = 20, table: str = "cases"
) -> dict:
    """What the page shows before an import of ``table`` (cases, or one of
    ``table_specs.SPECS``): detected format, header row, the column mapping (field → header),
    required fields left unmapped, and the first rows with personal data masked."""
    mapping = mapping or Mapping()
    spec = None if table == "cases" else spec_of(table)
    index = spec.index if spec else None
    opened = open_cases_file(path, mapping, header_index=index)
    first = next(opened.batches, None)
    resolved = resolve_columns(opened.headers, mapping, index=index)
    sample = (
        first.head(rows)
        if first is not None
        else pl.DataFrame(schema={h: pl.String for h in opened.headers})
    )
    sample = sample.select([h for h in opened.headers if h in sample.columns])
    personal = _personal_headers(opened.headers, resolved, index)
    masked = mask_personal(sample, names=personal["name"], phones=personal["phone"])
    return {
        "format": opened.format,
        "encoding": opened.encoding,
        "header_row": opened.header_row,
        "headers": opened.headers,
        "resolved": resolved,
        "missing": spec.missing(resolved) if spec else missing_required(resolved),
        "sample": masked,
    }
