"""The import preview the 数据导入 page shows before an import: what was detected, how the
columns map, and the first rows with personal data masked."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_layer.domain.privacy import mask_personal
from data_layer.ingest.mapping import Mapping, missing_required, resolve_columns
from data_layer.ingest.readers import open_cases_file


def preview(path: Path | str, mapping: Mapping | None = None, *, rows: int = 20) -> dict:
    """What the page shows before an import: detected format, header row, the column mapping
    (field → header), required fields left unmapped, and the first rows with phone numbers and
    the columns mapped to names/phones masked."""
    mapping = mapping or Mapping()
    table = open_cases_file(path, mapping)
    first = next(table.batches, None)
    resolved = resolve_columns(table.headers, mapping)
    sample = (
        first.head(rows)
        if first is not None
        else pl.DataFrame(schema={h: pl.String for h in table.headers})
    )
    sample = sample.select([h for h in table.headers if h in sample.columns])
    masked = mask_personal(
        sample,
        names=[h for h in (resolved.get("reporter_name"),) if h],
        phones=[h for h in (resolved.get("reporter_phone"),) if h],
    )
    return {
        "format": table.format,
        "encoding": table.encoding,
        "header_row": table.header_row,
        "headers": table.headers,
        "resolved": resolved,
        "missing": missing_required(resolved),
        "sample": masked,
    }
