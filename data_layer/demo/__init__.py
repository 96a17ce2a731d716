"""Deterministic demo-city generator (DESIGN §3).

``generate(out=..., scale=..., seed=..., anchor=...)`` writes the nine tables of a fictional
city around Nanchang (115.9°E, 28.7°N) into a data directory. The same ``scale``, ``seed`` and
``anchor`` always give the same frames. The geometry and reference tables depend on the scale
and seed only, so moving the anchor keeps the same city and only moves the time line.
Names, phone numbers and places are made up.

What is made where:

- ``scales``: the sizes (``SCALES`` for ``--help``);
- ``geometry``: the nested boundaries (districts → streets → communities → grids), points in grids;
- ``names``: place and person names, phones; ``units``: the handling units;
- ``reference``: the streets, communities, grids and compounds tables (the ``City``);
- ``case_model``, ``case_life``, ``cases``: the case stream, each case's life, ``cases.parquet``;
- ``volunteers``: teams, activities, party report-ins and micro-wishes;
- ``timeline`` and ``draws``: days, holidays, office hours and the random draws they share.

``simulate`` is the live feed that runs on a generated directory.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

from data_layer.demo.case_model import CAT
from data_layer.demo.cases import case_cells, write_cases
from data_layer.demo.reference import build_city
from data_layer.demo.scales import SPECS
from data_layer.demo.timeline import DAY, HOUR, days_up_to, epoch
from data_layer.demo.volunteers import party_reports, volunteers, wishes
from data_layer.domain import schema
from data_layer.domain.filters import now_local
from data_layer.storage import versions
from data_layer.storage.origin import mark_demo
from data_layer.storage.source import load_sla_hours, write_tables


def generate(
    *,
    out: Path,
    scale: str = "district",
    seed: int = 42,
    anchor: dt.date | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, int]:
    """Generate the demo city and write its nine tables into ``out``.

    Parameters
    ----------
    out
        Data directory (created if missing); the tables become one new version of it
        (``storage.versions``), switched to atomically.
    scale
        A key of ``scales.SCALES``: ``tiny``, ``district`` (default), ``city`` or ``province``.
    seed
        Random seed; the same seed, scale and anchor give identical tables.
    anchor
        The last day of data (default: today in Asia/Shanghai). The records cover the two
        years up to the end of that day; no event time is later than 23:59:59 on it.
    progress
        Called as ``progress(stage_description, fraction_done)`` with fractions in [0, 1].

    Returns
    -------
    dict[str, int]
        Rows written per table.
    """
    if scale not in SPECS:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SPECS)}")
    spec = SPECS[scale]
    anchor = anchor or now_local().date()
    if isinstance(anchor, dt.datetime):  # a datetime is a date too: keep its day only
        anchor = anchor.date()
    report = progress or (lambda stage, frac: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sla_s = _deadline_seconds()
    end = epoch(anchor) + DAY - 1

    city = build_city(spec, seed=seed, progress=report)
    report("生成参考表 / reference tables", 0.15)
    days = days_up_to(anchor, spec.years)
    # One new version under the writer lock (an import or a simulate tick waits), marked as
    # the demo only after the switch and before the lock is let go, so no import can slip in
    # between and end up with the demo accounts.
    with versions.staging(out) as stage:
        rows = {
            "cases": write_cases(
                stage.path,
                city=city,
                days=days,
                cells=case_cells(total=spec.cases, days=days, seed=seed),
                seed=seed,
                sla_s=sla_s,
                end=end,
                chunk_cases=spec.chunk_cases,
                report=report,
            )
        }

        report("生成志愿服务与微心愿 / volunteers, wishes", 0.93)
        teams, activities = volunteers(city, days=days, seed=seed)
        frames = {
            "streets": city.streets,
            "communities": city.communities,
            "grids": city.grids,
            "compounds": city.compounds,
            "volunteer_teams": teams,
            "activities": activities,
            "party_reports": party_reports(city, days=days, seed=seed),
            "wishes": wishes(city, days=days, seed=seed, end=end),
            "case_moves": schema.empty("case_moves"),  # the demo city is never re-divided
        }
        report("写入文件 / writing tables", 0.97)
        write_tables(stage.path, frames)
        stage.commit({"by": "demo", "scale": scale, "seed": seed, "anchor": anchor.isoformat()})
        mark_demo(out, scale=scale, seed=seed, anchor=anchor)
    rows.update({k: v.height for k, v in frames.items()})
    report("完成 / done", 1.0)
    return {t: rows[t] for t in schema.TABLES}


def _deadline_seconds() -> np.ndarray:
    """Each category's deadline (assets/sla.toml) in seconds, in ``CAT`` order."""
    sla = load_sla_hours()
    missing = [c for c in CAT if c not in sla]
    if missing:
        raise ValueError(f"assets/sla.toml has no deadline for {', '.join(missing)}")
    return np.array([sla[c] * HOUR for c in CAT], dtype=np.int64)
