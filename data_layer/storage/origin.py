"""Where the tables of a data directory came from: the demo generator, or an import.

``python -m data_layer demo`` leaves a marker ``<data_dir>/demo.json`` next to the tables; every
import deletes it before it switches ``current`` to the imported version. Sign-in offers the
demo accounts only while the marker exists, so a directory holding imported data never has
a known password. The marker lies outside ``versions/``, so no version carries it along.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

DEMO_MARKER = "demo.json"


def mark_demo(data_dir: Path | str, *, scale: str, seed: int, anchor: dt.date) -> None:
    """Record that the demo generator wrote the tables of ``data_dir``."""
    path = Path(data_dir) / DEMO_MARKER
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(
        json.dumps(
            {
                "generator": "python -m data_layer demo",
                "scale": scale,
                "seed": seed,
                "anchor": anchor.isoformat(),
            }
        )
        + "\n",
        encoding="utf-8",
    )
    os.replace(tmp, path)


def is_demo(data_dir: Path | str) -> bool:
    """True while the tables of ``data_dir`` are the generated demo district."""
    return (Path(data_dir) / DEMO_MARKER).is_file()


def forget_demo(data_dir: Path | str) -> None:
    """The tables are being replaced by imported ones: the directory is no longer a demo."""
    (Path(data_dir) / DEMO_MARKER).unlink(missing_ok=True)
