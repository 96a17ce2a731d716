"""Ranking queries (红黑榜): areas by the composite score of ``assets/ranking.toml``.

The score is ``metrics.composite_score_expr`` over the ``figures.kpis`` rows of a level;
areas with too few due cases (``metrics.is_low_volume``) are flagged low volume and not ranked.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from data_layer import settings
from data_layer.domain import metrics
from data_layer.domain.filters import Filter, Window
from data_layer.domain.scope import Scope
from data_layer.queries.figures import kpis
from data_layer.settings import RANKING_TOML
from data_layer.storage.source import Dataset

LEVELS = ("community", "street")


@dataclass(frozen=True)
class RankingConfig:
    """The ranking settings of ``assets/ranking.toml`` (hashable, for caching).

    ``min_denominator`` is the low-volume threshold of ``metrics.is_low_volume``: the one
    setting shared with cards, maps and alerts (``settings.min_denominator``), not a
    ranking.toml key; tests pass a smaller one to rank the tiny district.
    """

    weights: tuple[tuple[str, float], ...]
    min_denominator: int = field(default_factory=settings.min_denominator)
    top_n: int = 5

    @property
    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)


def load_ranking_config(path: Path | None = None) -> RankingConfig:
    """Read ``assets/ranking.toml``; an unknown or non-rate metric key is an error."""
    path = path or RANKING_TOML
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    weights = tuple((str(k), float(v)) for k, v in raw.get("weights", {}).items() if float(v) > 0)
    for key, _ in weights:
        if key not in metrics.METRICS or metrics.METRICS[key].kind != "rate":
            raise ValueError(f"{path.name}: [weights] {key!r} is not a rate of METRICS")
    if not weights:
        raise ValueError(f"{path.name}: [weights] needs at least one positive weight")
    options = raw.get("ranking", {})
    return RankingConfig(
        weights=weights,
        top_n=int(options.get("top_n", 5)),
    )


def _scored(
    ds: Dataset, flt: Filter, scope: Scope, *, window: Window, level: str, config: RankingConfig
) -> pl.DataFrame:
    frame = kpis(ds, flt, scope, by=level, window=window)
    keys = [k for k, _ in config.weights]
    extra = [
        c for k in keys for c in (metrics.METRICS[k].numerator, metrics.METRICS[k].denominator)
    ]
    ranked = pl.col("low_volume").not_()
    return (
        frame.select(*dict.fromkeys(["code", "name", "due", *keys, *extra]))
        .with_columns(
            metrics.composite_score_expr(config.weight_map),
            metrics.is_low_volume(pl.col("due"), threshold=config.min_denominator).alias(
                "low_volume"
            ),
        )
        .with_columns(
            pl.when(ranked & pl.col("ranking_score").is_not_null())
            .then(pl.col("ranking_score").rank(method="min", descending=True).over(ranked))
            .cast(pl.Int64)
            .alias("rank")
        )
    )


def ranking(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    level: str = "community",
    config: RankingConfig | None = None,
) -> pl.DataFrame:
    """Areas of ``level`` (community or street) ranked by the composite score.

    Columns: ``code``, ``name``, ``ranking_score`` (0–100), ``rank`` (1 = best, ties share
    a rank; null for low-volume areas), ``low_volume`` (``metrics.is_low_volume`` of due:
    flagged, not ranked), ``prev_rank`` (same score over ``window.previous()``), ``rank_change``
    (``prev_rank − rank``: positive = moved up; null when either is unranked), ``due`` and
    each weighted rate with its numerator and denominator. Ranked areas first, by rank.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be 'community' or 'street', got {level!r}")
    window = window or flt.window()
    config = config or load_ranking_config()
    now = _scored(ds, flt, scope, window=window, level=level, config=config)
    before = _scored(ds, flt, scope, window=window.previous(), level=level, config=config).select(
        "code", pl.col("rank").alias("prev_rank")
    )
    return (
        now.join(before, on="code", how="left")
        .with_columns((pl.col("prev_rank") - pl.col("rank")).alias("rank_change"))
        .sort(["rank", "code"], nulls_last=True)
    )


def ranking_lists(frame: pl.DataFrame, *, n: int = 5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """红榜 (best ``n``) and 黑榜 (worst ``n``, worst first) of a ``ranking`` frame.

    Only ranked areas; an area is on one list only (with fewer than 2n ranked areas the
    black list gets what is left after the red list).
    """
    ranked = frame.filter(pl.col("rank").is_not_null()).sort(["rank", "code"])
    red = ranked.head(n)
    rest = ranked.slice(red.height)
    black = rest.tail(min(n, rest.height)).reverse()
    return red, black


@dataclass(frozen=True)
class RankingBoard:
    """What the 红黑榜 page shows: the full table, the two lists, the ranked areas (for the
    score chart) and how many areas were flagged low volume."""

    table: pl.DataFrame
    red: pl.DataFrame
    black: pl.DataFrame
    ranked: pl.DataFrame
    flagged: int


def ranking_board(
    ds: Dataset,
    flt: Filter,
    scope: Scope,
    *,
    window: Window | None = None,
    level: str = "community",
    config: RankingConfig | None = None,
) -> RankingBoard:
    """``ranking`` and ``ranking_lists`` in one result (one cached call per page run)."""
    config = config or load_ranking_config()
    frame = ranking(ds, flt, scope, window=window, level=level, config=config)
    red, black = ranking_lists(frame, n=config.top_n)
    return RankingBoard(
        table=frame,
        red=red,
        black=black,
        ranked=frame.filter(pl.col("rank").is_not_null()),
        flagged=int(frame["low_volume"].sum()),
    )
